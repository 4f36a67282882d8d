package billingapi

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
)

// Wire shapes of the merchant API. Phone numbers appear only masked.

type chargeBody struct {
	ID                    string            `json:"id"`
	Object                string            `json:"object"`
	Status                billing.Status    `json:"status"`
	Amount                int64             `json:"amount"`
	Currency              string            `json:"currency"`
	Carrier               string            `json:"carrier"`
	MSISDNMasked          string            `json:"msisdn_masked"`
	PaymentMethod         *string           `json:"payment_method"`
	RefundedAmount        int64             `json:"refunded_amount"`
	CashbackApplied       int64             `json:"cashback_applied"`
	BilledAmount          int64             `json:"billed_amount"`
	CashbackEarned        int64             `json:"cashback_earned"`
	FailureCode           *string           `json:"failure_code"`
	FailureMessage        *string           `json:"failure_message"`
	CarrierDeclineCode    *string           `json:"carrier_decline_code"`
	CarrierReference      *string           `json:"carrier_reference"`
	RiskRule              *string           `json:"risk_rule"`
	ConfirmationExpiresAt *string           `json:"confirmation_expires_at"`
	Subscription          *string           `json:"subscription"`
	ScheduledFor          *string           `json:"scheduled_for"`
	Description           string            `json:"description"`
	MerchantReference     string            `json:"merchant_reference"`
	Category              string            `json:"category"`
	Metadata              map[string]string `json:"metadata"`
	Livemode              bool              `json:"livemode"`
	CreatedAt             string            `json:"created_at"`
	UpdatedAt             string            `json:"updated_at"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// chargeView is the charge as the API shows it.
func chargeView(ch *billing.Charge) any { return chargeBodyOf(ch) }

func chargeBodyOf(ch *billing.Charge) chargeBody {
	meta := map[string]string{}
	_ = json.Unmarshal([]byte(ch.Metadata), &meta)
	v := chargeBody{
		ID: ch.ID, Object: "charge", Status: ch.Status, Amount: ch.Amount, Currency: ch.Currency, Carrier: ch.Carrier,
		MSISDNMasked: ch.MSISDNMasked, PaymentMethod: ch.PaymentMethodID, RefundedAmount: ch.RefundedAmount,
		CashbackApplied: ch.CashbackApplied, BilledAmount: ch.Billed(), CashbackEarned: ch.CashbackEarned,
		FailureCode: ch.FailureCode, FailureMessage: ch.FailureMessage, CarrierDeclineCode: ch.CarrierDeclineCode,
		CarrierReference: ch.CarrierReference, RiskRule: ch.RiskRule, Description: ch.Description, MerchantReference: ch.MerchantReference,
		Category: ch.Category, Metadata: meta, Livemode: ch.Livemode, CreatedAt: ts(ch.CreatedAt), UpdatedAt: ts(ch.UpdatedAt),
		Subscription: ch.SubscriptionID, ScheduledFor: tsp(ch.ScheduledFor),
	}
	if ch.Status == billing.StatusRequiresConfirmation && ch.CodeExpiresAt != nil {
		exp := ts(*ch.CodeExpiresAt)
		v.ConfirmationExpiresAt = &exp
	}
	return v
}

type refundBody struct {
	ID               string               `json:"id"`
	Object           string               `json:"object"`
	Charge           string               `json:"charge"`
	Amount           int64                `json:"amount"`
	Currency         string               `json:"currency"`
	Status           billing.RefundStatus `json:"status"`
	Reason           string               `json:"reason"`
	FailureCode      *string              `json:"failure_code"`
	FailureMessage   *string              `json:"failure_message"`
	CarrierReference *string              `json:"carrier_reference"`
	CreatedAt        string               `json:"created_at"`
	UpdatedAt        string               `json:"updated_at"`
}

// refundView is the refund as the API shows it.
func refundView(rf *billing.Refund) any {
	return refundBody{ID: rf.ID, Object: "refund", Charge: rf.ChargeID, Amount: rf.Amount, Currency: rf.Currency,
		Status: rf.Status, Reason: rf.Reason, FailureCode: rf.FailureCode, FailureMessage: rf.FailureMessage,
		CarrierReference: rf.CarrierReference, CreatedAt: ts(rf.CreatedAt), UpdatedAt: ts(rf.UpdatedAt)}
}

type paymentMethodBody struct {
	ID           string                      `json:"id"`
	Object       string                      `json:"object"`
	Status       billing.PaymentMethodStatus `json:"status"`
	Carrier      string                      `json:"carrier"`
	MSISDNMasked string                      `json:"msisdn_masked"`
	FailureCode  *string                     `json:"failure_code"`
	Livemode     bool                        `json:"livemode"`
	CreatedAt    string                      `json:"created_at"`
	UpdatedAt    string                      `json:"updated_at"`
}

// paymentMethodView is the payment method as the API shows it.
func paymentMethodView(pm *billing.PaymentMethod) any {
	return paymentMethodBody{ID: pm.ID, Object: "payment_method", Status: pm.Status, Carrier: pm.Carrier,
		MSISDNMasked: pm.MSISDNMasked, FailureCode: pm.FailureCode, Livemode: pm.Livemode,
		CreatedAt: ts(pm.CreatedAt), UpdatedAt: ts(pm.UpdatedAt)}
}

// view renders a billing object as the API shows it; events carry the same
// shape, so a webhook body equals what GET returns at that moment. An
// object it does not know is an error, never passed through as it is.
func view(obj any) (any, error) {
	switch o := obj.(type) {
	case *billing.Charge:
		return chargeView(o), nil
	case *billing.Refund:
		return refundView(o), nil
	case *billing.PaymentMethod:
		return paymentMethodView(o), nil
	case *billing.Subscription:
		return subscriptionView(o), nil
	case *billing.SpendThreshold:
		return spendThresholdView(o), nil
	case *billing.RefundRequest:
		return refundRequestView(o), nil
	}
	return nil, fmt.Errorf("no API view for %T", obj)
}

// Views decorates an event sink so that every event carries its object's
// API view: billing emits domain objects, merchants receive wire shapes.
func Views(next billing.EventSink) billing.EventSink { return viewSink{next} }

type viewSink struct{ next billing.EventSink }

func (v viewSink) EmitTx(tx *gorm.DB, e billing.Event) error {
	obj, err := view(e.Object)
	if err != nil {
		return fmt.Errorf("%s event: %w", e.Type, err)
	}
	e.Object = obj
	return v.next.EmitTx(tx, e)
}

func (v viewSink) EmitManyTx(tx *gorm.DB, es []billing.Event) error {
	viewed := make([]billing.Event, len(es))
	for i, e := range es {
		obj, err := view(e.Object)
		if err != nil {
			return fmt.Errorf("%s event: %w", e.Type, err)
		}
		e.Object = obj
		viewed[i] = e
	}
	return billing.EmitMany(tx, v.next, viewed)
}
