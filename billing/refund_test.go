package billing

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/internal/problem"
)

func TestRefundsFullPartialAndTooMuch(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := paid(t, s, b, 5000)
		rf, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(2000), Reason: "one item"})
		if err != nil || rf.Status != RefundSucceeded {
			t.Fatalf("partial refund: %+v %v", rf, err)
		}
		_, err = s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(3001)})
		p := wantProblem(t, err, 422, problem.CodeRefundExceedsCharge)
		if p.Extra["refundable_amount"] != int64(3000) {
			t.Fatalf("refundable_amount %v, want 3000", p.Extra["refundable_amount"])
		}
		rest, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{})
		if err != nil || rest.Amount != 3000 {
			t.Fatalf("refund of the rest: %+v %v", rest, err)
		}
		cur, _ := s.GetCharge(ctx, b.merchant, ch.ID)
		if cur.Status != StatusRefunded || cur.RefundedAmount != 5000 {
			t.Fatalf("charge after full refund: %s, refunded %d", cur.Status, cur.RefundedAmount)
		}
		_, err = s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{})
		wantProblem(t, err, 422, problem.CodeRefundExceedsCharge)
		if got := b.carrier.Refunded(ch.ID); got != 5000 {
			t.Fatalf("the carrier refunded %d, want 5000", got)
		}
		assertBalanced(t, b)
	})
}

func TestConcurrentRefundsNeverExceedTheCharge(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := paid(t, s, b, 5000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				_, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(2000)})
				var p *problem.Problem
				switch {
				case err == nil:
					mu.Lock()
					ok++
					mu.Unlock()
				case errors.As(err, &p) && p.Code == problem.CodeRefundExceedsCharge:
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 2 {
			t.Fatalf("%d refunds of 2000 on a 5000 charge succeeded, want 2", ok)
		}
		if got := b.carrier.Refunded(ch.ID); got != 4000 {
			t.Fatalf("the carrier refunded %d, want 4000", got)
		}
		assertBalanced(t, b)
	})
}

func TestRefundRulesOfTheCarrier(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		seoul, _ := time.LoadLocation("Asia/Seoul")
		b.carrier.SetCapabilities(func(c *carriers.Capabilities) {
			c.PartialRefunds = false
			c.RefundWindow = carriers.RefundWindow{Kind: "calendar_month", Location: seoul}
		})

		// 2026-11-30 23:00 in Seoul: the window closes in an hour.
		b.clock.Set(time.Date(2026, 11, 30, 23, 0, 0, 0, seoul))
		ch := paid(t, s, b, 5000)
		_, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(1000)})
		wantProblem(t, err, 422, problem.CodeRefundNotSupported)

		b.clock.Advance(time.Hour)
		_, err = s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{})
		wantProblem(t, err, 422, problem.CodeRefundWindowClosed)
		if b.carrier.RefundedAny() {
			t.Fatal("the carrier was asked to refund")
		}
	})
}

// A refund's result arriving many times at once (its call, a callback, the
// status job) is applied once: one posting, one event.
func TestConcurrentRefundResultsAreAppliedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := paid(t, s, b, 5000)
		b.carrier.SetRefundAnswer(func(carriers.RefundRequest) (carriers.Result, error) {
			return carriers.Result{Outcome: carriers.OutcomePending}, nil
		})
		rf, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(1500)})
		if err != nil || rf.Status != RefundPending {
			t.Fatalf("refund: %+v %v", rf, err)
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := s.ApplyRefundResult(ctx, rf.ID, carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "r1"}, nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		cur, _ := s.GetCharge(ctx, b.merchant, ch.ID)
		if cur.Status != StatusPartiallyRefunded || cur.RefundedAmount != 1500 {
			t.Fatalf("charge is %s with %d refunded, want partially_refunded 1500", cur.Status, cur.RefundedAmount)
		}
		var entries int64
		b.store.DB.Raw("SELECT COUNT(*) FROM ledger_entries WHERE charge_id = ?", ch.ID).Scan(&entries)
		if entries != 4 {
			t.Fatalf("%d ledger entries, want 4 (one charge posting, one refund posting)", entries)
		}
		if got := b.events.types(rf.ID); len(got) != 1 || got[0] != EventRefundSucceeded {
			t.Fatalf("refund events %v, want one refund.succeeded", got)
		}
		assertBalanced(t, b)
	})
}
