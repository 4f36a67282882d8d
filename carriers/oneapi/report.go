package oneapi

import (
	"fmt"
	"time"

	"tollgate/carriers"
	"tollgate/money"
)

var _ carriers.ReportSource = (*Client)(nil)

// The settlement file of a OneAPI hub: semicolon-separated, a header with
// the day as YYYYMMDD, OneAPI's field names, amounts in major units always
// written with (at least) two decimals ("5000.00" KRW, "19.99" USD), local
// times of the operator's zone without an offset, and a trailer that counts
// the records and sums their amounts in minor units:
//
//	ONEAPI-PAYMENT-SETTLEMENT;v3;kt;20261124
//	serverReferenceCode;clientCorrelator;operation;transactionOperationStatus;amount;currency;timestamp
//	txn_3f…;ch_9a…;CHARGE;Charged;5000.00;KRW;2026-11-24 10:15:00
//	rtx_81…;re_c2…;REFUND;Refunded;2000.00;KRW;2026-11-24 11:02:09
//	TRAILER;2;7000
//
// A charge that was not billed reads Denied; a refund not paid back, Refused.
const (
	reportTag     = "ONEAPI-PAYMENT-SETTLEMENT"
	reportVersion = "v3"
	reportTrailer = "TRAILER"
	reportTime    = "2006-01-02 15:04:05"
)

var reportColumns = []string{"serverReferenceCode", "clientCorrelator", "operation", "transactionOperationStatus", "amount", "currency", "timestamp"}

// reportLayout is the layout of a carrier writing local times in loc.
func reportLayout(loc *time.Location) carriers.ReportLayout {
	return carriers.ReportLayout{
		Name:       "OneAPI settlement",
		Comma:      ';',
		Columns:    reportColumns,
		TrailerTag: reportTrailer,
		Header: func(rec []string) (string, string, error) {
			if len(rec) != 4 || rec[0] != reportTag {
				return "", "", fmt.Errorf("the first line must be %s;%s;CARRIER;YYYYMMDD (another carrier's file?)", reportTag, reportVersion)
			}
			if rec[1] != reportVersion {
				return "", "", fmt.Errorf("layout version %q, want %s", rec[1], reportVersion)
			}
			day, err := carriers.CompactBusinessDay(rec[3])
			return rec[2], day, err
		},
		Row: func(rec []string) (carriers.ReportLine, error) { return parseReportRow(rec, loc) },
	}
}

func parseReportRow(rec []string, loc *time.Location) (carriers.ReportLine, error) {
	l := carriers.ReportLine{CarrierReference: rec[0], ClientReference: rec[1], Currency: rec[5]}
	if l.CarrierReference == "" {
		return l, carriers.ColumnError("serverReferenceCode", "is empty")
	}
	switch op, st := rec[2], rec[3]; {
	case op == "CHARGE" && st == "Charged":
		l.Kind, l.Status = carriers.ReportCharge, carriers.ReportSucceeded
	case op == "CHARGE" && st == "Denied":
		l.Kind, l.Status = carriers.ReportCharge, carriers.ReportFailed
	case op == "REFUND" && st == "Refunded":
		l.Kind, l.Status = carriers.ReportRefund, carriers.ReportSucceeded
	case op == "REFUND" && st == "Refused":
		l.Kind, l.Status = carriers.ReportRefund, carriers.ReportFailed
	case op != "CHARGE" && op != "REFUND":
		return l, carriers.ColumnError("operation", "%q is neither CHARGE nor REFUND", op)
	default:
		return l, carriers.ColumnError("transactionOperationStatus", "%q is not a status of a %s (Charged/Denied, Refunded/Refused)", st, op)
	}
	cur, ok := money.Lookup(l.Currency)
	if !ok {
		return l, carriers.ColumnError("currency", "%q is not an ISO 4217 code in use", l.Currency)
	}
	amount, err := carriers.ParseDecimal(rec[4], cur.Exponent)
	if err != nil {
		return l, carriers.ColumnError("amount", "%v", err)
	}
	l.Amount = amount
	at, err := time.ParseInLocation(reportTime, rec[6], loc)
	if err != nil {
		return l, carriers.ColumnError("timestamp", "%q is not a local time such as 2026-11-24 10:15:00", rec[6])
	}
	l.BilledAt = at
	return l, nil
}
