package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"tollgate/billing"
	"tollgate/configs"
)

// backedOff counts the waiting status jobs of these charges due later than
// after from the gateway's clock.
func (g *gw) backedOff(ids []string, after time.Duration) int {
	g.t.Helper()
	res, err := g.app.jobs.JobList(context.Background(), river.NewJobListParams().
		Kinds(billing.ChargeStatusArgs{}.Kind()).States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).First(1000))
	if err != nil {
		g.t.Fatal(err)
	}
	n := 0
	for _, j := range res.Jobs {
		var args billing.ChargeStatusArgs
		if json.Unmarshal(j.EncodedArgs, &args) == nil && slices.Contains(ids, args.ChargeID) && j.ScheduledAt.After(g.clock.Now().Add(after)) {
			n++
		}
	}
	return n
}

// Charges left processing by a carrier outage end final within seconds of
// the carrier's breaker closing again, on the same gateway clock: their
// status queries, backed off to 10 minutes during the outage, run at once
// (billing.CatchUp, called from the breaker's hook), not when the backoff
// ends.
func TestChargesStuckInAnOutageEndFinalWhenTheBreakerCloses(t *testing.T) {
	t.Parallel()
	const openFor = time.Minute // far below the status jobs' 10-minute backoff
	eachStoreWith(t, func(c *configs.Config) {
		c.Breaker.OpenFor = openFor
		c.CarrierHTTP.AttemptTimeout = 2 * time.Second // a slow machine is not a carrier fault
	}, func(t *testing.T, g *gw) {
		var pms []string
		for i := range 3 {
			pms = append(pms, g.activePaymentMethod(g.key, fmt.Sprintf("+82106600020%d", i), "kt"))
		}
		charge := func(pm string) resp {
			return g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
		}

		// kt bills and never answers: two charges stay processing.
		g.faults(`{"carrier": "kt", "timeout_rate": 1}`)
		var stuck []string
		for _, pm := range pms[:2] {
			r := charge(pm)
			if r.Status != 201 || r.str("status") != "processing" {
				t.Fatalf("charge with no answer: %d %s", r.Status, r.Raw)
			}
			stuck = append(stuck, r.str("id"))
		}
		// Then kt fails everything (503: nothing done, so no charge made
		// now is left processing, and only the breaker can say kt is back).
		// An hour on, the status queries get no answer and back off 10
		// minutes; merchants' charges open the breaker.
		g.faults(`{"carrier": "kt", "timeout_rate": 0, "error_rate": 1}`)
		g.clock.Advance(time.Hour)
		eventually(t, 30*time.Second, func() (bool, string) {
			n := g.backedOff(stuck, 5*time.Minute)
			return n == len(stuck), fmt.Sprintf("%d of %d status jobs backed off", n, len(stuck))
		})
		opened := false
		for range 10 {
			if r := charge(pms[2]); r.Status == http.StatusServiceUnavailable {
				opened = true
				break
			}
		}
		if !opened {
			t.Fatal("the breaker never opened")
		}

		// kt is back. Once its open period is over, merchants' charges
		// probe it and close the breaker.
		g.faults(`{"carrier": "kt", "error_rate": 0}`)
		start := g.clock.Now()
		g.clock.Advance(openFor)
		inARow := 0
		eventually(t, 30*time.Second, func() (bool, string) {
			r := charge(pms[2])
			switch {
			case r.Status == 201 && r.str("status") == "succeeded":
				inARow++
			case r.Status == http.StatusServiceUnavailable:
				inARow = 0
				g.clock.Advance(openFor) // a probe failed on a busy machine: wait out Retry-After
			default:
				inARow = 0
			}
			return inARow >= 3 && g.app.carriers.Health("kt") == "available", fmt.Sprintf("kt did not recover: %d %s", r.Status, r.Raw)
		})

		// Within seconds, long before the clock reaches their backoff, both
		// stuck charges are final, billed once.
		eventually(t, 30*time.Second, func() (bool, string) {
			for _, id := range stuck {
				r := g.call("GET", "/v1/charges/"+id, g.key, "", nil)
				if r.str("status") != "succeeded" {
					return false, fmt.Sprintf("%s is %s; %d status jobs still backed off", id, r.str("status"), g.backedOff(stuck, time.Minute)) + g.jobsStory(id)
				}
			}
			return true, ""
		})
		if moved := g.clock.Now().Sub(start); moved >= 9*time.Minute {
			t.Fatalf("the clock moved %s since kt came back, near the backoff: the test proves nothing", moved)
		}
		for _, id := range stuck {
			billed := 0
			for _, row := range g.simLedger("kt") {
				if row["client_reference"] == id {
					billed++
				}
			}
			if billed != 1 {
				t.Fatalf("%s billed %d times", id, billed)
			}
		}
		g.assertLedgerBalances()
	})
}
