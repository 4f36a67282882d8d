package configs

import (
	"strings"
	"testing"
)

func defaults(t *testing.T) Config {
	t.Helper()
	c, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTheShippedCapsAreValid(t *testing.T) {
	c := defaults(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, cc := range c.Carriers {
		if cc.MonthlyLimit["KRW"] != 500000 || !cc.Receipts {
			t.Fatalf("carrier %s: monthly_limit %v, receipts %v; want ₩500,000 and on", cc.Name, cc.MonthlyLimit, cc.Receipts)
		}
		loc, err := c.CarrierZone(cc)
		if err != nil || loc.String() != "Asia/Seoul" {
			t.Fatalf("carrier %s zone %v %v", cc.Name, loc, err)
		}
	}
}

func TestBadCapsNameTheirKey(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		key  string
	}{
		{func(c *Config) { c.Carriers[0].MonthlyLimit = map[string]int64{"USD": 100} }, "carriers[0].monthly_limit.USD"},
		{func(c *Config) { c.Carriers[1].MonthlyLimit = map[string]int64{"KRW": 0} }, "carriers[1].monthly_limit.KRW"},
		{func(c *Config) { c.Carriers[2].TimeZone = "Mars/Olympus" }, "carriers[2].time_zone"},
		{func(c *Config) { c.SpendingCaps.PerMerchant = map[string]map[string]int64{"*": {"KRW": -1}} }, "spending_caps.per_merchant.*.KRW"},
		{func(c *Config) { c.SpendingCaps.PerCategory = map[string]map[string]int64{"game": {"won": 100}} }, "spending_caps.per_category.game.won"},
		{func(c *Config) { c.SpendingCaps.PerCategory = map[string]map[string]int64{" ": {"KRW": 100}} }, "spending_caps.per_category"},
	} {
		c := defaults(t)
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("got %v, want an error naming %s", err, tc.key)
		}
	}
	c := defaults(t)
	c.SpendingCaps.PerMerchant = map[string]map[string]int64{"*": {"KRW": 300000}, "mer_x": {"KRW": 100000}}
	c.SpendingCaps.PerCategory = map[string]map[string]int64{"game": {"KRW": 200000}}
	if err := c.Validate(); err != nil {
		t.Fatalf("good caps refused: %v", err)
	}
}
