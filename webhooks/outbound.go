package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/jobs"
	"tollgate/internal/msisdn"
	"tollgate/internal/ttlcache"
)

// Settings tune delivery to merchants.
type Settings struct {
	Timeout      time.Duration   // one attempt
	Schedule     []time.Duration // waits between attempts; the last repeats
	MaxAge       time.Duration   // give up on an event this old
	DisableAfter time.Duration   // disable an endpoint failing this long
	PublicOnly   bool            // live mode: refuse endpoints on internal addresses
	// Resolve looks a host up when an endpoint is created; nil is the
	// system resolver. Tests give one that never leaves the process.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Limits bounds what one merchant may ask of the senders (required).
	Limits Limiter
	// CacheTTL is how long a node keeps a merchant's enabled endpoints,
	// which every event reads: an endpoint created, deleted or disabled on
	// this node counts at once, on another within this. 0: read each time.
	CacheTTL time.Duration
}

// Limiter is what webhooks needs of the shared rate limits: Take spends one
// event of a rule for a key, or returns a *ratelimit.Refused.
type Limiter interface {
	Take(ctx context.Context, rule, key string) error
}

// The limits webhooks takes, per merchant: manual redeliveries and new
// endpoints, which each make the gateway send requests on the merchant's say.
const (
	LimitRedeliveries = "redeliveries_per_merchant"
	LimitEndpoints    = "endpoints_per_merchant"
)

// Limits lists the rules webhooks takes, for building the limiter.
func Limits() []string { return []string{LimitRedeliveries, LimitEndpoints} }

// Outbound records events and delivers them to merchants' endpoints.
type Outbound struct {
	endpoints *ttlcache.Cache[endpointsKey, []endpoint] // enabled ones, per merchant and mode
	db        *gorm.DB
	vault     *msisdn.Vault // seals endpoint secrets at rest
	clock     clock.Clock
	jobs      *jobs.Client
	http      *http.Client
	cfg       Settings
	log       *slog.Logger
}

