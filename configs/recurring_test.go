package configs

import (
	"strings"
	"testing"
)

func TestTheShippedCarriersTakeRecurringChargesInTheirWindow(t *testing.T) {
	c := defaults(t)
	for _, cc := range c.Carriers {
		if cc.Recurring.WindowDays != 5 || cc.Recurring.TimeZone != "Asia/Seoul" {
			t.Fatalf("carrier %s: recurring %+v, want 5 days in Asia/Seoul", cc.Name, cc.Recurring)
		}
	}
}

func TestBadRecurringWindowsNameTheirKey(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		key  string
	}{
		{func(c *Config) { c.Carriers[0].Recurring.WindowDays = -1 }, "carriers[0].recurring.window_days"},
		{func(c *Config) { c.Carriers[1].Recurring.WindowDays = 15 }, "carriers[1].recurring.window_days"},
		{func(c *Config) { c.Carriers[2].Recurring.TimeZone = "Mars/Olympus" }, "carriers[2].recurring.time_zone"},
		{func(c *Config) { c.Carriers[0].Recurring.TimeZone = "" }, "carriers[0].recurring.time_zone"},
	} {
		c := defaults(t)
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("got %v, want an error naming %s", err, tc.key)
		}
	}
	// No window at all is a carrier without recurring charges, not an error.
	c := defaults(t)
	c.Carriers[0].Recurring = RecurringConfig{}
	c.Carriers[1].Recurring = RecurringConfig{WindowDays: 14, TimeZone: "UTC"}
	if err := c.Validate(); err != nil {
		t.Fatalf("good recurring windows refused: %v", err)
	}
}
