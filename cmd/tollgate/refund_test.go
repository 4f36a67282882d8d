package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
)

func TestRefundsFullPartialAndTooMuch(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		ch := g.paid(g.key, "+821066660000", 5000, "skt")
		id := ch.str("id")
		r1 := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, "rf-1", map[string]any{"amount": 2000, "reason": "one item returned"})
		if r1.Status != 201 || r1.str("status") != "succeeded" || r1.num("amount") != 2000 || r1.str("charge") != id {
			t.Fatalf("partial refund: %d %s", r1.Status, r1.Raw)
		}
		if again := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, "rf-1", map[string]any{"amount": 2000, "reason": "one item returned"}); string(again.Raw) != string(r1.Raw) {
			t.Fatalf("refund replay differs: %s", again.Raw)
		}
		got := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		if got.str("status") != "partially_refunded" || got.num("refunded_amount") != 2000 {
			t.Fatalf("after partial: %s", got.Raw)
		}
		g.assertLedgerBalances()
		over := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), map[string]any{"amount": 3001})
		if over.Status != 422 || over.str("code") != "refund_exceeds_charge" || over.num("refundable_amount") != 3000 {
			t.Fatalf("over-refund: %d %s", over.Status, over.Raw)
		}
		rest := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), nil)
		if rest.Status != 201 || rest.num("amount") != 3000 || rest.str("status") != "succeeded" {
			t.Fatalf("refund the rest: %d %s", rest.Status, rest.Raw)
		}
		got = g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		if got.str("status") != "refunded" || got.num("refunded_amount") != 5000 {
			t.Fatalf("after full: %s", got.Raw)
		}
		if r := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), map[string]any{"amount": 1}); r.Status != 422 || r.str("code") != "refund_exceeds_charge" {
			t.Fatalf("refund of refunded: %d %s", r.Status, r.Raw)
		}
		list := g.call("GET", "/v1/charges/"+id+"/refunds", g.key, "", nil)
		if n := len(list.Body["data"].([]any)); n != 2 {
			t.Fatalf("refund list: %s", list.Raw)
		}
		if r := g.call("GET", "/v1/charges/"+id+"/refunds/"+r1.str("id"), g.key, "", nil); r.Status != 200 || r.num("amount") != 2000 {
			t.Fatalf("get refund: %d %s", r.Status, r.Raw)
		}
		if r := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), map[string]any{"amount": 0}); r.Status != 400 {
			t.Fatalf("zero refund: %d %s", r.Status, r.Raw)
		}
		g.assertLedgerBalances()
	})
}

func TestConcurrentRefundsNeverExceedTheCharge(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		id := g.paid(g.key, "+821066661111", 5000, "skt").str("id")
		var wg sync.WaitGroup
		statuses := make([]resp, 12)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), map[string]any{"amount": 1000})
			}()
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, r := range statuses {
			switch {
			case r.Status == 201 && r.str("status") == "succeeded":
				ok++
			case r.Status == 422 && r.str("code") == "refund_exceeds_charge":
				refused++
			default:
				t.Errorf("unexpected: %d %s", r.Status, r.Raw)
			}
		}
		if ok != 5 || refused != 7 {
			t.Fatalf("%d refunds succeeded and %d refused, want 5 and 7", ok, refused)
		}
		got := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		if got.str("status") != "refunded" || got.num("refunded_amount") != 5000 {
			t.Fatalf("charge: %s", got.Raw)
		}
		g.assertLedgerBalances()
	})
}

func TestRefundRulesOfTheCarrier(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		// kt refunds whole charges only, within 30 days.
		id := g.paid(g.key, "+821077770000", 5000, "kt").str("id")
		part := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), map[string]any{"amount": 1000})
		if part.Status != 422 || part.str("code") != "refund_not_supported" {
			t.Fatalf("partial on kt: %d %s", part.Status, part.Raw)
		}
		g.clock.Advance(31 * 24 * time.Hour)
		late := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), nil)
		if late.Status != 422 || late.str("code") != "refund_window_closed" {
			t.Fatalf("late refund on kt: %d %s", late.Status, late.Raw)
		}
		got := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		if got.str("status") != "succeeded" || got.num("refunded_amount") != 0 {
			t.Fatalf("refused refunds changed the charge: %s", got.Raw)
		}
		g.assertLedgerBalances()
	})
}

// Results for one charge or refund arriving at once (a callback, a status
// job, settlement) are applied once and none of them errs.
func TestConcurrentResultsAreAppliedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		pm := g.activePaymentMethod(g.key, "+821066662222", "lgu")
		g.faults(`{"carrier": "lgu", "latency_ms": 300}`) // keep the real callback behind ours
		ch := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 4000, "currency": "KRW", "payment_method": pm})
		id := ch.str("id")
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- g.app.billing.ApplyChargeResult(ctx, id, carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + id}, nil)
			}()
		}
		wg.Wait()
		g.faults(`{"carrier": "lgu", "latency_ms": 0}`)
		g.waitStatus(g.key, id, "succeeded")
		rf := g.call("POST", "/v1/charges/"+id+"/refunds", g.key, newIdem(), map[string]any{"amount": 1500})
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- g.app.billing.ApplyRefundResult(ctx, rf.str("id"), carriers.Result{Outcome: carriers.OutcomeSucceeded}, nil)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a concurrent apply failed: %v", err)
			}
		}
		got := g.waitStatus(g.key, id, "partially_refunded")
		if got.num("refunded_amount") != 1500 {
			t.Fatalf("refunded %d, want 1500", got.num("refunded_amount"))
		}
		var entries int64
		g.store.DB.Raw("SELECT COUNT(*) FROM ledger_entries WHERE charge_id = ?", id).Scan(&entries)
		if entries != 4 {
			t.Fatalf("%d ledger entries, want 4 (one charge posting, one refund posting)", entries)
		}
		g.assertLedgerBalances()
	})
}
