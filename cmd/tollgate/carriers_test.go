package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers/tokenpay"
	"tollgate/internal/storetest"
)

// Every scenario of the test numbers, on every protocol: skt (CAMARA),
// kt (OneAPI Payment) and lgu (token and callback, results by callback only).
func TestEveryScenarioOnEveryCarrier(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		for i, c := range carrierNames {
			t.Run(c, func(t *testing.T) {
				n := func(last4 string) string { return fmt.Sprintf("+82106%d0%s", i, last4) }
				cases := []struct {
					last4, status, failure string
				}{
					{"1111", "succeeded", ""},
					{"0002", "failed", "insufficient_balance"},
					{"0003", "failed", "subscriber_blocked"},
					{"0004", "failed", "carrier_limit_exceeded"},
					{"0005", "succeeded", ""}, // accepted, result later
					{"0006", "succeeded", ""}, // timed out, but charged
					{"0007", "succeeded", ""}, // 503 once, then works
				}
				for _, k := range cases {
					r := g.paidOrDeclined(g.key, n(k.last4), 1000, c) // skt refuses 0004 at prepare
					if r.Status != 200 {
						t.Fatalf("%s: confirm answered %d %s", k.last4, r.Status, r.Raw)
					}
					got := g.waitFinalCharge(g.key, r.str("id"))
					if got.str("status") != k.status || got.str("failure_code") != k.failure {
						t.Errorf("%s: %s", k.last4, got.Raw)
					}
				}
				g.waitFinal(30 * time.Second)
				// The carrier billed exactly the succeeded ones, once each.
				billed := map[string]int{}
				for _, row := range g.simLedger(c) {
					billed[row["client_reference"].(string)]++
				}
				list := g.call("GET", "/v1/charges?limit=100&carrier="+c+"&status=succeeded", g.key, "", nil)
				succeeded := list.Body["data"].([]any)
				if len(succeeded) != 4 || len(billed) != 4 {
					t.Fatalf("%d succeeded, %d billed, want 4 and 4", len(succeeded), len(billed))
				}
				for _, s := range succeeded {
					if id := s.(map[string]any)["id"].(string); billed[id] != 1 {
						t.Errorf("%s billed %d times", id, billed[id])
					}
				}
				// One-tap: opt in, charge, refund in full.
				pm := g.activePaymentMethod(g.key, n("2222"), c)
				ch := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 2000, "currency": "KRW", "payment_method": pm})
				if ch.Status != 201 {
					t.Fatalf("one-tap: %d %s", ch.Status, ch.Raw)
				}
				if got := g.waitFinalCharge(g.key, ch.str("id")); got.str("status") != "succeeded" {
					t.Fatalf("one-tap: %s", got.Raw)
				}
				rf := g.call("POST", "/v1/charges/"+ch.str("id")+"/refunds", g.key, newIdem(), nil)
				if rf.Status != 201 || rf.str("status") == "failed" {
					t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
				}
				g.waitStatus(g.key, ch.str("id"), "refunded")
				g.assertLedgerBalances()
			})
		}
	})
}

// waitFinalCharge polls until the charge leaves requires_confirmation and
// processing (async results and status jobs finish on their own).
func (g *gw) waitFinalCharge(key, id string) resp {
	g.t.Helper()
	var r resp
	eventually(g.t, 30*time.Second, func() (bool, string) {
		r = g.call("GET", "/v1/charges/"+id, key, "", nil)
		if s := r.str("status"); s != "processing" && s != "requires_confirmation" {
			return true, ""
		}
		g.clock.Advance(10 * time.Second) // bring status queries due
		return false, fmt.Sprintf("charge %s still %s", id, r.str("status"))
	})
	return r
}

