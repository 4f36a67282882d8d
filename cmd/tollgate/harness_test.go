package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers/sim"
	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// TestMain runs four gateways at once unless -parallel says otherwise: the
// end-to-end suite waits on carriers' timeouts, callbacks and job polls far
// more than it computes, so two at a time (GOMAXPROCS here) leaves the
// machine idle.
func TestMain(m *testing.M) {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "4")
	}
	os.Exit(m.Run())
}

// testSecret is a fixed phone-number key for tests (32 bytes, base64).
var testSecret = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// gw is a running gateway on a real listener, with the simulator mounted.
type gw struct {
	t     testing.TB
	base  string
	app   *app
	clock *clock.Offset
	logs  *syncBuffer
	key   string // a test merchant's key
	other string // another merchant's key
	admin string // an admin key: the simulator's controls, the test clock
	store *store.Store
	stop  func()
	kill  func() // stop at once: jobs in flight are cancelled mid-way
	sim   string // the simulator's base URL, ending in /sim
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eachStore runs fn against a fresh gateway on every database of this run,
// side by side: each gateway has its own store, simulator and clock.
func eachStore(t *testing.T, fn func(t *testing.T, g *gw)) {
	t.Helper()
	eachStoreWith(t, nil, fn)
}

// eachStoreWith is eachStore with the gateways' configuration changed.
func eachStoreWith(t *testing.T, configure func(*configs.Config), fn func(t *testing.T, g *gw)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, startWith(t, opts{dbURL: storetest.URL(t, d), configure: configure}))
		})
	}
}

func start(t *testing.T, d store.Dialect) *gw {
	t.Helper()
	return startWith(t, opts{dbURL: storetest.URL(t, d)})
}

// opts vary a gateway for the tests that need it.
type opts struct {
	dbURL     string
	simURL    string // a simulator outside this gateway (shared, survives it)
	noJobs    bool   // do not work jobs: a gateway that dies before its jobs run
	configure func(*configs.Config)
}

func startWith(t testing.TB, o opts) *gw {
	t.Helper()
	ctx := context.Background()
	cfg, err := configs.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = o.dbURL
	cfg.SecretKey = testSecret
	cfg.SimURL = o.simURL
	cfg.CarrierTimeout = 3 * time.Second
	cfg.CarrierHTTP.AttemptTimeout = 500 * time.Millisecond
	cfg.CarrierHTTP.WaitMin = 20 * time.Millisecond
	cfg.CarrierHTTP.WaitMax = 1200 * time.Millisecond
	cfg.Breaker.OpenFor = time.Second
	// Tests send one number many codes and charges in a burst; the limits
	// themselves are tested with the shipped ones (ratelimit_test.go).
	cfg.RateLimits = configs.RateLimitsConfig{PerKey: "off", FailedAuthPerAddress: "off", SMSPerNumber: "off",
		ChargesPerNumber: "off", RedeliveriesPerMerchant: "off", EndpointsPerMerchant: "off",
		SignInCodesPerNumber: "off", SignInCodesPerAddress: "off", SignInTriesPerNumber: "off"}
	// Tests charge one number many times and large amounts; the risk rules
	// themselves are tested with the shipped ones (risk_test.go).
	cfg.Risk = cfg.Risk.Off()
	// A receipt is one more job and text per payment, which load tests on
	// SQLite feel; the receipts themselves are tested on (caps_test.go).
	for i := range cfg.Carriers {
		cfg.Carriers[i].Receipts = false
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// Several gateways share one PostgreSQL server in this suite; keep each
	// well inside its connection limit.
	if st.Dialect == store.Postgres {
		st.SQL.SetMaxOpenConns(12)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock.Offset{}
	a, err := buildApp(ctx, cfg, st, ln.Addr().String(), log, clk)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.handler}
	go func() { _ = srv.Serve(ln) }()
	jctx, stopJobs := context.WithCancel(context.Background())
	if !o.noJobs {
		if err := a.jobs.Start(jctx); err != nil {
			t.Fatal(err)
		}
	}
	g := &gw{t: t, base: "http://" + ln.Addr().String(), app: a, clock: clk, logs: logs, store: st, sim: o.simURL}
	if g.sim == "" {
		g.sim = g.base + "/sim"
	}
	g.stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !o.noJobs {
			_ = a.jobs.Stop(sctx)
		}
		stopJobs()
		_ = srv.Close()
	}
	g.kill = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !o.noJobs {
			_ = a.jobs.StopAndCancel(sctx)
		}
		stopJobs()
		_ = srv.Close()
	}
	t.Cleanup(g.stop)
	g.key = g.newMerchant("Shop A")
	g.other = g.newMerchant("Shop B")
	g.admin = g.roleKey(auth.RoleAdmin)
	return g
}

