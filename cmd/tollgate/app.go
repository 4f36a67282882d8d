package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"tollgate/billing"
	"tollgate/billing/billingapi"
	"tollgate/billing/mypage"
	"tollgate/carriers"
	_ "tollgate/carriers/camara" // registers the camara protocol
	_ "tollgate/carriers/oneapi" // registers the oneapi protocol
	"tollgate/carriers/sim"
	_ "tollgate/carriers/tokenpay" // registers the tokenpay protocol
	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/jobs"
	"tollgate/internal/msisdn"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/web"
	"tollgate/settlement"
	"tollgate/webhooks"
)

// app is a wired gateway: everything serve needs, built top to bottom.
type app struct {
	cfg        configs.Config
	log        *slog.Logger
	store      *store.Store
	clock      clock.Clock
	vault      *msisdn.Vault
	keys       auth.Keys
	gate       web.Gate // keys and the per-node limits on them
	limits     *ratelimit.Shared
	billing    *billing.Service
	billingAPI *billingapi.API
	myPage     *mypage.Page // /my, the subscriber's own page
	carriers   *carriers.Registry
	sim        *sim.Simulator // test mode only
	inbox      smsInbox       // test mode only: the simulated carriers' texts
	jobs       *jobs.Client
	listener   *pgxpool.Pool // PostgreSQL: river's LISTEN connection (closed after the queue stops)
	inbound    *webhooks.Inbound
	outbound   *webhooks.Outbound
	settle     *settlement.Service
	metrics    *prometheus.Registry
	obs        *observer // business metrics counted where they happen (metrics.go)
	handler    http.Handler
}

// loadConfig reads and validates the configuration for a subcommand.
func loadConfig(c *common, getenv func(string) string) (configs.Config, error) {
	cfg, err := configs.Load(c.config, getenv)
	if err != nil {
		return cfg, err
	}
	if c.listen != "" {
		cfg.Listen = c.listen
	}
	if c.databaseURL != "" {
		cfg.DatabaseURL = c.databaseURL
	}
	return cfg, cfg.Validate()
}

// openStore opens and migrates the database.
func openStore(ctx context.Context, cfg configs.Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database_url: %w", err)
	}
	if cfg.DatabasePool > 0 {
		// Idle ones kept too: under load a pool that closes and reopens
		// connections pays a PostgreSQL backend start each time.
		st.SQL.SetMaxOpenConns(cfg.DatabasePool)
		st.SQL.SetMaxIdleConns(cfg.DatabasePool)
	}
	if _, err := migrate(ctx, st, log); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// migrate brings tollgate's tables and the job queue's up to date and says
// how many of tollgate's migrations it applied.
func migrate(ctx context.Context, st *store.Store, log *slog.Logger) (int, error) {
	n, err := st.Migrate(ctx, log)
	if err != nil {
		return 0, err
	}
	return n, jobs.Migrate(ctx, st)
}

var errSecretRequired = errors.New("secret_key: TOLLGATE_SECRET_KEY is required (32+ random bytes, base64 or hex; e.g. openssl rand -base64 32)")

