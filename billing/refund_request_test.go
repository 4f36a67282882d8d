package billing

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
)

// subscriberIndex is the blind index of the test number, as /my knows it.
func subscriberIndex(t *testing.T, s *Service, number string) string {
	t.Helper()
	_, sub, err := s.IdentifySubscriber(number, "")
	if err != nil {
		t.Fatal(err)
	}
	return sub.Index
}

// A subscriber's request is approved (the refund made, the books balanced)
// or declined with a reason; one request per charge is open at a time.
func TestRefundRequestApprovedAndDeclined(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		ch := paid(t, s, b, 5000)

		rr, err := s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "  I never got the gems  ")
		if err != nil {
			t.Fatal(err)
		}
		if rr.Status != RefundRequestPending || rr.Amount != 5000 || rr.Reason != "I never got the gems" || rr.Overdue || rr.MSISDNMasked != ch.MSISDNMasked {
			t.Fatalf("request: %+v", rr)
		}
		_, err = s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "again")
		wantProblem(t, err, 409, problem.CodeRefundRequestOpen)

		got, err := s.ApproveRefundRequest(ctx, b.merchant, rr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != RefundRequestApproved || got.RefundID == nil || deref(got.ApprovedBy) != ApprovedByMerchant || got.AnsweredAt == nil {
			t.Fatalf("approved: %+v", got)
		}
		rf, err := s.GetRefund(ctx, b.merchant, ch.ID, *got.RefundID)
		if err != nil || rf.Status != RefundSucceeded || rf.Amount != 5000 {
			t.Fatalf("refund: %+v %v", rf, err)
		}
		if after, _ := s.GetCharge(ctx, b.merchant, ch.ID); after.Status != StatusRefunded {
			t.Fatalf("charge is %s", after.Status)
		}
		if b.carrier.Refunded(ch.ID) != 5000 {
			t.Fatalf("the carrier refunded %d", b.carrier.Refunded(ch.ID))
		}
		// Approving again answers it unchanged: no second refund.
		if again, err := s.ApproveRefundRequest(ctx, b.merchant, rr.ID); err != nil || deref(again.RefundID) != *got.RefundID {
			t.Fatalf("approve again: %+v %v", again, err)
		}
		_, err = s.DeclineRefundRequest(ctx, b.merchant, rr.ID, DeclineParams{Reason: "no"})
		wantProblem(t, err, 409, problem.CodeRefundRequestStateInvalid)
		if ty := b.events.types(rr.ID); len(ty) != 2 || ty[0] != EventRefundRequestCreated || ty[1] != EventRefundRequestApproved {
			t.Fatalf("events %v", ty)
		}
		// Fully refunded, nothing is left to ask for.
		_, err = s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "more")
		wantProblem(t, err, 422, problem.CodeRefundExceedsCharge)
		assertBalanced(t, b)

		// Declined: a reason is required, the charge is untouched.
		ch2 := paid(t, s, b, 3000)
		rr2, err := s.RequestRefundForSubscriber(ctx, false, me, ch2.ID, "changed my mind")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.DeclineRefundRequest(ctx, b.merchant, rr2.ID, DeclineParams{Reason: " "})
		wantProblem(t, err, 400, problem.CodeInvalidParameter)
		dec, err := s.DeclineRefundRequest(ctx, b.merchant, rr2.ID, DeclineParams{Reason: "The gems were used."})
		if err != nil {
			t.Fatal(err)
		}
		if dec.Status != RefundRequestDeclined || deref(dec.DeclineReason) != "The gems were used." || dec.RefundID != nil {
			t.Fatalf("declined: %+v", dec)
		}
		_, err = s.ApproveRefundRequest(ctx, b.merchant, rr2.ID)
		wantProblem(t, err, 409, problem.CodeRefundRequestStateInvalid)
		if after, _ := s.GetCharge(ctx, b.merchant, ch2.ID); after.Status != StatusSucceeded || after.RefundedAmount != 0 {
			t.Fatalf("declined charge: %s %d", after.Status, after.RefundedAmount)
		}
		if ty := b.events.types(rr2.ID); len(ty) != 2 || ty[1] != EventRefundRequestDeclined {
			t.Fatalf("events %v", ty)
		}
		// Declined, it is closed: the subscriber may ask again.
		if _, err := s.RequestRefundForSubscriber(ctx, false, me, ch2.ID, "please reconsider"); err != nil {
			t.Fatal(err)
		}
		mine, err := s.SubscriberRefundRequests(ctx, false, me, 10)
		if err != nil || len(mine) != 3 || mine[0].Status != RefundRequestPending || mine[1].Status != RefundRequestDeclined || mine[1].MerchantName != "Shop A" {
			t.Fatalf("subscriber's requests: %+v %v", mine, err)
		}
	})
}