func (g *gw) newMerchant(name string) string {
	g.t.Helper()
	ctx := context.Background()
	m, err := g.app.billing.CreateMerchant(ctx, name, false)
	if err != nil {
		g.t.Fatal(err)
	}
	key, err := g.app.keys.Create(ctx, auth.RoleMerchant, m.ID, false)
	if err != nil {
		g.t.Fatal(err)
	}
	return key
}

func (g *gw) roleKey(r auth.Role) string {
	g.t.Helper()
	key, err := g.app.keys.Create(context.Background(), r, "", false)
	if err != nil {
		g.t.Fatal(err)
	}
	return key
}

// resp is a decoded answer.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

func (r resp) str(k string) string { s, _ := r.Body[k].(string); return s }
func (r resp) num(k string) int64  { f, _ := r.Body[k].(float64); return int64(f) }

// call sends a request; body may be nil, a string (sent as is) or a value
// (encoded as JSON). idem sets Idempotency-Key when not empty.
func (g *gw) call(method, path, key, idem string, body any) resp {
	g.t.Helper()
	var rd io.Reader
	var payload []byte
	switch b := body.(type) {
	case nil:
	case string:
		payload = []byte(b)
	case []byte:
		payload = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			g.t.Fatal(err)
		}
		payload = j
	}
	if body != nil {
		rd = bytes.NewReader(payload)
	}
	target := g.base + path
	if rest, ok := strings.CutPrefix(path, "/sim/"); ok {
		target = g.sim + "/" + rest
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	g.checkContract(method, path, req.Header, payload, res, raw) // every exchange against /openapi.json
	r := resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

var idemSeq struct {
	sync.Mutex
	n int
}

func newIdem() string {
	idemSeq.Lock()
	defer idemSeq.Unlock()
	idemSeq.n++
	return fmt.Sprintf("idem-%d-%d", time.Now().UnixNano(), idemSeq.n)
}

// charge creates an SMS-code charge and fails the test unless it is 201.
func (g *gw) charge(key string, body map[string]any) resp {
	g.t.Helper()
	r := g.call("POST", "/v1/charges", key, newIdem(), body)
	if r.Status != http.StatusCreated {
		g.t.Fatalf("create charge: %d %s", r.Status, r.Raw)
	}
	return r
}

func krw(msisdn string, amount int64, carrier string) map[string]any {
	return map[string]any{"amount": amount, "currency": "KRW", "msisdn": msisdn, "carrier": carrier, "description": "500 gems"}
}

// smsCode reads the newest code the simulated carrier sent to msisdn about
// one of the first test merchant's (g.key) charges or payment methods.
func (g *gw) smsCode(msisdn string) string {
	g.t.Helper()
	return g.smsCodeFor(g.key, msisdn)
}

// smsCodeFor reads the newest code sent to msisdn about one of key's
// merchant's charges or payment methods, as that merchant reads it.
func (g *gw) smsCodeFor(key, msisdn string) string {
	g.t.Helper()
	r := g.call("GET", "/v1/test_helpers/sms?msisdn="+url.QueryEscape(msisdn), key, "", nil)
	data, _ := r.Body["data"].([]any)
	if r.Status != 200 || len(data) == 0 {
		g.t.Fatalf("no SMS for the number: %d %s", r.Status, r.Raw)
	}
	// The newest text with a code: receipts and spending alerts carry none.
	for _, d := range data {
		if code, _ := d.(map[string]any)["code"].(string); code != "" {
			return code
		}
	}
	g.t.Fatalf("no SMS with a code: %s", r.Raw)
	return ""
}

// paid creates and confirms a charge, returning the confirmed answer.
func (g *gw) paid(key, msisdn string, amount int64, carrier string) resp {
	g.t.Helper()
	ch := g.charge(key, krw(msisdn, amount, carrier))
	return g.call("POST", "/v1/charges/"+ch.str("id")+"/confirm", key, "", map[string]string{"code": g.smsCodeFor(key, msisdn)})
}

// simLedger returns the simulated carrier's own books for a carrier.
func (g *gw) simLedger(carrier string) []map[string]any {
	g.t.Helper()
	r := g.call("GET", "/sim/ledger?carrier="+carrier, g.admin, "", nil)
	var out []map[string]any
	data, _ := r.Body["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any))
	}
	return out
}

// assertLedgerBalances checks invariant 3: every charge's and every refund's
// entries sum to zero, and each succeeded charge is posted exactly once.
func (g *gw) assertLedgerBalances() {
	g.t.Helper()
	db := g.store.DB
	var unbalanced int64
	if err := db.Raw(`SELECT COUNT(*) FROM (SELECT charge_id, refund_id FROM ledger_entries GROUP BY charge_id, refund_id HAVING SUM(amount) <> 0) x`).Scan(&unbalanced).Error; err != nil {
		g.t.Fatal(err)
	}
	if unbalanced != 0 {
		g.t.Fatalf("%d postings do not balance", unbalanced)
	}
	var wrong int64
	err := db.Raw(`SELECT COUNT(*) FROM charges c WHERE
		(SELECT COALESCE(SUM(amount),0) FROM ledger_entries l WHERE l.charge_id = c.id AND l.account = 'carrier_receivable')
		<> CASE WHEN c.status IN ('succeeded','partially_refunded','refunded') THEN c.amount - c.cashback_applied - c.refunded_amount ELSE 0 END`).Scan(&wrong).Error
	if err != nil {
		g.t.Fatal(err)
	}
	if wrong != 0 {
		g.t.Fatalf("%d charges whose ledger does not match amount - refunded", wrong)
	}
}

// simChargeRequests is how many createPayment requests the simulated
// carrier received: what the carrier saw, not what the gateway thinks it sent.
func (g *gw) simChargeRequests(carrier string) int64 {
	g.t.Helper()
	r := g.call("GET", "/sim/stats", g.admin, "", nil)
	cs, _ := r.Body["carriers"].(map[string]any)
	c, _ := cs[carrier].(map[string]any)
	reqs, _ := c["requests"].(map[string]any)
	n, ok := reqs[simCreatePayment].(float64)
	if !ok {
		g.t.Fatalf("no %s counter in /sim/stats: %s", simCreatePayment, r.Raw)
	}
	return int64(n)
}

const simCreatePayment = "create_payment"

// faults sets the simulator's fault injection.
func (g *gw) faults(body string) {
	g.t.Helper()
	if r := g.call("PUT", "/sim/faults", g.admin, "", body); r.Status != 200 {
		g.t.Fatalf("set faults: %d %s", r.Status, r.Raw)
	}
}

// eventually waits until cond holds, checking it every tick, and fails the
// test at the bound with what cond last said. Jobs, callbacks and
// deliveries run on their own goroutines and river polls for due work, so
// end-to-end tests wait on the outcome, never for a fixed time.
func eventually(t testing.TB, bound time.Duration, cond func() (bool, string)) {
	t.Helper()
	eventuallyExplained(t, bound, cond, nil)
}

// eventuallyExplained is eventually with explain's story added to a failure
// (computed only then: it may read a lot).
func eventuallyExplained(t testing.TB, bound time.Duration, cond func() (bool, string), explain func() string) {
	t.Helper()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			if explain != nil {
				why += explain()
			}
			t.Fatalf("after %s: %s", bound, why)
		}
	}
}

