package billing

import (
	"time"
)

// Charge is a row of charges. The phone number is stored only sealed
// (msisdn_enc), as a keyed blind index (msisdn_index) and masked. Secrets
// are tagged json:"-" so that no rendering, right or wrong, can carry them;
// the API's shape is billingapi's view.
type Charge struct {
	Seq                int64 `gorm:"->"`
	ID                 string
	MerchantID         string
	IdempotencyKey     string
	Livemode           bool
	Status             Status
	Amount             int64
	Currency           string
	Carrier            string
	MSISDNEnc          string `gorm:"column:msisdn_enc" json:"-"`
	MSISDNIndex        string `gorm:"column:msisdn_index" json:"-"`
	MSISDNMasked       string `gorm:"column:msisdn_masked"`
	PaymentMethodID    *string
	CodeHash           *string `json:"-"`
	CodeExpiresAt      *time.Time
	CodeAttempts       int
	RefundedAmount     int64
	RefundReserved     int64
	FailureCode        *string
	FailureMessage     *string
	CarrierDeclineCode *string
	CarrierReference   *string
	RiskRule           *string // the risk rule that declined the charge, if one did
	riskCashOut        string  // why screen found it at a cash-out moment, for screenTx; never stored
	AuthorizationRef   *string `json:"-"`
	SinkTokenHash      *string `json:"-"` // SHA-256 hex of the charge's callback credential
	Description        string
	MerchantReference  string
	Category           string
	Metadata           string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	SucceededAt        *time.Time
	// SpendMonth is the month (YYYY-MM, carrier's zone) whose caps hold the
	// charge's room: where a failure or refund gives it back.
	SpendMonth *string `json:"-"`
	// SubscriptionID and SubscriptionPeriod name the subscription period a
	// charge the gateway made on its own pays for.
	SubscriptionID     *string
	SubscriptionPeriod *int
	// ScheduledFor is when a scheduled one-tap charge runs.
	ScheduledFor *time.Time
	// CashbackApplied is the subscriber's cashback spent on the charge: the
	// carrier bills Amount - CashbackApplied (Billed). CashbackEarned is
	// what the charge earned once it succeeded (cashback.go).
	CashbackApplied int64
	CashbackEarned  int64
}

// RefundStatus is a refund's state.
type RefundStatus string

const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund is a row of refunds.
type Refund struct {
	Seq              int64 `gorm:"->"`
	ID               string
	ChargeID         string
	MerchantID       string
	IdempotencyKey   string
	Amount           int64
	Currency         string
	Status           RefundStatus
	Reason           string
	FailureCode      *string
	FailureMessage   *string
	CarrierReference *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// PaymentMethodStatus is a payment method's state.
type PaymentMethodStatus string

const (
	PMRequiresConfirmation PaymentMethodStatus = "requires_confirmation"
	PMActive               PaymentMethodStatus = "active"
	PMRevoked              PaymentMethodStatus = "revoked"
	PMFailed               PaymentMethodStatus = "failed"
)

// PaymentMethod is a subscriber's opt-in to one-tap charges by one merchant.
type PaymentMethod struct {
	Seq              int64 `gorm:"->"`
	ID               string
	MerchantID       string
	Livemode         bool
	Carrier          string
	MSISDNEnc        string `gorm:"column:msisdn_enc" json:"-"`
	MSISDNIndex      string `gorm:"column:msisdn_index" json:"-"`
	MSISDNMasked     string `gorm:"column:msisdn_masked"`
	Status           PaymentMethodStatus
	CodeHash         *string `json:"-"`
	CodeExpiresAt    *time.Time
	CodeAttempts     int
	FailureCode      *string
	IdempotencyKey   *string
	AuthorizationRef *string `json:"-"`
	TokenEnc         *string `json:"-"`
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// LedgerEntry is one leg of a balanced posting; every charge's and every
// refund's entries sum to zero.
type LedgerEntry struct {
	Seq        int64 `gorm:"->"`
	MerchantID string
	ChargeID   string
	RefundID   *string
	Account    string
	Amount     int64
	Currency   string
	Kind       string // "" for a charge's or refund's own posting; cashback postings name theirs
	CreatedAt  time.Time
}

// Merchant is a business that charges subscribers through tollgate.
type Merchant struct {
	ID        string
	Name      string
	Livemode  bool
	CreatedAt time.Time
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