// Carrier callbacks: only a carrier's own signature gets in; a message is
// applied once however often it comes; nothing forged changes anything.
func TestCarrierCallbacksAreVerifiedAndAppliedOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		r := g.paid(g.key, "+821070001111", 1000, "lgu")
		id := r.str("id")
		g.waitStatus(g.key, id, "succeeded")
		var cb []byte
		var hdr http.Header
		// The simulator marks a callback delivered when the gateway's answer
		// is back, which may be just after the charge shows succeeded.
		eventually(t, 10*time.Second, func() (bool, string) {
			for _, sent := range g.app.sim.Callbacks("lgu") {
				if bytes.Contains(sent.Body, []byte(id)) && sent.Delivered() {
					cb, hdr = sent.Body, sent.Header
				}
			}
			return cb != nil, "no delivered callback for the charge"
		})
		post := func(body []byte, h http.Header) int {
			req, _ := http.NewRequest("POST", g.base+"/v1/carriers/lgu/webhooks", bytes.NewReader(body))
			for k, v := range h {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		// 100 copies of the real callback, at once: all acknowledged, applied once.
		var wg sync.WaitGroup
		codes := make([]int, 100)
		for i := range codes {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i] = post(cb, hdr) }()
		}
		wg.Wait()
		for _, c := range codes {
			if c != 200 {
				t.Fatalf("a copy was answered %d", c)
			}
		}
		var msgs, entries int64
		g.store.DB.Raw("SELECT COUNT(*) FROM carrier_messages WHERE client_reference = ?", id).Scan(&msgs)
		g.store.DB.Raw("SELECT COUNT(*) FROM ledger_entries WHERE charge_id = ?", id).Scan(&entries)
		if msgs != 1 || entries != 2 {
			t.Fatalf("%d messages recorded and %d ledger entries, want 1 and 2", msgs, entries)
		}

		// A failing result for a new charge, forged three ways: nothing moves.
		pending := g.charge(g.key, krw("+821070002222", 1000, "lgu"))
		pid := pending.str("id")
		secret := "sim-lgu-callback-secret"
		now := g.clock.Now()
		body := []byte(fmt.Sprintf(`{"message_id":"msg_forged","type":"charge.completed","reference":%q,"charge_id":"x","status":"failed","failure_reason":"insufficient_funds","amount":1000,"currency":"KRW","occurred_at":%q}`, pid, now.Format(time.RFC3339)))
		sign := func(secret string, at time.Time, b []byte) http.Header {
			return http.Header{tokenpay.SignatureHeader: {tokenpay.Sign(secret, at, b)}, "Content-Type": {"application/json"}}
		}
		for name, c := range map[string]struct {
			body []byte
			h    http.Header
		}{
			"unsigned":     {body, http.Header{"Content-Type": {"application/json"}}},
			"wrong secret": {body, sign("not-the-carriers-secret", now, body)},
			"stale":        {body, sign(secret, now.Add(-10*time.Minute), body)},
			"tampered":     {bytes.Replace(body, []byte("failed"), []byte("succeeded"), 1), sign(secret, now, body)},
		} {
			if code := post(c.body, c.h); code != 401 {
				t.Errorf("%s callback answered %d, want 401", name, code)
			}
		}
		if got := g.call("GET", "/v1/charges/"+pid, g.key, "", nil); got.str("status") != "requires_confirmation" {
			t.Fatalf("a refused callback moved the charge: %s", got.Raw)
		}
		// A genuine callback for a charge nobody knows is kept for settlement.
		orphan := []byte(strings.Replace(string(body), pid, "ch_unknown", 1))
		orphan = bytes.Replace(orphan, []byte("msg_forged"), []byte("msg_orphan"), 1)
		if code := post(orphan, sign(secret, now, orphan)); code != 200 {
			t.Fatalf("orphan callback answered %d", code)
		}
		var kept int64
		g.store.DB.Raw("SELECT COUNT(*) FROM carrier_messages WHERE message_id = 'msg_orphan' AND matched = ?", false).Scan(&kept)
		if kept != 1 {
			t.Fatal("the orphan callback was not kept")
		}
		// Another carrier cannot speak for lgu's charges, nor lgu for theirs.
		if code := post(cb, hdr); code != 200 {
			t.Fatalf("replayed callback: %d", code)
		}
		if code := post([]byte(`{}`), nil); code != 401 {
			t.Fatalf("empty unsigned callback: %d", code)
		}
		if r := g.call("POST", "/v1/carriers/nope/webhooks", "", "", `{}`); r.Status != 404 {
			t.Fatalf("unknown carrier: %d", r.Status)
		}
	})
}

// With no job queue running, only the carrier's callback can finish an
// async charge: 0005 on the token carrier ends succeeded through it.
func TestAsyncChargeEndsThroughTheCallbackAlone(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			g := startWith(t, opts{dbURL: storetest.URL(t, d), noJobs: true})
			r := g.paid(g.key, "+821070000005", 1000, "lgu")
			if r.str("status") != "processing" {
				t.Fatalf("0005 answered %s, want processing until the callback", r.Raw)
			}
			got := g.waitStatus(g.key, r.str("id"), "succeeded")
			var matched int64
			g.store.DB.Raw("SELECT COUNT(*) FROM carrier_messages WHERE client_reference = ? AND matched = ?", got.str("id"), true).Scan(&matched)
			if matched != 1 {
				t.Fatalf("%d matched callbacks", matched)
			}
			g.assertLedgerBalances()
		})
	}
}

// Issue 9, hole 1, as a stranger would try it: a charge whose carrier call
// timed out after the carrier billed it is sent a forged CAMARA
// payment-denied bearing skt's old shared notification token. It is refused,
// and the charge ends as the carrier's books say: succeeded, billed once.
func TestAForgedCAMARADenialCannotFailABilledCharge(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		pm := g.activePaymentMethod(g.key, "+821077001234", "skt")
		// The carrier bills, then never answers: the charge waits, processing.
		g.faults(`{"carrier": "skt", "timeout_rate": 1}`)
		r := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
		id := r.str("id")
		if r.Status != 201 || r.str("status") != "processing" {
			t.Fatalf("a timed-out charge: %d %s", r.Status, r.Raw)
		}
		g.faults(`{"carrier": "skt", "timeout_rate": 0}`)
		forged := fmt.Sprintf(`{"id": "evt_forged", "source": "/forged", "type": "org.camaraproject.carrier-billing.v0.payment-denied",
			"specversion": "1.0", "datacontenttype": "application/json", "time": %q,
			"data": {"paymentId": "pay_unknown", "status": "failed", "description": "Payment denied", "clientCorrelator": %q}}`,
			g.clock.Now().UTC().Format(time.RFC3339), id)
		for _, token := range []string{"sim-skt-notification-token", "made-up"} {
			req, _ := http.NewRequest("POST", g.base+"/v1/carriers/skt/webhooks", strings.NewReader(forged))
			req.Header.Set("Content-Type", "application/cloudevents+json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("a forged denial with token %q answered %d", token, res.StatusCode)
			}
		}
		if got := g.call("GET", "/v1/charges/"+id, g.key, "", nil); got.str("status") == "failed" {
			t.Fatalf("the forged denial failed the charge: %s", got.Raw)
		}
		g.waitFinal(60 * time.Second)
		got := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		billed := 0
		for _, row := range g.simLedger("skt") {
			if row["client_reference"] == id {
				billed++
			}
		}
		if got.str("status") != "succeeded" || billed != 1 {
			t.Fatalf("charge %s and billed %d times by the carrier: %s", got.str("status"), billed, got.Raw)
		}
	})
}
