package tokenpay

import (
	"fmt"
	"time"

	"tollgate/carriers"
	"tollgate/money"
)

var _ carriers.ReportSource = (*Client)(nil)

// The settlement file of a token-API carrier: pipe-separated, a header
// record H with the day as YYYYMMDD, snake_case column names, amounts as
// integer minor units (as everywhere on this API), completion times as
// yyyyMMddHHmmss in the carrier's zone, and a trailer record T that counts
// the records and sums their amounts:
//
//	H|TOKENPAY-SETTLEMENT|lgu|20261124
//	reference|transaction_id|type|amount|currency|status|completed_at
//	ch_9a…|chg_3f…|CHARGE|5000|KRW|SUCCEEDED|20261124101500
//	re_c2…|rfd_81…|REFUND|2000|KRW|SUCCEEDED|20261124110209
//	T|2|7000
//
// status is SUCCEEDED or FAILED.
const (
	reportHeader  = "H"
	reportTag     = "TOKENPAY-SETTLEMENT"
	reportTrailer = "T"
	reportTime    = "20060102150405"
)

var reportColumns = []string{"reference", "transaction_id", "type", "amount", "currency", "status", "completed_at"}

// reportLayout is the layout of a carrier writing local times in loc.
func reportLayout(loc *time.Location) carriers.ReportLayout {
	return carriers.ReportLayout{
		Name:       "token-API settlement",
		Comma:      '|',
		Columns:    reportColumns,
		TrailerTag: reportTrailer,
		Header: func(rec []string) (string, string, error) {
			if len(rec) != 4 || rec[0] != reportHeader || rec[1] != reportTag {
				return "", "", fmt.Errorf("the first line must be H|%s|CARRIER|YYYYMMDD (another carrier's file?)", reportTag)
			}
			day, err := carriers.CompactBusinessDay(rec[3])
			return rec[2], day, err
		},
		Row: func(rec []string) (carriers.ReportLine, error) { return parseReportRow(rec, loc) },
	}
}

func parseReportRow(rec []string, loc *time.Location) (carriers.ReportLine, error) {
	l := carriers.ReportLine{ClientReference: rec[0], CarrierReference: rec[1], Currency: rec[4]}
	if l.CarrierReference == "" {
		return l, carriers.ColumnError("transaction_id", "is empty")
	}
	switch rec[2] {
	case "CHARGE":
		l.Kind = carriers.ReportCharge
	case "REFUND":
		l.Kind = carriers.ReportRefund
	default:
		return l, carriers.ColumnError("type", "%q is neither CHARGE nor REFUND", rec[2])
	}
	if _, ok := money.Lookup(l.Currency); !ok {
		return l, carriers.ColumnError("currency", "%q is not an ISO 4217 code in use", l.Currency)
	}
	amount, err := carriers.ParseMinor(rec[3])
	if err != nil {
		return l, carriers.ColumnError("amount", "%v", err)
	}
	l.Amount = amount
	switch rec[5] {
	case "SUCCEEDED":
		l.Status = carriers.ReportSucceeded
	case "FAILED":
		l.Status = carriers.ReportFailed
	default:
		return l, carriers.ColumnError("status", "%q is neither SUCCEEDED nor FAILED", rec[5])
	}
	at, err := time.ParseInLocation(reportTime, rec[6], loc)
	if err != nil {
		return l, carriers.ColumnError("completed_at", "%q is not yyyyMMddHHmmss", rec[6])
	}
	l.BilledAt = at
	return l, nil
}
