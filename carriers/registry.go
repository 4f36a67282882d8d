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
	// Options are protocol-specific settings from config (e.g. camara's
	// "flow": "2-step").
	Options map[string]string
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

// Registry holds the configured carrier connections by name.
type Registry struct {
	byName    map[string]Carrier
	simulated map[string]bool
	names     []string
}

// NewRegistry builds every configured carrier. simURL is the simulator's base
// URL (ending in /sim) that simulated carriers talk to.
func NewRegistry(cfgs []configs.CarrierConfig, simURL string, hc *http.Client) (*Registry, error) {
	r := &Registry{byName: map[string]Carrier{}, simulated: map[string]bool{}}
	for _, cc := range cfgs {
		protocolsMu.RLock()
		f, ok := protocols[cc.Protocol]
		protocolsMu.RUnlock()
		if !ok {
			return nil, fmt.Errorf("carrier %s: protocol %q has no adapter", cc.Name, cc.Protocol)
		}
		base := strings.TrimRight(cc.BaseURL, "/")
		if cc.Simulated {
			base = strings.TrimRight(simURL, "/") + SimPath(cc.Name, cc.Protocol)
		}
		c, err := f(Settings{Name: cc.Name, BaseURL: base, Capabilities: CapabilitiesOf(cc), HTTPClient: hc})
		if err != nil {
			return nil, fmt.Errorf("carrier %s: %w", cc.Name, err)
		}
		r.byName[cc.Name] = c
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
		ConfirmationMethods: []string{"sms_code", "payment_method"},
		Country:             cc.Country,
	}
}

// Get returns the named carrier.
func (r *Registry) Get(name string) (Carrier, bool) {
	c, ok := r.byName[name]
	return c, ok
}

// Simulated reports whether the named carrier is a simulated one (test mode only).
func (r *Registry) Simulated(name string) bool { return r.simulated[name] }

// Names lists the configured carriers in name order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }
