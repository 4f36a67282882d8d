package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/batch"
	"tollgate/internal/clock"
	"tollgate/internal/jobs"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
	"tollgate/internal/ttlcache"
)

// lookupCacheMax bounds each per-node lookup cache (entries).
const lookupCacheMax = 10000

// CarrierSet is what billing needs of the carrier registry.
type CarrierSet interface {
	Get(name string) (carriers.Carrier, bool)
	Simulated(name string) bool
	Names() []string
	// Available answers, without I/O, whether calls to the carrier may go
	// out now (its breaker is not open) and if not, when to try again.
	Available(name string) (bool, time.Duration)
	// Health is the carrier's breaker state for GET /v1/carriers.
	Health(name string) carriers.Health
}

// Settings tune the billing rules.
type Settings struct {
	CodeTTL        time.Duration
	MaxAttempts    int
	CarrierTimeout time.Duration
	// Risk are the risk rules (risk.go); the zero value runs none.
	Risk RiskSettings
	// Caps are the monthly spending caps; empty means none.
	Caps CapRules
	// LookupCacheTTL is how long a node keeps what every charge reads and
	// hardly ever changes (merchants' names); 0 reads it each time.
	LookupCacheTTL time.Duration
}

// Service runs charges, refunds and payment methods.
type Service struct {
	db       *gorm.DB
	carriers CarrierSet
	vault    *msisdn.Vault
	clock    clock.Clock
	cfg      Settings
	log      *slog.Logger
	jobs     *jobs.Client
	events   EventSink
	limits   Limiter
	catchUp  catchUpThrottle                 // when this node last caught each carrier up (catchup.go)
	names    *ttlcache.Cache[string, string] // merchant id → name (merchant.go)
	// cashbackEver: whether a merchant has ever had a cashback program in a
	// mode (cashback.go), so charges of the many that never did read none.
	cashbackEver *ttlcache.Cache[merchantMode, bool]
	// textCharges reads the charges of subscriber texts due together, as
	// the queue hands them out together (alerts.go).
	textCharges *batch.Batcher[string, *Charge]
	// keyedCharges and paymentMethods read what each new charge reads
	// first, for the requests that arrive together (charge.go,
	// payment_method.go).
	keyedCharges   *batch.Batcher[chargeKey, *Charge]
	paymentMethods *batch.Batcher[string, *PaymentMethod]
	// successes applies the carrier's successes that arrive together
	// (outcome_batch.go); nil on the embedded store.
	successes *batch.Batcher[success, *Charge]
	// intents records the one-tap intents that arrive together
	// (intent_batch.go); nil on the embedded store.
	intents *batch.Batcher[*Charge, bool]
}

// merchantMode names one merchant in one mode (test or live).
type merchantMode struct {
	merchantID string
	livemode   bool
}

// Deps are what the service is built from; all are required.
type Deps struct {
	DB       *gorm.DB
	Carriers CarrierSet
	Vault    *msisdn.Vault
	Clock    clock.Clock
	Log      *slog.Logger
	// Jobs holds the durable work a change schedules (status queries,
	// expiries), inserted in the change's own transaction.
	Jobs *jobs.Client
	// Events records what merchants are told, in the same transaction.
	Events EventSink
	// Limits bounds codes and charges per phone number across nodes.
	Limits Limiter
}

