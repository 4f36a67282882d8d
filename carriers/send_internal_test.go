package carriers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestNeverLeft(t *testing.T) {
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}
	dns := &net.DNSError{Err: "no such host", Name: "carrier.invalid"}
	tests := []struct {
		name    string
		err     error
		gotConn bool
		want    bool
	}{
		{"no connection yet, whatever the error", context.DeadlineExceeded, false, true},
		{"no connection, reset", read, false, true},
		{"dial failed", dial, true, true},
		{"address did not resolve", dns, true, true},
		{"reset on a connection", read, true, false},
		{"deadline on a connection", context.DeadlineExceeded, true, false},
		{"anything else on a connection", errors.New("unexpected EOF"), true, false},
	}
	for _, tt := range tests {
		if got := neverLeft(tt.err, tt.gotConn); got != tt.want {
			t.Errorf("%s: neverLeft = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	tests := []struct {
		value string
		wait  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true}, // already past: no wait
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		wait, ok := retryAfterHeader(h, now)
		if wait != tt.wait || ok != tt.ok {
			t.Errorf("Retry-After %q: %s, %v; want %s, %v", tt.value, wait, ok, tt.wait, tt.ok)
		}
	}
}