// waitFinal moves the test clock and lets the job queue work until no
// charge or refund is left undecided, or fails the test after a bound.
func (g *gw) waitFinal(bound time.Duration) {
	g.t.Helper()
	eventuallyExplained(g.t, bound, func() (bool, string) {
		var open int64
		if err := g.store.DB.Raw("SELECT (SELECT COUNT(*) FROM charges WHERE status = 'processing') + (SELECT COUNT(*) FROM refunds WHERE status = 'pending')").Scan(&open).Error; err != nil {
			return false, "count undecided: " + err.Error()
		}
		if open == 0 {
			return true, ""
		}
		g.clock.Advance(30 * time.Second) // bring status queries due
		return false, fmt.Sprintf("%d charges or refunds still undecided", open)
	}, g.undecidedStory)
}

// undecidedStory is what the gateway logged about a few undecided charges
// and refunds, so a failure says why they are stuck.
func (g *gw) undecidedStory() string {
	var ids []string
	g.store.DB.Raw("SELECT id FROM charges WHERE status = 'processing' UNION SELECT id FROM refunds WHERE status = 'pending'").Scan(&ids)
	var b strings.Builder
	for i, id := range ids {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "\n%s:", id)
		b.WriteString(g.jobsStory(id))
		lines := grepLines(g.logs.String(), id)
		if n := strings.Count(lines, "\n"); n > 10 {
			lines = lines[nthIndex(lines, '\n', n-10)+1:]
		}
		b.WriteString("\n" + lines)
	}
	return b.String()
}

