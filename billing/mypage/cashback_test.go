package mypage

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"tollgate/billing"
)

// The page shows the subscriber's cashback per merchant, and only theirs;
// with none, or once it expired, the block is not there.
func TestThePageShowsCashbackPerMerchant(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		i64 := func(n int64) *int64 { return &n }
		_, err := b.billing.CreateCashbackProgram(ctx, b.merchant, billing.CashbackProgramParams{
			RateBps: i64(200), MaxPerCharge: i64(500), Currency: "KRW", ExpiresAfterDays: i64(30)})
		if err != nil {
			t.Fatal(err)
		}
		br := b.browser()
		br.signIn(me)
		if page := br.get("/my"); page.Status != http.StatusOK || strings.Contains(page.HTML, `id="cashback"`) {
			t.Fatalf("cashback shown before any was earned: %d", page.Status)
		}
		b.paid(b.merchant, me, 10000, "500 gems")  // earns ₩200 at Gem Shop
		b.paid(b.other, me, 10000, "films")        // Film Club runs no program
		b.paid(b.merchant, someoneElse, 5000, "x") // another subscriber's ₩100
		page := br.get("/my")
		wantIn(t, page, http.StatusOK, `id="cashback"`, `id="cashback-`+b.merchant.MerchantID+`-KRW"`, "Gem Shop", "₩200")
		if strings.Contains(page.HTML, `id="cashback-`+b.other.MerchantID) || strings.Contains(page.HTML, "₩100<") {
			t.Fatal("the page shows cashback that is not this subscriber's at this merchant")
		}
		b.clock.Advance(31 * 24 * time.Hour)
		again := b.browser() // the session ended long ago
		again.signIn(me)
		if page := again.get("/my"); page.Status != http.StatusOK || strings.Contains(page.HTML, `id="cashback"`) {
			t.Fatal("expired cashback still shown")
		}
	})
}
