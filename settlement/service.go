package settlement

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/store"
)

// CarrierSet is what settlement needs of the carrier registry.
type CarrierSet interface {
	Get(name string) (carriers.Carrier, bool)
	Names() []string
}

// Billing is what settlement needs of billing, which owns charges, refunds
// and the ledger; billing.Service is one. Settlement reads the gateway's
// side of a day through it and settles a charge still processing with the
// carrier's word from the file, which posts the ledger, moves the charge
// and tells the merchant exactly as a carrier's own answer would.
type Billing interface {
	ApplyChargeResult(ctx context.Context, chargeID string, res carriers.Result, callErr error) error
	CountSucceededCharges(ctx context.Context, carrier string, from, to time.Time) (int64, error)
	SucceededCharges(ctx context.Context, carrier string, from, to time.Time, fn func(billing.FeedRow) error) error
	ProcessingCharges(ctx context.Context, carrier string, before time.Time, fn func(billing.FeedRow) error) error
	SucceededRefunds(ctx context.Context, carrier string, from, to time.Time, fn func(billing.FeedRow) error) error
	FindCharges(ctx context.Context, carrier string, by billing.LookupBy, values []string) ([]billing.Record, error)
	FindRefunds(ctx context.Context, carrier string, by billing.LookupBy, values []string) ([]billing.Record, error)
	LedgerTotals(ctx context.Context, carrier string, from, to time.Time) ([]billing.LedgerTotal, error)
	CashbackTotals(ctx context.Context, carrier string, from, to time.Time) ([]billing.CashbackTotal, error)
}

var _ Billing = (*billing.Service)(nil)

// Settings tune settlement.
type Settings struct {
	Location        *time.Location   // business days are calendar days here
	Hour            int              // the nightly run starts at this local hour
	GatewayFeeBps   int64            // tollgate's fee, basis points of gross
	MerchantFeeBps  map[string]int64 // per-merchant overrides of GatewayFeeBps
	CarrierShareBps map[string]int64 // each carrier's share of gross, by carrier name
	ReportDir       string           // where finance drops files: DIR/CARRIER-YYYY-MM-DD.csv
	// StaleAfter: a running run that has shown no progress this long is
	// taken to be dead (its node stopped) and may be taken over.
	StaleAfter time.Duration
	// BatchSize bounds the rows written or looked up in one statement.
	BatchSize int
}

// Service runs settlements and serves their results.
type Service struct {
	db       *gorm.DB
	dialect  store.Dialect
	carriers CarrierSet
	billing  Billing
	clock    clock.Clock
	cfg      Settings
	log      *slog.Logger
}

// NewService wires settlement.
func NewService(st *store.Store, cs CarrierSet, b Billing, clk clock.Clock, cfg Settings, log *slog.Logger) (*Service, error) {
	if st == nil || cs == nil || b == nil || clk == nil || log == nil {
		return nil, errors.New("settlement: store, carriers, billing, clock and logger are required")
	}
	if cfg.Location == nil {
		// Business days in the wrong zone would settle the wrong charges.
		return nil, errors.New("settlement: a time zone for business days is required")
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 10 * time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	return &Service{db: st.DB, dialect: st.Dialect, carriers: cs, billing: b, clock: clk, cfg: cfg, log: log}, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

func newRunID() string { return "stl_" + auth.RandomString(24) }
