package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// testWriter sends the campaign's lines to the test log as they come.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// CI's short form of the campaign: a fixed seed, 60 s of chaos on two
// nodes, with at least one kill -9 and one PostgreSQL restart, and every
// invariant checked. Waits are bounded and driven by state; the time to
// final after the faults stop is logged as a figure, asserted only with a
// generous bound (a busy two-core machine runs the whole suite beside it).
// Without PostgreSQL's server binaries it skips, but fails under CI=true.
// go run ./chaos runs long ones.
func TestShortCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos campaign runs real processes for a minute and more")
	}
	if _, err := pgBinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	const seed = 13
	t.Logf("seed %d", seed)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := run(ctx, options{seed: seed, duration: 60 * time.Second, nodes: 2, workers: 4, quiesce: 150 * time.Second, out: testWriter{t}})
	if errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills < 1 || rep.PGRestarts < 1 {
		t.Errorf("the short campaign must kill a node and restart PostgreSQL: %d kills, %d restarts", rep.Kills, rep.PGRestarts)
	}
	for _, f := range rep.Failures {
		t.Error(f)
	}
	t.Logf("time to final after the faults stopped: %s (issue 13 asks ≤ 30 s)", rep.TimeToFinal)
	if rep.TimeToFinal > 120*time.Second {
		t.Errorf("charges took %s to be final after the faults stopped", rep.TimeToFinal)
	}
}
