package web

import (
	"net/http/httptest"
	"testing"
)

func TestClientAddress(t *testing.T) {
	for _, tc := range []struct{ peer, want string }{
		{"203.0.113.9:5555", "203.0.113.9"},
		{"[::ffff:203.0.113.9]:5555", "203.0.113.9"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"}, // the same machine's /64
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
		{"garbage", "garbage"},
	} {
		r := httptest.NewRequest("GET", "/my", nil)
		r.RemoteAddr = tc.peer
		r.Header.Set("X-Forwarded-For", "192.0.2.1")
		if got := ClientAddress(r); got != tc.want {
			t.Errorf("peer %s: %q, want %q", tc.peer, got, tc.want)
		}
	}
}
