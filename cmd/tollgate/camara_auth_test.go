package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tollgate/carriers/camara/camaratest"
	"tollgate/carriers/sim"
	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/storetest"
)

// TestCAMARAChargeNeedsAnAccessToken: the simulated skt asks for OpenID
// Connect tokens as a real CAMARA operator does. With the client secret the
// operator knows, a charge prepares under a CIBA token for the subscriber's
// line and succeeds; with a wrong one the operator's token endpoint refuses
// the client, nothing reaches the payment API, and the charge fails as
// "carrier unavailable" with the reason in the log (never the secret, never
// the number), until skt's breaker opens. Every exchange with the operator
// is validated against the official CAMARA files.
func TestCAMARAChargeNeedsAnAccessToken(t *testing.T) {
	const msisdn = "+821055500123"
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			// An operator apart from the gateway, so the gateway's secret can
			// differ from the one the operator knows.
			_, simOpts := shippedSim(t)
			op := sim.New(simOpts)
			// Every exchange with the operator checked against the official
			// CAMARA files, a bearer token required by their security scheme.
			spec := camaratest.New(t, "../../carriers/camara/testdata/spec", "/sim/skt/camara").AllowLoopbackSinks()
			srv := httptest.NewServer(spec.Handler(op.Handler()))
			t.Cleanup(srv.Close)

			good := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: srv.URL + "/sim"})
			r := good.paid(good.key, msisdn, 5000, "skt")
			if r.Status != http.StatusOK || r.str("status") != "succeeded" {
				t.Fatalf("with the right secret: %d %s", r.Status, r.Raw)
			}
			if n := op.TokensIssued("skt"); n < 2 {
				t.Fatalf("operator issued %d tokens, want a CIBA one for the line and a 2-legged one to validate", n)
			}
			if rf := good.call("POST", "/v1/charges/"+r.str("id")+"/refunds", good.key, newIdem(), map[string]any{"amount": 2000, "reason": "one item returned"}); rf.Status != http.StatusCreated || rf.str("status") != "succeeded" {
				t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
			}
			for _, opID := range []string{"preparePayment", "validatePayment", "confirmPayment", "createRefund"} {
				if spec.Checked(opID) == 0 {
					t.Errorf("no %s exchange was validated", opID)
				}
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
			// Every call will meet the same refusal: the breaker opens and
			// the gateway stops asking the operator.
			opened := false
			for range 10 {
				if r := bad.call("POST", "/v1/charges", bad.key, newIdem(), krw(msisdn, 5000, "skt")); r.Status == http.StatusServiceUnavailable {
					opened = r.str("code") == "carrier_unavailable"
					break
				}
			}
			if !opened {
				t.Fatal("a wrong client secret never opened skt's breaker")
			}
		})
	}
}

// TestSandboxCarrierTakesTestKeysOnly: a carrier configured as an
// operator's sandbox (a real base URL, here a simulator apart from the
// gateway, with its own client credentials) charges for test keys, with
// tokens, and never for live keys.
func TestSandboxCarrierTakesTestKeysOnly(t *testing.T) {
	const msisdn = "+821055500456"
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			_, simOpts := shippedSim(t)
			// The "operator" also serves sbx, which the gateway does not
			// know as simulated: to the gateway it is a sandbox at a URL.
			simOpts.Carriers = append(simOpts.Carriers, "sbx")
			simOpts.Protocols["sbx"] = "camara"
			simOpts.OAuthClients["sbx"] = sim.OAuthClient{ID: "sandbox-client", Secret: "sandbox-test-secret"}
			op := sim.New(simOpts)
			spec := camaratest.New(t, "../../carriers/camara/testdata/spec", "/sim/sbx/camara").AllowLoopbackSinks()
			srv := httptest.NewServer(spec.Handler(op.Handler()))
			t.Cleanup(srv.Close)

			g := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: srv.URL + "/sim", configure: func(c *configs.Config) {
				sbx := c.Carriers[0] // skt's settings, as a sandbox
				if sbx.Name != "skt" {
					t.Fatalf("carriers[0] is %s", sbx.Name)
				}
				sbx.Name, sbx.Simulated, sbx.Sandbox, sbx.BaseURL = "sbx", false, true, srv.URL+"/sim/sbx/camara"
				sbx.Auth = configs.CarrierAuthConfig{TokenURL: "/oauth2/token", BCAuthorizeURL: "/oauth2/bc-authorize", ClientID: "sandbox-client", ClientSecret: "sandbox-test-secret"}
				c.Carriers = append(c.Carriers, sbx)
			}})
			r := g.paid(g.key, msisdn, 5000, "sbx")
			if r.Status != http.StatusOK || r.str("status") != "succeeded" || r.Body["livemode"] != false {
				t.Fatalf("test key through the sandbox: %d %s", r.Status, r.Raw)
			}
			if op.TokensIssued("sbx") == 0 || spec.Checked("confirmPayment") == 0 {
				t.Fatalf("sandbox: %d tokens, %d confirms validated", op.TokensIssued("sbx"), spec.Checked("confirmPayment"))
			}

			live, err := g.app.billing.CreateMerchant(context.Background(), "Live Shop", true)
			if err != nil {
				t.Fatal(err)
			}
			liveKey, err := g.app.keys.Create(context.Background(), auth.RoleMerchant, live.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			before := op.TokensIssued("sbx")
			lr := g.call("POST", "/v1/charges", liveKey, newIdem(), krw(msisdn, 5000, "sbx"))
			if lr.Status < 400 || lr.Status > 499 {
				t.Fatalf("live key through the sandbox: %d %s", lr.Status, lr.Raw)
			}
			if op.TokensIssued("sbx") != before {
				t.Fatal("a live key's charge reached the sandbox")
			}
			t.Logf("live key: %d %s", lr.Status, lr.Raw)
		})
	}
}

// paidOrDeclined is paid, except that a charge the carrier declined when it
// was created is read back as it stands: a CAMARA operator refuses amount
// limits at preparePayment (the spec declares them there), before any code
// is texted, so there is nothing to confirm.
func (g *gw) paidOrDeclined(key, msisdn string, amount int64, carrier string) resp {
	g.t.Helper()
	ch := g.charge(key, krw(msisdn, amount, carrier))
	if ch.str("status") == "failed" {
		return g.call("GET", "/v1/charges/"+ch.str("id"), key, "", nil)
	}
	return g.call("POST", "/v1/charges/"+ch.str("id")+"/confirm", key, "", map[string]string{"code": g.smsCodeFor(key, msisdn)})
}
