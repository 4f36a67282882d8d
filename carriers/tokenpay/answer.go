package tokenpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/carriers"
)

// errorInfo reads the protocol's error body; a body that is not one yields
// the zero value, and the HTTP status alone decides.
func errorInfo(a *answer) (code, message string) {
	var e errorBody
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code, e.Error.Message
}

// answerError turns an answer that is not a success into the error
// vocabulary. write says whether the request could have changed the
// carrier's books (a POST), which decides what an unclear answer means.
// Business declines never come back here: this protocol reports them by
// callback or status query.
func answerError(a *answer, write bool, now time.Time) error {
	code, msg := errorInfo(a)
	detail := fmt.Sprintf("HTTP %d", a.status)
	if code != "" {
		detail += " " + code
	}
	if msg != "" {
		detail += ": " + msg
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
		// front of it, may have accepted before failing to answer.
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

// failureCodes maps the carrier's failure reasons to the API's failure codes.
var failureCodes = map[string]string{
	reasonInsufficientFunds: carriers.FailureInsufficientBalance,
	reasonAccountBarred:     carriers.FailureSubscriberBlocked,
	reasonSpendingLimit:     carriers.FailureCarrierLimitExceeded,
}

// outcome maps a charge's or refund's status to a Result, keeping the
// carrier's reason for a failure as the decline code.
func outcome(id, status, reason string) (carriers.Result, error) {
	res := carriers.Result{CarrierReference: id}
	switch status {
	case statusSucceeded:
		res.Outcome = carriers.OutcomeSucceeded
	case statusAccepted:
		res.Outcome = carriers.OutcomePending
	case statusFailed:
		res.Outcome = carriers.OutcomeDeclined
		res.DeclineCode = reason
		res.FailureCode = carriers.FailureCarrierDeclined
		if fc, ok := failureCodes[reason]; ok {
			res.FailureCode = fc
		}
	default:
		return carriers.Result{}, fmt.Errorf("%w: %s has unknown status %q", carriers.ErrOutcomeUnknown, id, status)
	}
	return res, nil
}
