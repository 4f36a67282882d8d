package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/sim"
	"tollgate/configs"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

var carrierNames = []string{"skt", "kt", "lgu"}

// Under 20% 5xx, 10% timeouts and 5% resets on every carrier, a few hundred
// one-tap charges all end final; the carriers' books and the gateway's
// succeeded charges are the same set; nothing is billed twice; and at least
// 95% succeed, because transient faults are absorbed, not shown.
func TestChaosEveryChargeEndsFinalAndTheBooksAgree(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			g := start(t, d)
			pms := map[string][]string{}
			for i, c := range carrierNames {
				for j := range 4 {
					pms[c] = append(pms[c], g.activePaymentMethod(g.key, fmt.Sprintf("+8210555%02d%03d", i, j+10), c))
				}
			}
			g.faults(`{"carrier": "*", "error_rate": 0.2, "timeout_rate": 0.1, "reset_rate": 0.05}`)

			const perCarrier = 100
			type job struct{ carrier, pm, key string }
			var work []job
			for _, c := range carrierNames {
				for i := range perCarrier {
					work = append(work, job{c, pms[c][i%len(pms[c])], fmt.Sprintf("chaos-%s-%d", c, i)})
				}
			}
			queue := make(chan job)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ids := map[string]string{}
			for range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range queue {
						body := map[string]any{"amount": 1000, "currency": "KRW", "payment_method": j.pm}
						for try := 0; ; try++ {
							r := g.call("POST", "/v1/charges", g.key, j.key, body)
							// A breaker that opens under 35 % faults is half-open after
							// Retry-After, and its one probe may meet a fault again: a
							// merchant keeps honouring Retry-After (20 tries ran out
							// once on a loaded machine).
							if r.Status == http.StatusServiceUnavailable && try < 100 {
								wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
								g.clock.Advance(time.Duration(wait) * time.Second) // a merchant honouring Retry-After
								continue
							}
							if r.Status != http.StatusCreated {
								t.Errorf("charge %s: %d %s", j.key, r.Status, r.Raw)
							}
							mu.Lock()
							ids[r.str("id")] = j.carrier
							mu.Unlock()
							break
						}
					}
				}()
			}
			for _, j := range work {
				queue <- j
			}
			close(queue)
			wg.Wait()
			g.faults(`{"carrier": "*", "error_rate": 0, "timeout_rate": 0, "reset_rate": 0}`)
			g.waitFinal(150 * time.Second) // SQLite under -race on a doubly loaded machine needed more than 90 s once

			var rows []struct {
				ID, Status, Carrier string
			}
			g.store.DB.Raw("SELECT id, status, carrier FROM charges WHERE payment_method_id IS NOT NULL").Scan(&rows)
			if len(rows) != len(work) {
				t.Fatalf("%d charges stored for %d requests", len(rows), len(work))
			}
			succeeded := map[string]bool{}
			for _, r := range rows {
				if r.Status == "succeeded" {
					succeeded[r.ID] = true
				} else if r.Status != "failed" {
					t.Errorf("charge %s ended %s", r.ID, r.Status)
				}
			}
			billed := map[string]int{}
			for _, c := range carrierNames {
				for _, row := range g.simLedger(c) {
					billed[row["client_reference"].(string)]++
				}
			}
			for ref, n := range billed {
				if n != 1 {
					t.Errorf("reference %s billed %d times", ref, n)
				}
				if _, ours := ids[ref]; ours && !succeeded[ref] {
					t.Errorf("carrier billed %s but the gateway says it did not succeed", ref)
				}
			}
			for id := range succeeded {
				if billed[id] != 1 {
					t.Errorf("gateway says %s succeeded but the carrier did not bill it", id)
				}
			}
			ratio := float64(len(succeeded)) / float64(len(work))
			t.Logf("%d of %d charges succeeded (%.1f%%) under injected faults", len(succeeded), len(work), 100*ratio)
			if ratio < 0.95 {
				t.Errorf("only %.1f%% succeeded; transient faults should be absorbed", 100*ratio)
			}
			g.assertLedgerBalances()
		})
	}
}

