package billing

import (
	"encoding/json"
	"time"
)

// Wire shapes of the merchant API. Phone numbers appear only masked.

type chargeView struct {
	ID                    string            `json:"id"`
	Object                string            `json:"object"`
	Status                Status            `json:"status"`
	Amount                int64             `json:"amount"`
	Currency              string            `json:"currency"`
	Carrier               string            `json:"carrier"`
	MSISDNMasked          string            `json:"msisdn_masked"`
	PaymentMethod         *string           `json:"payment_method"`
	RefundedAmount        int64             `json:"refunded_amount"`
	FailureCode           *string           `json:"failure_code"`
	FailureMessage        *string           `json:"failure_message"`
	CarrierDeclineCode    *string           `json:"carrier_decline_code"`
	CarrierReference      *string           `json:"carrier_reference"`
	ConfirmationExpiresAt *string           `json:"confirmation_expires_at"`
	Description           string            `json:"description"`
	MerchantReference     string            `json:"merchant_reference"`
	Category              string            `json:"category"`
	Metadata              map[string]string `json:"metadata"`
	Livemode              bool              `json:"livemode"`
	CreatedAt             string            `json:"created_at"`
	UpdatedAt             string            `json:"updated_at"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// View is the charge as the API shows it.
func (ch *Charge) View() any {
	meta := map[string]string{}
	_ = json.Unmarshal([]byte(ch.Metadata), &meta)
	v := chargeView{
		ID: ch.ID, Object: "charge", Status: ch.Status, Amount: ch.Amount, Currency: ch.Currency, Carrier: ch.Carrier,
		MSISDNMasked: ch.MSISDNMasked, PaymentMethod: ch.PaymentMethodID, RefundedAmount: ch.RefundedAmount,
		FailureCode: ch.FailureCode, FailureMessage: ch.FailureMessage, CarrierDeclineCode: ch.CarrierDeclineCode,
		CarrierReference: ch.CarrierReference, Description: ch.Description, MerchantReference: ch.MerchantReference,
		Category: ch.Category, Metadata: meta, Livemode: ch.Livemode, CreatedAt: ts(ch.CreatedAt), UpdatedAt: ts(ch.UpdatedAt),
	}
	if ch.Status == StatusRequiresConfirmation && ch.CodeExpiresAt != nil {
		v.ConfirmationExpiresAt = ptr(ts(*ch.CodeExpiresAt))
	}
	return v
}

type refundView struct {
	ID               string       `json:"id"`
	Object           string       `json:"object"`
	Charge           string       `json:"charge"`
	Amount           int64        `json:"amount"`
	Currency         string       `json:"currency"`
	Status           RefundStatus `json:"status"`
	Reason           string       `json:"reason"`
	FailureCode      *string      `json:"failure_code"`
	FailureMessage   *string      `json:"failure_message"`
	CarrierReference *string      `json:"carrier_reference"`
	CreatedAt        string       `json:"created_at"`
	UpdatedAt        string       `json:"updated_at"`
}

// View is the refund as the API shows it.
func (rf *Refund) View() any {
	return refundView{ID: rf.ID, Object: "refund", Charge: rf.ChargeID, Amount: rf.Amount, Currency: rf.Currency,
		Status: rf.Status, Reason: rf.Reason, FailureCode: rf.FailureCode, FailureMessage: rf.FailureMessage,
		CarrierReference: rf.CarrierReference, CreatedAt: ts(rf.CreatedAt), UpdatedAt: ts(rf.UpdatedAt)}
}

type paymentMethodView struct {
	ID           string              `json:"id"`
	Object       string              `json:"object"`
	Status       PaymentMethodStatus `json:"status"`
	Carrier      string              `json:"carrier"`
	MSISDNMasked string              `json:"msisdn_masked"`
	FailureCode  *string             `json:"failure_code"`
	Livemode     bool                `json:"livemode"`
	CreatedAt    string              `json:"created_at"`
	UpdatedAt    string              `json:"updated_at"`
}

// View is the payment method as the API shows it.
func (pm *PaymentMethod) View() any {
	return paymentMethodView{ID: pm.ID, Object: "payment_method", Status: pm.Status, Carrier: pm.Carrier,
		MSISDNMasked: pm.MSISDNMasked, FailureCode: pm.FailureCode, Livemode: pm.Livemode,
		CreatedAt: ts(pm.CreatedAt), UpdatedAt: ts(pm.UpdatedAt)}
}
