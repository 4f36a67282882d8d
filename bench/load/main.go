// Command load drives one-tap charges against running tollgate gateways
// (round-robin over -targets) with vegeta and reports charges/s and the
// latency percentiles; with -webhooks it also measures how long a charge's
// charge.succeeded event takes to reach a receiver on 127.0.0.1.
//
// It sets itself up through the API with the merchant key it is given
// (tollgate merchants create prints one): -payment-methods one-tap payment
// methods on random test numbers, each confirmed with the code read from
// GET /v1/test_helpers/sms, so no per-number limit is what it measures.
// Every charge has its own Idempotency-Key.
//
// Closed loop (-concurrency N, -rate 0): N charges in flight, each worker
// sending the next as soon as its answer arrives. Open loop (-rate R): a
// charge starts every 1/R s whatever the answers, and latency counts from
// the scheduled start, so a stall shows in the tail instead of slowing the
// load down.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"tollgate/internal/msisdn"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type options struct {
	targets     []string
	key         string
	concurrency int
	rate        int
	duration    time.Duration
	warmup      time.Duration
	methods     int
	carrier     string
	amount      int
	webhooks    bool
	label       string
	timeline    string
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	targets := fs.String("targets", "http://127.0.0.1:8080", "gateways, comma-separated (charges go round-robin)")
	var o options
	fs.StringVar(&o.key, "key", "", "a test merchant key (tollgate merchants create --name Bench)")
	fs.IntVar(&o.concurrency, "concurrency", 32, "charges in flight (closed loop), or the workers open loop starts with")
	fs.IntVar(&o.rate, "rate", 0, "open loop: charges started per second; 0 = closed loop")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before measuring (connections, caches), not counted: closed loop, or the open loop's own rate with -rate")
	fs.IntVar(&o.methods, "payment-methods", 200, "one-tap payment methods (numbers) charged round-robin")
	fs.StringVar(&o.carrier, "carrier", "skt", "the simulated carrier")
	fs.IntVar(&o.amount, "amount", 100, "amount per charge in KRW (minor units)")
	fs.BoolVar(&o.webhooks, "webhooks", false, "also register a webhook endpoint on 127.0.0.1 and measure answer → charge.succeeded arrival")
	fs.StringVar(&o.label, "label", "", "a name printed with the summary")
	fs.StringVar(&o.timeline, "timeline", "", "also write each charge's start (ms since the first) and latency (ms) to this file, one per line: where in time the slow ones fall")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.key == "" {
		return errors.New("-key is required")
	}
	for _, t := range strings.Split(*targets, ",") {
		t = strings.TrimRight(strings.TrimSpace(t), "/")
		u, err := url.Parse(t)
		if err != nil || u.Hostname() == "" {
			return fmt.Errorf("-targets: %q is not a URL", t)
		}
		// The bench talks to this machine only.
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("-targets: %s is not a loopback address", t)
		}
		o.targets = append(o.targets, t)
	}
	ctx := context.Background()
	c := &client{http: &http.Client{Timeout: 30 * time.Second}, key: o.key}

	var recv *receiver
	if o.webhooks {
		var err error
		if recv, err = startReceiver(); err != nil {
			return err
		}
		defer recv.close()
		if err := c.post(ctx, o.targets[0]+"/v1/webhook_endpoints", "", map[string]any{
			"url": recv.url, "enabled_events": []string{"charge.succeeded"}, "description": "bench",
		}, nil); err != nil {
			return fmt.Errorf("webhook endpoint: %w", err)
		}
	}

	t0 := time.Now()
	pms, err := setupMethods(ctx, c, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "load: %d payment methods confirmed in %s; charging from %s\n", len(pms), time.Since(t0).Round(time.Millisecond), time.Now().UTC().Format("2006-01-02 15:04:05.000"))

	run := newRunID()
	var n atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		i := n.Add(1) - 1
		body, _ := json.Marshal(map[string]any{"amount": o.amount, "currency": "KRW", "payment_method": pms[i%uint64(len(pms))], "description": "bench"})
		t.Method = http.MethodPost
		t.URL = o.targets[i%uint64(len(o.targets))] + "/v1/charges"
		t.Body = body
		t.Header = http.Header{
			"Authorization":   {"Bearer " + o.key},
			"Content-Type":    {"application/json"},
			"Idempotency-Key": {fmt.Sprintf("bench-%s-%d", run, i)},
		}
		return nil
	}
	attacker := func(workers, max int) *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(max)),
			vegeta.KeepAlive(true), vegeta.Connections(1000), vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow))
	}
	warm := 0
	if o.warmup > 0 {
		// Warm up as the measurement will run: an open loop at its own rate,
		// not a closed loop at full concurrency, whose backlog (receipts,
		// a queue of commits) would land in the first second measured.
		wa, wp := attacker(o.concurrency, o.concurrency), vegeta.Pacer(vegeta.ConstantPacer{})
		if o.rate > 0 {
			wa, wp = attacker(o.concurrency, 1<<20), vegeta.ConstantPacer{Freq: o.rate, Per: time.Second}
		}
		for range wa.Attack(targeter, wp, o.warmup, "warmup") {
			warm++
		}
	}
	if recv != nil {
		recv.reset()
	}

	var (
		pacer vegeta.Pacer = vegeta.ConstantPacer{} // zero: as fast as the workers go
		a                  = attacker(o.concurrency, o.concurrency)
		mode               = fmt.Sprintf("closed loop, %d concurrent", o.concurrency)
	)
	if o.rate > 0 {
		pacer = vegeta.ConstantPacer{Freq: o.rate, Per: time.Second}
		a = attacker(o.concurrency, 1<<20) // open loop: never wait for a free worker
		mode = fmt.Sprintf("open loop, %d/s", o.rate)
	}
	began := time.Now()
	var (
		lat      []time.Duration
		starts   []time.Duration // since began, for -timeline
		errs     = map[string]int{}
		answered = map[string]time.Time{} // charge id → answer received
		last     time.Time
	)
	for r := range a.Attack(targeter, pacer, o.duration, "charges") {
		l := r.Latency
		if o.rate > 0 {
			// From the scheduled start: vegeta's constant pacer sends the
			// seq-th charge (from 0) at (seq+1)/rate after it begins,
			// and it was due then whether or not it could start.
			due := began.Add(time.Duration(r.Seq+1) * time.Second / time.Duration(o.rate))
			if d := r.End().Sub(due); d > l {
				l = d
			}
		}
		lat = append(lat, l)
		starts = append(starts, r.End().Add(-l).Sub(began))
		if r.End().After(last) {
			last = r.End()
		}
		var ch struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		switch {
		case r.Error != "" && r.Code == 0:
			errs["transport: "+r.Error]++
		case r.Code != http.StatusOK && r.Code != http.StatusCreated:
			errs[fmt.Sprintf("HTTP %d: %.120s", r.Code, r.Body)]++
		case json.Unmarshal(r.Body, &ch) != nil || ch.Status != "succeeded":
			errs[fmt.Sprintf("status %q", ch.Status)]++
		default:
			answered[ch.ID] = r.End()
		}
	}
	if o.timeline != "" {
		if err := writeTimeline(o.timeline, starts, lat); err != nil {
			return err
		}
	}
	elapsed := last.Sub(began)
	s := summary{Label: o.label, Mode: mode, Gateways: len(o.targets), Charges: len(lat), Seconds: elapsed.Seconds(), Warmup: warm}
	s.PerSecond = float64(len(lat)) / elapsed.Seconds()
	s.P50, s.P99, s.P999, s.Max = percentiles(lat)
	for _, v := range errs {
		s.Errors += v
	}
	s.ErrorKinds = errs
	if recv != nil {
		s.Webhooks = recv.measure(answered, 30*time.Second)
	}
	return s.print(stdout)
}

