package main

import "testing"

func TestRefundsFullPartialAndTooMuch(t *testing.T) {
	t.Parallel()
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
