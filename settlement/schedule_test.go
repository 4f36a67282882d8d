package settlement

import (
	"context"
	"strings"
	"testing"

	"github.com/riverqueue/river"
)

// The nightly job settles its carrier's day once: a second run of the job
// finds the day settled; a day whose file is bad fails the job, so river
// tries again later.
func TestNightlyWorker(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		seedDay(e)
		w := &nightlyWorker{s: e.svc}
		job := &river.Job[NightlyArgs]{Args: NightlyArgs{Carrier: "lgu", BusinessDate: "2026-11-24"}}
		if err := w.Work(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		if err := w.Work(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		var runs int64
		e.st.DB.Raw("SELECT COUNT(*) FROM settlement_runs").Scan(&runs)
		if runs != 1 {
			t.Errorf("%d runs after the job ran twice, want 1", runs)
		}
		if len(e.svc.Periodic()) != 1 {
			t.Errorf("want one periodic job per carrier")
		}
		e.carrier.setFile("")
		job.Args.BusinessDate = "2026-11-23"
		if err := w.Work(context.Background(), job); err == nil || !strings.Contains(err.Error(), "the file is empty") {
			t.Errorf("a bad file: %v", err)
		}
	})
}
