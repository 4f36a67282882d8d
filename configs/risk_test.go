package configs

import (
	"strings"
	"testing"
)

// The shipped risk rules are valid and on; a bad one is refused with an
// error that names its key, and a rule switched off is not looked at.
func TestRiskConfigNamesTheBadKey(t *testing.T) {
	c, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("shipped defaults: %v", err)
	}
	if r := c.Risk; !r.Velocity.Enabled || !r.FirstCharge.Enabled || !r.CashOut.Enabled {
		t.Fatalf("shipped risk rules are not all on: %+v", r)
	}
	for key, edit := range map[string]func(*RiskConfig){
		"risk.velocity.window":           func(r *RiskConfig) { r.Velocity.Window = 0 },
		"risk.velocity.max_count":        func(r *RiskConfig) { r.Velocity.MaxCount = -1 },
		"risk.velocity:":                 func(r *RiskConfig) { r.Velocity.MaxCount, r.Velocity.MaxAmount = 0, nil },
		"risk.velocity.max_amount":       func(r *RiskConfig) { r.Velocity.MaxAmount = map[string]int64{"krw": 1} },
		"risk.velocity.max_amount.KRW":   func(r *RiskConfig) { r.Velocity.MaxAmount = map[string]int64{"KRW": 0} },
		"risk.first_charge.max_amount":   func(r *RiskConfig) { r.FirstCharge.MaxAmount = nil },
		"risk.cash_out.categories":       func(r *RiskConfig) { r.CashOut.Categories = nil },
		"risk.cash_out.categories[1]":    func(r *RiskConfig) { r.CashOut.Categories = []string{"voucher", " "} },
		"risk.cash_out.min_amount":       func(r *RiskConfig) { r.CashOut.MinAmount = map[string]int64{} },
		"risk.cash_out.within":           func(r *RiskConfig) { r.CashOut.Within = 0 },
		"risk.cash_out.near_cap_percent": func(r *RiskConfig) { r.CashOut.NearCapPercent = 120 },
		"risk.cash_out.after_reset":      func(r *RiskConfig) { r.CashOut.AfterReset = -1 },
		"risk.cash_out: needs near_cap":  func(r *RiskConfig) { r.CashOut.NearCapPercent, r.CashOut.AfterReset = 0, 0 },
	} {
		bad := c
		edit(&bad.Risk)
		err := bad.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), strings.TrimSuffix(strings.Split(key, " ")[0], ":")) {
			t.Errorf("%s: got %v", key, err)
		}
	}
	off := c
	off.Risk = off.Risk.Off()
	off.Risk.Velocity.Window = 0
	if err := off.Validate(); err != nil {
		t.Errorf("a rule switched off is checked: %v", err)
	}
}
