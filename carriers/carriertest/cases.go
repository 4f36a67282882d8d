package carriertest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
)

// testCase is one subtest of the suite.
type testCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// cases lists the subtests that apply to what probe can do.
func (s *suite) cases(probe carriers.Carrier) []testCase {
	cs := []testCase{
		{"success", testSuccess},
		{"decline/0002", testDecline(msisdnNoBalance, carriers.FailureInsufficientBalance)},
		{"decline/0003", testDecline(msisdnBlocked, carriers.FailureSubscriberBlocked)},
		{"decline/0004", testDecline(msisdnLimit, carriers.FailureCarrierLimitExceeded)},
		{"async_0005", testAsync},
		{"timeout_0006", testTimeout},
		{"unavailable_0007", testUnavailable},
		{"duplicate_reference", testDuplicate},
		{"retry_safety", testRetrySafety},
		{"status", testStatus},
		{"refunds", testRefunds},
		{"not_sent", testNotSent},
	}
	if s.webhooks {
		cs = append(cs, testCase{"webhooks", testWebhooks})
	}
	if _, ok := probe.(carriers.SMSSender); ok {
		cs = append(cs, testCase{"sms", testSMS})
	}
	if s.twoStep {
		cs = append(cs, testCase{"wrong_code", testWrongCode})
		if _, ok := probe.(carriers.Canceler); ok {
			cs = append(cs, testCase{"cancel", testCancel})
		}
	}
	return cs
}

func testSuccess(t *testing.T, e *env) {
	r := e.prepare("ch_success", msisdnOK, 5000)
	res := e.chargeFinal(r)
	if res.Outcome != carriers.OutcomeSucceeded || res.CarrierReference == "" || res.FailureCode != "" {
		t.Fatalf("result %+v, want succeeded with the carrier's reference", res)
	}
	if row := e.billedOnce("ch_success", 5000); row.CarrierReference != res.CarrierReference {
		t.Errorf("carrier's books name the payment %q, the adapter %q", row.CarrierReference, res.CarrierReference)
	}
}

func testDecline(msisdn, failure string) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		ref := "ch_decline_" + msisdn[len(msisdn)-4:]
		r, err := e.tryPrepare(context.Background(), ref, msisdn, 5000)
		var res carriers.Result
		var d interface{ DeclineResult() carriers.Result }
		switch {
		case errors.As(err, &d):
			// Refused when the payment was asked for (CAMARA declares
			// amount limits at preparePayment, not at confirm).
			res = d.DeclineResult()
		case err != nil:
			t.Fatalf("authorize %s: %v", ref, err)
		default:
			res, err = e.carrier.Charge(context.Background(), r)
			if err != nil {
				t.Fatalf("a decline is an answer, not an error: %v", err)
			}
			res = e.final(chargeRef(r, res))
		}
		if res.Outcome != carriers.OutcomeDeclined || res.FailureCode != failure || res.DeclineCode == "" {
			t.Fatalf("result %+v, want declined %s with the carrier's raw code", res, failure)
		}
		e.notBilled(ref)
	}
}

func testAsync(t *testing.T, e *env) {
	r := e.prepare("ch_async", msisdnAsync, 5000)
	res := e.charge(r)
	if res.Outcome != carriers.OutcomePending {
		t.Fatalf("0005 answered %+v, want pending", res)
	}
	o := chargeRef(r, res)
	fin := e.final(o)
	if fin.Outcome != carriers.OutcomeSucceeded || (res.CarrierReference != "" && fin.CarrierReference != res.CarrierReference) {
		t.Fatalf("final %+v after pending %+v, want succeeded", fin, res)
	}
	if e.s.webhooks {
		// A carrier that calls back must call back with this result.
		if _, n := e.awaitCallback(o); n.Result.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("callback says %+v", n)
		}
	}
	e.billedOnce("ch_async", 5000)
}

