package main

import (
	"testing"
)

// Every endpoint that names an object answers another merchant's object with
// 404, never 403, and changes nothing.
func TestAnotherMerchantsObjectsAreNotFound(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		waiting := g.charge(g.key, krw("+821099990000", 1000, "skt")).str("id")
		paid := g.paid(g.key, "+821099990001", 5000, "skt").str("id")
		refund := g.call("POST", "/v1/charges/"+paid+"/refunds", g.key, newIdem(), map[string]any{"amount": 1000}).str("id")
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": "+821099990002", "carrier": "skt"}).str("id")
		code := g.smsCode("+821099990000")

		cases := []struct {
			method, path string
			body         any
			idem         bool
		}{
			{"GET", "/v1/charges/" + waiting, nil, false},
			{"POST", "/v1/charges/" + waiting + "/confirm", map[string]string{"code": code}, false},
			{"POST", "/v1/charges/" + waiting + "/cancel", nil, false},
			{"POST", "/v1/charges/" + paid + "/refunds", map[string]any{"amount": 100}, true},
			{"GET", "/v1/charges/" + paid + "/refunds", nil, false},
			{"GET", "/v1/charges/" + paid + "/refunds/" + refund, nil, false},
			{"GET", "/v1/payment_methods/" + pm, nil, false},
			{"POST", "/v1/payment_methods/" + pm + "/confirm", map[string]string{"code": "123456"}, false},
			{"DELETE", "/v1/payment_methods/" + pm, nil, false},
		}
		for _, c := range cases {
			idem := ""
			if c.idem {
				idem = newIdem()
			}
			r := g.call(c.method, c.path, g.other, idem, c.body)
			if r.Status != 404 || r.str("code") != "not_found" {
				t.Errorf("%s %s by another merchant: %d %s", c.method, c.path, r.Status, r.Raw)
			}
		}
		if r := g.call("POST", "/v1/charges", g.other, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm}); r.Status != 422 || r.str("code") != "payment_method_invalid" {
			t.Errorf("charging another merchant's payment method: %d %s", r.Status, r.Raw)
		}
		list := g.call("GET", "/v1/charges", g.other, "", nil)
		if n := len(list.Body["data"].([]any)); n != 0 {
			t.Errorf("another merchant lists %d of our charges", n)
		}
		if r := g.call("GET", "/v1/charges?starting_after="+paid, g.other, "", nil); r.Status != 400 {
			t.Errorf("cursor on another merchant's charge: %d %s", r.Status, r.Raw)
		}
		// Nothing moved.
		if r := g.call("GET", "/v1/charges/"+waiting, g.key, "", nil); r.str("status") != "requires_confirmation" {
			t.Errorf("waiting charge moved: %s", r.Raw)
		}
		if r := g.call("GET", "/v1/charges/"+paid, g.key, "", nil); r.num("refunded_amount") != 1000 {
			t.Errorf("paid charge changed: %s", r.Raw)
		}
		if r := g.call("GET", "/v1/payment_methods/"+pm, g.key, "", nil); r.str("status") != "requires_confirmation" {
			t.Errorf("payment method changed: %s", r.Raw)
		}
	})
}
