package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/sim"
	"tollgate/configs"
)

// carrierSetup is the configuration's carrier part in carriers' own terms:
// carriers knows nothing of configs, so this is the one place that reads one
// into the other.
type carrierSetup struct {
	connections []carriers.Connection
	sim         sim.Options // the simulated carriers, for test mode
	http        carriers.HTTPOptions
	breaker     carriers.BreakerSettings
}

// carrierSettings turns the validated configuration into carrier settings on
// the gateway's clock now. A protocol is checked against the adapters
// registered here, so adding one needs no change in configs.
func carrierSettings(cfg configs.Config, now func() time.Time) (carrierSetup, error) {
	cs := carrierSetup{
		sim: sim.Options{Now: now, Secrets: map[string]string{}, Protocols: map[string]string{}, OAuthClients: map[string]sim.OAuthClient{}},
		http: carriers.HTTPOptions{
			AttemptTimeout: cfg.CarrierHTTP.AttemptTimeout, MaxRetries: cfg.CarrierHTTP.MaxRetries,
			WaitMin: cfg.CarrierHTTP.WaitMin, WaitMax: cfg.CarrierHTTP.WaitMax, Now: now,
		},
		breaker: carriers.BreakerSettings{
			OpenFor: cfg.Breaker.OpenFor, ConsecutiveFailures: cfg.Breaker.ConsecutiveFailures,
			FailureRatio: cfg.Breaker.FailureRatio, MinRequests: cfg.Breaker.MinRequests, Window: cfg.Breaker.Window,
			Now: now,
		},
	}
	known := carriers.Protocols()
	for i, cc := range cfg.Carriers {
		if !slices.Contains(known, cc.Protocol) {
			return cs, fmt.Errorf("carriers[%d].protocol: unknown protocol %q (known: %s)", i, cc.Protocol, strings.Join(known, ", "))
		}
		caps, err := capabilitiesOf(cc)
		if err != nil {
			return cs, fmt.Errorf("carriers[%d].%w", i, err)
		}
		cs.connections = append(cs.connections, carriers.Connection{
			Name: cc.Name, Protocol: cc.Protocol, Simulated: cc.Simulated, Sandbox: cc.Sandbox, BaseURL: cc.BaseURL,
			Capabilities: caps, WebhookSecret: cc.WebhookSecret, Options: withAuth(cc.Options, cc.Auth),
		})
		if cc.Simulated {
			cs.sim.Carriers = append(cs.sim.Carriers, cc.Name)
			cs.sim.Secrets[cc.Name] = cc.WebhookSecret
			cs.sim.Protocols[cc.Name] = cc.Protocol
			if cc.Auth.ClientID != "" {
				// The simulated operator knows the client the gateway is
				// configured as, and asks it for tokens.
				cs.sim.OAuthClients[cc.Name] = sim.OAuthClient{ID: cc.Auth.ClientID, Secret: cc.Auth.ClientSecret}
			}
		}
	}
	return cs, nil
}

// withAuth is a carrier's protocol options with its auth settings added
// under the keys the CAMARA adapter reads (carriers/camara OptionTokenURL...).
func withAuth(opts map[string]string, a configs.CarrierAuthConfig) map[string]string {
	if a.TokenURL == "" && a.BCAuthorizeURL == "" && a.ClientID == "" && a.ClientSecret == "" && len(a.Scopes) == 0 {
		return opts
	}
	out := maps.Clone(opts)
	if out == nil {
		out = map[string]string{}
	}
	out[camara.OptionTokenURL] = a.TokenURL
	out[camara.OptionBCAuthorizeURL] = a.BCAuthorizeURL
	out[camara.OptionClientID] = a.ClientID
	out[camara.OptionClientSecret] = a.ClientSecret
	out[camara.OptionScopes] = strings.Join(a.Scopes, " ")
	return out
}

// capabilitiesOf turns a carrier's config into its declared capabilities.
func capabilitiesOf(cc configs.CarrierConfig) (carriers.Capabilities, error) {
	w := carriers.RefundWindow{Kind: cc.RefundWindow.Kind, Days: cc.RefundWindow.Days}
	if w.Kind == "" {
		w.Kind = "none"
	}
	if cc.RefundWindow.TimeZone != "" {
		loc, err := time.LoadLocation(cc.RefundWindow.TimeZone)
		if err != nil {
			return carriers.Capabilities{}, fmt.Errorf("refund_window.time_zone: %w", err)
		}
		w.Location = loc
	}
	var rec carriers.Recurring
	if cc.Recurring.WindowDays > 0 {
		loc, err := time.LoadLocation(cc.Recurring.TimeZone)
		if err != nil {
			return carriers.Capabilities{}, fmt.Errorf("recurring.time_zone: %w", err)
		}
		rec = carriers.Recurring{WindowDays: cc.Recurring.WindowDays, Location: loc}
	}
	return carriers.Capabilities{
		Recurring:           rec,
		Currencies:          cc.Currencies,
		MinAmount:           cc.MinAmount,
		MaxAmount:           cc.MaxAmount,
		PartialRefunds:      cc.PartialRefunds,
		RefundWindow:        w,
		Async:               cc.Async,
		ConfirmationMethods: []string{"sms_code", "payment_method"},
		CarrierConfirms:     cc.Confirmation == "carrier",
		Country:             cc.Country,
	}, nil
}
