package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var specYAML []byte

// SpecYAML returns the document as it is written: openapi.yaml.
func SpecYAML() []byte { return specYAML }

// SpecJSON returns the document as JSON, converted from openapi.yaml once.
func SpecJSON() []byte { return specJSON() }

var specJSON = sync.OnceValue(func() []byte {
	j, err := toJSON(specYAML)
	if err != nil {
		panic(err) // the document is embedded and its test converts it: cannot happen
	}
	return j
})

// toJSON converts a YAML document to JSON.
func toJSON(doc []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	v, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonValue turns what yaml.v3 decodes into what encoding/json encodes:
// mappings with keys that are not all strings into maps keyed by their
// text.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			e, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			v[k] = e
		}
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			e, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = e
		}
		return m, nil
	case []any:
		for i, e := range v {
			e, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
		return v, nil
	}
	return v, nil
}
