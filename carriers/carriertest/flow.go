package carriertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"tollgate/carriers"
)

// Test numbers (API.md): the last four digits choose the carrier's answer.
const (
	msisdnOK          = "+821012345678"
	msisdnNoBalance   = "+821012340002"
	msisdnBlocked     = "+821012340003"
	msisdnLimit       = "+821012340004"
	msisdnAsync       = "+821012340005"
	msisdnHang        = "+821012340006"
	msisdnUnavailable = "+821012340007"
)

// chargeRequest is the charge the gateway would send, before any authorization.
func (e *env) chargeRequest(ref, msisdn string, amount int64) carriers.ChargeRequest {
	return carriers.ChargeRequest{
		Reference: ref, MSISDN: msisdn, Amount: amount, Currency: currency,
		Description: "500 gems", Merchant: "Gem Shop", CallbackURL: e.callbackURL,
		SinkToken: sinkToken(ref),
	}
}

// sinkToken is the per-charge callback credential the gateway would make.
func sinkToken(ref string) string { return "sink-token-" + ref + "-0123456789" }

// prepare runs what comes before the charge call itself, as the gateway does
// it: for a carrier that confirms, Authorize, read the code the subscriber
// was texted, Verify; and returns the charge request to send.
func (e *env) prepare(ref, msisdn string, amount int64) carriers.ChargeRequest {
	e.t.Helper()
	r, err := e.tryPrepare(context.Background(), ref, msisdn, amount)
	if err != nil {
		e.t.Fatalf("authorize %s: %v", ref, err)
	}
	return r
}

