package main

import (
	"testing"
	"time"
)

func TestChargeWithSMSCodeEndToEnd(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		ch := g.charge(g.key, map[string]any{"amount": 5000, "currency": "KRW", "msisdn": "010-1234-5678", "country": "KR",
			"carrier": "skt", "merchant_reference": "order-123", "category": "game", "metadata": map[string]string{"sku": "gems500"}})
		if ch.str("status") != "requires_confirmation" || ch.str("msisdn_masked") != "+82 10-****-5678" || ch.num("amount") != 5000 {
			t.Fatalf("created: %s", ch.Raw)
		}
		id := ch.str("id")
		done := g.call("POST", "/v1/charges/"+id+"/confirm", g.key, "", map[string]string{"code": g.smsCode("+821012345678")})
		if done.Status != 200 || done.str("status") != "succeeded" || done.str("carrier_reference") == "" {
			t.Fatalf("confirmed: %d %s", done.Status, done.Raw)
		}
		got := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		if got.str("status") != "succeeded" || got.str("merchant_reference") != "order-123" {
			t.Fatalf("get: %s", got.Raw)
		}
		books := g.simLedger("skt")
		if len(books) != 1 || books[0]["client_reference"] != id || books[0]["amount"].(float64) != 5000 {
			t.Fatalf("carrier books: %v", books)
		}
		g.assertLedgerBalances()
	})
}

func TestDeclinesAreNormalised(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		for _, c := range []struct{ msisdn, code string }{
			{"+821012340002", "insufficient_balance"},
			{"+821012340003", "subscriber_blocked"},
			{"+821012340004", "carrier_limit_exceeded"},
		} {
			r := g.paidOrDeclined(g.key, c.msisdn, 1000, "skt") // 0004: refused at prepare
			if r.Status != 200 || r.str("status") != "failed" || r.str("failure_code") != c.code || r.str("carrier_decline_code") == "" {
				t.Errorf("%s: %d %s", c.code, r.Status, r.Raw)
			}
		}
		if n := len(g.simLedger("skt")); n != 0 {
			t.Fatalf("declined charges were billed: %d", n)
		}
		g.assertLedgerBalances()
	})
}

func TestOneTapPaymentMethod(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": "+821022223333", "carrier": "skt"})
		if pm.Status != 201 || pm.str("status") != "requires_confirmation" || pm.str("msisdn_masked") != "+82 10-****-3333" {
			t.Fatalf("create pm: %d %s", pm.Status, pm.Raw)
		}
		id := pm.str("id")
		early := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": id})
		if early.Status != 422 || early.str("code") != "payment_method_invalid" {
			t.Fatalf("charge before opt-in: %d %s", early.Status, early.Raw)
		}
		act := g.call("POST", "/v1/payment_methods/"+id+"/confirm", g.key, "", map[string]string{"code": g.smsCode("+821022223333")})
		if act.Status != 200 || act.str("status") != "active" {
			t.Fatalf("confirm pm: %d %s", act.Status, act.Raw)
		}
		ch := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": id})
		if ch.Status != 201 || ch.str("status") != "succeeded" || ch.str("payment_method") != id || ch.str("carrier") != "skt" {
			t.Fatalf("one-tap charge: %d %s", ch.Status, ch.Raw)
		}
		if r := g.call("DELETE", "/v1/payment_methods/"+id, g.key, "", nil); r.Status != 200 || r.str("status") != "revoked" {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		after := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": id})
		if after.Status != 422 || after.str("code") != "payment_method_invalid" {
			t.Fatalf("charge after revoke: %d %s", after.Status, after.Raw)
		}
		g.assertLedgerBalances()
	})
}

// A charge nobody confirms still reaches a final status, with its event.
func TestAnUnconfirmedChargeExpiresByItself(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		id := g.charge(g.key, krw("+821011117777", 1000, "skt")).str("id")
		g.clock.Advance(6 * time.Minute)
		got := g.waitStatus(g.key, id, "failed")
		if got.str("failure_code") != "confirmation_expired" {
			t.Fatalf("expired charge: %s", got.Raw)
		}
		ev := g.call("GET", "/v1/events?type=charge.failed&object_id="+id, g.key, "", nil)
		if n := len(ev.Body["data"].([]any)); n != 1 {
			t.Fatalf("charge.failed events: %s", ev.Raw)
		}
	})
}

func TestNULAndBadUTF8AreRefusedNot500(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v1/charges", `{"amount": 1000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt", "description": "a\u0000b"}`},
			{"POST", "/v1/charges", `{"amount": 1000, "currency": "KRW", "payment_method": "pm_\u0000"}`},
			{"GET", "/v1/charges/ch_%00", ""},
			{"GET", "/v1/charges?merchant_reference=%00", ""},
			{"GET", "/v1/charges?merchant_reference=%ff", ""},
			{"POST", "/v1/webhook_endpoints", `{"url": "https://example.com", "enabled_events": ["*"], "description": "\u0000"}`},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			if r := g.call(c.method, c.path, g.key, newIdem(), body); r.Status != 400 {
				t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.Status, r.Raw)
			}
		}
		if r := g.call("POST", "/v1/charges", g.key, "k\xff", krw("+821012345678", 1000, "skt")); r.Status != 400 {
			t.Errorf("bad UTF-8 idempotency key: %d %s", r.Status, r.Raw)
		}
	})
}

func TestAnUnconfirmedOptInExpiresByItself(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": "+821011118888", "carrier": "kt"})
		g.clock.Advance(6 * time.Minute)
		eventually(t, 20*time.Second, func() (bool, string) {
			r := g.call("GET", "/v1/payment_methods/"+pm.str("id"), g.key, "", nil)
			return r.str("status") == "failed" && r.str("failure_code") == "confirmation_expired", "opt-in: " + string(r.Raw)
		})
	})
}
