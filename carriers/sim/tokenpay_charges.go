package sim

import (
	"net/http"
	"time"
)

// tpCreateCharge is POST /v1/charges: the carrier accepts the charge (202)
// and decides it afterwards, reporting by callback. The same reference gets
// the same answer and is billed once; the same reference for a different
// charge is refused.
func (s *Simulator) tpCreateCharge(c *carrierState, r *http.Request, body []byte) (reply, func()) {
	var in tpChargeIn
	if e := decodeBody(body, &in); e != nil {
		return tpInvalid(e.Message), nil
	}
	switch {
	case in.Token == "":
		return tpInvalid("token is required"), nil
	case in.Reference == "":
		return tpInvalid("reference is required"), nil
	case in.Amount <= 0:
		return tpInvalid("amount must be a positive integer of minor units"), nil
	case !validCurrency(in.Currency):
		return tpInvalid("currency must be an ISO 4217 code"), nil
	case in.CallbackURL != "" && !validCallbackURL(in.CallbackURL):
		return tpInvalid("callback_url must be an absolute http(s) URL"), nil
	}
	b := c.tp()
	if ch := b.chargeByRef[in.Reference]; ch != nil {
		if ch.token != in.Token || ch.amount != in.Amount || ch.currency != in.Currency {
			return tpErrorReply(http.StatusUnprocessableEntity, tpCodeReferenceReused, "reference was used for a different charge"), nil
		}
		c.stats.Duplicates++
		return reply{status: http.StatusAccepted, body: tpAcceptedOut{ChargeID: ch.id, Status: tpAccepted}}, nil
	}
	a := b.byToken[in.Token]
	if a == nil {
		return tpErrorReply(http.StatusUnprocessableEntity, tpCodeInvalidToken, "The token is unknown or revoked."), nil
	}
	if outcomeFor(a.msisdn) == outcomeUnavailableOnce && !b.failedOnce[in.Reference] {
		b.failedOnce[in.Reference] = true
		c.stats.UnavailableOnce++
		rp := tpErrorReply(http.StatusServiceUnavailable, tpCodeUnavailable, "Service unavailable; nothing was charged.")
		rp.header = http.Header{"Retry-After": {"1"}}
		return rp, nil
	}
	switch {
	case !a.recurring && a.spent:
		return tpErrorReply(http.StatusUnprocessableEntity, tpCodeTokenUsed, "A one-off token pays for one charge only."), nil
	case a.currency != "" && a.currency != in.Currency:
		return tpErrorReply(http.StatusUnprocessableEntity, tpCodeAmountNotAllowed, "The currency is not the authorized one."), nil
	case a.amount > 0 && in.Amount > a.amount:
		return tpErrorReply(http.StatusUnprocessableEntity, tpCodeAmountNotAllowed, "The amount is more than the subscriber authorized."), nil
	}

	ch := &tpCharge{
		id:          newID("chg_"),
		reference:   in.Reference,
		token:       in.Token,
		msisdn:      a.msisdn,
		merchant:    a.merchant,
		amount:      in.Amount,
		currency:    in.Currency,
		description: in.Description,
		callbackURL: in.CallbackURL,
		status:      tpAccepted,
		createdAt:   s.now(),
	}
	a.spent = true
	b.charges[ch.id] = ch
	b.chargeByRef[ch.reference] = ch
	// A slow back end decides 0005 later; the wait starts now, with the
	// answer, so a test moving the clock after the answer moves past it.
	var decided <-chan time.Time
	if outcomeFor(a.msisdn) == outcomeAsync {
		decided = s.after(tpSlowCallback)
	}
	return reply{status: http.StatusAccepted, body: tpAcceptedOut{ChargeID: ch.id, Status: tpAccepted}},
		func() { s.tpDecideCharge(c, ch, decided) }
}

// tpDecideCharge is the carrier's back end deciding an accepted charge by the
// subscriber's test number, once decided fires (nil: at once), then calling
// back. It runs in its own goroutine.
func (s *Simulator) tpDecideCharge(c *carrierState, ch *tpCharge, decided <-chan time.Time) {
	oc := outcomeFor(ch.msisdn)
	if decided != nil {
		<-decided
	}
	s.mu.Lock()
	now := s.now()
	ch.completedAt = now
	switch oc {
	case outcomeInsufficientBalance:
		ch.status, ch.failureReason = tpFailed, tpInsufficientFunds
	case outcomeSubscriberBlocked:
		ch.status, ch.failureReason = tpFailed, tpAccountBarred
	case outcomeCarrierLimit:
		ch.status, ch.failureReason = tpFailed, tpSpendingLimit
	default:
		ch.status = tpSucceeded
	}
	if ch.status == tpFailed {
		c.stats.ChargesDeclined++
	} else {
		p := &payment{
			seq:           s.nextSeq(),
			id:            ch.id,
			phone:         ch.msisdn,
			correlator:    ch.reference,
			referenceCode: ch.reference,
			amount:        ch.amount,
			currency:      ch.currency,
			description:   ch.description,
			merchant:      ch.merchant,
			status:        paymentSucceeded,
			createdAt:     ch.createdAt,
			paidAt:        now,
		}
		c.payments[p.id] = p
		ch.billed = p
		c.stats.ChargesBilled++
	}
	var m *tpOutbound
	// 0006: billed, and the callback is never sent; a status query finds it.
	if oc != outcomeBillThenHang && ch.callbackURL != "" {
		m = s.tpMessage(ch.callbackURL, tpCallbackBody{
			Type: tpChargeCompleted, Reference: ch.reference, ChargeID: ch.id,
			Status: ch.status, FailureReason: ch.failureReason,
			Amount: ch.amount, Currency: ch.currency, OccurredAt: now.UTC().Format(time.RFC3339),
		})
	}
	s.mu.Unlock()
	if m != nil {
		s.tpDeliver(c, m)
	}
}

// tpChargeByReference is GET /v1/charges?reference=: the truth about a
// charge, for a client that lost the answer or never got the callback.
func (s *Simulator) tpChargeByReference(c *carrierState, r *http.Request, _ []byte) (reply, func()) {
	ref := r.URL.Query().Get("reference")
	if ref == "" {
		return tpInvalid("reference is required"), nil
	}
	ch := c.tp().chargeByRef[ref]
	if ch == nil {
		return tpNotFound("charge"), nil
	}
	return reply{status: http.StatusOK, body: ch.out()}, nil
}

// tpChargeByID is GET /v1/charges/{id}.
func (s *Simulator) tpChargeByID(c *carrierState, r *http.Request, _ []byte) (reply, func()) {
	ch := c.tp().charges[r.PathValue("id")]
	if ch == nil {
		return tpNotFound("charge"), nil
	}
	return reply{status: http.StatusOK, body: ch.out()}, nil
}
