package oneapi_test

import (
	"testing"

	"tollgate/carriers/carriertest"
)

// TestConformance runs the suite for a hub that honours clientCorrelator
// (resent charges are answered, not billed again) and for one configured
// as ignoring it, whose charges the client must never resend.
func TestConformance(t *testing.T) {
	t.Run("correlator_honoured", func(t *testing.T) { carriertest.Run(t, "oneapi") })
	t.Run("correlator_ignored", func(t *testing.T) {
		carriertest.Run(t, "oneapi", carriertest.WithOptions(map[string]string{"client_correlator": "ignored"}),
			carriertest.ChargesWithoutIdempotency())
	})
}
