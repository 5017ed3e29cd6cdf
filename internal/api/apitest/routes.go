package apitest

import (
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// GinRoutes returns the routes of a gin engine as "METHOD /path", each
// parameter (:id, *file) written as the document writes it ({id}, {file}).
func GinRoutes(routes gin.RoutesInfo) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		parts := strings.Split(r.Path, "/")
		for j, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[j] = "{" + p[1:] + "}"
			}
		}
		out[i] = r.Method + " " + strings.Join(parts, "/")
	}
	return out
}

// CheckRoutes fails t unless served, the routes a listener serves ("METHOD
// /path", see GinRoutes), are the operations the document gives it: every
// route documented, every documented operation served.
func CheckRoutes(t testing.TB, listener string, served []string) {
	t.Helper()
	documented, err := Operations(listener)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range missing(served, documented) {
		t.Errorf("%s listener: %s is served but not documented in internal/api/openapi.yaml (an operation tagged %q)", listener, r, listener)
	}
	for _, r := range missing(documented, served) {
		t.Errorf("%s listener: %s is documented (tagged %q) but not served", listener, r, listener)
	}
}

// missing returns the members of a that b lacks, sorted.
func missing(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
