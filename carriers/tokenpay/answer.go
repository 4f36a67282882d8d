package tokenpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tollgate/carriers"
)

// errorInfo reads the protocol's error body; a body that is not one yields
// the zero value, and the HTTP status alone decides.
func errorInfo(a *carriers.Answer) (code, message string) {
	var e errorBody
	_ = json.Unmarshal(a.Body, &e)
	return e.Error.Code, e.Error.Message
}

// answerError turns an answer that is not a success into the error
// vocabulary (carriers.AnswerError), with the error body's code and message
// for people. write says whether the request could have changed the
// carrier's books (a POST). Business declines never come back here: this
// protocol reports them by callback or status query.
func answerError(a *carriers.Answer, write bool, now time.Time) error {
	code, msg := errorInfo(a)
	detail := fmt.Sprintf("HTTP %d", a.Status)
	if code != "" {
		detail += " " + code
	}
	if msg != "" {
		detail += ": " + msg
	}
	return carriers.AnswerError(a, write, detail, now)
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
