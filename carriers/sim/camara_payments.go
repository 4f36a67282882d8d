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
	in, e := s.readPaymentRequest(c, r, body)
	if e != nil {
		return errorReply(*e)
	}
	if in.correlator != "" {
		if p := c.byCorrelator[in.correlator]; p != nil {
			if p.step2 != nil || !in.same(p) {
				return errorReply(errInvalid(msgCorrelatorInUse))
			}
			c.stats.Duplicates++
			return reply{status: http.StatusCreated, body: p.out(), header: location(r, p.id)}
		}
	}
	if c.byReference[in.ref] != nil {
		return errorReply(apiError{Status: http.StatusConflict, Code: codeAlreadyExists, Message: "A payment with this referenceCode already exists."})
	}

	oc := outcomeFor(in.phone)
	if d := limitFor(oc, in.amount); d != nil {
		c.stats.ChargesDeclined++
		return errorReply(*d)
	}
	if d := declineFor(oc); d != nil {
		c.stats.ChargesDeclined++
		return errorReply(*d)
	}
	if oc == outcomeUnavailableOnce {
		key := in.correlator
		if key == "" {
			key = "ref:" + in.ref
		}
		if rp, failed := c.unavailableOnce(key); failed {
			return rp
		}
	}

	p := s.newPayment(c, in)
	if oc == outcomeAsync {
		s.startProcessing(c, p)
	} else {
		p.status = paymentSucceeded
		p.paidAt = p.createdAt
		c.stats.ChargesBilled++
	}
	return reply{
		status: http.StatusCreated,
		body:   p.out(),
		header: location(r, p.id),
		hold:   oc == outcomeBillThenHang,
	}
}

// paymentIn is a validated createPayment or preparePayment body.
type paymentIn struct {
	phone, correlator, ref string
	amount                 int64
	currency, description  string
	ci                     *chargingInformationIn
	metaData, details      json.RawMessage
	sink, sinkToken        string
}

// same reports whether in asks for what p already is: a resent request.
func (in paymentIn) same(p *payment) bool {
	return p.phone == in.phone && p.amount == in.amount && p.currency == in.currency && p.referenceCode == in.ref
}

// readPaymentRequest validates a createPayment or preparePayment body; both
// carry the same amountTransaction, sink and sinkCredential.
func (s *Simulator) readPaymentRequest(c *carrierState, r *http.Request, body []byte) (paymentIn, *apiError) {
	var req paymentRequest
	if e := decodeBody(body, &req); e != nil {
		return paymentIn{}, e
	}
	fail := func(e apiError) (paymentIn, *apiError) { return paymentIn{}, &e }
	at := req.AmountTransaction
	switch {
	case at == nil:
		return fail(errInvalid("Expected property is missing: amountTransaction"))
	case at.PaymentAmount == nil:
		return fail(errInvalid("Expected property is missing: amountTransaction.paymentAmount"))
	case at.ReferenceCode == nil || *at.ReferenceCode == "":
		return fail(errInvalid("Expected property is missing: amountTransaction.referenceCode"))
	}
	amount, e := readCharging(at.PaymentAmount.ChargingInformation, "amountTransaction.paymentAmount.chargingInformation")
	if e != nil {
		return paymentIn{}, e
	}
	sink, token, e := s.readSink(c, req.Sink, req.SinkCredential)
	if e != nil {
		return paymentIn{}, e
	}
	// A 3-legged token names the subscriber, and then the body must not;
	// otherwise (2-legged, or no token asked for) the body must.
	phone := tokenSubject(r)
	switch {
	case phone != "" && at.PhoneNumber != nil:
		return fail(apiError{Status: http.StatusUnprocessableEntity, Code: codeUnnecessaryID, Message: "The phone number is already identified by the access token."})
	case phone == "" && at.PhoneNumber == nil:
		return fail(apiError{Status: http.StatusUnprocessableEntity, Code: codeMissingIdentifier, Message: "The phone number cannot be identified."})
	case phone == "":
		phone = *at.PhoneNumber
		if !phonePattern.MatchString(phone) {
			return fail(errInvalid("amountTransaction.phoneNumber does not match ^\\+[1-9][0-9]{4,14}$"))
		}
	}
	ci := at.PaymentAmount.ChargingInformation
	return paymentIn{
		phone:       phone,
		correlator:  at.ClientCorrelator,
		ref:         *at.ReferenceCode,
		amount:      amount,
		currency:    *ci.Currency,
		description: *ci.Description,
		ci:          ci,
		metaData:    at.PaymentAmount.ChargingMetaData,
		details:     at.PaymentAmount.PaymentDetails,
		sink:        sink,
		sinkToken:   token,
	}, nil
}

