package configs

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// SpendingCapsConfig are the monthly caps per subscriber besides each
// carrier's own ceiling (carriers[].monthly_limit): what one subscriber
// may spend in a calendar month (the carrier's zone) with one merchant, and
// in one category of charge. Amounts are minor units per currency; a
// currency not named has no such cap.
type SpendingCapsConfig struct {
	// PerMerchant: merchant id, or "*" for every merchant without its own
	// entry → currency → cap.
	PerMerchant map[string]map[string]int64 `yaml:"per_merchant"`
	// PerCategory: a charge's category as merchants send it → currency → cap.
	PerCategory map[string]map[string]int64 `yaml:"per_category"`
}

// CarrierZone is the zone of a carrier's calendar month for caps: its
// time_zone, else settlement.time_zone.
func (c Config) CarrierZone(cc CarrierConfig) (*time.Location, error) {
	name := cc.TimeZone
	if name == "" {
		name = c.Settlement.TimeZone
	}
	return time.LoadLocation(name)
}

// validateCaps checks the caps of spending_caps and of every carrier.
func (c Config) validateCaps() error {
	for i, cc := range c.Carriers {
		key := fmt.Sprintf("carriers[%d]", i)
		if cc.TimeZone != "" {
			if _, err := time.LoadLocation(cc.TimeZone); err != nil {
				return fmt.Errorf("%s.time_zone: unknown time zone %q", key, cc.TimeZone)
			}
		}
		for _, cur := range capKeys(cc.MonthlyLimit) {
			if !slices.Contains(cc.Currencies, cur) {
				return fmt.Errorf("%s.monthly_limit.%s: the carrier does not bill in %s (currencies: %v)", key, cur, cur, cc.Currencies)
			}
			if cc.MonthlyLimit[cur] < 1 {
				return fmt.Errorf("%s.monthly_limit.%s: must be a positive amount of minor units", key, cur)
			}
		}
	}
	for _, group := range []struct {
		key string
		m   map[string]map[string]int64
	}{{"spending_caps.per_merchant", c.SpendingCaps.PerMerchant}, {"spending_caps.per_category", c.SpendingCaps.PerCategory}} {
		for _, name := range capKeys(group.m) {
			if strings.TrimSpace(name) == "" {
				return fmt.Errorf("%s: an empty name", group.key)
			}
			for _, cur := range capKeys(group.m[name]) {
				if len(cur) != 3 || strings.ToUpper(cur) != cur {
					return fmt.Errorf("%s.%s.%s: not an ISO 4217 code", group.key, name, cur)
				}
				if group.m[name][cur] < 1 {
					return fmt.Errorf("%s.%s.%s: must be a positive amount of minor units", group.key, name, cur)
				}
			}
		}
	}
	return nil
}

func capKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
