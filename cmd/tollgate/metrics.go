package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/batch"
	"tollgate/internal/problem"
	"tollgate/settlement"
)

// The business series on /metrics (docs/operations.md lists them, and
// deploy/ holds a Grafana dashboard and Prometheus alert rules on them).
// Two kinds, so billing's charge path carries no metrics code:
//   - counted where they happen, by small observers wired here: carrier HTTP
//     calls (latency per operation, retries), breaker moves, and the API's
//     declines (caps, risk, rate limits) read from the problems it answers;
//   - read from the database when Prometheus scrapes (dbCollector): charges
//     by carrier, status and failure code, the webhook backlog and its
//     oldest delivery, the job queue, settlement discrepancies. Every node
//     reports the same database totals: aggregate them with max, not sum.
type observer struct {
	carrierCalls   *prometheus.HistogramVec
	carrierRetries *prometheus.CounterVec
	breakerMoves   *prometheus.CounterVec
	declines       *prometheus.CounterVec
}

func newObserver(reg prometheus.Registerer) *observer {
	o := &observer{
		carrierCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_carrier_request_duration_seconds",
			Help: "Carrier API calls, one observation per operation (its retries included), by carrier, operation (method and path, ids as {id}) and result (2xx, 4xx, 5xx, error).",
			// Carrier calls are bounded by carrier_timeout (8 s by default).
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 4, 8, 16},
		}, []string{"carrier", "operation", "result"}),
		carrierRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_carrier_retries_total",
			Help: "Carrier API attempts beyond the first (the payment-safe retry policy's retries), by carrier and operation.",
		}, []string{"carrier", "operation"}),
		breakerMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_carrier_breaker_transitions_total",
			Help: "Circuit breaker moves, by carrier and the state moved to (available, degraded, unavailable).",
		}, []string{"carrier", "to"}),
		declines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_declines_total",
			Help: "Requests the gateway refused for the subscriber's protection or its own, by reason (cap, risk, rate_limit) and problem code.",
		}, []string{"reason", "code"}),
	}
	reg.MustRegister(o.carrierCalls, o.carrierRetries, o.breakerMoves, o.declines)
	// Every decline a gateway can count is on /metrics from the start, at
	// 0, so a rate over it is 0 rather than no data.
	for code, reason := range declineReasons {
		o.declines.WithLabelValues(reason, code)
	}
	return o
}

// startBreakers shows each carrier's breaker moves at 0 from the start.
func (o *observer) startBreakers(names []string) {
	for _, n := range names {
		for _, to := range []carriers.Health{carriers.Available, carriers.Degraded, carriers.Unavailable} {
			o.breakerMoves.WithLabelValues(n, string(to))
		}
	}
}

// declineReasons maps the problem codes the declines series counts to their reason.
var declineReasons = map[string]string{
	problem.CodeSubscriberLimitExceeded: "cap",
	problem.CodeMerchantLimitExceeded:   "cap",
	problem.CodeCarrierLimitExceeded:    "cap",
	problem.CodeCategoryLimitExceeded:   "cap",
	problem.CodeRiskDeclined:            "risk",
	problem.CodeRateLimited:             "rate_limit",
}

// breakerMoved counts one breaker move.
func (o *observer) breakerMoved(carrier, to string) {
	o.breakerMoves.WithLabelValues(carrier, to).Inc()
}

// countDecline reads the problem code of a refused request: from the error
// the handler returned, or from the problem body a middleware (the
// idempotency layer stores and replays answers) already wrote.
func (o *observer) countDecline(err error, status int, body []byte) {
	if status != http.StatusUnprocessableEntity && status != http.StatusTooManyRequests {
		return
	}
	var code string
	var p *problem.Problem
	if errors.As(err, &p) {
		code = p.Code
	} else if m := problemCode.FindSubmatch(body); m != nil {
		code = string(m[1])
	}
	if reason, ok := declineReasons[code]; ok {
		o.declines.WithLabelValues(reason, code).Inc()
	}
}

var problemCode = regexp.MustCompile(`"code"\s*:\s*"([a-z_]+)"`)