// A carrier taken down opens its breaker and fails fast, the others are
// untouched, and it recovers by itself when it comes back.
func TestACarrierDownOpensItsBreakerAndRecovers(t *testing.T) {
	t.Parallel()
	// Open for an hour of the gateway's clock: however slow the machine, the
	// breaker closes only when the test moves the clock, never on its own.
	const openFor = time.Hour
	eachStoreWith(t, func(c *configs.Config) {
		c.Breaker.OpenFor = openFor
		c.CarrierHTTP.AttemptTimeout = 2 * time.Second // a slow machine is not a carrier fault
	}, func(t *testing.T, g *gw) {
		down := g.activePaymentMethod(g.key, "+821066000011", "kt")
		up := g.activePaymentMethod(g.key, "+821066000012", "skt")
		g.faults(`{"carrier": "kt", "down": true}`)
		charge := func(pm string) resp {
			return g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
		}
		opened := false
		for range 10 {
			r := charge(down)
			if r.Status == http.StatusServiceUnavailable {
				if r.str("code") != "carrier_unavailable" || r.Header.Get("Retry-After") == "" {
					t.Fatalf("fail-fast answer: %v %s", r.Header, r.Raw)
				}
				opened = true
				break
			}
		}
		if !opened {
			t.Fatal("the breaker never opened")
		}
		before := g.simChargeRequests("kt")
		for range 20 {
			if r := charge(down); r.Status != http.StatusServiceUnavailable {
				t.Fatalf("open breaker let a charge through: %d %s", r.Status, r.Raw)
			}
		}
		if after := g.simChargeRequests("kt"); after != before {
			t.Fatalf("an open breaker reached the carrier %d times", after-before)
		}
		carriersList := g.call("GET", "/v1/carriers", g.key, "", nil)
		states := map[string]string{}
		for _, c := range carriersList.Body["data"].([]any) {
			m := c.(map[string]any)
			states[m["name"].(string)] = m["status"].(string)
		}
		if states["kt"] != "unavailable" || states["skt"] != "available" || states["lgu"] != "available" {
			t.Fatalf("carrier states %v", states)
		}
		if r := charge(up); r.Status != 201 || r.str("status") != "succeeded" {
			t.Fatalf("another carrier was affected: %d %s", r.Status, r.Raw)
		}
		var n int64
		g.store.DB.Raw("SELECT COUNT(*) FROM idempotency_keys WHERE response_status = 503").Scan(&n)
		if n != 0 {
			t.Fatalf("%d 503 answers were kept for replay", n)
		}

		g.faults(`{"carrier": "kt", "down": false}`)
		if r := charge(down); r.Status != http.StatusServiceUnavailable {
			t.Fatalf("the breaker closed before its open period was over: %d %s", r.Status, r.Raw)
		}
		g.clock.Advance(openFor)
		// Half-open lets a few probes through; their success closes it. The
		// status queries of the charges sent while kt was down probe too,
		// and on a busy machine one of them may time out and open it again:
		// then the merchant waits out Retry-After (the clock moves) and
		// tries again. Recovered means three charges in a row succeed and
		// the breaker reports closed.
		inARow := 0
		eventually(t, 30*time.Second, func() (bool, string) {
			r := charge(down)
			switch {
			case r.Status == 201 && r.str("status") == "succeeded":
				inARow++
			case r.Status == http.StatusServiceUnavailable:
				inARow = 0
				g.clock.Advance(openFor)
			default:
				inARow = 0
			}
			if inARow < 3 {
				return false, fmt.Sprintf("kt did not recover: %d %s", r.Status, r.Raw)
			}
			m := g.call("GET", "/metrics", "", "", nil)
			return containsLine(string(m.Raw), `tollgate_carrier_breaker_state{carrier="kt"} 0`),
				"breaker metric does not show kt closed again:\n" + grepLines(string(m.Raw), "breaker")
		})
		// Charges that were sent while the carrier was down never reached it:
		// the status job finds that out and fails them; nothing was billed.
		g.waitFinal(60 * time.Second)
		g.assertLedgerBalances()
	})
}

