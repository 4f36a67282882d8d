package main

import (
	"tollgate/billing"
	"tollgate/configs"
)

// riskSettings turns the risk section of the configuration (validated by
// configs) into billing's rules.
func riskSettings(c configs.RiskConfig) billing.RiskSettings {
	return billing.RiskSettings{
		Velocity:    billing.VelocityRule{On: c.Velocity.Enabled, Window: c.Velocity.Window, MaxCount: c.Velocity.MaxCount, MaxAmount: c.Velocity.MaxAmount},
		FirstCharge: billing.FirstChargeRule{On: c.FirstCharge.Enabled, MaxAmount: c.FirstCharge.MaxAmount},
		CashOut: billing.CashOutRule{On: c.CashOut.Enabled, Categories: c.CashOut.Categories, MinAmount: c.CashOut.MinAmount,
			Within: c.CashOut.Within, NearCapPercent: c.CashOut.NearCapPercent, AfterReset: c.CashOut.AfterReset},
	}
}
