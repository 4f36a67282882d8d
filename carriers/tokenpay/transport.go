package tokenpay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"tollgate/carriers"
)

// maxAnswer bounds how much of a carrier's answer is read.
const maxAnswer = 1 << 20

// answer is a carrier's HTTP answer, read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send makes one request to the carrier and reads the whole answer. A failure
// to get an answer comes back already in the error vocabulary: ErrNotSent when
// the request provably never reached the carrier, otherwise ErrOutcomeUnknown,
// because once bytes may have left the carrier may have acted on them.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w: %v", carriers.ErrInvalidRequest, err)
		}
		rd = bytes.NewReader(b)
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	// GotConn fires once a connection is ready to carry this request. Until
	// then nothing can have reached the carrier, whatever the error says.
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w: %v", carriers.ErrInvalidRequest, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		if neverLeft(err, gotConn.Load()) {
			return nil, fmt.Errorf("%w: %v", carriers.ErrNotSent, err)
		}
		return nil, fmt.Errorf("%w: %v", carriers.ErrOutcomeUnknown, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read answer (HTTP %d): %w: %v", resp.StatusCode, carriers.ErrOutcomeUnknown, err)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// neverLeft reports whether a failed request provably never reached the
// carrier: no connection was ever handed to it, or the failure was in
// resolving or dialling the carrier's address.
func neverLeft(err error, gotConn bool) bool {
	if !gotConn {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// decode reads a JSON answer.
func decode(b []byte, v any) error {
	return json.Unmarshal(b, v)
}

// newID returns a random identifier.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
