package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/riverqueue/river"

	"tollgate/internal/problem"
)

// A carrier bills only its own country's subscribers: the carrier a merchant
// names must serve the number, on every path that takes a number.
func TestTheNamedCarrierMustServeTheNumbersCountry(t *testing.T) {
	cases := []struct {
		name, msisdn, country string
		ok                    bool
	}{
		{"KR number on skt", "+821012345678", "", true},
		{"KR number in national form", "010-1234-5678", "KR", true},
		{"US number on skt", "+14155550100", "", false},
		{"US number in national form", "415-555-0100", "US", false},
		{"JP number on skt", "+819012345678", "", false},
	}
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		for _, tc := range cases {
			in := krw(5000)
			in.MSISDN, in.Country = tc.msisdn, tc.country
			ch, chErr := s.CreateCharge(ctx, b.merchant, newKey(), in)
			pm, pmErr := s.CreatePaymentMethod(ctx, b.merchant, newKey(), PaymentMethodParams{MSISDN: tc.msisdn, Country: tc.country, Carrier: "skt"})
			if tc.ok {
				if chErr != nil || pmErr != nil {
					t.Fatalf("%s: charge %v, payment method %v", tc.name, chErr, pmErr)
				}
				if ch.Status != StatusRequiresConfirmation || pm.Status != PMRequiresConfirmation {
					t.Fatalf("%s: charge %s, payment method %s", tc.name, ch.Status, pm.Status)
				}
				continue
			}
			for what, err := range map[string]error{"charge": chErr, "payment method": pmErr} {
				p := wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodeUnknownCarrier)
				if p.Param != "carrier" || !strings.Contains(p.Detail, "KR") || strings.Contains(p.Detail, "5550100") || strings.Contains(p.Detail, "12345678") {
					t.Errorf("%s, %s: %s (param %q)", tc.name, what, p.Detail, p.Param)
				}
			}
		}
		var charges, pms int64
		if err := b.store.DB.Model(&Charge{}).Count(&charges).Error; err != nil {
			t.Fatal(err)
		}
		if err := b.store.DB.Model(&PaymentMethod{}).Count(&pms).Error; err != nil {
			t.Fatal(err)
		}
		// Only the two KR rows made anything: one charge and one opt-in each.
		if charges != 2 || pms != 2 || len(b.carrier.Outbox()) != 4 {
			t.Fatalf("%d charges, %d payment methods, %d SMS; want 2, 2, 4", charges, pms, len(b.carrier.Outbox()))
		}
	})
}

// An opt-in whose code could not be sent is answered like a carrier that is
// down, and leaves no payment method behind: the merchant's retry with the
// same key makes one.
func TestAnOptInWhoseCodeWasNotSentLeavesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		key := newKey()
		in := PaymentMethodParams{MSISDN: "+821012345678", Carrier: "skt"}
		b.carrier.SetSMSError(errors.New("SMS gateway down"))
		_, err := s.CreatePaymentMethod(ctx, b.merchant, key, in)
		p := wantProblem(t, err, http.StatusServiceUnavailable, problem.CodeCarrierUnavailable)
		if p.RetryAfter < 1 || strings.Contains(p.Detail, "12345678") {
			t.Fatalf("Retry-After %d, detail %q", p.RetryAfter, p.Detail)
		}
		var n int64
		if err := b.store.DB.Model(&PaymentMethod{}).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%d payment methods left after the code was not sent", n)
		}
		// The expiry job it had scheduled finds nothing to do, and succeeds
		// rather than being retried for days.
		w := &paymentMethodExpiryWorker{s: s}
		if err := w.Work(ctx, &river.Job[PaymentMethodExpiryArgs]{Args: PaymentMethodExpiryArgs{PaymentMethodID: "pm_withdrawn"}}); err != nil {
			t.Fatalf("expiry of a withdrawn payment method: %v", err)
		}
		if len(b.carrier.Outbox()) != 0 {
			t.Fatalf("%d SMS sent", len(b.carrier.Outbox()))
		}

		b.carrier.SetSMSError(nil)
		pm, err := s.CreatePaymentMethod(ctx, b.merchant, key, in)
		if err != nil || pm.Status != PMRequiresConfirmation {
			t.Fatalf("retry with the same key: %v %v", pm, err)
		}
		if _, err := s.ConfirmPaymentMethod(ctx, b.merchant, pm.ID, lastCode(t, b)); err != nil {
			t.Fatal(err)
		}
	})
}
