package sim

import (
	"encoding/json"
	"regexp"
	"time"
)

// CAMARA wire values (carrier-billing v0.5, carrier-billing-refund v0.3).
const (
	camaraPayments = "/carrier-billing/v0.5/payments"
	camaraRefunds  = "/carrier-billing-refund/v0.3/payments/{paymentId}/refunds"

	headerCorrelator = "x-correlator"

	paymentProcessing        = "processing"
	paymentSucceeded         = "succeeded"
	paymentPendingValidation = "pending_validation"
	paymentReserved          = "reserved"
	paymentDenied            = "denied"
	paymentCancelled         = "cancelled"

	refundTotal     = "total"
	refundPartial   = "partial"
	refundSucceeded = "succeeded"

	codeUserThreshold          = "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED"
	codePaymentDenied          = "CARRIER_BILLING.PAYMENT_DENIED"
	codePaymentConfirmed       = "CARRIER_BILLING.PAYMENT_CONFIRMED"
	codePaymentCancelled       = "CARRIER_BILLING.PAYMENT_CANCELLED"
	codeInvalidAuthorizationID = "CARRIER_BILLING.INVALID_AUTHORIZATION_ID"
	codeInvalidCode            = "CARRIER_BILLING.INVALID_CODE"
	codeValidationFailed       = "CARRIER_BILLING.VALIDATION_FAILED"
	codeIdentifierNotFound     = "IDENTIFIER_NOT_FOUND"
	codeInvalidCredential      = "INVALID_CREDENTIAL"
	codeInvalidToken           = "INVALID_TOKEN"
	codeInvalidDateRange       = "CARRIER_BILLING.INVALID_DATE_RANGE"
	codeRefundInvalidDateRange = "CARRIER_BILLING_REFUND.INVALID_DATE_RANGE"
	codeRefundUnauthorized     = "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT"
	codeRefundInvalidPayStatus = "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS"
	msgCorrelatorInUse         = "clientCorrelator already exist on server."

	codeServiceNotApplicable = "SERVICE_NOT_APPLICABLE"
	codeUnauthorizedAmount   = "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"
	// msgInsufficientBalance is the message of a PAYMENT_DENIED for a
	// balance too low: the spec has no code for it, so an operator says
	// why in words (the adapter reads these).
	msgInsufficientBalance = "Payment denied by business: insufficient balance."
	// linePaymentLimit is the most one payment may be, in minor units of
	// any currency: above it, CARRIER_BILLING.UNAUTHORIZED_AMOUNT.
	linePaymentLimit = 100_000_000

	// correlatorParam filters retrievePayments and retrieveRefunds by the
	// clientCorrelator of the request that created them. CAMARA has no such
	// filter; it is this operator's extension, which lets a client that lost
	// the answer to createPayment find out what became of it.
	correlatorParam = "clientCorrelator"
)

var (
	phonePattern      = regexp.MustCompile(`^\+[1-9][0-9]{4,14}$`)
	correlatorPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:;./<>{}]{0,256}$`)
	sinkPattern       = regexp.MustCompile(`^https://.+$`) // the spec's; see validSink for loopback http
)

// paymentRequest is createPayment's body. Pointers tell a missing field
// from an empty one; amounts stay raw so that a quoted amount is refused.
type paymentRequest struct {
	AmountTransaction *struct {
		PhoneNumber      *string `json:"phoneNumber"`
		ClientCorrelator string  `json:"clientCorrelator"`
		ReferenceCode    *string `json:"referenceCode"`
		PaymentAmount    *struct {
			ChargingInformation *chargingInformationIn `json:"chargingInformation"`
			ChargingMetaData    json.RawMessage        `json:"chargingMetaData"`
			PaymentDetails      json.RawMessage        `json:"paymentDetails"`
		} `json:"paymentAmount"`
	} `json:"amountTransaction"`
	Sink           *string         `json:"sink"`
	SinkCredential *sinkCredential `json:"sinkCredential"`
}

// sinkCredential is the spec's SinkCredential; only ACCESSTOKEN is supported,
// as the spec says "so far".
type sinkCredential struct {
	CredentialType        string `json:"credentialType"`
	AccessToken           string `json:"accessToken"`
	AccessTokenExpiresUtc string `json:"accessTokenExpiresUtc"`
	AccessTokenType       string `json:"accessTokenType"`
}

type chargingInformationIn struct {
	Amount        json.RawMessage `json:"amount"`
	Currency      *string         `json:"currency"`
	Description   *string         `json:"description"`
	IsTaxIncluded *bool           `json:"isTaxIncluded"`
	TaxAmount     json.RawMessage `json:"taxAmount"`
}

// paymentOut is the Payment resource.
type paymentOut struct {
	PaymentID           string               `json:"paymentId"`
	AmountTransaction   amountTransactionOut `json:"amountTransaction"`
	PaymentStatus       string               `json:"paymentStatus"`
	PaymentCreationDate time.Time            `json:"paymentCreationDate"`
	PaymentDate         *time.Time           `json:"paymentDate,omitempty"`
	Sink                string               `json:"sink,omitempty"`
}