// newPayment enters a payment for in in c's books, with no status yet.
// Callers hold s.mu.
func (s *Simulator) newPayment(c *carrierState, in paymentIn) *payment {
	p := &payment{
		seq:           s.nextSeq(),
		id:            newID("pay_"),
		phone:         in.phone,
		correlator:    in.correlator,
		referenceCode: in.ref,
		amount:        in.amount,
		currency:      in.currency,
		description:   in.description,
		taxIncluded:   in.ci.IsTaxIncluded,
		taxAmount:     in.ci.TaxAmount,
		metaData:      in.metaData,
		details:       in.details,
		merchant:      merchantOf(in.metaData),
		sink:          in.sink,
		sinkToken:     in.sinkToken,
		createdAt:     s.now(),
	}
	c.payments[p.id] = p
	c.byReference[in.ref] = p
	if in.correlator != "" {
		c.byCorrelator[in.correlator] = p
	}
	return p
}

// declineFor is the answer of a carrier that refuses to bill a subscriber
// with outcome oc when the money would move, and nil when it does not
// refuse. The codes are the spec's: CAMARA has no code for a balance too
// low, so it is a 403 CARRIER_BILLING.PAYMENT_DENIED whose message says why,
// and a line barred from carrier billing is one the service does not apply
// to (422 SERVICE_NOT_APPLICABLE). Both are declared for createPayment and
// confirmPayment alike.
func declineFor(oc outcome) *apiError {
	switch oc {
	case outcomeInsufficientBalance:
		return &apiError{Status: http.StatusForbidden, Code: codePaymentDenied, Message: msgInsufficientBalance}
	case outcomeSubscriberBlocked:
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeServiceNotApplicable, Message: "The service is not available for the provided identifier."}
	}
	return nil
}

// limitFor is the answer of a carrier that refuses amount for a subscriber
// with outcome oc, and nil when it does not. Amount limits are checked when
// the payment is asked for (createPayment, preparePayment), the only
// operations whose spec declares them: a single payment above the line's
// limit is CARRIER_BILLING.UNAUTHORIZED_AMOUNT, a 0004 line has used up its
// month (USER_AMOUNT_THRESHOLD_OVERPASSED).
func limitFor(oc outcome, amount int64) *apiError {
	switch {
	case amount > linePaymentLimit:
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeUnauthorizedAmount, Message: "Unauthorized amount requested."}
	case oc == outcomeCarrierLimit:
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeUserThreshold, Message: "Unauthorized payment request. Accumulated user mobile payments overpass account amount threshold."}
	}
	return nil
}

// unavailableOnce answers 503 the first time key asks (0007), and reports
// whether it did. Callers hold s.mu.
func (c *carrierState) unavailableOnce(key string) (reply, bool) {
	if c.failedOnce[key] {
		return reply{}, false
	}
	c.failedOnce[key] = true
	c.stats.UnavailableOnce++
	return reply{
		status: http.StatusServiceUnavailable,
		body:   apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "Service unavailable."},
		header: http.Header{"Retry-After": {"1"}},
	}, true
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
