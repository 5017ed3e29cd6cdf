package api

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/getkin/kin-openapi/openapi3"
)

// load parses and validates a document as OpenAPI 3.
func load(t *testing.T, doc []byte) *openapi3.T {
	t.Helper()
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	return spec
}

// TestSpecValid: openapi.yaml is a valid OpenAPI 3 document.
func TestSpecValid(t *testing.T) {
	load(t, SpecYAML())
}

// TestSpecJSON: the JSON served at /openapi.json is the same document.
func TestSpecJSON(t *testing.T) {
	if !json.Valid(SpecJSON()) {
		t.Fatal("SpecJSON is not JSON")
	}
	fromYAML, err := json.Marshal(load(t, SpecYAML()))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := json.Marshal(load(t, SpecJSON()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromYAML, fromJSON) {
		t.Fatal("the JSON document differs from the YAML one")
	}
}

// TestErrorCodes: the document's error codes are the contract's.
func TestErrorCodes(t *testing.T) {
	enum := load(t, SpecYAML()).Components.Schemas["ErrorCode"].Value.Enum
	var documented []string
	for _, c := range enum {
		documented = append(documented, c.(string))
	}
	slices.Sort(documented)
	if want := contract.Codes(); !slices.Equal(documented, want) {
		t.Errorf("ErrorCode in openapi.yaml is %v; internal/contract has %v", documented, want)
	}
}
