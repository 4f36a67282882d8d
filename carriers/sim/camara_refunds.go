package sim

import (
	"net/http"
)

// createRefund is CAMARA's createRefund. Refunds succeed at once (a
// synchronous operator); a refund beyond what is left of the payment is
// refused with CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT. clientCorrelator
// is honoured like createPayment's.
func (s *Simulator) createRefund(c *carrierState, r *http.Request, body []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	var req refundRequest
	if e := decodeBody(body, &req); e != nil {
		return errorReply(*e)
	}
	at := req.AmountTransaction
	switch {
	case req.Type == nil || (*req.Type != refundTotal && *req.Type != refundPartial):
		return errorReply(errInvalid("type must be total or partial"))
	case at == nil:
		return errorReply(errInvalid("Expected property is missing: amountTransaction"))
	case at.ReferenceCode == nil || *at.ReferenceCode == "":
		return errorReply(errInvalid("Expected property is missing: amountTransaction.referenceCode"))
	case at.RefundAmount == nil:
		return errorReply(errInvalid("Expected property is missing: amountTransaction.refundAmount"))
	case req.Sink != nil && !validSink(*req.Sink):
		return errorReply(apiError{Status: http.StatusBadRequest, Code: codeInvalidSink, Message: "sink not valid for the specified protocol"})
	}
	kind, ref, corr := *req.Type, *at.ReferenceCode, at.ClientCorrelator
	var amount int64
	var description string
	if kind == refundPartial {
		var e *apiError
		amount, e = readCharging(at.RefundAmount.ChargingInformation, "amountTransaction.refundAmount.chargingInformation")
		if e != nil {
			return errorReply(*e)
		}
		if cur := *at.RefundAmount.ChargingInformation.Currency; cur != p.currency {
			return errorReply(errInvalid("Currency is unknown or not authorized."))
		}
		description = *at.RefundAmount.ChargingInformation.Description
	}

	if corr != "" {
		if rf := c.refundByCorrelator[corr]; rf != nil {
			if rf.paymentID != p.id || rf.kind != kind || rf.referenceCode != ref || (kind == refundPartial && rf.amount != amount) {
				return errorReply(errInvalid(msgCorrelatorInUse))
			}
			c.stats.Duplicates++
			return reply{status: http.StatusCreated, body: rf.out(), header: location(r, rf.id)}
		}
	}
	if c.refundByReference[ref] != nil {
		return errorReply(apiError{Status: http.StatusConflict, Code: codeAlreadyExists, Message: "A refund with this referenceCode already exists."})
	}
	if p.status != paymentSucceeded {
		c.stats.RefundsRefused++
		return errorReply(apiError{Status: http.StatusUnprocessableEntity, Code: codeRefundInvalidPayStatus, Message: "Payment is not yet completed."})
	}
	if kind == refundTotal {
		amount = p.remaining()
	}
	if amount <= 0 || amount > p.remaining() {
		c.stats.RefundsRefused++
		return errorReply(apiError{Status: http.StatusUnprocessableEntity, Code: codeRefundUnauthorized, Message: "Unauthorized amount requested: it exceeds what is left to refund of the payment."})
	}

	now := s.now()
	rf := &refund{
		seq:           s.nextSeq(),
		id:            newID("ref_"),
		paymentID:     p.id,
		correlator:    corr,
		referenceCode: ref,
		kind:          kind,
		amount:        amount,
		currency:      p.currency,
		description:   description,
		reason:        req.Reason,
		metaData:      at.RefundAmount.ChargingMetaData,
		status:        refundSucceeded,
		createdAt:     now,
		doneAt:        now,
	}
	if req.Sink != nil {
		rf.sink = *req.Sink
	}
	p.refunded += amount
	p.refunds = append(p.refunds, rf)
	c.refunds[rf.id] = rf
	c.refundByReference[ref] = rf
	if corr != "" {
		c.refundByCorrelator[corr] = rf
	}
	c.stats.Refunds++
	return reply{status: http.StatusCreated, body: rf.out(), header: location(r, rf.id)}
}

// retrieveRefund is CAMARA's retrieveRefund.
func (s *Simulator) retrieveRefund(c *carrierState, r *http.Request, _ []byte) reply {
	rf := c.refunds[r.PathValue("refundId")]
	if rf == nil || rf.paymentID != r.PathValue("paymentId") {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	return reply{status: http.StatusOK, body: rf.out()}
}

// listRefunds is CAMARA's retrieveRefunds, with the vendor filter
// clientCorrelator.
func (s *Simulator) listRefunds(c *carrierState, r *http.Request, _ []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	q, e := parseListQuery(r.URL.Query(), listSpec{
		datePrefix: "refundCreationDate", statusParam: "refundStatus",
		statuses:  []string{"processing", "denied", "succeeded"},
		rangeCode: codeRefundInvalidDateRange,
	}, s.now())
	if e != nil {
		return errorReply(*e)
	}
	var all []*refund
	for _, rf := range p.refunds {
		if q.match(rf.createdAt, rf.status, merchantOf(rf.metaData), rf.correlator) {
			all = append(all, rf)
		}
	}
	page, h := paginate(all, q, func(rf *refund) int64 { return rf.seq })
	out := make([]refundOut, 0, len(page))
	for _, rf := range page {
		out = append(out, rf.out())
	}
	return reply{status: http.StatusOK, body: out, header: h}
}

// remainingAmount is CAMARA's retrievePaymentRemainingAmount.
func (s *Simulator) remainingAmount(c *carrierState, r *http.Request, _ []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	return reply{status: http.StatusOK, body: remainingOut{
		Amount:      formatAmount(p.remaining(), p.currency),
		Currency:    p.currency,
		Description: "Current amount not refunded so far",
	}}
}
