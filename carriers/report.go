package carriers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // carriers' zones (Asia/Seoul) must load on a machine without zoneinfo
)

// ReportSource is implemented by carriers that deliver a daily settlement
// file: what the carrier put on its subscribers' bills for one business day
// of its own calendar. Fetching goes to the carrier; parsing is local and
// streams, so a file of millions of lines is read in bounded memory.
type ReportSource interface {
	// FetchReport downloads the settlement file of businessDate
	// (YYYY-MM-DD). ErrReportNotFound: the carrier has no file for that day
	// (yet). The caller closes the body.
	FetchReport(ctx context.Context, businessDate string) (io.ReadCloser, error)
	// ParseReport reads a file in this carrier's layout. The reader checks
	// that the file is this carrier's, for businessDate, and whole (its
	// trailer counts the lines) before it answers io.EOF.
	ParseReport(r io.Reader, businessDate string) ReportReader
}

// ReportReader streams the lines of a settlement file.
type ReportReader interface {
	// Next returns the next line. After the last one it returns io.EOF,
	// and only once the trailer has confirmed the file is complete. Any
	// other error rejects the file as a whole: a *ReportError (matching
	// ErrBadReport) for content, or the underlying read error.
	Next() (ReportLine, error)
}

// ReportKind says what a settlement line is about.
type ReportKind string

const (
	ReportCharge ReportKind = "charge"
	ReportRefund ReportKind = "refund"
)

// ReportStatus is the carrier's verdict on a line, normalised from its own words.
type ReportStatus string

const (
	// ReportSucceeded: billed (a charge) or paid back (a refund).
	ReportSucceeded ReportStatus = "succeeded"
	// ReportFailed: listed, but not billed or not paid back (declined,
	// cancelled, reversed).
	ReportFailed ReportStatus = "failed"
)

// ReportLine is one transaction in a carrier's settlement file. Amounts are
// integer minor units, whatever form the file writes them in.
type ReportLine struct {
	LineNo           int // 1-based line of the file, for messages
	Kind             ReportKind
	ClientReference  string // the gateway's id (ch_…, re_…), as sent to the carrier
	CarrierReference string // the carrier's own id
	Amount           int64
	Currency         string
	Status           ReportStatus
	BilledAt         time.Time
}

var (
	// ErrBadReport: a settlement file is not what its carrier's layout
	// says a file must be; the whole file is refused.
	ErrBadReport = errors.New("bad settlement file")
	// ErrReportNotFound: the carrier has no settlement file for that day.
	ErrReportNotFound = errors.New("no settlement file for that day")
)

// ReportError locates what is wrong in a settlement file.
type ReportError struct {
	Line   int    // 1-based; 0 when the problem is the file as a whole
	Column string // the column's name in the layout, when one column is at fault
	Msg    string
}

