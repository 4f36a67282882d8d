package camara_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/camara"
)

// stub is a carrier that answers every request with status, headers and body.
func stub(t *testing.T, status int, header map[string]string, body string) *camara.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := camara.New(carriers.Settings{Name: "stub", BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnswersMapToTheErrorVocabulary(t *testing.T) {
	camaraErr := func(status int, code string) string {
		return fmt.Sprintf(`{"status":%d,"code":%q,"message":"m"}`, status, code)
	}
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantCharge error // for Charge (a write)
		wantStatus error // for Status (a read)
	}{
		{"429", 429, nil, camaraErr(429, "TOO_MANY_REQUESTS"), carriers.ErrRateLimited, carriers.ErrRateLimited},
		{"500", 500, nil, "", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"502", 502, nil, "<html>bad gateway</html>", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"504", 504, nil, "", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"503", 503, map[string]string{"Retry-After": "7"}, "", carriers.ErrUnavailable, carriers.ErrUnavailable},
		{"401", 401, nil, camaraErr(401, "UNAUTHENTICATED"), carriers.ErrUnavailable, carriers.ErrUnavailable}, // our access refused: the connection's fault
		{"403 permission", 403, nil, camaraErr(403, "PERMISSION_DENIED"), carriers.ErrUnavailable, carriers.ErrUnavailable},
		{"400", 400, nil, camaraErr(400, "INVALID_ARGUMENT"), carriers.ErrInvalidRequest, carriers.ErrInvalidRequest},
		{"422 missing identifier", 422, nil, camaraErr(422, "MISSING_IDENTIFIER"), carriers.ErrInvalidRequest, carriers.ErrInvalidRequest},
		{"409", 409, nil, camaraErr(409, "ALREADY_EXISTS"), carriers.ErrOutcomeUnknown, carriers.ErrInvalidRequest},
		{"404", 404, nil, camaraErr(404, "NOT_FOUND"), carriers.ErrNotFound, carriers.ErrNotFound},
		{"302", 302, map[string]string{"Location": "/elsewhere"}, "", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"201 unreadable", 201, nil, "{not json", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"201 without id", 201, nil, `{"paymentStatus":"succeeded"}`, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"201 odd status", 201, nil, `{"paymentId":"p","paymentStatus":"weird"}`, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := stub(t, tt.status, tt.header, tt.body)
			_, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW"))
			if !errors.Is(err, tt.wantCharge) {
				t.Errorf("Charge: %v, want %v", err, tt.wantCharge)
			}
			if tt.status >= 200 && tt.status < 300 {
				return // a success answer to a GET is decoded differently; covered elsewhere
			}
			_, err = c.Status(context.Background(), carriers.Reference{Kind: "charge", ClientReference: "ch_1", CarrierReference: "p"})
			if !errors.Is(err, tt.wantStatus) {
				t.Errorf("Status: %v, want %v", err, tt.wantStatus)
			}
		})
	}
}

func TestDeniedPaymentStatusIsADecline(t *testing.T) {
	c := stub(t, 201, nil, `{"paymentId":"p1","paymentStatus":"denied","amountTransaction":{}}`)
	res, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeDeclined || res.FailureCode != carriers.FailureCarrierDeclined || res.CarrierReference != "p1" {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestEchoedAmountMismatchIsReported(t *testing.T) {
	c := stub(t, 201, nil, `{"paymentId":"p1","paymentStatus":"succeeded","amountTransaction":{"paymentAmount":{"chargingInformation":{"amount":50.00,"currency":"USD"}}}}`)
	res, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5001, "USD"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.Message == "" {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, s := range []carriers.Settings{
		{Name: "", BaseURL: "http://x"},
		{Name: "skt", BaseURL: "not a url"},
		{Name: "skt", BaseURL: "ftp://x/y"},
	} {
		if _, err := camara.New(s); err == nil {
			t.Errorf("New(%+v) accepted", s)
		}
	}
}

func TestRegisteredForTheRegistry(t *testing.T) {
	e := setup(t)
	reg, err := carriers.NewRegistry([]carriers.Connection{{
		Name: "skt", Protocol: "camara", Simulated: true,
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW"}, PartialRefunds: true},
	}}, carriers.RegistryOptions{SimURL: e.URL() + "/sim", HTTPClient: e.Client(), Breaker: carriers.DefaultBreakerSettings})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := reg.Get("skt")
	if !ok {
		t.Fatal("skt not in the registry")
	}
	if _, ok := c.(carriers.SMSSender); !ok {
		t.Fatal("the camara carrier does not send SMS")
	}
	res, err := c.Charge(context.Background(), charge("ch_reg", "+821012345678", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("%+v, %v", res, err)
	}
}
