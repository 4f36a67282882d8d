package mypage

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tollgate/billing"
	"tollgate/carriers"
	"tollgate/internal/auth"
)

// paid is a charge by p of amount won to number, confirmed with its code.
func (b *testBundle) paid(p auth.Principal, number string, amount int64, desc string) *billing.Charge {
	b.t.Helper()
	ch := b.charge(p, number, amount, desc, "")
	out, err := b.billing.ConfirmCharge(context.Background(), p, ch.ID, b.carrier.LastCode())
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// A subscriber asks for a refund next to their charge, sees its state
// there and in the list, cannot ask twice while it is open, nor on another
// number's charge, nor without a reason; the merchant's answer shows.
func TestAskForARefundFromThePage(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		gems := b.paid(b.merchant, me, 5000, "500 gems")
		films := b.paid(b.other, me, 9900, "a month of films")
		theirs := b.paid(b.merchant, someoneElse, 7000, "not mine")
		waiting := b.charge(b.merchant, me, 1000, "unpaid", "")
		br := b.browser()
		br.signIn(me)

		page := br.get("/my")
		wantIn(t, page, http.StatusOK, `id="refund-requests"`, `id="no-requests"`, `action="/my/charges/`+gems.ID+`/refund-request"`, `action="/my/charges/`+films.ID+`/refund-request"`)
		if strings.Contains(page.HTML, `/my/charges/`+waiting.ID+`/refund-request`) {
			t.Fatal("the page offers a refund of an unpaid charge")
		}

		wantIn(t, br.post("/my/charges/"+gems.ID+"/refund-request", br.form("reason", "   ")), http.StatusBadRequest, "Say why")
		wantIn(t, br.post("/my/charges/"+gems.ID+"/refund-request", br.form("reason", strings.Repeat("x", 256))), http.StatusBadRequest, "Say why")
		wantIn(t, br.post("/my/charges/"+theirs.ID+"/refund-request", br.form("reason", "give it to me")), http.StatusNotFound, "not yours")
		wantIn(t, br.post("/my/charges/"+waiting.ID+"/refund-request", br.form("reason", "unpaid")), http.StatusConflict, "cannot be refunded")
		if p := br.post("/my/charges/"+gems.ID+"/refund-request", url.Values{"reason": {"no csrf"}}); p.Status != http.StatusForbidden {
			t.Fatalf("without the form token: %d", p.Status)
		}
		if l, _, _ := b.billing.ListRefundRequests(ctx, b.merchant, billing.RefundRequestListParams{}); len(l) != 0 {
			t.Fatalf("refused requests wrote %d", len(l))
		}

		res := br.post("/my/charges/"+gems.ID+"/refund-request", br.form("reason", "The gems never arrived"))
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/my?done=refund_requested" {
			t.Fatalf("ask: %d %s", res.Status, res.HTML)
		}
		page = br.get("/my?done=refund_requested")
		wantIn(t, page, http.StatusOK, "sent to the merchant", `id="rr-state-`+gems.ID+`"`, "Refund requested", "The gems never arrived")
		if strings.Contains(page.HTML, `/my/charges/`+gems.ID+`/refund-request`) {
			t.Fatal("the page still offers a refund request on a charge with one open")
		}
		wantIn(t, br.post("/my/charges/"+gems.ID+"/refund-request", br.form("reason", "again")), http.StatusConflict, "already asked")

		l, _, err := b.billing.ListRefundRequests(ctx, b.merchant, billing.RefundRequestListParams{})
		if err != nil || len(l) != 1 || l[0].ChargeID != gems.ID || l[0].Reason != "The gems never arrived" || l[0].MSISDNMasked != meMasked {
			t.Fatalf("the merchant's list: %+v %v", l, err)
		}
		if _, err := b.billing.DeclineRefundRequest(ctx, b.merchant, l[0].ID, billing.DeclineParams{Reason: "They were delivered on the 3rd."}); err != nil {
			t.Fatal(err)
		}
		wantIn(t, br.get("/my"), http.StatusOK, "Refund declined", "They were delivered on the 3rd.", `action="/my/charges/`+gems.ID+`/refund-request"`)

		// Asked at the other merchant, approved: the charge shows refunded.
		if p := br.post("/my/charges/"+films.ID+"/refund-request", br.form("reason", "Charged twice")); p.Status != http.StatusSeeOther {
			t.Fatalf("ask the other merchant: %d %s", p.Status, p.HTML)
		}
		l2, _, _ := b.billing.ListRefundRequests(ctx, b.other, billing.RefundRequestListParams{})
		if _, err := b.billing.ApproveRefundRequest(ctx, b.other, l2[0].ID); err != nil {
			t.Fatal(err)
		}
		wantIn(t, br.get("/my"), http.StatusOK, "Refund approved", "₩9,900 refunded")

		// Another subscriber sees none of it.
		other := b.browser()
		other.signIn(someoneElse)
		if p := other.get("/my"); strings.Contains(p.HTML, "The gems never arrived") || strings.Contains(p.HTML, gems.ID) {
			t.Fatal("another subscriber sees the request")
		}
	})
}