func testTimeout(t *testing.T, e *env) {
	r := e.prepare("ch_timeout", msisdnHang, 5000)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := e.carrier.Charge(ctx, r)
	switch {
	case err != nil:
		if !errors.Is(err, carriers.ErrOutcomeUnknown) {
			t.Fatalf("a charge the carrier never answered: %v, want ErrOutcomeUnknown", err)
		}
	case res.Outcome != carriers.OutcomePending:
		t.Fatalf("a charge the carrier never answered: %+v, want ErrOutcomeUnknown or pending", res)
	}
	// The gateway asks, by its own reference: the carrier did bill.
	st := e.statusFinal(carriers.Reference{Kind: "charge", ClientReference: r.Reference, MSISDN: r.MSISDN})
	if st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference == "" {
		t.Fatalf("status %+v, want succeeded", st)
	}
	e.billedOnce("ch_timeout", 5000)
}

// statusFinal asks Status until it gives a final answer, moving the
// carrier's clock on after each pending one.
func (e *env) statusFinal(ref carriers.Reference) carriers.Result {
	e.t.Helper()
	var (
		st  carriers.Result
		err error
	)
	e.Await("a final status of "+ref.Kind+" "+ref.ClientReference, nil, func() bool {
		st, err = e.carrier.Status(context.Background(), ref)
		if err == nil && st.Outcome != carriers.OutcomePending {
			return true
		}
		e.Clock.Advance(time.Second)
		return false
	})
	return st
}

// 0007 answers 503 with Retry-After: 1, once per reference, having done
// nothing. The resilient client waits and tries again when the caller's
// deadline leaves room; otherwise it hands the 503 to the adapter, which
// reports ErrUnavailable with the wait.
func testUnavailable(t *testing.T, e *env) {
	// Parts, not subtests: env's helpers fail the case's own t.
	waitedOut := func() {
		if e.s.cfg.noIdempotency {
			t.Log("waited out: not checked, a charge that may not be resent is not retried past a 503")
			return
		}
		const ref = "ch_unavailable_waited"
		before := e.Stats(carrierName).UnavailableOnce
		if fin := e.chargeFinal(e.prepare(ref, msisdnUnavailable, 5000)); fin.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("0007 with time to wait: %+v, want succeeded", fin)
		}
		if n := e.Stats(carrierName).UnavailableOnce - before; n != 1 {
			t.Fatalf("the carrier answered 503 %d times, want once (the client retried past it)", n)
		}
		e.billedOnce(ref, 5000)
	}
	noTimeToWait := func() {
		const ref = "ch_unavailable_hurried"
		// Less than the Retry-After: the client must not wait past it.
		ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
		defer cancel()
		var saw error
		unavailable := func(err error) {
			t.Helper()
			var u *carriers.UnavailableError
			if !errors.Is(err, carriers.ErrUnavailable) || !errors.As(err, &u) || u.RetryAfter <= 0 {
				t.Fatalf("0007 failed with %v, want ErrUnavailable with a RetryAfter", err)
			}
			saw = err
		}
		r, err := e.tryPrepare(ctx, ref, msisdnUnavailable, 5000)
		if err != nil {
			unavailable(err)
			r = e.prepare(ref, msisdnUnavailable, 5000)
		}
		res, err := e.carrier.Charge(ctx, r)
		if err != nil {
			if saw != nil {
				t.Fatalf("0007 failed a second time: %v", err)
			}
			unavailable(err)
			res = e.charge(r)
		}
		if saw == nil {
			t.Fatalf("0007 was never answered unavailable (result %+v)", res)
		}
		if fin := e.final(chargeRef(r, res)); fin.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("after the retry: %+v, want succeeded", fin)
		}
		e.billedOnce(ref, 5000)
	}
	waitedOut()
	noTimeToWait()
}

func testDuplicate(t *testing.T, e *env) {
	r := e.prepare("ch_dup", msisdnOK, 5000)
	first := e.chargeFinal(r)
	second := e.chargeFinal(r)
	if first.Outcome != carriers.OutcomeSucceeded || second.Outcome != first.Outcome || second.CarrierReference != first.CarrierReference {
		t.Fatalf("the same charge twice: %+v then %+v, want the same success", first, second)
	}
	e.billedOnce("ch_dup", 5000)
}