// jobsStory lists the queue's jobs about one charge or refund, so a stuck
// one shows whether its status job waits, runs, or is gone.
func (g *gw) jobsStory(id string) string {
	var jobs []struct {
		ID          int64
		Kind        string
		State       string
		Attempt     int
		ScheduledAt time.Time
		Errors      string
	}
	err := g.store.DB.Raw(`SELECT id, kind, state, attempt, scheduled_at, CAST(errors AS TEXT) AS errors FROM river_job
		WHERE args->>'charge_id' = ? OR args->>'refund_id' = ? ORDER BY id`, id, id).Scan(&jobs).Error
	if err != nil {
		return "\n  jobs: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  clock %s; %d jobs", g.clock.Now().UTC().Format(time.RFC3339), len(jobs))
	for _, j := range jobs {
		fmt.Fprintf(&b, "\n  job %d %s %s attempt %d due %s errors %.300s", j.ID, j.Kind, j.State, j.Attempt, j.ScheduledAt.UTC().Format(time.RFC3339), j.Errors)
	}
	return b.String()
}

// nthIndex is the index of the n-th c in s (1-based), or -1.
func nthIndex(s string, c byte, n int) int {
	for i := range len(s) {
		if s[i] == c {
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}

// waitStatus polls a charge until it has the wanted status (callbacks and
// jobs are asynchronous), failing after a bound.
func (g *gw) waitStatus(key, id, want string) resp {
	g.t.Helper()
	var r resp
	eventually(g.t, 20*time.Second, func() (bool, string) {
		r = g.call("GET", "/v1/charges/"+id, key, "", nil)
		return r.str("status") == want, fmt.Sprintf("charge %s is %s, want %s: %s", id, r.str("status"), want, r.Raw)
	})
	return r
}

// shippedSim is the shipped configuration and the simulator it would run,
// for a test that serves the simulated operators apart from the gateway
// (behind a recorder, or knowing other secrets than the gateway).
func shippedSim(t *testing.T) (configs.Config, sim.Options) {
	t.Helper()
	cfg, err := configs.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cs, err := carrierSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cs.sim
}
