// Package configs holds tollgate's one typed configuration: embedded defaults,
// then a YAML file, then TOLLGATE_* environment variables, then flags,
// validated once with errors that name the bad key.
package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// Config is the whole configuration of a tollgate process.
type Config struct {
	Mode            string             `yaml:"mode"`
	Listen          string             `yaml:"listen"`
	DatabaseURL     string             `yaml:"database_url"`
	SecretKey       string             `yaml:"secret_key"`
	SimURL          string             `yaml:"sim_url"`
	Sim             SimConfig          `yaml:"sim"`
	PublicURL       string             `yaml:"public_url"` // how carriers reach this gateway; default http://LISTEN
	Breaker         BreakerConfig      `yaml:"breaker"`
	CarrierHTTP     CarrierHTTPConfig  `yaml:"carrier_http"`
	LogLevel        string             `yaml:"log_level"`
	ShutdownTimeout time.Duration      `yaml:"shutdown_timeout"`
	Confirmation    ConfirmationConfig `yaml:"confirmation"`
	Idempotency     IdempotencyConfig  `yaml:"idempotency"`
	CarrierTimeout  time.Duration      `yaml:"carrier_timeout"`
	Jobs            JobsConfig         `yaml:"jobs"`
	Webhooks        WebhooksConfig     `yaml:"webhooks"`
	RateLimits      RateLimitsConfig   `yaml:"rate_limits"`
	MyPage          MyPageConfig       `yaml:"my_page"`
	Risk            RiskConfig         `yaml:"risk"`
	Settlement      SettlementConfig   `yaml:"settlement"`
	SpendingCaps    SpendingCapsConfig `yaml:"spending_caps"`
	Carriers        []CarrierConfig    `yaml:"carriers"`
	APIKeyCacheTTL  time.Duration      `yaml:"api_key_cache_ttl"` // how long a node trusts a resolved key; 0 = every request reads it
	LookupCacheTTL  time.Duration      `yaml:"lookup_cache_ttl"`  // how long a node keeps merchants' names, webhook endpoints and whether they ever had a cashback program; 0 = every charge reads them
	PprofListen     string             `yaml:"pprof_listen"`      // a loopback host:port serving /debug/pprof/; empty = off
	TrustedProxies  []string           `yaml:"trusted_proxies"`   // CIDRs of reverse proxies whose X-Forwarded-For names the client; empty = the TCP peer is the client
	DatabasePool    int                `yaml:"database_pool"`     // open connections per node; 0 = the store's default (PostgreSQL 32, SQLite 8)
	GCPercent       int                `yaml:"gc_percent"`        // Go's GOGC for serve (heap growth between collections, %); the GOGC environment variable wins
	MaxProcs        int                `yaml:"max_procs"`         // Go's GOMAXPROCS for serve: 0 is Go's own choice (the CPUs it may use); the GOMAXPROCS environment variable wins
}

// JobsConfig tunes the durable job queue.
type JobsConfig struct {
	PollInterval time.Duration `yaml:"poll_interval"` // how often each node looks for due jobs
	MaxWorkers   int           `yaml:"max_workers"`   // jobs worked at once per node
}

// WebhooksConfig governs notifications to merchants.
type WebhooksConfig struct {
	Timeout      time.Duration   `yaml:"timeout"`       // one delivery attempt
	Schedule     []time.Duration `yaml:"schedule"`      // waits between attempts; the last repeats
	MaxAge       time.Duration   `yaml:"max_age"`       // stop retrying an event after this long
	DisableAfter time.Duration   `yaml:"disable_after"` // an endpoint failing this long is disabled
}

// SettlementConfig governs the nightly reconciliation and statements.
type SettlementConfig struct {
	TimeZone       string           `yaml:"time_zone"`        // business days are in this zone
	Hour           int              `yaml:"hour"`             // the nightly run starts at this local hour
	GatewayFeeBps  int64            `yaml:"gateway_fee_bps"`  // tollgate's fee, basis points of gross
	MerchantFeeBps map[string]int64 `yaml:"merchant_fee_bps"` // per-merchant overrides by merchant id
	ReportDir      string           `yaml:"report_dir"`       // where finance drops carrier files, if any
}

// BreakerConfig tunes each carrier's circuit breaker.
type BreakerConfig struct {
	OpenFor             time.Duration `yaml:"open_for"`
	ConsecutiveFailures uint32        `yaml:"consecutive_failures"`
	FailureRatio        float64       `yaml:"failure_ratio"`
	MinRequests         uint32        `yaml:"min_requests"`
	Window              time.Duration `yaml:"window"`
}

