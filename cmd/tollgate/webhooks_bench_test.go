package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// BenchmarkWebhookDelivery measures outbound webhooks end to end: each
// event is written in its own committed transaction (a state change), and a
// local receiver notes when the signed POST arrives. It reports deliveries
// per second and the p50/p99 time from commit to receipt. PostgreSQL when
// TOLLGATE_TEST_POSTGRES_URL is set, else SQLite.
func BenchmarkWebhookDelivery(b *testing.B) {
	d := store.SQLite
	if os.Getenv(storetest.EnvPostgres) != "" {
		d = store.Postgres
	}
	b.StopTimer()
	g := startWith(b, opts{dbURL: storetest.URL(b, d)})
	var mu sync.Mutex
	var lat []time.Duration
	done := make(chan struct{}, 1<<16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Data struct {
				Object struct {
					At int64 `json:"at"`
				} `json:"object"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &ev)
		mu.Lock()
		lat = append(lat, time.Since(time.Unix(0, ev.Data.Object.At)))
		mu.Unlock()
		w.WriteHeader(204)
		done <- struct{}{}
	}))
	defer srv.Close()
	res := g.call("POST", "/v1/webhook_endpoints", g.key, "", map[string]any{"url": srv.URL, "enabled_events": []string{"*"}})
	var merchantID string
	g.store.DB.Raw("SELECT merchant_id FROM webhook_endpoints WHERE id = ?", res.str("id")).Scan(&merchantID)

	n := max(b.N, 2000)
	start := time.Now()
	b.StartTimer()
	var wg sync.WaitGroup
	per := n / 8
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				err := g.store.DB.Transaction(func(tx *gorm.DB) error {
					return g.app.outbound.EmitTx(tx, billing.Event{MerchantID: merchantID, Type: billing.EventChargeSucceeded,
						ObjectID: "ch_bench", Object: map[string]any{"id": w*per + i, "at": time.Now().UnixNano()}})
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	emitted := time.Since(start)
	total := per * 8
	timeout := time.After(5 * time.Minute)
	for range total {
		select {
		case <-done:
		case <-timeout:
			b.Fatal("deliveries did not finish")
		}
	}
	b.StopTimer()
	elapsed := time.Since(start)
	mu.Lock()
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	mu.Unlock()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(p50.Milliseconds()), "p50_ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99_ms")
	b.Logf("%s: %d events committed in %s; delivered in %s; p50 %s, p99 %s", d, total, emitted.Round(time.Millisecond), elapsed.Round(time.Millisecond), p50, p99)
}

// BenchmarkWebhookDrain separates the two halves: events are committed with
// the job queue stopped, then the queue starts and drains them. It reports
// commits per second (state changes with their events) and deliveries per
// second (signed POSTs recorded).
func BenchmarkWebhookDrain(b *testing.B) {
	d := store.SQLite
	if os.Getenv(storetest.EnvPostgres) != "" {
		d = store.Postgres
	}
	b.StopTimer()
	g := startWith(b, opts{dbURL: storetest.URL(b, d), noJobs: true})
	done := make(chan struct{}, 1<<16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(204)
		done <- struct{}{}
	}))
	defer srv.Close()
	res := g.call("POST", "/v1/webhook_endpoints", g.key, "", map[string]any{"url": srv.URL, "enabled_events": []string{"*"}})
	var merchantID string
	g.store.DB.Raw("SELECT merchant_id FROM webhook_endpoints WHERE id = ?", res.str("id")).Scan(&merchantID)
	const total = 4000
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / 8 {
				if err := g.store.DB.Transaction(func(tx *gorm.DB) error {
					return g.app.outbound.EmitTx(tx, billing.Event{MerchantID: merchantID, Type: billing.EventChargeSucceeded, ObjectID: "ch_bench", Object: map[string]any{"id": w*total + i}})
				}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	committed := time.Since(start)
	b.StartTimer()
	start = time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.app.jobs.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer g.app.jobs.Stop(context.Background())
	timeout := time.After(5 * time.Minute)
	for range total {
		select {
		case <-done:
		case <-timeout:
			b.Fatal("deliveries did not finish")
		}
	}
	drained := time.Since(start)
	b.StopTimer()
	b.ReportMetric(total/committed.Seconds(), "commits/s")
	b.ReportMetric(total/drained.Seconds(), "deliveries/s")
	b.Logf("%s: %d events committed in %s (%.0f/s); delivered in %s (%.0f/s)", d, total, committed.Round(time.Millisecond), total/committed.Seconds(), drained.Round(time.Millisecond), total/drained.Seconds())
}
