package settlement

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/carriers"
	"tollgate/carriers/tokenpay"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// fixedClock is a settable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// fileCarrier is a token-API carrier whose settlement file is a string.
type fileCarrier struct {
	*tokenpay.Client
	mu   sync.Mutex
	file string
}

func (f *fileCarrier) FetchReport(context.Context, string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return io.NopCloser(strings.NewReader(f.file)), nil
}

func (f *fileCarrier) setFile(s string) {
	f.mu.Lock()
	f.file = s
	f.mu.Unlock()
}

type carrierSet map[string]carriers.Carrier

func (c carrierSet) Get(n string) (carriers.Carrier, bool) { x, ok := c[n]; return x, ok }
func (c carrierSet) Names() []string {
	var out []string
	for n := range c {
		out = append(out, n)
	}
	return out
}

// resolver is billing as settlement sees it: billing's own reads of the
// books, and a record of what the file settled instead of settling it.
type resolver struct {
	*billing.Books
	mu    sync.Mutex
	calls map[string]carriers.Result
}

func newResolver(st *store.Store) *resolver {
	return &resolver{Books: billing.NewBooks(st.DB), calls: map[string]carriers.Result{}}
}

func (r *resolver) ApplyChargeResult(ctx context.Context, id string, res carriers.Result, _ error) error {
	r.mu.Lock()
	r.calls[id] = res
	r.mu.Unlock()
	return nil
}

// env is a settlement service on a fresh store with one carrier, lgu.
type env struct {
	t       *testing.T
	st      *store.Store
	clock   *fixedClock
	carrier *fileCarrier
	res     *resolver
	svc     *Service
	seq     int
}

var seoul, _ = time.LoadLocation("Asia/Seoul")

// kst is a time on 2026-11-24 (the test's business day) in Seoul.
func kst(day, h, m, s int) time.Time { return time.Date(2026, 11, day, h, m, s, 0, seoul) }

func setup(t *testing.T, st *store.Store) *env {
	t.Helper()
	tp, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: &fixedClock{t: kst(25, 3, 0, 0)}, carrier: &fileCarrier{Client: tp}}
	e.res = newResolver(st)
	e.svc, err = NewService(st, carrierSet{"lgu": e.carrier}, e.res, e.clock, Settings{
		Location: seoul, Hour: 3, GatewayFeeBps: 300, MerchantFeeBps: map[string]int64{"mer_b": 250},
		CarrierShareBps: map[string]int64{"lgu": 1000}, BatchSize: 3, // small batches: every path runs more than once
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"mer_a", "mer_b"} {
		e.create(&billing.Merchant{ID: m, Name: m, CreatedAt: time.Now().UTC()})
	}
	return e
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if err := e.st.DB.Exec(q, args...).Error; err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

// create writes billing's rows through billing's own model types, so the
// fixtures name none of its tables or columns.
func (e *env) create(v any) {
	e.t.Helper()
	if err := e.st.DB.Create(v).Error; err != nil {
		e.t.Fatalf("create %T: %v", v, err)
	}
}

// charge writes a charge; a billed one also gets its ledger posting at succeededAt.
func (e *env) charge(id, merchant, status string, amount int64, carrierRef string, succeededAt time.Time) {
	e.t.Helper()
	e.seq++
	ch := &billing.Charge{ID: id, MerchantID: merchant, IdempotencyKey: id, Status: billing.Status(status), Amount: amount, Currency: "KRW", Carrier: "lgu",
		MSISDNEnc: "x", MSISDNIndex: "x", MSISDNMasked: "x", Metadata: "{}", CreatedAt: kst(24, 12, 0, 0).UTC()}
	if !succeededAt.IsZero() {
		ch.CreatedAt, ch.SucceededAt = succeededAt.Add(-time.Minute).UTC(), ptr(succeededAt.UTC())
	}
	ch.UpdatedAt = ch.CreatedAt
	if carrierRef != "" {
		ch.CarrierReference = &carrierRef
	}
	e.create(ch)
	if billed(status) {
		e.post(merchant, id, nil, amount, succeededAt)
	}
}

// refund writes a succeeded refund of charge and its ledger posting.
func (e *env) refund(id, chargeID, merchant string, amount int64, carrierRef string, at time.Time) {
	e.t.Helper()
	e.create(&billing.Refund{ID: id, ChargeID: chargeID, MerchantID: merchant, IdempotencyKey: id, Amount: amount, Currency: "KRW",
		Status: billing.RefundSucceeded, CarrierReference: &carrierRef, CreatedAt: at.UTC(), UpdatedAt: at.UTC()})
	if err := e.st.DB.Model(&billing.Charge{}).Where("id = ?", chargeID).Updates(map[string]any{
		"refund_reserved": gorm.Expr("refund_reserved + ?", amount), "refunded_amount": gorm.Expr("refunded_amount + ?", amount),
	}).Error; err != nil {
		e.t.Fatal(err)
	}
	e.post(merchant, chargeID, &id, -amount, at)
}

func (e *env) post(merchant, chargeID string, refundID *string, amount int64, at time.Time) {
	e.t.Helper()
	e.create(&[]billing.LedgerEntry{
		{MerchantID: merchant, ChargeID: chargeID, RefundID: refundID, Account: billing.AccountCarrierReceivable, Amount: amount, Currency: "KRW", CreatedAt: at.UTC()},
		{MerchantID: merchant, ChargeID: chargeID, RefundID: refundID, Account: billing.AccountMerchantPayable, Amount: -amount, Currency: "KRW", CreatedAt: at.UTC()},
	})
}

func ptr[T any](v T) *T { return &v }

// tpFile writes a token-API settlement file for lgu on 2026-11-24.
func tpFile(rows ...string) string {
	var b strings.Builder
	b.WriteString("H|TOKENPAY-SETTLEMENT|lgu|20261124\nreference|transaction_id|type|amount|currency|status|completed_at\n")
	var total int64
	for _, r := range rows {
		b.WriteString(r + "\n")
		f := strings.Split(r, "|")
		n, _ := carriers.ParseMinor(f[3])
		total += n
	}
	b.WriteString("T|" + itoa(int64(len(rows))) + "|" + itoa(total) + "\n")
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (e *env) run(rerun bool) (*Run, Outcome) {
	e.t.Helper()
	r, out, err := e.svc.Run(context.Background(), RunRequest{Carrier: "lgu", BusinessDate: "2026-11-24", Rerun: rerun})
	if err != nil {
		e.t.Fatal(err)
	}
	return r, out
}

func (e *env) discrepancies(run *Run) []Discrepancy {
	e.t.Helper()
	var out []Discrepancy
	if _, err := e.svc.Discrepancies(context.Background(), run, DiscrepancyParams{All: true}, func(d Discrepancy) error {
		out = append(out, d)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, st *store.Store) { fn(t, setup(t, st)) })
}