// CarrierHTTPConfig tunes the resilient client's tries.
type CarrierHTTPConfig struct {
	AttemptTimeout time.Duration `yaml:"attempt_timeout"`
	MaxRetries     int           `yaml:"max_retries"`
	WaitMin        time.Duration `yaml:"wait_min"`
	WaitMax        time.Duration `yaml:"wait_max"`
}

// ConfirmationConfig governs SMS confirmation codes.
type ConfirmationConfig struct {
	CodeTTL     time.Duration `yaml:"code_ttl"`
	MaxAttempts int           `yaml:"max_attempts"`
}

// IdempotencyConfig governs the Idempotency-Key store.
type IdempotencyConfig struct {
	Retention time.Duration `yaml:"retention"`
	Wait      time.Duration `yaml:"wait"`
}

// CarrierConfig declares one carrier connection and its capabilities.
type CarrierConfig struct {
	Name           string             `yaml:"name"`
	Protocol       string             `yaml:"protocol"`
	Simulated      bool               `yaml:"simulated"`
	BaseURL        string             `yaml:"base_url"` // empty for simulated carriers
	Country        string             `yaml:"country"`
	Currencies     []string           `yaml:"currencies"`
	MinAmount      int64              `yaml:"min_amount"`
	MaxAmount      int64              `yaml:"max_amount"`
	PartialRefunds bool               `yaml:"partial_refunds"`
	RefundWindow   RefundWindowConfig `yaml:"refund_window"`
	// Confirmation: "gateway" (tollgate sends and checks the SMS code) or
	// "carrier" (the carrier does, through its protocol's authorization).
	Confirmation  string            `yaml:"confirmation"`
	Async         bool              `yaml:"async"`          // results may come later, by callback
	WebhookSecret string            `yaml:"webhook_secret"` // signs the carrier's callbacks
	Options       map[string]string `yaml:"options"`        // protocol-specific settings, read by the adapter
	ShareBps      int64             `yaml:"share_bps"`      // the carrier's share of gross, basis points
	Recurring     RecurringConfig   `yaml:"recurring"`      // subscriptions' charges; none when window_days is 0
	// MonthlyLimit is the carrier's ceiling per currency on what one line
	// may be charged in a calendar month (minor units); none when absent.
	MonthlyLimit map[string]int64 `yaml:"monthly_limit"`
	TimeZone     string           `yaml:"time_zone"` // the carrier's calendar month for caps; empty: settlement.time_zone
	Receipts     bool             `yaml:"receipts"`  // text the subscriber a receipt for every succeeded charge and refund
	// Auth is the carrier's OpenID Connect client (CAMARA operators ask
	// for access tokens); none when empty.
	Auth CarrierAuthConfig `yaml:"auth"`
	// Sandbox: base_url is an operator's sandbox. Test keys charge through
	// it, as through a simulated carrier; live keys never do.
	Sandbox bool `yaml:"sandbox"`
}

// CarrierAuthConfig is a carrier's OAuth 2.0 / OpenID Connect client. A URL
// given as a path (/oauth2/token) is under the carrier's API root: its
// base_url, or the simulator's for a simulated carrier.
type CarrierAuthConfig struct {
	TokenURL       string `yaml:"token_url"`        // client credentials and the CIBA grant
	BCAuthorizeURL string `yaml:"bc_authorize_url"` // CIBA; empty: 2-legged tokens only, phoneNumber in bodies
	ClientID       string `yaml:"client_id"`
	ClientSecret   string `yaml:"client_secret"` // masked in logged config
	// Scopes are asked for with every token beside the ones each CAMARA
	// operation names (an operator's purpose scope, dpv:...).
	Scopes []string `yaml:"scopes"`
}

// set reports whether any auth setting is given.
func (a CarrierAuthConfig) set() bool {
	return a.TokenURL != "" || a.BCAuthorizeURL != "" || a.ClientID != "" || a.ClientSecret != "" || len(a.Scopes) > 0
}

