package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"tollgate/internal/auth"
)

// TestCashbackOverHTTP: a merchant's program earns on one charge, the next
// charge to the same number is billed less (the simulated carrier's own
// books show the reduced amount), a refund pays back at most the billed
// amount and returns cashback as balance, the day's statement shows the
// cashback funded, and a balance past its days no longer applies, with the
// ledger balanced after each step.
func TestCashbackOverHTTP(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		const me = "+821077710001"
		for _, bad := range []struct {
			body  string
			param string
		}{
			{`{"rate_bps": 0, "max_per_charge": 500, "currency": "KRW", "expires_after_days": 90}`, "rate_bps"},
			{`{"rate_bps": 10001, "max_per_charge": 500, "currency": "KRW", "expires_after_days": 90}`, "rate_bps"},
			{`{"rate_bps": 200, "currency": "KRW", "expires_after_days": 90}`, "max_per_charge"},
			{`{"rate_bps": 200, "max_per_charge": 500, "min_amount": -1, "currency": "KRW", "expires_after_days": 90}`, "min_amount"},
			{`{"rate_bps": 200, "max_per_charge": 500, "currency": "KRW", "expires_after_days": 0}`, "expires_after_days"},
			{`{"rate_bps": 200, "max_per_charge": 500, "expires_after_days": 90}`, "currency"},
			{`{"rate_bps": 200, "max_per_charge": 500, "currency": "KRW", "expires_after_days": 90, "bonus": 1}`, "bonus"},
		} {
			r := g.call("POST", "/v1/cashback_programs", g.key, "", bad.body)
			if r.Status != http.StatusBadRequest || r.str("param") != bad.param {
				t.Errorf("%s: %d %s, want 400 naming %s", bad.body, r.Status, r.Raw, bad.param)
			}
		}
		if r := g.call("POST", "/v1/cashback_programs", g.key, "", `{"rate_bps": 200, "max_per_charge": 500, "currency": "XXX", "expires_after_days": 90}`); r.Status != 422 || r.str("code") != "unsupported_currency" {
			t.Errorf("unknown currency: %d %s", r.Status, r.Raw)
		}
		prog := g.call("POST", "/v1/cashback_programs", g.key, newIdem(), map[string]any{"rate_bps": 200, "max_per_charge": 500, "min_amount": 1000, "currency": "KRW", "expires_after_days": 90})
		if prog.Status != http.StatusCreated || prog.str("status") != "active" {
			t.Fatalf("create program: %d %s", prog.Status, prog.Raw)
		}
		if r := g.call("POST", "/v1/cashback_programs", g.key, "", map[string]any{"rate_bps": 300, "max_per_charge": 500, "currency": "KRW", "expires_after_days": 30}); r.Status != http.StatusConflict || r.str("code") != "cashback_program_exists" {
			t.Errorf("a second active program: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/cashback_programs/"+prog.str("id"), g.other, "", nil); r.Status != http.StatusNotFound {
			t.Errorf("another merchant read the program: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/cashback_programs", g.key, "", nil); r.Status != 200 || len(r.Body["data"].([]any)) != 1 {
			t.Errorf("list: %d %s", r.Status, r.Raw)
		}
		day := g.settleDay()

		// Earned: 2 % of ₩10,000.
		first := g.cashbackPaid(me, 10000)
		if first.str("status") != "succeeded" || first.num("cashback_earned") != 200 || first.num("billed_amount") != 10000 {
			t.Fatalf("first charge: %s", first.Raw)
		}
		g.assertLedgerBalances()

		// Applied: the next charge is billed ₩4,800, and the carrier was asked for that.
		ch := g.cashbackCharge(me, 5000)
		if ch.num("cashback_applied") != 200 || ch.num("billed_amount") != 4800 {
			t.Fatalf("second charge: %s", ch.Raw)
		}
		second := g.cashbackConfirm(ch.str("id"), me)
		if second.str("status") != "succeeded" || second.num("billed_amount") != 4800 || second.num("cashback_earned") != 96 {
			t.Fatalf("second charge confirmed: %s", second.Raw)
		}
		found := false
		for _, row := range g.simLedger("skt") {
			if row["client_reference"] == ch.str("id") {
				found = true
				if row["amount"].(float64) != 4800 {
					t.Errorf("the carrier billed %v, want 4800", row["amount"])
				}
			}
		}
		if !found {
			t.Fatalf("the carrier has no record of %s", ch.str("id"))
		}
		g.assertLedgerBalances()

		// Refunded: at most the billed amount goes back to the phone bill.
		if r := g.call("POST", "/v1/charges/"+ch.str("id")+"/refunds", g.key, newIdem(), map[string]any{"amount": 4801}); r.Status != 422 || r.str("code") != "refund_exceeds_charge" {
			t.Errorf("a refund over the billed amount: %d %s", r.Status, r.Raw)
		}
		rf := g.call("POST", "/v1/charges/"+ch.str("id")+"/refunds", g.key, newIdem(), map[string]any{"amount": 2400})
		if rf.Status != http.StatusCreated || rf.str("status") != "succeeded" {
			t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
		}
		g.assertLedgerBalances()

		// The day's statement shows the cashback the merchant funded:
		// 200 + 96 earned, 48 taken back; 200 applied, 100 restored.
		fin := g.roleKey(auth.RoleFinance)
		g.overDay()
		run := g.call("POST", "/v1/settlements", fin, "", map[string]any{"carrier": "skt", "business_date": day})
		if run.Status != 201 || run.str("status") != "completed" || run.num("amount_mismatch_count")+run.num("missing_at_carrier_count")+run.num("missing_at_gateway_count") != 0 {
			t.Fatalf("settlement: %d %s", run.Status, run.Raw)
		}
		sts := g.call("GET", "/v1/settlements/"+run.str("id")+"/statements", fin, "", nil)
		data, _ := sts.Body["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("statements: %s", sts.Raw)
		}
		st := data[0].(map[string]any)
		num := func(k string) int64 { return int64(st[k].(float64)) }
		if num("gross") != 14800 || num("refunds") != 2400 || num("cashback_funded") != 248 || num("cashback_applied") != 100 || num("cashback_expired") != 0 ||
			num("net") != 14800-2400-num("carrier_fees")-num("gateway_fees")-248+100 {
			t.Errorf("statement: %s", sts.Raw)
		}

		// Expired: 90 days on, the balance no longer applies.
		g.clock.Advance(90 * 24 * time.Hour)
		late := g.cashbackCharge(me, 3000)
		if late.num("cashback_applied") != 0 || late.num("billed_amount") != 3000 {
			t.Fatalf("a charge after expiry: %s", late.Raw)
		}
		// The periodic expiry job, due too once the clock jumped, may get
		// there first: count what is expired, not who expired it.
		if _, err := g.app.billing.ExpireCashback(context.Background()); err != nil {
			t.Fatal(err)
		}
		var expired int64
		if err := g.store.DB.Raw(`SELECT COUNT(*) FROM cashback_lots WHERE remaining = 0 AND expired > 0`).Scan(&expired).Error; err != nil || expired != 2 {
			t.Fatalf("%d lots expired (%v), want what was left of both", expired, err)
		}
		g.assertLedgerBalances()

		// Ended: nothing more is earned.
		if r := g.call("POST", "/v1/cashback_programs/"+prog.str("id")+"/end", g.key, "", nil); r.Status != 200 || r.str("status") != "ended" {
			t.Fatalf("end: %d %s", r.Status, r.Raw)
		}
		if r := g.call("POST", "/v1/cashback_programs/"+prog.str("id")+"/end", g.key, "", nil); r.Status != http.StatusConflict || r.str("code") != "cashback_program_state_invalid" {
			t.Errorf("end twice: %d %s", r.Status, r.Raw)
		}
		after := g.cashbackPaid(me, 10000)
		if after.str("status") != "succeeded" || after.num("cashback_earned") != 0 {
			t.Fatalf("a charge after the program ended: %s", after.Raw)
		}
	})
}

