package camara_test

import (
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/carriertest"
)

// env is the adapter talking to a simulated carrier "skt" over real HTTP.
type env struct {
	*carriertest.Sim
	t      *testing.T
	client *camara.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	s := carriertest.NewSim(t, carriertest.WithCarriers("skt"))
	return &env{Sim: s, t: t, client: newClient(t, s, true)}
}

func newClient(t *testing.T, s *carriertest.Sim, partialRefunds bool) *camara.Client {
	t.Helper()
	c, err := camara.New(carriers.Settings{
		Name:         "skt",
		BaseURL:      s.BaseURL("skt", "camara"),
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: partialRefunds},
		HTTPClient:   s.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func charge(ref, msisdn string, amount int64, currency string) carriers.ChargeRequest {
	return carriers.ChargeRequest{
		Reference: ref, MSISDN: msisdn, Amount: amount, Currency: currency,
		Description: "500 gems", Merchant: "mer_123", SinkToken: sinkToken(ref),
	}
}

// sinkToken stands for the per-payment token the gateway makes for ref.
func sinkToken(ref string) string { return "sink-token-" + ref + "-0123456789" }
