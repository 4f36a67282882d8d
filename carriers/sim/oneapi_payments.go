package sim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// oneAPIAmountTxn is a validated POST .../transactions/amount.
type oneAPIAmountTxn struct {
	phone       string // +E.164, from endUserId
	op          string // Charged or Refunded
	correlator  string
	reference   string
	original    string // originalServerReferenceCode, refunds only
	amount      int64
	currency    string
	description string
	metaData    json.RawMessage
}

// oneAPICreateTransaction is POST .../transactions/amount: a charge
// ("Charged") or a refund ("Refunded"). A clientCorrelator seen before on
// this carrier gets the transaction it created, applied once; the same
// clientCorrelator on a different request is refused with SVC0005.
func (s *Simulator) oneAPICreateTransaction(c *carrierState, r *http.Request, body []byte) reply {
	t, bad := readOneAPITransaction(r, body)
	if bad != nil {
		return *bad
	}
	if t.op == oneAPIRefunded {
		return s.oneAPIRefund(c, r, t)
	}
	return s.oneAPICharge(c, r, t)
}

// readOneAPITransaction validates the request as OneAPI does, answering
// SVC exceptions for what is missing or malformed.
func readOneAPITransaction(r *http.Request, body []byte) (oneAPIAmountTxn, *reply) {
	fail := func(rp reply) (oneAPIAmountTxn, *reply) { return oneAPIAmountTxn{}, &rp }
	phone, ok := oneAPIPhone(r.PathValue("endUserId"))
	if !ok {
		return fail(oneAPIService(http.StatusBadRequest, oneAPISVCNoValidAddress, "No valid addresses provided in message part %1", "endUserId"))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fail(oneAPIInvalid("amountTransaction"))
	}
	var req oneAPIRequest
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&req); err != nil {
		return fail(oneAPIService(http.StatusBadRequest, oneAPISVCInvalidInput, "Invalid input value for message part %1", "amountTransaction: "+err.Error()))
	}
	at := req.AmountTransaction
	switch {
	case at == nil:
		return fail(oneAPIInvalid("amountTransaction"))
	case at.EndUserID == nil || *at.EndUserID != oneAPITelPrefix+phone:
		// The endUserId in the URL and in the payload must be the same.
		return fail(oneAPIInvalid("endUserId"))
	case at.TransactionOperationStatus == nil:
		return fail(oneAPIInvalid("transactionOperationStatus"))
	case *at.TransactionOperationStatus != oneAPICharged && *at.TransactionOperationStatus != oneAPIRefunded:
		// Reservations (Reserved, Released) are OneAPI too, but not offered here.
		return fail(oneAPIService(http.StatusBadRequest, oneAPISVCInvalidValue,
			"Invalid input value for message part %1, valid values are %2", "transactionOperationStatus", "Charged, Refunded"))
	case at.ReferenceCode == nil || *at.ReferenceCode == "":
		return fail(oneAPIInvalid("referenceCode"))
	case at.PaymentAmount == nil:
		return fail(oneAPIInvalid("paymentAmount"))
	}
	ci := at.PaymentAmount.ChargingInformation
	switch {
	case ci == nil:
		return fail(oneAPIInvalid("paymentAmount.chargingInformation"))
	case len(ci.Amount) == 0:
		return fail(oneAPIInvalid("paymentAmount.chargingInformation.amount"))
	case ci.Currency == nil:
		return fail(oneAPIInvalid("paymentAmount.chargingInformation.currency"))
	case ci.Description == nil || *ci.Description == "":
		return fail(oneAPIInvalid("paymentAmount.chargingInformation.description"))
	case !validCurrency(*ci.Currency):
		return fail(oneAPIService(http.StatusBadRequest, oneAPISVCInvalidCharge, "Invalid charging information"))
	}
	amount, ok := oneAPIParseAmount(ci.Amount, *ci.Currency)
	if !ok {
		return fail(oneAPIService(http.StatusBadRequest, oneAPISVCInvalidCharge, "Invalid charging information"))
	}
	t := oneAPIAmountTxn{
		phone:       phone,
		op:          *at.TransactionOperationStatus,
		correlator:  at.ClientCorrelator,
		reference:   *at.ReferenceCode,
		amount:      amount,
		currency:    *ci.Currency,
		description: *ci.Description,
		metaData:    at.PaymentAmount.ChargingMetaData,
	}
	if at.OriginalServerReferenceCode != nil {
		t.original = *at.OriginalServerReferenceCode
	}
	return t, nil
}

// oneAPIPhone reads an endUserId, tel:+E.164, into the phone number.
func oneAPIPhone(endUserID string) (string, bool) {
	phone, ok := strings.CutPrefix(endUserID, oneAPITelPrefix)
	return phone, ok && phonePattern.MatchString(phone)
}

