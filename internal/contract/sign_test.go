package contract

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func mustKey(t *testing.T, text string) Key {
	t.Helper()
	k, err := ParseKey(text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKeyWantsThirtyTwoBytes(t *testing.T) {
	if _, err := ParseKey(strings.Repeat("k", MinKeyLen-1)); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	if k := NewKeyText(); len(k) < MinKeyLen || k == NewKeyText() {
		t.Errorf("NewKeyText gave %q", k)
	}
}

// TestGuard signs a message's branch and back-check as dtmclient.NewMsg
// does, then sends each call as the dtm server would, and forgeries of it.
func TestGuard(t *testing.T) {
	key := mustKey(t, strings.Repeat("a", 32))
	other := mustKey(t, strings.Repeat("b", 32))
	var served []string
	h := key.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		served = append(served, r.URL.Path+" "+string(b))
	}))
	gid := "flash-sale-1-alice"
	body := `{"activity_id":1,"user_id":"alice","product_id":1,"price":100}`
	sigs := key.MessageSignatures(gid, RouteCreateOrder, []byte(body), RoutePurchaseQuery)
	branchQ := "?gid=" + gid + "&trans_type=msg&branch_id=01&op=action"
	queryQ := "?gid=" + gid + "&trans_type=msg&branch_id=00&op=msg&dtm=http://dtm"
	cases := []struct {
		name, method, target, body, sig string
		want                            int
	}{
		{"branch", "POST", RouteCreateOrder + branchQ, body, sigs, 200},
		{"back-check", "GET", RoutePurchaseQuery + queryQ, "", sigs, 200},
		{"unsigned", "POST", RouteCreateOrder + branchQ, body, "", 401},
		{"garbage", "POST", RouteCreateOrder + branchQ, body, "not-a-signature", 401},
		{"other key", "POST", RouteCreateOrder + branchQ, body, other.MessageSignatures(gid, RouteCreateOrder, []byte(body), RoutePurchaseQuery), 401},
		{"other body", "POST", RouteCreateOrder + branchQ, strings.Replace(body, `"price":100`, `"price":1`, 1), sigs, 401},
		{"other gid", "POST", RouteCreateOrder + strings.Replace(branchQ, "alice", "bob", 1), body, sigs, 401},
		{"other branch", "POST", RouteCreateOrder + strings.Replace(branchQ, "branch_id=01", "branch_id=02", 1), body, sigs, 401},
		{"other op", "POST", RouteCreateOrder + strings.Replace(branchQ, "op=action", "op=compensate", 1), body, sigs, 401},
		{"other route", "POST", RouteStockReturn + branchQ, body, sigs, 401},
		{"back-check of another gid", "GET", RoutePurchaseQuery + strings.Replace(queryQ, "alice", "bob", 1), "", sigs, 401},
		{"too large", "POST", RouteCreateOrder + branchQ, strings.Repeat(" ", MaxInternalBody+1), sigs, 413},
		{"probe", "GET", "/readyz", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
	}
	for _, c := range cases {
		served = nil
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		if c.sig != "" {
			r.Header.Set(SignatureHeader, c.sig)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, w.Code, c.want, w.Body)
		}
		if c.want != 200 {
			if len(served) != 0 {
				t.Errorf("%s: reached the handler", c.name)
			}
			var e ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || Status(e.Error) != c.want {
				t.Errorf("%s: body %s", c.name, w.Body)
			}
		} else if c.body != "" && (len(served) != 1 || !strings.HasSuffix(served[0], c.body)) {
			t.Errorf("%s: handler read %q", c.name, served)
		}
	}
}

func TestSignRequest(t *testing.T) {
	key := mustKey(t, strings.Repeat("a", 32))
	body := []byte(`{"user_id":"alice"}`)
	r := httptest.NewRequest("POST", PayPath(42), strings.NewReader(string(body)))
	key.SignRequest(r, body)
	if err := key.Verify(r, body); err != nil {
		t.Fatal(err)
	}
	r.URL.Path = PayPath(43)
	if key.Verify(r, body) == nil {
		t.Error("a pay signature for order 42 paid order 43")
	}
}

func TestStatusDefaultsTo500(t *testing.T) {
	if Status("no_such_code") != 500 || Status(ESoldOut) != 409 || Status(EUnauthorized) != 401 {
		t.Error("status table")
	}
	if e := ReadError(409, []byte(`{"error":"not_payable","message":"m"}`)); e.Code != ENotPayable {
		t.Errorf("ReadError: %v", e)
	}
	if e := ReadError(502, []byte(`<html>`)); e.Code != EInternal {
		t.Errorf("ReadError of a 502: %v", e)
	}
}

// TestSignedMessage: a message's branch headers as NewMsg writes them
// prove it the services'; another key's, another gid's or another
// back-check path's do not.
func TestSignedMessage(t *testing.T) {
	k, _ := ParseKey(strings.Repeat("k", 40))
	other, _ := ParseKey(strings.Repeat("o", 40))
	gid := PurchaseGID(7, "alice")
	header := k.MessageSignatures(gid, RouteCreateOrder, []byte(`{}`), RoutePurchaseQuery)
	if !k.SignedMessage(gid, RoutePurchaseQuery, header) {
		t.Fatal("the services' own message is not recognised")
	}
	for name, ok := range map[string]bool{
		"another key":  k.SignedMessage(gid, RoutePurchaseQuery, other.MessageSignatures(gid, RouteCreateOrder, []byte(`{}`), RoutePurchaseQuery)),
		"another gid":  k.SignedMessage(PurchaseGID(7, "bob"), RoutePurchaseQuery, header),
		"another path": k.SignedMessage(gid, RouteAdjustQuery, header),
		"no header":    k.SignedMessage(gid, RoutePurchaseQuery, ""),
		"a zero key":   Key{}.SignedMessage(gid, RoutePurchaseQuery, header),
	} {
		if ok {
			t.Errorf("%s: taken for the services' message", name)
		}
	}
}
