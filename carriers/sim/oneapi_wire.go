package sim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// GSMA OneAPI Payment v3 wire values.
const (
	// oneAPIRoot is where a carrier's OneAPI is served: carriers.SimPath
	// appended to the simulator's /sim base.
	oneAPIRoot = "/sim/{carrier}/oneapi"
	// oneAPIAmount is the amount-transactions collection of one subscriber;
	// endUserId is a tel: URI, URL-encoded into the path (tel%3A%2B8210...).
	oneAPIAmount = "/payment/v3/{endUserId}/transactions/amount"

	// transactionOperationStatus values. OneAPI asks for a state by writing
	// it: "Charged" charges, "Refunded" refunds. "Processing" is only ever
	// answered, for a charge the operator has accepted and not yet billed.
	oneAPICharged    = "Charged"
	oneAPIRefunded   = "Refunded"
	oneAPIProcessing = "Processing"

	// Server reference codes carry a prefix that tells a charge from a
	// refund, so a GET is counted under the right kind before it is read.
	oneAPIChargePrefix = "txn_"
	oneAPIRefundPrefix = "rfd_"

	// kindListTransactions counts GET .../transactions/amount (a
	// subscriber's transactions, filtered by clientCorrelator).
	kindListTransactions = "retrieve_transactions"

	oneAPICorrelatorParam = "clientCorrelator"
	oneAPITelPrefix       = "tel:"
)

// OneAPI exceptions the simulated operators answer. Service exceptions
// (SVC) say the request is wrong; policy exceptions (POL) say the operator
// refuses it on business grounds. The codes and texts are GSMA OneAPI's
// (from ParlayX/ParlayREST) except the POL3xxx ones: OneAPI has no code for
// a barred line or a refund beyond what is left, and OMA reserves 3000-3499
// for private use, so the simulated operators answer these there.
const (
	oneAPISVCServiceError   = "SVC0001" // A service error occurred. Error code is %1
	oneAPISVCInvalidInput   = "SVC0002" // Invalid input value for message part %1
	oneAPISVCInvalidValue   = "SVC0003" // Invalid input value for message part %1, valid values are %2
	oneAPISVCNoValidAddress = "SVC0004" // No valid addresses provided in message part %1
	oneAPISVCDuplicate      = "SVC0005" // Correlator %1 specified in message part %2 is a duplicate
	oneAPISVCInvalidCharge  = "SVC0007" // Invalid charging information

	oneAPIPOLGeneric           = "POL0001" // A policy error occurred. Error code is %1
	oneAPIPOLInsufficient      = "POL1000" // User has insufficient credit for transaction
	oneAPIPOLChargingLimit     = "POL1001" // The %1 operator charging limit for this user has been exceeded
	oneAPIPOLRefundNeedsOrig   = "POL1005" // A refund request requires the originalServerReferenceCode ...
	oneAPIPOLRefundOrigInvalid = "POL1006" // originalServerReferenceCode not valid
	oneAPIPOLBarred            = "POL3000" // private: the line is barred from charging to the bill
	oneAPIPOLRefundExceeds     = "POL3001" // private: the refund exceeds what is left of the charge
)

// oneAPIRequest is the body of POST .../transactions/amount, a charge or a
// refund. Pointers tell a missing field from an empty one; the amount stays
// raw because operators send it as a JSON string ("10.00", as GSMA's
// examples do) or as a number, and both are read as exact decimal text.
type oneAPIRequest struct {
	AmountTransaction *struct {
		EndUserID                   *string `json:"endUserId"`
		ClientCorrelator            string  `json:"clientCorrelator"`
		ReferenceCode               *string `json:"referenceCode"`
		TransactionOperationStatus  *string `json:"transactionOperationStatus"`
		OriginalServerReferenceCode *string `json:"originalServerReferenceCode"`
		PaymentAmount               *struct {
			ChargingInformation *oneAPIChargingIn `json:"chargingInformation"`
			ChargingMetaData    json.RawMessage   `json:"chargingMetaData"`
		} `json:"paymentAmount"`
	} `json:"amountTransaction"`
}

type oneAPIChargingIn struct {
	Amount      json.RawMessage `json:"amount"`
	Currency    *string         `json:"currency"`
	Description *string         `json:"description"`
}

// oneAPITransactionBody is an amount transaction as the operator answers it.
type oneAPITransactionBody struct {
	AmountTransaction oneAPITransactionOut `json:"amountTransaction"`
}

type oneAPITransactionOut struct {
	EndUserID                   string              `json:"endUserId"`
	ClientCorrelator            string              `json:"clientCorrelator,omitempty"`
	PaymentAmount               oneAPIPaymentAmtOut `json:"paymentAmount"`
	ReferenceCode               string              `json:"referenceCode"`
	OriginalServerReferenceCode string              `json:"originalServerReferenceCode,omitempty"`
	ServerReferenceCode         string              `json:"serverReferenceCode"`
	ResourceURL                 string              `json:"resourceURL"`
	TransactionOperationStatus  string              `json:"transactionOperationStatus"`
}

