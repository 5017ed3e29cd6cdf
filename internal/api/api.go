// Package api is the services' HTTP API as an OpenAPI 3 document
// (openapi.yaml, embedded), with the Go types and the typed client that
// oapi-codegen generates from it (api.gen.go). docs/api.md says the same
// for people.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml
