package client

import (
	"encoding/json"
	"time"
)

// Money is always an integer of the currency's minor unit plus an ISO 4217
// code: KRW 5000 is ₩5,000, USD 199 is $1.99.

// Charge is a charge to a subscriber's phone bill.
type Charge struct {
	ID                    string            `json:"id"`
	Status                string            `json:"status"` // requires_confirmation, scheduled, processing, succeeded, failed, canceled, partially_refunded, refunded
	Amount                int64             `json:"amount"`
	Currency              string            `json:"currency"`
	Carrier               string            `json:"carrier"`
	MSISDNMasked          string            `json:"msisdn_masked"`
	PaymentMethod         *string           `json:"payment_method"`
	RefundedAmount        int64             `json:"refunded_amount"`
	BilledAmount          int64             `json:"billed_amount"`
	CashbackApplied       int64             `json:"cashback_applied"`
	CashbackEarned        int64             `json:"cashback_earned"`
	FailureCode           *string           `json:"failure_code"`
	FailureMessage        *string           `json:"failure_message"`
	CarrierReference      *string           `json:"carrier_reference"`
	RiskRule              *string           `json:"risk_rule"`
	ConfirmationExpiresAt *time.Time        `json:"confirmation_expires_at"`
	Description           string            `json:"description"`
	MerchantReference     string            `json:"merchant_reference"`
	Category              string            `json:"category"`
	Metadata              map[string]string `json:"metadata"`
	Subscription          *string           `json:"subscription"`
	ScheduledFor          *time.Time        `json:"scheduled_for"`
	Livemode              bool              `json:"livemode"`
	CreatedAt             time.Time         `json:"created_at"`
	UpdatedAt             time.Time         `json:"updated_at"`
}

// ChargeParams creates a charge: with MSISDN the subscriber gets an SMS code
// (then ConfirmCharge); with PaymentMethod (one-tap) it is sent at once.
type ChargeParams struct {
	Amount            int64             `json:"amount"`
	Currency          string            `json:"currency"`
	MSISDN            string            `json:"msisdn,omitempty"`
	Country           string            `json:"country,omitempty"`
	Carrier           string            `json:"carrier,omitempty"`
	PaymentMethod     string            `json:"payment_method,omitempty"`
	Description       string            `json:"description,omitempty"`
	MerchantReference string            `json:"merchant_reference,omitempty"`
	Category          string            `json:"category,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	ScheduledFor      *time.Time        `json:"scheduled_for,omitempty"`
}

// ChargeListParams filters ListCharges; zero fields are left out.
type ChargeListParams struct {
	ListParams
	Status, Carrier, MerchantReference string
	CreatedGTE, CreatedLT              time.Time
}

// Refund gives back part or all of a succeeded charge.
type Refund struct {
	ID               string    `json:"id"`
	Charge           string    `json:"charge"`
	Amount           int64     `json:"amount"`
	Currency         string    `json:"currency"`
	Status           string    `json:"status"` // pending, succeeded, failed
	Reason           string    `json:"reason"`
	FailureCode      *string   `json:"failure_code"`
	FailureMessage   *string   `json:"failure_message"`
	CarrierReference *string   `json:"carrier_reference"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// RefundParams: a zero Amount refunds what is left.
type RefundParams struct {
	Amount int64  `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PaymentMethod is a subscriber's consent to one-tap charges.
type PaymentMethod struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"` // requires_confirmation, active, revoked, failed
	Carrier      string    `json:"carrier"`
	MSISDNMasked string    `json:"msisdn_masked"`
	FailureCode  *string   `json:"failure_code"`
	Livemode     bool      `json:"livemode"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// PaymentMethodParams starts a one-tap opt-in; the subscriber gets a code.
type PaymentMethodParams struct {
	MSISDN  string `json:"msisdn"`
	Country string `json:"country,omitempty"`
	Carrier string `json:"carrier,omitempty"`
}

// Subscription charges a payment method every interval.
type Subscription struct {
	ID                 string     `json:"id"`
	Status             string     `json:"status"`
	PaymentMethod      string     `json:"payment_method"`
	Carrier            string     `json:"carrier"`
	MSISDNMasked       string     `json:"msisdn_masked"`
	Amount             int64      `json:"amount"`
	Currency           string     `json:"currency"`
	Interval           string     `json:"interval"` // month, week
	Description        string     `json:"description"`
	Category           string     `json:"category"`
	StartAt            *time.Time `json:"start_at"`
	CurrentPeriodStart *time.Time `json:"current_period_start"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end"`
	NextChargeAt       *time.Time `json:"next_charge_at"`
	LatestCharge       *string    `json:"latest_charge"`
	CancellationReason *string    `json:"cancellation_reason"`
	CanceledAt         *time.Time `json:"canceled_at"`
	Livemode           bool       `json:"livemode"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// SubscriptionParams creates a subscription; it needs its own SMS consent
// (ConfirmSubscription).
type SubscriptionParams struct {
	PaymentMethod string     `json:"payment_method"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	Interval      string     `json:"interval"`
	Description   string     `json:"description,omitempty"`
	Category      string     `json:"category,omitempty"`
	StartAt       *time.Time `json:"start_at,omitempty"`
}

// WebhookEndpoint is where the gateway POSTs events. Secret is shown only
// when it is created.
type WebhookEndpoint struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	EnabledEvents  []string  `json:"enabled_events"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	DisabledReason *string   `json:"disabled_reason"`
	Secret         string    `json:"secret,omitempty"`
	Livemode       bool      `json:"livemode"`
	CreatedAt      time.Time `json:"created_at"`
}

// WebhookEndpointParams creates an endpoint; EnabledEvents ["*"] is all.
type WebhookEndpointParams struct {
	URL           string   `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   string   `json:"description,omitempty"`
}

// Event is something that happened to one of the merchant's objects, as
// listed by the API and as delivered to webhook endpoints.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"` // charge.succeeded, refund.succeeded, …
	CreatedAt time.Time `json:"created_at"`
	Livemode  bool      `json:"livemode"`
	Data      struct {
		// Object is the object as the API showed it when the event happened.
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// Decode reads the event's object into v (a *Charge for charge.* events, a
// *Refund for refund.*, a *PaymentMethod for payment_method.* …).
func (e *Event) Decode(v any) error { return json.Unmarshal(e.Data.Object, v) }

// EventListParams filters ListEvents.
type EventListParams struct {
	ListParams
	Type, ObjectID string
}

// Carrier is a carrier the key may charge through.
type Carrier struct {
	Name                  string   `json:"name"`
	Country               string   `json:"country"`
	Currencies            []string `json:"currencies"`
	MinAmount             int64    `json:"min_amount"`
	MaxAmount             int64    `json:"max_amount"`
	SupportsPartialRefund bool     `json:"supports_partial_refund"`
	RefundWindow          string   `json:"refund_window"`
	Status                string   `json:"status"`
}

// TestSMS is a text the simulated carriers sent about this merchant's own
// charges and payment methods (test mode only).
type TestSMS struct {
	MSISDNMasked string    `json:"msisdn_masked"`
	Body         string    `json:"body"`
	Code         string    `json:"code"`
	Reference    string    `json:"reference"`
	SentAt       time.Time `json:"sent_at"`
}

func unmarshalEvent(b []byte, ev *Event) error { return json.Unmarshal(b, ev) }
