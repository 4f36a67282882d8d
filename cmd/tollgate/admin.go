package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/store"
)

// cmdMigrate brings the database's schema up to date and prints one JSON
// object: {"migrations_applied": N} (0 when it already was).
func cmdMigrate(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs, c := newFlags("migrate", stderr)
	return fs, func(ctx context.Context, _ []string) error {
		cfg, err := loadConfig(c, getenv)
		if err != nil {
			return err
		}
		// As serve does: a bad setting stops it before the database is created.
		if err := checkSettings(cfg); err != nil {
			return err
		}
		log := newLogger(stderr, cfg.LogLevel)
		st, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database_url: %w", err)
		}
		defer st.Close()
		n, err := migrate(ctx, st, log)
		if err != nil {
			return err
		}
		log.Info("database is up to date")
		return json.NewEncoder(stdout).Encode(map[string]int{"migrations_applied": n})
	}
}

func cmdMerchantsCreate(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs, c := newFlags("merchants create", stderr)
	name := fs.String("name", "", "the merchant's name")
	mode := fs.String("mode", "test", "test or live: which keys the merchant gets")
	return fs, func(ctx context.Context, _ []string) error {
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
}

// cmdKeysCreate makes a finance or admin key (--role), or one more key for
// an existing merchant (--merchant ID: a test key for a test merchant, a
// live key for a live one), and prints {"api_key": "…"}.
func cmdKeysCreate(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs, c := newFlags("keys create", stderr)
	role := fs.String("role", "", "finance or admin")
	merchant := fs.String("merchant", "", "a merchant's id (e.g. mer_demo): a new key for that merchant")
	return fs, func(ctx context.Context, _ []string) error {
		switch {
		case *merchant != "" && *role != "" && *role != string(auth.RoleMerchant):
			return usageError{"--merchant makes a merchant key; leave out --role"}
		case *merchant == "" && *role != string(auth.RoleFinance) && *role != string(auth.RoleAdmin):
			return usageError{"--role must be finance or admin (or give --merchant ID)"}
		}
		a, done, err := openApp(ctx, c, stderr, getenv)
		if err != nil {
			return err
		}
		defer done()
		var key string
		if *merchant != "" {
			var m billing.Merchant
			err = a.store.DB.WithContext(ctx).Where("id = ?", *merchant).Take(&m).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("merchant %s does not exist (serve creates mer_demo in test mode)", *merchant)
			}
			if err != nil {
				return fmt.Errorf("look up merchant: %w", err)
			}
			key, err = a.keys.Create(ctx, auth.RoleMerchant, m.ID, m.Livemode)
		} else {
			key, err = a.keys.Create(ctx, auth.Role(*role), "", false)
		}
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(map[string]string{"api_key": key})
	}
}

// openApp wires the gateway for a one-shot command.
func openApp(ctx context.Context, c *common, stderr io.Writer, getenv func(string) string) (*app, func(), error) {
	cfg, err := loadConfig(c, getenv)
	if err != nil {
		return nil, nil, err
	}
	return openAppWith(ctx, cfg, stderr)
}

// openAppWith wires the gateway for a one-shot command from a loaded config.
func openAppWith(ctx context.Context, cfg configs.Config, stderr io.Writer) (*app, func(), error) {
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
