package main

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx": the campaign reads the books itself
)

// options are one campaign's settings.
type options struct {
	seed     uint64
	duration time.Duration // of the chaos; setup and the checks come on top
	nodes    int
	workers  int
	quiesce  time.Duration // the bound on waiting for every charge to be final
	keep     bool          // keep the logs' directory even when every check holds
	bin      string        // a tollgate binary to run; empty: build ./cmd/tollgate
	out      io.Writer
}

// report is what a campaign found.
type report struct {
	Seed                                   uint64
	Kills, Restarts, PGRestarts            int
	CarrierDowns, Waves, Toxics, LinkDowns int
	ClockTicks                             int
	TimeToFinal                            time.Duration // from "carrier faults stopped" until no charge or refund was undecided
	FinalAfterFaults                       int           // charges or refunds undecided when the faults stopped (or after)
	AgedByClock                            int           // of those, undecided when a clock tick moved a week: not in TimeToFinal
	WebhookClockMove                       bool          // the test clock had to move for the last webhooks
	Failures                               []string
}

// campaign is the running state.
type campaign struct {
	o      options
	start  time.Time
	dir    string
	bin    string
	env    []string
	pg     *cluster
	net    *network
	sim    *proc
	simURL string
	token  string
	nodes  []*proc
	bases  []string
	db     *sql.DB
	admin  []*client // one per node: the clock is each node's own
	merch  *client
	recv   *receiver
	rep    *report

	checks        []invariant
	missingHooks  []string // final charges whose event never arrived
	expectedHooks int
	book          *ledgerBook
	traffic       *traffic
	faultsStopped time.Time

	agedMu sync.Mutex
	aged   map[string]bool // undecided when the test clock moved a week

	repMu sync.Mutex // rep's counters and failures, written by holds' goroutines too

	clockMu sync.Mutex
	clock   time.Duration   // how far every node's test clock has been moved
	applied []time.Duration // how far each node's clock has been moved
}

func (c *campaign) failf(format string, args ...any) {
	c.repMu.Lock()
	defer c.repMu.Unlock()
	c.rep.Failures = append(c.rep.Failures, fmt.Sprintf(format, args...))
}

func (c *campaign) logf(format string, args ...any) {
	fmt.Fprintf(c.o.out, "[%7s] %s\n", time.Since(c.start).Round(100*time.Millisecond), fmt.Sprintf(format, args...))
}

func randomSecret(n int) []byte {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return b
}

// run is one whole campaign: set up, chaos, quiescence, checks. The error
// is for a campaign that could not run; failed invariants are in the report.
func run(ctx context.Context, o options) (*report, error) {
	c := &campaign{o: o, start: time.Now(), rep: &report{Seed: o.seed}, aged: map[string]bool{}}
	fmt.Fprintf(o.out, "chaos seed %d (replay: go run ./chaos --seed %d --duration %s --nodes %d)\n", o.seed, o.seed, o.duration, o.nodes)
	schedule := plan(o.seed, o.duration, o.nodes)
	fmt.Fprintf(o.out, "schedule (%d events):\n", len(schedule))
	for _, e := range schedule {
		fmt.Fprintf(o.out, "  %s\n", e)
	}
	var err error
	if c.dir, err = os.MkdirTemp("", "tollgate-chaos-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if ok && !o.keep {
			_ = os.RemoveAll(c.dir)
		} else {
			fmt.Fprintf(o.out, "logs kept in %s\n", c.dir)
		}
	}()
	defer c.shutdown()
	if err := c.setUp(ctx); err != nil {
		return nil, err
	}
	if err := c.chaos(ctx, schedule); err != nil {
		return nil, err
	}
	c.check(ctx)
	c.print()
	ok = len(c.rep.Failures) == 0
	return c.rep, nil
}

