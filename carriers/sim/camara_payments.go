package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// createPayment is CAMARA's 1-step createPayment. The phone number's last
// four digits decide what happens (outcome.go). A clientCorrelator seen
// before on this carrier gets the payment it created, billed once; the same
// clientCorrelator on a different request is refused as the spec says.
func (s *Simulator) createPayment(c *carrierState, r *http.Request, body []byte) reply {
	var req paymentRequest
	if e := decodeBody(body, &req); e != nil {
		return errorReply(*e)
	}
	at := req.AmountTransaction
	switch {
	case at == nil:
		return errorReply(errInvalid("Expected property is missing: amountTransaction"))
	case at.PaymentAmount == nil:
		return errorReply(errInvalid("Expected property is missing: amountTransaction.paymentAmount"))
	case at.ReferenceCode == nil || *at.ReferenceCode == "":
		return errorReply(errInvalid("Expected property is missing: amountTransaction.referenceCode"))
	}
	amount, e := readCharging(at.PaymentAmount.ChargingInformation, "amountTransaction.paymentAmount.chargingInformation")
	if e != nil {
		return errorReply(*e)
	}
	ci := at.PaymentAmount.ChargingInformation
	if req.Sink != nil && !sinkPattern.MatchString(*req.Sink) {
		return errorReply(apiError{Status: http.StatusBadRequest, Code: codeInvalidSink, Message: "sink not valid for the specified protocol"})
	}
	// No access token identifies the subscriber here (2-legged), so the
	// phone number must be in the body.
	if at.PhoneNumber == nil {
		return errorReply(apiError{Status: http.StatusUnprocessableEntity, Code: codeMissingIdentifier, Message: "The phone number cannot be identified."})
	}
	phone := *at.PhoneNumber
	if !phonePattern.MatchString(phone) {
		return errorReply(errInvalid("amountTransaction.phoneNumber does not match ^\\+[1-9][0-9]{4,14}$"))
	}
	currency, ref, corr := *ci.Currency, *at.ReferenceCode, at.ClientCorrelator

	if corr != "" {
		if p := c.byCorrelator[corr]; p != nil {
			if p.phone != phone || p.amount != amount || p.currency != currency || p.referenceCode != ref {
				return errorReply(errInvalid(msgCorrelatorInUse))
			}
			c.stats.Duplicates++
			return reply{status: http.StatusCreated, body: p.out(), header: location(r, p.id)}
		}
	}
	if c.byReference[ref] != nil {
		return errorReply(apiError{Status: http.StatusConflict, Code: codeAlreadyExists, Message: "A payment with this referenceCode already exists."})
	}

	oc := outcomeFor(phone)
	switch oc {
	case outcomeInsufficientBalance:
		c.stats.ChargesDeclined++
		return errorReply(apiError{Status: http.StatusForbidden, Code: codeSimInsufficientBalance, Message: "Payment denied: the balance of the account is insufficient."})
	case outcomeSubscriberBlocked:
		c.stats.ChargesDeclined++
		return errorReply(apiError{Status: http.StatusForbidden, Code: codeSimSubscriberBlocked, Message: "Payment denied: the line is barred from carrier billing."})
	case outcomeCarrierLimit:
		c.stats.ChargesDeclined++
		return errorReply(apiError{Status: http.StatusUnprocessableEntity, Code: codeUserThreshold, Message: "Unauthorized payment request. Accumulated user mobile payments overpass account amount threshold."})
	case outcomeUnavailableOnce:
		key := corr
		if key == "" {
			key = "ref:" + ref
		}
		if !c.failedOnce[key] {
			c.failedOnce[key] = true
			c.stats.UnavailableOnce++
			return reply{
				status: http.StatusServiceUnavailable,
				body:   apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "Service unavailable."},
				header: http.Header{"Retry-After": {"1"}},
			}
		}
	}

	now := s.now()
	p := &payment{
		seq:           s.nextSeq(),
		id:            newID("pay_"),
		phone:         phone,
		correlator:    corr,
		referenceCode: ref,
		amount:        amount,
		currency:      currency,
		description:   *ci.Description,
		taxIncluded:   ci.IsTaxIncluded,
		taxAmount:     ci.TaxAmount,
		metaData:      at.PaymentAmount.ChargingMetaData,
		details:       at.PaymentAmount.PaymentDetails,
		merchant:      merchantOf(at.PaymentAmount.ChargingMetaData),
		createdAt:     now,
	}
	if req.Sink != nil {
		p.sink = *req.Sink
	}
	if oc == outcomeAsync {
		p.status = paymentProcessing
		p.settleAt = now.Add(settleDelay)
		c.processing = append(c.processing, p)
	} else {
		p.status = paymentSucceeded
		p.paidAt = now
		c.stats.ChargesBilled++
	}
	c.payments[p.id] = p
	c.byReference[ref] = p
	if corr != "" {
		c.byCorrelator[corr] = p
	}
	return reply{
		status: http.StatusCreated,
		body:   p.out(),
		header: location(r, p.id),
		hold:   oc == outcomeBillThenHang,
	}
}

// retrievePayment is CAMARA's retrievePayment.
func (s *Simulator) retrievePayment(c *carrierState, r *http.Request, _ []byte) reply {
	p := c.payments[r.PathValue("paymentId")]
	if p == nil {
		return errorReply(errNotFound("The specified resource is not found."))
	}
	return reply{status: http.StatusOK, body: p.out()}
}

// listPayments is CAMARA's retrievePayments, with the vendor filter
// clientCorrelator.
func (s *Simulator) listPayments(c *carrierState, r *http.Request, _ []byte) reply {
	q, e := parseListQuery(r.URL.Query(), listSpec{
		datePrefix: "paymentCreationDate", statusParam: "paymentStatus",
		statuses:  []string{"processing", "pending_validation", "denied", "reserved", "succeeded", "cancelled"},
		rangeCode: codeInvalidDateRange,
	}, s.now())
	if e != nil {
		return errorReply(*e)
	}
	var all []*payment
	for _, p := range c.payments {
		if q.match(p.createdAt, p.status, p.merchant, p.correlator) {
			all = append(all, p)
		}
	}
	page, h := paginate(all, q, func(p *payment) int64 { return p.seq })
	out := make([]paymentOut, 0, len(page))
	for _, p := range page {
		out = append(out, p.out())
	}
	return reply{status: http.StatusOK, body: out, header: h}
}

// location is the Location header of a created resource.
func location(r *http.Request, id string) http.Header {
	return http.Header{"Location": {r.URL.Path + "/" + id}}
}

// merchantOf reads chargingMetaData.merchantIdentifier, for filtering.
func merchantOf(meta json.RawMessage) string {
	var m struct {
		MerchantIdentifier string `json:"merchantIdentifier"`
	}
	if len(meta) > 0 {
		_ = json.Unmarshal(meta, &m) // only a filter; an odd shape just matches nothing
	}
	return m.MerchantIdentifier
}

// itoa is strconv.Itoa for int64 counts in headers.
func itoa(n int) string { return strconv.Itoa(n) }
