package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// subscriptionCharges lists the merchant's charges made for subscription
// id, newest first, as the merchant sees them.
func (g *gw) subscriptionCharges(id string) []map[string]any {
	g.t.Helper()
	r := g.call("GET", "/v1/charges?limit=100", g.key, "", nil)
	var out []map[string]any
	data, _ := r.Body["data"].([]any)
	for _, d := range data {
		if ch := d.(map[string]any); ch["subscription"] == id {
			out = append(out, ch)
		}
	}
	return out
}

// TestASubscriptionRenewsOnTheTestClock is the walk-through of the README:
// a one-tap payment method, a subscription confirmed with its own code, the
// first period charged at once, the clock moved a month, the renewal.
func TestASubscriptionRenewsOnTheTestClock(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		const number = "+821031310101"
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": number, "carrier": "skt"})
		if r := g.call("POST", "/v1/payment_methods/"+pm.str("id")+"/confirm", g.key, "", map[string]string{"code": g.smsCode(number)}); r.str("status") != "active" {
			t.Fatalf("payment method: %d %s", r.Status, r.Raw)
		}
		sub := g.call("POST", "/v1/subscriptions", g.key, newIdem(), map[string]any{
			"payment_method": pm.str("id"), "amount": 9900, "currency": "KRW", "interval": "month", "description": "webtoon pass", "category": "content"})
		if sub.Status != http.StatusCreated || sub.str("status") != "requires_confirmation" {
			t.Fatalf("create subscription: %d %s", sub.Status, sub.Raw)
		}
		id := sub.str("id")
		// Without its own code nothing is charged, whatever the clock does.
		g.clock.Advance(time.Minute)
		if r := g.call("POST", "/v1/subscriptions/"+id+"/confirm", g.key, "", map[string]string{"code": "12"}); r.Status != http.StatusBadRequest {
			t.Fatalf("a malformed code: %d %s", r.Status, r.Raw)
		}
		if n := len(g.subscriptionCharges(id)); n != 0 {
			t.Fatalf("%d charges before the consent", n)
		}
		active := g.call("POST", "/v1/subscriptions/"+id+"/confirm", g.key, "", map[string]string{"code": g.smsCode(number)})
		if active.Status != http.StatusOK || active.str("status") != "active" {
			t.Fatalf("confirm: %d %s", active.Status, active.Raw)
		}
		paidPeriods := func(n int) func() (bool, string) {
			return func() (bool, string) {
				var ok int
				for _, ch := range g.subscriptionCharges(id) {
					if ch["status"] == "succeeded" {
						ok++
					}
				}
				return ok == n, fmt.Sprintf("%d of %d periods paid", ok, n)
			}
		}
		eventually(t, 20*time.Second, paidPeriods(1))
		eventually(t, 10*time.Second, func() (bool, string) {
			r := g.call("GET", "/v1/subscriptions/"+id, g.key, "", nil)
			return r.str("latest_charge") != "", "the subscription has not seen its first charge: " + string(r.Raw)
		})
		cur := g.call("GET", "/v1/subscriptions/"+id, g.key, "", nil)
		next, err := time.Parse(time.RFC3339, cur.str("next_charge_at"))
		if err != nil {
			t.Fatalf("next_charge_at: %s", cur.Raw)
		}
		if d := next.Sub(g.clock.Now()); d < 27*24*time.Hour || d > 32*24*time.Hour {
			t.Fatalf("the next charge is due in %s, want a month", d)
		}
		// A month later, on the test clock.
		g.clock.Advance(next.Sub(g.clock.Now()) + time.Second)
		eventually(t, 20*time.Second, paidPeriods(2))
		chs := g.subscriptionCharges(id)
		if chs[0]["amount"] != float64(9900) || chs[0]["payment_method"] != pm.str("id") || !strings.HasPrefix(chs[0]["msisdn_masked"].(string), "+82 10-****") {
			t.Fatalf("the renewal: %v", chs[0])
		}
		eventually(t, 10*time.Second, func() (bool, string) {
			r := g.call("GET", "/v1/subscriptions/"+id, g.key, "", nil)
			return r.str("current_period_start") == next.UTC().Format(time.RFC3339), "current period: " + string(r.Raw)
		})
		list := g.call("GET", "/v1/subscriptions?status=active", g.key, "", nil)
		if data, _ := list.Body["data"].([]any); len(data) != 1 {
			t.Fatalf("list: %s", list.Raw)
		}
		// Another merchant does not see it; its merchant cancels it.
		if r := g.call("GET", "/v1/subscriptions/"+id, g.other, "", nil); r.Status != http.StatusNotFound {
			t.Fatalf("another merchant: %d", r.Status)
		}
		canceled := g.call("POST", "/v1/subscriptions/"+id+"/cancel", g.key, "", nil)
		if canceled.str("status") != "canceled" || canceled.str("cancellation_reason") != "requested_by_merchant" || canceled.Body["next_charge_at"] != nil {
			t.Fatalf("cancel: %d %s", canceled.Status, canceled.Raw)
		}
		if r := g.call("POST", "/v1/subscriptions/"+id+"/confirm", g.key, "", map[string]string{"code": "123456"}); r.Status != http.StatusConflict || r.str("code") != "subscription_state_invalid" {
			t.Fatalf("confirm a canceled subscription: %d %s", r.Status, r.Raw)
		}
		g.assertLedgerBalances()
	})
}

// TestAScheduledChargeRunsOnTheTestClock: scheduled over HTTP, it waits
// as scheduled and runs when the clock reaches it.
func TestAScheduledChargeRunsOnTheTestClock(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		const number = "+821031310202"
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": number, "carrier": "skt"})
		g.call("POST", "/v1/payment_methods/"+pm.str("id")+"/confirm", g.key, "", map[string]string{"code": g.smsCode(number)})
		at := g.clock.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		ch := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{
			"amount": 3000, "currency": "KRW", "payment_method": pm.str("id"), "description": "weekly bundle", "scheduled_for": at.Format(time.RFC3339)})
		if ch.Status != http.StatusCreated || ch.str("status") != "scheduled" || ch.str("scheduled_for") != at.Format(time.RFC3339) {
			t.Fatalf("schedule: %d %s", ch.Status, ch.Raw)
		}
		if r := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{
			"amount": 3000, "currency": "KRW", "payment_method": pm.str("id"), "scheduled_for": g.clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}); r.Status != http.StatusBadRequest || r.str("param") != "scheduled_for" {
			t.Fatalf("scheduled in the past: %d %s", r.Status, r.Raw)
		}
		g.clock.Advance(2*time.Hour + time.Second)
		eventually(t, 20*time.Second, func() (bool, string) {
			r := g.call("GET", "/v1/charges/"+ch.str("id"), g.key, "", nil)
			return r.str("status") == "succeeded", "the scheduled charge is " + r.str("status")
		})
		g.assertLedgerBalances()
	})
}
