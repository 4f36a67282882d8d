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
func errorBody(a *carriers.Answer) requestError {
	var e requestError
	_ = json.Unmarshal(a.Body, &e)
	return e
}

// decline returns the declined Result for a 4xx answer that carries a policy
// exception, and false for every other answer. A policy exception is the
// operator refusing on business grounds; its messageId picks the failure
// code (declines), and any other one is a plain carrier decline. 401, 404
// and 429 are not refusals of this operation, whatever their body says.
func decline(a *carriers.Answer) (carriers.Result, bool) {
	switch {
	case a.Status < 400 || a.Status > 499:
		return carriers.Result{}, false
	case a.Status == http.StatusUnauthorized, a.Status == http.StatusNotFound, a.Status == http.StatusTooManyRequests:
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
// the error vocabulary (carriers.AnswerError), with the exception's
// messageId and text for people. write says whether the request could have
// changed the carrier's books (a POST). A service exception (SVC0002 invalid
// input, SVC0005 a clientCorrelator reused for another request...) on a 4xx
// is the carrier refusing the request as malformed: ErrInvalidRequest, like
// any other 4xx but 404, 409 and 429.
func answerError(a *carriers.Answer, write bool, now time.Time) error {
	detail := fmt.Sprintf("HTTP %d", a.Status)
	e := errorBody(a).RequestError
	if ex := e.ServiceException; ex != nil {
		detail += " " + ex.MessageID + ": " + ex.message()
	} else if ex := e.PolicyException; ex != nil {
		detail += " " + ex.MessageID + ": " + ex.message()
	}
	return carriers.AnswerError(a, write, detail, now)
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

// decode reads a JSON answer keeping numbers as their exact decimal text.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
