package configs

import (
	"fmt"
	"strconv"
)

// SimConfig governs who may use test mode's shared controls: the carrier
// simulator's own endpoints (/sim/sms, every subscriber's codes; /sim/faults;
// /sim/ledger; /sim/stats) and the test clock, which every merchant of a
// test-mode gateway shares.
type SimConfig struct {
	// OpenControls opens them for one developer on their own machine: the
	// simulator's endpoints need no key and any test key moves the clock.
	// Off, an admin key does both, and merchants read their own codes at
	// GET /v1/test_helpers/sms.
	OpenControls bool `yaml:"open_controls"`
	// Token guards a standalone `tollgate sim`'s control endpoints
	// (Authorization: Bearer <token>), and is what a gateway sends when it
	// reads messages from the simulator at sim_url: that sim's token, or an
	// admin key when sim_url is another gateway's /sim.
	Token string `yaml:"token"`
}

// fromEnv applies TOLLGATE_SIM_OPEN_CONTROLS and TOLLGATE_SIM_TOKEN.
func (s *SimConfig) fromEnv(getenv func(string) string) error {
	if v := getenv("TOLLGATE_SIM_OPEN_CONTROLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("sim.open_controls: TOLLGATE_SIM_OPEN_CONTROLS must be true or false, got %q", v)
		}
		s.OpenControls = b
	}
	if v := getenv("TOLLGATE_SIM_TOKEN"); v != "" {
		s.Token = v
	}
	return nil
}

// Validate checks the simulator settings for a process in mode (test or live).
func (s SimConfig) Validate(mode string) error {
	if s.OpenControls && mode != "test" {
		return fmt.Errorf("sim.open_controls: test mode only")
	}
	if s.Token != "" && len(s.Token) < 16 {
		return fmt.Errorf("sim.token: must be at least 16 characters")
	}
	return nil
}