// chargeWrites are the simulator's request kinds that ask to bill: a
// 1-step charge, or the confirm of a 2-step one.
var chargeWrites = []string{"create_payment", "confirm_payment"}

func writesSent(st CarrierStats) (n int64) {
	for _, k := range chargeWrites {
		n += st.Requests[k]
	}
	return n
}

// retry_safety: the resilient client resends a charge only where the
// carrier cannot apply it twice (carriers.CheckRetry). A charge whose
// reference the carrier honours (the default) is retried through a lost
// answer and a reset; one without (ChargesWithoutIdempotency) is never
// resent once it may have arrived. Either way the carrier bills once.
func testRetrySafety(t *testing.T, e *env) {
	idempotent := !e.s.cfg.noIdempotency
	// Parts, not subtests: env's helpers fail the case's own t.
	answerDropped := func() {
		const ref = "ch_retry_dropped"
		r := e.prepare(ref, msisdnOK, 5000)
		before := e.Stats(carrierName)
		// The carrier bills, then resets the connection instead of answering, once.
		e.faults(`{"drop_answers":1,"drop_reference":"` + ref + `"}`)
		res, err := e.carrier.Charge(context.Background(), r)
		after := e.Stats(carrierName)
		if d := after.Faults["answers_dropped"] - before.Faults["answers_dropped"]; d != 1 {
			t.Fatalf("the carrier dropped %d answers, want 1: the case proves nothing", d)
		}
		sent := writesSent(after) - writesSent(before)
		if idempotent {
			if err != nil {
				t.Fatalf("a charge with a reference the carrier honours, whose answer was lost: %v; want the client to retry it", err)
			}
			if sent != 2 {
				t.Fatalf("the carrier got the charge %d times, want 2 (the lost one and the retry)", sent)
			}
			fin := e.final(chargeRef(r, res))
			if fin.Outcome != carriers.OutcomeSucceeded {
				t.Fatalf("retried charge: %+v, want succeeded", fin)
			}
			if row := e.billedOnce(ref, 5000); row.CarrierReference != fin.CarrierReference {
				t.Fatalf("carrier's books name the payment %q, the adapter %q", row.CarrierReference, fin.CarrierReference)
			}
			return
		}
		if !errors.Is(err, carriers.ErrOutcomeUnknown) {
			t.Fatalf("a charge without a reference the carrier honours, whose answer was lost: %+v, %v; want ErrOutcomeUnknown", res, err)
		}
		if sent != 1 {
			t.Fatalf("the client resent a charge the carrier may have billed: %d sent", sent)
		}
		if st := e.statusFinal(carriers.Reference{Kind: "charge", ClientReference: ref, MSISDN: r.MSISDN}); st.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("status %+v, want succeeded", st)
		}
		e.billedOnce(ref, 5000)
	}
	everyConnectionReset := func() {
		const ref = "ch_retry_reset"
		r := e.prepare(ref, msisdnOK, 5000)
		before := writesSent(e.Stats(carrierName))
		e.faults(`{"reset_rate":1}`)
		res, err := e.carrier.Charge(context.Background(), r)
		e.faults(`{"reset_rate":0}`)
		if err == nil || !(errors.Is(err, carriers.ErrOutcomeUnknown) || errors.Is(err, carriers.ErrNotSent)) {
			t.Fatalf("charge on a reset connection: %+v, %v; want ErrOutcomeUnknown or ErrNotSent", res, err)
		}
		switch sent := writesSent(e.Stats(carrierName)) - before; {
		case idempotent && sent < 2:
			t.Fatalf("the client tried a charge it may resend %d times through resets, want it to retry", sent)
		case !idempotent && sent != 1:
			t.Fatalf("the client resent a charge it may not: %d sent", sent)
		}
		if fin := e.chargeFinal(r); fin.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("once the carrier is back: %+v, want succeeded", fin)
		}
		e.billedOnce(ref, 5000)
	}
	answerDropped()
	everyConnectionReset()
}

