package camara_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/sim"
)

// The official CAMARA files (Apache-2.0, LICENSE beside them), copied so the
// tests are self-contained.
var specFiles = map[string]string{
	"/carrier-billing/v0.5":        "testdata/spec/carrier-billing.yaml",
	"/carrier-billing-refund/v0.3": "testdata/spec/carrier-billing-refund.yaml",
}

// specCheck is an http.RoundTripper that validates every CAMARA request the
// adapter sends and every answer it gets against the official OpenAPI
// files, security requirement included (a bearer token must be there).
// Calls that are not CAMARA's (the token endpoint, OneAPI SMS) pass
// unchecked.
type specCheck struct {
	t       testing.TB
	next    http.RoundTripper
	routers []routers.Router

	mu      sync.Mutex
	checked map[string]int // operationId → exchanges validated
}

// newSpecCheck validates exchanges with a carrier whose CAMARA root is base.
func newSpecCheck(t testing.TB, base string, next http.RoundTripper) *specCheck {
	t.Helper()
	sc := &specCheck{t: t, next: next, checked: map[string]int{}}
	for root, file := range specFiles {
		doc, err := openapi3.NewLoader().LoadFromFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		doc.Servers = openapi3.Servers{{URL: base + root}}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		sc.routers = append(sc.routers, r)
	}
	return sc
}

// bearerPresent is the spec's openIdConnect scheme as a client-side check:
// the token's worth is the operator's to judge, its presence is ours.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") || len(h) <= len("Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

func (sc *specCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	var route *routers.Route
	var params map[string]string
	for _, r := range sc.routers {
		if rt, p, err := r.FindRoute(req); err == nil {
			route, params = rt, p
			break
		}
	}
	if route == nil {
		return sc.next.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		sc.t.Errorf("request %s %s does not match the spec: %v\n%s", req.Method, req.URL.Path, err, body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := sc.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: resp.StatusCode < 500, MultiError: true},
	}
	out.SetBodyBytes(answer)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		sc.t.Errorf("answer to %s %s does not match the spec: HTTP %d %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, answer)
	}
	sc.mu.Lock()
	sc.checked[route.Operation.OperationID]++
	sc.mu.Unlock()
	return resp, nil
}

// specEnv is the adapter and a simulated skt that asks for tokens, every
// exchange between them validated.
type specEnv struct {
	sim    *sim.Simulator
	client *camara.Client
	check  *specCheck
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
	check := newSpecCheck(t, base, http.DefaultTransport)
	opts := map[string]string{
		camara.OptionTokenURL: "/oauth2/token", camara.OptionClientID: "tollgate", camara.OptionClientSecret: "sim-skt-client-secret",
	}
	if ciba {
		opts[camara.OptionBCAuthorizeURL] = "/oauth2/bc-authorize"
	}
	c, err := camara.New(carriers.Settings{
		Name: "skt", BaseURL: base, Options: opts, Now: clk.Now,
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW"}, PartialRefunds: true},
		HTTPClient:   &http.Client{Transport: check, Timeout: 10 * time.Second},
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

// TestExchangesMatchTheCAMARASpec drives every operation the adapter uses,
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
				if e.check.checked[op] == 0 {
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
