package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tollgate/carriers/sim"
	"tollgate/configs"
	"tollgate/internal/storetest"
)

// TestCAMARAChargeNeedsAnAccessToken: the simulated skt asks for OpenID
// Connect tokens as a real CAMARA operator does. With the client secret the
// operator knows, a charge prepares under a CIBA token for the subscriber's
// line and succeeds; with a wrong one the operator's token endpoint refuses
// the client, nothing reaches the payment API, and the charge fails as
// "carrier unavailable" with the reason in the log (never the secret, never
// the number).
func TestCAMARAChargeNeedsAnAccessToken(t *testing.T) {
	const msisdn = "+821055500123"
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			// An operator apart from the gateway, so the gateway's secret can
			// differ from the one the operator knows.
			cfg, err := configs.Load("", func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			cs, err := carrierSettings(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			op := sim.New(cs.sim)
			srv := httptest.NewServer(op.Handler())
			t.Cleanup(srv.Close)

			good := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: srv.URL + "/sim"})
			r := good.paid(good.key, msisdn, 5000, "skt")
			if r.Status != http.StatusOK || r.str("status") != "succeeded" {
				t.Fatalf("with the right secret: %d %s", r.Status, r.Raw)
			}
			if n := op.TokensIssued("skt"); n < 2 {
				t.Fatalf("operator issued %d tokens, want a CIBA one for the line and a 2-legged one to validate", n)
			}

			bad := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: srv.URL + "/sim", configure: func(c *configs.Config) {
				for i := range c.Carriers {
					if c.Carriers[i].Name == "skt" {
						c.Carriers[i].Auth.ClientSecret = "a-wrong-client-secret"
					}
				}
			}})
			before := op.TokensIssued("skt")
			ch := bad.call("POST", "/v1/charges", bad.key, newIdem(), krw(msisdn, 5000, "skt"))
			if ch.Status == http.StatusCreated && ch.str("status") != "failed" {
				t.Fatalf("with a wrong secret: %d %s", ch.Status, ch.Raw)
			}
			if ch.Status == http.StatusCreated && ch.str("failure_code") != "carrier_unavailable" {
				t.Fatalf("failure %s", ch.Raw)
			}
			if op.TokensIssued("skt") != before {
				t.Fatal("the operator issued a token to a client with a wrong secret")
			}
			logs := bad.logs.String()
			if !strings.Contains(logs, "invalid_client") {
				t.Errorf("the log does not say why skt failed:\n%s", logs)
			}
			for _, leak := range []string{"a-wrong-client-secret", "sim-skt-client-secret", "55500123"} {
				if strings.Contains(logs, leak) || strings.Contains(good.logs.String(), leak) {
					t.Errorf("a log carries %q", leak)
				}
			}
			t.Logf("wrong secret: HTTP %d %s", ch.Status, ch.Raw)
		})
	}
}
