package billing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"tollgate/carriers"
)

// processing makes a charge that waits for the carrier: its code was
// confirmed, the carrier's answer was lost.
func processing(t *testing.T, s *Service, b *testBundle) *Charge {
	t.Helper()
	b.carrier.SetAnswer(func(carriers.ChargeRequest) (carriers.Result, error) {
		return carriers.Result{}, fmt.Errorf("read answer: %w", carriers.ErrOutcomeUnknown)
	})
	defer b.carrier.SetAnswer(nil)
	out := paid(t, s, b, 5000) // confirmed; the answer was lost
	if out.Status != StatusProcessing {
		t.Fatalf("charge with an unknown outcome is %s, want processing", out.Status)
	}
	return out
}

func TestWhatACarrierAnswerDoesToAProcessingCharge(t *testing.T) {
	cases := []struct {
		name    string
		res     carriers.Result
		err     error
		status  Status
		failure string
	}{
		{"billed", carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "c1"}, nil, StatusSucceeded, ""},
		{"declined for balance", carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureInsufficientBalance, DeclineCode: "E42"}, nil, StatusFailed, carriers.FailureInsufficientBalance},
		{"declined without a code", carriers.Result{Outcome: carriers.OutcomeDeclined}, nil, StatusFailed, carriers.FailureCarrierDeclined},
		{"still pending", carriers.Result{Outcome: carriers.OutcomePending, CarrierReference: "c2"}, nil, StatusProcessing, ""},
		{"never sent", carriers.Result{}, carriers.ErrNotSent, StatusFailed, carriers.FailureCarrierUnavailable},
		{"carrier unavailable", carriers.Result{}, &carriers.UnavailableError{Err: carriers.ErrUnavailable}, StatusFailed, carriers.FailureCarrierUnavailable},
		{"rate limited", carriers.Result{}, carriers.ErrRateLimited, StatusFailed, carriers.FailureCarrierUnavailable},
		{"refused as invalid", carriers.Result{}, carriers.ErrInvalidRequest, StatusFailed, carriers.FailureCarrierDeclined},
		// Sent with no answer, or an error nobody classified: the carrier
		// may have billed, so the charge waits for the status query.
		{"outcome unknown", carriers.Result{}, carriers.ErrOutcomeUnknown, StatusProcessing, ""},
		{"unclassified error", carriers.Result{}, errors.New("tls: bad record"), StatusProcessing, ""},
		{"not found yet", carriers.Result{}, carriers.ErrNotFound, StatusProcessing, ""},
	}
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		for _, tc := range cases {
			ch := processing(t, s, b)
			if err := s.ApplyChargeResult(ctx, ch.ID, tc.res, tc.err); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			// The same answer again changes nothing.
			if err := s.ApplyChargeResult(ctx, ch.ID, tc.res, tc.err); err != nil {
				t.Fatalf("%s again: %v", tc.name, err)
			}
			cur, _ := s.GetCharge(ctx, b.merchant, ch.ID)
			if cur.Status != tc.status || deref(cur.FailureCode) != tc.failure {
				t.Errorf("%s: charge is %s/%s, want %s/%s", tc.name, cur.Status, deref(cur.FailureCode), tc.status, tc.failure)
			}
			if tc.res.DeclineCode != "" && deref(cur.CarrierDeclineCode) != tc.res.DeclineCode {
				t.Errorf("%s: the carrier's own code %q was not kept", tc.name, tc.res.DeclineCode)
			}
		}
		assertBalanced(t, b)
	})
}

func TestAFinalChargeIsNeverMovedBack(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := processing(t, s, b)
		declined := carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureSubscriberBlocked}
		if err := s.ApplyChargeResult(ctx, ch.ID, declined, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.ApplyChargeResult(ctx, ch.ID, carriers.Result{Outcome: carriers.OutcomeSucceeded}, nil); err != nil {
			t.Fatal(err)
		}
		cur, _ := s.GetCharge(ctx, b.merchant, ch.ID)
		if cur.Status != StatusFailed {
			t.Fatalf("a failed charge moved to %s", cur.Status)
		}
		assertBalanced(t, b)
	})
}