func (c *campaign) setUp(ctx context.Context) error {
	var err error
	c.logf("PostgreSQL: a cluster of our own (initdb)")
	if c.pg, err = newCluster(ctx); err != nil {
		return err
	}
	c.logf("PostgreSQL on %s, data in %s", c.pg.Addr(), c.pg.dir)
	if err := c.pg.createDatabase(ctx, "tollgate"); err != nil {
		return err
	}
	if c.bin = c.o.bin; c.bin == "" {
		c.logf("building tollgate")
		if c.bin, err = buildTollgate(ctx, c.dir); err != nil {
			return err
		}
	}
	config := filepath.Join(c.dir, "gateway.yaml")
	if err := os.WriteFile(config, []byte(gatewayConfig), 0o644); err != nil {
		return err
	}
	c.token = hex.EncodeToString(randomSecret(16))
	c.env = []string{"TOLLGATE_CONFIG=" + config, "TOLLGATE_SECRET_KEY=" + base64.StdEncoding.EncodeToString(randomSecret(32)),
		"TOLLGATE_SIM_TOKEN=" + c.token, "TOLLGATE_MODE=test"}
	direct := append(append([]string{}, c.env...), "TOLLGATE_DATABASE_URL="+c.pg.URL("tollgate"))
	if err := command(ctx, c.bin, direct, nil, "migrate"); err != nil {
		return err
	}
	var m struct {
		APIKey string `json:"api_key"`
	}
	if err := command(ctx, c.bin, direct, &m, "merchants", "create", "--name", "Chaos Shop"); err != nil {
		return err
	}
	var admin struct {
		APIKey string `json:"api_key"`
	}
	if err := command(ctx, c.bin, direct, &admin, "keys", "create", "--role", "admin"); err != nil {
		return err
	}
	if c.db, err = sql.Open("pgx", c.pg.URL("tollgate")); err != nil {
		return err
	}

	simPort, err := freePort()
	if err != nil {
		return err
	}
	simAddr := fmt.Sprintf("127.0.0.1:%d", simPort)
	c.simURL = "http://" + simAddr + "/sim"
	c.sim = &proc{name: "sim", bin: c.bin, args: []string{"sim", "--listen", simAddr}, env: c.env, log: filepath.Join(c.dir, "sim.log")}
	if err := c.sim.start(); err != nil {
		return err
	}
	if err := waitTCP(ctx, simAddr, time.Minute); err != nil {
		return err
	}

	c.net = newNetwork()
	for i := range c.o.nodes {
		simProxy, err := c.net.proxy(fmt.Sprintf("sim-%d", i), simAddr)
		if err != nil {
			return err
		}
		pgProxy, err := c.net.proxy(fmt.Sprintf("pg-%d", i), c.pg.Addr())
		if err != nil {
			return err
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		listen := fmt.Sprintf("127.0.0.1:%d", port)
		env := append(append([]string{}, c.env...),
			fmt.Sprintf("TOLLGATE_DATABASE_URL=postgres://postgres@%s/tollgate?sslmode=disable", pgProxy),
			fmt.Sprintf("TOLLGATE_SIM_URL=http://%s/sim", simProxy))
		n := &proc{name: fmt.Sprintf("node %d", i), bin: c.bin, args: []string{"serve", "--listen", listen}, env: env,
			log: filepath.Join(c.dir, fmt.Sprintf("node%d.log", i))}
		if err := n.start(); err != nil {
			return err
		}
		c.nodes = append(c.nodes, n)
		c.bases = append(c.bases, "http://"+listen)
	}
	for _, b := range c.bases {
		if err := waitHTTP(ctx, b+"/readyz", 2*time.Minute); err != nil {
			return err
		}
	}
	c.logf("simulator at %s; %d gateway nodes at %s, each through its own proxies to the simulator and to PostgreSQL", simAddr, c.o.nodes, strings.Join(c.bases, ", "))

	hc := &http.Client{Timeout: 30 * time.Second}
	c.merch = &client{nodes: c.bases, out: make([]atomic.Bool, len(c.bases)), key: m.APIKey, http: hc, patience: 3 * time.Minute, answers: map[string]int{}}
	c.applied = make([]time.Duration, c.o.nodes)
	for _, b := range c.bases {
		c.admin = append(c.admin, &client{nodes: []string{b}, key: admin.APIKey, http: hc, patience: 30 * time.Second, answers: map[string]int{}})
	}

	if c.recv, err = startReceiver(); err != nil {
		return err
	}
	ep, err := c.merch.do(ctx, "POST", "/v1/webhook_endpoints", "", map[string]any{"url": c.recv.url, "enabled_events": []string{"*"}})
	if err != nil {
		return err
	}
	if ep.Status != 201 {
		return fmt.Errorf("webhook endpoint: %d %s", ep.Status, ep.Raw)
	}
	if err := c.recv.setSecret(ep.str("secret")); err != nil {
		return err
	}
	return nil
}

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s", addr, bound)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// paymentMethods makes the traffic's one-tap payment methods (each carrier:
// numbers that succeed, one answered later, one billed and never answered,
// one declined) and, on two more numbers of each carrier that the traffic
// leaves alone (so their renewals are not refused by a cap the traffic
// filled), weekly subscriptions.
func (c *campaign) paymentMethods(ctx context.Context) ([]paymentMethod, error) {
	r := rand.New(rand.NewPCG(c.o.seed, 7))
	type want struct {
		number, carrier string
		subscribe       bool
	}
	var wants []want
	for _, carrier := range simCarriers {
		for _, last4 := range []string{"1111", "2221", "3331", "4441", "0005", "0006", "0002"} {
			wants = append(wants, want{number: testNumber(r, last4), carrier: carrier})
		}
		for _, last4 := range []string{"5551", "6661"} {
			wants = append(wants, want{number: testNumber(r, last4), carrier: carrier, subscribe: true})
		}
	}
	pms := make([]paymentMethod, len(wants))
	errs := make([]error, len(wants))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, w := range wants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := setupPaymentMethod(ctx, c.merch, w.number, w.carrier, fmt.Sprintf("chaos-%d-pm-%d", c.o.seed, i))
			pms[i], errs[i] = paymentMethod{ID: id, Carrier: w.carrier}, err
			if err == nil && w.subscribe {
				_, errs[i] = setupSubscription(ctx, c.merch, id, w.number, fmt.Sprintf("chaos-%d-sub-%d", c.o.seed, i))
			}
		}()
	}
	wg.Wait()
	var charged []paymentMethod
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		if !wants[i].subscribe {
			charged = append(charged, pms[i])
		}
	}
	return charged, nil
}