// secretKey returns the phone-number key. In test mode on the embedded
// store a missing key is generated once and kept beside the database file.
func secretKey(cfg configs.Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		b, err := msisdn.DecodeSecret(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("secret_key: %w", err)
		}
		return b, nil
	}
	path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:")
	if cfg.Mode != "test" || !ok {
		return nil, errSecretRequired
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	keyFile := path + ".secret"
	if b, err := os.ReadFile(keyFile); err == nil {
		return msisdn.DecodeSecret(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret_key: read %s: %w", keyFile, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	if err := os.WriteFile(keyFile, []byte(enc+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("secret_key: keep generated key in %s: %w", keyFile, err)
	}
	return raw, nil
}

// buildApp wires a gateway on an open store. addr is the address the server
// listens on, so simulated carriers can be reached at its own /sim/.
func buildApp(ctx context.Context, cfg configs.Config, st *store.Store, addr string, log *slog.Logger, clk clock.Clock) (*app, error) {
	secret, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	vault, err := msisdn.NewVault(secret)
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	a := &app{cfg: cfg, log: log, store: st, clock: clk, vault: vault}
	a.keys = auth.Keys{DB: st.DB, Now: clk.Now, Cache: auth.NewKeyCache(cfg.APIKeyCacheTTL, clk)}

	a.metrics = prometheus.NewRegistry()
	breakerState := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tollgate_carrier_breaker_state", Help: "Each carrier's circuit breaker: 0 available (closed), 1 degraded (half-open), 2 unavailable (open).",
	}, []string{"carrier"})
	a.metrics.MustRegister(breakerState, dbCollector{db: st.DB, now: clk.Now, log: log, carriers: func() []string { return a.carriers.Names() },
		unwatched: func(ctx context.Context, before time.Time) (int64, error) {
			return a.billing.UnwatchedCharges(ctx, before)
		}})
	a.obs = newObserver(a.metrics)

	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + addr
	}
	cs, err := carrierSettings(cfg, clk.Now)
	if err != nil {
		return nil, err
	}
	if timers, ok := clk.(clock.Timers); ok {
		cs.sim.After = timers.After // test mode: moving the clock moves the simulated back end too
	}
	simURL := simBase(cfg.SimURL)
	if cfg.Mode == "test" {
		a.sim = sim.New(cs.sim)
		a.inbox = func(_ context.Context, e164 string) ([]sim.Message, error) { return a.sim.Messages(e164), nil }
		if simURL == "" {
			simURL = publicURL + "/sim"
		} else {
			a.inbox = remoteInbox(simURL, cfg.Sim.Token, cfg.CarrierTimeout)
		}
	}
	breaker := cs.breaker
	breaker.OnStateChange = func(carrier string, to carriers.Health) {
		breakerState.WithLabelValues(carrier).Set(map[carriers.Health]float64{carriers.Available: 0, carriers.Degraded: 1, carriers.Unavailable: 2}[to])
		a.obs.breakerMoved(carrier, string(to))
		log.Warn("carrier circuit breaker", "carrier", carrier, "state", to)
		if to == carriers.Available && a.billing != nil {
			// Closed after its probes passed: the carrier answers again, so
			// the status queries an outage backed off (up to 10 minutes) run
			// now. Not here: the breaker's lock is held.
			go func() {
				if _, err := a.billing.CatchUp(context.WithoutCancel(ctx), carrier); err != nil {
					log.Error("catching up a recovered carrier", "carrier", carrier, "error", err)
				}
			}()
		}
	}
	a.carriers, err = carriers.NewRegistry(cs.connections, carriers.RegistryOptions{SimURL: simURL, PublicURL: publicURL, HTTPClient: a.obs.instrumentCarrierClient(carriers.NewHTTPClient(cs.http), carrierBases(cs.connections, simURL)), Breaker: breaker, Now: clk.Now})
	if err != nil {
		return nil, fmt.Errorf("carriers: %w", err)
	}
	for _, n := range a.carriers.Names() {
		breakerState.WithLabelValues(n).Set(0)
	}
	a.obs.startBreakers(a.carriers.Names())
	// The queue comes first: billing and the outbox insert jobs through it.
	// Their workers need them in turn, so the worker bundle is filled after
	// they exist and before the queue starts working.
	workers := river.NewWorkers()
	jo := jobs.Options{Workers: workers, Logger: log.With("component", "jobs"), MaxWorkers: cfg.Jobs.MaxWorkers, PollEvery: cfg.Jobs.PollInterval}
	if tg, ok := clk.(rivertype.TimeGenerator); ok {
		jo.Time = tg
	}
	if st.Dialect == store.Postgres {
		if a.listener, err = jobs.OpenListener(cfg.DatabaseURL); err != nil {
			return nil, err
		}
		jo.Listener = a.listener
	}
	if a.jobs, err = jobs.New(st, jo); err != nil {
		return nil, err
	}
	if a.limits, err = sharedLimits(st, clk, cfg.RateLimits); err != nil {
		return nil, err
	}
	if a.gate, err = keyGate(a.keys, clk, cfg.RateLimits); err != nil {
		return nil, err
	}
	a.outbound, err = webhooks.NewOutbound(st.DB, vault, clk, a.jobs, webhooks.Settings{
		Timeout: cfg.Webhooks.Timeout, Schedule: cfg.Webhooks.Schedule, MaxAge: cfg.Webhooks.MaxAge, DisableAfter: cfg.Webhooks.DisableAfter,
		PublicOnly: cfg.Mode == "live", Limits: a.limits, CacheTTL: cfg.LookupCacheTTL,
	}, log)
	if err != nil {
		return nil, err
	}
	caps, err := capRules(cfg)
	if err != nil {
		return nil, err
	}
	a.billing, err = billing.NewService(billing.Deps{
		DB: st.DB, Carriers: a.carriers, Vault: vault, Clock: clk, Log: log, Jobs: a.jobs, Events: billingapi.Views(a.outbound), Limits: a.limits,
	}, billing.Settings{Caps: caps, CodeTTL: cfg.Confirmation.CodeTTL, MaxAttempts: cfg.Confirmation.MaxAttempts, CarrierTimeout: cfg.CarrierTimeout,
		Risk: riskSettings(cfg.Risk), LookupCacheTTL: cfg.LookupCacheTTL})
	if err != nil {
		return nil, err
	}
	a.billingAPI, err = billingapi.New(a.billing, st.DB, clk, billingapi.Settings{Retention: cfg.Idempotency.Retention, Wait: cfg.Idempotency.Wait}, log)
	if err != nil {
		return nil, err
	}
	a.metrics.MustRegister(batchCollector{a.billingAPI.BatchStats, a.billing.BatchStats},
		// go_sql_*{db_name="tollgate"}: the pool's connections in use and
		// the requests that waited for one (a pool too small shows here).
		collectors.NewDBStatsCollector(st.SQL, "tollgate"))
	pageSettings, err := withPageLimits(mypage.Settings{Livemode: cfg.Mode == "live", SessionTTL: cfg.MyPage.SessionTTL,
		CodeTTL: cfg.Confirmation.CodeTTL, MaxAttempts: cfg.Confirmation.MaxAttempts}, cfg.RateLimits)
	if err != nil {
		return nil, err
	}
	a.myPage, err = mypage.New(mypage.Deps{DB: st.DB, Billing: a.billing, Vault: vault, Clock: clk, Log: log.With("component", "mypage")}, pageSettings)
	if err != nil {
		return nil, err
	}
	stlCfg, err := settlementSettings(cfg)
	if err != nil {
		return nil, err
	}
	a.settle, err = settlement.NewService(st, a.carriers, a.billing, clk, stlCfg, log.With("component", "settlement"))
	if err != nil {
		return nil, err
	}
	billing.RegisterWorkers(workers, a.billing)
	webhooks.RegisterWorkers(workers, a.outbound)
	settlement.RegisterWorkers(workers, a.settle)
	ratelimit.RegisterWorkers(workers, a.limits)
	a.jobs.PeriodicJobs().AddMany(a.settle.Periodic())
	a.jobs.PeriodicJobs().Add(a.limits.Periodic())
	a.jobs.PeriodicJobs().Add(a.billing.Periodic())            // due subscription periods without a job
	a.jobs.PeriodicJobs().Add(a.billing.CashbackPeriodic())    // cashback balances past their days
	a.jobs.PeriodicJobs().Add(a.billing.ChargeSweepPeriodic()) // processing charges whose request died
	if a.inbound, err = webhooks.NewInbound(st.DB, a.carriers, a.billing, clk, log); err != nil {
		return nil, err
	}
	a.handler = a.routes()
	return a, nil
}

