package billing

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"tollgate/internal/store"
)

// intentOf prepares a one-tap charge of pm as createOneTap does before it
// records the intent.
func intentOf(t *testing.T, s *Service, b *testBundle, pm string, amount int64) *Charge {
	t.Helper()
	ctx := context.Background()
	m, err := s.getPaymentMethod(ctx, b.merchant, pm)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.carriers.Get(m.Carrier)
	ch, err := s.newCharge(b.merchant, newKey(), tap(pm, amount, ""), c)
	if err != nil {
		t.Fatal(err)
	}
	ch.MSISDNEnc, ch.MSISDNIndex, ch.MSISDNMasked, ch.PaymentMethodID = m.MSISDNEnc, m.MSISDNIndex, m.MSISDNMasked, &m.ID
	ch.Status = StatusProcessing
	_, hash := newSinkToken()
	ch.SinkTokenHash = &hash
	return ch
}

// One batch records each intent as alone: the charge, its event and its
// room in every bucket; a second charge of one number is left out, and a
// batch with a charge a bucket refuses writes nothing at all.
func TestABatchOfIntentsRecordsEachOrNone(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		if b.store.Dialect != store.Postgres {
			t.Skip("intents are batched on PostgreSQL only")
		}
		s.cfg.Caps = krCaps(t)
		s.cfg.Caps.Merchant = map[string]map[string]int64{"*": {"KRW": 5000}}
		ctx := context.Background()
		na, nb, nc := "+821033330001", "+821033330002", "+821033330003"
		a, bb, c := oneTap(t, s, b, b.merchant, na), oneTap(t, s, b, b.merchant, nb), oneTap(t, s, b, b.merchant, nc)
		if ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(c, 4500, "")); err != nil || ch.Status != StatusSucceeded {
			t.Fatalf("first charge of c: %+v %v", ch, err)
		}
		first := []*Charge{intentOf(t, s, b, a, 1000), intentOf(t, s, b, bb, 2000), intentOf(t, s, b, a, 3000)}
		recorded, err := s.recordIntents(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if !recorded[0] || !recorded[1] || recorded[2] {
			t.Fatalf("recorded %v, want the first two", recorded)
		}
		for _, ch := range first[:2] {
			got, err := s.GetCharge(ctx, b.merchant, ch.ID)
			if err != nil || got.Status != StatusProcessing || got.SpendMonth == nil || *got.SpendMonth != *ch.SpendMonth {
				t.Fatalf("charge %s: %+v %v", ch.ID, got, err)
			}
			if types := b.events.types(ch.ID); len(types) != 1 || types[0] != EventChargeProcessing {
				t.Errorf("events of %s: %v", ch.ID, types)
			}
		}
		if _, err := s.GetCharge(ctx, b.merchant, first[2].ID); err == nil {
			t.Fatal("the second charge of one number was recorded")
		}
		month := *first[0].SpendMonth
		for n, want := range map[string]int64{na: 1000, nb: 2000} {
			for _, scope := range []string{scopeTotal, scopeMerchant(b.merchant.MerchantID)} {
				if row := spendRow(t, s, b, n, month, scope); row.Reserved != want {
					t.Errorf("%s %s reserved %d, want %d", n[:6], scope, row.Reserved, want)
				}
			}
		}
		// c's merchant bucket holds 4,500 of 5,000: its 1,000 is refused,
		// and b's charge batched with it is not written either.
		second := []*Charge{intentOf(t, s, b, bb, 1000), intentOf(t, s, b, c, 1000)}
		if _, err := s.recordIntents(ctx, second); !errors.Is(err, errIntentRefused) {
			t.Fatalf("a batch with a refused charge: %v", err)
		}
		for _, ch := range second {
			if _, err := s.GetCharge(ctx, b.merchant, ch.ID); err == nil {
				t.Errorf("charge %s of a refused batch was recorded", ch.ID)
			}
		}
		if row := spendRow(t, s, b, nb, month, scopeTotal); row.Reserved != 2000 {
			t.Errorf("b's month holds %d after a refused batch, want 2000", row.Reserved)
		}
		if row := spendRow(t, s, b, nc, month, scopeMerchant(b.merchant.MerchantID)); row.Reserved != 4500 {
			t.Errorf("c's merchant bucket holds %d after a refused batch, want 4500", row.Reserved)
		}
		// Alone, through the API path, c's charge is declined as ever.
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(c, 1000, "")); err == nil {
			t.Fatal("c's charge over the merchant cap was accepted")
		}
	})
}

// Charges on several numbers at once, more than their merchant caps hold:
// batches that meet a full bucket fail and their charges run alone, so each
// number gets exactly what its cap holds and the rest are refused, whether a
// charge went in a batch or alone.
func TestConcurrentIntentsNeverPassACap(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		s.cfg.Caps.Merchant = map[string]map[string]int64{"*": {"KRW": 5000}}
		ctx := context.Background()
		numbers := []string{"+821044440001", "+821044440002", "+821044440003", "+821044440004"}
		pms := make([]string, len(numbers))
		for i, n := range numbers {
			pms[i] = oneTap(t, s, b, b.merchant, n)
		}
		const each = 8 // 8 × 1,000 against 5,000 per number
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := map[string]int{}
		var month string
		for i := range len(numbers) * each {
			wg.Go(func() {
				n := i % len(numbers)
				ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pms[n], 1000, ""))
				switch {
				case err == nil && ch.Status == StatusSucceeded:
					mu.Lock()
					ok[numbers[n]]++
					month = *ch.SpendMonth
					mu.Unlock()
				case err != nil && strings.Contains(err.Error(), "merchant"):
				default:
					t.Errorf("charge %d: %+v %v", i, ch, err)
				}
			})
		}
		wg.Wait()
		for _, n := range numbers {
			if ok[n] != 5 {
				t.Errorf("%s…: %d charges succeeded, want 5", n[:6], ok[n])
			}
			if row := spendRow(t, s, b, n, month, scopeMerchant(b.merchant.MerchantID)); row.Reserved != 5000 {
				t.Errorf("%s…: merchant bucket holds %d, want 5000", n[:6], row.Reserved)
			}
		}
		assertBalanced(t, b)
	})
}
