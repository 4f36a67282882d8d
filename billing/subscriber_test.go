package billing

import (
	"context"
	"net/http"
	"testing"

	"tollgate/carriers/carrierfake"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
)

// activePM opts msisdn in to one-tap charges by p's merchant.
func activePM(t *testing.T, s *Service, b *testBundle, p auth.Principal, msisdn string) *PaymentMethod {
	t.Helper()
	ctx := context.Background()
	pm, err := s.CreatePaymentMethod(ctx, p, newKey(), PaymentMethodParams{MSISDN: msisdn, Carrier: "skt"})
	if err != nil {
		t.Fatal(err)
	}
	if pm, err = s.ConfirmPaymentMethod(ctx, p, pm.ID, lastCode(t, b)); err != nil {
		t.Fatal(err)
	}
	return pm
}

func subscriber(t *testing.T, s *Service, raw string) Subscriber {
	t.Helper()
	_, sub, err := s.IdentifySubscriber(raw, "KR")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// A subscriber sees every charge on their number, whichever merchant made
// it, with the merchant's name and what was refunded, newest first and
// page by page; another number's charges are not among them.
func TestSubscriberSeesTheirChargesAcrossMerchants(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		other, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		shopB := auth.Principal{MerchantID: other.ID, Role: auth.RoleMerchant}
		mine := krw(3000)
		first, err := s.CreateCharge(ctx, b.merchant, newKey(), mine)
		if err != nil {
			t.Fatal(err)
		}
		mine.Description = "a month of films"
		second, err := s.CreateCharge(ctx, shopB, newKey(), mine)
		if err != nil {
			t.Fatal(err)
		}
		theirs := krw(9000)
		theirs.MSISDN = "+821099998888"
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), theirs); err != nil {
			t.Fatal(err)
		}
		sub := subscriber(t, s, "010-1234-5678")
		if sub.Masked != "+82 10-****-5678" || sub.Country != "KR" {
			t.Fatalf("subscriber %+v", sub)
		}

		got, more, err := s.SubscriberCharges(ctx, false, sub.Index, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !more || got[0].ID != second.ID || got[0].MerchantName != "Shop B" || got[0].Description != "a month of films" || got[0].Amount != 3000 || got[0].Currency != "KRW" {
			t.Fatalf("first page %+v (more %v)", got, more)
		}
		got, more, err = s.SubscriberCharges(ctx, false, sub.Index, got[0].ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || more || got[0].ID != first.ID || got[0].MerchantName != "Shop A" {
			t.Fatalf("second page %+v (more %v)", got, more)
		}
		// Live charges are another world: none on a test number.
		if live, _, err := s.SubscriberCharges(ctx, true, sub.Index, "", 10); err != nil || len(live) != 0 {
			t.Fatalf("live charges %+v, %v", live, err)
		}
		// A cursor must be one of the subscriber's own charges.
		theirsIdx := subscriber(t, s, "+821099998888").Index
		_, _, err = s.SubscriberCharges(ctx, false, theirsIdx, first.ID, 10)
		wantProblem(t, err, http.StatusBadRequest, problem.CodeInvalidParameter)
	})
}

// A subscriber sees and revokes their own active one-tap payment methods,
// with the same event the merchant's revoke sends; someone else's is not
// found and stays active.
func TestSubscriberRevokesOnlyTheirOwnPaymentMethod(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		mine := activePM(t, s, b, b.merchant, "+821012345678")
		theirs := activePM(t, s, b, b.merchant, "+821099998888")
		me := subscriber(t, s, "+821012345678")

		pms, err := s.SubscriberPaymentMethods(ctx, false, me.Index)
		if err != nil {
			t.Fatal(err)
		}
		if len(pms) != 1 || pms[0].ID != mine.ID || pms[0].MerchantName != "Shop A" || pms[0].MSISDNMasked != "+82 10-****-5678" {
			t.Fatalf("payment methods %+v", pms)
		}

		_, err = s.RevokeSubscriberPaymentMethod(ctx, false, me.Index, theirs.ID)
		wantProblem(t, err, http.StatusNotFound, problem.CodeNotFound)
		if still, _ := s.GetPaymentMethod(ctx, b.merchant, theirs.ID); still.Status != PMActive {
			t.Fatalf("another subscriber's payment method is %s", still.Status)
		}
		// Nor in the other mode.
		_, err = s.RevokeSubscriberPaymentMethod(ctx, true, me.Index, mine.ID)
		wantProblem(t, err, http.StatusNotFound, problem.CodeNotFound)

		out, err := s.RevokeSubscriberPaymentMethod(ctx, false, me.Index, mine.ID)
		if err != nil || out.Status != PMRevoked {
			t.Fatalf("revoke own: %+v, %v", out, err)
		}
		if again, err := s.RevokeSubscriberPaymentMethod(ctx, false, me.Index, mine.ID); err != nil || again.Status != PMRevoked {
			t.Fatalf("revoke twice: %+v, %v", again, err)
		}
		if got := b.events.types(mine.ID); len(got) != 2 || got[1] != EventPaymentMethodRevoked {
			t.Fatalf("events %v, want activated then one revoked", got)
		}
		if pms, _ := s.SubscriberPaymentMethods(ctx, false, me.Index); len(pms) != 0 {
			t.Fatalf("a revoked payment method is still listed: %+v", pms)
		}
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), ChargeParams{Amount: i64(1000), Currency: "KRW", PaymentMethod: mine.ID})
		wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodePaymentMethodInvalid)
	})
}