// advanceClocks moves every node's test clock to c.clock: the nodes'
// clocks are each their own (an offset in memory), so the campaign moves
// them together, and a restarted node, back at the wall clock, is moved to
// where the others are.
func (c *campaign) advanceClocks(ctx context.Context, by time.Duration) {
	c.clockMu.Lock()
	defer c.clockMu.Unlock()
	c.clock += by
	for i := range c.nodes {
		c.syncClock(ctx, i)
	}
}

// syncClock moves node i's clock to c.clock and reports whether it is
// there. Callers hold clockMu.
func (c *campaign) syncClock(ctx context.Context, i int) bool {
	d := c.clock - c.applied[i]
	if d <= 0 {
		return true
	}
	if !c.nodes[i].running() {
		return false
	}
	a, err := c.admin[i].do(ctx, "POST", "/v1/test_helpers/clock/advance", "", map[string]any{"seconds": int64(d / time.Second)})
	if err != nil || a.Status != 200 {
		c.logf("node %d: clock not moved (%v %d %s); left out until the next tick", i, err, a.Status, a.Raw)
		c.merch.out[i].Store(true)
		return false
	}
	c.applied[i] = c.clock
	c.merch.out[i].Store(false)
	return true
}

// simFaults sets the simulator's faults directly (not through a proxy).
func (c *campaign) simFaults(ctx context.Context, body string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, c.simURL+"/faults", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sim faults: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("sim faults: %d %s", res.StatusCode, b)
	}
	return nil
}

const noFaults = `{"carrier": "*", "error_rate": 0, "timeout_rate": 0, "reset_rate": 0, "latency_ms": 0, "down": false}`

// restartNode starts node i again and brings its clock to the others'.
func (c *campaign) restartNode(ctx context.Context, i int) {
	if c.nodes[i].running() {
		return
	}
	if err := c.nodes[i].start(); err != nil {
		c.failf("node %d did not start again: %v", i, err)
		return
	}
	c.clockMu.Lock()
	c.applied[i] = 0
	c.clockMu.Unlock()
	if err := waitHTTP(ctx, c.bases[i]+"/healthz", 2*time.Minute); err != nil {
		c.failf("node %d did not come back: %v", i, err)
		return
	}
	c.clockMu.Lock()
	synced := c.syncClock(ctx, i)
	c.clockMu.Unlock()
	if synced {
		c.merch.out[i].Store(false) // on the others' clock: back behind the load balancer
	}
	c.repMu.Lock()
	c.rep.Restarts++
	c.repMu.Unlock()
}

// chaos runs the traffic and the schedule for the campaign's duration, then
// stops every fault and waits for the traffic's last answers.
func (c *campaign) chaos(ctx context.Context, schedule []event) error {
	c.logf("setting up payment methods and subscriptions")
	pms, err := c.paymentMethods(ctx)
	if err != nil {
		return err
	}
	t := &traffic{c: c.merch, seed: c.o.seed, pms: pms, book: newLedgerBook(), logf: c.logf}
	c.book, c.traffic = t.book, t
	c.logf("%d payment methods, %d weekly subscriptions; chaos for %s with %d merchants' goroutines", len(pms), 2*len(simCarriers), c.o.duration, c.o.workers)

	chaosCtx, stopChaos := context.WithTimeout(ctx, c.o.duration)
	defer stopChaos()
	trafficDone := make(chan struct{})
	go func() { t.run(chaosCtx, c.o.workers); close(trafficDone) }()

	var undo sync.WaitGroup // each hold ends on its own timer, or when the chaos does
	began := time.Now()
	for _, e := range schedule {
		select {
		case <-chaosCtx.Done():
		case <-time.After(time.Until(began.Add(e.At))):
		}
		if chaosCtx.Err() != nil {
			break
		}
		c.logf("%s", e)
		c.act(ctx, chaosCtx, e, &undo)
	}
	<-chaosCtx.Done()
	undo.Wait()

	// Every fault off, every node up: "carrier faults stopped".
	for i := range c.nodes {
		c.restartNode(ctx, i)
	}
	if err := c.simFaults(ctx, noFaults); err != nil {
		return err
	}
	if err := c.net.calm(); err != nil {
		return err
	}
	c.faultsStopped = time.Now()
	c.logf("carrier faults stopped, every node up; waiting for the merchants' last answers and every charge to be final")
	c.watchUndecided(ctx, trafficDone)
	return nil
}

