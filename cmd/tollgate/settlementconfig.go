package main

import (
	"fmt"
	"time"

	"tollgate/configs"
	"tollgate/settlement"
)

// settlementSettings reads settlement's settings from the validated config;
// settlement, like carriers, knows nothing of configs.
func settlementSettings(cfg configs.Config) (settlement.Settings, error) {
	loc, err := time.LoadLocation(cfg.Settlement.TimeZone)
	if err != nil {
		return settlement.Settings{}, fmt.Errorf("settlement.time_zone: %w", err)
	}
	s := settlement.Settings{
		Location: loc, Hour: cfg.Settlement.Hour, GatewayFeeBps: cfg.Settlement.GatewayFeeBps,
		MerchantFeeBps: cfg.Settlement.MerchantFeeBps, CarrierShareBps: map[string]int64{},
		ReportDir: cfg.Settlement.ReportDir,
	}
	for _, cc := range cfg.Carriers {
		s.CarrierShareBps[cc.Name] = cc.ShareBps
	}
	return s, nil
}
