package sim

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the operators' zone must load on any machine
)

// The simulated operators deliver a settlement file per business day, as
// real carriers do each night: GET /sim/reports/{carrier}/{business_date}.
// A file lists what the carrier billed (charges) and paid back (refunds)
// during that day of its own calendar, Asia/Seoul, in the layout of the
// protocol the carrier speaks, from its own books. The report faults of
// PUT /sim/faults then drop rows, skew amounts and invent rows; each is
// decided per row by a hash of the simulator's seed and the row, so the
// same day's file is the same however often it is fetched.

// reportZone is the simulated operators' calendar.
var reportZone = mustZone("Asia/Seoul")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked in; this cannot fail
	}
	return loc
}

const kindSettlementReport = "settlement_report"

// ReportRow is one transaction of a settlement file.
type ReportRow struct {
	Refund           bool
	ClientReference  string // the gateway's id it was sent with
	CarrierReference string
	Amount           int64 // minor units
	Currency         string
	Failed           bool // listed but not billed / not paid back
	At               time.Time
}

// getReport is GET /sim/reports/{carrier}/{business_date}.
func (s *Simulator) getReport(w http.ResponseWriter, r *http.Request) {
	name, date := r.PathValue("carrier"), r.PathValue("business_date")
	day, err := time.ParseInLocation(time.DateOnly, date, reportZone)
	if err != nil {
		writeError(w, errInvalid("business_date must be YYYY-MM-DD"))
		return
	}
	from, to := day, day.AddDate(0, 0, 1)

	s.mu.Lock()
	c := s.carriers[name]
	if c == nil {
		s.mu.Unlock()
		writeError(w, errNotFound("no simulated carrier "+name))
		return
	}
	c.stats.Requests[kindSettlementReport]++
	if c.faults.Down {
		c.stats.Faults.DownRefusals++
		s.mu.Unlock()
		writeError(w, apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "Service unavailable."})
		return
	}
	protocol := s.protocols[name]
	if protocol == "" {
		protocol = c.protocol
	}
	if protocol == "" {
		s.mu.Unlock()
		writeError(w, errNotFound("carrier "+name+" has not been spoken to yet: its protocol, and so its file layout, is unknown"))
		return
	}
	if !s.now().After(to) {
		s.mu.Unlock()
		writeError(w, errNotFound("the settlement file of "+date+" is made once the day is over (Asia/Seoul)"))
		return
	}
	c.settleDue(s.now())
	rows := c.reportRows(from, to)
	rows = s.reportFaults(c, date, rows)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"-"+date+".csv"))
	_ = WriteReport(w, protocol, name, date, slices.Values(rows)) // the client may be gone
}

// reportRows lists c's billed charges and paid refunds in [from, to), in
// the order they happened. Callers hold s.mu.
func (c *carrierState) reportRows(from, to time.Time) []ReportRow {
	type seqRow struct {
		ReportRow
		seq int64
	}
	var rows []seqRow
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	for _, p := range c.payments {
		if p.status == paymentSucceeded && in(p.paidAt) {
			rows = append(rows, seqRow{ReportRow{ClientReference: cmp.Or(p.correlator, p.referenceCode), CarrierReference: p.id,
				Amount: p.amount, Currency: p.currency, At: p.paidAt}, p.seq})
		}
		for _, rf := range p.refunds {
			if rf.status == refundSucceeded && in(rf.doneAt) {
				rows = append(rows, seqRow{ReportRow{Refund: true, ClientReference: cmp.Or(rf.correlator, rf.referenceCode), CarrierReference: rf.id,
					Amount: rf.amount, Currency: rf.currency, At: rf.doneAt}, rf.seq})
			}
		}
	}
	slices.SortFunc(rows, func(a, b seqRow) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := make([]ReportRow, len(rows))
	for i := range rows {
		out[i] = rows[i].ReportRow
	}
	return out
}

// reportFaults applies the report faults to a day's rows. Callers hold s.mu.
func (s *Simulator) reportFaults(c *carrierState, date string, rows []ReportRow) []ReportRow {
	f := c.faults
	if f.ReportDropRate == 0 && f.ReportAmountSkewRate == 0 && f.ReportPhantomRate == 0 {
		return rows
	}
	out := make([]ReportRow, 0, len(rows))
	for _, row := range rows {
		key := c.name + "|" + date + "|" + row.CarrierReference
		if s.draw(key+"|drop") < f.ReportDropRate {
			c.stats.Faults.ReportRowsDropped++
		} else {
			if s.draw(key+"|skew") < f.ReportAmountSkewRate {
				// A tenth more, at least one unit: what a rating error looks like.
				row.Amount += max(1, row.Amount/10)
				c.stats.Faults.ReportAmountsSkewed++
			}
			out = append(out, row)
		}
		if s.draw(key+"|phantom") < f.ReportPhantomRate {
			h := s.hash(key + "|phantom-id")
			out = append(out, ReportRow{
				ClientReference:  fmt.Sprintf("ch_phantom%016x", h),
				CarrierReference: fmt.Sprintf("pay_phantom%016x", h),
				Amount:           row.Amount, Currency: row.Currency, At: row.At,
			})
			c.stats.Faults.ReportRowsInvented++
		}
	}
	return out
}

// hash mixes the simulator's seed into a row key.
func (s *Simulator) hash(key string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], s.seed)
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(key))
	return h.Sum64()
}

