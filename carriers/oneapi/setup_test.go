package oneapi_test

import (
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/oneapi"
)

// env is the adapter talking to a simulated carrier "kt" over real HTTP.
type env struct {
	*carriertest.Sim
	t      *testing.T
	client *oneapi.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	s := carriertest.NewSim(t, carriertest.WithCarriers("kt"))
	return &env{Sim: s, t: t, client: newClient(t, s)}
}

func newClient(t *testing.T, s *carriertest.Sim) *oneapi.Client {
	t.Helper()
	c, err := oneapi.New(carriers.Settings{
		Name:         "kt",
		BaseURL:      s.BaseURL("kt", "oneapi"),
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true},
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
		Description: "500 gems", Merchant: "mer_123",
	}
}
