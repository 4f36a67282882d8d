package settlement

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"tollgate/carriers"
	"tollgate/carriers/sim"
	"tollgate/carriers/tokenpay"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// BenchmarkMillion reconciles 1,000,000 charges against a 1,000,000-line
// file on PostgreSQL, two ways, in the same run and on the same data:
//
//   - stream: Service.Run as the gateway runs it (the file streamed
//     through the parser, the day's charges in a compact in-memory index,
//     discrepancies written in batches, statements from the ledger);
//   - sql: the plain SQL way: COPY the parsed file into a table, then
//     classify with a join and write the discrepancies with INSERT … SELECT,
//     then the same statements query.
//
// It reports seconds and the Go heap's peak (sampled) for each. It needs
// TOLLGATE_TEST_POSTGRES_URL and seeds its own schema (about a minute):
//
//	go test -run '^$' -bench Million -benchtime 1x ./settlement
func BenchmarkMillion(b *testing.B) {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		b.Skip(storetest.EnvPostgres + " is not set")
	}
	const n = 1_000_000
	ctx := context.Background()
	st := benchStore(b, base)
	file := filepath.Join(b.TempDir(), "lgu-2026-11-24.csv")
	t0 := time.Now()
	seedMillion(b, st, file, n)
	b.Logf("seeded %d charges, %d ledger entries and a %d-line file in %s", n, 2*n, n, time.Since(t0).Round(time.Second))

	tp, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := NewService(st, carrierSet{"lgu": tp}, newResolver(st), &fixedClock{t: kst(25, 3, 0, 0)},
		Settings{Location: seoul, GatewayFeeBps: 300, CarrierShareBps: map[string]int64{"lgu": 1000}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}

	b.Run("stream", func(b *testing.B) { benchStream(b, svc, tp, file) })

	b.Run("sql", func(b *testing.B) {
		for range b.N {
			var t Totals
			var err error
			var phases string
			took, peak := measure(func() { t, phases, err = sqlWay(ctx, svc, tp, file) })
			if err != nil {
				b.Fatal(err)
			}
			report(b, took, peak)
			b.Logf("sql: %s, peak heap %.0f MiB; %d lines, matched %d, missing_at_carrier %d, missing_at_gateway %d, amount_mismatch %d, duplicates %d; %s",
				took.Round(10*time.Millisecond), peak, t.LinesRead, t.MatchedCount, t.MissingAtCarrierCount, t.MissingAtGatewayCount, t.AmountMismatchCount, t.DuplicateCount, phases)
		}
	})
}

