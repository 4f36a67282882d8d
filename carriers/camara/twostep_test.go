package camara_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/carriertest"
)

const webhookSecret = "skt-webhook-secret-0123"

// sink records the notifications the simulated operator posts.
type sink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []posted
	more chan struct{}
}

type posted struct {
	header http.Header
	body   []byte
}

func newSink(t *testing.T) *sink {
	t.Helper()
	k := &sink{more: make(chan struct{}, 100)}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		k.got = append(k.got, posted{header: r.Header.Clone(), body: b})
		k.mu.Unlock()
		k.more <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

// wait returns the first notification, moving the operator's clock while
// it is parked on it (the payment settling), and fails the test after the
// bound of carriertest.Sim.Await.
func (k *sink) wait(s *carriertest.Sim) posted {
	var p posted
	s.Await("a notification", k.more, func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		if len(k.got) == 0 {
			return false
		}
		p = k.got[0]
		return true
	})
	return p
}

// setupNotify is setup with a webhook secret shared by the simulated
// operator and the adapter, and a callback URL that records what arrives.
func setupNotify(t *testing.T) (*env, *sink) {
	t.Helper()
	s := carriertest.NewSim(t, carriertest.WithCarriers("skt"), carriertest.WithSecret("skt", webhookSecret))
	k := newSink(t)
	c, err := camara.New(carriers.Settings{
		Name:          "skt",
		BaseURL:       s.BaseURL("skt", "camara"),
		Capabilities:  carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true},
		HTTPClient:    s.Client(),
		CallbackURL:   k.srv.URL + "/v1/carriers/skt/webhooks",
		WebhookSecret: webhookSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{Sim: s, t: t, client: c}, k
}

func authorize(ref, msisdn string, amount int64) carriers.AuthorizeRequest {
	return carriers.AuthorizeRequest{Reference: ref, MSISDN: msisdn, Amount: amount, Currency: "KRW", Description: "500 gems", Merchant: "Gem Shop", SinkToken: sinkToken(ref)}
}

// authorized runs Authorize and Verify and returns the charge request that confirms.
func (e *env) authorized(ref, msisdn string) carriers.ChargeRequest {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.client.Authorize(ctx, authorize(ref, msisdn, 5000))
	if err != nil || !strings.Contains(a.ID, ":") || a.Token != "" {
		e.t.Fatalf("authorize: %+v, %v", a, err)
	}
	v, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: ref, Code: e.SMSCode(msisdn)})
	if err != nil || v.ID != a.ID {
		e.t.Fatalf("verify: %+v, %v", v, err)
	}
	r := charge(ref, msisdn, 5000, "KRW")
	r.AuthorizationID = a.ID
	return r
}

func TestTwoStepChargeEndToEnd(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const msisdn = "+821012345678"
	a, err := e.client.Authorize(ctx, authorize("ch_2s", msisdn, 5000))
	if err != nil {
		t.Fatal(err)
	}
	code := e.SMSCode(msisdn)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: "ch_2s", Code: wrong}); !errors.Is(err, carriers.ErrWrongCode) {
		t.Fatalf("wrong code: %v", err)
	}
	for range 2 { // the second is a resent validate: already validated is a success
		if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: "ch_2s", Code: code}); err != nil {
			t.Fatalf("right code: %v", err)
		}
	}
	if rows := e.Ledger("skt"); len(rows) != 0 {
		t.Fatalf("billed before confirm: %+v", rows)
	}
	r := charge("ch_2s", msisdn, 5000, "KRW")
	r.AuthorizationID = a.ID
	first, err := e.client.Charge(ctx, r)
	if err != nil || first.Outcome != carriers.OutcomeSucceeded || first.CarrierReference == "" || first.Message != "" {
		t.Fatalf("confirm: %+v, %v", first, err)
	}
	// A resent confirm (its answer lost) learns the same outcome, bills nothing more.
	again, err := e.client.Charge(ctx, r)
	if err != nil || again != first {
		t.Fatalf("resent confirm: %+v, %v; first %+v", again, err, first)
	}
	rows := e.Ledger("skt")
	if len(rows) != 1 || rows[0].ClientReference != "ch_2s" || rows[0].CarrierReference != first.CarrierReference {
		t.Fatalf("ledger %+v", rows)
	}
	st, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_2s"})
	if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != first.CarrierReference {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if err := e.client.CancelAuthorization(ctx, a.ID); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("cancel after confirm: %v", err)
	}
}

