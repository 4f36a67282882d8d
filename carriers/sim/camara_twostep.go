package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// CAMARA's 2-step payment, the "validate" case of the spec: preparePayment
// reserves the amount and answers pending_validation with an authorizationId,
// while the operator sends the subscriber a code by SMS (to the simulator's
// inbox, GET /sim/sms); validatePayment with the right code moves it to
// reserved; confirmPayment bills it, cancelPayment lets it go.
//
// The test numbers of outcome.go decide where the spec declares the answer:
// 0004 (the line's monthly threshold) and an amount above the line's limit
// are refused at prepare, as createPayment refuses them; at confirm, where
// the money moves, 0002 and 0003 are denied with the codes createPayment
// answers;
// 0005 goes processing and succeeds later (notified to the sink given at
// prepare); 0006 bills and never answers; 0007 answers the first confirm of
// each payment 503. A resent confirm of a payment already confirmed is
// answered 409 CARRIER_BILLING.PAYMENT_CONFIRMED as the spec says, and one of
// a denied payment gets the same denial again.
//
// Not simulated: the reservation expiring. The gateway keeps its own code
// expiry and cancels what it gives up on.

// Endpoint kinds of the 2-step operations, counted like the others.
const (
	kindPreparePayment  = "prepare_payment"
	kindValidatePayment = "validate_payment"
	kindConfirmPayment  = "confirm_payment"
	kindCancelPayment   = "cancel_payment"
)

// maxValidationAttempts is how many wrong codes a payment takes before the
// operator denies it (CARRIER_BILLING.VALIDATION_FAILED). It is above the
// gateway's own limit, so that the gateway's counting is what a subscriber
// meets.
const maxValidationAttempts = 5

// validationAction is the ValidationInfo discriminator for a code sent to the
// subscriber and checked with validatePayment.
const validationAction = "validate"

// twoStep is what a 2-step payment carries beyond a 1-step one.
type twoStep struct {
	authorizationID string
	code            string
	wrongCodes      int
	// denial is why the payment was denied, answered again when the same
	// request comes back.
	denial *apiError
}

// validationInfoOut is the spec's ValidationInfo of action "validate".
type validationInfoOut struct {
	Action          string `json:"action"`
	AuthorizationID string `json:"authorizationId"`
}

// preparedOut is preparePayment's answer: the payment and how to validate it.
type preparedOut struct {
	paymentOut
	ValidationInfo *validationInfoOut `json:"validationInfo,omitempty"`
}

func (p *payment) prepared() preparedOut {
	o := preparedOut{paymentOut: p.out()}
	if p.step2 != nil {
		o.ValidationInfo = &validationInfoOut{Action: validationAction, AuthorizationID: p.step2.authorizationID}
	}
	return o
}

// preparePayment is CAMARA's preparePayment. clientCorrelator is honoured
// as in createPayment: a resent request gets the payment it prepared, and
// no second code.
func (s *Simulator) preparePayment(c *carrierState, r *http.Request, body []byte) reply {
	in, e := s.readPaymentRequest(c, r, body)
	if e != nil {
		return errorReply(*e)
	}
	where := http.Header{}
	if in.correlator != "" {
		if p := c.byCorrelator[in.correlator]; p != nil {
			if p.step2 == nil || !in.same(p) {
				return errorReply(errInvalid(msgCorrelatorInUse))
			}
			c.stats.Duplicates++
			where.Set("Location", paymentLocation(r, p.id))
			return reply{status: http.StatusCreated, body: p.prepared(), header: where}
		}
	}
	if c.byReference[in.ref] != nil {
		return errorReply(apiError{Status: http.StatusConflict, Code: codeAlreadyExists, Message: "A payment with this referenceCode already exists."})
	}
	if d := limitFor(outcomeFor(in.phone), in.amount); d != nil {
		c.stats.ChargesDeclined++
		return errorReply(*d)
	}
	p := s.newPayment(c, in)
	p.status = paymentPendingValidation
	p.step2 = &twoStep{authorizationID: newID("auth_"), code: fmt.Sprintf("%06d", s.rng.IntN(1_000_000))}
	payee := p.merchant
	if payee == "" {
		payee = "the merchant"
	}
	s.deliverSMS(c, p.phone, fmt.Sprintf("%s is your code to pay %s to %s", p.step2.code, displayAmount(p.amount, p.currency), payee), p.referenceCode)
	where.Set("Location", paymentLocation(r, p.id))
	return reply{status: http.StatusCreated, body: p.prepared(), header: where}
}

