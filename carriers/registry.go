package carriers

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"tollgate/configs"
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
	// Options are protocol-specific settings from config (e.g.
	// "report_url", "report_time_zone").
	Options map[string]string
	// ReportURL is where the carrier's daily settlement file is fetched,
	// {date} standing for the business day (YYYY-MM-DD); empty when the
	// carrier sends none (finance drops files instead).
	ReportURL string
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

// Build makes one carrier with a registered protocol adapter.
func Build(protocol string, s Settings) (Carrier, error) {
	protocolsMu.RLock()
	f, ok := protocols[protocol]
	protocolsMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("protocol %q has no adapter", protocol)
	}
	return f(s)
}

// Registry holds the configured carrier connections by name, each behind
// its own circuit breaker.
type Registry struct {
	byName    map[string]*Guarded
	simulated map[string]bool
	names     []string
}

// RegistryOptions say how carriers are reached and guarded.
type RegistryOptions struct {
	SimURL     string // the simulator's base URL, ending in /sim, for simulated carriers
	PublicURL  string // the gateway's own base URL, for carrier callbacks
	HTTPClient *http.Client
	Breaker    BreakerSettings
}

// NewRegistry builds every configured carrier.
func NewRegistry(cfgs []configs.CarrierConfig, o RegistryOptions) (*Registry, error) {
	r := &Registry{byName: map[string]*Guarded{}, simulated: map[string]bool{}}
	for _, cc := range cfgs {
		base := strings.TrimRight(cc.BaseURL, "/")
		reportURL := cc.Options["report_url"]
		if cc.Simulated {
			base = strings.TrimRight(o.SimURL, "/") + SimPath(cc.Name, cc.Protocol)
			reportURL = strings.TrimRight(o.SimURL, "/") + "/reports/" + cc.Name + "/{date}"
		}
		c, err := Build(cc.Protocol, Settings{
			Name: cc.Name, BaseURL: base, Capabilities: CapabilitiesOf(cc), HTTPClient: o.HTTPClient,
			CallbackURL:   strings.TrimRight(o.PublicURL, "/") + "/v1/carriers/" + cc.Name + "/webhooks",
			WebhookSecret: cc.WebhookSecret, Options: cc.Options, ReportURL: reportURL,
		})
		if err != nil {
			return nil, fmt.Errorf("carrier %s: %w", cc.Name, err)
		}
		r.byName[cc.Name] = Guard(c, o.Breaker)
		r.simulated[cc.Name] = cc.Simulated
		r.names = append(r.names, cc.Name)
	}
	sort.Strings(r.names)
	return r, nil
}

// CapabilitiesOf turns a validated carrier config into declared capabilities.
func CapabilitiesOf(cc configs.CarrierConfig) Capabilities {
	w := RefundWindow{Kind: cc.RefundWindow.Kind, Days: cc.RefundWindow.Days}
	if w.Kind == "" {
		w.Kind = "none"
	}
	if cc.RefundWindow.TimeZone != "" {
		if loc, err := time.LoadLocation(cc.RefundWindow.TimeZone); err == nil {
			w.Location = loc
		}
	}
	return Capabilities{
		Currencies:          cc.Currencies,
		MinAmount:           cc.MinAmount,
		MaxAmount:           cc.MaxAmount,
		PartialRefunds:      cc.PartialRefunds,
		RefundWindow:        w,
		Async:               cc.Async,
		ConfirmationMethods: []string{"sms_code", "payment_method"},
		CarrierConfirms:     cc.Confirmation == "carrier",
		Country:             cc.Country,
	}
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
