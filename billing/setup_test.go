package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers/carrierfake"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// testBundle is what a billing test works with besides the service: its
// store, a clock only the test moves, an in-process carrier whose answers
// the test chooses, what the service told merchants, and a merchant.
type testBundle struct {
	store    *store.Store
	clock    *clock.Manual
	carrier  *carrierfake.Carrier
	carriers *carrierfake.Set
	events   *eventRecorder
	merchant auth.Principal
}

// eachStore runs fn on a fresh service per database of this run, in
// parallel: every subtest has its own store.
func eachStore(t *testing.T, fn func(t *testing.T, s *Service, b *testBundle)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, d)
			fn(t, s, b)
		})
	}
}

// roomyLimits let a test send a number as many codes as it needs; tests of
// the limits themselves pass the shipped ones to setupWith.
var roomyLimits = map[string]ratelimit.Quota{
	LimitSMSPerNumber:     {Count: 1000, Per: time.Minute},
	LimitChargesPerNumber: {Count: 1000, Per: time.Minute},
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func setup(t *testing.T, d store.Dialect) (*Service, *testBundle) {
	t.Helper()
	return setupWith(t, d, roomyLimits)
}

func setupWith(t *testing.T, d store.Dialect, quotas map[string]ratelimit.Quota) (*Service, *testBundle) {
	t.Helper()
	st := storetest.New(t, d)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewManual(time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC))
	q, workers := storetest.Queue(t, st, clk)
	vault, err := msisdn.NewVault(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{store: st, clock: clk, carrier: carrierfake.New("skt"), events: &eventRecorder{}}
	b.carriers = carrierfake.NewSet(b.carrier)
	limits, err := ratelimit.NewShared(st.DB, clk, quotas)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(Deps{DB: st.DB, Carriers: b.carriers, Vault: vault, Clock: clk, Log: log, Jobs: q, Events: b.events, Limits: limits},
		Settings{CodeTTL: 5 * time.Minute, MaxAttempts: 3, CarrierTimeout: 3 * time.Second,
			LookupCacheTTL: 5 * time.Second}) // as shipped: every test runs through the node's caches
	if err != nil {
		t.Fatal(err)
	}
	RegisterWorkers(workers, s) // as production does: jobs are validated at insert
	m, err := s.CreateMerchant(context.Background(), "Shop A", false)
	if err != nil {
		t.Fatal(err)
	}
	b.merchant = auth.Principal{MerchantID: m.ID, Role: auth.RoleMerchant}
	return s, b
}

// eventRecorder is the event sink: it keeps what billing told merchants,
// as EmitTx is called. It does not follow the transaction: an event of a
// change that then rolled back stays recorded (the real outbox writes in
// the transaction; webhooks tests that). Set fail to see a change roll back
// because its event could not be recorded.
type eventRecorder struct {
	mu     sync.Mutex
	events []Event
	fail   error // when set, EmitTx fails: the change must roll back
}

func (r *eventRecorder) EmitTx(_ *gorm.DB, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, e)
	return nil
}

// types lists the event types recorded for an object, in order.
func (r *eventRecorder) types(objectID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.ObjectID == objectID {
			out = append(out, e.Type)
		}
	}
	return out
}

func i64(n int64) *int64 { return &n }

var keySeq struct {
	sync.Mutex
	n int
}

func newKey() string {
	keySeq.Lock()
	defer keySeq.Unlock()
	keySeq.n++
	return fmt.Sprintf("key-%d", keySeq.n)
}

// krw is an SMS-code charge of amount won to a test number on skt.
func krw(amount int64) ChargeParams {
	return ChargeParams{Amount: i64(amount), Currency: "KRW", MSISDN: "+821012345678", Carrier: "skt", Description: "500 gems"}
}

// wantProblem fails unless err is a problem with this status and code.
func wantProblem(t *testing.T, err error, status int, code string) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("got %v, want a %d %s problem", err, status, code)
	}
	if p.Status != status || p.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", p.Status, p.Code, p.Detail, status, code)
	}
	return p
}

// paid makes a charge and confirms it with the code the subscriber got.
func paid(t *testing.T, s *Service, b *testBundle, amount int64) *Charge {
	t.Helper()
	ctx := context.Background()
	ch, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(amount))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, lastCode(t, b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertBalanced checks invariant 3 on the bundle's store: every posting
// sums to zero and each charge's receivable equals amount - refunded.
func assertBalanced(t *testing.T, b *testBundle) {
	t.Helper()
	if twice := b.carrier.BilledTwice(); len(twice) > 0 {
		t.Fatalf("the carrier billed %v more than once", twice)
	}
	var unbalanced int64
	if err := b.store.DB.Raw(`SELECT COUNT(*) FROM (SELECT charge_id, refund_id FROM ledger_entries GROUP BY charge_id, refund_id HAVING SUM(amount) <> 0) x`).Scan(&unbalanced).Error; err != nil {
		t.Fatal(err)
	}
	if unbalanced != 0 {
		t.Fatalf("%d postings do not balance", unbalanced)
	}
	var wrong int64
	err := b.store.DB.Raw(`SELECT COUNT(*) FROM charges c WHERE
		(SELECT COALESCE(SUM(amount),0) FROM ledger_entries l WHERE l.charge_id = c.id AND l.account = 'carrier_receivable')
		<> CASE WHEN c.status IN ('succeeded','partially_refunded','refunded') THEN c.amount - c.cashback_applied - c.refunded_amount ELSE 0 END`).Scan(&wrong).Error
	if err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Fatalf("%d charges whose ledger does not match amount - refunded", wrong)
	}
}

// wantNothingWritten fails if a refused request left a charge or sent an SMS.
func wantNothingWritten(t *testing.T, b *testBundle, after string) {
	t.Helper()
	var n int64
	if err := b.store.DB.Model(&Charge{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	sms := len(b.carrier.Outbox())
	if n != 0 || sms != 0 {
		t.Fatalf("after %s: %d charges and %d SMS, want none", after, n, sms)
	}
}

// lastCode is the code in the newest SMS the subscriber got.
func lastCode(t *testing.T, b *testBundle) string {
	t.Helper()
	code := b.carrier.LastCode()
	if code == "" {
		t.Fatal("the carrier sent no SMS")
	}
	return code
}
