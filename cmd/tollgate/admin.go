package main

import (
	"context"
	"encoding/json"
	"io"

	"tollgate/internal/auth"
	"tollgate/internal/clock"
)

func cmdMigrate(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs, c := newFlags("migrate", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := loadConfig(c, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database is up to date")
	return nil
}

func cmdMerchantsCreate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, c := newFlags("merchants create", stderr)
	name := fs.String("name", "", "the merchant's name")
	mode := fs.String("mode", "test", "test or live: which keys the merchant gets")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *name == "" {
		return usageError{"--name is required"}
	}
	if *mode != "test" && *mode != "live" {
		return usageError{"--mode must be test or live"}
	}
	a, done, err := openApp(ctx, c, stderr, getenv)
	if err != nil {
		return err
	}
	defer done()
	live := *mode == "live"
	m, err := a.billing.CreateMerchant(ctx, *name, live)
	if err != nil {
		return err
	}
	key, err := a.keys.Create(ctx, auth.RoleMerchant, m.ID, live)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"merchant_id": m.ID, "api_key": key})
}

func cmdKeysCreate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, c := newFlags("keys create", stderr)
	role := fs.String("role", "", "finance or admin")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *role != string(auth.RoleFinance) && *role != string(auth.RoleAdmin) {
		return usageError{"--role must be finance or admin"}
	}
	a, done, err := openApp(ctx, c, stderr, getenv)
	if err != nil {
		return err
	}
	defer done()
	key, err := a.keys.Create(ctx, auth.Role(*role), "", false)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"api_key": key})
}

// openApp wires the gateway for a one-shot command.
func openApp(ctx context.Context, c *common, stderr io.Writer, getenv func(string) string) (*app, func(), error) {
	cfg, err := loadConfig(c, getenv)
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	a, err := buildApp(ctx, cfg, st, cfg.Listen, log, clock.System{})
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return a, func() { _ = st.Close() }, nil
}
