package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/openapi"
)

// shippedRisk turns the risk rules back on as configs/default.yaml ships
// them (the harness switches them off for every other test).
func shippedRisk(t *testing.T) func(*configs.Config) {
	return func(c *configs.Config) {
		def, err := configs.Load("", func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		c.Risk = def.Risk
	}
}

// A first charge too large for a number never seen is declined before any
// code is sent: 422 risk_declined naming the rule and the charge, the same
// answer on a retry, the charge recorded failed with its rule. Admin keys
// (only they) list it for review and clear the number, after which the
// subscriber pays; the review then shows the clearance.
func TestRiskDeclineIsReviewedAndClearedByAnAdmin(t *testing.T) {
	eachStoreWith(t, shippedRisk(t), func(t *testing.T, g *gw) {
		doc := oaFetch(t, g)
		const phone = "+821077771001"
		body := krw(phone, 70_000, "kt")
		idem := newIdem()
		r := g.call("POST", "/v1/charges", g.key, idem, body)
		if r.Status != http.StatusUnprocessableEntity || r.str("code") != "risk_declined" || r.str("risk_rule") != "first_charge" {
			t.Fatalf("first charge of ₩70,000: %d %s", r.Status, r.Raw)
		}
		id := r.str("charge")
		if !strings.HasPrefix(id, "ch_") || !strings.Contains(r.str("detail"), id) || !strings.Contains(r.str("detail"), "first_charge") {
			t.Errorf("the problem does not name the charge and the rule: %s", r.Raw)
		}
		oaConform(t, doc, "POST", "/v1/charges", r)
		again := g.call("POST", "/v1/charges", g.key, idem, body)
		if again.Status != r.Status || !bytes.Equal(again.Raw, r.Raw) {
			t.Errorf("retry with the same Idempotency-Key: %d %s, first %d %s", again.Status, again.Raw, r.Status, r.Raw)
		}
		texts := g.call("GET", "/v1/test_helpers/sms?msisdn="+url.QueryEscape(phone), g.key, "", nil)
		if data, _ := texts.Body["data"].([]any); texts.Status != 200 || len(data) != 0 {
			t.Errorf("texts after a declined charge: %d %s", texts.Status, texts.Raw)
		}
		ch := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
		if ch.str("status") != "failed" || ch.str("failure_code") != "risk_declined" || ch.str("risk_rule") != "first_charge" {
			t.Errorf("declined charge: %s", ch.Raw)
		}
		oaConform(t, doc, "GET", "/v1/charges/{id}", ch)

		finance := g.roleKey(auth.RoleFinance)
		for _, key := range []string{g.key, finance} {
			for _, c := range []resp{
				g.call("GET", "/v1/risk/reviews", key, "", nil),
				g.call("POST", "/v1/risk/clearances", key, "", map[string]string{"msisdn": phone}),
			} {
				if c.Status != http.StatusForbidden {
					t.Errorf("a non-admin key on the risk endpoints: %d %s", c.Status, c.Raw)
				}
			}
		}
		reviews := g.call("GET", "/v1/risk/reviews", g.admin, "", nil)
		oaConform(t, doc, "GET", "/v1/risk/reviews", reviews)
		data, _ := reviews.Body["data"].([]any)
		if reviews.Status != 200 || len(data) != 1 {
			t.Fatalf("reviews: %d %s", reviews.Status, reviews.Raw)
		}
		rv := data[0].(map[string]any)
		if rv["id"] != id || rv["risk_rule"] != "first_charge" || rv["msisdn_masked"] != "+82 10-****-1001" || rv["risk_cleared_at"] != nil || rv["merchant"] == "" {
			t.Errorf("review: %v", rv)
		}
		if bytes.Contains(reviews.Raw, []byte("77771001")) {
			t.Errorf("the review shows the number: %s", reviews.Raw)
		}
		for _, bad := range []string{"?risk_rule=nope", "?limit=0", "?starting_after=ch_nope", "?msisdn=" + url.QueryEscape(phone)} {
			r := g.call("GET", "/v1/risk/reviews"+bad, g.admin, "", nil)
			if r.Status != http.StatusBadRequest {
				t.Errorf("reviews%s: %d %s", bad, r.Status, r.Raw)
			}
			oaConform(t, doc, "GET", "/v1/risk/reviews", r)
		}
		for _, bad := range []any{map[string]string{}, map[string]string{"msisdn": "12"}, map[string]string{"msisdn": phone, "colour": "red"}} {
			r := g.call("POST", "/v1/risk/clearances", g.admin, "", bad)
			if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
				t.Errorf("clearance %v: %d %s", bad, r.Status, r.Raw)
			}
			oaConform(t, doc, "POST", "/v1/risk/clearances", r)
		}

		cl := g.call("POST", "/v1/risk/clearances", g.admin, "", map[string]string{"msisdn": "010-7777-1001", "country": "KR"})
		if cl.Status != http.StatusCreated || cl.str("msisdn_masked") != "+82 10-****-1001" || bytes.Contains(cl.Raw, []byte("77771001")) {
			t.Fatalf("clearance: %d %s", cl.Status, cl.Raw)
		}
		oaConform(t, doc, "POST", "/v1/risk/clearances", cl)
		if ok := g.paid(g.key, phone, 70_000, "kt"); ok.str("status") != "succeeded" {
			t.Fatalf("the cleared subscriber's charge: %d %s", ok.Status, ok.Raw)
		}
		reviews = g.call("GET", "/v1/risk/reviews?risk_rule=first_charge&limit=1", g.admin, "", nil)
		data, _ = reviews.Body["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["risk_cleared_at"] != cl.str("cleared_at") {
			t.Errorf("review after the clearance: %s (clearance %s)", reviews.Raw, cl.Raw)
		}
		oaConform(t, doc, "GET", "/v1/risk/reviews", reviews)
	})
}

