// Package httpjson reads JSON answers of the HTTP APIs outside the
// services' own document: the dtm server's admin API (/query, /all,
// /resetCronTime, the store's epoch) and the stats of the reference app
// the bench runs. The services' API is called through its typed client,
// internal/api.
package httpjson

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Get GETs u with hc and decodes its 200 answer into into; any other
// status is an error naming it.
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
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
