package billing

import (
	"context"
	"fmt"
	"time"
)

// LedgerTotal is one merchant's and currency's carrier_receivable postings
// for one carrier's charges and refunds over a period.
type LedgerTotal struct {
	MerchantID string
	Currency   string
	Charged    int64 // what the charges posted
	Refunded   int64 // what the refunds posted back, as a positive amount
	Charges    int64 // how many charges posted
	Refunds    int64 // how many refunds posted
}

// LedgerTotals sums the carrier_receivable leg of every posting of the
// carrier's charges and refunds made in [from, to), per merchant and
// currency, ordered by both. Charged - Refunded is the change of what the
// carrier owes for its subscribers' bills.
func (b *Books) LedgerTotals(ctx context.Context, carrier string, from, to time.Time) ([]LedgerTotal, error) {
	var out []LedgerTotal
	err := b.db.WithContext(ctx).Raw(`
		SELECT l.merchant_id, l.currency,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NULL THEN l.amount ELSE 0 END), 0) AS charged,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NOT NULL THEN -l.amount ELSE 0 END), 0) AS refunded,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NULL THEN 1 ELSE 0 END), 0) AS charges,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS refunds
		FROM ledger_entries l JOIN charges c ON c.id = l.charge_id
		WHERE c.carrier = ? AND l.account = '`+AccountCarrierReceivable+`' AND l.created_at >= ? AND l.created_at < ?
		GROUP BY l.merchant_id, l.currency
		ORDER BY l.merchant_id, l.currency`, carrier, from, to).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("ledger totals of %s from %s: %w", carrier, from.Format(time.RFC3339), err)
	}
	return out, nil
}
