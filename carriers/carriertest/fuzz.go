package carriertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/money"
)

// Fuzz targets every adapter shares: what a carrier answers and what its
// settlement files say is outside input, so each adapter's parsers are
// fuzzed (go test -fuzz) with properties, not only "no panic".

// fuzzMSISDN is the subscriber every fuzzed call is about; no error may
// carry it in clear, whatever the carrier echoes back.
const fuzzMSISDN = "+821012345678"

// vocabulary is the carrier boundary's fixed set of errors (STYLE.md 5).
var vocabulary = []error{
	carriers.ErrNotSent, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, carriers.ErrRateLimited,
	carriers.ErrInvalidRequest, carriers.ErrNotFound, carriers.ErrWrongCode, carriers.ErrUnsupported,
}

// inVocabulary reports whether err wraps one of the boundary's errors.
func inVocabulary(err error) bool {
	for _, v := range vocabulary {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
}

// cannedAnswer is an http.RoundTripper that answers every request with one
// status and body, without any network.
type cannedAnswer struct {
	status int
	body   []byte
}

func (c cannedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: c.status, Status: fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r,
	}, nil
}

// neverTrips is a breaker that lets every fuzzed call through.
var neverTrips = carriers.BreakerSettings{OpenFor: time.Hour, ConsecutiveFailures: 1 << 31, FailureRatio: 2, MinRequests: 1 << 31, Window: time.Hour}

// FuzzAnswers fuzzes an adapter's decoding of its carrier's answers, behind
// the breaker decorator every adapter runs behind in production: every
// operation the adapter has (charge, status of a charge and of a refund,
// refund, authorize/verify for an Authorizer, a text for an SMSSender) is made against a carrier
// that answers the fuzzed status and body. Whatever it answers, the adapter
// returns a result with a known outcome (a decline with its failure code),
// or an error of the boundary's vocabulary that does not carry the
// subscriber's number. build makes the adapter over the given HTTP client;
// seeds are answer bodies in the protocol's own shape.
func FuzzAnswers(f *testing.F, seeds []string, build func(hc *http.Client) carriers.Carrier) {
	f.Helper()
	for _, s := range seeds {
		for _, st := range []uint16{200, 201, 400, 404, 409, 422, 429, 500, 503} {
			for op := range uint8(7) {
				f.Add(op, st, []byte(s))
			}
		}
	}
	f.Fuzz(func(t *testing.T, op uint8, status uint16, body []byte) {
		st := int(status)
		if st < 100 || st > 599 {
			st = 200 + st%400
		}
		c := carriers.Guard(build(&http.Client{Transport: cannedAnswer{status: st, body: body}, Timeout: 5 * time.Second}), neverTrips)
		ctx := context.Background()
		var (
			res carriers.Result
			err error
			who string
		)
		switch op % 7 {
		case 0:
			who = "charge"
			res, err = c.Charge(ctx, carriers.ChargeRequest{Reference: "ch_fuzz", MSISDN: fuzzMSISDN, Amount: 5000, Currency: "KRW",
				Description: "500 gems", Merchant: "mer_fuzz", SinkToken: "sink-token-ch_fuzz-0123456789", CallbackURL: "http://127.0.0.1:1/cb"})
		case 1:
			who = "status of a charge"
			res, err = c.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_fuzz", CarrierReference: "pay_fuzz", MSISDN: fuzzMSISDN})
		case 2:
			who = "status of a refund"
			res, err = c.Status(ctx, carriers.Reference{Kind: "refund", ClientReference: "re_fuzz", CarrierReference: "rf_fuzz", ChargeReference: "pay_fuzz", MSISDN: fuzzMSISDN})
		case 3:
			who = "refund"
			res, err = c.Refund(ctx, carriers.RefundRequest{Reference: "re_fuzz", ChargeReference: "ch_fuzz", CarrierReference: "pay_fuzz",
				MSISDN: fuzzMSISDN, Amount: 2000, Currency: "KRW", Reason: "fuzz"})
		case 4, 5:
			a, ok := c.(carriers.Authorizer)
			if !ok {
				return
			}
			var auth carriers.Authorization
			if op%7 == 4 {
				who = "authorize"
				auth, err = a.Authorize(ctx, carriers.AuthorizeRequest{Reference: "ch_fuzz", MSISDN: fuzzMSISDN, Amount: 5000, Currency: "KRW",
					Description: "500 gems", Merchant: "mer_fuzz", SinkToken: "sink-token-ch_fuzz-0123456789"})
			} else {
				who = "verify"
				auth, err = a.Verify(ctx, carriers.VerifyRequest{AuthorizationID: "auth_fuzz", Reference: "ch_fuzz", Code: "123456"})
			}
			if err == nil && auth.ID == "" && auth.Token == "" {
				t.Fatalf("%s: answered %d %q: an authorization with neither id nor token", who, st, body)
			}
			checkAnswerError(t, who, st, body, err)
			return
		case 6:
			sms, ok := c.(carriers.SMSSender)
			if !ok {
				return
			}
			err = sms.SendSMS(ctx, carriers.SMS{Reference: "ch_fuzz", MSISDN: fuzzMSISDN, Body: "[tollgate] 123456 is your code"})
			checkAnswerError(t, "sms", st, body, err)
			return
		}
		if err == nil {
			switch res.Outcome {
			case carriers.OutcomeSucceeded, carriers.OutcomePending:
			case carriers.OutcomeDeclined:
				if res.FailureCode == "" {
					t.Fatalf("%s: answered %d %q: a decline without a failure code: %+v", who, st, body, res)
				}
			default:
				t.Fatalf("%s: answered %d %q: outcome %q is not one of the vocabulary", who, st, body, res.Outcome)
			}
			if strings.Contains(res.Message+res.DeclineCode, fuzzMSISDN[3:]) {
				t.Fatalf("%s: the result's message or decline code carries the subscriber's number: %+v", who, res)
			}
			return
		}
		checkAnswerError(t, who, st, body, err)
	})
}