// sniffer keeps the start of an error answer's body, for countDecline.
type sniffer struct {
	http.ResponseWriter
	status int
	head   bytes.Buffer
}

func (s *sniffer) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *sniffer) Write(b []byte) (int, error) {
	if s.status >= 400 && s.head.Len() < 512 {
		s.head.Write(b[:min(len(b), 512-s.head.Len())])
	}
	return s.ResponseWriter.Write(b)
}

func (s *sniffer) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// declineMiddleware counts the declines of every request.
func (o *observer) declineMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		s := &sniffer{ResponseWriter: res.Writer}
		res.Writer = s
		err := next(c)
		status := res.Status
		if err != nil {
			// Rendered by the error handler after this returns; the
			// error itself carries the code.
			var he *echo.HTTPError
			var p *problem.Problem
			switch {
			case errors.As(err, &p):
				status = p.Status
			case errors.As(err, &he):
				status = he.Code
			}
		}
		o.countDecline(err, status, s.head.Bytes())
		return err
	}
}

// instrumentCarrierClient counts and times every carrier call made through
// the shared resilient client (carriers.NewHTTPClient): the outer
// transport sees one operation with its retries, the inner one each
// attempt. names maps a carrier's base URL to its name.
func (o *observer) instrumentCarrierClient(c *http.Client, names map[string]string) *http.Client {
	rt, ok := c.Transport.(*retryablehttp.RoundTripper)
	if !ok || rt.Client == nil || rt.Client.HTTPClient == nil {
		return c // not the client this expects: leave it alone
	}
	base := rt.Client.HTTPClient
	inner := base.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	base.Transport = attemptCounter{next: inner}
	out := *c
	out.Transport = carrierTimer{next: c.Transport, o: o, names: names}
	return &out
}

type attemptsKey struct{}

// attemptCounter counts the attempts of one operation in its context.
type attemptCounter struct{ next http.RoundTripper }

func (a attemptCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if n, ok := r.Context().Value(attemptsKey{}).(*int); ok {
		*n++ // attempts of one operation run one after another
	}
	return a.next.RoundTrip(r)
}

type carrierTimer struct {
	next  http.RoundTripper
	o     *observer
	names map[string]string // base URL → carrier
}

func (t carrierTimer) RoundTrip(r *http.Request) (*http.Response, error) {
	attempts := new(int)
	r = r.WithContext(context.WithValue(r.Context(), attemptsKey{}, attempts))
	start := time.Now()
	res, err := t.next.RoundTrip(r)
	carrier, op := t.operation(r)
	result := "error"
	if err == nil {
		result = strconv.Itoa(res.StatusCode/100) + "xx"
	}
	t.o.carrierCalls.WithLabelValues(carrier, op, result).Observe(time.Since(start).Seconds())
	if *attempts > 1 {
		t.o.carrierRetries.WithLabelValues(carrier, op).Add(float64(*attempts - 1))
	}
	return res, err
}

