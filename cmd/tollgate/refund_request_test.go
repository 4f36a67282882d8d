package main

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// askRefund is the subscriber's request on /my for a refund of charge,
// made through the billing service as the page makes it.
func (g *gw) askRefund(msisdn, charge, reason string) string {
	g.t.Helper()
	_, sub, err := g.app.billing.IdentifySubscriber(msisdn, "")
	if err != nil {
		g.t.Fatal(err)
	}
	rr, err := g.app.billing.RequestRefundForSubscriber(context.Background(), false, sub.Index, charge, reason)
	if err != nil {
		g.t.Fatal(err)
	}
	return rr.ID
}

// Refund requests over the merchant API, on both stores with the test
// clock: listed and read by their merchant only, approved (the refund made
// and the charge refunded), declined with a reason, auto-approved below the
// merchant's amount, overdue after 3 days to admin keys, and an approval
// past the carrier's refund window refused with the request left pending.
func TestRefundRequestsOverTheAPI(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		const me = "+821012340077"
		ch1 := g.paid(g.key, me, 5000, "skt").str("id")
		ch2 := g.paid(g.key, me, 3000, "skt").str("id")
		rr1 := g.askRefund(me, ch1, "I was charged twice")
		rr2 := g.askRefund(me, ch2, "Changed my mind")

		l := g.call("GET", "/v1/refund_requests?status=pending&limit=10", g.key, "", nil)
		if l.Status != http.StatusOK || len(l.Body["data"].([]any)) != 2 {
			t.Fatalf("list: %d %s", l.Status, l.Raw)
		}
		one := g.call("GET", "/v1/refund_requests/"+rr1, g.key, "", nil)
		if one.str("status") != "pending" || one.str("charge") != ch1 || one.num("amount") != 5000 || one.str("msisdn_masked") != "+82 10-****-0077" || one.Body["overdue"] != false {
			t.Fatalf("get: %s", one.Raw)
		}
		// Another merchant sees nothing and answers nothing.
		if r := g.call("GET", "/v1/refund_requests/"+rr1, g.other, "", nil); r.Status != http.StatusNotFound {
			t.Fatalf("other merchant's get: %d %s", r.Status, r.Raw)
		}
		if r := g.call("POST", "/v1/refund_requests/"+rr1+"/approve", g.other, "", nil); r.Status != http.StatusNotFound {
			t.Fatalf("other merchant's approve: %d %s", r.Status, r.Raw)
		}
		if r := g.call("POST", "/v1/refund_requests/"+rr1+"/decline", g.other, "", map[string]any{"reason": "no"}); r.Status != http.StatusNotFound {
			t.Fatalf("other merchant's decline: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/refund_requests?starting_after="+rr1, g.other, "", nil); r.Status != http.StatusBadRequest {
			t.Fatalf("cursor on another merchant's request: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/refund_requests", g.other, "", nil); len(r.Body["data"].([]any)) != 0 {
			t.Fatalf("other merchant's list: %s", r.Raw)
		}
		if r := g.call("POST", "/v1/refund_requests/"+rr1+"/approve", g.admin, "", nil); r.Status != http.StatusForbidden {
			t.Fatalf("an admin approves: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/refund_requests?overdue=maybe", g.key, "", nil); r.Status != http.StatusBadRequest || r.str("param") != "overdue" {
			t.Fatalf("bad overdue: %d %s", r.Status, r.Raw)
		}

		ap := g.call("POST", "/v1/refund_requests/"+rr1+"/approve", g.key, newIdem(), nil)
		if ap.Status != http.StatusOK || ap.str("status") != "approved" || ap.str("approved_by") != "merchant" || ap.str("refund") == "" {
			t.Fatalf("approve: %d %s", ap.Status, ap.Raw)
		}
		if c := g.call("GET", "/v1/charges/"+ch1, g.key, "", nil); c.str("status") != "refunded" {
			t.Fatalf("charge after approval: %s", c.Raw)
		}
		if r := g.call("POST", "/v1/refund_requests/"+rr2+"/decline", g.key, "", map[string]any{}); r.Status != http.StatusBadRequest || r.str("param") != "reason" {
			t.Fatalf("decline without a reason: %d %s", r.Status, r.Raw)
		}
		dec := g.call("POST", "/v1/refund_requests/"+rr2+"/decline", g.key, "", map[string]any{"reason": "The film was watched."})
		if dec.Status != http.StatusOK || dec.str("status") != "declined" || dec.str("decline_reason") != "The film was watched." {
			t.Fatalf("decline: %d %s", dec.Status, dec.Raw)
		}
		if r := g.call("POST", "/v1/refund_requests/"+rr2+"/approve", g.key, "", nil); r.Status != http.StatusConflict || r.str("code") != "refund_request_state_invalid" {
			t.Fatalf("approve a declined one: %d %s", r.Status, r.Raw)
		}
		ev := g.call("GET", "/v1/events?type=refund_request.created", g.key, "", nil)
		if n := len(ev.Body["data"].([]any)); n != 2 {
			t.Fatalf("%d refund_request.created events: %s", n, ev.Raw)
		}
		g.assertLedgerBalances()

		// Auto-approval below the merchant's amount.
		if r := g.call("POST", "/v1/refund_request_settings", g.key, "", map[string]any{"currency": "KRW", "auto_approve_below": -5}); r.Status != http.StatusBadRequest {
			t.Fatalf("negative setting: %d %s", r.Status, r.Raw)
		}
		set := g.call("POST", "/v1/refund_request_settings", g.key, "", map[string]any{"currency": "KRW", "auto_approve_below": 1000})
		if set.Status != http.StatusOK || set.num("auto_approve_below") != 1000 {
			t.Fatalf("settings: %d %s", set.Status, set.Raw)
		}
		if r := g.call("GET", "/v1/refund_request_settings", g.key, "", nil); len(r.Body["data"].([]any)) != 1 {
			t.Fatalf("settings list: %s", r.Raw)
		}
		small := g.askRefund(me, g.paid(g.key, me, 900, "skt").str("id"), "Wrong item")
		if r := g.call("GET", "/v1/refund_requests/"+small, g.key, "", nil); r.str("status") != "approved" || r.str("approved_by") != "auto" {
			t.Fatalf("auto-approved: %s", r.Raw)
		}
		late := g.askRefund(me, g.paid(g.key, me, 4000, "skt").str("id"), "Never arrived")
		if r := g.call("GET", "/v1/refund_requests/"+late, g.key, "", nil); r.str("status") != "pending" {
			t.Fatalf("above the amount: %s", r.Raw)
		}

		// Three days unanswered: overdue, listed to an admin across merchants.
		g.clock.Advance(72 * time.Hour)
		ad := g.call("GET", "/v1/refund_requests?overdue=true", g.admin, "", nil)
		data, _ := ad.Body["data"].([]any)
		if ad.Status != http.StatusOK || len(data) != 1 {
			t.Fatalf("admin's overdue list: %d %s", ad.Status, ad.Raw)
		}
		if o := data[0].(map[string]any); o["id"] != late || o["overdue"] != true || o["merchant"] == "" {
			t.Fatalf("overdue request: %v", o)
		}

		// Past skt's refund window (the calendar month in Seoul), approval
		// is refused and the request stays pending.
		g.clock.Advance(40 * 24 * time.Hour)
		if r := g.call("POST", "/v1/refund_requests/"+late+"/approve", g.key, "", nil); r.Status != http.StatusUnprocessableEntity || r.str("code") != "refund_window_closed" {
			t.Fatalf("approve past the window: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/refund_requests/"+late, g.admin, "", nil); r.str("status") != "pending" || r.Body["refund"] != nil {
			t.Fatalf("after a refused approval: %s", r.Raw)
		}
	})
}