// BenchmarkMillionSQLite is BenchmarkMillion's stream way on the embedded
// SQLite, seeded by batched INSERTs (a few minutes):
//
//	go test -run '^$' -bench MillionSQLite -benchtime 1x ./settlement
func BenchmarkMillionSQLite(b *testing.B) {
	const n = 1_000_000
	st, err := store.Open(context.Background(), storetest.URL(b, store.SQLite))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "lgu-2026-11-24.csv")
	t0 := time.Now()
	seedMillion(b, st, file, n)
	b.Logf("seeded %d charges, %d ledger entries and a %d-line file in %s", n, 2*n, n, time.Since(t0).Round(time.Second))
	tp, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := NewService(st, carrierSet{"lgu": tp}, newResolver(st), &fixedClock{t: kst(25, 3, 0, 0)},
		Settings{Location: seoul, GatewayFeeBps: 300, CarrierShareBps: map[string]int64{"lgu": 1000}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("stream", func(b *testing.B) { benchStream(b, svc, tp, file) })
}

// benchStream runs the gateway's own way b.N times and logs its phases.
func benchStream(b *testing.B, svc *Service, tp *tokenpay.Client, file string) {
	ctx := context.Background()
	for range b.N {
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		var run *Run
		took, peak := measure(func() {
			run, _, err = svc.Run(ctx, RunRequest{Carrier: "lgu", BusinessDate: "2026-11-24", Rerun: true, Report: f})
		})
		f.Close()
		if err != nil || run.Status != StatusCompleted {
			b.Fatalf("run: %v %+v", err, run)
		}
		report(b, took, peak)
		b.Logf("stream: %s, peak heap %.0f MiB; %d lines, matched %d, missing_at_carrier %d, missing_at_gateway %d, amount_mismatch %d, duplicates %d",
			took.Round(10*time.Millisecond), peak, run.LinesRead, run.MatchedCount, run.MissingAtCarrierCount, run.MissingAtGatewayCount, run.AmountMismatchCount, run.DuplicateCount)
		// Where the time goes: the phases again, one by one.
		d, _ := businessDay("2026-11-24", seoul)
		t0 := time.Now()
		ix, err := svc.loadIndex(ctx, "lgu", d)
		if err != nil {
			b.Fatal(err)
		}
		tIndex := time.Since(t0)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live := float64(ms.HeapAlloc) / (1 << 20)
		t0 = time.Now()
		f, _ = os.Open(file)
		rr := tp.ParseReport(f, d.Date)
		lines := 0
		for {
			if _, err := rr.Next(); err != nil {
				break
			}
			lines++
		}
		f.Close()
		tParse := time.Since(t0)
		t0 = time.Now()
		if _, err := svc.statements(ctx, "x", "lgu", d); err != nil {
			b.Fatal(err)
		}
		tStatements := time.Since(t0)
		b.Logf("stream phases: load the day's %d charges %s (index live on the heap: %.0f MiB), parse %d lines %s, statements %s",
			len(ix.entries), tIndex.Round(10*time.Millisecond), live, lines, tParse.Round(10*time.Millisecond), tStatements.Round(10*time.Millisecond))
		runtime.KeepAlive(ix)
	}
}

func report(b *testing.B, took time.Duration, peakMiB float64) {
	b.ReportMetric(took.Seconds(), "s/run")
	b.ReportMetric(peakMiB, "peak-heap-MiB")
}

// measure runs fn and samples the Go heap meanwhile; it returns the time
// taken and the highest HeapInuse seen, in MiB.
func measure(fn func()) (time.Duration, float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	fn()
	took := time.Since(start)
	close(stop)
	wg.Wait()
	return took, float64(peak) / (1 << 20)
}

// benchStore opens a fresh migrated schema; dropped at the end.
func benchStore(b *testing.B, base string) *store.Store {
	ctx := context.Background()
	admin, err := store.Open(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, 6)
	_, _ = rand.Read(raw)
	schema := "bench_" + hex.EncodeToString(raw)
	if err := admin.DB.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = admin.DB.Exec("DROP SCHEMA " + schema + " CASCADE").Error; _ = admin.Close() })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := store.Open(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		b.Fatal(err)
	}
	return st
}

