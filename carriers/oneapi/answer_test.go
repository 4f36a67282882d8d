package oneapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/oneapi"
)

// recorded is one request a fake carrier received.
type recorded struct {
	method, uri string
	body        map[string]any
	resend      bool // the context was marked carriers.WithResend
}

// fake is a carrier that answers every request with status and body, and
// records what it got.
type fake struct {
	mu   sync.Mutex
	reqs []recorded
}

// markTransport records whether the client marked a request resendable.
type markTransport struct {
	f    *fake
	next http.RoundTripper
}

func (m markTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	m.f.mu.Lock()
	m.f.reqs = append(m.f.reqs, recorded{resend: carriers.Resendable(r.Context())})
	m.f.mu.Unlock()
	return m.next.RoundTrip(r)
}

func fakeCarrier(t *testing.T, status int, body string, header ...string) (*oneapi.Client, *fake) {
	t.Helper()
	f := &fake{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var b map[string]any
		_ = json.Unmarshal(raw, &b)
		f.mu.Lock()
		last := &f.reqs[len(f.reqs)-1]
		last.method, last.uri, last.body = r.Method, r.RequestURI, b
		f.mu.Unlock()
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Transport = markTransport{f: f, next: hc.Transport}
	c, err := oneapi.New(carriers.Settings{Name: "kt", BaseURL: srv.URL + "/hub/", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func TestChargeWireRequest(t *testing.T) {
	c, f := fakeCarrier(t, http.StatusCreated, `{"amountTransaction":{"endUserId":"tel:+821012345678","clientCorrelator":"ch_1",
		"paymentAmount":{"chargingInformation":{"amount":19.99,"currency":"USD","description":"500 gems"},"totalAmountCharged":"19.99"},
		"referenceCode":"ch_1","serverReferenceCode":"srv-1","resourceURL":"http://hub/x","transactionOperationStatus":"Charged"}}`)
	res, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 1999, "USD"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.CarrierReference != "srv-1" || res.Message != "" {
		t.Fatalf("%+v, %v", res, err)
	}
	r := f.reqs[0]
	if r.method != http.MethodPost || r.uri != "/hub/payment/v3/tel%3A%2B821012345678/transactions/amount" {
		t.Fatalf("%s %s", r.method, r.uri)
	}
	if !r.resend {
		t.Fatal("a charge carrying clientCorrelator is not marked resendable")
	}
	at := r.body["amountTransaction"].(map[string]any)
	ci := at["paymentAmount"].(map[string]any)["chargingInformation"].(map[string]any)
	meta := at["paymentAmount"].(map[string]any)["chargingMetaData"].(map[string]any)
	if at["endUserId"] != "tel:+821012345678" || at["clientCorrelator"] != "ch_1" || at["referenceCode"] != "ch_1" ||
		at["transactionOperationStatus"] != "Charged" || ci["amount"] != "19.99" || ci["currency"] != "USD" ||
		ci["description"] != "500 gems" || meta["onBehalfOf"] != "mer_123" {
		t.Fatalf("body %v", r.body)
	}
}

func TestRefundWireRequest(t *testing.T) {
	c, f := fakeCarrier(t, http.StatusCreated, `{"amountTransaction":{"endUserId":"tel:+821012345678","clientCorrelator":"re_1",
		"paymentAmount":{"chargingInformation":{"amount":"3.00","currency":"USD","description":"customer asked"}},
		"referenceCode":"re_1","originalServerReferenceCode":"srv-1","serverReferenceCode":"srv-2","transactionOperationStatus":"Refunded"}}`)
	res, err := c.Refund(context.Background(), refundReq("re_1", "ch_1", "srv-1", 300, "USD"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.CarrierReference != "srv-2" {
		t.Fatalf("%+v, %v", res, err)
	}
	at := f.reqs[0].body["amountTransaction"].(map[string]any)
	ci := at["paymentAmount"].(map[string]any)["chargingInformation"].(map[string]any)
	if at["transactionOperationStatus"] != "Refunded" || at["originalServerReferenceCode"] != "srv-1" ||
		at["clientCorrelator"] != "re_1" || ci["amount"] != "3.00" || !f.reqs[0].resend {
		t.Fatalf("body %v", f.reqs[0].body)
	}
}

func TestStatusWireRequests(t *testing.T) {
	// A hub whose JSON binding drops the array around a lone element.
	c, f := fakeCarrier(t, http.StatusOK, `{"paymentTransactionList":{"amountTransaction":{"endUserId":"tel:+821012345678",
		"clientCorrelator":"ch_1","referenceCode":"ch_1","serverReferenceCode":"srv-1","transactionOperationStatus":"Charged",
		"paymentAmount":{"chargingInformation":{"amount":"10","currency":"USD","description":"x"}}}}}`)
	st, err := c.Status(context.Background(), carriers.Reference{Kind: "charge", ClientReference: "ch_1", MSISDN: "+821012345678"})
	if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != "srv-1" {
		t.Fatalf("%+v, %v", st, err)
	}
	if r := f.reqs[0]; r.method != http.MethodGet || r.uri != "/hub/payment/v3/tel%3A%2B821012345678/transactions/amount?clientCorrelator=ch_1" || !r.resend {
		t.Fatalf("%+v", r)
	}
	_, _ = c.Status(context.Background(), carriers.Reference{Kind: "charge", CarrierReference: "srv/1", MSISDN: "+821012345678"})
	if r := f.reqs[1]; r.uri != "/hub/payment/v3/tel%3A%2B821012345678/transactions/amount/srv%2F1" {
		t.Fatalf("%+v", r)
	}
}

func TestAnswerMapping(t *testing.T) {
	charged := func(status string) string {
		return `{"amountTransaction":{"endUserId":"tel:+821012345678","clientCorrelator":"ch_1","referenceCode":"ch_1",
			"serverReferenceCode":"srv-1","transactionOperationStatus":"` + status + `",
			"paymentAmount":{"chargingInformation":{"amount":"50","currency":"KRW","description":"x"}}}}`
	}
	policy := func(id string) string {
		return `{"requestError":{"policyException":{"messageId":"` + id + `","text":"refused %1","variables":["today"]}}}`
	}
	service := `{"requestError":{"serviceException":{"messageId":"SVC0002","text":"Invalid input value for message part %1","variables":["amount"]}}}`
	tests := []struct {
		name        string
		status      int
		body        string
		header      []string
		wantOutcome carriers.Outcome
		wantFailure string
		wantErr     error
	}{
		{"charged", 201, charged("Charged"), nil, carriers.OutcomeSucceeded, "", nil},
		{"charged 200", 200, charged("Charged"), nil, carriers.OutcomeSucceeded, "", nil},
		{"processing", 201, charged("Processing"), nil, carriers.OutcomePending, "", nil},
		{"denied", 201, charged("Denied"), nil, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, nil},
		{"unknown status", 201, charged("Reserved"), nil, "", "", carriers.ErrOutcomeUnknown},
		{"someone else's", 201, `{"amountTransaction":{"clientCorrelator":"ch_2","serverReferenceCode":"s","transactionOperationStatus":"Charged"}}`, nil, "", "", carriers.ErrOutcomeUnknown},
		{"no server reference", 201, `{"amountTransaction":{"transactionOperationStatus":"Charged"}}`, nil, "", "", carriers.ErrOutcomeUnknown},
		{"unreadable", 201, `<html>`, nil, "", "", carriers.ErrOutcomeUnknown},
		{"insufficient", 403, policy("POL1000"), nil, carriers.OutcomeDeclined, carriers.FailureInsufficientBalance, nil},
		{"barred", 403, policy("POL3000"), nil, carriers.OutcomeDeclined, carriers.FailureSubscriberBlocked, nil},
		{"limit", 403, policy("POL1001"), nil, carriers.OutcomeDeclined, carriers.FailureCarrierLimitExceeded, nil},
		{"too soon", 403, policy("POL1002"), nil, carriers.OutcomeDeclined, carriers.FailureCarrierLimitExceeded, nil},
		{"single limit", 403, policy("POL0254"), nil, carriers.OutcomeDeclined, carriers.FailureCarrierLimitExceeded, nil},
		{"other policy", 403, policy("POL0253"), nil, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, nil},
		{"policy at 400", 400, policy("POL2010"), nil, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, nil},
		{"policy on 401", 401, policy("POL0001"), nil, "", "", carriers.ErrInvalidRequest},
		{"service", 400, service, nil, "", "", carriers.ErrInvalidRequest},
		{"forbidden without body", 403, ``, nil, "", "", carriers.ErrInvalidRequest},
		{"not found", 404, service, nil, "", "", carriers.ErrNotFound},
		{"conflict", 409, ``, nil, "", "", carriers.ErrOutcomeUnknown},
		{"rate limited", 429, policy("POL0001"), nil, "", "", carriers.ErrRateLimited},
		{"unavailable", 503, ``, []string{"Retry-After", "3"}, "", "", carriers.ErrUnavailable},
		{"server error", 500, ``, nil, "", "", carriers.ErrOutcomeUnknown},
		{"bad gateway", 502, ``, nil, "", "", carriers.ErrOutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fakeCarrier(t, tt.status, tt.body, tt.header...)
			res, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 50, "KRW"))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || res.Outcome != tt.wantOutcome || res.FailureCode != tt.wantFailure {
				t.Fatalf("%+v, %v", res, err)
			}
			if res.Outcome == carriers.OutcomeDeclined && res.DeclineCode == "" {
				t.Fatal("a decline without the carrier's code")
			}
		})
	}
}

func TestAnswerMappingOnReads(t *testing.T) {
	// A read that fails changed nothing: a 5xx is unavailability, not an
	// unknown outcome.
	c, _ := fakeCarrier(t, http.StatusInternalServerError, ``)
	_, err := c.Status(context.Background(), carriers.Reference{Kind: "charge", CarrierReference: "srv-1", MSISDN: "+821012345678"})
	if !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	var u *carriers.UnavailableError
	c, _ = fakeCarrier(t, http.StatusServiceUnavailable, ``, "Retry-After", "3")
	_, err = c.Status(context.Background(), carriers.Reference{Kind: "charge", CarrierReference: "srv-1", MSISDN: "+821012345678"})
	if !errors.As(err, &u) || u.RetryAfter.Seconds() != 3 {
		t.Fatalf("err = %v", err)
	}
}

func TestAmountMismatchIsReported(t *testing.T) {
	c, _ := fakeCarrier(t, http.StatusCreated, `{"amountTransaction":{"clientCorrelator":"ch_1","serverReferenceCode":"srv-1",
		"transactionOperationStatus":"Charged","paymentAmount":{"chargingInformation":{"amount":"60","currency":"KRW","description":"x"}}}}`)
	res, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 50, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.Message == "" {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, s := range []carriers.Settings{
		{Name: "", BaseURL: "http://x"},
		{Name: "kt", BaseURL: "x/y"},
		{Name: "kt", BaseURL: "ftp://x"},
	} {
		if _, err := oneapi.New(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
