// Package apitest holds the services' HTTP API (internal/api/openapi.yaml)
// against what they do, for tests: a transport that validates every
// request and answer it carries against the document, and a check that a
// listener's router serves exactly the operations the document gives it.
package apitest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The listeners: the tags of the document that name who serves an
// operation.
const (
	Shopper  = "shopper"  // flashsale's shopper listener
	Admin    = "admin"    // flashsale's admin listener
	Internal = "internal" // flashsale's internal listener
	Orders   = "orders"   // the order service's listener
)

// listeners are the four listeners; "" stands for all of them together.
var listeners = []string{Shopper, Admin, Internal, Orders}

// spec is the document, loaded and validated once, with a router for each
// listener (and "" for all) over two copies of it: as written (requests:
// unknown fields are allowed, the services ignore them) and strict
// (answers: every field an answer holds is documented).
type spec struct {
	doc             *openapi3.T
	lenient, strict map[string]routers.Router
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := parse()
	if err != nil {
		return nil, err
	}
	strictDoc, err := parse()
	if err != nil {
		return nil, err
	}
	for _, s := range strictDoc.Components.Schemas {
		closeObjects(s, map[*openapi3.Schema]bool{})
	}
	s := &spec{doc: doc, lenient: map[string]routers.Router{}, strict: map[string]routers.Router{}}
	for _, l := range append([]string{""}, listeners...) {
		if s.lenient[l], err = router(doc, l); err != nil {
			return nil, err
		}
		if s.strict[l], err = router(strictDoc, l); err != nil {
			return nil, err
		}
	}
	return s, nil
})

func parse() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.SpecYAML())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}

// closeObjects forbids, in s and the schemas inside it, properties an
// object schema does not name, unless it says otherwise.
func closeObjects(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	s := ref.Value
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeObjects(p, seen)
	}
	for _, sub := range append(append(s.AllOf, s.OneOf...), s.AnyOf...) {
		closeObjects(sub, seen)
	}
	if s.Items != nil {
		closeObjects(s.Items, seen)
	}
	if s.AdditionalProperties.Schema != nil {
		closeObjects(s.AdditionalProperties.Schema, seen)
	}
}

// router routes the operations of doc that listener serves ("": all), on
// any host.
func router(doc *openapi3.T, listener string) (routers.Router, error) {
	only := *doc
	only.Servers = nil
	only.Paths = openapi3.NewPaths()
	for path, item := range doc.Paths.Map() {
		kept := &openapi3.PathItem{Parameters: item.Parameters}
		n := 0
		for method, op := range item.Operations() {
			if listener == "" || servedBy(op, listener) {
				kept.SetOperation(method, op)
				n++
			}
		}
		if n > 0 {
			only.Paths.Set(path, kept)
		}
	}
	return gorillamux.NewRouter(&only)
}

func servedBy(op *openapi3.Operation, listener string) bool {
	for _, t := range op.Tags {
		if t == listener {
			return true
		}
	}
	return false
}

// Operations returns the operations the document gives listener ("": all
// of them), each as "METHOD /path" with the path as the document writes
// it.
func Operations(listener string) ([]string, error) {
	s, err := loadSpec()
	if err != nil {
		return nil, err
	}
	var out []string
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if listener == "" || servedBy(op, listener) {
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	return out, nil
}