// oneAPIParseAmount reads a positive amount in major units, given as a JSON
// number or as a string holding a decimal, into minor units of currency.
func oneAPIParseAmount(raw json.RawMessage, currency string) (int64, bool) {
	text := string(raw)
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		text = s
	}
	if text == "" || (text[0] != '-' && (text[0] < '0' || text[0] > '9')) {
		return 0, false // true, false, null, an object...
	}
	minor, err := parseAmount(json.Number(text), currency)
	return minor, err == nil && minor > 0
}

// oneAPICharge charges the subscriber. The phone number's last four digits
// decide what happens (outcome.go); declines are policy exceptions.
func (s *Simulator) oneAPICharge(c *carrierState, r *http.Request, t oneAPIAmountTxn) reply {
	book := c.oneAPI()
	collection := oneAPICollectionURL(r, c.name, t.phone)
	if t.correlator != "" {
		if p := book.chargeByCorrelator[t.correlator]; p != nil {
			if p.phone != t.phone || p.amount != t.amount || p.currency != t.currency || p.referenceCode != t.reference {
				return oneAPIDuplicate(t.correlator)
			}
			c.stats.Duplicates++
			return oneAPICreated(oneAPIChargeOut(p, collection))
		}
		if book.refundByCorrelator[t.correlator] != nil {
			return oneAPIDuplicate(t.correlator)
		}
	}

	oc := outcomeFor(t.phone)
	switch oc {
	case outcomeInsufficientBalance:
		c.stats.ChargesDeclined++
		return oneAPIPolicy(oneAPIPOLInsufficient, "User has insufficient credit for transaction")
	case outcomeSubscriberBlocked:
		c.stats.ChargesDeclined++
		return oneAPIPolicy(oneAPIPOLBarred, "The user's line is barred from charging to the bill")
	case outcomeCarrierLimit:
		c.stats.ChargesDeclined++
		return oneAPIPolicy(oneAPIPOLChargingLimit, "The %1 operator charging limit for this user has been exceeded", "monthly")
	case outcomeUnavailableOnce:
		key := t.correlator
		if key == "" {
			key = "ref:" + t.reference
		}
		if !book.failedOnce[key] {
			book.failedOnce[key] = true
			c.stats.UnavailableOnce++
			rp := oneAPIService(http.StatusServiceUnavailable, oneAPISVCServiceError,
				"A service error occurred. Error code is %1", "service temporarily unavailable")
			rp.header = http.Header{"Retry-After": {"1"}}
			return rp
		}
	}

	now := s.now()
	p := &payment{
		seq:           s.nextSeq(),
		id:            newID(oneAPIChargePrefix),
		phone:         t.phone,
		correlator:    t.correlator,
		referenceCode: t.reference,
		amount:        t.amount,
		currency:      t.currency,
		description:   t.description,
		metaData:      t.metaData,
		merchant:      oneAPIMerchantOf(t.metaData),
		createdAt:     now,
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
	book.charges[p.id] = p
	if t.correlator != "" {
		book.chargeByCorrelator[t.correlator] = p
	}
	rp := oneAPICreated(oneAPIChargeOut(p, collection))
	rp.hold = oc == outcomeBillThenHang
	return rp
}

// oneAPIRefund refunds all or part of a charge named by
// originalServerReferenceCode. Refunds succeed at once; more than is left
// of the charge is refused with POL3001.
func (s *Simulator) oneAPIRefund(c *carrierState, r *http.Request, t oneAPIAmountTxn) reply {
	book := c.oneAPI()
	collection := oneAPICollectionURL(r, c.name, t.phone)
	if t.original == "" {
		return oneAPIPolicy(oneAPIPOLRefundNeedsOrig,
			"A refund request requires the originalServerReferenceCode for the charge that is being refunded")
	}
	if t.correlator != "" {
		if rf := book.refundByCorrelator[t.correlator]; rf != nil {
			p := book.charges[rf.paymentID]
			if rf.paymentID != t.original || p.phone != t.phone || rf.amount != t.amount || rf.currency != t.currency || rf.referenceCode != t.reference {
				return oneAPIDuplicate(t.correlator)
			}
			c.stats.Duplicates++
			return oneAPICreated(oneAPIRefundOut(rf, p, collection))
		}
		if book.chargeByCorrelator[t.correlator] != nil {
			return oneAPIDuplicate(t.correlator)
		}
	}
	p := book.charges[t.original]
	if p == nil || p.phone != t.phone {
		c.stats.RefundsRefused++
		return oneAPIPolicy(oneAPIPOLRefundOrigInvalid, "originalServerReferenceCode not valid")
	}
	if t.currency != p.currency {
		return oneAPIService(http.StatusBadRequest, oneAPISVCInvalidCharge, "Invalid charging information")
	}
	if p.status != paymentSucceeded {
		c.stats.RefundsRefused++
		return oneAPIPolicy(oneAPIPOLGeneric, "A policy error occurred. Error code is %1", "charge not yet completed")
	}
	if t.amount > p.remaining() {
		c.stats.RefundsRefused++
		return oneAPIPolicy(oneAPIPOLRefundExceeds, "Refund amount %1 exceeds the %2 left to refund of the charge",
			string(formatAmount(t.amount, t.currency)), string(formatAmount(p.remaining(), p.currency)))
	}

	now := s.now()
	kind := refundPartial
	if t.amount == p.remaining() {
		kind = refundTotal
	}
	rf := &refund{
		seq:           s.nextSeq(),
		id:            newID(oneAPIRefundPrefix),
		paymentID:     p.id,
		correlator:    t.correlator,
		referenceCode: t.reference,
		kind:          kind,
		amount:        t.amount,
		currency:      t.currency,
		description:   t.description,
		metaData:      t.metaData,
		status:        refundSucceeded,
		createdAt:     now,
		doneAt:        now,
	}
	p.refunded += t.amount
	p.refunds = append(p.refunds, rf)
	book.refunds[rf.id] = rf
	if t.correlator != "" {
		book.refundByCorrelator[t.correlator] = rf
	}
	c.stats.Refunds++
	return oneAPICreated(oneAPIRefundOut(rf, p, collection))
}

// oneAPIRetrieveTransaction is GET .../transactions/amount/{serverReferenceCode}.
func (s *Simulator) oneAPIRetrieveTransaction(c *carrierState, r *http.Request, _ []byte) reply {
	phone, ok := oneAPIPhone(r.PathValue("endUserId"))
	if !ok {
		return oneAPIService(http.StatusBadRequest, oneAPISVCNoValidAddress, "No valid addresses provided in message part %1", "endUserId")
	}
	book := c.oneAPI()
	collection := oneAPICollectionURL(r, c.name, phone)
	id := r.PathValue("serverReferenceCode")
	if p := book.charges[id]; p != nil && p.phone == phone {
		return reply{status: http.StatusOK, body: oneAPITransactionBody{AmountTransaction: oneAPIChargeOut(p, collection)}}
	}
	if rf := book.refunds[id]; rf != nil {
		if p := book.charges[rf.paymentID]; p.phone == phone {
			return reply{status: http.StatusOK, body: oneAPITransactionBody{AmountTransaction: oneAPIRefundOut(rf, p, collection)}}
		}
	}
	return oneAPIService(http.StatusNotFound, oneAPISVCInvalidInput, "Invalid input value for message part %1", "serverReferenceCode")
}

// oneAPIListTransactions is GET .../transactions/amount[?clientCorrelator=]:
// the subscriber's charges and refunds, newest first. The filter is this
// operator's extension (see oneapi.go).
func (s *Simulator) oneAPIListTransactions(c *carrierState, r *http.Request, _ []byte) reply {
	phone, ok := oneAPIPhone(r.PathValue("endUserId"))
	if !ok {
		return oneAPIService(http.StatusBadRequest, oneAPISVCNoValidAddress, "No valid addresses provided in message part %1", "endUserId")
	}
	book := c.oneAPI()
	collection := oneAPICollectionURL(r, c.name, phone)
	want := r.URL.Query().Get(oneAPICorrelatorParam)
	type entry struct {
		seq int64
		out oneAPITransactionOut
	}
	var all []entry
	for _, p := range book.charges {
		if p.phone == phone && (want == "" || p.correlator == want) {
			all = append(all, entry{p.seq, oneAPIChargeOut(p, collection)})
		}
	}
	for _, rf := range book.refunds {
		p := book.charges[rf.paymentID]
		if p.phone == phone && (want == "" || rf.correlator == want) {
			all = append(all, entry{rf.seq, oneAPIRefundOut(rf, p, collection)})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(b.seq, a.seq) })
	list := oneAPIList{AmountTransaction: make([]oneAPITransactionOut, 0, len(all)), ResourceURL: collection}
	for _, e := range all {
		list.AmountTransaction = append(list.AmountTransaction, e.out)
	}
	return reply{status: http.StatusOK, body: oneAPIListBody{List: list}}
}

// oneAPICreated answers a created (or deduplicated) transaction.
func oneAPICreated(t oneAPITransactionOut) reply {
	return reply{
		status: http.StatusCreated,
		body:   oneAPITransactionBody{AmountTransaction: t},
		header: http.Header{"Location": {t.ResourceURL}},
	}
}

// oneAPIDuplicate refuses a clientCorrelator already used for another request.
func oneAPIDuplicate(correlator string) reply {
	return oneAPIService(http.StatusBadRequest, oneAPISVCDuplicate,
		"Correlator %1 specified in message part %2 is a duplicate", correlator, "clientCorrelator")
}

// oneAPIMerchantOf reads chargingMetaData.onBehalfOf, OneAPI's name for the
// merchant an aggregator charges for.
func oneAPIMerchantOf(meta json.RawMessage) string {
	var m struct {
		OnBehalfOf string `json:"onBehalfOf"`
	}
	if len(meta) > 0 {
		_ = json.Unmarshal(meta, &m) // only a filter; an odd shape just matches nothing
	}
	return m.OnBehalfOf
}
