package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// TestCreateRefusalsNameTheField: every refusal of a product or an
// activity by its body answers 400 with the field it is about, which the
// sale view's form shows the message beside.
func TestCreateRefusalsNameTheField(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The stores are never reached: each body is refused first.
	r.POST("/products", handleCreateProduct(nil, log))
	r.POST("/activities", handleCreateActivity(nil, nil, time.Now, log))

	const start, end = `"start_at":"2026-12-07T10:00:00Z"`, `"end_at":"2026-12-07T11:00:00Z"`
	activity := func(fields string) string {
		return `{"name":"Sale","product_id":1,"price":10,"total":4,` + start + `,` + end + `,` + fields + `}`
	}
	tests := []struct {
		path, body, field string
	}{
		{"/products", `{"price":10}`, "name"},
		{"/products", `{"name":"Phone","price":0}`, "price"},
		{"/products", `{"name":"Phone","price":10,"description":"` + strings.Repeat("d", 4001) + `"}`, "description"},
		{"/products", `{"name":"Phone","price":10,"image_url":"a b"}`, "image_url"},
		{"/activities", activity(`"name":""`), "name"},
		{"/activities", activity(`"product_id":0`), "product_id"},
		{"/activities", activity(`"price":-1`), "price"},
		{"/activities", activity(`"total":0`), "total"},
		{"/activities", `{"name":"Sale","product_id":1,"price":10,"total":4,` + end + `}`, "start_at"},
		{"/activities", `{"name":"Sale","product_id":1,"price":10,"total":4,` + start + `}`, "end_at"},
		{"/activities", activity(`"end_at":"2026-12-07T09:00:00Z"`), "end_at"},
		{"/activities", activity(`"pay_timeout_seconds":5`), "pay_timeout_seconds"},
		{"/activities", activity(`"shards":65`), "shards"},
		{"/activities", activity(`"shards":5`), "shards"},
		{"/activities", activity(`"challenge_difficulty":25`), "challenge_difficulty"},
		{"/activities", activity(`"fair_start_ms":5001`), "fair_start_ms"},
		{"/activities", `{"name":`, ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body)))
		var got contract.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("POST %s %.80s: %v (%s)", tt.path, tt.body, err, w.Body)
		}
		if w.Code != http.StatusBadRequest || got.Error != contract.EBadRequest || got.Field != tt.field || got.Message == "" {
			t.Errorf("POST %s %.80s = %d %+v, want 400 bad_request about %q", tt.path, tt.body, w.Code, got, tt.field)
		}
	}
}
