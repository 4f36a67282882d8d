package main

import (
	"strings"
	"testing"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
)

func TestBadInputGetsAClearProblemAndWritesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		big := `{"amount": 1000, "currency": "KRW", "msisdn": "+821012345678", "description": "` + strings.Repeat("x", 2<<20) + `"}`
		cases := []struct {
			name   string
			body   string
			status int
			code   string
			param  string
		}{
			{"not json", `{"amount": `, 400, "invalid_json", ""},
			{"array", `[1,2]`, 400, "invalid_json", ""},
			{"two objects", `{"amount":1} {"amount":2}`, 400, "invalid_json", ""},
			{"amount as string", `{"amount": "5000", "currency": "KRW", "msisdn": "+821012345678"}`, 400, "invalid_parameter", "amount"},
			{"amount as float", `{"amount": 19.99, "currency": "KRW", "msisdn": "+821012345678"}`, 400, "invalid_parameter", "amount"},
			{"amount missing", `{"currency": "KRW", "msisdn": "+821012345678"}`, 400, "invalid_parameter", "amount"},
			{"amount zero", `{"amount": 0, "currency": "KRW", "msisdn": "+821012345678"}`, 400, "invalid_parameter", "amount"},
			{"amount negative", `{"amount": -5, "currency": "KRW", "msisdn": "+821012345678"}`, 400, "invalid_parameter", "amount"},
			{"amount overflow", `{"amount": 99999999999999999999, "currency": "KRW", "msisdn": "+821012345678"}`, 400, "invalid_parameter", "amount"},
			{"unknown field", `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "colour": "red"}`, 400, "unknown_parameter", "colour"},
			{"metadata not strings", `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "metadata": {"a": 1}}`, 400, "invalid_parameter", "metadata"},
			{"oversized body", big, 413, "body_too_large", ""},
			{"currency missing", `{"amount": 5000, "msisdn": "+821012345678", "carrier": "skt"}`, 400, "invalid_parameter", "currency"},
			{"currency unknown", `{"amount": 5000, "currency": "XXX", "msisdn": "+821012345678", "carrier": "skt"}`, 422, "unsupported_currency", "currency"},
			{"currency lower case", `{"amount": 5000, "currency": "krw", "msisdn": "+821012345678", "carrier": "skt"}`, 422, "unsupported_currency", "currency"},
			{"currency not billed by carrier", `{"amount": 500, "currency": "USD", "msisdn": "+821012345678", "carrier": "skt"}`, 422, "unsupported_currency", "currency"},
			{"msisdn missing", `{"amount": 5000, "currency": "KRW", "carrier": "skt"}`, 400, "invalid_parameter", "msisdn"},
			{"msisdn letters", `{"amount": 5000, "currency": "KRW", "msisdn": "call me", "carrier": "skt"}`, 422, "invalid_msisdn", "msisdn"},
			{"msisdn too short", `{"amount": 5000, "currency": "KRW", "msisdn": "+8210123", "carrier": "skt"}`, 422, "invalid_msisdn", "msisdn"},
			{"msisdn landline", `{"amount": 5000, "currency": "KRW", "msisdn": "02-312-3456", "country": "KR", "carrier": "skt"}`, 422, "invalid_msisdn", "msisdn"},
			{"national without country", `{"amount": 5000, "currency": "KRW", "msisdn": "010-1234-5678", "carrier": "skt"}`, 422, "invalid_msisdn", "msisdn"},
			{"unknown carrier", `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "vodafone"}`, 422, "unknown_carrier", "carrier"},
			{"carrier ambiguous", `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678"}`, 422, "carrier_required", "carrier"},
			{"no carrier for country", `{"amount": 500, "currency": "KRW", "msisdn": "+12015550123"}`, 422, "unknown_carrier", "carrier"},
			{"carrier of another country", `{"amount": 5000, "currency": "KRW", "msisdn": "+12015550123", "carrier": "skt"}`, 422, "unknown_carrier", "carrier"},
			{"body null", `null`, 400, "invalid_json", ""},
			{"below carrier minimum", `{"amount": 99, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt"}`, 422, "amount_too_small", "amount"},
			{"above carrier maximum", `{"amount": 500001, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt"}`, 422, "amount_too_large", "amount"},
			{"msisdn and payment method", `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "payment_method": "pm_x"}`, 400, "invalid_parameter", "payment_method"},
			{"unknown payment method", `{"amount": 5000, "currency": "KRW", "payment_method": "pm_nope"}`, 422, "payment_method_invalid", "payment_method"},
			{"description too long", `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt", "description": "` + strings.Repeat("d", 256) + `"}`, 400, "invalid_parameter", "description"},
		}
		for _, c := range cases {
			r := g.call("POST", "/v1/charges", g.key, newIdem(), c.body)
			if r.Status != c.status || r.str("code") != c.code || r.str("param") != c.param {
				t.Errorf("%s: got %d %s", c.name, r.Status, r.Raw)
				continue
			}
			if r.Header.Get("Content-Type") != "application/problem+json" || !strings.HasPrefix(r.str("type"), problem.TypeBase) || r.str("detail") == "" {
				t.Errorf("%s: not a problem: %v %s", c.name, r.Header, r.Raw)
			}
			if strings.Contains(string(r.Raw), "12345678") || strings.Contains(string(r.Raw), "SQL") {
				t.Errorf("%s: answer leaks input or internals: %s", c.name, r.Raw)
			}
		}
		var n int64
		g.store.DB.Raw("SELECT COUNT(*) FROM charges").Scan(&n)
		if n != 0 {
			t.Fatalf("bad requests wrote %d charges", n)
		}
		if r := g.call("POST", "/v1/charges", g.key, newIdem(), `<xml/>`); r.Status != 400 {
			t.Errorf("xml body: %d %s", r.Status, r.Raw)
		}
		for _, c := range []struct{ body, code string }{{`{}`, "invalid_parameter"}, {`{"code": "12ab56"}`, "invalid_parameter"}, {`{"code": 123456}`, "invalid_parameter"}} {
			ch := g.charge(g.key, krw("+821088880000", 1000, "skt"))
			if r := g.call("POST", "/v1/charges/"+ch.str("id")+"/confirm", g.key, "", c.body); r.Status != 400 || r.str("code") != c.code || r.str("param") != "code" {
				t.Errorf("confirm %s: %d %s", c.body, r.Status, r.Raw)
			}
		}
		if r := g.call("POST", "/v1/payment_methods", g.key, newIdem(), `{"msisdn": "+82", "carrier": "skt"}`); r.Status != 422 || r.str("code") != "invalid_msisdn" {
			t.Errorf("pm bad msisdn: %d %s", r.Status, r.Raw)
		}
	})
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		body := krw("+821012345678", 1000, "skt")
		for _, key := range []string{"", "tg_test_nope", "Basic abc"} {
			if r := g.call("POST", "/v1/charges", key, newIdem(), body); r.Status != 401 || r.str("code") != "unauthorized" {
				t.Errorf("key %q: %d %s", key, r.Status, r.Raw)
			}
		}
		fin := g.roleKey(auth.RoleFinance)
		if r := g.call("POST", "/v1/charges", fin, newIdem(), body); r.Status != 403 {
			t.Errorf("finance key creating a charge: %d %s", r.Status, r.Raw)
		}
		ch := g.charge(g.key, body)
		if r := g.call("GET", "/v1/charges/"+ch.str("id"), fin, "", nil); r.Status != 200 {
			t.Errorf("finance key reading a charge: %d %s", r.Status, r.Raw)
		}
		adm := g.roleKey(auth.RoleAdmin)
		if r := g.call("GET", "/v1/charges", adm, "", nil); r.Status != 403 {
			t.Errorf("admin key listing charges: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/nothing-here", g.key, "", nil); r.Status != 404 || r.str("code") != "not_found" {
			t.Errorf("unknown route: %d %s", r.Status, r.Raw)
		}
	})
}
