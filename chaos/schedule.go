package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// What the schedule does, each at its offset from the start of the chaos.
const (
	actKill        = "kill -9"          // a node, restarted after Hold
	actPGRestart   = "postgres restart" // pg_ctl restart -m fast
	actCarrierDown = "carrier down"     // for Hold: the simulator's down fault, or every node's proxy to it disabled
	actCarrierWave = "carrier faults"   // error/timeout/reset rates for Hold
	actToxic       = "toxic"            // a toxic on one node's link for Hold
	actLinkDown    = "link down"        // one node's proxy disabled for Hold
	actClock       = "clock"            // every node's test clock moved on by clockStep
)

// clockStep renews weekly subscriptions: a week and an hour, inside the
// carriers' recurring window, so each tick makes one period due.
const clockStep = 7*24*time.Hour + time.Hour

// event is one step of the schedule.
type event struct {
	At      time.Duration
	Act     string
	Node    int // kill, toxic, link down
	Hold    time.Duration
	Carrier string // "*" or a carrier
	// ViaProxy: the carrier is taken down by disabling the proxies to the
	// simulator (the network) rather than by its down fault.
	ViaProxy bool
	Faults   string // carrier wave: PUT /sim/faults body
	Link     string // "sim" or "pg"
	Toxic    toxic
}

func (e event) String() string {
	s := fmt.Sprintf("%7s  %s", e.At.Round(100*time.Millisecond), e.Act)
	switch e.Act {
	case actKill:
		s += fmt.Sprintf(" node %d, restart after %s", e.Node, e.Hold)
	case actCarrierDown:
		if e.ViaProxy {
			s += fmt.Sprintf(" every carrier for %s (every node's proxy to the simulator disabled)", e.Hold)
		} else {
			s += fmt.Sprintf(" %s for %s (the simulator's down fault)", e.Carrier, e.Hold)
		}
	case actCarrierWave:
		s += fmt.Sprintf(" for %s: %s", e.Hold, e.Faults)
	case actToxic:
		s += fmt.Sprintf(" node %d %s link for %s: %s", e.Node, e.Link, e.Hold, e.Toxic)
	case actLinkDown:
		s += fmt.Sprintf(" node %d %s link for %s", e.Node, e.Link, e.Hold)
	case actClock:
		s += fmt.Sprintf(" +%s", clockStep)
	}
	return s
}

var simCarriers = []string{"skt", "kt", "lgu"}

// plan draws the whole schedule from the seed before anything runs, so a
// seed names one schedule of faults and kills: the same seed, duration and
// node count replay it.
func plan(seed uint64, d time.Duration, nodes int) []event {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(r.Int64N(int64(hi-lo)+1)) }
	frac := func(a, b float64) time.Duration {
		return between(time.Duration(a*float64(d)), time.Duration(b*float64(d)))
	}
	var evs []event

	// kill -9s: one per 2.5 minutes, at least one; spread over [10%, 80%]
	// of the run, each in its own slot so two never overlap.
	kills := max(1, int(d/(150*time.Second)))
	slot := time.Duration(0.7 * float64(d) / float64(kills))
	for i := range kills {
		lo := time.Duration(0.1*float64(d)) + time.Duration(i)*slot
		evs = append(evs, event{At: between(lo, lo+slot*2/3), Act: actKill, Node: r.IntN(nodes), Hold: between(2*time.Second, 6*time.Second)})
	}
	// One PostgreSQL restart, in the middle.
	evs = append(evs, event{At: frac(0.3, 0.6), Act: actPGRestart})
	// A carrier down for a minute (a quarter of a short run).
	hold := min(time.Minute, d/4)
	evs = append(evs, event{At: frac(0.15, 0.7) - hold/2, Act: actCarrierDown, Carrier: simCarriers[r.IntN(3)], Hold: hold, ViaProxy: r.IntN(2) == 0})
	// Carrier fault waves, every 20–40 s.
	for at := between(2*time.Second, 10*time.Second); at < d*85/100; at += between(20*time.Second, 40*time.Second) {
		c := "*"
		if r.IntN(2) == 0 {
			c = simCarriers[r.IntN(3)]
		}
		rate := func(hi float64) float64 { return float64(r.IntN(int(hi*100)+1)) / 100 }
		evs = append(evs, event{At: at, Act: actCarrierWave, Carrier: c, Hold: between(8*time.Second, 20*time.Second),
			Faults: fmt.Sprintf(`{"carrier": %q, "error_rate": %.2f, "timeout_rate": %.2f, "reset_rate": %.2f, "latency_ms": %d}`,
				c, rate(0.3), rate(0.15), rate(0.1), r.IntN(300))})
	}
	// Network faults on one node's link, every 10–25 s.
	for at := between(5*time.Second, 15*time.Second); at < d*85/100; at += between(10*time.Second, 25*time.Second) {
		e := event{At: at, Node: r.IntN(nodes), Link: []string{"sim", "pg"}[r.IntN(2)], Hold: between(3*time.Second, 12*time.Second)}
		if r.IntN(6) == 0 {
			e.Act, e.Hold = actLinkDown, between(2*time.Second, 6*time.Second)
		} else {
			e.Act, e.Toxic = actToxic, drawToxic(r, e.Link)
		}
		evs = append(evs, e)
	}
	// The test clock: weekly subscriptions renew at each tick. Three, in the
	// second half: the standalone simulator's clock does not move, so after
	// the first tick it signs lgu's callbacks at a time the gateways find
	// stale (they refuse them; status queries settle those charges), and
	// the first half keeps the callbacks' path under the faults too.
	for _, f := range []float64{0.5, 0.65, 0.8} {
		evs = append(evs, event{At: time.Duration(f * float64(d)), Act: actClock})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.At - b.At) })
	return evs
}

// drawToxic is one of toxiproxy's toxics with seeded attributes. PostgreSQL
// links get milder ones: every statement crosses them.
func drawToxic(r *rand.Rand, link string) toxic {
	pg := link == "pg"
	t := toxic{Stream: []string{"upstream", "downstream"}[r.IntN(2)], Toxicity: 1}
	switch r.IntN(4) {
	case 0:
		t.Type = "latency"
		if pg {
			t.Attributes = map[string]int{"latency": 5 + r.IntN(40), "jitter": r.IntN(10)}
		} else {
			t.Attributes = map[string]int{"latency": 100 + r.IntN(900), "jitter": r.IntN(200)}
		}
	case 1:
		t.Type = "timeout" // data stops; the connection closes after timeout ms
		t.Attributes = map[string]int{"timeout": 500 + r.IntN(2500)}
		t.Toxicity = 0.1 + float64(r.IntN(30))/100
	case 2:
		t.Type = "reset_peer"
		t.Attributes = map[string]int{"timeout": r.IntN(500)}
		t.Toxicity = 0.05 + float64(r.IntN(20))/100
	default:
		t.Type = "bandwidth" // KB/s
		t.Attributes = map[string]int{"rate": 5 + r.IntN(100)}
	}
	t.Name = fmt.Sprintf("%s_%s_%d", t.Type, t.Stream, r.Uint32())
	return t
}