// act carries out one event; a hold ends when its time is up or the chaos is.
func (c *campaign) act(ctx, chaosCtx context.Context, e event, undo *sync.WaitGroup) {
	later := func(fn func()) {
		undo.Add(1)
		go func() {
			defer undo.Done()
			select {
			case <-chaosCtx.Done():
			case <-time.After(e.Hold):
			}
			fn()
		}()
	}
	fail := func(err error) {
		if err != nil {
			c.logf("  could not: %v", err)
		}
	}
	switch e.Act {
	case actKill:
		if !c.nodes[e.Node].running() {
			c.logf("  node %d is already down", e.Node)
			return
		}
		c.merch.out[e.Node].Store(true)
		c.nodes[e.Node].kill()
		c.rep.Kills++
		later(func() { c.restartNode(ctx, e.Node); c.logf("node %d back", e.Node) })
	case actPGRestart:
		t0 := time.Now()
		fail(c.pg.Restart(ctx))
		c.rep.PGRestarts++
		c.logf("  PostgreSQL restarted in %s", time.Since(t0).Round(time.Millisecond))
	case actCarrierDown:
		c.rep.CarrierDowns++
		if e.ViaProxy {
			for i := range c.nodes {
				fail(c.net.setEnabled(fmt.Sprintf("sim-%d", i), false))
			}
			later(func() {
				for i := range c.nodes {
					fail(c.net.setEnabled(fmt.Sprintf("sim-%d", i), true))
				}
				c.logf("carriers reachable again")
			})
			return
		}
		fail(c.simFaults(ctx, fmt.Sprintf(`{"carrier": %q, "down": true}`, e.Carrier)))
		later(func() {
			fail(c.simFaults(ctx, fmt.Sprintf(`{"carrier": %q, "down": false}`, e.Carrier)))
			c.logf("%s up again", e.Carrier)
		})
	case actCarrierWave:
		c.rep.Waves++
		fail(c.simFaults(ctx, e.Faults))
		later(func() {
			fail(c.simFaults(ctx, fmt.Sprintf(`{"carrier": %q, "error_rate": 0, "timeout_rate": 0, "reset_rate": 0, "latency_ms": 0}`, e.Carrier)))
		})
	case actToxic:
		c.rep.Toxics++
		proxy := fmt.Sprintf("%s-%d", e.Link, e.Node)
		fail(c.net.add(proxy, e.Toxic))
		later(func() { c.net.remove(proxy, e.Toxic.Name) })
	case actLinkDown:
		c.rep.LinkDowns++
		proxy := fmt.Sprintf("%s-%d", e.Link, e.Node)
		fail(c.net.setEnabled(proxy, false))
		later(func() { fail(c.net.setEnabled(proxy, true)) })
	case actClock:
		c.rep.ClockTicks++
		c.tick(ctx, chaosCtx)
	}
}

// tick moves every node's test clock a week on, so subscriptions renew.
// A status query backs off by the age of what it asks about (up to 10
// minutes), so a charge undecided while a week passes on the clock would
// wait out that backoff: the tick holds new requests back and waits (a
// bounded while) for the ones under way and for every undecided charge,
// then moves the clock. Whatever is still undecided is aged by the tick;
// quiescence tells those apart.
func (c *campaign) tick(ctx, chaosCtx context.Context) {
	bound := min(20*time.Second, c.o.duration/10)
	c.traffic.paused.Store(true)
	defer c.traffic.paused.Store(false)
	deadline := time.Now().Add(bound)
	for c.traffic.inflight.Load() > 0 && time.Now().Before(deadline) && chaosCtx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	var ids []string
	for chaosCtx.Err() == nil {
		var err error
		ids, err = c.undecidedIDs(ctx)
		if err == nil && len(ids) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(ids) > 0 {
		c.logf("  %d charges or refunds undecided as the clock moves: aged a week", len(ids))
		c.agedMu.Lock()
		for _, id := range ids {
			c.aged[id] = true
		}
		c.agedMu.Unlock()
	}
	c.advanceClocks(ctx, clockStep)
}

func (c *campaign) shutdown() {
	for _, n := range c.nodes {
		n.stop()
	}
	if c.sim != nil {
		c.sim.stop()
	}
	if c.net != nil {
		c.net.close()
	}
	if c.recv != nil {
		c.recv.close()
	}
	if c.db != nil {
		_ = c.db.Close()
	}
	if c.pg != nil {
		c.pg.remove()
	}
}
