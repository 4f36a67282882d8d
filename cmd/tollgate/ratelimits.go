package main

import (
	"fmt"

	"tollgate/billing"
	"tollgate/billing/mypage"
	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/web"
	"tollgate/webhooks"
)

func quota(r configs.Rate) (ratelimit.Quota, error) {
	n, per, err := r.Parse()
	return ratelimit.Quota{Count: n, Per: per}, err
}

// sharedLimits are the limits every node counts together in the database:
// codes and charges per phone number, redeliveries and endpoints per merchant.
func sharedLimits(st *store.Store, clk clock.Clock, cfg configs.RateLimitsConfig) (*ratelimit.Shared, error) {
	set := map[string]configs.Rate{
		billing.LimitSMSPerNumber: cfg.SMSPerNumber, billing.LimitChargesPerNumber: cfg.ChargesPerNumber,
		webhooks.LimitRedeliveries: cfg.RedeliveriesPerMerchant, webhooks.LimitEndpoints: cfg.EndpointsPerMerchant,
	}
	rules := map[string]ratelimit.Quota{}
	for _, name := range append(billing.Limits(), webhooks.Limits()...) {
		r, ok := set[name]
		if !ok {
			return nil, fmt.Errorf("rate_limits: no setting for %s", name)
		}
		q, err := quota(r)
		if err != nil {
			return nil, fmt.Errorf("rate_limits.%s: %w", name, err)
		}
		rules[name] = q
	}
	return ratelimit.NewShared(st.DB, clk, rules)
}

// keyGate authenticates API keys with the per-node limits: requests per key
// and failed attempts per client address.
func keyGate(keys auth.Keys, clk clock.Clock, cfg configs.RateLimitsConfig) (web.Gate, error) {
	perKey, err := quota(cfg.PerKey)
	if err != nil {
		return web.Gate{}, fmt.Errorf("rate_limits.per_key: %w", err)
	}
	failed, err := quota(cfg.FailedAuthPerAddress)
	if err != nil {
		return web.Gate{}, fmt.Errorf("rate_limits.failed_auth_per_address: %w", err)
	}
	return web.Gate{Keys: keys,
		PerKey:     ratelimit.NewLocal("per_key", perKey, clk),
		FailedAuth: ratelimit.NewLocal("failed_auth_per_address", failed, clk),
	}, nil
}

// pageQuota is a /my limit for mypage.Settings, where a zero quota means
// the package's default and a negative count means off.
func pageQuota(name string, r configs.Rate) (ratelimit.Quota, error) {
	q, err := quota(r)
	if err != nil {
		return q, fmt.Errorf("rate_limits.%s: %w", name, err)
	}
	if q.Off() {
		return ratelimit.Quota{Count: -1}, nil
	}
	return q, nil
}

// withPageLimits sets /my's sign-in limits from the configuration.
func withPageLimits(s mypage.Settings, cfg configs.RateLimitsConfig) (mypage.Settings, error) {
	var err error
	if s.CodesPerNumber, err = pageQuota("sign_in_codes_per_number", cfg.SignInCodesPerNumber); err != nil {
		return s, err
	}
	if s.CodesPerAddress, err = pageQuota("sign_in_codes_per_address", cfg.SignInCodesPerAddress); err != nil {
		return s, err
	}
	s.TriesPerNumber, err = pageQuota("sign_in_tries_per_number", cfg.SignInTriesPerNumber)
	return s, err
}