// tryPrepare is prepare that returns the carrier's error instead of failing.
func (e *env) tryPrepare(ctx context.Context, ref, msisdn string, amount int64) (carriers.ChargeRequest, error) {
	e.t.Helper()
	r := e.chargeRequest(ref, msisdn, amount)
	if !e.s.twoStep {
		return r, nil
	}
	a := e.carrier.(carriers.Authorizer)
	auth, err := a.Authorize(ctx, e.authorizeRequest(ref, msisdn, amount))
	if errors.Is(err, carriers.ErrUnsupported) {
		// The brief's fallback: an Authorizer that cannot authorise this
		// charge leaves the code to the gateway.
		e.t.Logf("Authorize: %v; charging without it", err)
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if auth.ID == "" {
		e.t.Fatalf("Authorize answered no authorization id: %+v", auth)
	}
	v, err := a.Verify(ctx, carriers.VerifyRequest{AuthorizationID: auth.ID, Reference: ref, Code: e.SMSCode(msisdn)})
	if err != nil {
		return r, fmt.Errorf("verify: %w", err)
	}
	r.AuthorizationID = auth.ID
	if v.ID != "" {
		r.AuthorizationID = v.ID
	}
	r.Token = v.Token
	return r, nil
}

func (e *env) authorizeRequest(ref, msisdn string, amount int64) carriers.AuthorizeRequest {
	return carriers.AuthorizeRequest{Reference: ref, MSISDN: msisdn, Amount: amount, Currency: currency, Description: "500 gems", Merchant: "Gem Shop", SinkToken: sinkToken(ref)}
}

// charge sends r and fails the test on an error.
func (e *env) charge(r carriers.ChargeRequest) carriers.Result {
	e.t.Helper()
	res, err := e.carrier.Charge(context.Background(), r)
	if err != nil {
		e.t.Fatalf("charge %s: %v", r.Reference, err)
	}
	return res
}

// chargeFinal is charge followed to its final result.
func (e *env) chargeFinal(r carriers.ChargeRequest) carriers.Result {
	e.t.Helper()
	return e.final(chargeRef(r, e.charge(r)))
}

// ref names an operation for final: what Status and callbacks are matched by.
type ref struct {
	kind      string // "charge" or "refund"
	reference carriers.Reference
	first     carriers.Result
}

func chargeRef(r carriers.ChargeRequest, res carriers.Result) ref {
	return ref{kind: "charge", first: res, reference: carriers.Reference{
		Kind: "charge", ClientReference: r.Reference, CarrierReference: res.CarrierReference, MSISDN: r.MSISDN,
	}}
}

func refundRef(r carriers.RefundRequest, res carriers.Result) ref {
	return ref{kind: "refund", first: res, reference: carriers.Reference{
		Kind: "refund", ClientReference: r.Reference, CarrierReference: res.CarrierReference,
		ChargeReference: r.CarrierReference, MSISDN: r.MSISDN,
	}}
}

// final follows a pending result to its end, as the gateway would: by the
// callback, if the adapter takes them and one is on its way; otherwise by a
// status query, with the carrier's clock moved on after each pending
// answer. It fails the test when nothing final comes within the bound.
func (e *env) final(o ref) carriers.Result {
	e.t.Helper()
	if o.first.Outcome != carriers.OutcomePending {
		return o.first
	}
	var (
		res     carriers.Result
		lastErr error
	)
	e.Await(o.kind+" "+o.reference.ClientReference+" to be final", e.sink.changed, func() bool {
		if n, ok := e.notification(o); ok && n.Result.Outcome != carriers.OutcomePending {
			res = n.Result
			return true
		}
		if e.s.webhooks && e.Pending() > 0 {
			return false // the callback is on its way
		}
		st, err := e.carrier.Status(context.Background(), o.reference)
		if err == nil && st.Outcome != carriers.OutcomePending {
			res = st
			return true
		}
		lastErr = err
		e.Clock.Advance(time.Second)
		return false
	})
	if res.Outcome == "" {
		e.t.Fatalf("%s %s: no final result (last status error: %v)", o.kind, o.reference.ClientReference, lastErr)
	}
	return res
}

// notification returns the newest callback about o that the adapter verifies.
func (e *env) notification(o ref) (carriers.Notification, bool) {
	_, n, ok := e.callbackFor(o)
	return n, ok
}

// callbackFor returns the newest callback about o that the adapter verifies,
// with the raw request.
func (e *env) callbackFor(o ref) (callback, carriers.Notification, bool) {
	p, ok := e.carrier.(carriers.WebhookParser)
	if !ok {
		return callback{}, carriers.Notification{}, false
	}
	got := e.sink.all()
	for i := len(got) - 1; i >= 0; i-- {
		n, err := p.ParseWebhook(got[i].header, got[i].body, e.Clock.Now())
		if err != nil || n.Kind != o.kind {
			continue
		}
		if (n.ClientReference != "" && n.ClientReference == o.reference.ClientReference) ||
			(n.CarrierReference != "" && n.CarrierReference == o.reference.CarrierReference) {
			return got[i], n, true
		}
	}
	return callback{}, carriers.Notification{}, false
}

// awaitCallback waits for a verified callback about o with a final result.
func (e *env) awaitCallback(o ref) (callback, carriers.Notification) {
	e.t.Helper()
	var (
		cb callback
		n  carriers.Notification
	)
	e.Await("a verified callback for "+o.kind+" "+o.reference.ClientReference, e.sink.changed, func() bool {
		var ok bool
		cb, n, ok = e.callbackFor(o)
		return ok && n.Result.Outcome != carriers.OutcomePending
	})
	return cb, n
}

// billed returns the carrier's ledger rows under our reference.
func (e *env) billed(reference string) []LedgerRow {
	e.t.Helper()
	var rows []LedgerRow
	for _, r := range e.Ledger(carrierName) {
		if r.ClientReference == reference {
			rows = append(rows, r)
		}
	}
	return rows
}

// billedOnce checks that the carrier billed reference exactly once, for
// amount, and returns the row.
func (e *env) billedOnce(reference string, amount int64) LedgerRow {
	e.t.Helper()
	rows := e.billed(reference)
	if len(rows) != 1 {
		e.t.Fatalf("carrier's books have %d rows for %s, want 1: %+v", len(rows), reference, rows)
	}
	if rows[0].Amount != amount || rows[0].Currency != currency {
		e.t.Fatalf("carrier billed %d %s for %s, want %d %s", rows[0].Amount, rows[0].Currency, reference, amount, currency)
	}
	return rows[0]
}

// notBilled checks that the carrier has no record of billing reference.
func (e *env) notBilled(reference string) {
	e.t.Helper()
	if rows := e.billed(reference); len(rows) != 0 {
		e.t.Fatalf("carrier billed %s: %+v", reference, rows)
	}
}

// faults sets the simulated carrier's faults (PUT /sim/faults).
func (e *env) faults(patch string) {
	e.t.Helper()
	e.PutFaults(`{"carrier":"` + carrierName + `",` + strings.TrimPrefix(patch, "{"))
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := io.Copy(&b, io.LimitReader(r.Body, 1<<20))
	return b.Bytes(), err
}

// refusedRefund reports whether a refund answer is a refusal: declined, or
// refused as a request the carrier does not take.
func refusedRefund(res carriers.Result, err error) bool {
	if err != nil {
		return errors.Is(err, carriers.ErrInvalidRequest)
	}
	return res.Outcome == carriers.OutcomeDeclined
}
