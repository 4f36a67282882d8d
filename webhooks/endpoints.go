package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/internal/auth"
	"tollgate/internal/jsonbody"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/web"
)

// EventTypes are the types an endpoint may subscribe to ("*" is all).
var EventTypes = []string{
	billing.EventChargeRequiresConfirmation, billing.EventChargeProcessing, billing.EventChargeSucceeded,
	billing.EventChargeFailed, billing.EventChargeCanceled, billing.EventChargeRefunded,
	billing.EventRefundSucceeded, billing.EventRefundFailed,
	billing.EventPaymentMethodActivated, billing.EventPaymentMethodRevoked, EventEndpointDisabled,
	billing.EventSpendThresholdReached, billing.EventChargeScheduled,
	billing.EventSubscriptionCreated, billing.EventSubscriptionRenewed, billing.EventSubscriptionPastDue, billing.EventSubscriptionCanceled,
	billing.EventRefundRequestCreated, billing.EventRefundRequestApproved, billing.EventRefundRequestDeclined,
}

// maxEnabledEvents caps an endpoint's list of event types.
const maxEnabledEvents = 50

type endpointView struct {
	ID             string   `json:"id"`
	Object         string   `json:"object"`
	URL            string   `json:"url"`
	EnabledEvents  []string `json:"enabled_events"`
	Description    string   `json:"description"`
	Status         string   `json:"status"`
	DisabledReason *string  `json:"disabled_reason"`
	Secret         string   `json:"secret,omitempty"` // only in the answer that creates it
	Livemode       bool     `json:"livemode"`
	CreatedAt      string   `json:"created_at"`
}

func (e *endpoint) view(secret string) endpointView {
	return endpointView{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, EnabledEvents: e.events(), Description: e.Description,
		Status: e.Status, DisabledReason: e.DisabledReason, Secret: secret, Livemode: e.Livemode, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339)}
}

