package settlement

import (
	"context"
	"fmt"
	"math/bits"
	"sort"
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
	cbs, err := s.billing.CashbackTotals(ctx, carrier, d.From, d.To)
	if err != nil {
		return nil, fmt.Errorf("statements from the ledger: %w", err)
	}
	share := s.cfg.CarrierShareBps[carrier]
	out := make([]Statement, 0, len(rows))
	at := map[[2]string]int{}
	line := func(merchant, currency string) *Statement {
		k := [2]string{merchant, currency}
		if i, ok := at[k]; ok {
			return &out[i]
		}
		gw := s.cfg.GatewayFeeBps
		if o, ok := s.cfg.MerchantFeeBps[merchant]; ok {
			gw = o
		}
		at[k] = len(out)
		out = append(out, Statement{RunID: runID, MerchantID: merchant, Currency: currency, CarrierShareBps: share, GatewayFeeBps: gw})
		return &out[len(out)-1]
	}
	for _, r := range rows {
		st := line(r.MerchantID, r.Currency)
		st.ChargesCount, st.RefundsCount = r.Charges, r.Refunds
		st.Gross, st.Refunds = r.Charged, r.Refunded
		st.CarrierFees, st.GatewayFees = fee(r.Charged, share), fee(r.Charged, st.GatewayFeeBps)
	}
	for _, c := range cbs {
		st := line(c.MerchantID, c.Currency)
		st.CashbackFunded, st.CashbackApplied, st.CashbackExpired = c.Funded, c.Applied, c.Expired
	}
	for i := range out {
		st := &out[i]
		// What merchant_payable says: the carrier's billed amounts, plus the
		// cashback the liability pays for them, less what the merchant funded,
		// plus what expired back to it; then the fees.
		st.Net = st.Gross - st.Refunds - st.CarrierFees - st.GatewayFees - st.CashbackFunded + st.CashbackApplied + st.CashbackExpired
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].MerchantID != out[j].MerchantID {
			return out[i].MerchantID < out[j].MerchantID
		}
		return out[i].Currency < out[j].Currency
	})
	return out, nil
}