// Only the subscriber who paid may ask; only the charge's merchant (or an
// admin) sees and answers; bad reasons and charges that cannot be refunded
// are refused with nothing written.
func TestRefundRequestBelongsToItsSubscriberAndMerchant(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		stranger := subscriberIndex(t, s, "+821099998888")
		ch := paid(t, s, b, 5000)

		_, err := s.RequestRefundForSubscriber(ctx, false, stranger, ch.ID, "mine now")
		wantProblem(t, err, 404, problem.CodeNotFound)
		_, err = s.RequestRefundForSubscriber(ctx, true, me, ch.ID, "live page")
		wantProblem(t, err, 404, problem.CodeNotFound)
		for _, bad := range []string{"", "   ", string(make([]rune, 256)), "bad\x00byte", "x\x1b[2J"} {
			_, err = s.RequestRefundForSubscriber(ctx, false, me, ch.ID, bad)
			wantProblem(t, err, 400, problem.CodeInvalidParameter)
		}
		open, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(1000))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.RequestRefundForSubscriber(ctx, false, me, open.ID, "not paid yet")
		wantProblem(t, err, 409, problem.CodeChargeStateInvalid)
		var n int64
		if err := b.store.DB.Model(&RefundRequest{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("%d requests written (%v)", n, err)
		}

		rr, err := s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "wrong item")
		if err != nil {
			t.Fatal(err)
		}
		m2, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		other := auth.Principal{MerchantID: m2.ID, Role: auth.RoleMerchant}
		_, err = s.GetRefundRequest(ctx, other, rr.ID)
		wantProblem(t, err, 404, problem.CodeNotFound)
		_, err = s.ApproveRefundRequest(ctx, other, rr.ID)
		wantProblem(t, err, 404, problem.CodeNotFound)
		_, err = s.DeclineRefundRequest(ctx, other, rr.ID, DeclineParams{Reason: "no"})
		wantProblem(t, err, 404, problem.CodeNotFound)
		if l, _, err := s.ListRefundRequests(ctx, other, RefundRequestListParams{}); err != nil || len(l) != 0 {
			t.Fatalf("other merchant lists %d (%v)", len(l), err)
		}
		if l, _, err := s.ListRefundRequests(ctx, b.merchant, RefundRequestListParams{Status: "pending"}); err != nil || len(l) != 1 || l[0].ID != rr.ID {
			t.Fatalf("own list: %+v %v", l, err)
		}
		if got, err := s.GetRefundRequest(ctx, auth.Principal{Role: auth.RoleAdmin}, rr.ID); err != nil || got.ID != rr.ID {
			t.Fatalf("admin get: %v", err)
		}
		_, _, err = s.ListRefundRequests(ctx, b.merchant, RefundRequestListParams{Status: "open"})
		wantProblem(t, err, 400, problem.CodeInvalidParameter)
		_, _, err = s.ListRefundRequests(ctx, b.merchant, RefundRequestListParams{Overdue: "yes"})
		wantProblem(t, err, 400, problem.CodeInvalidParameter)
		if got, _ := s.GetRefundRequest(ctx, b.merchant, rr.ID); got.Status != RefundRequestPending {
			t.Fatalf("request is %s", got.Status)
		}
	})
}

