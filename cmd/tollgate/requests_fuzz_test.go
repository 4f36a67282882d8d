package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tollgate/internal/auth"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// fuzzOp is one operation the merchant-input fuzz target sends: its body
// (or, for a list, its query string) is the fuzzer's.
type fuzzOp struct {
	method, path string
	role         auth.Role
	query        bool // the input is the query string, not the body
}

// FuzzMerchantRequests sends arbitrary bodies and query strings to every
// endpoint that reads one, on a running gateway (embedded store, simulated
// carriers) with real objects behind the ids: whatever arrives, the answer
// is a success or a 4xx problem with a code, never a 5xx, a hang or a
// dropped connection. Decoding alone is FuzzRequestBodies' (billingapi);
// this reaches the checks and the services behind it.
func FuzzMerchantRequests(f *testing.F) {
	g := startWith(f, opts{dbURL: storetest.URL(f, store.SQLite)})
	fin := g.roleKey(auth.RoleFinance)
	waiting := g.charge(g.key, krw("+821077770011", 1000, "skt")).str("id")
	paid := g.paid(g.key, "+821077770012", 5000, "skt").str("id")
	pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": "+821077770013", "carrier": "skt"}).str("id")
	active := g.activePaymentMethod(g.key, "+821077770014", "skt")
	sub := g.call("POST", "/v1/subscriptions", g.key, newIdem(), map[string]any{"payment_method": active, "amount": 3000, "currency": "KRW", "interval": "month"}).str("id")
	prog := g.call("POST", "/v1/cashback_programs", g.key, newIdem(), map[string]any{"rate_bps": 200, "max_per_charge": 500, "currency": "KRW", "expires_after_days": 90}).str("id")
	rr := g.askRefund("+821077770012", paid, "Not as described")
	ops := []fuzzOp{
		{"POST", "/v1/charges", auth.RoleMerchant, false},
		{"POST", "/v1/charges/" + waiting + "/confirm", auth.RoleMerchant, false},
		{"POST", "/v1/charges/" + paid + "/refunds", auth.RoleMerchant, false},
		{"POST", "/v1/payment_methods", auth.RoleMerchant, false},
		{"POST", "/v1/payment_methods/" + pm + "/confirm", auth.RoleMerchant, false},
		{"POST", "/v1/subscriptions", auth.RoleMerchant, false},
		{"POST", "/v1/subscriptions/" + sub + "/confirm", auth.RoleMerchant, false},
		{"POST", "/v1/webhook_endpoints", auth.RoleMerchant, false},
		{"POST", "/v1/cashback_programs", auth.RoleMerchant, false},
		{"POST", "/v1/cashback_programs/" + prog + "/end", auth.RoleMerchant, false},
		{"POST", "/v1/refund_requests/" + rr + "/decline", auth.RoleMerchant, false},
		{"POST", "/v1/refund_request_settings", auth.RoleMerchant, false},
		{"POST", "/v1/risk/clearances", auth.RoleAdmin, false},
		{"POST", "/v1/settlements", auth.RoleFinance, false},
		{"GET", "/v1/charges", auth.RoleMerchant, true},
		{"GET", "/v1/events", auth.RoleMerchant, true},
		{"GET", "/v1/subscriptions", auth.RoleMerchant, true},
		{"GET", "/v1/refund_requests", auth.RoleMerchant, true},
		{"GET", "/v1/settlements", auth.RoleFinance, true},
		{"GET", "/v1/risk/reviews", auth.RoleAdmin, true},
	}
	keys := map[auth.Role]string{auth.RoleMerchant: g.key, auth.RoleFinance: fin, auth.RoleAdmin: g.admin}
	// One seed per operation (a body it takes, or a query), plus a few
	// shapes for all: a big corpus spends the fuzzing minute on baseline.
	seeds := []string{
		`{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt", "description": "gems", "metadata": {"a": "b"}}`,
		`{"code": "123456"}`,
		`{"amount": 100, "reason": "x"}`,
		`{"msisdn": "010-1234-0000", "country": "KR", "carrier": "kt"}`,
		`{"code": "000000"}`,
		`{"payment_method": "` + active + `", "amount": 100, "currency": "KRW", "interval": "week", "start_at": "2030-01-01T00:00:00Z"}`,
		`{"code": "12345"}`,
		`{"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}`,
		`{"rate_bps": 200, "max_per_charge": 500, "min_amount": 1000, "currency": "KRW", "expires_after_days": 90}`,
		``,
		`{"reason": "no"}`,
		`{"currency": "KRW", "auto_approve_below": 1000}`,
		`{"msisdn": "+821012345678"}`,
		`{"carrier": "skt", "business_date": "2026-11-24", "rerun": true}`,
		`limit=2&status=succeeded&carrier=skt&created_gte=2026-01-01T00:00:00Z`,
		`type=charge.succeeded&starting_after=evt_x`,
		`status=active&limit=100`,
		`status=pending&overdue=true`,
		`business_date=2026-11-24`,
		`limit=1`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	for _, s := range []string{`{}`, `null`, `{"amount": -1, "currency": "XXX"}`, `limit=-1&created_lt=x`} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(14), []byte(s))
	}
	client := &http.Client{Timeout: boundedClient.Timeout}
	f.Fuzz(func(t *testing.T, which uint8, input []byte) {
		op := ops[int(which)%len(ops)]
		target := g.base + op.path
		var body io.Reader
		if op.query {
			// Spaces, controls and '#' cannot be in a request line (net/http
			// itself answers a bare 400 before any handler): not a request.
			if bytes.ContainsFunc(input, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
				return
			}
			target += "?" + string(input)
			if _, err := url.Parse(target); err != nil {
				return
			}
		} else {
			body = bytes.NewReader(input)
		}
		req, err := http.NewRequest(op.method, target, body)
		if err != nil {
			return
		}
		if !op.query {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+keys[op.role])
		req.Header.Set("Idempotency-Key", newIdem())
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s %q: no answer: %v", op.method, op.path, input, err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", op.method, op.path, input, res.StatusCode, raw)
		}
		if res.StatusCode >= 400 && (!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") || !bytes.Contains(raw, []byte(`"code"`))) {
			t.Fatalf("%s %s %q: %d without a problem: %s", op.method, op.path, input, res.StatusCode, raw)
		}
	})
}