func testStatus(t *testing.T, e *env) {
	ctx := context.Background()
	r := e.prepare("ch_status", msisdnOK, 5000)
	res := e.chargeFinal(r)
	for name, ref := range map[string]carriers.Reference{
		"our reference":     {Kind: "charge", ClientReference: r.Reference, MSISDN: r.MSISDN},
		"carrier reference": {Kind: "charge", ClientReference: r.Reference, CarrierReference: res.CarrierReference, MSISDN: r.MSISDN},
	} {
		st, err := e.carrier.Status(ctx, ref)
		if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != res.CarrierReference {
			t.Errorf("status by %s: %+v, %v; want succeeded %s", name, st, err, res.CarrierReference)
		}
	}
	_, err := e.carrier.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_never_sent", MSISDN: msisdnOK})
	if !errors.Is(err, carriers.ErrNotFound) {
		t.Errorf("status of a charge the carrier never saw: %v, want ErrNotFound", err)
	}
}

func testRefunds(t *testing.T, e *env) {
	charged := func(ref string) (carriers.ChargeRequest, carriers.Result) {
		r := e.prepare(ref, msisdnOK, 5000)
		res := e.chargeFinal(r)
		if res.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("charge %s: %+v", ref, res)
		}
		return r, res
	}
	refund := func(r carriers.ChargeRequest, res carriers.Result, ref string, amount int64) carriers.RefundRequest {
		return carriers.RefundRequest{
			Reference: ref, ChargeReference: r.Reference, CarrierReference: res.CarrierReference,
			MSISDN: r.MSISDN, Amount: amount, Currency: currency, Reason: "customer request",
		}
	}
	refunded := func(ref string, want int64) {
		t.Helper()
		if row := e.billedOnce(ref, 5000); row.RefundedAmount != want {
			t.Fatalf("carrier refunded %d of %s, want %d", row.RefundedAmount, ref, want)
		}
	}

	t.Run("full", func(t *testing.T) {
		r, res := charged("ch_rf_full")
		rr := refund(r, res, "re_full", 5000)
		first := e.refundFinal(rr)
		if first.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("full refund: %+v", first)
		}
		again := e.refundFinal(rr) // resent: applied once
		if again.Outcome != carriers.OutcomeSucceeded || (first.CarrierReference != "" && again.CarrierReference != first.CarrierReference) {
			t.Fatalf("resent refund: %+v, first %+v", again, first)
		}
		refunded("ch_rf_full", 5000)
		if res, err := e.refundAttempt(refund(r, res, "re_full_more", 100)); !refusedRefund(res, err) {
			t.Fatalf("refund of a refunded charge: %+v, %v; want declined or ErrInvalidRequest", res, err)
		}
		refunded("ch_rf_full", 5000)
	})
	t.Run("partial", func(t *testing.T) {
		if !e.carrier.Capabilities().PartialRefunds {
			t.Skip("the carrier declares no partial refunds")
		}
		r, res := charged("ch_rf_part")
		if out := e.refundFinal(refund(r, res, "re_part_1", 2000)); out.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("partial refund: %+v", out)
		}
		refunded("ch_rf_part", 2000)
		if out, err := e.refundAttempt(refund(r, res, "re_part_2", 4000)); !refusedRefund(out, err) {
			t.Fatalf("refund of more than is left: %+v, %v; want declined or ErrInvalidRequest", out, err)
		}
		refunded("ch_rf_part", 2000)
		if out := e.refundFinal(refund(r, res, "re_part_3", 3000)); out.Outcome != carriers.OutcomeSucceeded {
			t.Fatalf("refund of the rest: %+v", out)
		}
		refunded("ch_rf_part", 5000)
	})
}