// Velocity counts a number's charges across merchants over HTTP: with the
// shipped ten in ten minutes, the eleventh is declined for Shop B while
// another number still pays; the clock moving past the window lets the
// subscriber through again.
func TestRiskVelocityAcrossMerchants(t *testing.T) {
	eachStoreWith(t, shippedRisk(t), func(t *testing.T, g *gw) {
		const phone = "+821077771002"
		for i := range 10 {
			g.charge([]string{g.key, g.other}[i%2], krw(phone, 1000, "kt"))
		}
		r := g.call("POST", "/v1/charges", g.other, newIdem(), krw(phone, 1000, "kt"))
		if r.Status != http.StatusUnprocessableEntity || r.str("code") != "risk_declined" || r.str("risk_rule") != "velocity" {
			t.Fatalf("11th charge in 10 minutes: %d %s", r.Status, r.Raw)
		}
		if ok := g.paid(g.key, "+821077771003", 5000, "kt"); ok.str("status") != "succeeded" {
			t.Fatalf("another number: %s", ok.Raw)
		}
		g.clock.Advance(11 * time.Minute)
		g.charge(g.other, krw(phone, 1000, "kt"))
	})
}

// The cash-out pattern end to end with the shipped caps (₩500,000 a month
// on kt): a subscriber holding ₩300,000 buys a ₩50,000 voucher, then a
// ₩50,000 gift card that would take the month to 80 % of the cap: declined
// cash_out. The same two purchases on a number far from its cap, and a
// small voucher, go through. (after_reset is off here: the gateway's clock
// is the real one, and on the 1st of a month every pair would be declined.)
func TestRiskCashOutNearTheShippedCap(t *testing.T) {
	configure := func(c *configs.Config) {
		shippedRisk(t)(c)
		c.Risk.Velocity.Enabled, c.Risk.FirstCharge.Enabled, c.Risk.CashOut.AfterReset = false, false, 0
	}
	eachStoreWith(t, configure, func(t *testing.T, g *gw) {
		buy := func(phone string, amount int64, category string) resp {
			b := krw(phone, amount, "kt")
			b["category"] = category
			return g.call("POST", "/v1/charges", g.key, newIdem(), b)
		}
		const near, far = "+821077771004", "+821077771005"
		for _, r := range []resp{buy(near, 300_000, "music"), buy(near, 50_000, "voucher"), buy(far, 50_000, "voucher"), buy(far, 50_000, "gift_card")} {
			if r.Status != http.StatusCreated {
				t.Fatalf("purchase: %d %s", r.Status, r.Raw)
			}
		}
		r := buy(near, 50_000, "gift_card")
		if r.Status != http.StatusUnprocessableEntity || r.str("code") != "risk_declined" || r.str("risk_rule") != "cash_out" {
			t.Fatalf("a second ₩50,000 gift card at 80%% of the cap: %d %s", r.Status, r.Raw)
		}
		if small := buy(near, 10_000, "voucher"); small.Status != http.StatusCreated {
			t.Fatalf("a small voucher: %d %s", small.Status, small.Raw)
		}
	})
}

// A risk review is a charge with two more fields: the document keeps the
// RiskReview schema in step with Charge's, whatever a charge gains later.
func TestOpenAPIRiskReviewFollowsCharge(t *testing.T) {
	t.Parallel()
	var doc oaDoc
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	ch, rv := doc.schema("Charge"), doc.schema("RiskReview")
	for k := range oaObj(ch["properties"]) {
		if _, ok := oaObj(rv["properties"])[k]; !ok {
			t.Errorf("RiskReview lacks the charge's %q", k)
		}
	}
	required := oaStrings(rv["required"])
	for _, k := range append(oaStrings(ch["required"]), "merchant", "risk_cleared_at") {
		if !slices.Contains(required, k) {
			t.Errorf("RiskReview does not require %q", k)
		}
	}
}
