package settlement

import (
	"context"
	"fmt"
	"math/bits"
)

// fee is the one rounding rule of settlement: bps basis points of x,
// rounded half up to the minor unit, floor((x*bps + 5000) / 10000), in 128
// bits so that no amount overflows. x and bps are never negative.
func fee(x, bps int64) int64 {
	if x <= 0 || bps <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(x), uint64(bps))
	lo, carry := bits.Add64(lo, 5000, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, 10000) // hi < 10000 since x < 2^63 and bps <= 10000
	return int64(q)
}

// statementRow is one merchant's and currency's postings of the day.
type statementRow struct {
	MerchantID   string
	Currency     string
	Gross        int64
	Refunds      int64
	ChargesCount int64
	RefundsCount int64
}

// statements computes what each merchant is owed for the carrier's day from
// the ledger: the carrier_receivable leg of every posting of the carrier's
// charges and refunds made on the day.
func (s *Service) statements(ctx context.Context, runID, carrier string, d day) ([]Statement, error) {
	var rows []statementRow
	err := s.db.WithContext(ctx).Raw(`
		SELECT l.merchant_id, l.currency,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NULL THEN l.amount ELSE 0 END), 0) AS gross,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NOT NULL THEN -l.amount ELSE 0 END), 0) AS refunds,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NULL THEN 1 ELSE 0 END), 0) AS charges_count,
		       COALESCE(SUM(CASE WHEN l.refund_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS refunds_count
		FROM ledger_entries l JOIN charges c ON c.id = l.charge_id
		WHERE c.carrier = ? AND l.account = 'carrier_receivable' AND l.created_at >= ? AND l.created_at < ?
		GROUP BY l.merchant_id, l.currency
		ORDER BY l.merchant_id, l.currency`, carrier, d.From, d.To).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("statements from the ledger: %w", err)
	}
	share := s.cfg.CarrierShareBps[carrier]
	out := make([]Statement, 0, len(rows))
	for _, r := range rows {
		gw := s.cfg.GatewayFeeBps
		if o, ok := s.cfg.MerchantFeeBps[r.MerchantID]; ok {
			gw = o
		}
		st := Statement{
			RunID: runID, MerchantID: r.MerchantID, Currency: r.Currency,
			ChargesCount: r.ChargesCount, RefundsCount: r.RefundsCount,
			Gross: r.Gross, Refunds: r.Refunds,
			CarrierFees: fee(r.Gross, share), GatewayFees: fee(r.Gross, gw),
			CarrierShareBps: share, GatewayFeeBps: gw,
		}
		st.Net = st.Gross - st.Refunds - st.CarrierFees - st.GatewayFees
		out = append(out, st)
	}
	return out, nil
}
