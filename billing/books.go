package billing

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Books reads charges, refunds and the ledger for reconciliation and
// statements, so that no other package writes SQL against billing's tables.
// It only reads; every change still goes through the Service, which offers
// the same reads.
type Books struct{ db *gorm.DB }

// NewBooks reads the books in db.
func NewBooks(db *gorm.DB) *Books { return &Books{db: db} }

func (s *Service) books() *Books { return &Books{db: s.db} }

// CountSucceededCharges is Books.CountSucceededCharges.
func (s *Service) CountSucceededCharges(ctx context.Context, carrier string, from, to time.Time) (int64, error) {
	return s.books().CountSucceededCharges(ctx, carrier, from, to)
}

// SucceededCharges is Books.SucceededCharges.
func (s *Service) SucceededCharges(ctx context.Context, carrier string, from, to time.Time, fn func(FeedRow) error) error {
	return s.books().SucceededCharges(ctx, carrier, from, to, fn)
}

// ProcessingCharges is Books.ProcessingCharges.
func (s *Service) ProcessingCharges(ctx context.Context, carrier string, before time.Time, fn func(FeedRow) error) error {
	return s.books().ProcessingCharges(ctx, carrier, before, fn)
}

// SucceededRefunds is Books.SucceededRefunds.
func (s *Service) SucceededRefunds(ctx context.Context, carrier string, from, to time.Time, fn func(FeedRow) error) error {
	return s.books().SucceededRefunds(ctx, carrier, from, to, fn)
}

// FindCharges is Books.FindCharges.
func (s *Service) FindCharges(ctx context.Context, carrier string, by LookupBy, values []string) ([]Record, error) {
	return s.books().FindCharges(ctx, carrier, by, values)
}

// FindRefunds is Books.FindRefunds.
func (s *Service) FindRefunds(ctx context.Context, carrier string, by LookupBy, values []string) ([]Record, error) {
	return s.books().FindRefunds(ctx, carrier, by, values)
}

// LedgerTotals is Books.LedgerTotals.
func (s *Service) LedgerTotals(ctx context.Context, carrier string, from, to time.Time) ([]LedgerTotal, error) {
	return s.books().LedgerTotals(ctx, carrier, from, to)
}