// validate checks a carrier's auth settings under key.
func (a CarrierAuthConfig) validate(key string) error {
	if !a.set() {
		return nil
	}
	switch {
	case a.ClientID == "":
		return fmt.Errorf("%s.auth.client_id: required with auth", key)
	case a.ClientSecret == "":
		return fmt.Errorf("%s.auth.client_secret: required with auth", key)
	case a.TokenURL == "":
		return fmt.Errorf("%s.auth.token_url: required with auth", key)
	}
	for i, sc := range a.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\"\\") {
			return fmt.Errorf("%s.auth.scopes[%d]: a scope is one token without spaces or quotes, got %q", key, i, sc)
		}
	}
	for name, u := range map[string]string{"token_url": a.TokenURL, "bc_authorize_url": a.BCAuthorizeURL} {
		if u == "" || strings.HasPrefix(u, "/") {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("%s.auth.%s: must be an http(s) URL or a path under base_url, got %q", key, name, u)
		}
	}
	return nil
}

// RecurringConfig is a carrier's recurring window: a subscription's period
// may be charged from its due day until window_days later, in time_zone's
// calendar. window_days 0 (or absent): the carrier takes no recurring charges.
type RecurringConfig struct {
	WindowDays int    `yaml:"window_days"`
	TimeZone   string `yaml:"time_zone"`
}

// RefundWindowConfig: kind none | days | calendar_month.
type RefundWindowConfig struct {
	Kind     string `yaml:"kind"`
	Days     int    `yaml:"days"`
	TimeZone string `yaml:"time_zone"`
}

