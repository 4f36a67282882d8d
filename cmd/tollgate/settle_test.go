package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/carriers/sim"
	"tollgate/configs"
	"tollgate/internal/storetest"
)

// TestSettleFindsTheSimulatedCarriersFiles: `tollgate settle` fetches a
// simulated carrier's file from TOLLGATE_SIM_URL when it is set (a
// standalone `tollgate sim`), else from the running gateway at its listen
// address; never from public_url, which is how carriers reach the gateway.
func TestSettleFindsTheSimulatedCarriersFiles(t *testing.T) {
	t.Parallel()
	// The decoy stands where settle must not look: it counts and answers 404.
	var decoyHits atomic.Int64
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		decoyHits.Add(1)
		http.NotFound(w, r)
	}))
	defer decoy.Close()
	decoyAddr := strings.TrimPrefix(decoy.URL, "http://")
	// A standalone simulator, as `tollgate sim` builds it.
	cfg, err := configs.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cs, err := carrierSettings(cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var reports atomic.Int64
	standalone := sim.New(cs.sim).Handler()
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sim/reports/skt/") {
			reports.Add(1)
		}
		standalone.ServeHTTP(w, r)
	}))
	defer simSrv.Close()

	day := time.Now().In(seoulZone).AddDate(0, 0, -2).Format(time.DateOnly) // over on the wall clock
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			g := startWith(t, opts{dbURL: storetest.URL(t, d), noJobs: true})
			settle := func(env map[string]string) (string, error) {
				env["TOLLGATE_DATABASE_URL"] = g.app.cfg.DatabaseURL
				env["TOLLGATE_SECRET_KEY"] = testSecret
				env["TOLLGATE_LOG_LEVEL"] = "error"
				var stdout, stderr bytes.Buffer
				err := run(context.Background(), []string{"settle", "--carrier", "skt", "--date", day, "--rerun"}, &stdout, &stderr, func(k string) string { return env[k] })
				return stdout.String() + stderr.String(), err
			}
			before := reports.Load()
			out, err := settle(map[string]string{"TOLLGATE_SIM_URL": simSrv.URL, "TOLLGATE_LISTEN": decoyAddr, "TOLLGATE_PUBLIC_URL": decoy.URL})
			if err != nil || !strings.Contains(out, "completed") || !strings.Contains(out, "source: carrier:skt") {
				t.Fatalf("settle with TOLLGATE_SIM_URL: %v\n%s", err, out)
			}
			if n := reports.Load() - before; n != 1 {
				t.Fatalf("the standalone simulator served %d files, want 1", n)
			}

			out, err = settle(map[string]string{"TOLLGATE_LISTEN": strings.TrimPrefix(g.base, "http://"), "TOLLGATE_PUBLIC_URL": decoy.URL})
			if err != nil || !strings.Contains(out, "completed") || !strings.Contains(out, "source: carrier:skt") {
				t.Fatalf("settle with the gateway's listen address: %v\n%s", err, out)
			}
			if n := decoyHits.Load(); n != 0 {
				t.Fatalf("settle asked the decoy (listen or public_url) %d times", n)
			}
		})
	}
}

// Without TOLLGATE_SIM_URL settle dials the gateway's listen address; one
// that listens on every interface is dialled on loopback.
func TestSettleSimURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		simURL, listen, publicURL, want string
	}{
		{"http://127.0.0.1:9090", "127.0.0.1:8080", "", "http://127.0.0.1:9090/sim"},
		{"http://127.0.0.1:9090/sim/", "127.0.0.1:8080", "", "http://127.0.0.1:9090/sim"},
		{"", "127.0.0.1:18080", "https://pay.example.com", "http://127.0.0.1:18080/sim"},
		{"", "localhost:8080", "", "http://localhost:8080/sim"},
		{"", ":8080", "", "http://127.0.0.1:8080/sim"},
		{"", "0.0.0.0:8080", "", "http://127.0.0.1:8080/sim"},
		{"", "[::]:8080", "", "http://[::1]:8080/sim"},
		{"", "[::1]:8080", "", "http://[::1]:8080/sim"},
	} {
		got := reportSimURL(configs.Config{SimURL: c.simURL, Listen: c.listen, PublicURL: c.publicURL})
		if got != c.want {
			t.Errorf("sim_url %q, listen %q, public_url %q: %s, want %s", c.simURL, c.listen, c.publicURL, got, c.want)
		}
	}
}