// writeTimeline writes each charge's start and latency in milliseconds,
// one charge per line in the order the answers came.
func writeTimeline(path string, starts, lat []time.Duration) error {
	var b bytes.Buffer
	for i := range lat {
		fmt.Fprintf(&b, "%.1f %.1f\n", float64(starts[i].Microseconds())/1000, float64(lat[i].Microseconds())/1000)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// summary is what one run measured; the last line of the output is it as
// JSON, for bench/run.sh.
type summary struct {
	Label      string          `json:"label,omitempty"`
	Mode       string          `json:"mode"`
	Gateways   int             `json:"gateways"`
	Charges    int             `json:"charges"`
	Warmup     int             `json:"warmup_charges"` // charged before measuring, not counted
	Seconds    float64         `json:"seconds"`
	PerSecond  float64         `json:"charges_per_s"`
	P50        ms              `json:"p50_ms"`
	P99        ms              `json:"p99_ms"`
	P999       ms              `json:"p999_ms"`
	Max        ms              `json:"max_ms"`
	Errors     int             `json:"errors"`
	ErrorKinds map[string]int  `json:"error_kinds,omitempty"`
	Webhooks   *webhookFigures `json:"webhooks,omitempty"`
}

type webhookFigures struct {
	Expected int `json:"expected"`
	Received int `json:"received"`
	P50      ms  `json:"p50_ms"`
	P99      ms  `json:"p99_ms"`
	P999     ms  `json:"p999_ms"`
	Max      ms  `json:"max_ms"`
}

// ms is a duration printed in milliseconds.
type ms float64

func msOf(d time.Duration) ms { return ms(float64(d.Microseconds()) / 1000) }

func (s summary) print(w io.Writer) error {
	fmt.Fprintf(w, "%s%s, %d gateway(s): %d charges in %.1fs = %.0f charges/s; p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms; %d errors\n",
		prefix(s.Label), s.Mode, s.Gateways, s.Charges, s.Seconds, s.PerSecond, s.P50, s.P99, s.P999, s.Max, s.Errors)
	for k, v := range s.ErrorKinds {
		fmt.Fprintf(w, "  %d× %s\n", v, k)
	}
	if wf := s.Webhooks; wf != nil {
		fmt.Fprintf(w, "%swebhooks: %d of %d received; answer → arrival p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms\n",
			prefix(s.Label), wf.Received, wf.Expected, wf.P50, wf.P99, wf.P999, wf.Max)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func prefix(label string) string {
	if label == "" {
		return ""
	}
	return label + ": "
}

func percentiles(d []time.Duration) (p50, p99, p999, max ms) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(q float64) ms { return msOf(d[min(len(d)-1, int(q*float64(len(d))))]) }
	return at(0.50), at(0.99), at(0.999), msOf(d[len(d)-1])
}

// client makes the setup calls.
type client struct {
	http *http.Client
	key  string
}

func (c *client) do(ctx context.Context, method, u, idem string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, req.URL.Path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *client) post(ctx context.Context, u, idem string, in, out any) error {
	return c.do(ctx, http.MethodPost, u, idem, in, out)
}

// setupMethods makes and confirms o.methods one-tap payment methods on
// fresh random numbers, 16 at a time.
func setupMethods(ctx context.Context, c *client, o options) ([]string, error) {
	pms := make([]string, o.methods)
	errc := make(chan error, o.methods)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range pms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			base := o.targets[i%len(o.targets)]
			id, err := setupMethod(ctx, c, base, o.carrier)
			if err != nil {
				errc <- err
				return
			}
			pms[i] = id
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("payment methods: %w", err)
	}
	return pms, nil
}

func setupMethod(ctx context.Context, c *client, base, carrier string) (string, error) {
	var (
		number string
		pm     struct {
			ID string `json:"id"`
		}
	)
	for try := 0; ; try++ {
		number = randomNumber()
		err := c.post(ctx, base+"/v1/payment_methods", "bench-pm-"+newRunID(), map[string]string{"msisdn": number, "carrier": carrier}, &pm)
		if err == nil {
			break
		}
		// A few ranges are not allocated to mobiles (libphonenumber's
		// metadata): draw another number.
		if !strings.Contains(err.Error(), "invalid_msisdn") || try == 20 {
			return "", err
		}
	}
	var inbox struct {
		Data []struct {
			Code      string `json:"code"`
			Reference string `json:"reference"`
		} `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, base+"/v1/test_helpers/sms?msisdn="+url.QueryEscape(number), "", nil, &inbox); err != nil {
		return "", err
	}
	code := ""
	for _, m := range inbox.Data {
		if m.Code != "" && (m.Reference == "" || m.Reference == pm.ID || code == "") {
			code = m.Code
			if m.Reference == pm.ID {
				break
			}
		}
	}
	if code == "" {
		return "", fmt.Errorf("no code texted for %s", pm.ID)
	}
	if err := c.post(ctx, base+"/v1/payment_methods/"+pm.ID+"/confirm", "", map[string]string{"code": code}, nil); err != nil {
		return "", err
	}
	return pm.ID, nil
}

// randomNumber is a Korean mobile number whose last digit is 1, so the
// simulator makes every charge succeed (0002–0007 choose failures), and one
// the gateway accepts: libphonenumber refuses 010-5970 to 010-5999.
func randomNumber() string {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(8_000_000))
		if err != nil {
			panic(err)
		}
		number := fmt.Sprintf("+8210%07d1", 2_000_000+n.Int64()) // 010-2xxx-xxx1 to 010-9xxx-xxx1
		if _, err := msisdn.Parse(number, ""); err == nil {
			return number
		}
	}
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// receiver is the merchant's webhook endpoint, on 127.0.0.1.
type receiver struct {
	url  string
	srv  *http.Server
	mu   sync.Mutex
	got  map[string]time.Time // charge id → first arrival
	wake chan struct{}
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook", got: map[string]time.Time{}, wake: make(chan struct{}, 1)}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.NewDecoder(req.Body).Decode(&ev); err == nil && ev.Type == "charge.succeeded" {
		r.mu.Lock()
		if _, ok := r.got[ev.Data.Object.ID]; !ok {
			r.got[ev.Data.Object.ID] = at
		}
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.got)
}

func (r *receiver) close() { _ = r.srv.Close() }

// measure waits up to wait for every answered charge's event, then gives
// the delays from each answer to its event's arrival (an event that beat
// its answer counts as 0).
func (r *receiver) measure(answered map[string]time.Time, wait time.Duration) *webhookFigures {
	deadline := time.After(wait)
waiting:
	for {
		r.mu.Lock()
		n := 0
		for id := range answered {
			if _, ok := r.got[id]; ok {
				n++
			}
		}
		r.mu.Unlock()
		if n == len(answered) {
			break
		}
		select {
		case <-r.wake:
		case <-deadline:
			break waiting
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := &webhookFigures{Expected: len(answered)}
	var d []time.Duration
	for id, at := range answered {
		if got, ok := r.got[id]; ok {
			d = append(d, max(0, got.Sub(at)))
		}
	}
	f.Received = len(d)
	f.P50, f.P99, f.P999, f.Max = percentiles(d)
	return f
}
