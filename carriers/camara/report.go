package camara

import (
	"fmt"
	"time"

	"tollgate/carriers"
	"tollgate/money"
)

var _ carriers.ReportSource = (*Client)(nil)

// The settlement file of a CAMARA operator: comma-separated, a header that
// names the layout, the carrier and the day, CAMARA's own field names,
// amounts as decimals in major units with the currency's decimals ("5000"
// KRW, "19.99" USD), times in RFC 3339 with the operator's offset, and a
// trailer that counts the records and sums their amounts in minor units:
//
//	CAMARA-SETTLEMENT,1,skt,2026-11-24
//	paymentId,clientCorrelator,transactionType,amount,currency,status,billedAt
//	pay_3f…,ch_9a…,payment,5000,KRW,succeeded,2026-11-24T10:15:00+09:00
//	ref_81…,re_c2…,refund,2000,KRW,succeeded,2026-11-24T11:02:09+09:00
//	END,2,7000
//
// status is succeeded, or failed / cancelled / denied for a listed
// transaction the operator did not bill or pay back.
const (
	reportTag     = "CAMARA-SETTLEMENT"
	reportVersion = "1"
	reportTrailer = "END"
)

var reportColumns = []string{"paymentId", "clientCorrelator", "transactionType", "amount", "currency", "status", "billedAt"}

// reportLayout ignores the carrier's zone: CAMARA times carry their offset.
func reportLayout(*time.Location) carriers.ReportLayout { return layout }

var layout = carriers.ReportLayout{
	Name:       "CAMARA settlement",
	Comma:      ',',
	Columns:    reportColumns,
	TrailerTag: reportTrailer,
	Header: func(rec []string) (string, string, error) {
		if len(rec) != 4 || rec[0] != reportTag {
			return "", "", fmt.Errorf("the first line must be %s,%s,CARRIER,YYYY-MM-DD (another carrier's file?)", reportTag, reportVersion)
		}
		if rec[1] != reportVersion {
			return "", "", fmt.Errorf("layout version %q, want %s", rec[1], reportVersion)
		}
		if _, err := time.Parse(time.DateOnly, rec[3]); err != nil {
			return "", "", fmt.Errorf("business day %q is not YYYY-MM-DD", rec[3])
		}
		return rec[2], rec[3], nil
	},
	Row: parseReportRow,
}

func parseReportRow(rec []string) (carriers.ReportLine, error) {
	l := carriers.ReportLine{CarrierReference: rec[0], ClientReference: rec[1], Currency: rec[4]}
	if l.CarrierReference == "" {
		return l, carriers.ColumnError("paymentId", "is empty")
	}
	switch rec[2] {
	case "payment":
		l.Kind = carriers.ReportCharge
	case "refund":
		l.Kind = carriers.ReportRefund
	default:
		return l, carriers.ColumnError("transactionType", "%q is neither payment nor refund", rec[2])
	}
	cur, ok := money.Lookup(l.Currency)
	if !ok {
		return l, carriers.ColumnError("currency", "%q is not an ISO 4217 code in use", l.Currency)
	}
	amount, err := carriers.ParseDecimal(rec[3], cur.Exponent)
	if err != nil {
		return l, carriers.ColumnError("amount", "%v", err)
	}
	l.Amount = amount
	switch rec[5] {
	case "succeeded":
		l.Status = carriers.ReportSucceeded
	case "failed", "cancelled", "denied":
		l.Status = carriers.ReportFailed
	default:
		return l, carriers.ColumnError("status", "%q is not succeeded, failed, cancelled or denied", rec[5])
	}
	at, err := time.Parse(time.RFC3339, rec[6])
	if err != nil {
		return l, carriers.ColumnError("billedAt", "%q is not an RFC 3339 time such as 2026-11-24T10:15:00+09:00", rec[6])
	}
	l.BilledAt = at
	return l, nil
}
