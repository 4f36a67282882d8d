package carriers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// One call to a carrier, as every protocol adapter makes it. What a
// protocol's answers say (its error bodies, its codes, its declines) stays in
// its adapter; what it means for a payment that an exchange failed, or was
// answered with a bare HTTP status, is the same for all of them and is
// decided here.

// DefaultCallTimeout bounds one carrier call when the settings give no
// HTTP client.
const DefaultCallTimeout = 10 * time.Second

// DefaultMaxAnswer bounds how much of a carrier's answer is read when a
// Request sets no MaxAnswer.
const DefaultMaxAnswer = 1 << 20

// SendClient returns the client an adapter sends with: a copy of hc, so the
// caller's client, which is shared, stays as it was; or, when hc is nil, a
// client that gives up after DefaultCallTimeout. It follows no redirect: a
// redirected POST could be replayed somewhere we did not mean to bill, and a
// carrier API has no reason to redirect, so a 3xx is taken as the answer.
func SendClient(hc *http.Client) *http.Client {
	c := &http.Client{Timeout: DefaultCallTimeout}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// ParseBaseURL checks that raw is an absolute http(s) URL and returns it
// without trailing slashes, ready for a request path to be appended.
func ParseBaseURL(raw string) (string, error) {
	base := strings.TrimRight(raw, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("base URL %q is not an absolute http(s) URL", raw)
	}
	return base, nil
}

// Request is one call to a carrier.
type Request struct {
	Method string
	URL    string     // absolute; the path already escaped
	Query  url.Values // appended to URL when not empty
	// Header is set on the request besides Accept (always JSON) and
	// Content-Type (JSON, when there is a Body).
	Header http.Header
	Body   any // sent as JSON; nil sends no body
	// MaxAnswer bounds how many bytes of the answer are read; 0 is
	// DefaultMaxAnswer.
	MaxAnswer int64
}

// Answer is a carrier's HTTP answer, read in full.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send makes one request to the carrier and reads the whole answer. A failure
// to get an answer comes back already in the error vocabulary: ErrNotSent when
// the request provably never reached a connection to the carrier, otherwise
// ErrOutcomeUnknown, because once bytes may have left the carrier may have
// acted on them. Whether a request may be resent is for the caller to say
// (WithResend on ctx); Send itself sends once.
func Send(ctx context.Context, hc *http.Client, r Request) (*Answer, error) {
	var rd io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w: %v", ErrInvalidRequest, err)
		}
		rd = bytes.NewReader(b)
	}
	target := r.URL
	if len(r.Query) > 0 {
		target += "?" + r.Query.Encode()
	}
	// GotConn fires once a connection is ready to carry this request. Until
	// then nothing can have reached the carrier, whatever the error says.
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, r.Method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w: %v", ErrInvalidRequest, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	resp, err := hc.Do(req)
	if err != nil {
		if neverLeft(err, gotConn.Load()) {
			return nil, fmt.Errorf("%w: %v", ErrNotSent, withoutURL(err))
		}
		return nil, fmt.Errorf("%w: %v", ErrOutcomeUnknown, withoutURL(err))
	}
	defer resp.Body.Close()
	limit := r.MaxAnswer
	if limit <= 0 {
		limit = DefaultMaxAnswer
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("read answer (HTTP %d): %w: %v", resp.StatusCode, ErrOutcomeUnknown, err)
	}
	return &Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// neverLeft reports whether a failed request provably never reached the
// carrier: no connection was ever handed to it, or the failure was in
// resolving or dialling the carrier's address (NeverSent).
func neverLeft(err error, gotConn bool) bool {
	return !gotConn || NeverSent(err)
}

// AnswerError turns an answer that is neither a success nor a decline into
// the error vocabulary. write says whether the request could have changed the
// carrier's books (a POST), which decides what an unclear answer means.
// detail is the adapter's reading of the answer, its status first ("HTTP 409
// ALREADY_EXISTS: ..."); now is when it came, for a Retry-After given as a
// date.
func AnswerError(a *Answer, write bool, detail string, now time.Time) error {
	detail = RedactNumbers(detail) // the carrier's free text may echo the subscriber's number
	switch {
	case a.Status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s", ErrRateLimited, detail)
	case a.Status == http.StatusServiceUnavailable:
		// The carrier answered that it cannot serve now: nothing was done.
		wait, _ := retryAfterHeader(a.Header, now)
		return &UnavailableError{
			RetryAfter: wait,
			Err:        fmt.Errorf("%w: %s", ErrUnavailable, detail),
		}
	case a.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, detail)
	case a.Status == http.StatusConflict && write:
		// Something with our reference already exists at the carrier, and
		// this answer does not say what became of it: ask, don't resend.
		return fmt.Errorf("%w: %s", ErrOutcomeUnknown, detail)
	case a.Status >= 400 && a.Status <= 499:
		return fmt.Errorf("%w: %s", ErrInvalidRequest, detail)
	case write:
		// 500, 502, 504 and anything unexpected (a 3xx): the carrier, or a
		// proxy in front of it, may have billed or accepted before failing
		// to answer.
		return fmt.Errorf("%w: %s", ErrOutcomeUnknown, detail)
	default:
		return fmt.Errorf("%w: %s", ErrUnavailable, detail)
	}
}

// UnreadableAnswer is the error for a success answer whose body cannot be
// used: the carrier did something, we cannot tell what.
func UnreadableAnswer(a *Answer, err error) error {
	return fmt.Errorf("%w: HTTP %d with an unreadable body: %v", ErrOutcomeUnknown, a.Status, err)
}

// retryAfterHeader reads a Retry-After header, in seconds or as an HTTP
// date, as a wait from now. ok is false when there is none or it cannot be
// read; a date already past is a wait of 0.
func retryAfterHeader(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// RandomID returns a fresh random identifier, 32 hex digits, for what the
// gateway has to name itself on a request (a message, a correlator).
func RandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// MessageID is the id the gateway gives one text message, sent as its
// clientCorrelator (OneAPI SMS) or reference (token APIs): fresh for every
// message, so a carrier that dedupes on it never swallows a second text
// about the same payment, and led by the reference of what the message is
// about when there is one, "ch_…:9f86d081884c7d65…", so the message can be
// traced to its payment (test mode's simulator reads it back that way).
func MessageID(reference string) string {
	if reference == "" {
		return RandomID()
	}
	return reference + ":" + RandomID()
}

// withoutURL drops the URL from a transport error: some protocols put the
// subscriber's number in the path (OneAPI's /tel:+82…/transactions), and
// these errors end up in logs.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
