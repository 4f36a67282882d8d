package configs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RateLimitsConfig bounds what one client, merchant or phone number may
// cause. Each limit is "COUNT/PERIOD" (a burst of COUNT, refilling over
// PERIOD) or "off".
type RateLimitsConfig struct {
	// Per node, in memory: no database round trip on every request.
	PerKey               Rate `yaml:"per_key"`                 // requests per API key
	FailedAuthPerAddress Rate `yaml:"failed_auth_per_address"` // bad or missing keys per client address
	// Shared by every node through the database: they protect a person.
	SMSPerNumber            Rate `yaml:"sms_per_number"`            // confirmation codes to one phone, whatever the merchant
	ChargesPerNumber        Rate `yaml:"charges_per_number"`        // charge attempts on one phone, whatever the merchant
	RedeliveriesPerMerchant Rate `yaml:"redeliveries_per_merchant"` // manual webhook redeliveries
	EndpointsPerMerchant    Rate `yaml:"endpoints_per_merchant"`    // webhook endpoints created
	// /my, the subscriber's page: sign-in codes it texts one number (on top
	// of sms_per_number), codes one client address may ask for, and codes
	// typed in for one number across its sign-ins.
	SignInCodesPerNumber  Rate `yaml:"sign_in_codes_per_number"`
	SignInCodesPerAddress Rate `yaml:"sign_in_codes_per_address"`
	SignInTriesPerNumber  Rate `yaml:"sign_in_tries_per_number"`
}

// Rate is a limit as written in the configuration: "5/10m" or "off".
type Rate string

// Parse returns the count and period; "off" (or empty) is a zero count.
func (r Rate) Parse() (int, time.Duration, error) {
	s := strings.TrimSpace(string(r))
	if s == "" || s == "off" {
		return 0, 0, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return 0, 0, fmt.Errorf("must be COUNT/PERIOD such as 5/10m, or off; got %q", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("must be COUNT/PERIOD with a positive period such as 5/10m; got %q", s)
	}
	return count, d, nil
}

func (c RateLimitsConfig) validate() error {
	for name, r := range map[string]Rate{
		"per_key": c.PerKey, "failed_auth_per_address": c.FailedAuthPerAddress, "sms_per_number": c.SMSPerNumber,
		"charges_per_number": c.ChargesPerNumber, "redeliveries_per_merchant": c.RedeliveriesPerMerchant,
		"endpoints_per_merchant": c.EndpointsPerMerchant, "sign_in_codes_per_number": c.SignInCodesPerNumber,
		"sign_in_codes_per_address": c.SignInCodesPerAddress, "sign_in_tries_per_number": c.SignInTriesPerNumber,
	} {
		if _, _, err := r.Parse(); err != nil {
			return fmt.Errorf("rate_limits.%s: %w", name, err)
		}
	}
	return nil
}
