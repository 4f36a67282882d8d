package web

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
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