// simBase accepts the simulator's address with or without its /sim path
// (tollgate sim serves there): without it every carrier call would miss.
func simBase(u string) string {
	u = strings.TrimRight(u, "/")
	if u == "" || strings.HasSuffix(u, "/sim") {
		return u
	}
	return u + "/sim"
}

// demoKey is the demo merchant's test key, derived from the secret so every
// start of the same database prints the same working key.
func (a *app) demoKey() string {
	return "tg_test_demo" + a.vault.Keyed("demo merchant key", "v1")[:28]
}

const demoMerchantID = "mer_demo"

// ensureDemo creates the demo merchant and its key in test mode.
func (a *app) ensureDemo(ctx context.Context) (string, error) {
	if _, err := a.billing.EnsureMerchant(ctx, demoMerchantID, "Demo Shop", false); err != nil {
		return "", err
	}
	key := a.demoKey()
	if err := a.keys.Ensure(ctx, auth.RoleMerchant, demoMerchantID, false, key); err != nil {
		return "", err
	}
	return key, nil
}

func printWelcome(w io.Writer, base, key string) {
	fmt.Fprintf(w, `
tollgate is serving at %[1]s (test mode: simulated carriers skt, kt, lgu under %[1]s/sim/)
Demo merchant key: %[2]s

Make a first charge (the subscriber gets an SMS code):
  curl -s %[1]s/v1/charges -H "Authorization: Bearer %[2]s" -H "Idempotency-Key: first-charge-1" \
    -H "Content-Type: application/json" \
    -d '{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt", "description": "500 gems"}'
Read the code the subscriber received (your own charges' texts only):
  curl -s '%[1]s/v1/test_helpers/sms?msisdn=%%2B821012345678' -H "Authorization: Bearer %[2]s"
Confirm it (use the charge id and the code):
  curl -s %[1]s/v1/charges/CH_ID/confirm -H "Authorization: Bearer %[2]s" -H "Content-Type: application/json" -d '{"code": "123456"}'

The simulator's controls (/sim/faults, /sim/sms, /sim/ledger, /sim/stats) and the test clock
are shared by every merchant here: they take an admin key (tollgate keys create --role admin),
or none with sim.open_controls: true (TOLLGATE_SIM_OPEN_CONTROLS=true) when this gateway is yours alone.

`, base, key)
}