// refundFinal sends a refund and follows it to its final result.
func (e *env) refundFinal(rr carriers.RefundRequest) carriers.Result {
	e.t.Helper()
	res, err := e.refundAttempt(rr)
	if err != nil {
		e.t.Fatalf("refund %s: %v", rr.Reference, err)
	}
	return res
}

// refundAttempt sends a refund; a pending answer is followed to its end.
func (e *env) refundAttempt(rr carriers.RefundRequest) (carriers.Result, error) {
	e.t.Helper()
	res, err := e.carrier.Refund(context.Background(), rr)
	if err != nil {
		return res, err
	}
	return e.final(refundRef(rr, res)), nil
}

func testNotSent(t *testing.T, e *env) {
	ctx := context.Background()
	c := e.rebuild(func(c *carriers.Connection) {
		c.Simulated, c.BaseURL = false, closedURL(t)+carriers.SimPath(carrierName, e.s.protocol)
	})
	if e.s.twoStep {
		_, err := c.(carriers.Authorizer).Authorize(ctx, e.authorizeRequest("ch_closed", msisdnOK, 5000))
		if !errors.Is(err, carriers.ErrNotSent) && !errors.Is(err, carriers.ErrUnsupported) {
			t.Errorf("authorize: %v, want ErrNotSent", err)
		}
	}
	r := e.chargeRequest("ch_closed", msisdnOK, 5000)
	if e.s.twoStep {
		r.AuthorizationID, r.Token = "auth_closed", "tok_closed"
	}
	if _, err := c.Charge(ctx, r); !errors.Is(err, carriers.ErrNotSent) {
		t.Errorf("charge: %v, want ErrNotSent", err)
	}
	rr := carriers.RefundRequest{Reference: "re_closed", ChargeReference: "ch_closed", CarrierReference: "pay_closed", MSISDN: msisdnOK, Amount: 5000, Currency: currency}
	if _, err := c.Refund(ctx, rr); !errors.Is(err, carriers.ErrNotSent) {
		t.Errorf("refund: %v, want ErrNotSent", err)
	}
	if _, err := c.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_closed", MSISDN: msisdnOK}); !errors.Is(err, carriers.ErrNotSent) {
		t.Errorf("status: %v, want ErrNotSent", err)
	}
}

func testWebhooks(t *testing.T, e *env) {
	r := e.prepare("ch_hook", msisdnAsync, 5000)
	res := e.charge(r)
	o := chargeRef(r, res)
	cb, n := e.awaitCallback(o)
	if n.MessageID == "" || n.Kind != "charge" || n.Result.Outcome != carriers.OutcomeSucceeded ||
		(n.ClientReference != r.Reference && (res.CarrierReference == "" || n.CarrierReference != res.CarrierReference)) {
		t.Fatalf("notification %+v does not report charge %s (%s) as succeeded", n, r.Reference, res.CarrierReference)
	}
	p := e.carrier.(carriers.WebhookParser)
	now := e.Clock.Now()
	if _, err := p.ParseWebhook(cb.header, cb.body, now); err != nil {
		t.Fatalf("the real callback no longer verifies: %v", err)
	}
	bad := func(name string, p carriers.WebhookParser, h http.Header, body []byte, now time.Time) {
		t.Helper()
		if n, err := p.ParseWebhook(h, body, now); !errors.Is(err, carriers.ErrBadSignature) {
			t.Errorf("%s: %+v, %v; want ErrBadSignature", name, n, err)
		}
	}
	if e.s.cfg.unsignedBody {
		t.Log("tampered body: not checked, the protocol's credential does not cover the body")
	} else {
		bad("tampered body", p, cb.header, tamper(cb.body, n.CarrierReference, n.ClientReference), now)
	}
	if n.Credential != "" {
		// A per-charge credential is the gateway's to check: it must be
		// the one the request carried, whatever the carrier's secret.
		if n.Credential != r.SinkToken {
			t.Errorf("notification credential is not the charge's sink token")
		}
	} else {
		other := e.rebuild(func(c *carriers.Connection) { c.WebhookSecret = "wrong-secret-0123456789" }).(carriers.WebhookParser)
		bad("wrong secret", other, cb.header, cb.body, now)
	}
	bad("no signature", p, http.Header{"Content-Type": cb.header.Values("Content-Type")}, cb.body, now)
	bad("stale", p, cb.header, cb.body, now.Add(10*time.Minute))
}

