package billing

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"tollgate/carriers"
	"tollgate/internal/store"
)

// pending makes one-tap charges the carrier leaves processing.
func pending(t *testing.T, s *Service, b *testBundle, pms ...string) []*Charge {
	t.Helper()
	b.carrier.SetAnswer(func(carriers.ChargeRequest) (carriers.Result, error) {
		return carriers.Result{Outcome: carriers.OutcomePending}, nil
	})
	defer b.carrier.SetAnswer(nil)
	var out []*Charge
	for i, pm := range pms {
		ch, err := s.CreateCharge(context.Background(), b.merchant, newKey(), tap(pm, int64(1000*(i+1)), ""))
		if err != nil || ch.Status != StatusProcessing {
			t.Fatalf("charge %d: %+v %v", i, ch, err)
		}
		out = append(out, ch)
	}
	return out
}

// One batch of successes writes what one at a time writes: the move, the
// event, the ledger, the month's spend and the receipt of each; a second
// charge of one month's spend and a charge moved meanwhile are left to
// their callers, which apply them as before.
func TestABatchOfSuccessesWritesWhatOneAtATimeDoes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		if b.store.Dialect != store.Postgres {
			t.Skip("successes are batched on PostgreSQL only")
		}
		s.cfg.Caps = krCaps(t) // receipts on
		ctx := context.Background()
		a, c, d := oneTap(t, s, b, b.merchant, "+821011110001"), oneTap(t, s, b, b.merchant, "+821011110002"), oneTap(t, s, b, b.merchant, "+821011110003")
		chs := pending(t, s, b, a, a, c, d)
		// The last is failed by something else first (a status job, say).
		if err := s.ApplyChargeResult(ctx, chs[3].ID, carriers.Result{Outcome: carriers.OutcomeDeclined}, nil); err != nil {
			t.Fatal(err)
		}
		var in []success
		for i, ch := range chs {
			in = append(in, success{held: ch, res: carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: fmt.Sprint("ref-", i)}})
		}
		out, err := s.applySuccesses(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if out[0] == nil || out[1] != nil || out[2] == nil || out[3] != nil {
			t.Fatalf("moved %v; want the first and third only", out)
		}
		for _, i := range []int{0, 2} {
			if out[i].Status != StatusSucceeded || deref(out[i].CarrierReference) != fmt.Sprint("ref-", i) || out[i].SucceededAt == nil {
				t.Errorf("charge %d: %+v", i, out[i])
			}
		}
		// The second goes the usual way, after.
		moved, err := s.applyChargeResult(ctx, chs[1], in[1].res, nil)
		if err != nil || moved == nil || moved.Status != StatusSucceeded {
			t.Fatalf("the second alone: %+v %v", moved, err)
		}
		if got, err := s.GetCharge(ctx, b.merchant, chs[3].ID); err != nil || got.Status != StatusFailed {
			t.Fatalf("the charge failed meanwhile is %+v, %v", got, err)
		}
		assertBalanced(t, b)
		for _, ch := range chs[:3] {
			if types := b.events.types(ch.ID); types[len(types)-1] != EventChargeSucceeded {
				t.Errorf("events of %s: %v", ch.ID, types)
			}
		}
		month := *chs[0].SpendMonth
		if row := spendRow(t, s, b, "+821011110001", month, scopeTotal); row.Spent != 3000 {
			t.Errorf("first number spent %d, want 3000", row.Spent)
		}
		if row := spendRow(t, s, b, "+821011110002", month, scopeTotal); row.Spent != 3000 {
			t.Errorf("second number spent %d, want 3000", row.Spent)
		}
		if row := spendRow(t, s, b, "+821011110003", month, scopeTotal); row.Spent != 0 || row.Reserved != 0 {
			t.Errorf("the failed charge's number holds %d reserved, %d spent", row.Reserved, row.Spent)
		}
		receipts := textsLike(textJobs(t, s), "receipt:")
		if len(receipts) != 3 {
			t.Fatalf("%d receipts, want 3: %+v", len(receipts), receipts)
		}
		for _, r := range receipts {
			if !strings.Contains(r.Body, "Shop A") || r.What != "receipt:"+r.ChargeID {
				t.Errorf("receipt %+v", r)
			}
			if want := "[tollgate] Shop A ₩3,000 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩497,000"; r.ChargeID == chs[2].ID && r.Body != want {
				t.Errorf("the third's receipt says %q, want %q", r.Body, want)
			}
		}
	})
}

// Many one-tap charges at once on a few numbers (so batches of intents
// leave out a number's second charge): every one succeeds once,
// the books balance and each number's month holds what its charges billed.
func TestConcurrentSuccessesAreBookedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t) // receipts on
		ctx := context.Background()
		numbers := []string{"+821022220001", "+821022220002", "+821022220003", "+821022220004"}
		pms := make([]string, len(numbers))
		for i, n := range numbers {
			pms[i] = oneTap(t, s, b, b.merchant, n)
		}
		const each = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		var month string
		for i := range len(numbers) * each {
			wg.Go(func() {
				ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pms[i%len(numbers)], 1000, ""))
				if err != nil || ch.Status != StatusSucceeded {
					t.Errorf("charge %d: %+v %v", i, ch, err)
					return
				}
				mu.Lock()
				month = *ch.SpendMonth
				mu.Unlock()
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		assertBalanced(t, b)
		for _, n := range numbers {
			if row := spendRow(t, s, b, n, month, scopeTotal); row.Spent != each*1000 || row.Reserved != each*1000 {
				t.Errorf("%s... holds %d reserved, %d spent; want %d both", n[:6], row.Reserved, row.Spent, each*1000)
			}
		}
		if got := len(textsLike(textJobs(t, s), "receipt:")); got != len(numbers)*each {
			t.Errorf("%d receipts, want %d", got, len(numbers)*each)
		}
		if s.successes != nil {
			if st := s.successes.Stats(); st.Calls == 0 {
				t.Errorf("no success went through the batch: %+v", st)
			}
			if st := s.intents.Stats(); st.Calls == 0 {
				t.Errorf("no intent went through the batch: %+v", st)
			}
		}
	})
}