// operation names a carrier call by its carrier (the longest configured
// base URL the request's URL starts with) and its method and path below
// that base, with every segment that is not a plain lower-case word
// replaced by {id}: ids, references and phone numbers (tel:+82…) never
// become label values.
func (t carrierTimer) operation(r *http.Request) (carrier, op string) {
	u := r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
	carrier, rest := "other", r.URL.Path
	best := 0
	for base, name := range t.names {
		if strings.HasPrefix(u, base) && len(base) > best {
			carrier, rest, best = name, strings.TrimPrefix(u, base), len(base)
		}
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	for i, s := range segs {
		if !plainWord.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	return carrier, r.Method + " /" + strings.Join(segs, "/")
}

var plainWord = regexp.MustCompile(`^([a-z][a-z_-]{0,39}|v[0-9]{1,3}(\.[0-9]{1,3}){0,2})$`)

// dbCollector reads the series that are database state when Prometheus
// scrapes. Each query is one aggregate over an indexed or small table;
// a query that fails is logged and its series left out of that scrape.
type dbCollector struct {
	db       *gorm.DB
	now      func() time.Time
	log      *slog.Logger
	carriers func() []string // the configured carriers' names
	// unwatched counts the charges processing since before or earlier
	// that no status job asks about (billing's sweep gives them one).
	unwatched func(ctx context.Context, before time.Time) (int64, error)
}

// unwatchedAfter is how long a charge may be processing without a status
// job before tollgate_charges_unwatched counts it: the sweep gives one to
// each within carrier_timeout + 2 s and one sweep (10 s).
const unwatchedAfter = 5 * time.Minute

var (
	jobStates        = []string{"available", "scheduled", "retryable", "running"}
	discrepancyKinds = []string{settlement.KindMissingAtCarrier, settlement.KindMissingAtGateway,
		settlement.KindAmountMismatch, settlement.KindStatusMismatch, settlement.KindDuplicate}
)

var (
	descCharges = prometheus.NewDesc("tollgate_charges",
		"Charges by carrier, current status, failure code (empty unless failed) and mode (test, live).",
		[]string{"carrier", "status", "failure_code", "mode"}, nil)
	descWebhookBacklog = prometheus.NewDesc("tollgate_webhook_backlog",
		"Webhook deliveries to merchants not yet delivered nor given up (status pending).", nil, nil)
	descWebhookOldest = prometheus.NewDesc("tollgate_webhook_oldest_pending_age_seconds",
		"Age of the oldest pending webhook delivery; 0 when none is pending.", nil, nil)
	descUnwatched = prometheus.NewDesc("tollgate_charges_unwatched",
		"Charges processing for over 5 minutes with no status job waiting or running; above 0, the sweep that gives them one is not running.", nil, nil)
	descJobs = prometheus.NewDesc("tollgate_jobs",
		"Jobs in the durable queue (river) by queue and state (available, scheduled, retryable, running).", []string{"queue", "state"}, nil)
	descDiscrepancies = prometheus.NewDesc("tollgate_settlement_discrepancies",
		"Discrepancies of the current (completed, not superseded) settlement runs, by carrier and kind.", []string{"carrier", "kind"}, nil)
)

func (d dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{descCharges, descUnwatched, descWebhookBacklog, descWebhookOldest, descJobs, descDiscrepancies} {
		ch <- x
	}
}

func (d dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db := d.db.WithContext(ctx)

	var charges []struct {
		Carrier, Status, FailureCode string
		Livemode                     bool
		N                            int64
	}
	if d.ok("charges", db.Raw(`SELECT carrier, status, COALESCE(failure_code, '') AS failure_code, livemode, COUNT(*) AS n
		FROM charges GROUP BY carrier, status, COALESCE(failure_code, ''), livemode`).Scan(&charges).Error) {
		for _, c := range charges {
			mode := "test"
			if c.Livemode {
				mode = "live"
			}
			ch <- prometheus.MustNewConstMetric(descCharges, prometheus.GaugeValue, float64(c.N), c.Carrier, c.Status, c.FailureCode, mode)
		}
	}

	if n, err := d.unwatched(ctx, d.now().Add(-unwatchedAfter)); d.ok("unwatched charges", err) {
		ch <- prometheus.MustNewConstMetric(descUnwatched, prometheus.GaugeValue, float64(n))
	}

	var backlog int64
	if d.ok("webhook backlog", db.Raw(`SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&backlog).Error) {
		ch <- prometheus.MustNewConstMetric(descWebhookBacklog, prometheus.GaugeValue, float64(backlog))
		var oldest []struct{ CreatedAt time.Time }
		if d.ok("oldest webhook", db.Raw(`SELECT created_at FROM webhook_deliveries WHERE status = 'pending' ORDER BY created_at LIMIT 1`).Scan(&oldest).Error) {
			age := 0.0
			if len(oldest) == 1 {
				age = max(0, d.now().Sub(oldest[0].CreatedAt).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(descWebhookOldest, prometheus.GaugeValue, age)
		}
	}

	var jobs []struct {
		Queue, State string
		N            int64
	}
	if d.ok("jobs", db.Raw(`SELECT queue, state, COUNT(*) AS n FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state`).Scan(&jobs).Error) {
		for _, j := range jobs {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(j.N), j.Queue, j.State)
		}
	}

	// The queue's states with no job are reported at 0 on river's default queue.
	for _, state := range jobStates {
		if !slices.ContainsFunc(jobs, func(j struct {
			Queue, State string
			N            int64
		}) bool {
			return j.State == state
		}) {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, 0, river.QueueDefault, state)
		}
	}

	var disc []struct {
		Carrier, Kind string
		N             int64
	}
	if d.ok("settlement discrepancies", db.Raw(`SELECT r.carrier AS carrier, x.kind AS kind, COUNT(*) AS n
		FROM settlement_discrepancies x JOIN settlement_runs r ON r.id = x.run_id
		WHERE r.status = 'completed' AND r.superseded_by IS NULL GROUP BY r.carrier, x.kind`).Scan(&disc).Error) {
		seen := map[[2]string]bool{}
		for _, x := range disc {
			seen[[2]string{x.Carrier, x.Kind}] = true
			ch <- prometheus.MustNewConstMetric(descDiscrepancies, prometheus.GaugeValue, float64(x.N), x.Carrier, x.Kind)
		}
		// Every carrier's kinds with none are reported at 0.
		for _, c := range d.carriers() {
			for _, k := range discrepancyKinds {
				if !seen[[2]string{c, k}] {
					ch <- prometheus.MustNewConstMetric(descDiscrepancies, prometheus.GaugeValue, 0, c, k)
				}
			}
		}
	}
}

func (d dbCollector) ok(what string, err error) bool {
	if err != nil {
		d.log.Warn("metrics: reading from the database", "series", what, "error", err)
		return false
	}
	return true
}

// carrierBases maps each carrier connection's base URLs (its API, and for
// simulated carriers their settlement files) to its name, as
// carriers.NewRegistry reaches them.
func carrierBases(conns []carriers.Connection, simURL string) map[string]string {
	out := map[string]string{}
	for _, c := range conns {
		if c.Simulated {
			sim := strings.TrimRight(simURL, "/")
			out[sim+carriers.SimPath(c.Name, c.Protocol)] = c.Name
			out[sim+"/reports/"+c.Name] = c.Name
			continue
		}
		out[strings.TrimRight(c.BaseURL, "/")] = c.Name
	}
	return out
}

// batchCollector reports this node's coalesced statements (internal/batch):
// calls over batches is the mean batch size, which grows with load.
type batchCollector []func() map[string]batch.Stats

var (
	batchesDesc = prometheus.NewDesc("tollgate_batches_total",
		"Statements run for coalesced calls on this node, by batch (idempotency_claim, idempotency_answer, charge_by_key_read, payment_method_read, text_charge_read, charge_intent, charge_success).", []string{"batch"}, nil)
	batchedCallsDesc = prometheus.NewDesc("tollgate_batched_calls_total",
		"Calls those statements served, by batch; divided by tollgate_batches_total, the mean batch size.", []string{"batch"}, nil)
	batchWaitDesc = prometheus.NewDesc("tollgate_batch_wait_seconds_total",
		"Time calls spent waiting for their batch to begin (the batch before it running), by batch; divided by tollgate_batched_calls_total, the mean wait.", []string{"batch"}, nil)
	batchRunDesc = prometheus.NewDesc("tollgate_batch_run_seconds_total",
		"Time batches spent running their statements, by batch; divided by tollgate_batches_total, the mean run.", []string{"batch"}, nil)
)

func (c batchCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- batchesDesc
	ch <- batchedCallsDesc
	ch <- batchWaitDesc
	ch <- batchRunDesc
}

func (c batchCollector) Collect(ch chan<- prometheus.Metric) {
	for _, stats := range c {
		for name, st := range stats() {
			ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.CounterValue, float64(st.Batches), name)
			ch <- prometheus.MustNewConstMetric(batchedCallsDesc, prometheus.CounterValue, float64(st.Calls), name)
			ch <- prometheus.MustNewConstMetric(batchWaitDesc, prometheus.CounterValue, st.Waited.Seconds(), name)
			ch <- prometheus.MustNewConstMetric(batchRunDesc, prometheus.CounterValue, st.Ran.Seconds(), name)
		}
	}
}
