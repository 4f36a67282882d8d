// Package carriertest is the conformance suite every carrier adapter
// passes: the promises the gateway relies on, checked against the adapter
// talking to the simulator (carriers/sim) over real HTTP, on the production
// path: built by the registry, sending through the resilient HTTP client
// (carriers.NewHTTPClient) and behind its breaker, on the test clock. An
// adapter package runs it from its own tests; importing the package
// registers the protocol:
//
//	func TestConformance(t *testing.T) { carriertest.Run(t, "camara") }
//
// The suite drives the adapter the way the gateway does, and what the adapter
// can do decides how, never the protocol's name: an Authorizer is charged
// through Authorize, the code the simulated carrier texted, Verify and Charge
// (unless GatewayConfirms is given); pending results are followed to the end
// by callback, when the adapter is a WebhookParser, or by Status; callbacks
// are verified when it is a WebhookParser; SMS is checked when it is an
// SMSSender; cancelling when it is a Canceler.
//
// Cases, each a subtest on a fresh simulator (test numbers as API.md):
//
//   - success: succeeded, a carrier reference, one row in the carrier's
//     books under our reference;
//   - decline/0002, 0003, 0004: declined with the normalised failure code and
//     the carrier's raw code, nothing billed;
//   - async_0005: pending, then succeeded (by callback if the adapter takes
//     callbacks, which must then come), billed once;
//   - timeout_0006: a short deadline gives ErrOutcomeUnknown (or pending),
//     and Status by our reference then says succeeded, billed once;
//   - unavailable_0007: the client waits out the 503's Retry-After and
//     succeeds; with a deadline shorter than it, ErrUnavailable with a
//     RetryAfter, then success;
//   - duplicate_reference: the same charge sent twice bills once, both
//     answers agree;
//   - retry_safety: the carrier bills and the answer is lost (the
//     simulator's drop_answers): a charge with a reference the carrier
//     honours is retried by the resilient client and succeeds, one without
//     (ChargesWithoutIdempotency) is sent once and is ErrOutcomeUnknown;
//     with every connection reset it is ErrOutcomeUnknown or ErrNotSent,
//     and once the fault is gone the same charge bills; billed once always;
//   - status: by our reference and by the carrier's, and ErrNotFound for a
//     reference the carrier never saw;
//   - refunds: full, partial (when the capabilities allow), more than is
//     left (declined or ErrInvalidRequest), resent refunds applied once;
//   - not_sent: a carrier on a closed port is ErrNotSent;
//   - webhooks (WebhookParser): a real callback verifies and names our
//     charge; a tampered body (unless UnsignedWebhookBody), a wrong secret,
//     no signature, a stale one: ErrBadSignature;
//   - sms (SMSSender): the message reaches the subscriber's inbox;
//   - wrong_code (carrier confirms): ErrWrongCode, then the right code works;
//   - cancel (carrier confirms, Canceler): nothing can be billed after.
//
// It waits by polling with a bound (10 s), never by a fixed sleep, and moves
// the simulator's clock instead of waiting for it.
package carriertest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/sim"
)

// The simulated carrier every case talks to.
const (
	carrierName = "c1"
	secret      = "test-secret-c1-0123456789"
	currency    = "KRW"
	country     = "KR"
	minAmount   = 100
	maxAmount   = 500_000
)

// patience bounds every wait for something that happens later.
const patience = 10 * time.Second

// Option changes how the suite drives an adapter.
type Option func(*config)

type config struct {
	gatewayConfirms bool
	unsignedBody    bool
	noIdempotency   bool
	options         map[string]string
	oauth           *sim.OAuthClient
}

// GatewayConfirms drives an Authorizer like a carrier configured with
// confirmation "gateway": the gateway checks the subscriber's code itself
// and charges with a plain Charge, never calling Authorize.
func GatewayConfirms() Option { return func(c *config) { c.gatewayConfirms = true } }

// UnsignedWebhookBody declares that the protocol authenticates callbacks
// with a credential that does not cover the body (CAMARA's sinkCredential
// bearer token, with TLS keeping the body intact): the suite then does not
// expect a tampered body to be refused. Every other webhook check stands.
func UnsignedWebhookBody() Option { return func(c *config) { c.unsignedBody = true } }

// ChargesWithoutIdempotency declares that the protocol's charge carries no
// reference the carrier honours, so the adapter must not mark it
// resendable: retry_safety then expects a lost answer to stay
// ErrOutcomeUnknown, the charge sent once. Every adapter so far sends one
// (clientCorrelator, reference) and does not use it.
func ChargesWithoutIdempotency() Option { return func(c *config) { c.noIdempotency = true } }

// WithOptions sets the protocol-specific Settings.Options.
func WithOptions(o map[string]string) Option { return func(c *config) { c.options = o } }

// WithOAuthClient makes the simulated carrier ask for access tokens from
// the client id/secret (carriers/sim oauth.go), as CAMARA operators do;
// WithOptions tells the adapter how to get them.
func WithOAuthClient(id, secret string) Option {
	return func(c *config) { c.oauth = &sim.OAuthClient{ID: id, Secret: secret} }
}

// suite is what every case of one Run shares: what the adapter can do.
type suite struct {
	protocol string
	cfg      config
	twoStep  bool // charge through Authorize and Verify
	webhooks bool // the adapter is a WebhookParser
}

