package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/jobs"
	"tollgate/internal/msisdn"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// testSettings: a short schedule whose last wait repeats, events given up
// after a day, endpoints disabled after three days of failures.
var testSettings = Settings{
	Timeout:      5 * time.Second,
	Schedule:     []time.Duration{time.Minute, 10 * time.Minute, time.Hour},
	MaxAge:       24 * time.Hour,
	DisableAfter: 72 * time.Hour,
}

// testBundle is what a webhooks test works with: both directions wired on a
// fresh store, a clock only the test moves, a job queue that is never
// started (the test works due jobs itself, see work), a carrier whose
// callbacks the test signs, and what billing was asked to apply.
type testBundle struct {
	store    *store.Store
	clock    *clock.Manual
	jobs     *jobs.Client
	vault    *msisdn.Vault
	out      *Outbound
	in       *Inbound
	applier  *fakeApplier
	carriers *fakeCarriers
	merchant auth.Principal
	log      *slog.Logger

	mu      sync.Mutex
	snoozed map[int64]time.Time // job id → when river would run it again
}

// eachStore runs fn on a fresh bundle per database of this run, in parallel.
func eachStore(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	eachStoreWith(t, testSettings, fn)
}

func eachStoreWith(t *testing.T, cfg Settings, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, d, cfg))
		})
	}
}