// withPgx runs fn on one pgx connection of the store's pool.
func withPgx(ctx context.Context, st *store.Store, fn func(*pgx.Conn) error) error {
	conn, err := st.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

func benchChargeID(i int) string { return fmt.Sprintf("ch_%024d", i) }

// seedMillion writes n succeeded charges of lgu on 2026-11-24 (Seoul) over
// 100 merchants with their ledger postings, by COPY, and the day's file:
// the same n charges, except that 0.1% are left out, 0.1% billed 10% more,
// 0.1% listed twice, and 0.1% more lines that match nothing.
func seedMillion(b *testing.B, st *store.Store, file string, n int) {
	ctx := context.Background()
	from := kst(24, 0, 0, 0)
	at := func(i int) time.Time {
		return from.Add(time.Duration(int64(i)*86_399_000/int64(n)) * time.Millisecond).UTC()
	}
	amount := func(i int) int64 { return int64(100 * (1 + i%500)) }
	merchant := func(i int) string { return fmt.Sprintf("mer_%03d", i%100) }
	var err error
	if st.Dialect == store.SQLite {
		err = seedSQLite(ctx, st, n, at, amount, merchant)
	} else {
		err = withPgx(ctx, st, func(c *pgx.Conn) error {
			var ms [][]any
			for m := range 100 {
				ms = append(ms, []any{merchant(m), merchant(m), false, from})
			}
			if _, err := c.CopyFrom(ctx, pgx.Identifier{"merchants"}, []string{"id", "name", "livemode", "created_at"}, pgx.CopyFromRows(ms)); err != nil {
				return fmt.Errorf("merchants: %w", err)
			}
			i := 0
			if _, err := c.CopyFrom(ctx, pgx.Identifier{"charges"},
				[]string{"id", "merchant_id", "idempotency_key", "livemode", "status", "amount", "currency", "carrier", "msisdn_enc", "msisdn_index", "msisdn_masked", "carrier_reference", "created_at", "updated_at", "succeeded_at"},
				pgx.CopyFromFunc(func() ([]any, error) {
					if i == n {
						return nil, nil
					}
					id, t := benchChargeID(i), at(i)
					i++
					return []any{id, merchant(i - 1), id, false, "succeeded", amount(i - 1), "KRW", "lgu", "x", "x", "x", fmt.Sprintf("chg_%020d", i-1), t, t, t}, nil
				})); err != nil {
				return fmt.Errorf("charges: %w", err)
			}
			i = 0
			if _, err := c.CopyFrom(ctx, pgx.Identifier{"ledger_entries"}, []string{"merchant_id", "charge_id", "account", "amount", "currency", "created_at"},
				pgx.CopyFromFunc(func() ([]any, error) {
					if i == 2*n {
						return nil, nil
					}
					k := i / 2
					acct, amt := "carrier_receivable", amount(k)
					if i%2 == 1 {
						acct, amt = "merchant_payable", -amt
					}
					i++
					return []any{merchant(k), benchChargeID(k), acct, amt, "KRW", at(k)}, nil
				})); err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
			_, err := c.Exec(ctx, "ANALYZE charges; ANALYZE ledger_entries")
			return err
		})
	}
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rows := func(yield func(sim.ReportRow) bool) {
		for i := range n {
			r := sim.ReportRow{ClientReference: benchChargeID(i), CarrierReference: fmt.Sprintf("chg_%020d", i), Amount: amount(i), Currency: "KRW", At: at(i)}
			switch i % 1000 {
			case 1: // dropped
				continue
			case 2:
				r.Amount += r.Amount / 10
			case 3:
				if !yield(r) {
					return
				}
			case 4:
				if !yield(sim.ReportRow{ClientReference: fmt.Sprintf("ch_phantom%014d", i), CarrierReference: fmt.Sprintf("chg_phantom%014d", i), Amount: 700, Currency: "KRW", At: at(i)}) {
					return
				}
			}
			if !yield(r) {
				return
			}
		}
	}
	if err := sim.WriteReport(w, "tokenpay", "lgu", "2026-11-24", rows); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// seedSQLite writes seedMillion's rows into SQLite with multi-row INSERTs
// in one transaction.
func seedSQLite(ctx context.Context, st *store.Store, n int, at func(int) time.Time, amount func(int) int64, merchant func(int) string) error {
	tx, err := st.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insert := func(table, cols string, width, total int, row func(i int) []any) error {
		const per = 500
		ph := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
		args := make([]any, 0, per*width)
		for start := 0; start < total; start += per {
			k := min(per, total-start)
			args = args[:0]
			for i := start; i < start+k; i++ {
				args = append(args, row(i)...)
			}
			q := "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(ph+",", k), ",")
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		return nil
	}
	from := kst(24, 0, 0, 0).UTC()
	if err := insert("merchants", "id, name, livemode, created_at", 4, 100, func(m int) []any {
		return []any{merchant(m), merchant(m), false, from}
	}); err != nil {
		return err
	}
	if err := insert("charges", "id, merchant_id, idempotency_key, livemode, status, amount, currency, carrier, msisdn_enc, msisdn_index, msisdn_masked, carrier_reference, created_at, updated_at, succeeded_at", 15, n, func(i int) []any {
		id, t := benchChargeID(i), at(i)
		return []any{id, merchant(i), id, false, "succeeded", amount(i), "KRW", "lgu", "x", "x", "x", fmt.Sprintf("chg_%020d", i), t, t, t}
	}); err != nil {
		return err
	}
	if err := insert("ledger_entries", "merchant_id, charge_id, account, amount, currency, created_at", 6, 2*n, func(i int) []any {
		k := i / 2
		acct, amt := "carrier_receivable", amount(k)
		if i%2 == 1 {
			acct, amt = "merchant_payable", -amt
		}
		return []any{merchant(k), benchChargeID(k), acct, amt, "KRW", at(k)}
	}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = st.SQL.ExecContext(ctx, "ANALYZE")
	return err
}

// sqlWay is the plain SQL reconciliation of the same file: parse and COPY
// it into an unlogged table, classify with one join, INSERT … SELECT the
// discrepancies, then the same statements. Charges only, matched by client
// reference: what the bench's file holds.
func sqlWay(ctx context.Context, s *Service, rs carriers.ReportSource, file string) (Totals, string, error) {
	var t Totals
	var phases []string
	mark := time.Now()
	phase := func(name string) {
		phases = append(phases, fmt.Sprintf("%s %s", name, time.Since(mark).Round(10*time.Millisecond)))
		mark = time.Now()
	}
	f, err := os.Open(file)
	if err != nil {
		return t, "", err
	}
	defer f.Close()
	d, _ := businessDay("2026-11-24", s.cfg.Location)
	runID := newRunID()
	now := s.now()
	if err := s.db.Create(&Run{ID: runID, Carrier: "lgu", BusinessDate: d.Date, TimeZone: "Asia/Seoul", Status: StatusFailed, Source: "bench:sql", CreatedAt: now, HeartbeatAt: now}).Error; err != nil {
		return t, "", err
	}
	st := &store.Store{DB: s.db}
	st.SQL, _ = s.db.DB()
	err = withPgx(ctx, st, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS bench_lines (line_no bigint, kind text, client_reference text, carrier_reference text, amount bigint, currency text, status text);
			TRUNCATE bench_lines`); err != nil {
			return err
		}
		rr := rs.ParseReport(f, d.Date)
		var rerr error
		if _, err := c.CopyFrom(ctx, pgx.Identifier{"bench_lines"}, []string{"line_no", "kind", "client_reference", "carrier_reference", "amount", "currency", "status"},
			pgx.CopyFromFunc(func() ([]any, error) {
				l, err := rr.Next()
				if errors.Is(err, io.EOF) {
					return nil, nil
				}
				if err != nil {
					rerr = err
					return nil, err
				}
				return []any{int64(l.LineNo), string(l.Kind), l.ClientReference, l.CarrierReference, l.Amount, l.Currency, string(l.Status)}, nil
			})); err != nil {
			return errors.Join(rerr, err)
		}
		phase("parse+COPY")
		if _, err := c.Exec(ctx, `ANALYZE bench_lines`); err != nil {
			return err
		}
		phase("ANALYZE")
		// One pass over the join classifies every line; the day's charges
		// no line named are the missing ones.
		q := `
		WITH l AS (
			SELECT b.*, row_number() OVER (PARTITION BY b.client_reference ORDER BY b.line_no) AS n FROM bench_lines b
		), j AS (
			SELECT l.*, c.id AS cid, c.amount AS gamount, c.status AS gstatus, c.merchant_id
			FROM l LEFT JOIN charges c ON c.id = l.client_reference AND c.carrier = $1
		)
		INSERT INTO settlement_discrepancies (run_id, kind, object, charge_id, merchant_id, client_reference, carrier_reference, currency, gateway_amount, carrier_amount, line_no)
		SELECT $2, CASE WHEN n > 1 THEN 'duplicate' WHEN cid IS NULL THEN 'missing_at_gateway'
		                WHEN gstatus NOT IN ('succeeded', 'partially_refunded', 'refunded') THEN 'status_mismatch' ELSE 'amount_mismatch' END,
		       'charge', cid, merchant_id, client_reference, carrier_reference, currency, gamount, amount, line_no
		FROM j WHERE n > 1 OR cid IS NULL OR gstatus NOT IN ('succeeded', 'partially_refunded', 'refunded') OR gamount <> amount
		UNION ALL
		SELECT $2, 'missing_at_carrier', 'charge', c.id, c.merchant_id, '', COALESCE(c.carrier_reference, ''), c.currency, c.amount, NULL, NULL
		FROM charges c WHERE c.carrier = $1 AND c.succeeded_at >= $3 AND c.succeeded_at < $4 AND c.status IN ('succeeded', 'partially_refunded', 'refunded')
		  AND NOT EXISTS (SELECT 1 FROM bench_lines b WHERE b.client_reference = c.id)`
		if _, err := c.Exec(ctx, q, "lgu", runID, d.From, d.To); err != nil {
			return err
		}
		phase("classify+INSERT")
		return c.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM bench_lines),
			(SELECT COUNT(*) FROM bench_lines) - (SELECT COUNT(*) FROM settlement_discrepancies WHERE run_id = $1 AND kind <> 'missing_at_carrier'),
			COUNT(*) FILTER (WHERE kind = 'missing_at_carrier'), COUNT(*) FILTER (WHERE kind = 'missing_at_gateway'),
			COUNT(*) FILTER (WHERE kind = 'amount_mismatch'), COUNT(*) FILTER (WHERE kind = 'duplicate')
			FROM settlement_discrepancies WHERE run_id = $1`, runID).
			Scan(&t.LinesRead, &t.MatchedCount, &t.MissingAtCarrierCount, &t.MissingAtGatewayCount, &t.AmountMismatchCount, &t.DuplicateCount)
	})
	if err != nil {
		return t, "", err
	}
	phase("totals")
	if _, err := s.statements(ctx, runID, "lgu", d); err != nil {
		return t, "", err
	}
	phase("statements")
	return t, strings.Join(phases, ", "), nil
}
