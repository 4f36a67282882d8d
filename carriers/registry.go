package carriers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Settings is what a protocol adapter needs to build one carrier connection.
type Settings struct {
	Name         string
	BaseURL      string // the carrier's API root for this protocol, no trailing slash
	Capabilities Capabilities
	HTTPClient   *http.Client
	// CallbackURL is the gateway's inbound webhook URL for this carrier
	// (POST /v1/carriers/{name}/webhooks), for protocols that call back.
	CallbackURL string
	// WebhookSecret signs this carrier's callbacks (HMAC), agreed at onboarding.
	WebhookSecret string
	// Options are protocol-specific settings (from the config file, e.g.
	// "report_url", "report_time_zone").
	Options map[string]string
	// ReportURL is where the carrier's daily settlement file is fetched,
	// {date} standing for the business day (YYYY-MM-DD); empty when the
	// carrier sends none (finance drops files instead).
	ReportURL string
	// Now is the gateway's clock (a Retry-After date, a credential's
	// expiry); nil is the wall clock.
	Now func() time.Time
}

// Clock returns s.Now, or the wall clock when it is nil.
func (s Settings) Clock() func() time.Time { return orWallClock(s.Now) }

func orWallClock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// Factory builds a Carrier for one protocol.
type Factory func(s Settings) (Carrier, error)

var (
	protocolsMu sync.RWMutex
	protocols   = map[string]Factory{}
)

// RegisterProtocol makes a protocol adapter available to the registry. Adapter
// packages call it from init; cmd imports them for that effect.
func RegisterProtocol(name string, f Factory) {
	protocolsMu.Lock()
	defer protocolsMu.Unlock()
	protocols[name] = f
}

// SimPath is where the simulator serves a simulated carrier's protocol,
// relative to the simulator's base URL (which ends in /sim).
func SimPath(carrier, protocol string) string {
	return "/" + carrier + "/" + protocol
}

// Protocols lists the registered protocol adapters, in name order.
func Protocols() []string {
	protocolsMu.RLock()
	defer protocolsMu.RUnlock()
	out := make([]string, 0, len(protocols))
	for p := range protocols {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Build makes one carrier with a registered protocol adapter, and checks
// that what it declares it can do, it does.
func Build(protocol string, s Settings) (Carrier, error) {
	protocolsMu.RLock()
	f, ok := protocols[protocol]
	protocolsMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("protocol %q has no adapter", protocol)
	}
	c, err := f(s)
	if err != nil {
		return nil, err
	}
	if err := declaredMatchesInterfaces(c); err != nil {
		return nil, fmt.Errorf("%s over %s: %w", s.Name, protocol, err)
	}
	return c, nil
}

// declaredMatchesInterfaces: a capability is declared once, as data, and
// the optional interface that carries it out must be there. Billing reads
// the data; a carrier that says it confirms codes but cannot is a setup
// error, caught at start.
func declaredMatchesInterfaces(c Carrier) error {
	caps := c.Capabilities()
	if caps.CarrierConfirms && !Implements[Authorizer](c) {
		return errors.New("confirmation by the carrier is declared, but the protocol cannot authorize (no Authorizer)")
	}
	if caps.Async && !Implements[WebhookParser](c) {
		return errors.New("asynchronous results are declared, but the protocol takes no callbacks (no WebhookParser)")
	}
	if slices.Contains(caps.ConfirmationMethods, "sms_code") && !caps.CarrierConfirms && !Implements[SMSSender](c) {
		return errors.New("sms_code confirmation by the gateway is declared, but the protocol cannot send SMS (no SMSSender)")
	}
	return nil
}

// Registry holds the configured carrier connections by name, each behind
// its own circuit breaker.
type Registry struct {
	byName    map[string]GuardedCarrier
	simulated map[string]bool
	names     []string
}

// Connection declares one carrier connection in carriers' own terms; cmd
// turns the configuration into these. Protocol-specific settings travel in
// Options, so a new protocol needs no new field here or in config.
type Connection struct {
	Name          string
	Protocol      string
	Simulated     bool   // served by the simulator at RegistryOptions.SimURL
	Sandbox       bool   // an operator's sandbox at BaseURL: test mode only, like a simulated carrier
	BaseURL       string // the carrier's API root; ignored when Simulated
	Capabilities  Capabilities
	WebhookSecret string            // signs the carrier's callbacks
	Options       map[string]string // protocol-specific ("report_url", "report_time_zone")
}

// RegistryOptions say how carriers are reached and guarded.
type RegistryOptions struct {
	SimURL     string // the simulator's base URL, ending in /sim, for simulated carriers
	PublicURL  string // the gateway's own base URL, for carrier callbacks
	HTTPClient *http.Client
	Breaker    BreakerSettings
	// Now is the gateway's clock, for the adapters and, unless
	// Breaker.Now is set, the breakers; nil is the wall clock.
	Now func() time.Time
}

// NewRegistry builds every declared carrier connection.
func NewRegistry(conns []Connection, o RegistryOptions) (*Registry, error) {
	r := &Registry{byName: map[string]GuardedCarrier{}, simulated: map[string]bool{}}
	breaker := o.Breaker
	if breaker.Now == nil {
		breaker.Now = o.Now
	}
	for _, cc := range conns {
		base := strings.TrimRight(cc.BaseURL, "/")
		reportURL := cc.Options["report_url"]
		if cc.Simulated {
			base = strings.TrimRight(o.SimURL, "/") + SimPath(cc.Name, cc.Protocol)
			reportURL = strings.TrimRight(o.SimURL, "/") + "/reports/" + cc.Name + "/{date}"
		}
		c, err := Build(cc.Protocol, Settings{
			Name: cc.Name, BaseURL: base, Capabilities: cc.Capabilities, HTTPClient: o.HTTPClient,
			CallbackURL:   strings.TrimRight(o.PublicURL, "/") + "/v1/carriers/" + cc.Name + "/webhooks",
			WebhookSecret: cc.WebhookSecret, Options: cc.Options, ReportURL: reportURL, Now: o.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("carrier %s: %w", cc.Name, err)
		}
		r.byName[cc.Name] = Guard(c, breaker)
		r.simulated[cc.Name] = cc.Simulated || cc.Sandbox // which keys may use it: test keys only
		r.names = append(r.names, cc.Name)
	}
	sort.Strings(r.names)
	return r, nil
}

// Get returns the named carrier, behind its breaker.
func (r *Registry) Get(name string) (Carrier, bool) {
	c, ok := r.byName[name]
	if !ok {
		return nil, false
	}
	return c, true
}

// Health reports the named carrier's breaker state.
func (r *Registry) Health(name string) Health {
	c, ok := r.byName[name]
	if !ok {
		return Unavailable
	}
	return c.Health()
}

// Available says whether calls to the named carrier may go out now, and if
// not, after how long to try again. Answering costs one lock, no I/O.
func (r *Registry) Available(name string) (bool, time.Duration) {
	c, ok := r.byName[name]
	if !ok || c.Health() != Unavailable {
		return ok, 0
	}
	return false, c.RetryAfter()
}

// Simulated reports whether the named carrier is a simulated one (test mode only).
func (r *Registry) Simulated(name string) bool { return r.simulated[name] }

// Names lists the configured carriers in name order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }
