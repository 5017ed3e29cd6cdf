package contract

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestFieldErrorAnswer: a refusal of a body's field is answered 400 with
// the field, read back as such; any other error's body has no field.
func TestFieldErrorAnswer(t *testing.T) {
	status, body := Answer(FieldErrorf("end_at", "end_at must be after start_at"))
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"error":"bad_request","message":"end_at must be after start_at","field":"end_at"}`
	if status != http.StatusBadRequest || string(raw) != want {
		t.Fatalf("answer %d %s, want 400 %s", status, raw, want)
	}
	if got := ReadError(status, raw); got.Code != EBadRequest || got.Field != "end_at" {
		t.Fatalf("read back as %+v", got)
	}
	_, other := Answer(Errorf(ENotFound, "no such activity"))
	if raw, _ := json.Marshal(other); string(raw) != `{"error":"not_found","message":"no such activity"}` {
		t.Fatalf("an error about no field answers %s", raw)
	}
}
