package billingapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"tollgate/billing"
)

func (b *testBundle) paymentMethods() int64 {
	b.t.Helper()
	var n int64
	if err := b.store.DB.Model(&billing.PaymentMethod{}).Count(&n).Error; err != nil {
		b.t.Fatal(err)
	}
	return n
}

// A body of null is not "no fields": the cancel it would have run is refused.
func TestANullBodyIsRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ch := b.post("/v1/charges", "order-null", newCharge)
		if ch.status != http.StatusCreated {
			t.Fatalf("charge: %d %s", ch.status, ch.body)
		}
		id := ch.field("id")
		r := b.post("/v1/charges/"+id+"/cancel", "", "null")
		if r.status != http.StatusBadRequest || r.field("code") != "invalid_json" {
			t.Fatalf("cancel with null: %d %s", r.status, r.body)
		}
		if got := b.get("/v1/charges/" + id).field("status"); got != "requires_confirmation" {
			t.Fatalf("after a refused cancel the charge is %s", got)
		}
		// An empty body still means {}.
		if r := b.post("/v1/charges/"+id+"/cancel", "", ""); r.status != http.StatusOK || r.field("status") != "canceled" {
			t.Fatalf("cancel with no body: %d %s", r.status, r.body)
		}
	})
}

// Opting in sends an SMS: like a charge it needs a key, so a retried
// request cannot make two payment methods and text the subscriber twice.
func TestPaymentMethodsNeedAnIdempotencyKey(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		body := `{"msisdn": "+821012345678", "carrier": "skt"}`
		r := b.post("/v1/payment_methods", "", body)
		if r.status != http.StatusBadRequest || r.field("code") != "idempotency_key_required" {
			t.Fatalf("without a key: %d %s", r.status, r.body)
		}
		if n, sms := b.paymentMethods(), len(b.carrier.Outbox()); n != 0 || sms != 0 {
			t.Fatalf("without a key: %d payment methods and %d SMS", n, sms)
		}
		first, again := b.post("/v1/payment_methods", "pm-1", body), b.post("/v1/payment_methods", "pm-1", body)
		if first.status != http.StatusCreated || string(again.body) != string(first.body) {
			t.Fatalf("with a key: %d %s / %d %s", first.status, first.body, again.status, again.body)
		}
		if n, sms := b.paymentMethods(), len(b.carrier.Outbox()); n != 1 || sms != 1 {
			t.Fatalf("one key: %d payment methods and %d SMS", n, sms)
		}
	})
}

// A US number cannot be billed through a Korean carrier, whichever the path.
func TestTheCarrierMustServeTheNumberOverHTTP(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		for path, body := range map[string]string{
			"/v1/charges":         `{"amount": 5000, "currency": "KRW", "msisdn": "+14155550100", "carrier": "skt"}`,
			"/v1/payment_methods": `{"msisdn": "+14155550100", "carrier": "skt"}`,
		} {
			r := b.post(path, "us-"+path, body)
			if r.status != http.StatusUnprocessableEntity || r.field("code") != "unknown_carrier" || r.field("param") != "carrier" || strings.Contains(string(r.body), "5550100") {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
		}
		if n, pms, sms := b.charges(), b.paymentMethods(), len(b.carrier.Outbox()); n != 0 || pms != 0 || sms != 0 {
			t.Fatalf("%d charges, %d payment methods, %d SMS for a number skt does not serve", n, pms, sms)
		}
	})
}

// The opt-in SMS failing is a 503 with Retry-After that is not kept: the
// retry with the same key runs again and makes the payment method.
func TestAnOptInWhoseCodeWasNotSentIsRetried(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		body := `{"msisdn": "+821012345678", "carrier": "skt"}`
		b.carrier.SetSMSError(errors.New("SMS gateway down"))
		r := b.post("/v1/payment_methods", "pm-sms", body)
		if r.status != http.StatusServiceUnavailable || r.field("code") != "carrier_unavailable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("SMS down: %d %v %s", r.status, r.header, r.body)
		}
		if n := b.paymentMethods(); n != 0 {
			t.Fatalf("%d payment methods after the SMS failed", n)
		}
		b.carrier.SetSMSError(nil)
		if r := b.post("/v1/payment_methods", "pm-sms", body); r.status != http.StatusCreated || r.field("status") != "requires_confirmation" {
			t.Fatalf("retry: %d %s", r.status, r.body)
		}
	})
}
