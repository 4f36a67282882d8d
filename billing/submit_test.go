package billing

import (
	"context"
	"slices"
	"testing"

	"tollgate/carriers"
)

// submit applies the carrier's answer to the charge it holds without
// reading it again; when a callback moved the charge while the call was in
// flight, the answer's compare-and-swap finds nothing, and the charge as
// the callback left it is what the merchant gets: never a second move, a
// second posting or a success over a failure.
func TestAnAnswerThatLostTheRaceToACallbackChangesNothing(t *testing.T) {
	cases := []struct {
		name     string
		callback carriers.Result
		want     Status
	}{
		{"callback billed first", carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "cb-1"}, StatusSucceeded},
		{"callback declined first", carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureInsufficientBalance}, StatusFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
				ctx := context.Background()
				b.carrier.SetAnswer(func(r carriers.ChargeRequest) (carriers.Result, error) {
					if err := s.ApplyChargeResult(ctx, r.Reference, c.callback, nil); err != nil {
						t.Error(err)
					}
					return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "call-1"}, nil
				})
				out := paid(t, s, b, 5000) // the callback lands during the confirmation's carrier call
				if out.Status != c.want || deref(out.CarrierReference) == "call-1" {
					t.Fatalf("answered %s (carrier reference %q); want %s as the callback left it", out.Status, deref(out.CarrierReference), c.want)
				}
				stored, err := s.GetCharge(ctx, b.merchant, out.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stored.Status != c.want || stored.UpdatedAt != out.UpdatedAt {
					t.Fatalf("stored %s at %s, answered %s at %s: the answer is not the row", stored.Status, stored.UpdatedAt, out.Status, out.UpdatedAt)
				}
				var postings int64
				if err := b.store.DB.Table("ledger_entries").Where("charge_id = ?", out.ID).Count(&postings).Error; err != nil {
					t.Fatal(err)
				}
				if want := map[Status]int64{StatusSucceeded: 2, StatusFailed: 0}[c.want]; postings != want {
					t.Fatalf("%d ledger entries; want %d", postings, want)
				}
				if n := slices.Index(b.events.types(out.ID), chargeEvent(c.want)); n < 0 || slices.Contains(b.events.types(out.ID)[n+1:], chargeEvent(c.want)) {
					t.Fatalf("events %v; want %s once", b.events.types(out.ID), chargeEvent(c.want))
				}
				assertBalanced(t, b)
			})
		})
	}
}
