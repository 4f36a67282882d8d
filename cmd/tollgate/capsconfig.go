package main

import (
	"fmt"

	"tollgate/billing"
	"tollgate/configs"
)

// capRules turns the caps of the configuration (validated by configs) into
// billing's: each carrier's monthly ceiling, zone and receipts, and the
// caps per merchant and per category.
func capRules(cfg configs.Config) (billing.CapRules, error) {
	out := billing.CapRules{Carriers: map[string]billing.CarrierCaps{}, Merchant: cfg.SpendingCaps.PerMerchant, Category: cfg.SpendingCaps.PerCategory}
	for _, cc := range cfg.Carriers {
		loc, err := cfg.CarrierZone(cc)
		if err != nil {
			return out, fmt.Errorf("carrier %s time_zone: %w", cc.Name, err)
		}
		out.Carriers[cc.Name] = billing.CarrierCaps{Monthly: cc.MonthlyLimit, Location: loc, Receipts: cc.Receipts}
	}
	return out, nil
}
