package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-isatty"
	"github.com/olekukonko/tablewriter"
	"github.com/schollz/progressbar/v3"

	"tollgate/settlement"
)

// cmdSettle settles one carrier's business day from the command line:
// the carrier's file (or --report FILE), a progress bar on stderr when it
// is a terminal, and the run's summary table on stdout. A run that fails
// exits non-zero with its reason.
func cmdSettle(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs, c := newFlags("settle", stderr)
	fs.Lookup("listen").Usage = "the running gateway's address (or TOLLGATE_LISTEN): in test mode, simulated carriers' files come from its /sim unless TOLLGATE_SIM_URL is set"
	carrier := fs.String("carrier", "", "the carrier to settle (required)")
	date := fs.String("date", "", "the business day, YYYY-MM-DD in settlement.time_zone, over on this machine's clock (required)")
	report := fs.String("report", "", "read this settlement file instead of fetching the carrier's")
	rerun := fs.Bool("rerun", false, "settle again even if the day has a completed run (the new run supersedes it)")
	return fs, func(ctx context.Context, _ []string) error {
		if *carrier == "" || *date == "" {
			return usageError{"usage: tollgate settle --carrier C --date YYYY-MM-DD [--report FILE] [--rerun]"}
		}
		req := settlement.RunRequest{Carrier: *carrier, BusinessDate: *date, Rerun: *rerun}
		if *report != "" {
			f, err := os.Open(*report)
			if err != nil {
				return fmt.Errorf("--report: %w", err)
			}
			defer f.Close()
			req.Report, req.ReportName = f, filepath.Base(*report)
		}
		// Log lines written while the bar is on a terminal would tear it: they
		// are held and written after it is cleared.
		logs := &heldWriter{w: stderr}
		cfg, err := loadConfig(c, getenv)
		if err != nil {
			return err
		}
		cfg.SimURL = reportSimURL(cfg)
		a, done, err := openAppWith(ctx, cfg, logs)
		if err != nil {
			return err
		}
		defer done()

		var seen atomic.Int64 // lines the run reported reading, for a failed run's summary
		show, finish := progressLine(stderr, isTerminal(stderr), "settling "+*carrier+" "+*date)
		req.Progress = func(lines int64) {
			seen.Store(lines)
			show(lines)
		}
		if isTerminal(stderr) { // no bar, nothing to tear: logs stream as they come
			logs.hold()
		}
		run, out, err := a.settle.Run(ctx, req)
		finish()
		if ferr := logs.release(); ferr != nil && err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		if run.LinesRead == 0 {
			run.LinesRead = seen.Load()
		}
		if err := printSummary(stdout, run, out); err != nil {
			return err
		}
		switch {
		case out == settlement.InProgress:
			return fmt.Errorf("settlement %s of %s %s is running (perhaps on another node); try again when it is done", run.ID, run.Carrier, run.BusinessDate)
		case run.Status == settlement.StatusFailed:
			msg := "no reason recorded"
			if run.FailureMessage != nil {
				msg = *run.FailureMessage
			}
			return errors.New("settlement " + run.ID + " failed: " + msg)
		}
		return nil
	}
}

// settleFiles ends settle's --help: where the day's file comes from.
const settleFiles = `
The day's file: --report FILE, else the carrier's (its report_url). A simulated carrier's file
comes from TOLLGATE_SIM_URL (sim_url) when it is set, e.g. a standalone "tollgate sim" at
http://127.0.0.1:9090/sim; else from the running gateway's own /sim at its listen address
(--listen or TOLLGATE_LISTEN, default 127.0.0.1:8080: give the address serve listens on).
`

// printSummary writes the run as a table: what matched and each kind of
// discrepancy, with counts and amounts.
func printSummary(w io.Writer, r *settlement.Run, out settlement.Outcome) error {
	note := ""
	switch out {
	case settlement.Existing:
		note = " (already settled; --rerun to settle again)"
	case settlement.InProgress:
		note = " (running)"
	}
	fmt.Fprintf(w, "settlement %s: %s %s (%s), %s%s\n", r.ID, r.Carrier, r.BusinessDate, r.TimeZone, r.Status, note)
	switch {
	case r.Source == "":
	case r.Status == settlement.StatusFailed && r.LinesRead == 0:
		fmt.Fprintf(w, "source: %s\n", r.Source) // where it stopped is in the failure message
	case r.Status == settlement.StatusFailed:
		fmt.Fprintf(w, "source: %s, at least %d lines read before it failed\n", r.Source, r.LinesRead)
	default:
		fmt.Fprintf(w, "source: %s, %d lines\n", r.Source, r.LinesRead)
	}
	if r.SupersededBy != nil {
		fmt.Fprintf(w, "superseded by %s\n", *r.SupersededBy)
	}
	if r.Supersedes != nil {
		fmt.Fprintf(w, "supersedes %s\n", *r.Supersedes)
	}
	if r.Status != settlement.StatusCompleted {
		return nil
	}
	t := tablewriter.NewWriter(w)
	t.Header("result", "count", "amount")
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, row := range [][]string{
		{"matched", n(r.MatchedCount), n(r.MatchedAmount)},
		{settlement.KindMissingAtCarrier, n(r.MissingAtCarrierCount), n(r.MissingAtCarrierAmount)},
		{settlement.KindMissingAtGateway, n(r.MissingAtGatewayCount), n(r.MissingAtGatewayAmount)},
		{settlement.KindAmountMismatch, n(r.AmountMismatchCount), n(r.AmountMismatchAmount)},
		{settlement.KindStatusMismatch, n(r.StatusMismatchCount), n(r.StatusMismatchAmount)},
		{settlement.KindDuplicate, n(r.DuplicateCount), n(r.DuplicateAmount)},
		{settlement.KindResolved, n(r.ResolvedCount), n(r.ResolvedAmount)},
	} {
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressLine is the settle command's progress: on a terminal, a spinner
// with the lines read so far (no total, no rate: the file's length is not
// known before its trailer), cleared when the run ends; elsewhere nothing.
func progressLine(w io.Writer, tty bool, label string) (show func(lines int64), finish func()) {
	if !tty {
		return func(int64) {}, func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
	)
	var mu sync.Mutex
	return func(lines int64) {
			mu.Lock()
			defer mu.Unlock()
			bar.Describe(fmt.Sprintf("%s: %d lines read", label, lines))
			_ = bar.Set64(lines)
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			_ = bar.Finish()
		}
}

// heldWriter passes writes through, except between hold and release, when
// it keeps them and writes them out, in order, on release.
type heldWriter struct {
	mu   sync.Mutex
	w    io.Writer
	held *bytes.Buffer
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held != nil {
		return h.held.Write(p)
	}
	return h.w.Write(p)
}

func (h *heldWriter) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held = &bytes.Buffer{}
	}
}

func (h *heldWriter) release() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		return nil
	}
	_, err := h.w.Write(h.held.Bytes())
	h.held = nil
	return err
}