// Below the merchant's amount a request is approved at once; at or above
// it, or with no setting, it waits for the merchant.
func TestRefundRequestAutoApproved(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		before := paid(t, s, b, 500)
		if rr, err := s.RequestRefundForSubscriber(ctx, false, me, before.ID, "no setting yet"); err != nil || rr.Status != RefundRequestPending {
			t.Fatalf("without a setting: %+v %v", rr, err)
		}

		_, err := s.SetRefundRequestSettings(ctx, b.merchant, RefundRequestSettingsParams{Currency: "KRW", AutoApproveBelow: i64(-1)})
		wantProblem(t, err, 400, problem.CodeInvalidParameter)
		_, err = s.SetRefundRequestSettings(ctx, b.merchant, RefundRequestSettingsParams{Currency: "XXX", AutoApproveBelow: i64(1)})
		wantProblem(t, err, 422, problem.CodeUnsupportedCurrency)
		if _, err := s.SetRefundRequestSettings(ctx, b.merchant, RefundRequestSettingsParams{Currency: "KRW", AutoApproveBelow: i64(5000)}); err != nil {
			t.Fatal(err)
		}
		st, err := s.SetRefundRequestSettings(ctx, b.merchant, RefundRequestSettingsParams{Currency: "KRW", AutoApproveBelow: i64(1000)})
		if err != nil || st.AutoApproveBelow != 1000 {
			t.Fatalf("settings: %+v %v", st, err)
		}
		if l, err := s.ListRefundRequestSettings(ctx, b.merchant); err != nil || len(l) != 1 || l[0].AutoApproveBelow != 1000 {
			t.Fatalf("settings list: %+v %v", l, err)
		}

		small := paid(t, s, b, 999)
		rr, err := s.RequestRefundForSubscriber(ctx, false, me, small.ID, "too small to argue")
		if err != nil {
			t.Fatal(err)
		}
		if rr.Status != RefundRequestApproved || deref(rr.ApprovedBy) != ApprovedAutomatically || rr.RefundID == nil {
			t.Fatalf("auto-approved: %+v", rr)
		}
		if b.carrier.Refunded(small.ID) != 999 {
			t.Fatalf("carrier refunded %d", b.carrier.Refunded(small.ID))
		}
		if ty := b.events.types(rr.ID); len(ty) != 2 || ty[1] != EventRefundRequestApproved {
			t.Fatalf("events %v", ty)
		}

		big := paid(t, s, b, 1000)
		rr2, err := s.RequestRefundForSubscriber(ctx, false, me, big.ID, "not below the amount")
		if err != nil || rr2.Status != RefundRequestPending || b.carrier.Refunded(big.ID) != 0 {
			t.Fatalf("at the amount: %+v %v", rr2, err)
		}
		assertBalanced(t, b)
	})
}

// Unanswered for three days on the clock, a request is overdue: admin keys
// list overdue requests across merchants; an answered one is never overdue.
func TestRefundRequestOverdue(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		admin := auth.Principal{Role: auth.RoleAdmin}
		rr, err := s.RequestRefundForSubscriber(ctx, false, me, paid(t, s, b, 5000).ID, "please")
		if err != nil {
			t.Fatal(err)
		}
		answered, err := s.RequestRefundForSubscriber(ctx, false, me, paid(t, s, b, 4000).ID, "please too")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeclineRefundRequest(ctx, b.merchant, answered.ID, DeclineParams{Reason: "no"}); err != nil {
			t.Fatal(err)
		}

		b.clock.Advance(RefundRequestOverdueAfter - time.Second)
		if got, _ := s.GetRefundRequest(ctx, admin, rr.ID); got.Overdue {
			t.Fatal("overdue a second early")
		}
		if l, _, err := s.ListRefundRequests(ctx, admin, RefundRequestListParams{Overdue: "true"}); err != nil || len(l) != 0 {
			t.Fatalf("overdue early: %d %v", len(l), err)
		}

		b.clock.Advance(time.Second)
		m2, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := s.ListRefundRequests(ctx, admin, RefundRequestListParams{Overdue: "true"})
		if err != nil || len(l) != 1 || l[0].ID != rr.ID || !l[0].Overdue {
			t.Fatalf("admin's overdue list: %+v %v", l, err)
		}
		if l, _, _ := s.ListRefundRequests(ctx, admin, RefundRequestListParams{Overdue: "false"}); len(l) != 1 || l[0].ID != answered.ID || l[0].Overdue {
			t.Fatalf("admin's not-overdue list: %+v", l)
		}
		if l, _, _ := s.ListRefundRequests(ctx, auth.Principal{MerchantID: m2.ID, Role: auth.RoleMerchant}, RefundRequestListParams{Overdue: "true"}); len(l) != 0 {
			t.Fatalf("another merchant sees %d overdue", len(l))
		}
		// Answered late, it is no longer overdue.
		got, err := s.ApproveRefundRequest(ctx, b.merchant, rr.ID)
		if err != nil || got.Overdue || got.Status != RefundRequestApproved {
			t.Fatalf("approved late: %+v %v", got, err)
		}
	})
}