// validatePayment is CAMARA's validatePayment: 204 for the right code, 400
// CARRIER_BILLING.INVALID_CODE for a wrong one, and VALIDATION_FAILED (the
// payment denied) at the maxValidationAttempts-th wrong code. A payment
// already validated answers 409 ALREADY_EXISTS, as the spec's example says.
func (s *Simulator) validatePayment(c *carrierState, r *http.Request, body []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	var req struct {
		AuthorizationID *string `json:"authorizationId"`
		Code            *string `json:"code"`
	}
	if e := decodeBody(body, &req); e != nil {
		return errorReply(*e)
	}
	switch {
	case req.AuthorizationID == nil:
		return errorReply(errInvalid("Expected property is missing: authorizationId."))
	case req.Code == nil:
		return errorReply(errInvalid("Expected property is missing: code."))
	case p.step2 == nil || *req.AuthorizationID != p.step2.authorizationID:
		return errorReply(apiError{Status: http.StatusBadRequest, Code: codeInvalidAuthorizationID, Message: "Invalid authorizationId."})
	}
	validationFailed := apiError{Status: http.StatusBadRequest, Code: codeValidationFailed, Message: "the maximum number of attempts have been consumed for this validation."}
	switch p.status {
	case paymentPendingValidation:
	case paymentCancelled:
		return errorReply(apiError{Status: http.StatusConflict, Code: codePaymentCancelled, Message: "Payment has been cancelled."})
	case paymentDenied:
		if p.step2.denial != nil && p.step2.denial.Code == codeValidationFailed {
			return errorReply(validationFailed)
		}
		fallthrough // denied at confirm: it had been validated
	default:
		return errorReply(apiError{Status: http.StatusConflict, Code: codeAlreadyExists, Message: "Payment already validated"})
	}
	if *req.Code != p.step2.code {
		p.step2.wrongCodes++
		if p.step2.wrongCodes >= maxValidationAttempts {
			p.status = paymentDenied
			p.step2.denial = &validationFailed
			return errorReply(validationFailed)
		}
		return errorReply(apiError{Status: http.StatusBadRequest, Code: codeInvalidCode, Message: "Invalid code."})
	}
	p.status = paymentReserved
	return reply{status: http.StatusNoContent}
}

// confirmPayment is CAMARA's confirmPayment. The spec's 202 has no body; the
// simulator adds the Payment resource as it now stands, which a client may
// read but need not (retrievePayment says the same).
func (s *Simulator) confirmPayment(c *carrierState, r *http.Request, body []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	if e := checkPhoneBody(r, body, p); e != nil {
		return errorReply(*e)
	}
	switch p.status {
	case paymentReserved:
	case paymentPendingValidation:
		return errorReply(errInvalid("Payment has not been validated yet."))
	case paymentProcessing, paymentSucceeded:
		return errorReply(apiError{Status: http.StatusConflict, Code: codePaymentConfirmed, Message: "Payment has been confirmed."})
	case paymentCancelled:
		return errorReply(apiError{Status: http.StatusConflict, Code: codePaymentCancelled, Message: "Payment has been cancelled."})
	case paymentDenied:
		if d := p.step2.denial; d != nil && d.Code != codeValidationFailed {
			return errorReply(*d)
		}
		return errorReply(apiError{Status: http.StatusForbidden, Code: codePaymentDenied, Message: "Payment denied by business."})
	default:
		return errorReply(errInvalid("Payment cannot be confirmed in status " + p.status + "."))
	}

	oc := outcomeFor(p.phone)
	if d := declineFor(oc); d != nil {
		p.status = paymentDenied
		p.step2.denial = d
		c.stats.ChargesDeclined++
		return errorReply(*d)
	}
	if oc == outcomeUnavailableOnce {
		if rp, failed := c.unavailableOnce("confirm:" + p.id); failed {
			return rp
		}
	}
	if oc == outcomeAsync {
		s.startProcessing(c, p)
	} else {
		p.status = paymentSucceeded
		p.paidAt = s.now()
		c.stats.ChargesBilled++
	}
	return reply{status: http.StatusAccepted, body: p.out(), hold: oc == outcomeBillThenHang}
}