// tamper changes a callback body the way a forger would: another reference
// in place of the real one, or failing that, one more byte.
func tamper(body []byte, refs ...string) []byte {
	for _, ref := range refs {
		if ref != "" && bytes.Contains(body, []byte(ref)) {
			return bytes.Replace(body, []byte(ref), []byte(ref+"0"), 1)
		}
	}
	return append(bytes.Clone(body), ' ')
}

func testSMS(t *testing.T, e *env) {
	s := e.carrier.(carriers.SMSSender)
	if err := s.SendSMS(context.Background(), carriers.SMS{MSISDN: msisdnOK, Body: "Your tollgate code is 482913. It expires in 5 minutes."}); err != nil {
		t.Fatalf("send: %v", err)
	}
	m := e.Inbox(msisdnOK)
	if len(m) == 0 || !strings.Contains(m[0].Body, "482913") || m[0].Code != "482913" {
		t.Fatalf("inbox %+v", m)
	}
}

func testWrongCode(t *testing.T, e *env) {
	ctx := context.Background()
	a := e.carrier.(carriers.Authorizer)
	auth, err := a.Authorize(ctx, e.authorizeRequest("ch_wrong", msisdnOK, 5000))
	if errors.Is(err, carriers.ErrUnsupported) {
		t.Skip("Authorize is not supported for a one-off charge")
	}
	if err != nil {
		t.Fatal(err)
	}
	code := e.SMSCode(msisdnOK)
	wrong := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '0' + (r-'0'+1)%10
		}
		return r
	}, code)
	if _, err := a.Verify(ctx, carriers.VerifyRequest{AuthorizationID: auth.ID, Reference: "ch_wrong", Code: wrong}); !errors.Is(err, carriers.ErrWrongCode) {
		t.Fatalf("wrong code: %v, want ErrWrongCode", err)
	}
	v, err := a.Verify(ctx, carriers.VerifyRequest{AuthorizationID: auth.ID, Reference: "ch_wrong", Code: code})
	if err != nil {
		t.Fatalf("right code after a wrong one: %v", err)
	}
	r := e.chargeRequest("ch_wrong", msisdnOK, 5000)
	r.AuthorizationID, r.Token = auth.ID, v.Token
	if v.ID != "" {
		r.AuthorizationID = v.ID
	}
	if res := e.chargeFinal(r); res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("charge: %+v", res)
	}
	e.billedOnce("ch_wrong", 5000)
}

func testCancel(t *testing.T, e *env) {
	ctx := context.Background()
	a := e.carrier.(carriers.Authorizer)
	auth, err := a.Authorize(ctx, e.authorizeRequest("ch_cancel", msisdnOK, 5000))
	if errors.Is(err, carriers.ErrUnsupported) {
		t.Skip("Authorize is not supported for a one-off charge")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := e.carrier.(carriers.Canceler).CancelAuthorization(ctx, auth.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	// Whatever comes after, nothing may be billed on a cancelled authorization.
	v, _ := a.Verify(ctx, carriers.VerifyRequest{AuthorizationID: auth.ID, Reference: "ch_cancel", Code: e.SMSCode(msisdnOK)})
	r := e.chargeRequest("ch_cancel", msisdnOK, 5000)
	r.AuthorizationID, r.Token = auth.ID, v.Token
	res, err := e.carrier.Charge(ctx, r)
	if err == nil {
		res = e.final(chargeRef(r, res))
	}
	if err == nil && res.Outcome == carriers.OutcomeSucceeded {
		t.Fatalf("a cancelled authorization was charged: %+v", res)
	}
	e.notBilled("ch_cancel")
}
