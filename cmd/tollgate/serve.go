package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"tollgate/carriers"
	"tollgate/configs"
	"tollgate/internal/clock"
	"tollgate/internal/msisdn"
)

// timeouts bound how long one client may hold a connection and a goroutine.
type timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// serverTimeouts are constants, not settings: they follow from the API's own
// limits. Bodies are small JSON, so 15 s to read a whole request is generous
// on a slow mobile link and cuts a client that trickles its body. Write
// counts from the end of the headers to the end of the answer: a charge
// waits at most idempotency.wait (10 s) plus carrier_timeout (8 s), so 60 s
// leaves room; settlement's runs and CSV exports stream for longer and get
// their own deadline per route (longWrites in routes.go).
var serverTimeouts = timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 60 * time.Second, Idle: 60 * time.Second}

// newServer is the HTTP server serve runs, with its timeouts.
func newServer(h http.Handler, t timeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

// checkServeConfig refuses what buildApp would refuse later, while nothing
// has been created yet.
func checkServeConfig(cfg configs.Config) error {
	if err := checkSettings(cfg); err != nil {
		return err
	}
	if cfg.SecretKey == "" && (!strings.HasPrefix(cfg.DatabaseURL, "sqlite:") || cfg.Mode != "test") {
		return errSecretRequired
	}
	return nil
}

// checkSettings refuses any setting that is given and wrong, beyond what
// configs checks alone (adapters, time zones, the key's strength). A
// missing secret_key is for the commands that need it to refuse.
func checkSettings(cfg configs.Config) error {
	if cfg.SecretKey != "" {
		b, err := msisdn.DecodeSecret(cfg.SecretKey)
		if err == nil {
			_, err = msisdn.NewVault(b)
		}
		if err != nil {
			return fmt.Errorf("secret_key: %w", err)
		}
	}
	cs, err := carrierSettings(cfg, time.Now)
	if err != nil {
		return err
	}
	// The adapters' own rules (a tokenpay carrier needs its webhook secret)
	// run when a connection is built; building them dials nothing.
	if _, err := carriers.NewRegistry(cs.connections, carriers.RegistryOptions{
		SimURL: "http://127.0.0.1/sim", PublicURL: "http://127.0.0.1", HTTPClient: http.DefaultClient,
	}); err != nil {
		return fmt.Errorf("carriers: %w", err)
	}
	if _, err := settlementSettings(cfg); err != nil {
		return err
	}
	return nil
}

func cmdServe(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs, c := newFlags("serve", stderr)
	return fs, func(ctx context.Context, _ []string) error {
		cfg, err := loadConfig(c, getenv)
		if err != nil {
			return err
		}
		// Everything that can be refused is refused before the database is
		// touched: a bad setting or a taken port must not create or migrate it.
		if err := checkServeConfig(cfg); err != nil {
			return err
		}
		log := newLogger(stderr, cfg.LogLevel)
		gcPercent, gcFrom := applyGCPercent(cfg.GCPercent, getenv)
		procs, procsFrom := applyMaxProcs(cfg.MaxProcs, getenv)
		log.Info("starting", "mode", cfg.Mode, "listen", cfg.Listen, "database", cfg.Redacted().DatabaseURL, "gc_percent", gcPercent, "gc_percent_from", gcFrom,
			"max_procs", procs, "max_procs_from", procsFrom)
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen: %s: %w", cfg.Listen, err)
		}
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer st.Close()
		var clk clock.Clock = clock.System{}
		if cfg.Mode == "test" {
			clk = &clock.Offset{}
		}
		a, err := buildApp(ctx, cfg, st, ln.Addr().String(), log, clk)
		if err != nil {
			_ = ln.Close()
			return err
		}
		if cfg.Mode == "test" {
			key, err := a.ensureDemo(ctx)
			if err != nil {
				_ = ln.Close()
				return fmt.Errorf("demo merchant: %w", err)
			}
			printWelcome(stdout, "http://"+ln.Addr().String(), key)
		}
		// Not the signal context: cancelling it would abort jobs mid-work;
		// Stop below lets running jobs finish on SIGTERM.
		if err := a.jobs.Start(context.WithoutCancel(ctx)); err != nil {
			_ = ln.Close()
			return fmt.Errorf("job queue: %w", err)
		}
		stopPprof, err := servePprof(cfg.PprofListen, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopPprof()
		srv := newServer(a.handler, serverTimeouts)
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		log.Info("serving", "addr", ln.Addr().String())

		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		log.Info("draining", "timeout", cfg.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("shutdown: %w", err)
		}
		// Jobs being worked finish; the rest wait in the database for the next start.
		if err := a.jobs.Stop(sctx); err != nil {
			log.Warn("job queue did not stop cleanly", "error", err)
		}
		if a.listener != nil {
			a.listener.Close()
		}
		log.Info("stopped")
		return nil
	}
}

// applyMaxProcs sets how many threads run Go code at once from max_procs
// unless GOMAXPROCS, which the runtime has applied already, is set, or
// max_procs is 0 (Go's own choice); it returns what is in force and why.
func applyMaxProcs(configured int, getenv func(string) string) (int, string) {
	if v := getenv("GOMAXPROCS"); v != "" {
		return runtime.GOMAXPROCS(0), "GOMAXPROCS=" + v
	}
	if configured == 0 {
		return runtime.GOMAXPROCS(0), "go"
	}
	runtime.GOMAXPROCS(configured)
	return configured, "max_procs"
}

// applyGCPercent sets the collector's target to gc_percent unless the
// operator set GOGC, which the runtime has already applied and which wins
// (a value it cannot parse leaves Go's 100). It answers the target in
// force (-1: off) and where it came from. A gateway's live heap is small
// and its garbage per charge large, so collecting less often saves CPU.
func applyGCPercent(configured int, getenv func(string) string) (int, string) {
	if v := getenv("GOGC"); v != "" {
		return debug.SetGCPercent(debug.SetGCPercent(-1)), "GOGC=" + v
	}
	debug.SetGCPercent(configured)
	return configured, "gc_percent"
}