// A sign-in code goes out through a carrier that serves the number's
// country, counted with every other code to the number: the sixth in ten
// minutes is refused and nothing is sent.
func TestSignInCodesShareTheNumbersSMSLimit(t *testing.T) {
	eachStoreLimited(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		e164, _, err := s.IdentifySubscriber("01012345678", "kr")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(1000)); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			if err := s.SendSignInCode(ctx, SignInText{MSISDN: e164, Reference: "si_test", Body: "123456 is your code"}); err != nil {
				t.Fatalf("code %d: %v", i+2, err)
			}
		}
		out := b.carrier.Outbox()
		if len(out) != 5 || out[4].Body != "123456 is your code" || out[4].Reference != "si_test" || out[4].MSISDN != "+821012345678" {
			t.Fatalf("outbox %+v", out)
		}
		err = s.SendSignInCode(ctx, SignInText{MSISDN: e164, Reference: "si_test", Body: "654321 is your code"})
		wantProblem(t, err, http.StatusTooManyRequests, problem.CodeRateLimited)
		if n := len(b.carrier.Outbox()); n != 5 {
			t.Fatalf("%d texts after a refused code, want 5", n)
		}
	})
}

// The code goes through the carrier that last billed the number; a number
// from a country no carrier serves, or a mode whose carriers none are,
// gets no code, and a carrier down sends none.
func TestSignInCodeCarrier(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		kt := carrierfake.New("kt")
		b.carriers = carrierfake.NewSet(b.carrier, kt)
		s.carriers = b.carriers
		e164, _, _ := s.IdentifySubscriber("+821012345678", "")
		if err := s.SendSignInCode(ctx, SignInText{MSISDN: e164, Reference: "si_1", Body: "first"}); err != nil {
			t.Fatal(err)
		}
		if len(kt.Outbox()) != 1 || len(b.carrier.Outbox()) != 0 {
			t.Fatalf("a number never billed: kt sent %d, skt %d; want the first carrier by name (kt)", len(kt.Outbox()), len(b.carrier.Outbox()))
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(1000)); err != nil { // on skt
			t.Fatal(err)
		}
		if err := s.SendSignInCode(ctx, SignInText{MSISDN: e164, Reference: "si_2", Body: "second"}); err != nil {
			t.Fatal(err)
		}
		if out := b.carrier.Outbox(); len(out) != 2 || out[1].Body != "second" {
			t.Fatalf("skt outbox %+v, want the sign-in code after the charge's", out)
		}
		b.carriers.SetDown("skt", true)
		if err := s.SendSignInCode(ctx, SignInText{MSISDN: e164, Reference: "si_3", Body: "third"}); err != nil || len(kt.Outbox()) != 2 {
			t.Fatalf("skt down: %v; kt sent %d, want 2", err, len(kt.Outbox()))
		}
		b.carriers.SetDown("kt", true)
		err := s.SendSignInCode(ctx, SignInText{MSISDN: e164, Reference: "si_4", Body: "fourth"})
		wantProblem(t, err, http.StatusServiceUnavailable, problem.CodeCarrierUnavailable)

		us, _, err := s.IdentifySubscriber("+12015550123", "")
		if err != nil {
			t.Fatal(err)
		}
		err = s.SendSignInCode(ctx, SignInText{MSISDN: us, Reference: "si_5", Body: "us"})
		wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodeUnknownCarrier)
		err = s.SendSignInCode(ctx, SignInText{Livemode: true, MSISDN: e164, Reference: "si_6", Body: "live"})
		wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodeUnknownCarrier)

		if got := s.SubscriberCountries(false); len(got) != 1 || got[0] != "KR" {
			t.Fatalf("countries %v", got)
		}
		if got := s.SubscriberCurrencies(false, "KR"); len(got) != 1 || got[0] != "KRW" {
			t.Fatalf("currencies %v", got)
		}
		if got := s.SubscriberCountries(true); len(got) != 0 {
			t.Fatalf("live countries %v", got)
		}
	})
}