type oneAPIPaymentAmtOut struct {
	ChargingInformation oneAPIChargingOut `json:"chargingInformation"`
	ChargingMetaData    json.RawMessage   `json:"chargingMetaData,omitempty"`
	TotalAmountCharged  string            `json:"totalAmountCharged,omitempty"`
	TotalAmountRefunded string            `json:"totalAmountRefunded,omitempty"`
}

// oneAPIChargingOut echoes amounts as strings of the decimal, as OneAPI's
// JSON examples do.
type oneAPIChargingOut struct {
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

// oneAPIListBody is a subscriber's amount transactions.
type oneAPIListBody struct {
	List oneAPIList `json:"paymentTransactionList"`
}

type oneAPIList struct {
	AmountTransaction []oneAPITransactionOut `json:"amountTransaction"`
	ResourceURL       string                 `json:"resourceURL"`
}

// oneAPIErrorBody is OneAPI's error answer: exactly one of the two
// exceptions is set.
type oneAPIErrorBody struct {
	RequestError oneAPIRequestError `json:"requestError"`
}

type oneAPIRequestError struct {
	ServiceException *oneAPIException `json:"serviceException,omitempty"`
	PolicyException  *oneAPIException `json:"policyException,omitempty"`
}

type oneAPIException struct {
	MessageID string   `json:"messageId"`
	Text      string   `json:"text"`
	Variables []string `json:"variables,omitempty"`
}

// oneAPIService answers a service exception: the request is at fault.
func oneAPIService(status int, id, text string, vars ...string) reply {
	return reply{status: status, body: oneAPIErrorBody{RequestError: oneAPIRequestError{
		ServiceException: &oneAPIException{MessageID: id, Text: text, Variables: vars},
	}}}
}

// oneAPIPolicy answers a policy exception: the operator refuses, 403.
func oneAPIPolicy(id, text string, vars ...string) reply {
	return reply{status: http.StatusForbidden, body: oneAPIErrorBody{RequestError: oneAPIRequestError{
		PolicyException: &oneAPIException{MessageID: id, Text: text, Variables: vars},
	}}}
}

// oneAPIInvalid is SVC0002 for a missing or malformed message part.
func oneAPIInvalid(part string) reply {
	return oneAPIService(http.StatusBadRequest, oneAPISVCInvalidInput, "Invalid input value for message part %1", part)
}

// oneAPIEscapeTel is the path form of the subscriber phone (a validated
// +E.164 number): tel:+8210... URL-encoded.
func oneAPIEscapeTel(phone string) string {
	return "tel%3A%2B" + strings.TrimPrefix(phone, "+")
}

// oneAPICollectionURL is the absolute URL of the subscriber's
// amount-transactions collection on carrier c, as resourceURL carries it.
func oneAPICollectionURL(r *http.Request, carrier, phone string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/sim/" + carrier + "/oneapi/payment/v3/" + oneAPIEscapeTel(phone) + "/transactions/amount"
}

// oneAPIChargeOut is a charge as a transaction.
func oneAPIChargeOut(p *payment, collection string) oneAPITransactionOut {
	amount := string(formatAmount(p.amount, p.currency))
	o := oneAPITransactionOut{
		EndUserID:        oneAPITelPrefix + p.phone,
		ClientCorrelator: p.correlator,
		PaymentAmount: oneAPIPaymentAmtOut{
			ChargingInformation: oneAPIChargingOut{Amount: amount, Currency: p.currency, Description: p.description},
			ChargingMetaData:    p.metaData,
		},
		ReferenceCode:              p.referenceCode,
		ServerReferenceCode:        p.id,
		ResourceURL:                collection + "/" + p.id,
		TransactionOperationStatus: oneAPIProcessing,
	}
	if p.status == paymentSucceeded {
		o.TransactionOperationStatus = oneAPICharged
		o.PaymentAmount.TotalAmountCharged = amount
	}
	return o
}

// oneAPIRefundOut is a refund of p as a transaction.
func oneAPIRefundOut(rf *refund, p *payment, collection string) oneAPITransactionOut {
	amount := string(formatAmount(rf.amount, rf.currency))
	return oneAPITransactionOut{
		EndUserID:        oneAPITelPrefix + p.phone,
		ClientCorrelator: rf.correlator,
		PaymentAmount: oneAPIPaymentAmtOut{
			ChargingInformation: oneAPIChargingOut{Amount: amount, Currency: rf.currency, Description: rf.description},
			ChargingMetaData:    rf.metaData,
			TotalAmountRefunded: amount,
		},
		ReferenceCode:               rf.referenceCode,
		OriginalServerReferenceCode: p.id,
		ServerReferenceCode:         rf.id,
		ResourceURL:                 collection + "/" + rf.id,
		TransactionOperationStatus:  oneAPIRefunded,
	}
}
