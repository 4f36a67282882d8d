package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"tollgate/internal/storetest"
)

// A client that sends its headers and then trickles the body is cut once
// the read timeout passes, instead of holding a connection and a goroutine.
func TestServerCutsASlowBody(t *testing.T) {
	t.Parallel()
	got := make(chan error, 1)
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
		if err != nil {
			http.Error(w, "slow body", http.StatusRequestTimeout)
		}
	}), timeouts{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond, Write: 2 * time.Second, Idle: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: tollgate\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	// Trickle a byte every 50 ms until the server gives up on us.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the connection was still open after %s", time.Since(start))
	case err == nil && res.StatusCode < 400:
		t.Fatalf("a trickled body was answered %s", res.Status)
	}
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("the handler read the whole body")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never saw the read fail")
	}
}

// serve refuses a taken port, or a setting only the wiring checks, before
// it creates or migrates the database.
func TestServeChecksBeforeTouchingTheDatabase(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	badProtocol := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badProtocol, []byte("carriers:\n  - {name: pigeon, protocol: smoke-signals, simulated: true, country: KR, currencies: [KRW], min_amount: 1, max_amount: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noSecret := filepath.Join(t.TempDir(), "nosecret.yaml")
	if err := os.WriteFile(noSecret, []byte("carriers:\n  - {name: lgu, protocol: tokenpay, simulated: true, country: KR, currencies: [KRW], min_amount: 1, max_amount: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"tokenpay carrier without its webhook secret", map[string]string{"TOLLGATE_LISTEN": "127.0.0.1:0", "TOLLGATE_CONFIG": noSecret}, "webhook_secret"},
		{"taken port", map[string]string{"TOLLGATE_LISTEN": taken.Addr().String()}, taken.Addr().String()},
		{"unusable secret key", map[string]string{"TOLLGATE_LISTEN": "127.0.0.1:0", "TOLLGATE_SECRET_KEY": "c2hvcnQ="}, "secret_key"},
		{"unknown protocol", map[string]string{"TOLLGATE_LISTEN": "127.0.0.1:0", "TOLLGATE_CONFIG": badProtocol}, "carriers[0].protocol"},
		{"sim_url not a URL", map[string]string{"TOLLGATE_LISTEN": "127.0.0.1:0", "TOLLGATE_SIM_URL": "127.0.0.1:9090"}, "sim_url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "tollgate.db")
			c.env["TOLLGATE_DATABASE_URL"] = "sqlite:" + db
			c.env["TOLLGATE_LOG_LEVEL"] = "error"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, []string{"serve"}, &stdout, &stderr, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("serve: %v, want an error naming %s", err, c.want)
			}
			for _, p := range []string{db, db + ".secret", db + "-wal"} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists after a refused start (%v)", filepath.Base(p), err)
				}
			}
		})
	}
}

// TOLLGATE_SIM_URL works with or without the simulator's /sim path.
func TestSimURLWithoutSimPath(t *testing.T) {
	eachStore(t, func(t *testing.T, sim *gw) {
		g := startWith(t, opts{dbURL: storetest.URL(t, sim.store.Dialect), simURL: sim.base})
		// kt's code goes out through the simulator's SMS API: a wrong base
		// URL fails the charge instead.
		r := g.charge(g.key, krw("+821012345678", 5000, "kt"))
		if r.Status != http.StatusCreated || r.str("status") != "requires_confirmation" {
			t.Fatalf("charge through a simulator at %s: %d %v", sim.base, r.Status, r.Body)
		}
	})
}

// max_procs sets GOMAXPROCS unless the operator's GOMAXPROCS, already
// applied by the runtime, says otherwise; 0 leaves Go's own choice.
func TestMaxProcsYieldsToGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	before := runtime.GOMAXPROCS(0)
	if got, from := applyMaxProcs(0, getenv); got != before || from != "go" || runtime.GOMAXPROCS(0) != before {
		t.Fatalf("max_procs 0: %d from %s, want Go's %d left alone", got, from, before)
	}
	if got, from := applyMaxProcs(before+3, getenv); got != before+3 || from != "max_procs" || runtime.GOMAXPROCS(0) != before+3 {
		t.Fatalf("max_procs %d: %d from %s, in force %d", before+3, got, from, runtime.GOMAXPROCS(0))
	}
	runtime.GOMAXPROCS(before)
	env["GOMAXPROCS"] = "1"
	if got, from := applyMaxProcs(before+3, getenv); got != before || from != "GOMAXPROCS=1" || runtime.GOMAXPROCS(0) != before {
		t.Fatalf("with GOMAXPROCS set: %d from %s, want the runtime's %d left alone and named", got, from, before)
	}
}

// gc_percent sets the collector's target unless the operator's GOGC,
// already applied by the runtime, says otherwise; the log names what is in
// force either way.
func TestGCPercentYieldsToGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got, from := applyGCPercent(400, getenv); got != 400 || from != "gc_percent" || debug.SetGCPercent(100) != 400 {
		t.Fatalf("without GOGC: %d from %s, want 400 in force", got, from)
	}
	// As the runtime leaves it for GOGC=off (or 100 for GOGC=abc): untouched.
	debug.SetGCPercent(-1)
	env["GOGC"] = "off"
	if got, from := applyGCPercent(400, getenv); got != -1 || from != "GOGC=off" || debug.SetGCPercent(100) != -1 {
		t.Fatalf("with GOGC=off: %d from %s, want the runtime's setting left alone and named", got, from)
	}
}