// An approval the carrier's rules refuse (its refund window closed) answers
// that problem, asks the carrier nothing and leaves the request pending;
// auto-approval refused likewise leaves it to the merchant.
func TestRefusedApprovalLeavesTheRequestPending(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		seoul, _ := time.LoadLocation("Asia/Seoul")
		b.carrier.SetCapabilities(func(c *carriers.Capabilities) {
			c.RefundWindow = carriers.RefundWindow{Kind: "calendar_month", Location: seoul}
		})
		b.clock.Set(time.Date(2026, 11, 30, 23, 0, 0, 0, seoul))
		ch := paid(t, s, b, 5000)
		rr, err := s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "late")
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Hour) // December in Seoul: the window has closed
		_, err = s.ApproveRefundRequest(ctx, b.merchant, rr.ID)
		wantProblem(t, err, 422, problem.CodeRefundWindowClosed)
		if got, _ := s.GetRefundRequest(ctx, b.merchant, rr.ID); got.Status != RefundRequestPending || got.RefundID != nil {
			t.Fatalf("after a refused approval: %+v", got)
		}
		if b.carrier.RefundedAny() {
			t.Fatal("the carrier was asked to refund")
		}
		if ty := b.events.types(rr.ID); len(ty) != 1 {
			t.Fatalf("events %v", ty)
		}

		if _, err := s.SetRefundRequestSettings(ctx, b.merchant, RefundRequestSettingsParams{Currency: "KRW", AutoApproveBelow: i64(10_000)}); err != nil {
			t.Fatal(err)
		}
		b.clock.Set(time.Date(2026, 11, 30, 23, 0, 0, 0, seoul))
		ch2 := paid(t, s, b, 2000)
		b.clock.Advance(time.Hour)
		rr2, err := s.RequestRefundForSubscriber(ctx, false, me, ch2.ID, "late too")
		if err != nil || rr2.Status != RefundRequestPending {
			t.Fatalf("auto-approval refused: %+v %v", rr2, err)
		}
		// The merchant can still decline it.
		if dec, err := s.DeclineRefundRequest(ctx, b.merchant, rr2.ID, DeclineParams{Reason: "Refunded as store credit."}); err != nil || dec.Status != RefundRequestDeclined {
			t.Fatalf("decline: %+v %v", dec, err)
		}
	})
}

// A refund the carrier refuses leaves the request pending; approving again
// makes a new refund.
func TestRefundRequestRetriedAfterTheCarrierRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		ch := paid(t, s, b, 5000)
		rr, err := s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "please")
		if err != nil {
			t.Fatal(err)
		}
		b.carrier.SetRefundAnswer(func(carriers.RefundRequest) (carriers.Result, error) {
			return carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined}, nil
		})
		_, err = s.ApproveRefundRequest(ctx, b.merchant, rr.ID)
		p := wantProblem(t, err, 422, problem.CodeRefundFailed)
		if p.Extra["refund"] == nil {
			t.Fatalf("problem names no refund: %+v", p)
		}
		if got, _ := s.GetRefundRequest(ctx, b.merchant, rr.ID); got.Status != RefundRequestPending || got.ApproveAttempts != 1 {
			t.Fatalf("after a refused refund: %+v", got)
		}
		b.carrier.SetRefundAnswer(nil)
		got, err := s.ApproveRefundRequest(ctx, b.merchant, rr.ID)
		if err != nil || got.Status != RefundRequestApproved || deref(got.RefundID) == p.Extra["refund"] {
			t.Fatalf("second approval: %+v %v", got, err)
		}
		assertBalanced(t, b)
	})
}

// Approvals at once make one refund and one event.
func TestConcurrentApprovalsRefundOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		me := subscriberIndex(t, s, "+821012345678")
		ch := paid(t, s, b, 5000)
		rr, err := s.RequestRefundForSubscriber(ctx, false, me, ch.ID, "please")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		refunds := make([]string, 4)
		for i := range refunds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.ApproveRefundRequest(ctx, b.merchant, rr.ID)
				var p *problem.Problem
				if errors.As(err, &p) && p.Code == problem.CodeIdempotencyInProgress {
					return // another approval was mid-way: retry later
				}
				if err != nil {
					t.Error(err)
					return
				}
				refunds[i] = deref(got.RefundID)
			}()
		}
		wg.Wait()
		final, err := s.GetRefundRequest(ctx, b.merchant, rr.ID)
		if err != nil || final.Status != RefundRequestApproved {
			t.Fatalf("after the approvals: %+v %v", final, err)
		}
		for _, r := range refunds {
			if r != "" && r != *final.RefundID {
				t.Fatalf("refunds %v, request's %s", refunds, *final.RefundID)
			}
		}
		var n int64
		if err := b.store.DB.Model(&Refund{}).Where("charge_id = ?", ch.ID).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("%d refunds (%v)", n, err)
		}
		if b.carrier.Refunded(ch.ID) != 5000 {
			t.Fatalf("carrier refunded %d", b.carrier.Refunded(ch.ID))
		}
		if ty := b.events.types(rr.ID); len(ty) != 2 {
			t.Fatalf("events %v", ty)
		}
		assertBalanced(t, b)
	})
}
