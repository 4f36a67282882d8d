package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"tollgate/internal/clock"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, c := newFlags("serve", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := loadConfig(c, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	log.Info("starting", "mode", cfg.Mode, "listen", cfg.Listen, "database", cfg.Redacted().DatabaseURL)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
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
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
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
	log.Info("stopped")
	return nil
}
