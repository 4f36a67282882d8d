package sim

import (
	"net/http"
	"time"
)

// tpCreateRefund is POST /v1/refunds: accepted (202) when the charge
// succeeded and the amount fits in what is left of it, counting refunds
// accepted and not yet applied; applied afterwards and reported by callback.
// An amount left out refunds the rest. The same reference gets the same
// answer and refunds once.
func (s *Simulator) tpCreateRefund(c *carrierState, r *http.Request, body []byte) (reply, func()) {
	var in tpRefundIn
	if e := decodeBody(body, &in); e != nil {
		return tpInvalid(e.Message), nil
	}
	switch {
	case in.ChargeID == "":
		return tpInvalid("charge_id is required"), nil
	case in.Reference == "":
		return tpInvalid("reference is required"), nil
	case in.Amount != nil && *in.Amount <= 0:
		return tpInvalid("amount must be a positive integer of minor units, or left out for the rest"), nil
	case in.CallbackURL != "" && !validCallbackURL(in.CallbackURL):
		return tpInvalid("callback_url must be an absolute http(s) URL"), nil
	}
	b := c.tp()
	if rf := b.refundByRef[in.Reference]; rf != nil {
		if rf.chargeID != in.ChargeID || (in.Amount != nil && *in.Amount != rf.amount) {
			return tpErrorReply(http.StatusUnprocessableEntity, tpCodeReferenceReused, "reference was used for a different refund"), nil
		}
		c.stats.Duplicates++
		return reply{status: http.StatusAccepted, body: tpAcceptedOut{RefundID: rf.id, Status: tpAccepted}}, nil
	}
	ch := b.charges[in.ChargeID]
	if ch == nil {
		return tpNotFound("charge"), nil
	}
	if in.Currency != "" && in.Currency != ch.currency {
		return tpInvalid("currency is not the charge's"), nil
	}
	if ch.status != tpSucceeded {
		c.stats.RefundsRefused++
		return tpErrorReply(http.StatusUnprocessableEntity, tpCodeChargeNotSucceeded, "Only a succeeded charge can be refunded."), nil
	}
	left := ch.amount - ch.billed.refunded - ch.refunding
	amount := left
	if in.Amount != nil {
		amount = *in.Amount
	}
	if amount <= 0 || amount > left {
		c.stats.RefundsRefused++
		return tpErrorReply(http.StatusUnprocessableEntity, tpCodeRefundExceeds, "The amount is more than is left to refund of the charge."), nil
	}

	rf := &tpRefund{
		id:          newID("rfd_"),
		chargeID:    ch.id,
		reference:   in.Reference,
		amount:      amount,
		currency:    ch.currency,
		reason:      in.Reason,
		callbackURL: in.CallbackURL,
		status:      tpAccepted,
		createdAt:   s.now(),
	}
	ch.refunding += amount
	b.refunds[rf.id] = rf
	b.refundByRef[rf.reference] = rf
	return reply{status: http.StatusAccepted, body: tpAcceptedOut{RefundID: rf.id, Status: tpAccepted}},
		func() { s.tpApplyRefund(c, ch, rf) }
}

// tpApplyRefund applies an accepted refund to the books and calls back. It
// runs in its own goroutine.
func (s *Simulator) tpApplyRefund(c *carrierState, ch *tpCharge, rf *tpRefund) {
	s.mu.Lock()
	now := s.now()
	p := ch.billed
	kind := refundPartial
	if rf.amount == p.amount {
		kind = refundTotal
	}
	ch.refunding -= rf.amount
	p.refunded += rf.amount
	booked := &refund{
		seq:           s.nextSeq(),
		id:            rf.id,
		paymentID:     p.id,
		correlator:    rf.reference,
		referenceCode: rf.reference,
		kind:          kind,
		amount:        rf.amount,
		currency:      rf.currency,
		reason:        rf.reason,
		status:        refundSucceeded,
		createdAt:     rf.createdAt,
		doneAt:        now,
	}
	p.refunds = append(p.refunds, booked)
	c.refunds[booked.id] = booked
	c.stats.Refunds++
	rf.status, rf.completedAt = tpSucceeded, now

	var m *tpOutbound
	if rf.callbackURL != "" {
		m = s.tpMessage(rf.callbackURL, tpCallbackBody{
			Type: tpRefundCompleted, Reference: rf.reference, ChargeID: ch.id, RefundID: rf.id,
			Status: rf.status, Amount: rf.amount, Currency: rf.currency,
			OccurredAt: now.UTC().Format(time.RFC3339),
		})
	}
	s.mu.Unlock()
	if m != nil {
		s.tpDeliver(c, m)
	}
}

// tpRefundByReference is GET /v1/refunds?reference=.
func (s *Simulator) tpRefundByReference(c *carrierState, r *http.Request, _ []byte) (reply, func()) {
	ref := r.URL.Query().Get("reference")
	if ref == "" {
		return tpInvalid("reference is required"), nil
	}
	rf := c.tp().refundByRef[ref]
	if rf == nil {
		return tpNotFound("refund"), nil
	}
	return reply{status: http.StatusOK, body: rf.out()}, nil
}

// tpRefundByID is GET /v1/refunds/{id}.
func (s *Simulator) tpRefundByID(c *carrierState, r *http.Request, _ []byte) (reply, func()) {
	rf := c.tp().refunds[r.PathValue("id")]
	if rf == nil {
		return tpNotFound("refund"), nil
	}
	return reply{status: http.StatusOK, body: rf.out()}, nil
}
