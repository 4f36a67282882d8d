package camara

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"tollgate/carriers"
)

// chargeDeclines maps the codes a carrier uses to refuse a payment on
// business grounds to the API's failure codes. Any other error code is a
// fault or a bug, never a decline.
var chargeDeclines = map[string]string{
	codePaymentDenied:        carriers.FailureCarrierDeclined,
	codeIdentifierNotFound:   carriers.FailureCarrierDeclined, // the line is not this carrier's to bill
	codeServiceNotApplicable: carriers.FailureSubscriberBlocked,
	codeUnauthorizedAmount:   carriers.FailureCarrierLimitExceeded,
	codeUserThreshold:        carriers.FailureCarrierLimitExceeded,
	codeAmountThreshold:      carriers.FailureCarrierLimitExceeded,
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
func errorBody(a *carriers.Answer) errorInfo {
	var e errorInfo
	_ = json.Unmarshal(a.Body, &e)
	return e
}

// decline returns the declined Result for a 4xx answer whose code is in
// table, and false for every other answer.
func decline(a *carriers.Answer, table map[string]string) (carriers.Result, bool) {
	if a.Status < 400 || a.Status > 499 {
		return carriers.Result{}, false
	}
	e := errorBody(a)
	failure, ok := declineFailure(table, e.Code, e.Message)
	if !ok {
		return carriers.Result{}, false
	}
	return carriers.Result{
		Outcome:     carriers.OutcomeDeclined,
		FailureCode: failure,
		DeclineCode: e.Code,
		Message:     carriers.RedactNumbers(e.Message), // free text; DeclineResult bypasses the decorator's redaction
	}, true
}

// declineFailure is the failure code for a decline with code and message,
// and false when code is not a decline in table. CAMARA has no code for a
// balance too low: an operator answers CARRIER_BILLING.PAYMENT_DENIED and
// says why in the message, which is read for the words operators use.
func declineFailure(table map[string]string, code, message string) (string, bool) {
	failure, ok := table[code]
	if ok && code == codePaymentDenied && insufficientBalance.MatchString(message) {
		failure = carriers.FailureInsufficientBalance
	}
	return failure, ok
}

// insufficientBalance matches a denial's message that says the balance or
// credit was too low.
var insufficientBalance = regexp.MustCompile(`(?i)insufficient (balance|funds|credit)|not enough (balance|credit)`)

// answerError turns an answer that is neither a success nor a decline into
// the error vocabulary (carriers.AnswerError), with the CAMARA error's code
// and message for people. write says whether the request could have changed
// the carrier's books (a POST).
func answerError(a *carriers.Answer, write bool, now time.Time) error {
	e := errorBody(a)
	detail := fmt.Sprintf("HTTP %d", a.Status)
	if e.Code != "" {
		detail += " " + e.Code
	}
	if e.Message != "" {
		detail += ": " + e.Message
	}
	if a.Status == http.StatusUnauthorized || (a.Status == http.StatusForbidden && e.Code == codePermissionDenied) {
		// The operator refused our access token, or its scopes: nothing
		// was done, and every call will meet the same until the
		// connection's credentials are mended, so the breaker counts it.
		return fmt.Errorf("%w: operator refused our access: %s", carriers.ErrUnavailable, carriers.RedactNumbers(detail))
	}
	return carriers.AnswerError(a, write, detail, now)
}

var errNoID = errors.New("answer carries no identifier")
