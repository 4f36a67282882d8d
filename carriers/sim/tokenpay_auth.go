package sim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
)

// tpCreateAuthorization is POST /v1/authorizations: the carrier texts the
// subscriber a PIN. It always works, whatever the number: declines happen
// when a charge is made. The same reference gets the same authorization and
// no second PIN; the same reference for something else is refused.
func (s *Simulator) tpCreateAuthorization(c *carrierState, r *http.Request, body []byte) (reply, func()) {
	var in tpAuthorizationIn
	if e := decodeBody(body, &in); e != nil {
		return tpInvalid(e.Message), nil
	}
	switch {
	case in.Reference == "":
		return tpInvalid("reference is required"), nil
	case !tpPhonePattern.MatchString(in.MSISDN):
		return tpInvalid("msisdn must be E.164"), nil
	case in.Amount < 0 || (!in.Recurring && in.Amount == 0):
		return tpInvalid("amount must be positive (0 is allowed for a recurring authorization only)"), nil
	case (in.Amount > 0 || in.Currency != "") && !validCurrency(in.Currency):
		return tpInvalid("currency must be an ISO 4217 code"), nil
	}
	b := c.tp()
	if a := b.authByRef[in.Reference]; a != nil {
		if a.msisdn != in.MSISDN || a.amount != in.Amount || a.currency != in.Currency || a.recurring != in.Recurring {
			return tpErrorReply(http.StatusUnprocessableEntity, tpCodeReferenceReused, "reference was used for a different authorization"), nil
		}
		c.stats.Duplicates++
		return reply{status: http.StatusCreated, body: a.out()}, nil
	}

	now := s.now()
	a := &tpAuthorization{
		id:          newID("auth_"),
		reference:   in.Reference,
		msisdn:      in.MSISDN,
		amount:      in.Amount,
		currency:    in.Currency,
		description: in.Description,
		merchant:    in.Merchant,
		recurring:   in.Recurring,
		pin:         fmt.Sprintf("%06d", s.rng.IntN(1_000_000)),
		status:      tpPINSent,
		expiresAt:   now.Add(tpPINValidity),
	}
	b.auths[a.id] = a
	b.authByRef[a.reference] = a

	merchant := a.merchant
	if merchant == "" {
		merchant = "your purchase"
	}
	// The PIN comes first, so that nothing in a merchant's name is read as the code.
	text := fmt.Sprintf("%s is your PIN for %s. It expires in 5 minutes; never share it.", a.pin, merchant)
	s.deliverSMS(c, a.msisdn, text, a.reference)
	return reply{status: http.StatusCreated, body: a.out()}, nil
}

// tpVerify is POST /v1/authorizations/{id}/verify. A wrong PIN is 422
// invalid_pin; after three wrong PINs, or five minutes, the authorization is
// expired and answers 410. Verifying a verified authorization with its PIN
// again returns the same token.
func (s *Simulator) tpVerify(c *carrierState, r *http.Request, body []byte) (reply, func()) {
	a := c.tp().auths[r.PathValue("id")]
	if a == nil {
		return tpNotFound("authorization"), nil
	}
	var in tpVerifyIn
	if e := decodeBody(body, &in); e != nil {
		return tpInvalid(e.Message), nil
	}
	if in.PIN == "" {
		return tpInvalid("pin is required"), nil
	}
	right := subtle.ConstantTimeCompare([]byte(in.PIN), []byte(a.pin)) == 1
	if a.status == tpVerified {
		if !right {
			return tpErrorReply(http.StatusUnprocessableEntity, tpCodeInvalidPIN, "The PIN is wrong."), nil
		}
		return reply{status: http.StatusOK, body: a.verifiedOut()}, nil
	}
	if a.status == tpPINSent && s.now().After(a.expiresAt) {
		a.status = tpExpired
	}
	if a.status == tpExpired {
		code, msg := tpCodePINExpired, "The PIN has expired; start a new authorization."
		if a.wrongPINs >= tpMaxWrongPINs {
			code, msg = tpCodeTooManyAttempts, "Too many wrong PINs; start a new authorization."
		}
		return tpErrorReply(http.StatusGone, code, msg), nil
	}
	if !right {
		a.wrongPINs++
		left := tpMaxWrongPINs - a.wrongPINs
		if left <= 0 {
			a.status = tpExpired
		}
		return reply{status: http.StatusUnprocessableEntity, body: tpError{Error: tpErrorInfo{
			Code: tpCodeInvalidPIN, Message: "The PIN is wrong.", AttemptsRemaining: &left,
		}}}, nil
	}
	a.status = tpVerified
	a.token = newID("tok_")
	c.tp().byToken[a.token] = a
	return reply{status: http.StatusOK, body: a.verifiedOut()}, nil
}

func (a *tpAuthorization) verifiedOut() tpAuthorizationOut {
	o := a.out()
	o.Token = a.token
	return o
}

// tpSendMessage is POST /v1/messages: a text to a subscriber, for codes the
// gateway owns. A reference seen before is answered without a second text.
func (s *Simulator) tpSendMessage(c *carrierState, r *http.Request, body []byte) (reply, func()) {
	var in tpMessageIn
	if e := decodeBody(body, &in); e != nil {
		return tpInvalid(e.Message), nil
	}
	switch {
	case !tpPhonePattern.MatchString(in.MSISDN):
		return tpInvalid("msisdn must be E.164"), nil
	case in.Text == "":
		return tpInvalid("text is required"), nil
	}
	b := c.tp()
	if in.Reference != "" {
		if prev, ok := b.messages[in.Reference]; ok {
			c.stats.Duplicates++
			return reply{status: http.StatusCreated, body: prev}, nil
		}
	}
	out := tpMessageOut{MessageID: newID("sms_"), Reference: in.Reference, Status: "delivered"}
	s.deliverSMS(c, in.MSISDN, in.Text, referenceOf(in.Reference))
	if in.Reference != "" {
		b.messages[in.Reference] = out
	}
	return reply{status: http.StatusCreated, body: out}, nil
}
