package settlement

import (
	"strconv"
	"time"
)

// RunView is a run as the finance API shows it.
type RunView struct {
	ID                     string     `json:"id"`
	Object                 string     `json:"object"`
	Carrier                string     `json:"carrier"`
	BusinessDate           string     `json:"business_date"`
	TimeZone               string     `json:"time_zone"`
	Status                 RunStatus  `json:"status"`
	Source                 string     `json:"source"`
	Rerun                  bool       `json:"rerun"`
	Supersedes             *string    `json:"supersedes"`
	SupersededBy           *string    `json:"superseded_by"`
	FailureMessage         *string    `json:"failure_message"`
	LinesRead              int64      `json:"lines_read"`
	MatchedCount           int64      `json:"matched_count"`
	MatchedAmount          int64      `json:"matched_amount"`
	MissingAtCarrierCount  int64      `json:"missing_at_carrier_count"`
	MissingAtCarrierAmount int64      `json:"missing_at_carrier_amount"`
	MissingAtGatewayCount  int64      `json:"missing_at_gateway_count"`
	MissingAtGatewayAmount int64      `json:"missing_at_gateway_amount"`
	AmountMismatchCount    int64      `json:"amount_mismatch_count"`
	AmountMismatchAmount   int64      `json:"amount_mismatch_amount"`
	StatusMismatchCount    int64      `json:"status_mismatch_count"`
	StatusMismatchAmount   int64      `json:"status_mismatch_amount"`
	DuplicateCount         int64      `json:"duplicate_count"`
	DuplicateAmount        int64      `json:"duplicate_amount"`
	ResolvedCount          int64      `json:"resolved_count"`
	ResolvedAmount         int64      `json:"resolved_amount"`
	CreatedAt              time.Time  `json:"created_at"`
	CompletedAt            *time.Time `json:"completed_at"`
}

// View is the run's API shape.
func (r *Run) View() RunView {
	v := RunView{
		ID: r.ID, Object: "settlement_run", Carrier: r.Carrier, BusinessDate: r.BusinessDate, TimeZone: r.TimeZone,
		Status: r.Status, Source: r.Source, Rerun: r.Rerun, Supersedes: r.Supersedes, SupersededBy: r.SupersededBy,
		FailureMessage: r.FailureMessage, LinesRead: r.LinesRead,
		MatchedCount: r.MatchedCount, MatchedAmount: r.MatchedAmount,
		MissingAtCarrierCount: r.MissingAtCarrierCount, MissingAtCarrierAmount: r.MissingAtCarrierAmount,
		MissingAtGatewayCount: r.MissingAtGatewayCount, MissingAtGatewayAmount: r.MissingAtGatewayAmount,
		AmountMismatchCount: r.AmountMismatchCount, AmountMismatchAmount: r.AmountMismatchAmount,
		StatusMismatchCount: r.StatusMismatchCount, StatusMismatchAmount: r.StatusMismatchAmount,
		DuplicateCount: r.DuplicateCount, DuplicateAmount: r.DuplicateAmount,
		ResolvedCount: r.ResolvedCount, ResolvedAmount: r.ResolvedAmount,
		CreatedAt: r.CreatedAt.UTC().Truncate(time.Second),
	}
	if r.CompletedAt != nil {
		t := r.CompletedAt.UTC().Truncate(time.Second)
		v.CompletedAt = &t
	}
	return v
}

// DiscrepancyView is a discrepancy as the finance API shows it.
type DiscrepancyView struct {
	ID               string  `json:"id"`
	Object           string  `json:"object"`
	Settlement       string  `json:"settlement"`
	Kind             string  `json:"kind"`
	Type             string  `json:"type"` // charge or refund
	Charge           *string `json:"charge"`
	Refund           *string `json:"refund"`
	Merchant         *string `json:"merchant"`
	ClientReference  string  `json:"client_reference"`
	CarrierReference string  `json:"carrier_reference"`
	Currency         string  `json:"currency"`
	GatewayAmount    *int64  `json:"gateway_amount"`
	CarrierAmount    *int64  `json:"carrier_amount"`
	GatewayStatus    *string `json:"gateway_status"`
	CarrierStatus    *string `json:"carrier_status"`
	Line             *int64  `json:"line"`
	Detail           string  `json:"detail"`
}

// View is the discrepancy's API shape.
func (d *Discrepancy) View() DiscrepancyView {
	return DiscrepancyView{
		ID: discrepancyPrefix + strconv.FormatInt(d.Seq, 10), Object: "settlement_discrepancy", Settlement: d.RunID,
		Kind: d.Kind, Type: d.Object, Charge: d.ChargeID, Refund: d.RefundID, Merchant: d.MerchantID,
		ClientReference: d.ClientReference, CarrierReference: d.CarrierReference, Currency: d.Currency,
		GatewayAmount: d.GatewayAmount, CarrierAmount: d.CarrierAmount, GatewayStatus: d.GatewayStatus,
		CarrierStatus: d.CarrierStatus, Line: d.LineNo, Detail: d.Detail,
	}
}

// StatementView is a statement as the finance API shows it.
type StatementView struct {
	Object          string `json:"object"`
	Settlement      string `json:"settlement"`
	Merchant        string `json:"merchant"`
	Currency        string `json:"currency"`
	ChargesCount    int64  `json:"charges_count"`
	RefundsCount    int64  `json:"refunds_count"`
	Gross           int64  `json:"gross"`
	Refunds         int64  `json:"refunds"`
	CarrierFees     int64  `json:"carrier_fees"`
	GatewayFees     int64  `json:"gateway_fees"`
	Net             int64  `json:"net"`
	CashbackFunded  int64  `json:"cashback_funded"`
	CashbackApplied int64  `json:"cashback_applied"`
	CashbackExpired int64  `json:"cashback_expired"`
	CarrierShareBps int64  `json:"carrier_share_bps"`
	GatewayFeeBps   int64  `json:"gateway_fee_bps"`
}

// View is the statement's API shape.
func (st *Statement) View() StatementView {
	return StatementView{
		Object: "settlement_statement", Settlement: st.RunID, Merchant: st.MerchantID, Currency: st.Currency,
		ChargesCount: st.ChargesCount, RefundsCount: st.RefundsCount, Gross: st.Gross, Refunds: st.Refunds,
		CarrierFees: st.CarrierFees, GatewayFees: st.GatewayFees, Net: st.Net,
		CashbackFunded: st.CashbackFunded, CashbackApplied: st.CashbackApplied, CashbackExpired: st.CashbackExpired,
		CarrierShareBps: st.CarrierShareBps, GatewayFeeBps: st.GatewayFeeBps,
	}
}
