package billing

import (
	"context"
	"net/http"
	"testing"
	"time"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/storetest"
)

// shippedLimits are configs/default.yaml's limits per phone number.
var shippedLimits = map[string]ratelimit.Quota{
	LimitSMSPerNumber:     {Count: 5, Per: 10 * time.Minute},
	LimitChargesPerNumber: {Count: 30, Per: time.Minute},
}

func eachStoreLimited(t *testing.T, fn func(t *testing.T, s *Service, b *testBundle)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, b := setupWith(t, d, shippedLimits)
			fn(t, s, b)
		})
	}
}

// Five codes in ten minutes to one phone, whichever merchants ask and
// whether for charges or payment methods; the sixth is refused with
// Retry-After, sends nothing and records nothing, and the phone's quota
// comes back with time. Another phone is not affected.
func TestConfirmationCodesToOneNumberAreLimitedWhateverTheMerchant(t *testing.T) {
	eachStoreLimited(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		other, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		shopB := auth.Principal{MerchantID: other.ID, Role: auth.RoleMerchant}
		pm := PaymentMethodParams{MSISDN: "+821012345678", Carrier: "skt"}
		for i, make := range []func() error{
			func() error { _, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(1000)); return err },
			func() error { _, err := s.CreateCharge(ctx, shopB, newKey(), krw(1000)); return err },
			func() error { _, err := s.CreatePaymentMethod(ctx, b.merchant, newKey(), pm); return err },
			func() error { _, err := s.CreatePaymentMethod(ctx, shopB, newKey(), pm); return err },
			func() error { _, err := s.CreateCharge(ctx, shopB, newKey(), krw(2000)); return err },
		} {
			if err := make(); err != nil {
				t.Fatalf("code %d: %v", i+1, err)
			}
		}
		sent := len(b.carrier.Outbox())
		if sent != 5 {
			t.Fatalf("%d SMS sent, want 5", sent)
		}
		var charges int64
		b.store.DB.Model(&Charge{}).Count(&charges)

		_, err = s.CreateCharge(ctx, shopB, newKey(), krw(1000))
		p := wantProblem(t, err, http.StatusTooManyRequests, problem.CodeRateLimited)
		if p.RetryAfter < 1 || p.RetryAfter > 120 {
			t.Fatalf("Retry-After %d s, want 1..120", p.RetryAfter)
		}
		_, err = s.CreatePaymentMethod(ctx, b.merchant, newKey(), pm)
		wantProblem(t, err, http.StatusTooManyRequests, problem.CodeRateLimited)
		var after, pms int64
		b.store.DB.Model(&Charge{}).Count(&after)
		b.store.DB.Model(&PaymentMethod{}).Count(&pms)
		if n := len(b.carrier.Outbox()); n != sent || after != charges || pms != 2 {
			t.Fatalf("refused requests left %d SMS (want %d), %d charges (want %d), %d payment methods (want 2)", n, sent, after, charges, pms)
		}

		if _, err := s.CreateCharge(ctx, shopB, newKey(), ChargeParams{Amount: i64(1000), Currency: "KRW", MSISDN: "+821099998888", Carrier: "skt"}); err != nil {
			t.Fatalf("another phone number: %v", err)
		}
		b.clock.Advance(time.Duration(p.RetryAfter) * time.Second)
		if _, err := s.CreateCharge(ctx, shopB, newKey(), krw(1000)); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
	})
}

// One-tap charges on one phone: thirty a minute, then refused before the
// carrier is called, whichever merchant asks.
func TestChargesOnOneNumberAreLimitedBeforeTheCarrierIsCalled(t *testing.T) {
	eachStoreLimited(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm, err := s.CreatePaymentMethod(ctx, b.merchant, newKey(), PaymentMethodParams{MSISDN: "+821055554444", Carrier: "skt"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmPaymentMethod(ctx, b.merchant, pm.ID, lastCode(t, b)); err != nil {
			t.Fatal(err)
		}
		oneTap := ChargeParams{Amount: i64(1000), Currency: "KRW", PaymentMethod: pm.ID}
		for i := range 30 {
			if _, err := s.CreateCharge(ctx, b.merchant, newKey(), oneTap); err != nil {
				t.Fatalf("charge %d: %v", i+1, err)
			}
		}
		calls := b.carrier.ChargeCalls()
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), oneTap)
		wantProblem(t, err, http.StatusTooManyRequests, problem.CodeRateLimited)
		if b.carrier.ChargeCalls() != calls {
			t.Fatal("a refused charge reached the carrier")
		}
		// A retry with a key that already made a charge is not a new
		// charge: it is answered, not counted.
		key := newKey()
		b.clock.Advance(2 * time.Second)
		first, err := s.CreateCharge(ctx, b.merchant, key, oneTap)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateCharge(ctx, b.merchant, key, oneTap)
		if err != nil || again.ID != first.ID {
			t.Fatalf("same key again: %v, %v; want charge %s", again, err, first.ID)
		}
	})
}

// A payment method's Idempotency-Key, once its stored answer is gone, still
// names that payment method: the same request gets it back without a new
// SMS, another number under the key is refused.
func TestAPaymentMethodKeyIsNotReusedForAnotherNumber(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		in := PaymentMethodParams{MSISDN: "+821012345678", Carrier: "skt"}
		pm, err := s.CreatePaymentMethod(ctx, b.merchant, "pm-key", in)
		if err != nil {
			t.Fatal(err)
		}
		sent := len(b.carrier.Outbox())
		again, err := s.CreatePaymentMethod(ctx, b.merchant, "pm-key", in)
		if err != nil || again.ID != pm.ID {
			t.Fatalf("same request again: %v, %v; want %s", again, err, pm.ID)
		}
		if len(b.carrier.Outbox()) != sent {
			t.Fatal("the repeated request sent another code")
		}
		_, err = s.CreatePaymentMethod(ctx, b.merchant, "pm-key", PaymentMethodParams{MSISDN: "+821099998888", Carrier: "skt"})
		wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodeIdempotencyKeyReused)
	})
}
