package billing

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"tollgate/internal/problem"
)

// krCaps are the test carriers' rules: ₩500,000 a month in Seoul, receipts on.
func krCaps(t *testing.T) CapRules {
	t.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	return CapRules{Carriers: map[string]CarrierCaps{"skt": {Monthly: map[string]int64{"KRW": 500000}, Location: seoul, Receipts: true}}}
}

func TestPreferencesStartEmptyAndRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		idx := s.vault.Index("+821012345678")
		p, err := s.Preferences(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.OwnCaps) != 0 || len(p.BlockedCategories) != 0 {
			t.Fatalf("a new subscriber's preferences: %+v, want none", p)
		}
		if err := s.SetOwnCap(ctx, idx, "KRW", i64(100000)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOwnCap(ctx, idx, "KRW", i64(80000)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBlockedCategories(ctx, idx, []string{" voucher", "game", "voucher", ""}); err != nil {
			t.Fatal(err)
		}
		p, err = s.Preferences(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		want := Preferences{OwnCaps: map[string]int64{"KRW": 80000}, BlockedCategories: []string{"game", "voucher"}}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("preferences %+v, want %+v", p, want)
		}
		if err := s.SetOwnCap(ctx, idx, "KRW", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBlockedCategories(ctx, idx, nil); err != nil {
			t.Fatal(err)
		}
		p, err = s.Preferences(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.OwnCaps) != 0 || len(p.BlockedCategories) != 0 {
			t.Fatalf("after restoring: %+v, want none", p)
		}
		other, err := s.Preferences(ctx, s.vault.Index("+821099998888"))
		if err != nil || len(other.OwnCaps) != 0 {
			t.Fatalf("another subscriber's preferences: %+v, %v", other, err)
		}
	})
}

func TestSetOwnCapRefusesAmountsOutsideTheCarriersCeiling(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		idx := s.vault.Index("+821012345678")
		wantProblem(t, s.SetOwnCap(ctx, idx, "KRW", i64(500001)), http.StatusUnprocessableEntity, problem.CodeAmountTooLarge)
		wantProblem(t, s.SetOwnCap(ctx, idx, "KRW", i64(0)), http.StatusUnprocessableEntity, problem.CodeAmountTooSmall)
		wantProblem(t, s.SetOwnCap(ctx, idx, "krw", i64(1000)), http.StatusUnprocessableEntity, problem.CodeUnsupportedCurrency)
		if err := s.SetOwnCap(ctx, idx, "KRW", i64(500000)); err != nil {
			t.Fatalf("a cap equal to the carrier's: %v", err)
		}
		many := make([]string, 0, maxBlockedCategories+1)
		for i := range maxBlockedCategories + 1 {
			many = append(many, fmt.Sprintf("c%d", i))
		}
		wantProblem(t, s.SetBlockedCategories(ctx, idx, many), http.StatusBadRequest, problem.CodeInvalidParameter)
		if err := s.SetBlockedCategories(ctx, idx, many[:maxBlockedCategories]); err != nil {
			t.Fatalf("%d categories: %v", maxBlockedCategories, err)
		}
	})
}

func TestMonthSpendNamesTheBindingCap(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		idx := s.vault.Index("+821012345678")
		sp, err := s.MonthSpend(ctx, idx, "KRW")
		if err != nil {
			t.Fatal(err)
		}
		// The bundle's clock is 2026-11-24 03:00 UTC: noon in Seoul.
		want := Spend{Month: "2026-11", Currency: "KRW", Spent: 0, Cap: 500000, Binding: BindingCarrier}
		if sp != want {
			t.Fatalf("spend %+v, want %+v", sp, want)
		}
		paid(t, s, b, 12000)
		if err := s.SetOwnCap(ctx, idx, "KRW", i64(100000)); err != nil {
			t.Fatal(err)
		}
		sp, err = s.MonthSpend(ctx, idx, "KRW")
		if err != nil {
			t.Fatal(err)
		}
		want = Spend{Month: "2026-11", Currency: "KRW", Spent: 12000, Cap: 100000, Binding: BindingSubscriber}
		if sp != want {
			t.Fatalf("spend %+v, want %+v", sp, want)
		}
	})
}
