package tokenpay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/tokenpay"
)

// stub is a carrier that answers every request with status, headers and body.
func stub(t *testing.T, status int, header map[string]string, body string) *tokenpay.Client {
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
	c, err := tokenpay.New(carriers.Settings{Name: "stub", BaseURL: srv.URL, HTTPClient: srv.Client(), WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnswersMapToTheErrorVocabulary(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantCharge error // for Charge (a write)
		wantStatus error // for Status (a read)
	}{
		{"429", 429, nil, `{"error":{"code":"rate_limited"}}`, carriers.ErrRateLimited, carriers.ErrRateLimited},
		{"500", 500, nil, "", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"502", 502, nil, "<html>bad gateway</html>", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"504", 504, nil, "", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"503", 503, map[string]string{"Retry-After": "7"}, "", carriers.ErrUnavailable, carriers.ErrUnavailable},
		{"401", 401, nil, `{"error":{"code":"unauthorized"}}`, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest},
		{"400", 400, nil, `{"error":{"code":"invalid_request"}}`, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest},
		{"422", 422, nil, `{"error":{"code":"invalid_token"}}`, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest},
		{"409", 409, nil, `{"error":{"code":"conflict"}}`, carriers.ErrOutcomeUnknown, carriers.ErrInvalidRequest},
		{"404", 404, nil, `{"error":{"code":"not_found"}}`, carriers.ErrNotFound, carriers.ErrNotFound},
		{"302", 302, map[string]string{"Location": "/elsewhere"}, "", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"202 unreadable", 202, nil, "{not json", carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"202 without id", 202, nil, `{"status":"accepted"}`, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
		{"202 odd status", 202, nil, `{"charge_id":"chg_1","status":"weird"}`, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := stub(t, tt.status, tt.header, tt.body)
			_, err := c.Charge(context.Background(), chargeReq("ch_1", "tok_1", 5000))
			if !errors.Is(err, tt.wantCharge) {
				t.Errorf("Charge: %v, want %v", err, tt.wantCharge)
			}
			if tt.status >= 200 && tt.status < 300 {
				return // a success answer to a GET is decoded differently
			}
			_, err = c.Status(context.Background(), carriers.Reference{Kind: "charge", ClientReference: "ch_1"})
			if !errors.Is(err, tt.wantStatus) {
				t.Errorf("Status: %v, want %v", err, tt.wantStatus)
			}
		})
	}
}

func TestNewChecksSettings(t *testing.T) {
	if _, err := tokenpay.New(carriers.Settings{BaseURL: "http://x"}); err == nil {
		t.Error("no name accepted")
	}
	if _, err := tokenpay.New(carriers.Settings{Name: "x", BaseURL: "not a url"}); err == nil {
		t.Error("relative base URL accepted")
	}
	c, err := tokenpay.New(carriers.Settings{Name: "x", BaseURL: "https://carrier.example/api/"})
	if err != nil || !c.Capabilities().Async || c.Name() != "x" {
		t.Errorf("New = %+v, %v", c, err)
	}
}
