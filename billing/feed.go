package billing

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// lookupChunk bounds the values bound in one IN list, well under the
// parameter limits of both databases.
const lookupChunk = 500

// Billed reports whether a charge in this status was billed to the
// subscriber (and may since have been refunded in part or in full).
func (s Status) Billed() bool {
	return s == StatusSucceeded || s == StatusPartiallyRefunded || s == StatusRefunded
}

var billedStatuses = []Status{StatusSucceeded, StatusPartiallyRefunded, StatusRefunded}

// FeedRow is one charge or refund of a feed. Its byte slices belong to the
// database driver and are valid only during the callback: copy what you keep.
type FeedRow struct {
	ID       []byte
	Amount   int64
	Currency []byte
	Status   []byte
}

// CountSucceededCharges counts the carrier's charges that succeeded in
// [from, to), to size what a feed of them fills.
func (b *Books) CountSucceededCharges(ctx context.Context, carrier string, from, to time.Time) (int64, error) {
	var n int64
	if err := b.db.WithContext(ctx).Model(&Charge{}).Where("carrier = ? AND succeeded_at >= ? AND succeeded_at < ?", carrier, from, to).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count %s's charges succeeded from %s: %w", carrier, from.Format(time.RFC3339), err)
	}
	return n, nil
}

// SucceededCharges calls fn for each of the carrier's charges that
// succeeded in [from, to) and were billed (succeeded, partially refunded
// or refunded since), row by row, so any number fits in bounded memory.
func (b *Books) SucceededCharges(ctx context.Context, carrier string, from, to time.Time, fn func(FeedRow) error) error {
	return b.feed(ctx, "charges succeeded", fn,
		`SELECT id, amount - cashback_applied, currency, status FROM charges WHERE carrier = ? AND succeeded_at >= ? AND succeeded_at < ? AND status IN ?`,
		carrier, from, to, billedStatuses)
}

// ProcessingCharges calls fn for each of the carrier's charges still
// processing that were created before before.
func (b *Books) ProcessingCharges(ctx context.Context, carrier string, before time.Time, fn func(FeedRow) error) error {
	return b.feed(ctx, "processing charges", fn,
		// The status literal lets the planner use charges_processing.
		`SELECT id, amount - cashback_applied, currency, status FROM charges WHERE carrier = ? AND status = '`+string(StatusProcessing)+`' AND created_at < ?`,
		carrier, before)
}

// SucceededRefunds calls fn for each refund of the carrier's charges that
// succeeded in [from, to). A refund's last update is its success.
func (b *Books) SucceededRefunds(ctx context.Context, carrier string, from, to time.Time, fn func(FeedRow) error) error {
	return b.feed(ctx, "refunds succeeded", fn,
		`SELECT r.id, r.amount, r.currency, r.status FROM refunds r JOIN charges c ON c.id = r.charge_id
		 WHERE c.carrier = ? AND r.status = ? AND r.updated_at >= ? AND r.updated_at < ?`,
		carrier, RefundSucceeded, from, to)
}

// feed streams query's rows (id, amount, currency, status) to fn. Raw bytes
// spare an allocation per column per row: a million rows cost no garbage.
func (b *Books) feed(ctx context.Context, what string, fn func(FeedRow) error, query string, args ...any) error {
	rows, err := b.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	var id, cur, st sql.RawBytes
	var r FeedRow
	for rows.Next() {
		if err := rows.Scan(&id, &r.Amount, &cur, &st); err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		r.ID, r.Currency, r.Status = id, cur, st
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// LookupBy says which of a record's keys a look-up matches.
type LookupBy int

const (
	ByID               LookupBy = iota // the gateway's id
	ByCarrierReference                 // the carrier's reference
)

func (by LookupBy) column() string {
	if by == ByCarrierReference {
		return "carrier_reference"
	}
	return "id"
}

// Record is a charge or refund as reconciliation sees it.
type Record struct {
	ID               string
	ChargeID         string // the refund's charge; a charge's own id
	MerchantID       string
	Amount           int64
	Currency         string
	Status           string
	CarrierReference string // "" when the carrier gave none
}

// FindCharges returns the carrier's charges whose id (or carrier
// reference) is one of values, in any order, read a few hundred at a time.
func (b *Books) FindCharges(ctx context.Context, carrier string, by LookupBy, values []string) ([]Record, error) {
	return b.find(ctx, "charges", by, values,
		`SELECT id, id AS charge_id, merchant_id, amount, currency, status, COALESCE(carrier_reference, '') AS carrier_reference
		 FROM charges WHERE carrier = ? AND `+by.column()+` IN ?`, carrier)
}

// FindRefunds returns the refunds of the carrier's charges whose id (or
// carrier reference) is one of values, in any order.
func (b *Books) FindRefunds(ctx context.Context, carrier string, by LookupBy, values []string) ([]Record, error) {
	return b.find(ctx, "refunds", by, values,
		`SELECT r.id, r.charge_id, c.merchant_id, r.amount, r.currency, r.status, COALESCE(r.carrier_reference, '') AS carrier_reference
		 FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE c.carrier = ? AND r.`+by.column()+` IN ?`, carrier)
}

func (b *Books) find(ctx context.Context, what string, by LookupBy, values []string, query, carrier string) ([]Record, error) {
	var out []Record
	for len(values) > 0 {
		chunk := values[:min(lookupChunk, len(values))]
		values = values[len(chunk):]
		var got []Record
		if err := b.db.WithContext(ctx).Raw(query, carrier, chunk).Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("look up %s by %s: %w", what, by.column(), err)
		}
		out = append(out, got...)
	}
	return out, nil
}