// testLimits are the shipped defaults per merchant.
var testLimits = map[string]ratelimit.Quota{
	LimitRedeliveries: {Count: 100, Per: time.Hour},
	LimitEndpoints:    {Count: 20, Per: time.Hour},
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func setup(t *testing.T, d store.Dialect, cfg Settings) *testBundle {
	t.Helper()
	st := storetest.New(t, d) // river's tables included
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewManual(time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC))
	q, workers := storetest.Queue(t, st, clk)
	vault, err := msisdn.NewVault(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits == nil {
		if cfg.Limits, err = ratelimit.NewShared(st.DB, clk, testLimits); err != nil {
			t.Fatal(err)
		}
	}
	out, err := NewOutbound(st.DB, vault, clk, q, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	RegisterWorkers(workers, out) // as production does: river validates kinds at insert
	b := &testBundle{store: st, clock: clk, jobs: q, vault: vault, out: out, log: log, applier: &fakeApplier{matched: true},
		snoozed: map[int64]time.Time{}}
	b.carriers = &fakeCarriers{byName: map[string]carriers.Carrier{
		"hooky": &fakeCarrier{plainCarrier: plainCarrier{name: "hooky"}, secret: "hooky-secret"},
		"plain": plainCarrier{name: "plain"},
	}}
	if b.in, err = NewInbound(st.DB, b.carriers, b.applier, clk, log); err != nil {
		t.Fatal(err)
	}
	b.merchant = b.newMerchant(t, "mer_a")
	return b
}

func (b *testBundle) newMerchant(t *testing.T, id string) auth.Principal {
	t.Helper()
	if err := b.store.DB.Exec("INSERT INTO merchants (id, name, livemode, created_at) VALUES (?, ?, ?, ?)", id, "Shop "+id, false, b.clock.Now()).Error; err != nil {
		t.Fatal(err)
	}
	return auth.Principal{MerchantID: id, Role: auth.RoleMerchant}
}

// endpoint registers r as p's endpoint the way the API does, and tells r
// the secret to verify with.
func (b *testBundle) endpoint(t *testing.T, p auth.Principal, r *receiver, events ...string) string {
	t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	v, err := b.out.createEndpoint(context.Background(), p, endpointParams{URL: r.srv.URL, EnabledEvents: events})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = v.Secret
	r.mu.Unlock()
	return v.ID
}

// emit records an event in a committed transaction, as billing does.
func (b *testBundle) emit(t *testing.T, p auth.Principal, typ, objectID string) {
	t.Helper()
	err := b.store.DB.Transaction(func(tx *gorm.DB) error {
		return b.out.EmitTx(tx, billing.Event{MerchantID: p.MerchantID, Livemode: p.Livemode, Type: typ, ObjectID: objectID,
			Object: map[string]any{"id": objectID, "object": "charge", "amount": 5000, "currency": "KRW"}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deliveryJobs lists the delivery jobs river holds and has not finished.
func (b *testBundle) deliveryJobs(t *testing.T) []*rivertype.JobRow {
	t.Helper()
	res, err := b.jobs.JobList(context.Background(), river.NewJobListParams().Kinds(DeliverArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStateRunning).First(10_000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// work runs every delivery job due at the clock's time until none is, as a
// started queue would, and returns how many attempts it made. A job done is
// deleted; a snoozed one comes due when the clock passes its wait.
func (b *testBundle) work(t *testing.T) int {
	t.Helper()
	return b.workWith(t, &deliverWorker{o: b.out})
}

func (b *testBundle) workWith(t *testing.T, w *deliverWorker) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for {
		ran := false
		for _, row := range b.deliveryJobs(t) {
			b.mu.Lock()
			due, snoozed := b.snoozed[row.ID]
			b.mu.Unlock()
			if !snoozed {
				due = row.ScheduledAt
			}
			if due.After(b.clock.Now()) {
				continue
			}
			var args DeliverArgs
			if err := json.Unmarshal(row.EncodedArgs, &args); err != nil {
				t.Fatal(err)
			}
			ran, n = true, n+1
			err := w.Work(ctx, &river.Job[DeliverArgs]{JobRow: row, Args: args})
			var snooze *rivertype.JobSnoozeError
			switch {
			case errors.As(err, &snooze):
				b.mu.Lock()
				b.snoozed[row.ID] = b.clock.Now().Add(snooze.Duration)
				b.mu.Unlock()
			case err != nil:
				t.Fatalf("delivery job %d: %v", row.ID, err)
			default:
				if _, err := b.jobs.JobDelete(ctx, row.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !ran {
			return n
		}
	}
}

// runFor moves the clock through d, stopping at each time a delivery job
// comes due to work it, as a started queue would; the clock ends at now+d.
func (b *testBundle) runFor(t *testing.T, d time.Duration) {
	t.Helper()
	end := b.clock.Now().Add(d)
	for {
		b.work(t)
		next, ok := b.nextDue(t)
		if !ok || next.After(end) {
			b.clock.Set(end)
			return
		}
		b.clock.Set(next)
	}
}

// nextDue is when the earliest delivery job left comes due.
func (b *testBundle) nextDue(t *testing.T) (time.Time, bool) {
	t.Helper()
	var next time.Time
	for _, row := range b.deliveryJobs(t) {
		b.mu.Lock()
		due, snoozed := b.snoozed[row.ID]
		b.mu.Unlock()
		if !snoozed {
			due = row.ScheduledAt
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, !next.IsZero()
}

// deliveryRow is a delivery as stored, for assertions.
type deliveryRow struct {
	ID, EventID, EndpointID, Status string
	Attempts                        int
	NextAttemptAt                   *time.Time
}

func (b *testBundle) deliveries(t *testing.T, endpointID string) []deliveryRow {
	t.Helper()
	var out []deliveryRow
	if err := b.store.DB.Raw("SELECT id, event_id, endpoint_id, status, attempts, next_attempt_at FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY seq", endpointID).
		Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *testBundle) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := b.store.DB.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// receiver stands for a merchant's endpoint on 127.0.0.1: it fails the
// first `fail` attempts of each message, then answers `status`, and keeps
// every request it got.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	secret string
	fail   int
	status int
	reqs   []request
	tries  map[string]int // attempts per webhook-id
}

type request struct {
	Header http.Header
	Body   []byte
	Status int // what the receiver answered
}

func newReceiver(t *testing.T, fail int) *receiver {
	t.Helper()
	r := &receiver{fail: fail, status: http.StatusOK, tries: map[string]int{}}
	r.srv = serveLocal(t, http.HandlerFunc(r.serve))
	return r
}

// serveLocal starts h on 127.0.0.1, whatever httptest's flags say.
func serveLocal(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get("webhook-id")
	r.tries[id]++
	status := r.status
	if r.tries[id] <= r.fail {
		status = http.StatusInternalServerError
	}
	r.reqs = append(r.reqs, request{Header: req.Header.Clone(), Body: body, Status: status})
	w.WriteHeader(status)
}

// requests returns a copy of what the receiver got.
func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// accepted counts the 2xx answers per webhook-id.
func (r *receiver) accepted() map[string]int {
	out := map[string]int{}
	for _, q := range r.requests() {
		if q.Status >= 200 && q.Status < 300 {
			out[q.Header.Get("webhook-id")]++
		}
	}
	return out
}

// fakeApplier is billing's side of inbound callbacks: it records what it
// was asked and answers matched, or err.
type fakeApplier struct {
	mu      sync.Mutex
	calls   []carriers.Notification
	matched bool
	err     error
}

func (f *fakeApplier) ApplyCarrierResultTx(_ *gorm.DB, _ string, n carriers.Notification) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	f.calls = append(f.calls, n)
	return f.matched, nil
}

func (f *fakeApplier) applied() []carriers.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]carriers.Notification(nil), f.calls...)
}

type fakeCarriers struct{ byName map[string]carriers.Carrier }

func (c *fakeCarriers) Get(n string) (carriers.Carrier, bool) { x, ok := c.byName[n]; return x, ok }

// plainCarrier has no callbacks at all.
type plainCarrier struct{ name string }

var _ carriers.Carrier = plainCarrier{}

func (p plainCarrier) Name() string                        { return p.name }
func (p plainCarrier) Capabilities() carriers.Capabilities { return carriers.Capabilities{} }
func (plainCarrier) Charge(context.Context, carriers.ChargeRequest) (carriers.Result, error) {
	return carriers.Result{}, carriers.ErrUnsupported
}
func (plainCarrier) Refund(context.Context, carriers.RefundRequest) (carriers.Result, error) {
	return carriers.Result{}, carriers.ErrUnsupported
}
func (plainCarrier) Status(context.Context, carriers.Reference) (carriers.Result, error) {
	return carriers.Result{}, carriers.ErrUnsupported
}

// fakeCarrier signs its callbacks with an HMAC of timestamp and body, and
// refuses any more than five minutes old at the time it is handed.
type fakeCarrier struct {
	plainCarrier
	secret string
}

var _ carriers.WebhookParser = (*fakeCarrier)(nil)

const callbackTolerance = 5 * time.Minute

// callback is the fake carrier's message body.
type callback struct {
	ID      string `json:"id"`
	Ref     string `json:"ref"`
	Outcome string `json:"outcome"`
}

func (f *fakeCarrier) sign(at time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(f.secret))
	m.Write([]byte(strconv.FormatInt(at.Unix(), 10) + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (f *fakeCarrier) ParseWebhook(h http.Header, body []byte, now time.Time) (carriers.Notification, error) {
	ts, err := strconv.ParseInt(h.Get("X-Timestamp"), 10, 64)
	if err != nil {
		return carriers.Notification{}, carriers.ErrBadSignature
	}
	at := time.Unix(ts, 0)
	if !hmac.Equal([]byte(h.Get("X-Signature")), []byte(f.sign(at, body))) || now.Sub(at).Abs() > callbackTolerance {
		return carriers.Notification{}, carriers.ErrBadSignature
	}
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return carriers.Notification{}, carriers.ErrInvalidRequest
	}
	return carriers.Notification{MessageID: cb.ID, Kind: "charge", ClientReference: cb.Ref,
		Result: carriers.Result{Outcome: carriers.Outcome(cb.Outcome)}, OccurredAt: at}, nil
}
