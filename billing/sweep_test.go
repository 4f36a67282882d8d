package billing

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"tollgate/carriers"
)

// A request that dies between recording the intent and applying the
// carrier's answer leaves a processing charge that no status job asks
// about: the sweep gives it one once its job would have been due, once,
// and that job settles the charge with what the carrier billed.
func TestTheSweepFindsAChargeWhoseRequestDied(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		b.carrier.SetAnswer(func(carriers.ChargeRequest) (carriers.Result, error) {
			panic("the gateway died during the carrier call")
		})
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the request did not die in the carrier call")
				}
			}()
			_, _ = s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 3000, ""))
		}()
		b.carrier.SetAnswer(nil)
		var ch Charge
		if err := b.store.DB.Where("payment_method_id = ?", pm).Take(&ch).Error; err != nil {
			t.Fatal(err)
		}
		if ch.Status != StatusProcessing || len(statusJobRows(t, s)) != 0 {
			t.Fatalf("the dead request left %s with %d status jobs, want processing with none", ch.Status, len(statusJobRows(t, s)))
		}
		sweep := func(want int) {
			t.Helper()
			n, err := s.SweepCharges(ctx)
			if err != nil || n != want {
				t.Fatalf("sweep found %d charges (%v), want %d", n, err, want)
			}
		}
		sweep(0) // its request may still be applying the answer
		b.clock.Advance(s.statusDelay() + time.Second)
		unwatched := func(want int64) {
			t.Helper()
			if n, err := s.UnwatchedCharges(ctx, b.clock.Now().Add(-s.statusDelay())); err != nil || n != want {
				t.Fatalf("unwatched charges: %d (%v), want %d", n, err, want)
			}
		}
		unwatched(1)
		sweep(1)
		unwatched(0)
		sweep(0) // it has its job now
		jobs := statusJobRows(t, s)
		var args ChargeStatusArgs
		if len(jobs) != 1 || json.Unmarshal(jobs[0].EncodedArgs, &args) != nil || args.ChargeID != ch.ID {
			t.Fatalf("status jobs after the sweep: %d, for %q; want one for %s", len(jobs), args.ChargeID, ch.ID)
		}
		b.carrier.SetStatus(func(ref carriers.Reference) (carriers.Result, error) {
			return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + ref.ClientReference}, nil
		})
		workStatusJob(t, s, b, jobs[0])
		if got, err := s.reload(ctx, &ch); err != nil || got.Status != StatusSucceeded {
			t.Fatalf("after its status job: %+v, %v; want succeeded", got, err)
		}
		sweep(0)
	})
}
