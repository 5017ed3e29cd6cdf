// Package httpjson reads JSON answers of the HTTP APIs outside the
// services' own document: the dtm server's admin API (/query, /all,
// /resetCronTime, the store's epoch) and the stats of the reference app
// the bench runs. The services' API is called through its typed client,
// internal/api.
package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Get GETs u with hc and decodes its 200 answer into into; any other
// status is an error naming it and the start of its body (the API's own
// account of the failure).
func Get(ctx context.Context, hc *http.Client, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("GET %s: %s %s", u, resp.Status, bytes.TrimSpace(body))
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
