package camara

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/carriers"
)

// chargeDeclines maps the codes a carrier uses to refuse a payment on
// business grounds to the API's failure codes. Any other error code is a
// fault or a bug, never a decline.
var chargeDeclines = map[string]string{
	codePaymentDenied:          carriers.FailureCarrierDeclined,
	codeIdentifierNotFound:     carriers.FailureCarrierDeclined, // the line is not this carrier's to bill
	codeServiceNotApplicable:   carriers.FailureSubscriberBlocked,
	codeUnauthorizedAmount:     carriers.FailureCarrierLimitExceeded,
	codeUserThreshold:          carriers.FailureCarrierLimitExceeded,
	codeAmountThreshold:        carriers.FailureCarrierLimitExceeded,
	codeSimInsufficientBalance: carriers.FailureInsufficientBalance,
	codeSimSubscriberBlocked:   carriers.FailureSubscriberBlocked,
}

// refundDeclines is chargeDeclines for refunds.
var refundDeclines = map[string]string{
	codeRefundDenied:                carriers.FailureCarrierDeclined,
	codePaymentNotEligibleForRefund: carriers.FailureCarrierDeclined,
	codeRefundUnauthorizedAmount:    carriers.FailureCarrierDeclined,
	codeRefundInvalidPaymentStatus:  carriers.FailureCarrierDeclined,
	codeRefundUserThreshold:         carriers.FailureCarrierLimitExceeded,
	codeRefundAmountThreshold:       carriers.FailureCarrierLimitExceeded,
}

// errorBody reads a CAMARA error body; a body that is not one yields the
// zero value, and the HTTP status alone decides.
func errorBody(a *answer) errorInfo {
	var e errorInfo
	_ = json.Unmarshal(a.body, &e)
	return e
}

// decline returns the declined Result for a 4xx answer whose code is in
// table, and false for every other answer.
func decline(a *answer, table map[string]string) (carriers.Result, bool) {
	if a.status < 400 || a.status > 499 {
		return carriers.Result{}, false
	}
	e := errorBody(a)
	failure, ok := table[e.Code]
	if !ok {
		return carriers.Result{}, false
	}
	return carriers.Result{
		Outcome:     carriers.OutcomeDeclined,
		FailureCode: failure,
		DeclineCode: e.Code,
		Message:     e.Message,
	}, true
}

// answerError turns an answer that is neither a success nor a decline into
// the error vocabulary. write says whether the request could have changed the
// carrier's books (a POST), which decides what an unclear answer means.
func answerError(a *answer, write bool, now time.Time) error {
	e := errorBody(a)
	detail := fmt.Sprintf("HTTP %d", a.status)
	if e.Code != "" {
		detail += " " + e.Code
	}
	if e.Message != "" {
		detail += ": " + e.Message
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

var errNoID = errors.New("answer carries no identifier")
