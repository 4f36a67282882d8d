// Command chaos is tollgate's chaos campaign: real gateway processes on a
// PostgreSQL cluster of its own, behind Shopify's toxiproxy, under merchants'
// traffic, while a seeded schedule kills nodes (kill -9), restarts
// PostgreSQL, takes a carrier down and injects carrier and network faults;
// then, with every fault off, it waits for every charge to be final and
// checks the invariants that must hold whatever failed. It exits non-zero
// with the list of what broke.
//
//	go run ./chaos --seed 42 --duration 10m --nodes 3
//
// The seed (random when not given) is printed first: the same seed,
// duration and node count replay the same schedule of faults and kills.
// Everything listens on, and talks to, 127.0.0.1 only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	fs := flag.NewFlagSet("chaos", flag.ExitOnError)
	seed := fs.Uint64("seed", 0, "the schedule's seed (0: a random one, printed)")
	duration := fs.Duration("duration", 10*time.Minute, "how long the chaos lasts (setup and checks come on top)")
	nodes := fs.Int("nodes", 3, "gateway nodes (2 or 3)")
	workers := fs.Int("workers", 6, "merchant goroutines sending requests")
	quiesce := fs.Duration("quiesce", 3*time.Minute, "how long to wait, once the faults stop, for every charge to be final")
	keep := fs.Bool("keep", false, "keep the processes' logs even when every invariant holds")
	bin := fs.String("tollgate", "", "a tollgate binary to run instead of building this tree's ./cmd/tollgate")
	_ = fs.Parse(os.Args[1:])
	if *seed == 0 {
		*seed = rand.Uint64()
	}
	if *nodes < 2 || *nodes > 3 {
		fmt.Fprintln(os.Stderr, "chaos: --nodes must be 2 or 3")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, options{seed: *seed, duration: *duration, nodes: *nodes, workers: *workers, quiesce: *quiesce, keep: *keep, bin: *bin, out: os.Stdout})
	switch {
	case errors.Is(err, errNoPostgres):
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	case len(rep.Failures) > 0:
		os.Exit(1)
	}
}
