package oneapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"tollgate/carriers"
)

// Paths under the carrier's API root. OneAPI versions the API in the path; a
// carrier moving to a new version is a new adapter release, not a setting.
const (
	paymentRoot = "/payment/v3/" // + {endUserId}/transactions/amount
	amountPath  = "/transactions/amount"
	// SMS is OneAPI SMS (oneapisms).

	telPrefix = "tel:"

	// correlatorParam filters the subscriber's transactions by the
	// clientCorrelator we sent. OneAPI has no such query; it is an operator
	// extension the simulator honours. Answers are filtered here as well, so
	// a carrier that ignores the parameter is still read correctly.
	correlatorParam = "clientCorrelator"
)

// transactionOperationStatus values.
const (
	statusCharged    = "Charged"
	statusRefunded   = "Refunded"
	statusProcessing = "Processing" // accepted, not yet billed
	statusPending    = "Pending"    // the same, as some hubs spell it
	statusDenied     = "Denied"     // the operator refused it after accepting it
	statusRefused    = "Refused"
)

// Policy exceptions (POL) are the operator's refusals on business grounds: a
// decline, never a fault. The codes are GSMA OneAPI Payment's; OneAPI has no
// code for a line barred from carrier billing, which the simulated operators
// answer with POL3000 from the range OMA leaves for private use.
const (
	polSingleLimit    = "POL0254" // The amount exceeds the operator limit for a single charge
	polInsufficient   = "POL1000" // User has insufficient credit for transaction
	polChargingLimit  = "POL1001" // The %1 operator charging limit for this user has been exceeded
	polTooSoon        = "POL1002" // The charge happened too soon after the previous one
	polSubscriberBarr = "POL3000" // private: the line is barred from charging to the bill
)

// declines maps policy exceptions to the API's failure codes; any other
// policy exception is a plain carrier decline.
var declines = map[string]string{
	polInsufficient:   carriers.FailureInsufficientBalance,
	polSubscriberBarr: carriers.FailureSubscriberBlocked,
	polChargingLimit:  carriers.FailureCarrierLimitExceeded,
	polTooSoon:        carriers.FailureCarrierLimitExceeded, // a velocity limit
	polSingleLimit:    carriers.FailureCarrierLimitExceeded,
}

// transactionsPath is the subscriber's amount-transactions collection. The
// endUserId is a tel: URI and goes into the path fully encoded
// (tel%3A%2B8210...), as OneAPI asks: ':' and '+' would otherwise be left
// as they are, and a '+' read as a space by some servers.
func transactionsPath(msisdn string) string {
	return paymentRoot + escapeSegment(telPrefix+msisdn) + amountPath
}

// escapeSegment encodes everything but unreserved characters.
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// transactionBody is an amount transaction, asked for or answered.
type transactionBody struct {
	AmountTransaction transaction `json:"amountTransaction"`
}

type transaction struct {
	EndUserID                   string        `json:"endUserId"`
	ClientCorrelator            string        `json:"clientCorrelator,omitempty"`
	PaymentAmount               paymentAmount `json:"paymentAmount"`
	ReferenceCode               string        `json:"referenceCode"`
	OriginalServerReferenceCode string        `json:"originalServerReferenceCode,omitempty"`
	ServerReferenceCode         string        `json:"serverReferenceCode,omitempty"`
	ResourceURL                 string        `json:"resourceURL,omitempty"`
	TransactionOperationStatus  string        `json:"transactionOperationStatus"`
}

type paymentAmount struct {
	ChargingInformation chargingInformation `json:"chargingInformation"`
	ChargingMetaData    *chargingMetaData   `json:"chargingMetaData,omitempty"`
	TotalAmountCharged  decimal             `json:"totalAmountCharged,omitempty"`
	TotalAmountRefunded decimal             `json:"totalAmountRefunded,omitempty"`
}

type chargingInformation struct {
	Amount      decimal `json:"amount"`
	Currency    string  `json:"currency"`
	Description string  `json:"description"`
}

// chargingMetaData carries onBehalfOf, OneAPI's name for the merchant an
// aggregator charges for.
type chargingMetaData struct {
	OnBehalfOf string `json:"onBehalfOf,omitempty"`
}

// decimal is an amount in major units. It is written as a JSON string, as
// OneAPI's JSON examples do ("amount": "10.00"), and read from a string or a
// number, since hubs differ; either way it stays exact decimal text.
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*d = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimal(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("amount %s is neither a number nor a string", b)
	}
	*d = decimal(n)
	return nil
}

// transactionList is the subscriber's amount transactions.
type transactionList struct {
	List struct {
		AmountTransaction transactions `json:"amountTransaction"`
	} `json:"paymentTransactionList"`
}

// transactions reads a JSON array, or a lone object where a hub's JSON
// binding (written from XML) drops the array around a single element.
type transactions []transaction

func (ts *transactions) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var t transaction
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		*ts = transactions{t}
		return nil
	}
	var list []transaction
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*ts = list
	return nil
}

// requestError is OneAPI's error body.
type requestError struct {
	RequestError struct {
		ServiceException *exception `json:"serviceException"`
		PolicyException  *exception `json:"policyException"`
	} `json:"requestError"`
}

type exception struct {
	MessageID string   `json:"messageId"`
	Text      string   `json:"text"`
	Variables []string `json:"variables"`
}

// message is the exception's text with its %1, %2... filled in.
func (e exception) message() string {
	s := e.Text
	for i := len(e.Variables); i >= 1; i-- { // %10 before %1
		s = strings.ReplaceAll(s, "%"+strconv.Itoa(i), e.Variables[i-1])
	}
	return s
}
