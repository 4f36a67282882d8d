package billing

import (
	"context"
	"testing"
)

// The batched reads answer each input with its own row, nil for none, and a
// copy per input even when two ask for the same row.
func TestBatchedReadsAnswerEachInput(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		one, two := paid(t, s, b, 1000), paid(t, s, b, 2000)
		got, err := s.chargesByKey(ctx, []chargeKey{
			{b.merchant.MerchantID, two.IdempotencyKey},
			{"mer_other", one.IdempotencyKey}, // the key, another merchant's
			{b.merchant.MerchantID, one.IdempotencyKey},
			{b.merchant.MerchantID, "never-used"},
			{b.merchant.MerchantID, two.IdempotencyKey},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == nil || got[0].ID != two.ID || got[1] != nil || got[2] == nil || got[2].ID != one.ID || got[3] != nil || got[4] == nil || got[4].ID != two.ID {
			t.Fatalf("charges by key: %v", got)
		}
		if got[0] == got[4] {
			t.Fatal("two callers share one *Charge")
		}
		byID, err := s.chargesByID(ctx, []string{one.ID, "ch_missing", two.ID})
		if err != nil {
			t.Fatal(err)
		}
		if byID[0] == nil || byID[0].ID != one.ID || byID[1] != nil || byID[2] == nil || byID[2].ID != two.ID {
			t.Fatalf("charges by id: %v", byID)
		}
		if one.PaymentMethodID != nil {
			t.Fatalf("a code charge has payment method %s", *one.PaymentMethodID)
		}
		if _, err := s.chargeByKey(ctx, b.merchant.MerchantID, "never-used"); err == nil {
			t.Fatal("chargeByKey found a charge for a key never used")
		}
	})
}
