package configs

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// RiskConfig holds the risk rules every charge passes before any carrier
// call or SMS (billing/risk.go). Each rule can be switched off on its own.
// Amounts are minor units per ISO 4217 currency: {KRW: 200000} is ₩200,000.
type RiskConfig struct {
	Velocity    VelocityConfig    `yaml:"velocity"`
	FirstCharge FirstChargeConfig `yaml:"first_charge"`
	CashOut     CashOutConfig     `yaml:"cash_out"`
}

// VelocityConfig bounds charges per phone number, across merchants, in a
// sliding window.
type VelocityConfig struct {
	Enabled   bool             `yaml:"enabled"`
	Window    time.Duration    `yaml:"window"`
	MaxCount  int              `yaml:"max_count"`  // 0: no count limit
	MaxAmount map[string]int64 `yaml:"max_amount"` // per currency; a currency not named has no amount limit
}

// FirstChargeConfig bounds the first charge of a number never seen paying.
type FirstChargeConfig struct {
	Enabled   bool             `yaml:"enabled"`
	MaxAmount map[string]int64 `yaml:"max_amount"`
}

// CashOutConfig describes the phone-bill cash-out pattern.
type CashOutConfig struct {
	Enabled        bool             `yaml:"enabled"`
	Categories     []string         `yaml:"categories"`       // charge categories that turn into cash easily
	MinAmount      map[string]int64 `yaml:"min_amount"`       // high-value from this amount on, per currency
	Within         time.Duration    `yaml:"within"`           // a second high-value charge this soon after one
	NearCapPercent int              `yaml:"near_cap_percent"` // and the month's spend reaches this % of the cap (0: not this condition)
	AfterReset     time.Duration    `yaml:"after_reset"`      // or the month began this recently in the carrier's zone (0: not this condition)
}

// Off switches every rule off.
func (c RiskConfig) Off() RiskConfig {
	c.Velocity.Enabled, c.FirstCharge.Enabled, c.CashOut.Enabled = false, false, false
	return c
}

func (c RiskConfig) validate() error {
	if v := c.Velocity; v.Enabled {
		if v.Window <= 0 {
			return fmt.Errorf("risk.velocity.window: must be positive")
		}
		if v.MaxCount < 0 {
			return fmt.Errorf("risk.velocity.max_count: must be 0 (no count limit) or more")
		}
		if v.MaxCount == 0 && len(v.MaxAmount) == 0 {
			return fmt.Errorf("risk.velocity: needs max_count or max_amount (or enabled: false)")
		}
		if err := amounts("risk.velocity.max_amount", v.MaxAmount, false); err != nil {
			return err
		}
	}
	if f := c.FirstCharge; f.Enabled {
		if err := amounts("risk.first_charge.max_amount", f.MaxAmount, true); err != nil {
			return err
		}
	}
	if o := c.CashOut; o.Enabled {
		if len(o.Categories) == 0 {
			return fmt.Errorf("risk.cash_out.categories: at least one category is required")
		}
		for i, cat := range o.Categories {
			if strings.TrimSpace(cat) == "" {
				return fmt.Errorf("risk.cash_out.categories[%d]: must not be empty", i)
			}
		}
		if err := amounts("risk.cash_out.min_amount", o.MinAmount, true); err != nil {
			return err
		}
		if o.Within <= 0 {
			return fmt.Errorf("risk.cash_out.within: must be positive")
		}
		if o.NearCapPercent < 0 || o.NearCapPercent > 100 {
			return fmt.Errorf("risk.cash_out.near_cap_percent: must be 0 to 100")
		}
		if o.AfterReset < 0 || o.AfterReset > 31*24*time.Hour {
			return fmt.Errorf("risk.cash_out.after_reset: must be 0 to 744h")
		}
		if o.NearCapPercent == 0 && o.AfterReset == 0 {
			return fmt.Errorf("risk.cash_out: needs near_cap_percent or after_reset (or enabled: false)")
		}
	}
	return nil
}

// amounts checks a currency → minor units map; required: at least one.
func amounts(key string, m map[string]int64, required bool) error {
	if required && len(m) == 0 {
		return fmt.Errorf("%s: at least one currency is required, e.g. {KRW: 50000}", key)
	}
	curs := make([]string, 0, len(m))
	for cur := range m {
		curs = append(curs, cur)
	}
	sort.Strings(curs)
	for _, cur := range curs {
		if len(cur) != 3 || strings.ToUpper(cur) != cur {
			return fmt.Errorf("%s: %q is not an ISO 4217 code", key, cur)
		}
		if m[cur] <= 0 {
			return fmt.Errorf("%s.%s: must be a positive count of minor units", key, cur)
		}
	}
	return nil
}