// cashbackCharge creates a code charge on skt, again while the carrier's
// breaker is open (a loaded machine times the carrier out now and then).
func (g *gw) cashbackCharge(msisdn string, amount int64) resp {
	g.t.Helper()
	var r resp
	idem := newIdem()
	eventually(g.t, time.Minute, func() (bool, string) {
		r = g.call("POST", "/v1/charges", g.key, idem, krw(msisdn, amount, "skt"))
		return r.Status != http.StatusServiceUnavailable, string(r.Raw)
	})
	if r.Status != http.StatusCreated {
		g.t.Fatalf("create charge: %d %s", r.Status, r.Raw)
	}
	return r
}

// cashbackConfirm confirms a code charge, again while the carrier's breaker
// is open, and waits for a charge whose outcome came late to succeed.
func (g *gw) cashbackConfirm(id, msisdn string) resp {
	g.t.Helper()
	var r resp
	eventually(g.t, time.Minute, func() (bool, string) {
		r = g.call("POST", "/v1/charges/"+id+"/confirm", g.key, "", map[string]string{"code": g.smsCode(msisdn)})
		return r.Status != http.StatusServiceUnavailable, string(r.Raw)
	})
	if r.str("status") == "processing" { // the carrier's answer came late: its status job settles it
		eventually(g.t, 90*time.Second, func() (bool, string) {
			r = g.call("GET", "/v1/charges/"+id, g.key, "", nil)
			return r.str("status") != "processing", string(r.Raw)
		})
	}
	return r
}

func (g *gw) cashbackPaid(msisdn string, amount int64) resp {
	g.t.Helper()
	return g.cashbackConfirm(g.cashbackCharge(msisdn, amount).str("id"), msisdn)
}