type amountTransactionOut struct {
	PhoneNumber         string           `json:"phoneNumber"`
	ClientCorrelator    string           `json:"clientCorrelator,omitempty"`
	PaymentAmount       paymentAmountOut `json:"paymentAmount"`
	ReferenceCode       string           `json:"referenceCode"`
	ResourceURL         string           `json:"resourceURL"`
	ServerReferenceCode string           `json:"serverReferenceCode"`
}

type paymentAmountOut struct {
	ChargingInformation chargingInformationOut `json:"chargingInformation"`
	ChargingMetaData    json.RawMessage        `json:"chargingMetaData,omitempty"`
	PaymentDetails      json.RawMessage        `json:"paymentDetails,omitempty"`
}

type chargingInformationOut struct {
	Amount        json.Number     `json:"amount"`
	Currency      string          `json:"currency"`
	Description   string          `json:"description"`
	IsTaxIncluded *bool           `json:"isTaxIncluded,omitempty"`
	TaxAmount     json.RawMessage `json:"taxAmount,omitempty"`
}

// refundRequest is createRefund's body.
type refundRequest struct {
	Type              *string `json:"type"`
	Reason            string  `json:"reason"`
	Sink              *string `json:"sink"`
	AmountTransaction *struct {
		ClientCorrelator string  `json:"clientCorrelator"`
		ReferenceCode    *string `json:"referenceCode"`
		RefundAmount     *struct {
			ChargingInformation *chargingInformationIn `json:"chargingInformation"`
			ChargingMetaData    json.RawMessage        `json:"chargingMetaData"`
		} `json:"refundAmount"`
	} `json:"amountTransaction"`
}

// refundOut is the Refund resource.
type refundOut struct {
	RefundID           string               `json:"refundId"`
	RefundStatus       string               `json:"refundStatus"`
	Type               string               `json:"type"`
	RefundCreationDate time.Time            `json:"refundCreationDate"`
	RefundDate         *time.Time           `json:"refundDate,omitempty"`
	Reason             string               `json:"reason,omitempty"`
	Sink               string               `json:"sink,omitempty"`
	AmountTransaction  refundTransactionOut `json:"amountTransaction"`
}

type refundTransactionOut struct {
	ClientCorrelator string          `json:"clientCorrelator,omitempty"`
	ReferenceCode    string          `json:"referenceCode"`
	RefundAmount     refundAmountOut `json:"refundAmount"`
}

type refundAmountOut struct {
	ChargingInformation *chargingInformationOut `json:"chargingInformation,omitempty"`
	ChargingMetaData    json.RawMessage         `json:"chargingMetaData,omitempty"`
}

// remainingOut is retrievePaymentRemainingAmount's answer.
type remainingOut struct {
	Amount      json.Number `json:"amount"`
	Currency    string      `json:"currency"`
	Description string      `json:"description,omitempty"`
}

func (p *payment) out() paymentOut {
	o := paymentOut{
		PaymentID: p.id,
		AmountTransaction: amountTransactionOut{
			PhoneNumber:      p.phone,
			ClientCorrelator: p.correlator,
			PaymentAmount: paymentAmountOut{
				ChargingInformation: chargingInformationOut{
					Amount:        formatAmount(p.amount, p.currency),
					Currency:      p.currency,
					Description:   p.description,
					IsTaxIncluded: p.taxIncluded,
					TaxAmount:     p.taxAmount,
				},
				ChargingMetaData: p.metaData,
				PaymentDetails:   p.details,
			},
			ReferenceCode:       p.referenceCode,
			ResourceURL:         "urn:payments:" + p.id,
			ServerReferenceCode: p.id + "-srv",
		},
		PaymentStatus:       p.status,
		PaymentCreationDate: p.createdAt.UTC(),
		Sink:                p.sink,
	}
	if !p.paidAt.IsZero() {
		t := p.paidAt.UTC()
		o.PaymentDate = &t
	}
	return o
}

func (rf *refund) out() refundOut {
	o := refundOut{
		RefundID:           rf.id,
		RefundStatus:       rf.status,
		Type:               rf.kind,
		RefundCreationDate: rf.createdAt.UTC(),
		Reason:             rf.reason,
		Sink:               rf.sink,
		AmountTransaction: refundTransactionOut{
			ClientCorrelator: rf.correlator,
			ReferenceCode:    rf.referenceCode,
			RefundAmount:     refundAmountOut{ChargingMetaData: rf.metaData},
		},
	}
	if rf.kind == refundPartial {
		// A total refund echoes an empty refundAmount, as the spec's tests expect.
		o.AmountTransaction.RefundAmount.ChargingInformation = &chargingInformationOut{
			Amount:      formatAmount(rf.amount, rf.currency),
			Currency:    rf.currency,
			Description: rf.description,
		}
	}
	if !rf.doneAt.IsZero() {
		t := rf.doneAt.UTC()
		o.RefundDate = &t
	}
	return o
}