func (e *ReportError) Error() string {
	switch {
	case e.Line > 0 && e.Column != "":
		return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Is makes every ReportError match ErrBadReport.
func (e *ReportError) Is(target error) bool { return target == ErrBadReport }

// ReportLayout describes one carrier protocol's settlement CSV. Every layout
// has the same skeleton, which ParseReport checks: a first record that names
// the layout, the carrier and the business day; a record of column names;
// the data records; a trailer whose first field is TrailerTag and which
// counts the data records and sums their amounts, so a truncated file is
// told from a short day. The trailer is the same in every layout:
// TAG,RECORDS,TOTAL (with the layout's separator), the total in minor units.
// What differs (separator, column names and order, header line, date and
// amount forms, status words) is the adapter's.
type ReportLayout struct {
	Name       string // for messages: "CAMARA settlement"
	Comma      rune
	Columns    []string
	TrailerTag string
	// Header reads the first record: the carrier and business day it
	// claims, or an error saying it is not this layout at all.
	Header func(rec []string) (carrier, businessDate string, err error)
	// Row reads one data record of len(Columns) fields. A *ReportError
	// without a line is located by the caller.
	Row func(rec []string) (ReportLine, error)
}

// trailer reads the trailer record: how many data records and the sum of
// their amounts in minor units.
func (l ReportLayout) trailer(rec []string) (count, total int64, err error) {
	if len(rec) != 3 {
		return 0, 0, fmt.Errorf("want %s%cRECORDS%cTOTAL", l.TrailerTag, l.Comma, l.Comma)
	}
	count, err = ParseMinor(rec[1])
	if err != nil {
		return 0, 0, fmt.Errorf("record count: %w", err)
	}
	total, err = ParseMinor(rec[2])
	if err != nil {
		return 0, 0, fmt.Errorf("total: %w", err)
	}
	return count, total, nil
}

// ParseReport streams a settlement file of layout l, which must be carrier's
// file for businessDate.
func (l ReportLayout) ParseReport(r io.Reader, carrier, businessDate string) ReportReader {
	cr := csv.NewReader(r)
	cr.Comma = l.Comma
	cr.FieldsPerRecord = -1 // header, columns, rows and trailer differ; checked here
	cr.ReuseRecord = true   // one allocation per line, not per field
	return &layoutReader{l: l, cr: cr, carrier: carrier, date: businessDate}
}

type layoutReader struct {
	l       ReportLayout
	cr      *csv.Reader
	carrier string
	date    string

	state int // 0 header, 1 columns, 2 rows, 3 done
	count int64
	total int64
	err   error
}

func (p *layoutReader) Next() (ReportLine, error) {
	if p.err != nil {
		return ReportLine{}, p.err
	}
	line, err := p.next()
	if err != nil {
		p.err = err
	}
	return line, err
}

func (p *layoutReader) bad(line int, column, format string, args ...any) error {
	return &ReportError{Line: line, Column: column, Msg: fmt.Sprintf(format, args...)}
}

func (p *layoutReader) next() (ReportLine, error) {
	for {
		if p.state == 3 {
			return ReportLine{}, io.EOF
		}
		rec, err := p.cr.Read()
		lineNo := 0
		if err == nil {
			lineNo, _ = p.cr.FieldPos(0)
		}
		if errors.Is(err, io.EOF) {
			switch p.state {
			case 0:
				return ReportLine{}, &ReportError{Msg: "the file is empty: no " + p.l.Name + " header"}
			case 1:
				return ReportLine{}, &ReportError{Msg: "the file ends after its header: no column names (truncated?)"}
			}
			return ReportLine{}, &ReportError{Msg: fmt.Sprintf("the file ends after %d records without its %s trailer (truncated?)", p.count, p.l.TrailerTag)}
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return ReportLine{}, &ReportError{Line: pe.Line, Msg: "not valid CSV: " + pe.Err.Error()}
		}
		if err != nil {
			return ReportLine{}, fmt.Errorf("read settlement file: %w", err)
		}
		switch p.state {
		case 0:
			carrier, date, err := p.l.Header(rec)
			if err != nil {
				return ReportLine{}, p.bad(lineNo, "", "not a %s file: %v", p.l.Name, err)
			}
			if carrier != p.carrier {
				return ReportLine{}, p.bad(lineNo, "", "this is carrier %q's settlement file, not %q's", carrier, p.carrier)
			}
			if date != p.date {
				return ReportLine{}, p.bad(lineNo, "", "this is the settlement file of %s, not of %s", date, p.date)
			}
			p.state = 1
		case 1:
			if !equalFold(rec, p.l.Columns) {
				return ReportLine{}, p.bad(lineNo, "", "the columns are %q, want %q", strings.Join(rec, string(p.l.Comma)), strings.Join(p.l.Columns, string(p.l.Comma)))
			}
			p.state = 2
		case 2:
			if len(rec) > 0 && rec[0] == p.l.TrailerTag {
				count, total, err := p.l.trailer(rec)
				if err != nil {
					return ReportLine{}, p.bad(lineNo, "", "trailer: %v", err)
				}
				if count != p.count {
					return ReportLine{}, p.bad(lineNo, "", "the trailer counts %d records, the file has %d (truncated or altered)", count, p.count)
				}
				if total != p.total {
					return ReportLine{}, p.bad(lineNo, "", "the trailer sums the amounts to %d, the records to %d (altered)", total, p.total)
				}
				// Nothing may follow the trailer; a non-empty record after
				// it means two files were joined or the trailer is misplaced.
				if extra, err := p.cr.Read(); err == nil {
					n, _ := p.cr.FieldPos(0)
					return ReportLine{}, p.bad(n, "", "a record %q follows the trailer", strings.Join(extra, string(p.l.Comma)))
				} else if !errors.Is(err, io.EOF) {
					return ReportLine{}, fmt.Errorf("read settlement file: %w", err)
				}
				p.state = 3
				continue
			}
			if len(rec) != len(p.l.Columns) {
				return ReportLine{}, p.bad(lineNo, "", "%d fields, want %d (%s)", len(rec), len(p.l.Columns), strings.Join(p.l.Columns, string(p.l.Comma)))
			}
			line, err := p.l.Row(rec)
			if err != nil {
				var re *ReportError
				if errors.As(err, &re) {
					re.Line = lineNo
					return ReportLine{}, re
				}
				return ReportLine{}, p.bad(lineNo, "", "%v", err)
			}
			if line.Amount <= 0 {
				return ReportLine{}, p.bad(lineNo, "amount", "must be positive")
			}
			p.count++
			p.total += line.Amount
			line.LineNo = lineNo
			return line, nil
		}
	}
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(strings.TrimSpace(a[i]), b[i]) {
			return false
		}
	}
	return true
}

// ColumnError is a ReportError about one column of the current line.
func ColumnError(column, format string, args ...any) error {
	return &ReportError{Column: column, Msg: fmt.Sprintf(format, args...)}
}

// ReportFiles is one carrier connection's ReportSource: its settlement
// files fetched from Settings.ReportURL and read with its protocol's layout
// in the zone the carrier writes dates in. An adapter embeds it, so what is
// the protocol's own is only its layout.
type ReportFiles struct {
	carrier string
	url     string // a template with {date}
	layout  ReportLayout
}

// NewReportFiles reads the settlement-file settings of s; layout is the
// protocol's layout for the carrier's time zone (ReportLocation).
func NewReportFiles(s Settings, layout func(loc *time.Location) ReportLayout) (ReportFiles, error) {
	loc, err := ReportLocation(s.Options)
	if err != nil {
		return ReportFiles{}, err
	}
	return ReportFiles{carrier: s.Name, url: s.ReportURL, layout: layout(loc)}, nil
}

// FetchReport downloads the carrier's settlement file of businessDate.
func (f ReportFiles) FetchReport(ctx context.Context, businessDate string) (io.ReadCloser, error) {
	return FetchReport(ctx, f.url, businessDate, nil)
}

// ParseReport streams a settlement file, which must be this carrier's for
// businessDate.
func (f ReportFiles) ParseReport(r io.Reader, businessDate string) ReportReader {
	return f.layout.ParseReport(r, f.carrier, businessDate)
}

// CompactBusinessDay reads a header's business day written YYYYMMDD as
// YYYY-MM-DD.
func CompactBusinessDay(s string) (string, error) {
	d, err := time.Parse("20060102", s)
	if err != nil {
		return "", fmt.Errorf("business day %q is not YYYYMMDD", s)
	}
	return d.Format(time.DateOnly), nil
}

// ReportLocation is the time zone a carrier writes its settlement dates in:
// Options["report_time_zone"], Asia/Seoul by default.
func ReportLocation(opts map[string]string) (*time.Location, error) {
	name := opts["report_time_zone"]
	if name == "" {
		name = "Asia/Seoul"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("report_time_zone %q: %w", name, err)
	}
	return loc, nil
}

// reportHTTP fetches settlement files. It has no overall timeout of its own
// (a day's file may be large; the caller's context bounds it) and, like
// every carrier call, takes a redirect as the answer.
var reportHTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// FetchReport GETs a settlement file from url, whose {date} is replaced by
// businessDate. header may add the carrier's credentials.
func FetchReport(ctx context.Context, urlTemplate, businessDate string, header http.Header) (io.ReadCloser, error) {
	if urlTemplate == "" {
		return nil, fmt.Errorf("settlement files: no report_url configured: %w", ErrUnsupported)
	}
	u := strings.ReplaceAll(urlTemplate, "{date}", businessDate)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("settlement file request: %w", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "text/csv")
	res, err := reportHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch settlement file of %s: %w: %w", businessDate, ErrUnavailable, err)
	}
	switch {
	case res.StatusCode == http.StatusOK:
		return res.Body, nil
	case res.StatusCode == http.StatusNotFound:
		res.Body.Close()
		return nil, fmt.Errorf("fetch settlement file of %s: %w", businessDate, ErrReportNotFound)
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		res.Body.Close()
		return nil, fmt.Errorf("fetch settlement file of %s: HTTP %d: %w", businessDate, res.StatusCode, ErrUnavailable)
	default:
		res.Body.Close()
		return nil, fmt.Errorf("fetch settlement file of %s: HTTP %d: %w", businessDate, res.StatusCode, ErrInvalidRequest)
	}
}

