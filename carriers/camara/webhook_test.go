package camara_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
)

func TestNotificationOfAnAsyncChargeParses(t *testing.T) {
	t.Parallel()
	e, k := setupNotify(t)
	res, err := e.client.Charge(context.Background(), charge("ch_async", "+821012340005", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomePending {
		t.Fatalf("%+v, %v", res, err)
	}
	// Nobody reads the payment: the operator pushes its result.
	p := k.wait(e.Sim)
	n, err := e.client.ParseWebhook(p.header, p.body, e.Clock.Now())
	if err != nil {
		t.Fatalf("%v: %s", err, p.body)
	}
	if n.MessageID == "" || n.Kind != "charge" || n.ClientReference != "ch_async" || n.CarrierReference != res.CarrierReference ||
		n.Result.Outcome != carriers.OutcomeSucceeded || n.Result.CarrierReference != res.CarrierReference || !n.OccurredAt.Equal(e.Clock.Now()) {
		t.Fatalf("notification %+v", n)
	}
	// The operator presents the token made for this payment, not the
	// carrier's secret; the gateway checks it against the charge.
	if got := p.header.Get("Authorization"); got != "Bearer "+sinkToken("ch_async") || n.Credential != sinkToken("ch_async") {
		t.Fatalf("Authorization %q, credential %q; want the payment's sink token", got, n.Credential)
	}
	// Any other bearer token is handed on as it came, for the gateway to refuse.
	other := p.header.Clone()
	other.Set("Authorization", "Bearer not-the-token")
	if n, err := e.client.ParseWebhook(other, p.body, e.Clock.Now()); err != nil || n.Credential != "not-the-token" {
		t.Fatalf("other token: credential %q, %v", n.Credential, err)
	}

	tests := []struct {
		name string
		h    http.Header
		body []byte
		now  time.Time
	}{
		{"no token", http.Header{"Content-Type": {"application/cloudevents+json"}}, p.body, e.Clock.Now()},
		{"empty token", http.Header{"Authorization": {"Bearer "}}, p.body, e.Clock.Now()},
		{"basic scheme", http.Header{"Authorization": {"Basic " + webhookSecret}}, p.body, e.Clock.Now()},
		{"stale", p.header, p.body, e.Clock.Now().Add(10 * time.Minute)},
		{"from the future", p.header, p.body, e.Clock.Now().Add(-10 * time.Minute)},
	}
	for _, tt := range tests {
		if _, err := e.client.ParseWebhook(tt.h, tt.body, tt.now); !errors.Is(err, carriers.ErrBadSignature) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if _, err := e.client.ParseWebhook(p.header, p.body, e.Clock.Now().Add(4*time.Minute)); err != nil {
		t.Errorf("within the tolerance: %v", err)
	}
}

func TestTwoStepNotificationArrivesAtTheCarriersCallbackURL(t *testing.T) {
	t.Parallel()
	e, k := setupNotify(t)
	r := e.authorized("ch_2s5", "+821012340005")
	res, err := e.client.Charge(context.Background(), r)
	if err != nil || res.Outcome != carriers.OutcomePending {
		t.Fatalf("%+v, %v", res, err)
	}
	p := k.wait(e.Sim)
	n, err := e.client.ParseWebhook(p.header, p.body, e.Clock.Now())
	if err != nil || n.ClientReference != "ch_2s5" || n.CarrierReference != res.CarrierReference || n.Result.Outcome != carriers.OutcomeSucceeded ||
		n.Credential != sinkToken("ch_2s5") { // given at prepare, presented after confirm
		t.Fatalf("%+v, %v", n, err)
	}
}

func TestWebhookEventTypes(t *testing.T) {
	t.Parallel()
	c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://127.0.0.1:1", WebhookSecret: webhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	h := http.Header{"Authorization": {"Bearer " + webhookSecret}}
	event := func(typ, data string) []byte {
		return []byte(fmt.Sprintf(`{"id":"evt_1","source":"/x","type":%q,"specversion":"1.0","time":"2026-11-24T09:00:00Z","data":%s}`, typ, data))
	}
	const prefix = "org.camaraproject.carrier-billing.v0."
	tests := []struct {
		typ, data        string
		outcome          carriers.Outcome
		failure, decline string
	}{
		{"payment-completed", `{"paymentId":"p","status":"succeeded","description":"d"}`, carriers.OutcomeSucceeded, "", ""},
		{"payment-completed", `{"paymentId":"p","status":"failed","description":"d"}`, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, "denied"},
		{"payment-denied", `{"paymentId":"p","status":"failed","description":"d","denialReason":"User is blocked"}`, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, "denied"},
		{"payment-denied", `{"paymentId":"p","status":"failed","description":"Payment denied by business: insufficient balance.","denialReason":"CARRIER_BILLING.PAYMENT_DENIED"}`, carriers.OutcomeDeclined, carriers.FailureInsufficientBalance, "CARRIER_BILLING.PAYMENT_DENIED"},
		{"payment-denied", `{"paymentId":"p","status":"failed","description":"Payment denied by business.","denialReason":"CARRIER_BILLING.PAYMENT_DENIED"}`, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, "CARRIER_BILLING.PAYMENT_DENIED"},
		{"payment-cancelled", `{"paymentId":"p","status":"succeeded","description":"d"}`, carriers.OutcomeDeclined, carriers.FailureCarrierDeclined, "cancelled"},
		{"payment-reserved", `{"paymentId":"p","status":"succeeded","description":"d"}`, carriers.OutcomePending, "", ""},
	}
	for _, tt := range tests {
		n, err := c.ParseWebhook(h, event(prefix+tt.typ, tt.data), now)
		if err != nil || n.Result.Outcome != tt.outcome || n.Result.FailureCode != tt.failure || n.Result.DeclineCode != tt.decline ||
			n.CarrierReference != "p" || n.ClientReference != "" || n.MessageID != "evt_1" {
			t.Errorf("%s %s: %+v, %v", tt.typ, tt.data, n, err)
		}
	}
	for name, body := range map[string][]byte{
		"not json":     []byte("{"),
		"unknown type": event(prefix+"payment-exploded", `{"paymentId":"p"}`),
		"no paymentId": event(prefix+"payment-completed", `{"status":"succeeded"}`),
		"no time":      []byte(strings.Replace(string(event(prefix+"payment-completed", `{"paymentId":"p","status":"succeeded"}`)), `"time":"2026-11-24T09:00:00Z",`, "", 1)),
		"odd status":   event(prefix+"payment-completed", `{"paymentId":"p","status":"maybe"}`),
	} {
		if _, err := c.ParseWebhook(h, body, now); !errors.Is(err, carriers.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Unauthenticated garbage is refused for the token, before it is read.
	if _, err := c.ParseWebhook(http.Header{}, []byte("{"), now); !errors.Is(err, carriers.ErrBadSignature) {
		t.Errorf("garbage without token: %v", err)
	}
}
