package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/configs"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// dbProxy is a TCP proxy on 127.0.0.1 between a gateway and its PostgreSQL
// server, so a test can take "the database" away from one gateway without
// stopping the server the rest of the suite (and other people) use: cut
// drops every connection and turns new ones away, restore lets them in.
type dbProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *dbProxy) addr() string { return p.ln.Addr().String() }

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *dbProxy) pipe(client net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		_ = client.Close() // the server "refuses": the client reads EOF at once
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.down { // cut while dialling
		p.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
	_ = client.Close()
	_ = server.Close()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// cut drops every open connection and refuses new ones until restore.
func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *dbProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// boundedClient answers within a bound or fails: a request that hangs on
// a dead database is exactly what these tests refuse.
var boundedClient = &http.Client{Timeout: 20 * time.Second}

// callBounded is g.call on boundedClient, checked against /openapi.json too;
// it reports a transport error (a hang past the bound) in the answer's
// status 0 instead of failing, so a goroutine may use it.
func (g *gw) callBounded(method, path, key, idem string, body any) (resp, error) {
	var payload []byte
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return resp{}, err
		}
		payload = j
	}
	req, err := http.NewRequest(method, g.base+path, bytes.NewReader(payload))
	if err != nil {
		return resp{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := boundedClient.Do(req)
	if err != nil {
		return resp{}, fmt.Errorf("%s %s: no answer within %s: %w", method, path, boundedClient.Timeout, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	g.checkContract(method, path, req.Header, payload, res, raw)
	r := resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

// wantUnavailable fails unless r is the database's 503 problem with a
// Retry-After: never a bare 500, never a hang.
func wantUnavailable(t *testing.T, what string, r resp, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.Status != http.StatusServiceUnavailable || r.str("code") != "service_unavailable" || r.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s: want 503 service_unavailable with Retry-After, got %d (Retry-After %q) %s", what, r.Status, r.Header.Get("Retry-After"), r.Raw)
	}
}

// slowCarrier makes the simulated carriers answer after latency, with
// attempts allowed to wait that long, so a test can act while a charge is
// at the carrier.
func slowCarrier(c *configs.Config) {
	c.CarrierTimeout = 10 * time.Second
	c.CarrierHTTP.AttemptTimeout = 6 * time.Second
}

// With PostgreSQL unreachable, every request is a quick 503 problem with
// Retry-After (never a 500, never a hang) and /readyz says the database is
// down; a charge whose carrier answered while the database was gone stays
// processing and its status job finishes it once the database is back; the
// gateway recovers on its own (pool, job queue and its LISTEN connection):
// the same request sent again succeeds, nothing is billed twice, and the
// ledger balances.
func TestPostgresDownAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip(storetest.EnvPostgres + " is not set: this test cuts a PostgreSQL connection")
	}
	direct := storetest.URL(t, store.Postgres)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDBProxy(t, u.Host)
	u.Host = proxy.addr()
	g := startWith(t, opts{dbURL: u.String(), configure: slowCarrier})
	// The test's own view of the database, around the proxy.
	watch, err := store.Open(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Close() })

	before := g.paid(g.key, "+821055510011", 1000, "skt")
	if before.str("status") != "succeeded" {
		t.Fatalf("charge before the outage: %d %s", before.Status, before.Raw)
	}
	pm := g.activePaymentMethod(g.key, "+821055510012", "skt")

	// A charge at the carrier when the database goes.
	const midNumber = "+821055510013"
	mid := g.charge(g.key, krw(midNumber, 3000, "skt"))
	code := g.smsCode(midNumber)
	// The carrier sits on the charge for 4 s: time enough, even on a loaded
	// machine, to see it processing and cut the database before the answer.
	g.faults(`{"carrier":"skt","latency_ms":4000}`)
	type answer struct {
		r   resp
		err error
	}
	confirmed := make(chan answer, 1)
	go func() {
		r, err := g.callBounded("POST", "/v1/charges/"+mid.str("id")+"/confirm", g.key, "", map[string]string{"code": code})
		confirmed <- answer{r, err}
	}()
	eventually(t, 20*time.Second, func() (bool, string) {
		var status string
		if err := watch.DB.Raw("SELECT status FROM charges WHERE id = ?", mid.str("id")).Scan(&status).Error; err != nil {
			return false, err.Error()
		}
		return status == "processing", "charge is " + status
	})
	proxy.cut()
	a := <-confirmed
	wantUnavailable(t, "confirm whose outcome could not be written", a.r, a.err)

	// Everything that needs the database: 503, quickly (the client's bound).
	oneTap := map[string]any{"amount": 1500, "currency": "KRW", "payment_method": pm}
	const retryKey = "pg-down-one-tap"
	r, err := g.callBounded("POST", "/v1/charges", g.key, retryKey, oneTap)
	wantUnavailable(t, "one-tap charge", r, err)
	r, err = g.callBounded("GET", "/v1/charges/"+before.str("id"), g.key, "", nil)
	wantUnavailable(t, "read a charge", r, err)
	r, err = g.callBounded("GET", "/v1/charges", g.key, "", nil)
	wantUnavailable(t, "list charges", r, err)
	r, err = g.callBounded("POST", "/v1/charges/"+before.str("id")+"/refunds", g.key, "pg-down-refund", map[string]any{"amount": 100})
	wantUnavailable(t, "refund", r, err)
	r, err = g.callBounded("GET", "/readyz", "", "", nil)
	wantUnavailable(t, "/readyz", r, err)
	if r.str("dependency") != "database" {
		t.Fatalf("/readyz does not name the database: %s", r.Raw)
	}
	if r, err := g.callBounded("GET", "/healthz", "", "", nil); err != nil || r.Status != 200 {
		t.Fatalf("/healthz while the database is down: %d %v (the process is up)", r.Status, err)
	}

	proxy.restore()
	// Recovered by itself: the pool reconnects (the admin key is looked up
	// again); the same request, same key, runs now (a 503 was not stored as
	// the key's answer).
	eventually(t, 60*time.Second, func() (bool, string) {
		r, err := g.callBounded("PUT", "/sim/faults", g.admin, "", map[string]any{"carrier": "skt", "latency_ms": 0})
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusOK, fmt.Sprintf("reset faults: %d %s", r.Status, r.Raw)
	})
	var again resp
	eventually(t, 60*time.Second, func() (bool, string) {
		again, err = g.callBounded("POST", "/v1/charges", g.key, retryKey, oneTap)
		if err != nil {
			return false, err.Error()
		}
		return again.Status == http.StatusCreated, fmt.Sprintf("%d %s", again.Status, again.Raw)
	})
	if again.str("status") != "succeeded" {
		t.Fatalf("one-tap charge after recovery: %s", again.Raw)
	}
	if r := g.call("GET", "/readyz", "", "", nil); r.Status != 200 {
		t.Fatalf("/readyz after recovery: %d %s", r.Status, r.Raw)
	}
	// The job queue works again: the stuck charge's status query finds the
	// carrier charged it.
	g.waitFinal(90 * time.Second)
	if r := g.call("GET", "/v1/charges/"+mid.str("id"), g.key, "", nil); r.str("status") != "succeeded" {
		t.Fatalf("charge at the carrier during the outage: %s", r.Raw)
	}
	g.assertBilledOnce("skt")
	g.assertLedgerBalances()
	var n int64
	g.store.DB.Raw("SELECT COUNT(*) FROM charges WHERE idempotency_key = ?", retryKey).Scan(&n)
	if n != 1 {
		t.Fatalf("%d charges for one Idempotency-Key sent during and after the outage", n)
	}
}

// assertBilledOnce: the carrier's own books and the gateway's agree, charge
// by charge: each succeeded charge billed exactly once, nothing else billed.
func (g *gw) assertBilledOnce(carrier string) {
	g.t.Helper()
	billed := map[string]int{}
	for _, e := range g.simLedger(carrier) {
		if s, _ := e["status"].(string); s == "refunded" {
			continue
		}
		ref, _ := e["client_reference"].(string)
		billed[ref]++
	}
	var ids []string
	if err := g.store.DB.Raw("SELECT id FROM charges WHERE carrier = ? AND status IN ('succeeded','partially_refunded','refunded')", carrier).Scan(&ids).Error; err != nil {
		g.t.Fatal(err)
	}
	for _, id := range ids {
		if billed[id] != 1 {
			g.t.Errorf("charge %s: billed %d times by %s", id, billed[id], carrier)
		}
		delete(billed, id)
	}
	for ref, n := range billed {
		g.t.Errorf("%s billed %s %d times, which the gateway does not count as paid", carrier, ref, n)
	}
}

// With the embedded store's disk full, a write is a 503 problem (never a
// 500), /readyz says the database is full, nothing is half-written, and
// once there is room the gateway carries on by itself: every charge ends
// final, billed once, the ledger balanced. A full disk is played by
// max_page_count on the gateway's connections, which fails a write that
// needs a new page with SQLITE_FULL exactly as a full disk does.
func TestEmbeddedStoreFullAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := storetest.URL(t, store.SQLite)
	ballast, err := store.Open(ctx, base) // the test's own connection: no limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ballast.Close() })
	var pages int64
	if err := ballast.DB.Raw("PRAGMA page_count").Scan(&pages).Error; err != nil {
		t.Fatal(err)
	}
	// Room for the gateway's start and a few charges, then the ballast
	// takes the rest.
	limit := pages + 400
	g := startWith(t, opts{dbURL: fmt.Sprintf("%s?_pragma=max_page_count(%d)", base, limit)})
	before := g.paid(g.key, "+821055520021", 1000, "skt")
	if before.str("status") != "succeeded" {
		t.Fatalf("charge before the disk filled: %s", before.Raw)
	}
	pm := g.activePaymentMethod(g.key, "+821055520022", "skt")
	if r := g.call("GET", "/readyz", "", "", nil); r.Status != 200 {
		t.Fatalf("/readyz with room: %d %s", r.Status, r.Raw)
	}

	if err := ballast.DB.Exec("CREATE TABLE ballast (b BLOB)").Error; err != nil {
		t.Fatal(err)
	}
	for {
		var now int64
		if err := ballast.DB.Raw("PRAGMA page_count").Scan(&now).Error; err != nil {
			t.Fatal(err)
		}
		if now > limit {
			break
		}
		if err := ballast.DB.Exec("INSERT INTO ballast VALUES (zeroblob(1048576))").Error; err != nil {
			t.Fatal(err)
		}
	}
	r, err := g.callBounded("GET", "/readyz", "", "", nil)
	wantUnavailable(t, "/readyz on a full store", r, err)
	if r.str("dependency") != "database" || !strings.Contains(r.str("detail"), "full") {
		t.Fatalf("/readyz does not say the database is full: %s", r.Raw)
	}

	// Writes go on until one needs a page: that one, and every one after
	// it, is a 503, never a 500. Small writes may still fit in pages the
	// store already has, so the test keeps charging until the store is out.
	var refused resp
	keys := []string{}
	for i := 0; i < 300; i++ {
		key := fmt.Sprintf("full-%d", i)
		r, err := g.callBounded("POST", "/v1/charges", g.key, key, map[string]any{"amount": 1000 + i, "currency": "KRW", "payment_method": pm})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		if r.Status == http.StatusCreated {
			continue
		}
		refused = r
		break
	}
	if refused.Status == 0 {
		t.Fatal("300 charges on a full store all succeeded: the ballast did not fill it")
	}
	wantUnavailable(t, "a charge on a full store", refused, nil)
	if r := g.call("GET", "/v1/charges/"+before.str("id"), g.key, "", nil); r.Status != 200 {
		t.Fatalf("reads need no room: %d %s", r.Status, r.Raw)
	}

	// Room again: the operator frees space; nobody restarts the gateway.
	if err := ballast.DB.Exec("DROP TABLE ballast").Error; err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		r := g.call("GET", "/readyz", "", "", nil)
		return r.Status == 200, fmt.Sprintf("/readyz %d %s", r.Status, r.Raw)
	})
	last := keys[len(keys)-1]
	again := g.call("POST", "/v1/charges", g.key, last, map[string]any{"amount": 1000 + len(keys) - 1, "currency": "KRW", "payment_method": pm})
	if again.Status != http.StatusCreated {
		t.Fatalf("the refused charge sent again: %d %s", again.Status, again.Raw)
	}
	g.waitFinal(90 * time.Second)
	var open int64
	g.store.DB.Raw("SELECT COUNT(*) FROM charges WHERE status NOT IN ('succeeded','failed','canceled','refunded','partially_refunded')").Scan(&open)
	if open != 0 {
		t.Fatalf("%d charges left unfinished by the full store", open)
	}
	g.assertBilledOnce("skt")
	g.assertLedgerBalances()
}