// ParseDecimal reads an unsigned decimal in major units ("5000", "19.99",
// "5000.00") exactly into minor units of a currency with exp decimals. It
// never goes through float64. Trailing fraction digits beyond exp are
// allowed only when they are zeros ("5000.00" KRW is 5000): anything else
// would be a fraction of the smallest unit, which no one can bill.
func ParseDecimal(s string, exp int) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if !allDigits(whole) || (dot && !allDigits(frac)) {
		return 0, fmt.Errorf("%q is not a decimal number of the form 1234 or 1234.56", s)
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("%q has more decimals than the currency's %d", s, exp)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	return ParseMinor(whole + frac)
}

// ParseMinor reads an unsigned integer count of minor units ("5000").
func ParseMinor(s string) (int64, error) {
	if !allDigits(s) {
		return 0, fmt.Errorf("%q is not a whole number of minor units", s)
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return 0, nil
	}
	if len(s) > 18 { // 10^18 > any amount, and < MaxInt64: no overflow below
		return 0, fmt.Errorf("%q is out of range", s)
	}
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*10 + int64(s[i]-'0')
	}
	return v, nil
}

// FormatDecimal writes minor units as major units with exactly decimals
// digits after the point (decimals >= exp): 500000 KRW (exp 0) with 2 is
// "500000.00", 1999 USD (exp 2) with 2 is "19.99".
func FormatDecimal(minor int64, exp, decimals int) string {
	digits := fmt.Sprintf("%0*d", exp+1, minor)
	out := digits[:len(digits)-exp]
	if decimals > 0 {
		out += "." + digits[len(digits)-exp:] + strings.Repeat("0", decimals-exp)
	}
	return out
}