// NewService wires the billing service. A missing dependency is an error,
// not a silent no-op: a service without its queue would lose charges.
func NewService(d Deps, cfg Settings) (*Service, error) {
	var missing []string
	for name, v := range map[string]bool{"DB": d.DB == nil, "Carriers": d.Carriers == nil, "Vault": d.Vault == nil,
		"Clock": d.Clock == nil, "Log": d.Log == nil, "Jobs": d.Jobs == nil, "Events": d.Events == nil, "Limits": d.Limits == nil} {
		if v {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("billing: missing %s", strings.Join(missing, ", "))
	}
	if cfg.CodeTTL <= 0 || cfg.MaxAttempts <= 0 || cfg.CarrierTimeout <= 0 {
		return nil, fmt.Errorf("billing: code TTL, attempts and carrier timeout must be positive (got %s, %d, %s)", cfg.CodeTTL, cfg.MaxAttempts, cfg.CarrierTimeout)
	}
	if err := cfg.Risk.validate(); err != nil {
		return nil, err
	}
	s := &Service{db: d.DB, carriers: d.Carriers, vault: d.Vault, clock: d.Clock, cfg: cfg, log: d.Log, jobs: d.Jobs, events: d.Events, limits: d.Limits,
		names:        ttlcache.New[string, string](cfg.LookupCacheTTL, lookupCacheMax, d.Clock),
		cashbackEver: ttlcache.New[merchantMode, bool](cfg.LookupCacheTTL, lookupCacheMax, d.Clock)}
	s.textCharges = batch.New(textBatchMax, s.chargesByID)
	s.keyedCharges = batch.New(readBatchMax, s.chargesByKey)
	s.paymentMethods = batch.New(readBatchMax, s.paymentMethodsByID)
	s.successes = newSuccessBatcher(s)
	s.intents = newIntentBatcher(s)
	return s, nil
}

// BatchStats are the service's batches' counts, by name, for /metrics.
func (s *Service) BatchStats() map[string]batch.Stats {
	stats := map[string]batch.Stats{"text_charge_read": s.textCharges.Stats(),
		"charge_by_key_read": s.keyedCharges.Stats(), "payment_method_read": s.paymentMethods.Stats()}
	if s.successes != nil {
		stats["charge_success"] = s.successes.Stats()
	}
	if s.intents != nil {
		stats["charge_intent"] = s.intents.Stats()
	}
	return stats
}

// readBatchMax bounds one read for requests arriving together.
const readBatchMax = 64

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// ensureAvailable refuses at once, before anything is written, when the
// carrier's breaker is open: 503 with Retry-After, no carrier call.
func (s *Service) ensureAvailable(name string) error {
	ok, wait := s.carriers.Available(name)
	if ok {
		return nil
	}
	return carrierUnavailable(name, wait)
}

func carrierUnavailable(name string, wait time.Duration) *problem.Problem {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	p := problem.New(http.StatusServiceUnavailable, problem.CodeCarrierUnavailable,
		fmt.Sprintf("Carrier %s is not answering right now; nothing was charged. Retry after %d s with the same Idempotency-Key.", name, secs))
	p.RetryAfter = secs
	return p
}

// usable reports whether a key of this mode may use the named carrier: test
// keys reach simulated carriers only, live keys never do.
func (s *Service) usable(p auth.Principal, name string) (carriers.Carrier, bool) {
	c, ok := s.carriers.Get(name)
	if !ok || s.carriers.Simulated(name) == p.Livemode {
		return nil, false
	}
	return c, true
}

// resolveCarrier picks the carrier for a subscriber: the one named, or the
// only one that serves the number's country in the currency. A named
// carrier must serve the number's country too: a carrier bills only its own
// subscribers, so any other number would be billed to a line it does not have.
func (s *Service) resolveCarrier(p auth.Principal, name, e164, currency string) (carriers.Carrier, error) {
	region := msisdn.Region(e164)
	if name != "" {
		c, ok := s.usable(p, name)
		if !ok {
			return nil, problem.Unprocessable(problem.CodeUnknownCarrier, "carrier", fmt.Sprintf("No carrier named %q is available to this key; GET /v1/carriers lists them.", name))
		}
		if country := c.Capabilities().Country; region == "" || region != country {
			from := "a country no carrier serves"
			if region != "" {
				from = region
			}
			return nil, problem.Unprocessable(problem.CodeUnknownCarrier, "carrier", fmt.Sprintf("Carrier %s bills subscribers in %s only; this phone number is from %s.", c.Name(), country, from))
		}
		return c, nil
	}
	var found []carriers.Carrier
	for _, n := range s.carriers.Names() {
		c, ok := s.usable(p, n)
		if ok && c.Capabilities().Country == region && (currency == "" || c.Capabilities().SupportsCurrency(currency)) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, problem.Unprocessable(problem.CodeUnknownCarrier, "carrier", "No configured carrier serves this phone number's country in this currency.")
	default:
		names := ""
		for i, c := range found {
			if i > 0 {
				names += ", "
			}
			names += c.Name()
		}
		return nil, problem.Unprocessable(problem.CodeCarrierRequired, "carrier", "Several carriers serve this phone number ("+names+"); say which one with carrier.")
	}
}

// parseMSISDN normalises a number or answers a problem that never repeats it.
func parseMSISDN(raw, country string) (string, error) {
	if raw == "" {
		return "", problem.Invalid("msisdn", "msisdn is required.")
	}
	e164, err := msisdn.Parse(raw, country)
	if err != nil {
		p := problem.Unprocessable(problem.CodeInvalidMSISDN, "msisdn", "msisdn is not a valid mobile number; send it in E.164 form (+ and country code) or in national form with country.")
		return "", p
	}
	return e164, nil
}

// errConflict means another request moved the row first.
var errConflict = errors.New("concurrent update")

func stateProblem(what, id string, st any, wanted string) *problem.Problem {
	return problem.New(http.StatusConflict, problem.CodeChargeStateInvalid, fmt.Sprintf("%s %s is %s; %s.", what, id, st, wanted))
}

// sms texts a subscriber about ref, the id of the charge or payment method
// the message is for: it travels with the message, so test mode's
// simulator shows each merchant only the texts about its own payments.
func (s *Service) sms(ctx context.Context, c carriers.Carrier, ref, e164, body string) error {
	snd, ok := c.(carriers.SMSSender)
	if !ok {
		return fmt.Errorf("carrier %s cannot send SMS", c.Name())
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CarrierTimeout)
	defer cancel()
	return snd.SendSMS(ctx, carriers.SMS{MSISDN: e164, Body: body, Reference: ref})
}

// CarrierInfo is a carrier as a principal may see it.
type CarrierInfo struct {
	Name         string
	Capabilities carriers.Capabilities
	Health       carriers.Health
}

// Carriers lists the carriers p's key may use, with their breaker state.
func (s *Service) Carriers(p auth.Principal) []CarrierInfo {
	var out []CarrierInfo
	for _, name := range s.carriers.Names() {
		c, ok := s.usable(p, name)
		if !ok {
			continue
		}
		out = append(out, CarrierInfo{Name: name, Capabilities: c.Capabilities(), Health: s.carriers.Health(name)})
	}
	return out
}
