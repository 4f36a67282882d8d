package oneapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/carriers"
)

// errorBody reads a OneAPI error body; a body that is not one (a proxy's
// page, or the simulator's own fault answers) yields nil exceptions, and the
// HTTP status alone decides.
func errorBody(a *answer) requestError {
	var e requestError
	_ = json.Unmarshal(a.body, &e)
	return e
}

// decline returns the declined Result for a 4xx answer that carries a policy
// exception, and false for every other answer. A policy exception is the
// operator refusing on business grounds; its messageId picks the failure
// code (declines), and any other one is a plain carrier decline. 401, 404
// and 429 are not refusals of this operation, whatever their body says.
func decline(a *answer) (carriers.Result, bool) {
	switch {
	case a.status < 400 || a.status > 499:
		return carriers.Result{}, false
	case a.status == http.StatusUnauthorized, a.status == http.StatusNotFound, a.status == http.StatusTooManyRequests:
		return carriers.Result{}, false
	}
	pol := errorBody(a).RequestError.PolicyException
	if pol == nil || pol.MessageID == "" {
		return carriers.Result{}, false
	}
	failure, ok := declines[pol.MessageID]
	if !ok {
		failure = carriers.FailureCarrierDeclined
	}
	return carriers.Result{
		Outcome:     carriers.OutcomeDeclined,
		FailureCode: failure,
		DeclineCode: pol.MessageID,
		Message:     pol.message(),
	}, true
}

// answerError turns an answer that is neither a success nor a decline into
// the error vocabulary. write says whether the request could have changed the
// carrier's books (a POST), which decides what an unclear answer means.
func answerError(a *answer, write bool, now time.Time) error {
	detail := fmt.Sprintf("HTTP %d", a.status)
	e := errorBody(a).RequestError
	if ex := e.ServiceException; ex != nil {
		detail += " " + ex.MessageID + ": " + ex.message()
	} else if ex := e.PolicyException; ex != nil {
		detail += " " + ex.MessageID + ": " + ex.message()
	}
	switch {
	case a.status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s", carriers.ErrRateLimited, detail)
	case a.status == http.StatusServiceUnavailable:
		// The carrier answered that it cannot serve now: nothing was done.
		return &carriers.UnavailableError{
			RetryAfter: retryAfter(a.header, now),
			Err:        fmt.Errorf("%w: %s", carriers.ErrUnavailable, detail),
		}
	case a.status == http.StatusNotFound:
		return fmt.Errorf("%w: %s", carriers.ErrNotFound, detail)
	case a.status == http.StatusConflict && write:
		// Something with our reference already exists at the carrier, and
		// this answer does not say what became of it: ask, don't resend.
		return fmt.Errorf("%w: %s", carriers.ErrOutcomeUnknown, detail)
	case a.status >= 400 && a.status <= 499:
		// Service exceptions (SVC0002 invalid input, SVC0005 a clientCorrelator
		// reused for another request...) and anything else the carrier refused
		// as malformed.
		return fmt.Errorf("%w: %s", carriers.ErrInvalidRequest, detail)
	case write:
		// 500, 502, 504 and anything unexpected: the carrier, or a proxy in
		// front of it, may have billed before failing to answer.
		return fmt.Errorf("%w: %s", carriers.ErrOutcomeUnknown, detail)
	default:
		return fmt.Errorf("%w: %s", carriers.ErrUnavailable, detail)
	}
}

// errUnreadable is the error for a success answer whose body cannot be used.
func errUnreadable(a *answer, err error) error {
	return fmt.Errorf("%w: HTTP %d with an unreadable body: %v", carriers.ErrOutcomeUnknown, a.status, err)
}

var errNoID = errors.New("answer carries no serverReferenceCode")

// isRefund tells a refund transaction from a charge.
func isRefund(t transaction) bool {
	return t.OriginalServerReferenceCode != "" || t.TransactionOperationStatus == statusRefunded
}

// transactionResult maps an amount transaction the carrier answered to a
// Result; kind is what we asked about, a charge or a refund.
func transactionResult(t transaction, kind string) (carriers.Result, error) {
	if t.ServerReferenceCode == "" {
		return carriers.Result{}, fmt.Errorf("%w: %s %v", carriers.ErrOutcomeUnknown, kind, errNoID)
	}
	if isRefund(t) != (kind == kindRefund) {
		return carriers.Result{}, fmt.Errorf("%w: asked about a %s, the carrier answered transaction %s (%s)",
			carriers.ErrOutcomeUnknown, kind, t.ServerReferenceCode, t.TransactionOperationStatus)
	}
	res := carriers.Result{CarrierReference: t.ServerReferenceCode}
	switch t.TransactionOperationStatus {
	case statusCharged, statusRefunded:
		res.Outcome = carriers.OutcomeSucceeded
	case statusProcessing, statusPending:
		// Accepted; the final word comes from a later status query.
		res.Outcome = carriers.OutcomePending
	case statusDenied, statusRefused:
		res.Outcome = carriers.OutcomeDeclined
		res.FailureCode = carriers.FailureCarrierDeclined
		res.DeclineCode = t.TransactionOperationStatus
	default:
		return carriers.Result{}, fmt.Errorf("%w: %s %s has unknown transactionOperationStatus %q",
			carriers.ErrOutcomeUnknown, kind, t.ServerReferenceCode, t.TransactionOperationStatus)
	}
	return res, nil
}

// amountMismatch describes a carrier echoing a different amount than we
// asked for. The carrier's word on the outcome still stands (it may well
// have billed), so this is surfaced for people and settlement, not an error.
func amountMismatch(ci chargingInformation, want int64, currency string) string {
	if ci.Amount == "" && ci.Currency == "" {
		return ""
	}
	if ci.Currency != currency {
		return fmt.Sprintf("carrier reports currency %q, requested %s", ci.Currency, currency)
	}
	got, err := parseAmount(ci.Amount, currency)
	if err != nil {
		return fmt.Sprintf("carrier reports an unreadable amount: %v", err)
	}
	if got != want {
		return fmt.Sprintf("carrier reports amount %d, requested %d (minor units of %s)", got, want, currency)
	}
	return ""
}

// decode reads a JSON answer keeping numbers as their exact decimal text.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
