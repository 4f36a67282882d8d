package settlement

import (
	"encoding/csv"
	"strconv"
	"time"
)

// CSV columns are the JSON fields' names, in the same order, so a sheet
// and the API read alike. Empty cells stand for null.

var runHeader = []string{"id", "carrier", "business_date", "time_zone", "status", "source", "rerun", "supersedes", "superseded_by",
	"failure_message", "lines_read", "matched_count", "matched_amount", "missing_at_carrier_count", "missing_at_carrier_amount",
	"missing_at_gateway_count", "missing_at_gateway_amount", "amount_mismatch_count", "amount_mismatch_amount",
	"status_mismatch_count", "status_mismatch_amount", "duplicate_count", "duplicate_amount", "resolved_count", "resolved_amount",
	"created_at", "completed_at"}

func writeRunCSV(w *csv.Writer, r *Run) {
	v := r.View()
	i := strconv.FormatInt
	completed := ""
	if v.CompletedAt != nil {
		completed = v.CompletedAt.Format(time.RFC3339)
	}
	_ = w.Write(runHeader)
	_ = w.Write([]string{v.ID, v.Carrier, v.BusinessDate, v.TimeZone, string(v.Status), v.Source, strconv.FormatBool(v.Rerun),
		str(v.Supersedes), str(v.SupersededBy), str(v.FailureMessage), i(v.LinesRead, 10),
		i(v.MatchedCount, 10), i(v.MatchedAmount, 10), i(v.MissingAtCarrierCount, 10), i(v.MissingAtCarrierAmount, 10),
		i(v.MissingAtGatewayCount, 10), i(v.MissingAtGatewayAmount, 10), i(v.AmountMismatchCount, 10), i(v.AmountMismatchAmount, 10),
		i(v.StatusMismatchCount, 10), i(v.StatusMismatchAmount, 10), i(v.DuplicateCount, 10), i(v.DuplicateAmount, 10),
		i(v.ResolvedCount, 10), i(v.ResolvedAmount, 10), v.CreatedAt.Format(time.RFC3339), completed})
}

var discrepancyHeader = []string{"id", "settlement", "kind", "type", "charge", "refund", "merchant", "client_reference", "carrier_reference",
	"currency", "gateway_amount", "carrier_amount", "gateway_status", "carrier_status", "line", "detail"}

func discrepancyRecord(v DiscrepancyView) []string {
	return []string{v.ID, v.Settlement, v.Kind, v.Type, str(v.Charge), str(v.Refund), str(v.Merchant), v.ClientReference, v.CarrierReference,
		v.Currency, num(v.GatewayAmount), num(v.CarrierAmount), str(v.GatewayStatus), str(v.CarrierStatus), num(v.Line), v.Detail}
}

var statementHeader = []string{"settlement", "merchant", "currency", "charges_count", "refunds_count", "gross", "refunds",
	"carrier_fees", "gateway_fees", "net", "carrier_share_bps", "gateway_fee_bps", "cashback_funded", "cashback_applied", "cashback_expired"}

func statementRecord(v StatementView) []string {
	i := strconv.FormatInt
	return []string{v.Settlement, v.Merchant, v.Currency, i(v.ChargesCount, 10), i(v.RefundsCount, 10), i(v.Gross, 10), i(v.Refunds, 10),
		i(v.CarrierFees, 10), i(v.GatewayFees, 10), i(v.Net, 10), i(v.CarrierShareBps, 10), i(v.GatewayFeeBps, 10),
		i(v.CashbackFunded, 10), i(v.CashbackApplied, 10), i(v.CashbackExpired, 10)}
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func num(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}