func TestTwoStepOutcomes(t *testing.T) {
	tests := []struct {
		suffix  string
		outcome carriers.Outcome
		failure string
		decline string
	}{
		{"0002", carriers.OutcomeDeclined, carriers.FailureInsufficientBalance, "CARRIER_BILLING.PAYMENT_DENIED"},
		{"0003", carriers.OutcomeDeclined, carriers.FailureSubscriberBlocked, "SERVICE_NOT_APPLICABLE"},
		{"0005", carriers.OutcomePending, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.suffix, func(t *testing.T) {
			e := setup(t)
			r := e.authorized("ch_"+tt.suffix, "+82101234"+tt.suffix)
			for range 2 { // a resent confirm gets the same answer
				res, err := e.client.Charge(context.Background(), r)
				if err != nil || res.Outcome != tt.outcome || res.FailureCode != tt.failure || res.DeclineCode != tt.decline || res.CarrierReference == "" {
					t.Fatalf("%+v, %v", res, err)
				}
			}
			if rows := e.Ledger("skt"); len(rows) != 0 {
				t.Fatalf("ledger %+v", rows)
			}
			if tt.suffix == "0005" {
				e.Clock.Advance(time.Second)
				st, err := e.client.Status(context.Background(), carriers.Reference{Kind: "charge", ClientReference: r.Reference})
				if err != nil || st.Outcome != carriers.OutcomeSucceeded {
					t.Fatalf("after settling: %+v, %v", st, err)
				}
			}
		})
	}
}

func TestTwoStepConfirmUnavailableOnce(t *testing.T) {
	e := setup(t)
	r := e.authorized("ch_0007", "+821012340007")
	_, err := e.client.Charge(context.Background(), r)
	var u *carriers.UnavailableError
	if !errors.As(err, &u) || !errors.Is(err, carriers.ErrUnavailable) || u.RetryAfter != time.Second {
		t.Fatalf("first confirm: %v", err)
	}
	res, err := e.client.Charge(context.Background(), r)
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	if rows := e.Ledger("skt"); len(rows) != 1 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestTwoStepConfirmTimeoutThenStatus(t *testing.T) {
	e := setup(t)
	r := e.authorized("ch_0006", "+821012340006")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := e.client.Charge(ctx, r); !errors.Is(err, carriers.ErrOutcomeUnknown) {
		t.Fatalf("confirm: %v", err)
	}
	st, err := e.client.Status(context.Background(), carriers.Reference{Kind: "charge", ClientReference: "ch_0006"})
	if err != nil || st.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if rows := e.Ledger("skt"); len(rows) != 1 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestTwoStepCancel(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	a, err := e.client.Authorize(ctx, authorize("ch_cancel", "+821012345678", 5000))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // cancelling twice is fine
		if err := e.client.CancelAuthorization(ctx, a.ID); err != nil {
			t.Fatalf("cancel: %v", err)
		}
	}
	r := charge("ch_cancel", "+821012345678", 5000, "KRW")
	r.AuthorizationID = a.ID
	res, err := e.client.Charge(ctx, r)
	if err != nil || res.Outcome != carriers.OutcomeDeclined || res.DeclineCode != "cancelled" {
		t.Fatalf("confirm after cancel: %+v, %v", res, err)
	}
	if rows := e.Ledger("skt"); len(rows) != 0 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestTwoStepTooManyWrongCodes(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	a, err := e.client.Authorize(ctx, authorize("ch_wrong", "+821012345678", 5000))
	if err != nil {
		t.Fatal(err)
	}
	code := e.SMSCode("+821012345678")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: wrong}); !errors.Is(err, carriers.ErrWrongCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	// The operator has given up on this payment: no code will do now.
	if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: code}); !errors.Is(err, carriers.ErrWrongCode) {
		t.Fatalf("right code after too many: %v", err)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.client.Authorize(ctx, carriers.AuthorizeRequest{Reference: "pm_1", MSISDN: "+821012345678", Recurring: true}); !errors.Is(err, carriers.ErrUnsupported) {
		t.Fatalf("recurring: %v", err)
	}
	if _, err := e.client.Authorize(ctx, authorize("ch_zero", "+821012345678", 0)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("no amount: %v", err)
	}
	for _, id := range []string{"", "pay_only", "%zz:auth"} {
		if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: id, Code: "123456"}); !errors.Is(err, carriers.ErrInvalidRequest) {
			t.Errorf("verify %q: %v", id, err)
		}
	}
	if _, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: "pay_nope:auth_nope", Code: "123456"}); !errors.Is(err, carriers.ErrNotFound) {
		t.Errorf("verify unknown payment: %v", err)
	}
	r := charge("ch_x", "+821012345678", 5000, "KRW")
	r.AuthorizationID = "pay_nope:auth_nope"
	if _, err := e.client.Charge(ctx, r); !errors.Is(err, carriers.ErrNotFound) {
		t.Errorf("confirm unknown payment: %v", err)
	}
}