// cancelPayment is CAMARA's cancelPayment: a payment not yet confirmed is
// cancelled and its reservation released. Cancelling it again answers 409
// CARRIER_BILLING.PAYMENT_CANCELLED as the spec says; a denied payment holds
// nothing and is answered 202 as it is.
func (s *Simulator) cancelPayment(c *carrierState, r *http.Request, body []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	if e := checkPhoneBody(r, body, p); e != nil {
		return errorReply(*e)
	}
	switch p.status {
	case paymentPendingValidation, paymentReserved:
		p.status = paymentCancelled
	case paymentDenied:
	case paymentCancelled:
		return errorReply(apiError{Status: http.StatusConflict, Code: codePaymentCancelled, Message: "Payment has been cancelled."})
	default:
		return errorReply(apiError{Status: http.StatusConflict, Code: codePaymentConfirmed, Message: "Payment has been confirmed."})
	}
	return reply{status: http.StatusAccepted, body: p.out()}
}

// checkPhoneBody reads the PhoneNumber body of confirmPayment and
// cancelPayment. A 3-legged token names the subscriber, and then the body
// must not, and the token must speak for the payment's line; otherwise the
// phone number must be there, and be the payment's.
func checkPhoneBody(r *http.Request, body []byte, p *payment) *apiError {
	var m map[string]json.RawMessage
	if e := decodeBody(body, &m); e != nil {
		return e
	}
	raw, ok := m["phoneNumber"]
	if subject := tokenSubject(r); subject != "" {
		switch {
		case ok:
			return &apiError{Status: http.StatusUnprocessableEntity, Code: codeUnnecessaryID, Message: "The phone number is already identified by the access token."}
		case subject != p.phone:
			return &apiError{Status: http.StatusForbidden, Code: codePermissionDenied, Message: "Client does not have sufficient permissions to perform this action."}
		}
		return nil
	}
	if len(m) == 0 {
		e := errInvalid("Expected property is missing: phoneNumber.")
		return &e
	}
	if !ok {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeMissingIdentifier, Message: "The phone number cannot be identified."}
	}
	var phone string
	if err := json.Unmarshal(raw, &phone); err != nil || !phonePattern.MatchString(phone) {
		e := errInvalid("phoneNumber does not match ^\\+[1-9][0-9]{4,14}$")
		return &e
	}
	if phone != p.phone {
		return &apiError{Status: http.StatusNotFound, Code: codeIdentifierNotFound, Message: "phoneNumber not found."}
	}
	return nil
}

// paymentLocation is the Location of a payment created under .../payments/prepare.
func paymentLocation(r *http.Request, id string) string {
	return strings.TrimSuffix(r.URL.Path, "/prepare") + "/" + id
}

// currencySymbols are the signs a subscriber reads in a text message.
var currencySymbols = map[string]string{"KRW": "₩", "JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}

// displayAmount writes an amount as a person reads it: ₩5,000, $19.99, BHD 1.234.
func displayAmount(minor int64, currency string) string {
	whole, frac, _ := strings.Cut(string(formatAmount(minor, currency)), ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if sym, ok := currencySymbols[currency]; ok {
		return sym + out
	}
	return currency + " " + out
}