// Load builds the configuration from the embedded defaults, the file at path
// (if not empty) and the environment (getenv, usually os.Getenv).
func Load(path string, getenv func(string) string) (Config, error) {
	var c Config
	if err := decode(defaultYAML, &c); err != nil {
		return c, fmt.Errorf("embedded defaults: %w", err)
	}
	if path == "" {
		path = getenv("TOLLGATE_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		// The file replaces the carrier list as a whole when it names one.
		var probe struct {
			Carriers []CarrierConfig `yaml:"carriers"`
		}
		if err := yaml.Unmarshal(b, &probe); err == nil && probe.Carriers != nil {
			c.Carriers = nil
		}
		if err := decode(b, &c); err != nil {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	env := map[string]*string{
		"TOLLGATE_MODE":         &c.Mode,
		"TOLLGATE_LISTEN":       &c.Listen,
		"TOLLGATE_DATABASE_URL": &c.DatabaseURL,
		"TOLLGATE_SECRET_KEY":   &c.SecretKey,
		"TOLLGATE_SIM_URL":      &c.SimURL,
		"TOLLGATE_PUBLIC_URL":   &c.PublicURL,
		"TOLLGATE_LOG_LEVEL":    &c.LogLevel,
	}
	for k, p := range env {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	return c, c.Sim.fromEnv(getenv)
}

func decode(b []byte, c *Config) error {
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	// An empty file decodes to nothing.
	if err := d.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Validate checks every setting once and names the first bad key.
func (c Config) Validate() error {
	if c.Mode != "test" && c.Mode != "live" {
		return fmt.Errorf("mode: must be test or live, got %q", c.Mode)
	}
	if err := c.RateLimits.validate(); err != nil {
		return err
	}
	if err := c.MyPage.validate(); err != nil {
		return err
	}
	if err := c.Risk.validate(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port", c.Listen)
	}
	if c.APIKeyCacheTTL < 0 || c.APIKeyCacheTTL > time.Minute {
		return fmt.Errorf("api_key_cache_ttl: must be between 0 and 1m (a revoked key works on other nodes this long), got %s", c.APIKeyCacheTTL)
	}
	if c.LookupCacheTTL < 0 || c.LookupCacheTTL > time.Minute {
		return fmt.Errorf("lookup_cache_ttl: must be between 0 and 1m (an endpoint created or deleted on one node counts on the others this late), got %s", c.LookupCacheTTL)
	}
	if c.GCPercent < 25 || c.GCPercent > 2000 {
		return fmt.Errorf("gc_percent: must be between 25 and 2000 (Go's default is 100), got %d", c.GCPercent)
	}
	if c.MaxProcs < 0 || c.MaxProcs > 1024 {
		return fmt.Errorf("max_procs: must be between 0 (Go's own choice, the CPUs) and 1024, got %d", c.MaxProcs)
	}
	if c.DatabasePool < 0 || c.DatabasePool > 500 {
		return fmt.Errorf("database_pool: must be between 0 (the default) and 500, got %d", c.DatabasePool)
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil {
			return fmt.Errorf("trusted_proxies: %q is not a CIDR such as 10.0.0.0/8 or 192.0.2.7/32", p)
		}
	}
	if c.PprofListen != "" {
		host, _, err := net.SplitHostPort(c.PprofListen)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return fmt.Errorf("pprof_listen: %q must be a loopback host:port (e.g. 127.0.0.1:6060): profiles show internals", c.PprofListen)
		}
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("database_url: must start with sqlite: or postgres://")
	}
	if c.SimURL != "" {
		if u, err := url.Parse(c.SimURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("sim_url: must be an absolute http(s) URL such as http://127.0.0.1:9090/sim, got %q", c.SimURL)
		}
	}
	if err := c.Sim.Validate(c.Mode); err != nil {
		return err
	}
	if c.Mode == "live" && c.SecretKey == "" {
		return fmt.Errorf("secret_key: TOLLGATE_SECRET_KEY is required in live mode")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.Confirmation.CodeTTL <= 0 {
		return fmt.Errorf("confirmation.code_ttl: must be positive")
	}
	if c.Confirmation.MaxAttempts < 1 {
		return fmt.Errorf("confirmation.max_attempts: must be at least 1")
	}
	if c.Idempotency.Retention < 24*time.Hour {
		return fmt.Errorf("idempotency.retention: must be at least 24h")
	}
	if c.CarrierTimeout <= 0 {
		return fmt.Errorf("carrier_timeout: must be positive")
	}
	if c.Breaker.OpenFor <= 0 || c.Breaker.ConsecutiveFailures < 1 || c.Breaker.Window <= 0 {
		return fmt.Errorf("breaker: open_for, consecutive_failures and window must be positive")
	}
	if c.Breaker.FailureRatio <= 0 || c.Breaker.FailureRatio > 1 {
		return fmt.Errorf("breaker.failure_ratio: must be in (0, 1]")
	}
	if c.CarrierHTTP.AttemptTimeout <= 0 || c.CarrierHTTP.MaxRetries < 0 || c.CarrierHTTP.WaitMin <= 0 || c.CarrierHTTP.WaitMax < c.CarrierHTTP.WaitMin {
		return fmt.Errorf("carrier_http: attempt_timeout and wait_min must be positive, wait_max >= wait_min, max_retries >= 0")
	}
	if c.Jobs.PollInterval <= 0 || c.Jobs.MaxWorkers < 1 {
		return fmt.Errorf("jobs: poll_interval and max_workers must be positive")
	}
	if c.Webhooks.Timeout <= 0 || len(c.Webhooks.Schedule) == 0 || c.Webhooks.MaxAge < 72*time.Hour || c.Webhooks.DisableAfter <= 0 {
		return fmt.Errorf("webhooks: timeout and schedule are required, max_age must be at least 72h, disable_after positive")
	}
	for i, d := range c.Webhooks.Schedule {
		if d <= 0 {
			return fmt.Errorf("webhooks.schedule[%d]: must be positive", i)
		}
	}
	if _, err := time.LoadLocation(c.Settlement.TimeZone); err != nil || c.Settlement.TimeZone == "" {
		return fmt.Errorf("settlement.time_zone: unknown time zone %q", c.Settlement.TimeZone)
	}
	if c.Settlement.Hour < 0 || c.Settlement.Hour > 23 {
		return fmt.Errorf("settlement.hour: must be 0 to 23")
	}
	if c.Settlement.GatewayFeeBps < 0 || c.Settlement.GatewayFeeBps > 10000 {
		return fmt.Errorf("settlement.gateway_fee_bps: must be 0 to 10000")
	}
	for m, bps := range c.Settlement.MerchantFeeBps {
		if bps < 0 || bps > 10000 {
			return fmt.Errorf("settlement.merchant_fee_bps.%s: must be 0 to 10000", m)
		}
	}
	if len(c.Carriers) == 0 {
		return fmt.Errorf("carriers: at least one carrier is required")
	}
	if err := c.validateCaps(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, cc := range c.Carriers {
		key := fmt.Sprintf("carriers[%d]", i)
		if cc.Name == "" || strings.ToLower(cc.Name) != cc.Name || strings.ContainsAny(cc.Name, " /?#") {
			return fmt.Errorf("%s.name: must be a lower-case name without spaces or slashes, got %q", key, cc.Name)
		}
		if seen[cc.Name] {
			return fmt.Errorf("%s.name: %q is configured twice", key, cc.Name)
		}
		seen[cc.Name] = true
		// Which protocols exist is for the adapters registered in the
		// binary to say (cmd checks it); here only that one is named.
		if cc.Protocol == "" {
			return fmt.Errorf("%s.protocol: required", key)
		}
		if !cc.Simulated && cc.BaseURL == "" {
			return fmt.Errorf("%s.base_url: required for a carrier that is not simulated", key)
		}
		if cc.Simulated && c.Mode == "live" {
			return fmt.Errorf("%s.simulated: simulated carriers are not allowed in live mode", key)
		}
		if len(cc.Country) != 2 {
			return fmt.Errorf("%s.country: must be an ISO 3166-1 alpha-2 code, got %q", key, cc.Country)
		}
		if len(cc.Currencies) == 0 {
			return fmt.Errorf("%s.currencies: at least one currency is required", key)
		}
		for _, cur := range cc.Currencies {
			if len(cur) != 3 || strings.ToUpper(cur) != cur {
				return fmt.Errorf("%s.currencies: %q is not an ISO 4217 code", key, cur)
			}
		}
		if cc.MinAmount < 1 || cc.MaxAmount < cc.MinAmount {
			return fmt.Errorf("%s.min_amount: need 1 <= min_amount <= max_amount", key)
		}
		if cc.ShareBps < 0 || cc.ShareBps > 10000 {
			return fmt.Errorf("%s.share_bps: must be 0 to 10000", key)
		}
		switch cc.Confirmation {
		case "", "gateway", "carrier":
		default:
			return fmt.Errorf("%s.confirmation: must be gateway or carrier, got %q", key, cc.Confirmation)
		}
		if cc.WebhookSecret != "" && len(cc.WebhookSecret) < 16 {
			return fmt.Errorf("%s.webhook_secret: must be at least 16 characters", key)
		}
		if err := cc.Auth.validate(key); err != nil {
			return err
		}
		if cc.Sandbox && cc.Simulated {
			return fmt.Errorf("%s.sandbox: a simulated carrier is not an operator's sandbox; set one or the other", key)
		}
		if cc.Recurring.WindowDays < 0 || cc.Recurring.WindowDays > 14 {
			return fmt.Errorf("%s.recurring.window_days: must be 0 (no recurring charges) to 14", key)
		}
		if cc.Recurring.WindowDays > 0 {
			if _, err := time.LoadLocation(cc.Recurring.TimeZone); err != nil || cc.Recurring.TimeZone == "" {
				return fmt.Errorf("%s.recurring.time_zone: unknown time zone %q", key, cc.Recurring.TimeZone)
			}
		}
		switch cc.RefundWindow.Kind {
		case "", "none":
		case "days":
			if cc.RefundWindow.Days < 1 {
				return fmt.Errorf("%s.refund_window.days: must be at least 1", key)
			}
		case "calendar_month":
			if _, err := time.LoadLocation(cc.RefundWindow.TimeZone); err != nil || cc.RefundWindow.TimeZone == "" {
				return fmt.Errorf("%s.refund_window.time_zone: unknown time zone %q", key, cc.RefundWindow.TimeZone)
			}
		default:
			return fmt.Errorf("%s.refund_window.kind: must be none, days or calendar_month", key)
		}
	}
	return nil
}

// Redacted returns a copy safe to log: secrets masked.
func (c Config) Redacted() Config {
	if c.SecretKey != "" {
		c.SecretKey = "***"
	}
	if c.Sim.Token != "" {
		c.Sim.Token = "***"
	}
	c.Carriers = append([]CarrierConfig(nil), c.Carriers...) // the caller's stay as they are
	for i := range c.Carriers {
		if c.Carriers[i].Auth.ClientSecret != "" {
			c.Carriers[i].Auth.ClientSecret = "***"
		}
		if c.Carriers[i].WebhookSecret != "" {
			c.Carriers[i].WebhookSecret = "***"
		}
	}
	if i := strings.Index(c.DatabaseURL, "@"); i > 0 && strings.HasPrefix(c.DatabaseURL, "postgres") {
		if j := strings.Index(c.DatabaseURL, "://"); j > 0 && strings.Contains(c.DatabaseURL[j+3:i], ":") {
			c.DatabaseURL = c.DatabaseURL[:j+3] + "***" + c.DatabaseURL[i:]
		}
	}
	return c
}