// recorder is a stub operator that records every request and answers from a
// table by method and path suffix.
type recorder struct {
	mu      sync.Mutex
	reqs    []recorded
	answers map[string]stubAnswer
}

type recorded struct {
	method, path string
	body         map[string]any
	resend       bool
}

type stubAnswer struct {
	status int
	body   string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{method: r.Method, path: r.URL.Path, body: m})
	rc.mu.Unlock()
	for suffix, a := range rc.answers {
		if strings.HasPrefix(suffix, r.Method+" ") && strings.HasSuffix(r.URL.Path, strings.TrimPrefix(suffix, r.Method+" ")) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			_, _ = w.Write([]byte(a.body))
			return
		}
	}
	w.WriteHeader(http.StatusNotImplemented)
}

// resendSpy records whether each request's context was marked resendable.
type resendSpy struct {
	mu     sync.Mutex
	marked map[string]bool // "METHOD path" → marked
}

func (s *resendSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.marked[r.Method+" "+r.URL.Path] = carriers.Resendable(r.Context())
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func stubClient(t *testing.T, rc *recorder, callbackURL string, rt http.RoundTripper) *camara.Client {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c, err := camara.New(carriers.Settings{
		Name: "stub", BaseURL: srv.URL, HTTPClient: &http.Client{Transport: rt},
		CallbackURL: callbackURL, WebhookSecret: webhookSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const preparedAnswer = `{"paymentId":"pay_1","paymentStatus":"pending_validation","paymentCreationDate":"2026-11-24T09:00:00Z",
	"amountTransaction":{"phoneNumber":"+821012345678","clientCorrelator":"ch_1","referenceCode":"ch_1","paymentAmount":{"chargingInformation":{"amount":5000,"currency":"KRW","description":"d"}}},
	"validationInfo":{"action":"validate","authorizationId":"auth:1"}}`

func TestPrepareCarriesSinkAndCredential(t *testing.T) {
	rc := &recorder{answers: map[string]stubAnswer{"POST /prepare": {201, preparedAnswer}}}
	c := stubClient(t, rc, "https://gw.example.com/v1/carriers/stub/webhooks", nil)
	a, err := c.Authorize(context.Background(), authorize("ch_1", "+821012345678", 5000))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "pay_1:auth%3A1" {
		t.Errorf("authorization id %q", a.ID) // a ':' inside the authorizationId is escaped
	}
	body := rc.reqs[0].body
	cred, _ := body["sinkCredential"].(map[string]any)
	if body["sink"] != "https://gw.example.com/v1/carriers/stub/webhooks" || cred["credentialType"] != "ACCESSTOKEN" ||
		cred["accessToken"] != sinkToken("ch_1") || cred["accessTokenType"] != "bearer" {
		t.Fatalf("prepare body %+v", body)
	}
	if exp, err := time.Parse(time.RFC3339, cred["accessTokenExpiresUtc"].(string)); err != nil || !exp.After(time.Now()) {
		t.Errorf("accessTokenExpiresUtc %v", cred["accessTokenExpiresUtc"])
	}
	at := body["amountTransaction"].(map[string]any)
	if at["clientCorrelator"] != "ch_1" || at["referenceCode"] != "ch_1" || at["phoneNumber"] != "+821012345678" {
		t.Errorf("amountTransaction %+v", at)
	}
}

func TestSinkLeftOutWhenAnOperatorWouldRefuseIt(t *testing.T) {
	for _, tt := range []struct {
		callback string
		want     any
	}{
		{"", nil},
		{"http://gw.example.com/cb", nil}, // CAMARA requires https
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"}, // a simulated operator on loopback
		{"https://gw.example.com/cb", "https://gw.example.com/cb"},
	} {
		rc := &recorder{answers: map[string]stubAnswer{"POST /payments": {201, `{"paymentId":"p","paymentStatus":"succeeded"}`}}}
		c := stubClient(t, rc, tt.callback, nil)
		if _, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW")); err != nil {
			t.Fatal(err)
		}
		if got := rc.reqs[0].body["sink"]; got != tt.want {
			t.Errorf("callback %q: sink %v, want %v", tt.callback, got, tt.want)
		}
	}
	// Without a token made for the payment no notification could be
	// authenticated: no sink is given, and the carrier's secret never is.
	rc0 := &recorder{answers: map[string]stubAnswer{"POST /payments": {201, `{"paymentId":"p","paymentStatus":"succeeded"}`}}}
	r0 := charge("ch_1", "+821012345678", 5000, "KRW")
	r0.SinkToken = ""
	if _, err := stubClient(t, rc0, "https://gw.example.com/cb", nil).Charge(context.Background(), r0); err != nil ||
		rc0.reqs[0].body["sink"] != nil || rc0.reqs[0].body["sinkCredential"] != nil {
		t.Fatalf("without a sink token: body %+v, %v", rc0.reqs[0].body, err)
	}
	// The charge's own callback URL wins over the carrier's.
	rc := &recorder{answers: map[string]stubAnswer{"POST /payments": {201, `{"paymentId":"p","paymentStatus":"succeeded"}`}}}
	c := stubClient(t, rc, "https://gw.example.com/cb", nil)
	r := charge("ch_1", "+821012345678", 5000, "KRW")
	r.CallbackURL = "https://other.example.com/cb"
	if _, err := c.Charge(context.Background(), r); err != nil || rc.reqs[0].body["sink"] != r.CallbackURL {
		t.Fatalf("sink %v, %v", rc.reqs[0].body["sink"], err)
	}
}

func TestPrepareWithoutCodeIsUnsupportedAndReleased(t *testing.T) {
	rc := &recorder{answers: map[string]stubAnswer{
		"POST /prepare": {201, `{"paymentId":"pay_1","paymentStatus":"reserved"}`},
		"POST /cancel":  {202, ``},
	}}
	c := stubClient(t, rc, "", nil)
	if _, err := c.Authorize(context.Background(), authorize("ch_1", "+821012345678", 5000)); !errors.Is(err, carriers.ErrUnsupported) {
		t.Fatalf("%v", err)
	}
	if len(rc.reqs) != 2 || !strings.HasSuffix(rc.reqs[1].path, "/payments/pay_1/cancel") || rc.reqs[1].body["phoneNumber"] != "+821012345678" {
		t.Fatalf("requests %+v", rc.reqs)
	}
}

func TestConfirmWithoutBodyReadsThePaymentBack(t *testing.T) {
	rc := &recorder{answers: map[string]stubAnswer{
		"POST /confirm":       {202, ``},
		"GET /payments/pay_1": {200, `{"paymentId":"pay_1","paymentStatus":"succeeded","amountTransaction":{"paymentAmount":{"chargingInformation":{"amount":5000,"currency":"KRW"}}}}`},
	}}
	c := stubClient(t, rc, "", nil)
	r := charge("ch_1", "+821012345678", 5000, "KRW")
	r.AuthorizationID = "pay_1:auth_1"
	res, err := c.Charge(context.Background(), r)
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.CarrierReference != "pay_1" {
		t.Fatalf("%+v, %v", res, err)
	}
	if rc.reqs[0].body["phoneNumber"] != "+821012345678" {
		t.Errorf("confirm body %+v", rc.reqs[0].body)
	}
	// An accepted confirm whose payment cannot be read back: the outcome is unknown.
	rc = &recorder{answers: map[string]stubAnswer{"POST /confirm": {202, ``}, "GET /payments/pay_1": {500, ``}}}
	c = stubClient(t, rc, "", nil)
	if _, err := c.Charge(context.Background(), r); !errors.Is(err, carriers.ErrOutcomeUnknown) {
		t.Fatalf("read back fails: %v", err)
	}
}

func TestRequestsAreMarkedResendable(t *testing.T) {
	rc := &recorder{answers: map[string]stubAnswer{
		"POST /prepare":  {201, preparedAnswer},
		"POST /validate": {204, ``},
		"POST /confirm":  {202, `{"paymentId":"pay_1","paymentStatus":"succeeded"}`},
		"POST /cancel":   {202, ``},
		"GET /pay_1":     {200, `{"paymentId":"pay_1","paymentStatus":"reserved","amountTransaction":{"phoneNumber":"+821012345678"}}`},
		"POST /payments": {201, `{"paymentId":"pay_2","paymentStatus":"succeeded"}`},
		"POST /refunds":  {201, `{"refundId":"ref_1","refundStatus":"succeeded"}`},
		"POST /requests": {201, `{}`},
	}}
	spy := &resendSpy{marked: map[string]bool{}}
	c := stubClient(t, rc, "", spy)
	ctx := context.Background()
	a, err := c.Authorize(ctx, authorize("ch_1", "+821012345678", 5000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: "123456"}); err != nil {
		t.Fatal(err)
	}
	r := charge("ch_1", "+821012345678", 5000, "KRW")
	r.AuthorizationID = a.ID
	if _, err := c.Charge(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelAuthorization(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Charge(ctx, charge("ch_2", "+821012345678", 5000, "KRW")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, refundReq("re_1", "ch_2", "pay_2", 0, "KRW")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendSMS(ctx, carriers.SMS{MSISDN: "+821012345678", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(spy.marked) < 8 {
		t.Fatalf("only %d requests seen: %v", len(spy.marked), spy.marked)
	}
	for req, marked := range spy.marked {
		if !marked {
			t.Errorf("%s is not marked resendable", req)
		}
	}
}

func TestPrepareDeclineCarriesTheResult(t *testing.T) {
	rc := &recorder{answers: map[string]stubAnswer{
		"POST /prepare": {403, `{"status":403,"code":"CARRIER_BILLING.PAYMENT_DENIED","message":"Payment denied by business: insufficient balance."}`},
	}}
	c := stubClient(t, rc, "", nil)
	_, err := c.Authorize(context.Background(), authorize("ch_1", "+821012340002", 5000))
	var d interface{ DeclineResult() carriers.Result }
	if !errors.As(err, &d) {
		t.Fatalf("%v carries no decline", err)
	}
	if res := d.DeclineResult(); res.Outcome != carriers.OutcomeDeclined || res.FailureCode != carriers.FailureInsufficientBalance {
		t.Fatalf("decline %+v", res)
	}
	for _, fault := range []error{carriers.ErrNotSent, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, carriers.ErrRateLimited, carriers.ErrInvalidRequest} {
		if errors.Is(err, fault) {
			t.Errorf("a decline at prepare reads as %v", fault)
		}
	}
}