func containsLine(text, line string) bool {
	for _, l := range splitLines(text) {
		if l == line {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// A charge whose outcome is unknown when the gateway dies is finished by
// the next gateway: the status job was committed with the answer that left
// it undecided.
func TestRestartLosesNoStatusJob(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			simSrv := httptest.NewServer(sim.New(sim.Options{Carriers: carrierNames, Secrets: map[string]string{"skt": "sim-skt-notification-token", "lgu": "sim-lgu-callback-secret"}}).Handler())
			defer simSrv.Close()
			dbURL := storetest.URL(t, d)
			a := startWith(t, opts{dbURL: dbURL, simURL: simSrv.URL + "/sim", noJobs: true})
			pm := a.activePaymentMethod(a.key, "+821077000001", "kt")
			// Every try is billed and then never answered.
			a.faults(`{"carrier": "kt", "timeout_rate": 1}`)
			r := a.call("POST", "/v1/charges", a.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
			if r.Status != 201 || r.str("status") != "processing" {
				t.Fatalf("charge with no answer: %d %s", r.Status, r.Raw)
			}
			id := r.str("id")
			a.faults(`{"carrier": "kt", "timeout_rate": 0}`)
			a.stop() // the gateway dies; its job was never worked

			b := startWith(t, opts{dbURL: dbURL, simURL: simSrv.URL + "/sim"})
			b.clock.Advance(time.Minute)
			got := b.waitStatus(a.key, id, "succeeded")
			if got.str("carrier_reference") == "" {
				t.Fatalf("resolved without a carrier reference: %s", got.Raw)
			}
			billed := 0
			for _, row := range b.simLedger("kt") {
				if row["client_reference"] == id {
					billed++
				}
			}
			if billed != 1 {
				t.Fatalf("billed %d times", billed)
			}
			b.assertLedgerBalances()
		})
	}
}

var _ = store.SQLite

func grepLines(text, sub string) string {
	var out string
	for _, l := range splitLines(text) {
		if strings.Contains(l, sub) {
			out += l + "\n"
		}
	}
	return out
}

// The gateway dies after the subscriber's code was validated at the carrier
// and the charge moved to processing, before the confirm left: the carrier
// holds the payment reserved, and no status job asks about the charge. The
// leader's sweep gives it one, and that job confirms it, once. (This is
// also what proves the gateway runs the sweep.)
func TestALostConfirmIsSentAgainByTheStatusJob(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		ctx := context.Background()
		ch := g.charge(g.key, krw("+821077003333", 3000, "skt"))
		id := ch.str("id")
		var authRef string
		g.store.DB.Raw("SELECT authorization_ref FROM charges WHERE id = ?", id).Scan(&authRef)
		c, _ := g.app.carriers.Get("skt")
		if _, err := c.(carriers.Authorizer).Verify(ctx, carriers.VerifyRequest{AuthorizationID: authRef, Reference: id, Code: g.smsCode("+821077003333")}); err != nil {
			t.Fatal(err)
		}
		// What ConfirmCharge commits before it calls the carrier, then dies.
		if err := g.store.DB.Exec("UPDATE charges SET status = 'processing', code_hash = NULL WHERE id = ?", id).Error; err != nil {
			t.Fatal(err)
		}
		got := g.waitFinalCharge(g.key, id)
		if got.str("status") != "succeeded" {
			t.Fatalf("lost confirm: %s", got.Raw)
		}
		billed := 0
		for _, row := range g.simLedger("skt") {
			if row["client_reference"] == id {
				billed++
			}
		}
		if billed != 1 {
			t.Fatalf("billed %d times", billed)
		}
		g.assertLedgerBalances()
	})
}
