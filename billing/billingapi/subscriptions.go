package billingapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/jsonbody"
	"tollgate/internal/web"
)

// mountSubscriptions adds the subscription endpoints to the /v1 group.
func (a *API) mountSubscriptions(g *echo.Group, merchant, required, optional echo.MiddlewareFunc) {
	g.POST("/subscriptions", a.handleCreateSubscription, merchant, required)
	g.GET("/subscriptions", a.handleListSubscriptions, merchant)
	g.GET("/subscriptions/:id", a.handleGetSubscription, merchant)
	g.POST("/subscriptions/:id/confirm", a.handleConfirmSubscription, merchant, optional)
	g.POST("/subscriptions/:id/cancel", a.handleCancelSubscription, merchant, optional)
}

func (a *API) handleCreateSubscription(c echo.Context) error {
	var in billing.SubscriptionParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	sub, err := a.svc.CreateSubscription(c.Request().Context(), web.Principal(c), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, subscriptionView(sub))
}

func (a *API) handleGetSubscription(c echo.Context) error {
	sub, err := a.svc.GetSubscription(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, subscriptionView(sub))
}

func (a *API) handleListSubscriptions(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		switch k {
		case "limit", "starting_after", "status":
		default:
			return unknownQuery(k)
		}
	}
	out, more, err := a.svc.ListSubscriptions(c.Request().Context(), web.Principal(c), billing.SubscriptionListParams{
		Limit: q.Get("limit"), StartingAfter: q.Get("starting_after"), Status: q.Get("status"),
	})
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out)), HasMore: more}
	for i := range out {
		l.Data = append(l.Data, subscriptionView(&out[i]))
	}
	return c.JSON(http.StatusOK, l)
}

func (a *API) handleConfirmSubscription(c echo.Context) error {
	var in codeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	sub, err := a.svc.ConfirmSubscription(c.Request().Context(), web.Principal(c), c.Param("id"), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, subscriptionView(sub))
}

func (a *API) handleCancelSubscription(c echo.Context) error {
	var in struct{}
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	sub, err := a.svc.CancelSubscription(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, subscriptionView(sub))
}

type subscriptionBody struct {
	ID                    string                     `json:"id"`
	Object                string                     `json:"object"`
	Status                billing.SubscriptionStatus `json:"status"`
	PaymentMethod         string                     `json:"payment_method"`
	Carrier               string                     `json:"carrier"`
	MSISDNMasked          string                     `json:"msisdn_masked"`
	Amount                int64                      `json:"amount"`
	Currency              string                     `json:"currency"`
	Interval              string                     `json:"interval"`
	Description           string                     `json:"description"`
	Category              string                     `json:"category"`
	StartAt               *string                    `json:"start_at"`
	CurrentPeriodStart    *string                    `json:"current_period_start"`
	CurrentPeriodEnd      *string                    `json:"current_period_end"`
	NextChargeAt          *string                    `json:"next_charge_at"`
	LatestCharge          *string                    `json:"latest_charge"`
	ConfirmationExpiresAt *string                    `json:"confirmation_expires_at"`
	CancellationReason    *string                    `json:"cancellation_reason"`
	CanceledAt            *string                    `json:"canceled_at"`
	Livemode              bool                       `json:"livemode"`
	CreatedAt             string                     `json:"created_at"`
	UpdatedAt             string                     `json:"updated_at"`
}

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// subscriptionView is the subscription as the API shows it.
func subscriptionView(sub *billing.Subscription) any {
	v := subscriptionBody{
		ID: sub.ID, Object: "subscription", Status: sub.Status, PaymentMethod: sub.PaymentMethodID, Carrier: sub.Carrier,
		MSISDNMasked: sub.MSISDNMasked, Amount: sub.Amount, Currency: sub.Currency, Interval: sub.Interval,
		Description: sub.Description, Category: sub.Category, StartAt: tsp(sub.StartAt),
		CurrentPeriodStart: tsp(sub.CurrentPeriodStart), CurrentPeriodEnd: tsp(sub.CurrentPeriodEnd), NextChargeAt: tsp(sub.NextChargeAt),
		LatestCharge: sub.LatestChargeID, CancellationReason: sub.CancellationReason, CanceledAt: tsp(sub.CanceledAt),
		Livemode: sub.Livemode, CreatedAt: ts(sub.CreatedAt), UpdatedAt: ts(sub.UpdatedAt),
	}
	if sub.Status == billing.SubRequiresConfirmation {
		v.ConfirmationExpiresAt = tsp(sub.CodeExpiresAt)
	}
	return v
}
