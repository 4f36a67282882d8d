package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"tollgate/configs"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// BenchmarkOneTapCharge is one merchant charging active payment methods
// one at a time over HTTP, as bench/run.sh does with many: the API key,
// the idempotency row, the rate limit, the risk rules, the caps and the
// carrier (the simulator, in process). Beside time and allocations it
// reports statements/op: every statement GORM ran while charging (river's
// job inserts and begin/commit go around GORM and are not in it; see
// bench/statements.sh for the server's own count). The checks run as
// shipped with only the ceilings one merchant would hit raised, like
// bench/gateway.yaml; jobs are not worked, so a count is the request's
// own. Compare builds with benchstat:
//
//	go test -run '^$' -bench OneTap -count 6 ./cmd/tollgate
func BenchmarkOneTapCharge(b *testing.B) {
	ds := []store.Dialect{store.SQLite}
	if os.Getenv(storetest.EnvPostgres) != "" {
		ds = append(ds, store.Postgres)
	}
	for _, d := range ds {
		b.Run(string(d), func(b *testing.B) { benchOneTap(b, d) })
	}
}

func benchOneTap(b *testing.B, d store.Dialect) {
	g := startWith(b, opts{dbURL: storetest.URL(b, d), noJobs: true, configure: func(c *configs.Config) {
		shipped, err := configs.Load("", func(string) string { return "" })
		if err != nil {
			b.Fatal(err)
		}
		c.Risk = shipped.Risk
		c.Risk.Velocity.MaxCount = 1_000_000
		c.Risk.Velocity.MaxAmount = map[string]int64{"KRW": 1_000_000_000}
		c.RateLimits.ChargesPerNumber = "1000000/1m"
	}})
	var pms []string
	for i := range 10 {
		number := fmt.Sprintf("+82105550%03d1", i) // ending in 1: the simulator bills it
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": number, "carrier": "skt"})
		if act := g.call("POST", "/v1/payment_methods/"+pm.str("id")+"/confirm", g.key, "", map[string]string{"code": g.smsCode(number)}); act.Status != 200 {
			b.Fatalf("activate payment method: %d %s", act.Status, act.Raw)
		}
		pms = append(pms, pm.str("id"))
	}
	var statements atomic.Int64
	count := func(*gorm.DB) { statements.Add(1) }
	cb := g.store.DB.Callback()
	for _, err := range []error{
		cb.Create().After("*").Register("bench:count", count), cb.Query().After("*").Register("bench:count", count),
		cb.Update().After("*").Register("bench:count", count), cb.Delete().After("*").Register("bench:count", count),
		cb.Row().After("*").Register("bench:count", count), cb.Raw().After("*").Register("bench:count", count),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{}
	b.ReportAllocs()
	statements.Store(0)
	b.ResetTimer()
	for i := range b.N {
		body, _ := json.Marshal(map[string]any{"amount": 100, "currency": "KRW", "payment_method": pms[i%len(pms)]})
		req, _ := http.NewRequest("POST", g.base+"/v1/charges", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", newIdem())
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || !bytes.Contains(raw, []byte(`"status":"succeeded"`)) {
			b.Fatalf("charge %d: %d %s", i, res.StatusCode, raw)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(statements.Load())/float64(b.N), "statements/op")
}
