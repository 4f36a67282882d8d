package camara_test

import (
	"testing"

	"tollgate/carriers/camara"
	"tollgate/carriers/carriertest"
)

// TestConformance runs the adapter suite both ways a CAMARA carrier can be
// configured: the operator owning the code (2-step: prepare, validate,
// confirm) and the gateway owning it (1-step createPayment), each without
// and with access tokens. CAMARA's notifications carry a bearer token, not
// a signature over the body.
func TestConformance(t *testing.T) {
	t.Run("carrier_confirms", func(t *testing.T) {
		carriertest.Run(t, "camara", carriertest.UnsignedWebhookBody())
	})
	t.Run("gateway_confirms", func(t *testing.T) {
		carriertest.Run(t, "camara", carriertest.UnsignedWebhookBody(), carriertest.GatewayConfirms())
	})
	// The operator asks for OpenID Connect tokens: 3-legged by CIBA for
	// payments, 2-legged for the rest, as skt is configured by default.
	withTokens := []carriertest.Option{
		carriertest.UnsignedWebhookBody(),
		carriertest.WithOAuthClient("tollgate", "sim-c1-client-secret"),
		carriertest.WithOptions(map[string]string{
			camara.OptionTokenURL: "/oauth2/token", camara.OptionBCAuthorizeURL: "/oauth2/bc-authorize",
			camara.OptionClientID: "tollgate", camara.OptionClientSecret: "sim-c1-client-secret",
		}),
	}
	t.Run("carrier_confirms_with_tokens", func(t *testing.T) {
		carriertest.Run(t, "camara", withTokens...)
	})
	t.Run("gateway_confirms_with_tokens", func(t *testing.T) {
		carriertest.Run(t, "camara", append(withTokens, carriertest.GatewayConfirms())...)
	})
}