func checkAnswerError(t *testing.T, who string, status int, body []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var d interface{ DeclineResult() carriers.Result }
	if errors.As(err, &d) {
		// A decline where the interface has no Result (an authorization refused).
		res := d.DeclineResult()
		if res.Outcome != carriers.OutcomeDeclined || res.FailureCode == "" || strings.Contains(res.Message+res.DeclineCode, fuzzMSISDN[3:]) {
			t.Fatalf("%s: answered %d %q: decline %+v", who, status, body, res)
		}
	} else if !inVocabulary(err) {
		t.Fatalf("%s: answered %d %q: error %q is outside the carrier boundary's vocabulary", who, status, body, err)
	}
	if strings.Contains(err.Error(), fuzzMSISDN[3:]) {
		t.Fatalf("%s: answered %d %q: the error carries the subscriber's number in clear: %q", who, status, body, err)
	}
}

// FuzzReport fuzzes an adapter's settlement-file parser, seeded with its
// golden file (and others, e.g. another layout's): every line it returns is
// a whole record (a charge or refund, a known status, an ISO currency, a
// non-negative amount, a time, line numbers going up), and whatever else it
// returns is a named error: ErrBadReport (a *ReportError). The file is read
// from memory, so no read error can excuse anything else.
func FuzzReport(f *testing.F, files []string, parse func(r io.Reader, businessDate string) carriers.ReportReader) {
	f.Helper()
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if i := bytes.LastIndexByte(bytes.TrimRight(b, "\n"), '\n'); i > 0 {
			f.Add(b[:i+1]) // without its trailer
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, file []byte) {
		rr := parse(bytes.NewReader(file), "2026-11-24")
		last := 0
		for n := 0; ; n++ {
			if n > len(file)+2 {
				t.Fatalf("more lines read than the file has bytes")
			}
			line, err := rr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var re *carriers.ReportError
				if !errors.Is(err, carriers.ErrBadReport) || !errors.As(err, &re) {
					t.Fatalf("error %q (%T) is not a *ReportError matching ErrBadReport", err, err)
				}
				return
			}
			if line.Kind != carriers.ReportCharge && line.Kind != carriers.ReportRefund {
				t.Fatalf("line %d: kind %q", line.LineNo, line.Kind)
			}
			if line.Status != carriers.ReportSucceeded && line.Status != carriers.ReportFailed {
				t.Fatalf("line %d: status %q", line.LineNo, line.Status)
			}
			if !known(line.Currency) || line.Amount < 0 {
				t.Fatalf("line %d: %d %q", line.LineNo, line.Amount, line.Currency)
			}
			if line.BilledAt.IsZero() || line.LineNo <= last {
				t.Fatalf("line %d (after %d): billed at %s", line.LineNo, last, line.BilledAt)
			}
			if line.ClientReference == "" && line.CarrierReference == "" {
				t.Fatalf("line %d names no operation", line.LineNo)
			}
			last = line.LineNo
		}
	})
}

func known(currency string) bool {
	_, ok := money.Lookup(currency)
	return ok
}
