package main

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/configs"
)

// withReceipts turns the test carriers' receipts back on (the harness
// turns them off), and gives each carrier call seconds rather than the
// harness's half second: fifty receipts and two alerts go out at once, and
// on a loaded machine half-second tries time out and their jobs back off
// for minutes (seen: 31 of 52 texts after 150 s).
func withReceipts(c *configs.Config) {
	for i := range c.Carriers {
		c.Carriers[i].Receipts = true
	}
	c.CarrierHTTP.AttemptTimeout = 3 * time.Second
}

// texts lists the bodies of the texts the simulated carrier delivered to
// msisdn about key's merchant's payments, newest first.
func (g *gw) texts(key, msisdn string) []string {
	g.t.Helper()
	r := g.call("GET", "/v1/test_helpers/sms?msisdn="+url.QueryEscape(msisdn), key, "", nil)
	data, _ := r.Body["data"].([]any)
	var out []string
	for _, d := range data {
		m, _ := d.(map[string]any)
		body, _ := m["body"].(string)
		out = append(out, body)
	}
	return out
}

// eventsOfType lists the merchant's events of one type, newest first.
func (g *gw) eventsOfType(key, typ string) []map[string]any {
	g.t.Helper()
	r := g.call("GET", "/v1/events?limit=100&type="+url.QueryEscape(typ), key, "", nil)
	if r.Status != 200 {
		g.t.Fatalf("list events: %d %s", r.Status, r.Raw)
	}
	var out []map[string]any
	data, _ := r.Body["data"].([]any)
	for _, d := range data {
		m, _ := d.(map[string]any)
		out = append(out, m)
	}
	return out
}