// Run runs the conformance suite against the adapter registered as protocol.
func Run(t *testing.T, protocol string, opts ...Option) {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	conn := connection(protocol, secret, capabilitiesFor(protocol, true, false), cfg.options)
	probe, err := register(conn, "http://127.0.0.1:1/sim", "http://127.0.0.1:1", NewClock(Start))
	if err != nil {
		t.Fatalf("build %s: %v", protocol, err)
	}
	_, authorizer := probe.(carriers.Authorizer)
	_, webhooks := probe.(carriers.WebhookParser)
	s := &suite{protocol: protocol, cfg: cfg, twoStep: authorizer && !cfg.gatewayConfirms, webhooks: webhooks}
	t.Logf("%s: carrier confirms (Authorize/Verify): %v; callbacks (WebhookParser): %v", protocol, s.twoStep, webhooks)

	for _, c := range s.cases(probe) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, s.newEnv(t))
		})
	}
}

// capabilitiesFor is what the registry would declare for the suite's carrier.
func capabilitiesFor(protocol string, gatewayConfirms, async bool) carriers.Capabilities {
	return carriers.Capabilities{
		Currencies: []string{currency}, MinAmount: minAmount, MaxAmount: maxAmount,
		PartialRefunds: true, RefundWindow: carriers.RefundWindow{Kind: "none"}, Async: async,
		ConfirmationMethods: []string{"sms_code", "payment_method"}, CarrierConfirms: !gatewayConfirms, Country: country,
	}
}

// connection declares the suite's carrier as config would: simulated.
func connection(protocol, webhookSecret string, caps carriers.Capabilities, opts map[string]string) carriers.Connection {
	return carriers.Connection{
		Name: carrierName, Protocol: protocol, Simulated: true,
		Capabilities: caps, WebhookSecret: webhookSecret, Options: opts,
	}
}

// httpOptions are production's (carriers.DefaultHTTPOptions) with short
// backoffs, so a case that retries does not wait for it.
func httpOptions(now func() time.Time) carriers.HTTPOptions {
	o := carriers.DefaultHTTPOptions
	o.WaitMin, o.WaitMax, o.Now = time.Millisecond, 20*time.Millisecond, now
	return o
}

// register builds conn the way the gateway does (cmd/tollgate): through the
// registry, on the resilient HTTP client, behind production's breaker
// settings, all on clk. It returns the carrier as the registry hands it out.
func register(conn carriers.Connection, simURL, publicURL string, clk *Clock) (carriers.Carrier, error) {
	hc := carriers.NewHTTPClient(httpOptions(clk.Now))
	breaker := carriers.DefaultBreakerSettings
	reg, err := carriers.NewRegistry([]carriers.Connection{conn}, carriers.RegistryOptions{
		SimURL: simURL, PublicURL: publicURL, HTTPClient: hc, Breaker: breaker, Now: clk.Now,
	})
	if err != nil {
		return nil, err
	}
	c, _ := reg.Get(conn.Name)
	return c, nil
}

// env is one case's world: a simulator, a callback sink, the carrier as the
// registry hands it out (the adapter behind its breaker).
type env struct {
	*Sim
	t           *testing.T
	s           *suite
	sink        *sink
	conn        carriers.Connection
	callbackURL string
	carrier     carriers.Carrier
}

func (s *suite) newEnv(t *testing.T) *env {
	t.Helper()
	simOpts := []SimOption{WithCarriers(carrierName), WithSecret(carrierName, secret)}
	if s.cfg.oauth != nil {
		client := *s.cfg.oauth
		simOpts = append(simOpts, func(o *sim.Options) { o.OAuthClients = map[string]sim.OAuthClient{carrierName: client} })
	}
	sm := NewSim(t, simOpts...)
	k := newSink(t)
	e := &env{
		Sim: sm, t: t, s: s, sink: k,
		conn:        connection(s.protocol, secret, capabilitiesFor(s.protocol, !s.twoStep, s.webhooks), s.cfg.options),
		callbackURL: k.url() + "/v1/carriers/" + carrierName + "/webhooks",
	}
	e.carrier = e.rebuild(func(*carriers.Connection) {})
	return e
}

// rebuild makes another carrier for the same connection with changed
// settings, on a registry of its own.
func (e *env) rebuild(change func(*carriers.Connection)) carriers.Carrier {
	e.t.Helper()
	conn := e.conn
	change(&conn)
	c, err := register(conn, e.URL()+"/sim", e.sink.url(), e.Clock)
	if err != nil {
		e.t.Fatalf("build %s: %v", e.s.protocol, err)
	}
	return c
}

// closedURL is the base URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/sim"
}

// sink records the callbacks the simulated carrier posts, and acknowledges
// each with 204.
type sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []callback
	changed chan struct{}
}

// callback is one request the carrier posted to the sink.
type callback struct {
	header http.Header
	body   []byte
}

func newSink(t *testing.T) *sink {
	t.Helper()
	k := &sink{changed: make(chan struct{}, 1)}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := readAll(r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		k.mu.Lock()
		k.got = append(k.got, callback{header: r.Header.Clone(), body: b})
		k.mu.Unlock()
		select {
		case k.changed <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *sink) url() string { return k.srv.URL }

// all returns the callbacks received so far.
func (k *sink) all() []callback {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]callback(nil), k.got...)
}
