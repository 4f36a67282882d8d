package webhooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLiveEndpointsMustBePublic(t *testing.T) {
	t.Parallel()
	for host, internal := range map[string]bool{
		"localhost": true, "api.localhost": true, "127.0.0.1": true, "[::1]": true, "10.1.2.3": true,
		"192.168.0.10": true, "172.16.5.5": true, "169.254.169.254": true, "0.0.0.0": true, "100.64.1.1": true,
		"[::ffff:127.0.0.1]": true, "[fe80::1]": true,
		"example.com": false, "8.8.8.8": false, "[2001:4860:4860::8888]": false,
	} {
		if got := internalHost(host); got != internal {
			t.Errorf("internalHost(%s) = %v, want %v", host, got, internal)
		}
	}
	// At dial time, after DNS: a live client cannot reach a loopback server.
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
