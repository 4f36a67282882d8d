package web

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"tollgate/internal/problem"
)

func TestClientAddress(t *testing.T) {
	e := echo.New()
	e.IPExtractor = IPExtractor(nil)
	for _, tc := range []struct{ peer, want string }{
		{"203.0.113.9:5555", "203.0.113.9"},
		{"[::ffff:203.0.113.9]:5555", "203.0.113.9"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"}, // the same machine's /64
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
	} {
		r := httptest.NewRequest("GET", "/my", nil)
		r.RemoteAddr = tc.peer
		r.Header.Set("X-Forwarded-For", "192.0.2.1") // no proxy is trusted: ignored
		if got := ClientAddress(e.NewContext(r, nil).RealIP()); got != tc.want {
			t.Errorf("peer %s: %q, want %q", tc.peer, got, tc.want)
		}
	}
}

// Only the configured proxies are believed, not loopback or private
// ranges as echo trusts by default.
func TestIPExtractorBelievesOnlyConfiguredProxies(t *testing.T) {
	e := echo.New()
	e.IPExtractor = IPExtractor([]string{"10.1.0.0/16"})
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.1.2.3:5555", "203.0.113.9", "203.0.113.9"},               // a proxy: the client it names
		{"10.1.2.3:5555", "198.51.100.1, 203.0.113.9", "203.0.113.9"}, // the proxy's own entry, not what the client wrote
		{"10.1.2.3:5555", "203.0.113.9, 10.1.9.9", "203.0.113.9"},     // through two configured proxies
		{"10.2.0.1:5555", "203.0.113.9", "10.2.0.1"},                  // private, but not configured
		{"127.0.0.1:5555", "203.0.113.9", "127.0.0.1"},                // loopback, not configured
		{"203.0.113.50:5555", "192.0.2.1", "203.0.113.50"},            // a client writing the header
		{"10.1.2.3:5555", "", "10.1.2.3"},                             // a proxy with no header
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := e.NewContext(r, nil).RealIP(); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %q, want %q", tc.peer, tc.xff, got, tc.want)
		}
	}
}

// A database that cannot be reached is a 503 with Retry-After, whatever
// wraps the error; a bug stays a 500 that says nothing; a problem stays
// itself.
func TestProblemOfSortsOutagesFromBugs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"connection refused, wrapped", fmt.Errorf("get charge ch_1: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), 503, problem.CodeServiceUnavailable, true},
		{"bad connection", fmt.Errorf("claim idempotency key: %w", driver.ErrBadConn), 503, problem.CodeServiceUnavailable, true},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, 503, problem.CodeServiceUnavailable, true},
		{"embedded store full", errors.New("database or disk is full (13)"), 503, problem.CodeServiceUnavailable, true},
		{"a bug", errors.New("nil map"), 500, problem.CodeInternal, false},
		{"a syntax error is a bug", &pgconn.PgError{Code: "42601"}, 500, problem.CodeInternal, false},
		{"a problem stays itself", problem.NotFound("charge"), 404, problem.CodeNotFound, false},
	} {
		p := ProblemOf(tc.err)
		if p.Status != tc.status || p.Code != tc.code || (p.RetryAfter > 0) != tc.retryAfter {
			t.Errorf("%s: %d %s Retry-After %d, want %d %s", tc.name, p.Status, p.Code, p.RetryAfter, tc.status, tc.code)
		}
		if p.Status >= 500 && strings.Contains(p.Detail, "57P01") {
			t.Errorf("%s: the detail shows the database's error: %s", tc.name, p.Detail)
		}
	}
}
