package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"tollgate/internal/problem"
)

// liveSettings turn the public-only rule on with a resolver that never
// leaves the process: these tests must not reach any real address.
func liveSettings() Settings {
	s := testSettings
	s.PublicOnly = true
	s.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "inward.example":
			return []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.0.0.5")}, nil
		case "nat64.example":
			return []netip.Addr{netip.MustParseAddr("64:ff9b::a9fe:a9fe")}, nil
		case "hooks.example":
			return []netip.Addr{netip.MustParseAddr("8.8.8.8")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	return s
}

// Creation refuses in live mode what dialing would refuse, in every form a
// resolver or a browser reads as an internal address.
func TestLiveEndpointsMustBePublic(t *testing.T) {
	refused := []string{
		"localhost", "localhost.", "api.localhost", "LOCALHOST", "metadata.google.internal", "metadata.google.internal.",
		"printer.local", "127.0.0.1", "[::1]", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254",
		"0.0.0.0", "0.1.2.3", "100.64.1.1", "198.18.0.1", "198.19.255.1", "240.0.0.1", "255.255.255.255",
		"[::ffff:127.0.0.1]", "[fe80::1]", "[fc00::1]", "[64:ff9b::7f00:1]", "[64:ff9b::a9fe:a9fe]",
		"2130706433", "0x7f000001", "127.1", "0177.0.0.1", "0x7f.1", "10.0x1",
		"inward.example", "nat64.example",
	}
	eachStoreWith(t, liveSettings(), func(t *testing.T, b *testBundle) {
		p := b.merchant
		p.Livemode = true
		for _, host := range refused {
			_, err := b.out.createEndpoint(context.Background(), p, endpointParams{URL: "https://" + host + "/hook", EnabledEvents: []string{"*"}})
			var pr *problem.Problem
			if !errors.As(err, &pr) || pr.Status != 400 || pr.Param != "url" {
				t.Errorf("https://%s: got %v, want a 400 on url", host, err)
			}
		}
		// Public names and addresses stay allowed, whatever their port; a
		// name that does not resolve yet is left to the dial-time check.
		for _, host := range []string{"hooks.example", "hooks.example:8443", "unresolved.example", "8.8.8.8", "[2001:4860:4860::8888]", "cafe.example.cafe"} {
			if _, err := b.out.createEndpoint(context.Background(), p, endpointParams{URL: "https://" + host + "/hook", EnabledEvents: []string{"*"}}); err != nil {
				t.Errorf("https://%s: %v", host, err)
			}
		}
	})
}

// At dial time, after DNS, the library's rule refuses every internal
// address. The Control func is called directly: no connection is made.
func TestDialCheckRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{
		"127.0.0.1:443", "10.0.0.1:443", "0.1.2.3:443", "0.0.0.0:80", "198.18.0.1:443", "240.0.0.1:443", "169.254.169.254:80",
		"100.64.0.1:443", "[::1]:443", "[::ffff:127.0.0.1]:443", "[64:ff9b::7f00:1]:443", "[fe80::1]:443", "[fc00::1]:443",
	} {
		network := "tcp4"
		if addr[0] == '[' {
			network = "tcp6"
		}
		if err := publicOnly(network, addr, nil); !errors.Is(err, errInternalAddress) {
			t.Errorf("%s: %v, want refused", addr, err)
		}
	}
	for _, addr := range []string{"8.8.8.8:443", "8.8.8.8:8443", "[2001:4860:4860::8888]:443"} {
		network := "tcp4"
		if addr[0] == '[' {
			network = "tcp6"
		}
		if err := publicOnly(network, addr, nil); err != nil {
			t.Errorf("%s: %v, want allowed", addr, err)
		}
	}
	// Through a real client: a live one cannot reach a loopback server, a
	// test-mode one (receivers on the merchant's laptop) can.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	live := &http.Client{Transport: &http.Transport{DialContext: dialer(true).DialContext}}
	req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL, nil)
	if _, err := live.Do(req); !errors.Is(err, errInternalAddress) {
		t.Fatalf("live client reached loopback: %v", err)
	}
	test := &http.Client{Transport: &http.Transport{DialContext: dialer(false).DialContext}}
	res, err := test.Do(req.Clone(context.Background()))
	if err != nil {
		t.Fatalf("test-mode client: %v", err)
	}
	res.Body.Close()
}
