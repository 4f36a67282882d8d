package camara_test

import (
	"testing"

	"tollgate/carriers/carriertest"
)

// TestConformance runs the adapter suite both ways a CAMARA carrier can be
// configured: the operator owning the code (2-step: prepare, validate,
// confirm) and the gateway owning it (1-step createPayment). CAMARA's
// notifications carry a bearer token, not a signature over the body.
func TestConformance(t *testing.T) {
	t.Run("carrier_confirms", func(t *testing.T) {
		carriertest.Run(t, "camara", carriertest.UnsignedWebhookBody())
	})
	t.Run("gateway_confirms", func(t *testing.T) {
		carriertest.Run(t, "camara", carriertest.UnsignedWebhookBody(), carriertest.GatewayConfirms())
	})
}
