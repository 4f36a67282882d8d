package main

import (
	"fmt"
	"net"
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

// reportSimURL is where `tollgate settle` fetches the simulated carriers'
// settlement files: sim_url (TOLLGATE_SIM_URL) when set, a standalone
// `tollgate sim` that the gateways share; else the running gateway's own
// /sim at its listen address. Never public_url: that is how carriers reach
// the gateway (perhaps through a proxy), not how this machine does.
func reportSimURL(cfg configs.Config) string {
	if cfg.SimURL != "" {
		return simBase(cfg.SimURL)
	}
	return "http://" + dialable(cfg.Listen) + "/sim"
}

// dialable turns a listen address into one to dial: a server listening on
// every interface (":8080", "0.0.0.0:8080", "[::]:8080") answers on loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen // configs checked it; let the dial say what is wrong
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}
