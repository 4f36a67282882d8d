package billing

// A retry with a key that already made a charge is answered with that
// charge before anything else runs: no check of the request as a new one
// (caps, a revoked payment method, a per-number limit) can refuse it with
// "nothing was charged", and it spends nothing. These were found by a
// review of a change that had dropped the read by key before a charge.

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// A scheduled charge refused by the per-number limit when it comes due
// must be tried again (snooze), not left "scheduled" with its job done.
func TestARateLimitedScheduledChargeWaitsInsteadOfEnding(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			s, b, pm := chargesPerHour(t, d, 1)
			ctx := context.Background()
			sch, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 5000, b.clock.Now().Add(time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			b.clock.Advance(time.Hour)
			if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 1000, "")); err != nil {
				t.Fatal(err) // takes the number's one token
			}
			err = (&scheduledChargeWorker{s: s}).Work(ctx, &river.Job[ScheduledChargeArgs]{Args: ScheduledChargeArgs{ChargeID: sch.ID}})
			got, rerr := s.reload(ctx, sch)
			if rerr != nil {
				t.Fatal(rerr)
			}
			var snooze *river.JobSnoozeError
			if !errors.As(err, &snooze) && got.Status == StatusScheduled {
				t.Fatalf("rate-limited when due: job returned %v and the charge stays %s; nothing will ever run it", err, got.Status)
			}
		})
	}
}

// A retry (answer past retention, or the first answer was a 5xx and not
// kept) of a charge that succeeded must get that charge, not a cap refusal
// saying "nothing was charged".
func TestARetryOfAChargeIsNotRefusedByTheCapItFilled(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = krCaps(t) // ₩500,000 a month
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		key := newKey()
		first, err := s.CreateCharge(ctx, b.merchant, key, tap(pm, 300000, ""))
		if err != nil || first.Status != StatusSucceeded {
			t.Fatalf("first: %v %v", first, err)
		}
		again, err := s.CreateCharge(ctx, b.merchant, key, tap(pm, 300000, ""))
		if err != nil {
			t.Fatalf("retry with the same key answered %v; charge %s is %s", err, first.ID, first.Status)
		}
		if again.ID != first.ID {
			t.Fatalf("retry got %s, want %s", again.ID, first.ID)
		}
	})
}

// Same with the carrier's breaker open (or the payment method revoked
// since): the key's charge exists and should be the answer.
func TestARetryOfAChargeIsAnsweredAfterItsPaymentMethodIsRevoked(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		key := newKey()
		first, err := s.CreateCharge(ctx, b.merchant, key, tap(pm, 3000, ""))
		if err != nil || first.Status != StatusSucceeded {
			t.Fatalf("first: %v %v", first, err)
		}
		if _, err := s.RevokePaymentMethod(ctx, b.merchant, pm); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, key, tap(pm, 3000, "")); err != nil {
			t.Fatalf("retry with the same key answered %v; charge %s is %s", err, first.ID, first.Status)
		}
	})
}

// A retry answered with the key's charge must not use up the number's quota.
func TestRetriesAreNotCountedAgainstTheLimit(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			s, b, pm := chargesPerHour(t, d, 2)
			ctx := context.Background()
			key := newKey()
			for i := range 3 {
				if _, err := s.CreateCharge(ctx, b.merchant, key, tap(pm, 1000, "")); err != nil {
					t.Fatalf("try %d: %v", i, err)
				}
			}
			_, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 1000, ""))
			if err != nil {
				wantProblem(t, err, http.StatusTooManyRequests, problem.CodeRateLimited)
				t.Fatalf("one charge made, two retries of it: the second charge was refused: %v", err)
			}
		})
	}
}

// chargesPerHour is a bundle on d whose per-number limit allows n charges
// an hour, and an active one-tap payment method on a test number.
func chargesPerHour(t *testing.T, d store.Dialect, n int) (*Service, *testBundle, string) {
	t.Helper()
	s, b := setupWith(t, d, map[string]ratelimit.Quota{
		LimitSMSPerNumber:     {Count: 1000, Per: time.Minute},
		LimitChargesPerNumber: {Count: n, Per: time.Hour},
	})
	return s, b, oneTap(t, s, b, b.merchant, "+821012345678")
}
