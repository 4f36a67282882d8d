package settlement

import "time"

// RunStatus is a run's state. Wire values, frozen once published.
type RunStatus string

const (
	StatusRunning   RunStatus = "running"
	StatusCompleted RunStatus = "completed"
	StatusFailed    RunStatus = "failed"
)

// Discrepancy kinds. Wire values, frozen once published.
const (
	KindMissingAtCarrier = "missing_at_carrier"
	KindMissingAtGateway = "missing_at_gateway"
	KindAmountMismatch   = "amount_mismatch"
	KindStatusMismatch   = "status_mismatch"
	KindDuplicate        = "duplicate"
	KindResolved         = "resolved"
)

// Kinds lists every discrepancy kind, for validation and docs.
var Kinds = []string{KindMissingAtCarrier, KindMissingAtGateway, KindAmountMismatch, KindStatusMismatch, KindDuplicate, KindResolved}

// Totals are a run's counts and amounts.
type Totals struct {
	LinesRead              int64
	MatchedCount           int64
	MatchedAmount          int64
	MissingAtCarrierCount  int64
	MissingAtCarrierAmount int64
	MissingAtGatewayCount  int64
	MissingAtGatewayAmount int64
	AmountMismatchCount    int64
	AmountMismatchAmount   int64
	StatusMismatchCount    int64
	StatusMismatchAmount   int64
	DuplicateCount         int64
	DuplicateAmount        int64
	ResolvedCount          int64
	ResolvedAmount         int64
}

// add counts one discrepancy of kind with amount.
func (t *Totals) add(kind string, amount int64) {
	switch kind {
	case KindMissingAtCarrier:
		t.MissingAtCarrierCount, t.MissingAtCarrierAmount = t.MissingAtCarrierCount+1, t.MissingAtCarrierAmount+amount
	case KindMissingAtGateway:
		t.MissingAtGatewayCount, t.MissingAtGatewayAmount = t.MissingAtGatewayCount+1, t.MissingAtGatewayAmount+amount
	case KindAmountMismatch:
		t.AmountMismatchCount, t.AmountMismatchAmount = t.AmountMismatchCount+1, t.AmountMismatchAmount+amount
	case KindStatusMismatch:
		t.StatusMismatchCount, t.StatusMismatchAmount = t.StatusMismatchCount+1, t.StatusMismatchAmount+amount
	case KindDuplicate:
		t.DuplicateCount, t.DuplicateAmount = t.DuplicateCount+1, t.DuplicateAmount+amount
	case KindResolved:
		t.ResolvedCount, t.ResolvedAmount = t.ResolvedCount+1, t.ResolvedAmount+amount
	}
}

// Run is a row of settlement_runs.
type Run struct {
	Seq            int64 `gorm:"->"`
	ID             string
	Carrier        string
	BusinessDate   string
	TimeZone       string
	Status         RunStatus
	Source         string
	Rerun          bool
	Supersedes     *string
	SupersededBy   *string
	FailureMessage *string
	Totals         `gorm:"embedded"`
	CreatedAt      time.Time
	HeartbeatAt    time.Time
	CompletedAt    *time.Time
}

func (Run) TableName() string { return "settlement_runs" }

// Discrepancy is a row of settlement_discrepancies.
type Discrepancy struct {
	Seq              int64 `gorm:"->"`
	RunID            string
	Kind             string
	Object           string // charge or refund
	ChargeID         *string
	RefundID         *string
	MerchantID       *string
	ClientReference  string
	CarrierReference string
	Currency         string
	GatewayAmount    *int64
	CarrierAmount    *int64
	GatewayStatus    *string
	CarrierStatus    *string
	LineNo           *int64
	Detail           string
}

func (Discrepancy) TableName() string { return "settlement_discrepancies" }

// Statement is a row of settlement_statements: what one merchant is owed
// for one carrier, day and currency.
type Statement struct {
	Seq             int64 `gorm:"->"`
	RunID           string
	MerchantID      string
	Currency        string
	ChargesCount    int64
	RefundsCount    int64
	Gross           int64
	Refunds         int64
	CarrierFees     int64
	GatewayFees     int64
	Net             int64
	CashbackFunded  int64
	CashbackApplied int64
	CashbackExpired int64
	CarrierShareBps int64
	GatewayFeeBps   int64
}

func (Statement) TableName() string { return "settlement_statements" }