// NewOutbound wires outbound webhooks; every argument is required, the job
// queue above all: without it an event would be recorded and never delivered.
func NewOutbound(db *gorm.DB, vault *msisdn.Vault, clk clock.Clock, q *jobs.Client, cfg Settings, log *slog.Logger) (*Outbound, error) {
	if db == nil || vault == nil || clk == nil || q == nil || log == nil || cfg.Limits == nil {
		return nil, errors.New("webhooks: database, vault, clock, job queue, logger and limits are required")
	}
	return &Outbound{db: db, vault: vault, clock: clk, jobs: q, cfg: cfg, log: log,
		endpoints: ttlcache.New[endpointsKey, []endpoint](cfg.CacheTTL, endpointsCacheMax, clk),
		http: &http.Client{
			Timeout: cfg.Timeout,
			// Many workers deliver to the same few merchant hosts at once;
			// keep their connections instead of dialing for every event.
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true,
				DialContext: dialer(cfg.PublicOnly).DialContext},
			// A merchant's redirect is not followed: the signed message goes
			// only where the merchant registered it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}, nil
}

func dialer(publicOnlyAddrs bool) *net.Dialer {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if publicOnlyAddrs {
		d.Control = publicOnly
	}
	return d
}

func (o *Outbound) now() time.Time { return o.clock.Now().UTC() }

// Rows.

type endpoint struct {
	Seq            int64 `gorm:"->"`
	ID             string
	MerchantID     string
	Livemode       bool
	URL            string `gorm:"column:url"`
	SecretEnc      string
	EnabledEvents  string
	Description    string
	Status         string
	FailingSince   *time.Time
	DisabledReason *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (endpoint) TableName() string { return "webhook_endpoints" }

func (e *endpoint) events() []string {
	var out []string
	_ = json.Unmarshal([]byte(e.EnabledEvents), &out)
	return out
}

func (e *endpoint) wants(typ string) bool {
	ev := e.events()
	return slices.Contains(ev, "*") || slices.Contains(ev, typ)
}

const (
	endpointEnabled  = "enabled"
	endpointDisabled = "disabled"
	endpointDeleted  = "deleted"
)

type event struct {
	Seq        int64 `gorm:"->"`
	ID         string
	MerchantID string
	Livemode   bool
	Type       string
	ObjectID   string
	Data       string
	CreatedAt  time.Time
}

func (event) TableName() string { return "events" }

type delivery struct {
	Seq           int64 `gorm:"->"`
	ID            string
	EventID       string
	EndpointID    string
	Status        string
	Attempts      int
	NextAttemptAt *time.Time
	DeliveredAt   *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (delivery) TableName() string { return "webhook_deliveries" }

type attempt struct {
	Seq        int64 `gorm:"->"`
	DeliveryID string
	Attempt    int
	StatusCode int
	Error      string
	DurationMs int64
	At         time.Time
}

func (attempt) TableName() string { return "webhook_attempts" }

const (
	deliveryPending   = "pending"
	deliverySucceeded = "succeeded"
	deliveryFailed    = "failed"
)

// EventEndpointDisabled tells a merchant an endpoint stopped receiving.
const EventEndpointDisabled = "webhook_endpoint.disabled"

// DeliverArgs is the job that delivers one event to one endpoint.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "webhook_delivery" }

var _ billing.EventSink = (*Outbound)(nil)

// EmitTx records an event and queues its deliveries in the caller's
// transaction: the event exists exactly when the change it describes does.
func (o *Outbound) EmitTx(tx *gorm.DB, e billing.Event) error {
	return o.EmitManyTx(tx, []billing.Event{e})
}

var _ billing.ManyEventSink = (*Outbound)(nil)

// EmitManyTx records events and queues their deliveries as EmitTx does,
// with one statement for the events, one for the deliveries and one for
// their jobs.
func (o *Outbound) EmitManyTx(tx *gorm.DB, es []billing.Event) error {
	if len(es) == 0 {
		return nil
	}
	now := o.now()
	evs := make([]event, len(es))
	for i, e := range es {
		data, err := json.Marshal(e.Object)
		if err != nil {
			return fmt.Errorf("encode event object: %w", err)
		}
		evs[i] = event{ID: "evt_" + auth.RandomString(24), MerchantID: e.MerchantID, Livemode: e.Livemode, Type: e.Type, ObjectID: e.ObjectID, Data: string(data), CreatedAt: now}
	}
	if err := tx.Create(&evs).Error; err != nil {
		return fmt.Errorf("insert %d events: %w", len(evs), err)
	}
	var ds []delivery
	for i := range evs {
		eps, err := o.enabledTx(tx, evs[i].MerchantID, evs[i].Livemode)
		if err != nil {
			return err
		}
		for j := range eps {
			if eps[j].wants(evs[i].Type) {
				ds = append(ds, newDelivery(&evs[i], &eps[j], now))
			}
		}
	}
	if len(ds) == 0 {
		return nil
	}
	if err := tx.Create(&ds).Error; err != nil {
		return fmt.Errorf("insert %d deliveries: %w", len(ds), err)
	}
	args := make([]river.JobArgs, len(ds))
	for i := range ds {
		args[i] = DeliverArgs{DeliveryID: ds[i].ID}
	}
	// No ScheduledAt: a job due "now" is inserted available and fetched on
	// the next poll; a scheduled one would wait for river's scheduler pass.
	return jobs.InsertManyTx(tx.Statement.Context, o.jobs, tx, args)
}

// endpointsKey names one merchant's endpoints in one mode.
type endpointsKey struct {
	merchantID string
	livemode   bool
}

// endpointsCacheMax bounds the endpoints cache (merchants and modes).
const endpointsCacheMax = 10000

// enabledTx is the merchant's enabled endpoints, from this node's copy
// while it is younger than CacheTTL. The slice is shared: read it only.
func (o *Outbound) enabledTx(tx *gorm.DB, merchantID string, livemode bool) ([]endpoint, error) {
	return o.endpoints.Load(endpointsKey{merchantID, livemode}, func() ([]endpoint, error) {
		var eps []endpoint
		if err := tx.Where("merchant_id = ? AND livemode = ? AND status = ?", merchantID, livemode, endpointEnabled).Find(&eps).Error; err != nil {
			return nil, fmt.Errorf("endpoints of %s: %w", merchantID, err)
		}
		return eps, nil
	})
}

// changed drops this node's copy of a merchant's endpoints: call it once
// the change is committed (or, inside a transaction, after its last read).
func (o *Outbound) changed(merchantID string, livemode bool) {
	o.endpoints.Forget(endpointsKey{merchantID, livemode})
}

// newDelivery is ev's delivery to ep, due at once.
func newDelivery(ev *event, ep *endpoint, now time.Time) delivery {
	return delivery{ID: "wd_" + auth.RandomString(24), EventID: ev.ID, EndpointID: ep.ID, Status: deliveryPending, NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now}
}

// queueTx creates a delivery and its job.
func (o *Outbound) queueTx(tx *gorm.DB, ev *event, ep *endpoint) error {
	d := newDelivery(ev, ep, o.now())
	if err := tx.Create(&d).Error; err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	ctx := tx.Statement.Context // InsertTx copes with a transaction opened without one
	// No ScheduledAt: a job due "now" is inserted available and fetched on
	// the next poll; a scheduled one would wait for river's scheduler pass.
	return jobs.InsertTx(ctx, o.jobs, tx, DeliverArgs{DeliveryID: d.ID}, nil)
}

// RegisterWorkers adds the delivery worker.
func RegisterWorkers(w *river.Workers, o *Outbound) {
	river.AddWorker(w, &deliverWorker{o: o})
}