func TestConcurrentSuccessesPostTheLedgerOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := processing(t, s, b)
		ok := carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "c1"}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := s.ApplyChargeResult(ctx, ch.ID, ok, nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var postings int64
		b.store.DB.Raw(`SELECT COUNT(*) FROM ledger_entries WHERE charge_id = ?`, ch.ID).Scan(&postings)
		if postings != 2 {
			t.Fatalf("%d ledger entries for one success, want 2", postings)
		}
		if got := b.events.types(ch.ID); len(got) != 3 || got[2] != EventChargeSucceeded {
			t.Fatalf("events %v: want succeeded told once", got)
		}
		assertBalanced(t, b)
	})
}

func TestTheStatusJobFinishesWhatTheCallLeftUnknown(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		w := &chargeStatusWorker{s: s}
		work := func(id string) error {
			return w.Work(ctx, &river.Job[ChargeStatusArgs]{Args: ChargeStatusArgs{ChargeID: id}})
		}

		// The carrier billed it; only the answer was lost.
		billed := processing(t, s, b)
		b.carrier.Bill(billed.ID, billed.Amount)
		if err := work(billed.ID); err != nil {
			t.Fatal(err)
		}

		// The carrier has never heard of it: not before the grace period
		// is over (the request may still arrive), then failed.
		lost := processing(t, s, b)
		var snooze *river.JobSnoozeError
		if err := work(lost.ID); !errors.As(err, &snooze) {
			t.Fatalf("unknown to the carrier at once: %v, want a snooze", err)
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, lost.ID); cur.Status != StatusProcessing {
			t.Fatalf("failed at once: %s", cur.Status)
		}
		b.clock.Advance(s.statusDelay() + notSeenAfter + time.Second)
		if err := work(lost.ID); err != nil {
			t.Fatal(err)
		}

		// The carrier cannot be asked: keep asking, never fail it.
		b.carrier.SetStatus(func(carriers.Reference) (carriers.Result, error) {
			return carriers.Result{}, carriers.ErrOutcomeUnknown
		})
		unsure := processing(t, s, b)
		b.clock.Advance(time.Hour)
		if err := work(unsure.ID); !errors.As(err, &snooze) {
			t.Fatalf("status unknown: %v, want a snooze", err)
		}

		for id, want := range map[string]Status{billed.ID: StatusSucceeded, lost.ID: StatusFailed, unsure.ID: StatusProcessing} {
			cur, _ := s.GetCharge(ctx, b.merchant, id)
			if cur.Status != want {
				t.Errorf("%s is %s, want %s", id, cur.Status, want)
			}
		}
		assertBalanced(t, b)
	})
}

func TestPollBackoffGrowsWithAgeWithinBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ age, want time.Duration }{
		{0, 2 * time.Second}, {4 * time.Second, 2 * time.Second}, {time.Minute, 15 * time.Second},
		{time.Hour, 10 * time.Minute}, {72 * time.Hour, 10 * time.Minute},
	} {
		if got := pollBackoff(tc.age); got != tc.want {
			t.Errorf("pollBackoff(%s) = %s, want %s", tc.age, got, tc.want)
		}
	}
}

// A status job that fails (the charge's row unreadable, a write refused)
// is tried again later, never handed to river's attempt limit to discard:
// the status job is what keeps a charge from being lost.
func TestAFailingStatusJobIsNeverDiscarded(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		var snooze *river.JobSnoozeError
		err := (&chargeStatusWorker{s: s}).Work(ctx, &river.Job[ChargeStatusArgs]{Args: ChargeStatusArgs{ChargeID: "ch_missing"}})
		if !errors.As(err, &snooze) {
			t.Fatalf("charge status job on an unreadable charge: %v, want a snooze", err)
		}
		err = (&refundStatusWorker{s: s}).Work(ctx, &river.Job[RefundStatusArgs]{Args: RefundStatusArgs{RefundID: "re_missing"}})
		if !errors.As(err, &snooze) {
			t.Fatalf("refund status job on an unreadable refund: %v, want a snooze", err)
		}
	})
}