// Below the merchant's amount the page says the charge was refunded at once.
func TestAutoApprovedRequestOnThePage(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		below := int64(1000)
		if _, err := b.billing.SetRefundRequestSettings(ctx, b.merchant, billing.RefundRequestSettingsParams{Currency: "KRW", AutoApproveBelow: &below}); err != nil {
			t.Fatal(err)
		}
		small := b.paid(b.merchant, me, 500, "a sticker")
		br := b.browser()
		br.signIn(me)
		if p := br.post("/my/charges/"+small.ID+"/refund-request", br.form("reason", "Tapped by mistake")); p.Header.Get("Location") != "/my?done=refund_approved" {
			t.Fatalf("ask: %d %s %s", p.Status, p.Header.Get("Location"), p.HTML)
		}
		wantIn(t, br.get("/my?done=refund_approved"), http.StatusOK, "Refunded: the merchant approves", "Refund approved", "Refunded")
		if b.carrier.Refunded(small.ID) != 500 {
			t.Fatalf("carrier refunded %d", b.carrier.Refunded(small.ID))
		}
	})
}

// The page lists the subscriber's live subscriptions with the next charge
// date, amount and merchant; cancel ends one of theirs only.
func TestCancelASubscriptionFromThePage(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		seoul, _ := time.LoadLocation("Asia/Seoul")
		b.carrier.SetCapabilities(func(c *carriers.Capabilities) { c.Recurring = carriers.Recurring{WindowDays: 5, Location: seoul} })
		subscribe := func(number string) *billing.Subscription {
			pm := b.activePM(number)
			amount := int64(9900)
			sub, err := b.billing.CreateSubscription(ctx, b.merchant, "sub-"+number, billing.SubscriptionParams{
				PaymentMethod: pm.ID, Amount: &amount, Currency: "KRW", Interval: billing.IntervalMonth, Description: "Webtoon pass"})
			if err != nil {
				t.Fatal(err)
			}
			if sub, err = b.billing.ConfirmSubscription(ctx, b.merchant, sub.ID, b.carrier.LastCode()); err != nil {
				t.Fatal(err)
			}
			return sub
		}
		mine, theirs := subscribe(me), subscribe(someoneElse)
		br := b.browser()
		br.signIn(me)
		page := br.get("/my")
		wantIn(t, page, http.StatusOK, `id="sub-`+mine.ID+`"`, "Webtoon pass", "₩9,900 every month", "Gem Shop", "Active", "next charge 20", `id="cancel-`+mine.ID+`"`)
		if strings.Contains(page.HTML, theirs.ID) {
			t.Fatal("the page lists another subscriber's subscription")
		}
		wantIn(t, br.post("/my/subscriptions/"+theirs.ID+"/cancel", br.form()), http.StatusNotFound, "not yours")
		if s, _ := b.billing.GetSubscription(ctx, b.merchant, theirs.ID); s.Status != billing.SubActive {
			t.Fatalf("another subscriber's subscription is %s", s.Status)
		}
		if p := br.post("/my/subscriptions/"+mine.ID+"/cancel", br.form()); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/my?done=subscription_canceled" {
			t.Fatalf("cancel: %d %s", p.Status, p.HTML)
		}
		s, _ := b.billing.GetSubscription(ctx, b.merchant, mine.ID)
		if s.Status != billing.SubCanceled || s.CancellationReason == nil || *s.CancellationReason != billing.CancelRequestedBySubscriber {
			t.Fatalf("own subscription: %+v", s)
		}
		wantIn(t, br.get("/my?done=subscription_canceled"), http.StatusOK, "nothing more will be charged", `id="no-subs"`)
	})
}