// Done means, issue 10, over HTTP on both stores: 60 concurrent ₩10,000
// one-tap charges from one number against the test carriers' ₩500,000
// monthly ceiling: exactly 50 succeed, 10 are refused with 422
// carrier_limit_exceeded before the carrier is called; the merchant hears
// of 80 % and 100 % once each, the subscriber gets one Korean text for
// each and a receipt per charge; a refund gives room back.
func TestConcurrentOneTapChargesStopAtTheMonthlyCap(t *testing.T) {
	t.Parallel()
	eachStoreWith(t, withReceipts, func(t *testing.T, g *gw) {
		const phone = "+821077770001"
		pm := g.activePaymentMethod(g.key, phone, "skt")
		before := len(g.simLedger("skt"))
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			answers = map[string]int{}
			ids     []string
		)
		for range 60 {
			wg.Go(func() {
				r := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 10000, "currency": "KRW", "payment_method": pm, "description": "gems"})
				mu.Lock()
				defer mu.Unlock()
				answers[fmt.Sprintf("%d %s%s", r.Status, r.str("status"), r.str("code"))]++
				if r.Status == 201 {
					ids = append(ids, r.str("id"))
				}
			})
		}
		wg.Wait()
		if answers["201 succeeded"] != 50 || answers["422 carrier_limit_exceeded"] != 10 || len(answers) != 2 {
			t.Fatalf("answers %v, want 50 × 201 succeeded and 10 × 422 carrier_limit_exceeded", answers)
		}
		if n := len(g.simLedger("skt")) - before; n != 50 {
			t.Fatalf("the carrier billed %d charges, want 50", n)
		}
		over := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
		if over.Status != 422 || over.str("code") != "carrier_limit_exceeded" || over.str("cap") != "carrier" || over.num("remaining") != 0 || over.num("limit") != 500000 {
			t.Fatalf("one more: %d %s", over.Status, over.Raw)
		}
		doc := oaFetch(t, g)
		oaConform(t, doc, "POST", "/v1/charges", over)
		oaConform(t, doc, "GET", "/v1/events", g.call("GET", "/v1/events?limit=100&type=subscriber.spend_threshold_reached", g.key, "", nil))
		// The merchant: one event per threshold.
		evs := g.eventsOfType(g.key, "subscriber.spend_threshold_reached")
		if len(evs) != 2 {
			t.Fatalf("%d threshold events, want 2", len(evs))
		}
		seen := map[float64]bool{}
		for _, e := range evs {
			obj, _ := e["data"].(map[string]any)["object"].(map[string]any)
			th, _ := obj["threshold"].(float64)
			seen[th] = true
			if obj["cap"] != float64(500000) || obj["currency"] != "KRW" || obj["month"] == "" || obj["msisdn_masked"] != "+82 10-****-0001" {
				t.Fatalf("threshold event %v", obj)
			}
			if th == 100 && obj["spent"] != float64(500000) {
				t.Fatalf("100 %% event %v", obj)
			}
		}
		if !seen[80] || !seen[100] {
			t.Fatalf("thresholds seen %v, want 80 and 100", seen)
		}
		// The subscriber: two alerts and fifty receipts, in Korean. Texts are
		// jobs: one whose send timed out on a loaded machine is retried on
		// river's backoff, which the test clock brings due a little faster
		// than real time (not much faster: a send failing again and again
		// would spend all its attempts in a few seconds of real time); a
		// retried send may arrive twice (texts are at least once, the
		// decision to send is once: the events above).
		eventually(t, 150*time.Second, func() (bool, string) {
			texts := g.texts(g.key, phone)
			var alerts, receipts int
			for _, b := range texts {
				switch {
				case strings.Contains(b, "한도의 80%를 사용했습니다"), strings.Contains(b, "한도 ₩500,000에 도달했습니다"):
					alerts++
				case strings.Contains(b, "₩10,000 결제가 휴대폰 요금으로 청구되었습니다"):
					receipts++
				}
			}
			if alerts >= 2 && receipts >= 50 {
				return true, ""
			}
			g.clock.Advance(100 * time.Millisecond)
			return false, fmt.Sprintf("%d alerts and %d receipts of %d texts", alerts, receipts, len(texts))
		})
		// A refund gives its room back, and the room is used again.
		rf := g.call("POST", "/v1/charges/"+ids[0]+"/refunds", g.key, newIdem(), map[string]any{})
		if rf.Status != 201 || rf.str("status") != "succeeded" {
			t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
		}
		again := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 10000, "currency": "KRW", "payment_method": pm})
		if again.Status != 201 || again.str("status") != "succeeded" {
			t.Fatalf("after the refund: %d %s", again.Status, again.Raw)
		}
		if r := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm}); r.Status != 422 {
			t.Fatalf("past the cap again: %d %s", r.Status, r.Raw)
		}
		if n := len(g.eventsOfType(g.key, "subscriber.spend_threshold_reached")); n != 2 {
			t.Fatalf("%d threshold events after refilling the month, want still 2", n)
		}
		g.assertLedgerBalances()
	})
}

// A category the subscriber blocked is refused at creation (SMS-code and
// one-tap alike), before any code or carrier call; others go through.
func TestABlockedCategoryIsRefusedOverHTTP(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		const phone = "+821077770002"
		if err := g.app.billing.SetBlockedCategories(t.Context(), g.app.vault.Index(phone), []string{"voucher"}); err != nil {
			t.Fatal(err)
		}
		body := krw(phone, 5000, "kt")
		body["category"] = "voucher"
		r := g.call("POST", "/v1/charges", g.key, newIdem(), body)
		if r.Status != 422 || r.str("code") != "category_blocked" || r.str("param") != "category" {
			t.Fatalf("blocked category: %d %s", r.Status, r.Raw)
		}
		if n := len(g.texts(g.key, phone)); n != 0 {
			t.Fatalf("%d texts for a refused charge", n)
		}
		body["category"] = "game"
		if r := g.call("POST", "/v1/charges", g.key, newIdem(), body); r.Status != 201 {
			t.Fatalf("another category: %d %s", r.Status, r.Raw)
		}
	})
}
