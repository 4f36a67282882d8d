package camara_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/camara/camaratest"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/sim"
)

// specEnv is the adapter and a simulated skt that asks for tokens, every
// exchange between them validated.
type specEnv struct {
	sim    *sim.Simulator
	client *camara.Client
	check  *camaratest.Validator
	srv    *httptest.Server
}

func setupSpec(t *testing.T, ciba bool) *specEnv {
	t.Helper()
	clk := carriertest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	s := sim.New(sim.Options{
		Carriers: []string{"skt"}, Now: clk.Now, After: clk.After, Seed: 1,
		OAuthClients: map[string]sim.OAuthClient{"skt": {ID: "tollgate", Secret: "sim-skt-client-secret"}},
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/sim/skt/camara"
	check := camaratest.New(t, "testdata/spec", "/sim/skt/camara")
	opts := map[string]string{
		camara.OptionTokenURL: "/oauth2/token", camara.OptionClientID: "tollgate", camara.OptionClientSecret: "sim-skt-client-secret",
	}
	if ciba {
		opts[camara.OptionBCAuthorizeURL] = "/oauth2/bc-authorize"
	}
	c, err := camara.New(carriers.Settings{
		Name: "skt", BaseURL: base, Options: opts, Now: clk.Now,
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW"}, PartialRefunds: true},
		HTTPClient:   &http.Client{Transport: check.RoundTripper(http.DefaultTransport), Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &specEnv{sim: s, client: c, check: check, srv: srv}
}

// code reads the newest code the simulated operator texted msisdn.
func (e *specEnv) code(t *testing.T, msisdn string) string {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/sim/sms?msisdn=" + strings.ReplaceAll(msisdn, "+", "%2B"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var inbox struct {
		Data []struct {
			Code string `json:"code"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&inbox); err != nil || len(inbox.Data) == 0 {
		t.Fatalf("inbox: %v", err)
	}
	return inbox.Data[0].Code
}

// TestExchangesMatchTheCAMARASpec validates with camaratest (the official
// files, security requirement included) every request the adapter sends
// and every answer the simulated operator gives. It drives every operation the adapter uses,
// 2-legged and with CIBA, successes and declines, and validates each
// request and answer against the official files.
func TestExchangesMatchTheCAMARASpec(t *testing.T) {
	for _, ciba := range []bool{false, true} {
		t.Run(fmt.Sprintf("ciba=%v", ciba), func(t *testing.T) {
			e := setupSpec(t, ciba)
			ctx := context.Background()
			// 1-step, then its refunds and status queries.
			res, err := e.client.Charge(ctx, charge("ch_1", "+821012345678", 5000, "KRW"))
			if err != nil || res.Outcome != carriers.OutcomeSucceeded {
				t.Fatalf("charge: %+v, %v", res, err)
			}
			if _, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_1", CarrierReference: res.CarrierReference}); err != nil {
				t.Fatal(err)
			}
			rf, err := e.client.Refund(ctx, carriers.RefundRequest{Reference: "re_1", ChargeReference: "ch_1", CarrierReference: res.CarrierReference, Amount: 1000, Currency: "KRW", Reason: "broken"})
			if err != nil || rf.Outcome != carriers.OutcomeSucceeded {
				t.Fatalf("refund: %+v, %v", rf, err)
			}
			if _, err := e.client.Status(ctx, carriers.Reference{Kind: "refund", ClientReference: "re_1", ChargeReference: res.CarrierReference}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Status(ctx, carriers.Reference{Kind: "refund", ClientReference: "re_1", ChargeReference: res.CarrierReference, CarrierReference: rf.CarrierReference}); err != nil {
				t.Fatal(err)
			}
			// Declines, each with the code its operation declares.
			for _, suffix := range []string{"0002", "0003", "0004"} {
				res, err := e.client.Charge(ctx, charge("ch_"+suffix, "+82101234"+suffix, 5000, "KRW"))
				if err != nil || res.Outcome != carriers.OutcomeDeclined {
					t.Fatalf("%s: %+v, %v", suffix, res, err)
				}
			}
			// 2-step: prepare, a wrong code, the right one, confirm; and a cancel.
			const msisdn = "+821012349999"
			a, err := e.client.Authorize(ctx, authorize("ch_2", msisdn, 5000))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: "ch_2", Code: "000000x"}); !errors.Is(err, carriers.ErrWrongCode) {
				t.Fatalf("wrong code: %v", err)
			}
			if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: "ch_2", Code: e.code(t, msisdn)}); err != nil {
				t.Fatal(err)
			}
			r := charge("ch_2", msisdn, 5000, "KRW")
			r.AuthorizationID = a.ID
			if res, err := e.client.Charge(ctx, r); err != nil || res.Outcome != carriers.OutcomeSucceeded {
				t.Fatalf("confirm: %+v, %v", res, err)
			}
			// The operator's refusals, each as its operation declares it: a
			// resent confirm (409 PAYMENT_CONFIRMED, read back), an unknown
			// payment (404), a refund beyond what is left (422).
			if res, err := e.client.Charge(ctx, r); err != nil || res.Outcome != carriers.OutcomeSucceeded {
				t.Fatalf("resent confirm: %+v, %v", res, err)
			}
			if _, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_x", CarrierReference: "pay_unknown"}); !errors.Is(err, carriers.ErrNotFound) {
				t.Fatalf("unknown payment: %v", err)
			}
			if rf, err := e.client.Refund(ctx, carriers.RefundRequest{Reference: "re_2", ChargeReference: "ch_1", CarrierReference: res.CarrierReference, Amount: 99000, Currency: "KRW"}); err != nil || rf.Outcome != carriers.OutcomeDeclined {
				t.Fatalf("refund beyond the payment: %+v, %v", rf, err)
			}
			a3, err := e.client.Authorize(ctx, authorize("ch_3", msisdn, 5000))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.client.CancelAuthorization(ctx, a3.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Authorize(ctx, authorize("ch_4", "+821012340004", 5000)); err == nil {
				t.Fatal("0004 prepared")
			}
			for _, op := range []string{"createPayment", "retrievePayments", "retrievePayment", "createRefund", "retrieveRefunds", "retrieveRefund",
				"preparePayment", "validatePayment", "confirmPayment", "cancelPayment"} {
				if e.check.Checked(op) == 0 {
					t.Errorf("%s was never validated", op)
				}
			}
			if !ciba && e.sim.TokensIssued("skt") > 6 {
				t.Errorf("%d tokens for 2-legged calls in 5 scopes: the cache does not hold", e.sim.TokensIssued("skt"))
			}
		})
	}
}

// TestOperatorRefusesAWrongSecret: a client the operator does not know
// gets no token, and the call never leaves; the error says why without the
// secret.
func TestOperatorRefusesAWrongSecret(t *testing.T) {
	e := setupSpec(t, true)
	c, err := camara.New(carriers.Settings{
		Name: "skt", BaseURL: e.srv.URL + "/sim/skt/camara", HTTPClient: e.srv.Client(),
		Options: map[string]string{camara.OptionTokenURL: "/oauth2/token", camara.OptionBCAuthorizeURL: "/oauth2/bc-authorize",
			camara.OptionClientID: "tollgate", camara.OptionClientSecret: "not-the-secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW"))
	if !errors.Is(err, carriers.ErrNotSent) || !strings.Contains(err.Error(), "invalid_client") ||
		strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), "1012345678") {
		t.Fatalf("%v", err)
	}
	if n := e.sim.TokensIssued("skt"); n != 0 {
		t.Fatalf("%d tokens issued to a wrong secret", n)
	}
}
