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

// statements computes what each merchant is owed for the carrier's day from
// the ledger: the carrier_receivable leg of every posting of the carrier's
// charges and refunds made on the day.
func (s *Service) statements(ctx context.Context, runID, carrier string, d day) ([]Statement, error) {
	rows, err := s.billing.LedgerTotals(ctx, carrier, d.From, d.To)
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
			ChargesCount: r.Charges, RefundsCount: r.Refunds,
			Gross: r.Charged, Refunds: r.Refunded,
			CarrierFees: fee(r.Charged, share), GatewayFees: fee(r.Charged, gw),
			CarrierShareBps: share, GatewayFeeBps: gw,
		}
		st.Net = st.Gross - st.Refunds - st.CarrierFees - st.GatewayFees
		out = append(out, st)
	}
	return out, nil
}