type endpointParams struct {
	URL           string   `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   string   `json:"description"`
	Secret        string   `json:"secret"` // optional: bring your own whsec_ secret
}

// Mount adds the merchant's webhook endpoints and events API.
func (o *Outbound) Mount(g *echo.Group, merchant echo.MiddlewareFunc) {
	g.POST("/webhook_endpoints", o.handleCreateEndpoint, merchant)
	g.GET("/webhook_endpoints", o.handleListEndpoints, merchant)
	g.GET("/webhook_endpoints/:id", o.handleGetEndpoint, merchant)
	g.DELETE("/webhook_endpoints/:id", o.handleDeleteEndpoint, merchant)
	g.GET("/events", o.handleListEvents, merchant)
	g.GET("/events/:id", o.handleGetEvent, merchant)
	g.POST("/events/:id/redeliver", o.handleRedeliver, merchant)
}

func (o *Outbound) handleCreateEndpoint(c echo.Context) error {
	var in endpointParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	v, err := o.createEndpoint(c.Request().Context(), web.Principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

// createEndpoint checks a merchant's endpoint and stores it with its secret
// sealed; the answer is the only place the secret is ever shown.
func (o *Outbound) createEndpoint(ctx context.Context, p auth.Principal, in endpointParams) (endpointView, error) {
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "":
		return endpointView{}, problem.Invalid("url", "url is required: where tollgate POSTs events.")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || len(in.URL) > 2048:
		return endpointView{}, problem.Invalid("url", "url must be an absolute http(s) URL without credentials, at most 2048 characters.")
	case p.Livemode && u.Scheme != "https":
		return endpointView{}, problem.Invalid("url", "Live endpoints must use https.")
	}
	if len(in.EnabledEvents) == 0 {
		return endpointView{}, problem.Invalid("enabled_events", `enabled_events is required: event types, or ["*"] for all.`)
	}
	// Checked before the loop, so a huge list costs nothing; with duplicates
	// refused, a valid list can never come near it.
	if len(in.EnabledEvents) > maxEnabledEvents {
		return endpointView{}, problem.Invalid("enabled_events", fmt.Sprintf("enabled_events has %d entries; at most %d.", len(in.EnabledEvents), maxEnabledEvents))
	}
	for i, t := range in.EnabledEvents {
		if t != "*" && !slices.Contains(EventTypes, t) {
			return endpointView{}, problem.Invalid("enabled_events", fmt.Sprintf("Unknown event type %q; known: %s.", t, strings.Join(EventTypes, ", ")))
		}
		if slices.Contains(in.EnabledEvents[:i], t) {
			return endpointView{}, problem.Invalid("enabled_events", fmt.Sprintf("Event type %q is listed twice.", t))
		}
	}
	if len(in.Description) > 255 {
		return endpointView{}, problem.Invalid("description", "description must be at most 255 characters.")
	}
	secret := in.Secret
	if secret == "" {
		secret = NewSecret()
	} else if _, err := secretKey(secret); err != nil {
		return endpointView{}, problem.Invalid("secret", "secret: "+err.Error()+"; omit it to have one generated.")
	}
	// Last of the checks: it may ask DNS, so a request refused for
	// anything else never pays for a look-up.
	if o.cfg.PublicOnly && checkHost(ctx, u.Hostname(), o.cfg.Resolve) != nil {
		return endpointView{}, problem.Invalid("url", "Live endpoints must be on a public address, not localhost, a private or reserved network, or a numeric host.")
	}
	if err := ratelimit.Problem(o.cfg.Limits.Take(ctx, LimitEndpoints, p.MerchantID), "webhook endpoints created by this merchant; nothing was created"); err != nil {
		return endpointView{}, err
	}
	sealed, err := o.vault.Seal(secret)
	if err != nil {
		return endpointView{}, fmt.Errorf("seal endpoint secret: %w", err)
	}
	events, _ := json.Marshal(in.EnabledEvents)
	now := o.now()
	ep := endpoint{ID: "we_" + auth.RandomString(24), MerchantID: p.MerchantID, Livemode: p.Livemode, URL: in.URL, SecretEnc: sealed,
		EnabledEvents: string(events), Description: in.Description, Status: endpointEnabled, CreatedAt: now, UpdatedAt: now}
	if err := o.db.WithContext(ctx).Create(&ep).Error; err != nil {
		return endpointView{}, fmt.Errorf("create endpoint: %w", err)
	}
	o.changed(ep.MerchantID, ep.Livemode)
	return ep.view(secret), nil
}

func (o *Outbound) endpointOf(c echo.Context) (*endpoint, error) {
	var ep endpoint
	err := o.db.WithContext(c.Request().Context()).Where("id = ? AND merchant_id = ? AND status <> ?", c.Param("id"), web.Principal(c).MerchantID, endpointDeleted).Take(&ep).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("webhook endpoint")
	}
	return &ep, err
}

func (o *Outbound) handleGetEndpoint(c echo.Context) error {
	ep, err := o.endpointOf(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ep.view(""))
}

func (o *Outbound) handleListEndpoints(c echo.Context) error {
	var eps []endpoint
	if err := o.db.WithContext(c.Request().Context()).Where("merchant_id = ? AND status <> ?", web.Principal(c).MerchantID, endpointDeleted).Order("seq DESC").Find(&eps).Error; err != nil {
		return fmt.Errorf("list endpoints: %w", err)
	}
	out := make([]any, 0, len(eps))
	for i := range eps {
		out = append(out, eps[i].view(""))
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": out, "has_more": false})
}

// handleDeleteEndpoint stops deliveries to the endpoint; its history stays.
func (o *Outbound) handleDeleteEndpoint(c echo.Context) error {
	ep, err := o.endpointOf(c)
	if err != nil {
		return err
	}
	if err := o.db.WithContext(c.Request().Context()).Model(&endpoint{}).Where("id = ?", ep.ID).
		Updates(map[string]any{"status": endpointDeleted, "updated_at": o.now()}).Error; err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	o.changed(ep.MerchantID, ep.Livemode)
	return c.JSON(http.StatusOK, map[string]any{"id": ep.ID, "object": "webhook_endpoint", "deleted": true})
}