// draw is a number in [0, 1) fixed by the seed and key.
func (s *Simulator) draw(key string) float64 {
	return float64(s.hash(key)>>11) / (1 << 53)
}

// WriteReport writes rows as carrier's settlement file of businessDate
// (YYYY-MM-DD) in protocol's layout: camara, oneapi or tokenpay. Times are
// written in Asia/Seoul. The trailer counts the rows and sums their amounts.
func WriteReport(w io.Writer, protocol, carrier, businessDate string, rows func(yield func(ReportRow) bool)) error {
	day, err := time.Parse(time.DateOnly, businessDate)
	if err != nil {
		return fmt.Errorf("business date %q: %w", businessDate, err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var n, total int64
	var b []byte
	switch protocol {
	case "camara":
		fmt.Fprintf(bw, "CAMARA-SETTLEMENT,1,%s,%s\n", carrier, businessDate)
		bw.WriteString("paymentId,clientCorrelator,transactionType,amount,currency,status,billedAt\n")
		for r := range rows {
			typ, st := "payment", "succeeded"
			if r.Refund {
				typ = "refund"
			}
			if r.Failed {
				st = "failed"
			}
			b = append(b[:0], r.CarrierReference...)
			b = append(b, ',')
			b = append(b, r.ClientReference...)
			b = append(b, ',')
			b = append(b, typ...)
			b = append(b, ',')
			b = append(b, formatAmount(r.Amount, r.Currency)...)
			b = append(b, ',')
			b = append(b, r.Currency...)
			b = append(b, ',')
			b = append(b, st...)
			b = append(b, ',')
			b = r.At.In(reportZone).AppendFormat(b, time.RFC3339)
			b = append(b, '\n')
			bw.Write(b)
			n, total = n+1, total+r.Amount
		}
		fmt.Fprintf(bw, "END,%d,%d\n", n, total)
	case "oneapi":
		fmt.Fprintf(bw, "ONEAPI-PAYMENT-SETTLEMENT;v3;%s;%s\n", carrier, day.Format("20060102"))
		bw.WriteString("serverReferenceCode;clientCorrelator;operation;transactionOperationStatus;amount;currency;timestamp\n")
		for r := range rows {
			op, st := "CHARGE", "Charged"
			switch {
			case r.Refund && r.Failed:
				op, st = "REFUND", "Refused"
			case r.Refund:
				op, st = "REFUND", "Refunded"
			case r.Failed:
				st = "Denied"
			}
			amount := string(formatAmount(r.Amount, r.Currency))
			switch exponent(r.Currency) {
			case 0:
				amount += ".00"
			case 1:
				amount += "0"
			}
			b = append(b[:0], r.CarrierReference...)
			b = append(b, ';')
			b = append(b, r.ClientReference...)
			b = append(b, ';')
			b = append(b, op...)
			b = append(b, ';')
			b = append(b, st...)
			b = append(b, ';')
			b = append(b, amount...)
			b = append(b, ';')
			b = append(b, r.Currency...)
			b = append(b, ';')
			b = r.At.In(reportZone).AppendFormat(b, "2006-01-02 15:04:05")
			b = append(b, '\n')
			bw.Write(b)
			n, total = n+1, total+r.Amount
		}
		fmt.Fprintf(bw, "TRAILER;%d;%d\n", n, total)
	case "tokenpay":
		fmt.Fprintf(bw, "H|TOKENPAY-SETTLEMENT|%s|%s\n", carrier, day.Format("20060102"))
		bw.WriteString("reference|transaction_id|type|amount|currency|status|completed_at\n")
		for r := range rows {
			typ, st := "CHARGE", "SUCCEEDED"
			if r.Refund {
				typ = "REFUND"
			}
			if r.Failed {
				st = "FAILED"
			}
			b = append(b[:0], r.ClientReference...)
			b = append(b, '|')
			b = append(b, r.CarrierReference...)
			b = append(b, '|')
			b = append(b, typ...)
			b = append(b, '|')
			b = strconv.AppendInt(b, r.Amount, 10)
			b = append(b, '|')
			b = append(b, r.Currency...)
			b = append(b, '|')
			b = append(b, st...)
			b = append(b, '|')
			b = r.At.In(reportZone).AppendFormat(b, "20060102150405")
			b = append(b, '\n')
			bw.Write(b)
			n, total = n+1, total+r.Amount
		}
		fmt.Fprintf(bw, "T|%d|%d\n", n, total)
	default:
		return errors.New("no settlement layout for protocol " + strings.TrimSpace(protocol))
	}
	return bw.Flush()
}
