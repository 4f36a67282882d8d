package main

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"tollgate/configs"
)

// Fifty merchants' retries of one one-tap charge race each other: one charge,
// one carrier call, fifty identical answers. The carrier gets seconds per
// try: the harness's half-second tries can time out on a loaded machine and
// be sent again (safely, the reference is the same), which is the client's
// retry, not the race this test is about.
func TestFiftyConcurrentSameKeyRequestsChargeOnce(t *testing.T) {
	t.Parallel()
	eachStoreWith(t, func(c *configs.Config) { c.CarrierHTTP.AttemptTimeout = 5 * time.Second }, func(t *testing.T, g *gw) {
		pmID := g.activePaymentMethod(g.key, "+821055550000", "skt")
		body := map[string]any{"amount": 3000, "currency": "KRW", "payment_method": pmID}
		var wg sync.WaitGroup
		answers := make([]resp, 50)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = g.call("POST", "/v1/charges", g.key, "same-key", body)
			}()
		}
		wg.Wait()
		var first []byte
		for i, a := range answers {
			if a.Status == http.StatusConflict && a.str("code") == "idempotency_request_in_progress" {
				continue
			}
			if a.Status != 201 || a.str("status") != "succeeded" {
				t.Fatalf("answer %d: %d %s", i, a.Status, a.Raw)
			}
			if first == nil {
				first = a.Raw
			}
			if !bytes.Equal(a.Raw, first) {
				t.Fatalf("answer %d differs:\n%s\n%s", i, a.Raw, first)
			}
		}
		var n int64
		g.store.DB.Raw("SELECT COUNT(*) FROM charges").Scan(&n)
		if n != 1 {
			t.Fatalf("%d charges, want 1", n)
		}
		books := g.simLedger("skt")
		if len(books) != 1 {
			t.Fatalf("carrier billed %d times, want 1", len(books))
		}
		if calls := g.simChargeRequests("skt"); calls != 1 {
			t.Fatalf("carrier received %d charge requests, want 1", calls)
		}
		g.assertLedgerBalances()
	})
}

// activePaymentMethod opts a subscriber in and returns the pm id.
func (g *gw) activePaymentMethod(key, msisdn, carrier string) string {
	g.t.Helper()
	pm := g.call("POST", "/v1/payment_methods", key, newIdem(), map[string]any{"msisdn": msisdn, "carrier": carrier})
	if pm.Status != 201 {
		g.t.Fatalf("create pm: %d %s", pm.Status, pm.Raw)
	}
	act := g.call("POST", "/v1/payment_methods/"+pm.str("id")+"/confirm", key, "", map[string]string{"code": g.smsCodeFor(key, msisdn)})
	if act.str("status") != "active" {
		g.t.Fatalf("activate pm: %d %s", act.Status, act.Raw)
	}
	return pm.str("id")
}

// Past the 24 h retention the stored answer is gone, but the key still
// names its charge: the same request finds it again, another is refused.
func TestIdempotencyKeyStillNamesItsChargeAfterRetention(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		body := krw("+821044449999", 2000, "skt")
		first := g.call("POST", "/v1/charges", g.key, "old-key", body)
		g.clock.Advance(25 * time.Hour)
		same := g.call("POST", "/v1/charges", g.key, "old-key", body)
		if same.Status != 201 || same.str("id") != first.str("id") {
			t.Fatalf("same request after retention: %d %s", same.Status, same.Raw)
		}
		g.clock.Advance(25 * time.Hour)
		other := g.call("POST", "/v1/charges", g.key, "old-key", krw("+821044449999", 3000, "skt"))
		if other.Status != 422 || other.str("code") != "idempotency_key_reused" {
			t.Fatalf("other request after retention: %d %s", other.Status, other.Raw)
		}
		var n int64
		g.store.DB.Raw("SELECT COUNT(*) FROM charges").Scan(&n)
		if n != 1 {
			t.Fatalf("%d charges", n)
		}
	})
}
