package billingapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/jsonbody"
	"tollgate/internal/problem"
	"tollgate/internal/web"
)

// Mount adds the merchant API to g (the /v1 group). merchant admits merchant
// keys; reader admits keys that may read charges (merchant and finance).
func (a *API) Mount(g *echo.Group, merchant, reader echo.MiddlewareFunc) {
	required, optional := a.idempotency(true), a.idempotency(false)
	g.POST("/charges", a.handleCreateCharge, merchant, required)
	g.GET("/charges", a.handleListCharges, reader)
	g.GET("/charges/:id", a.handleGetCharge, reader)
	g.POST("/charges/:id/confirm", a.handleConfirmCharge, merchant, optional)
	g.POST("/charges/:id/cancel", a.handleCancelCharge, merchant, optional)
	g.POST("/charges/:id/refunds", a.handleCreateRefund, merchant, required)
	g.GET("/charges/:id/refunds", a.handleListRefunds, merchant)
	g.GET("/charges/:id/refunds/:refund", a.handleGetRefund, merchant)
	g.POST("/payment_methods", a.handleCreatePaymentMethod, merchant, required)
	g.GET("/payment_methods/:id", a.handleGetPaymentMethod, merchant)
	g.POST("/payment_methods/:id/confirm", a.handleConfirmPaymentMethod, merchant, optional)
	g.DELETE("/payment_methods/:id", a.handleRevokePaymentMethod, merchant)
	g.GET("/carriers", a.handleListCarriers, merchant)
	a.mountSubscriptions(g, merchant, required, optional)
	a.mountCashback(g, merchant, optional)
}

func (a *API) handleCreateCharge(c echo.Context) error {
	var in billing.ChargeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	ch, err := a.svc.CreateCharge(c.Request().Context(), web.Principal(c), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, chargeView(ch))
}

func (a *API) handleGetCharge(c echo.Context) error {
	ch, err := a.svc.GetCharge(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeView(ch))
}

type list struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
}

func (a *API) handleListCharges(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		switch k {
		case "limit", "starting_after", "status", "carrier", "created_gte", "created_lt", "merchant_reference":
		default:
			return unknownQuery(k)
		}
	}
	out, more, err := a.svc.ListCharges(c.Request().Context(), web.Principal(c), billing.ListParams{
		Limit: q.Get("limit"), StartingAfter: q.Get("starting_after"), Status: q.Get("status"), Carrier: q.Get("carrier"),
		CreatedGTE: q.Get("created_gte"), CreatedLT: q.Get("created_lt"), MerchantReference: q.Get("merchant_reference"),
	})
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out)), HasMore: more}
	for i := range out {
		l.Data = append(l.Data, chargeView(&out[i]))
	}
	return c.JSON(http.StatusOK, l)
}

type codeParams struct {
	Code string `json:"code"`
}

func (a *API) handleConfirmCharge(c echo.Context) error {
	var in codeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	ch, err := a.svc.ConfirmCharge(c.Request().Context(), web.Principal(c), c.Param("id"), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeView(ch))
}

func (a *API) handleCancelCharge(c echo.Context) error {
	var in struct{}
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	ch, err := a.svc.CancelCharge(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeView(ch))
}

func (a *API) handleCreateRefund(c echo.Context) error {
	var in billing.RefundParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	rf, err := a.svc.CreateRefund(c.Request().Context(), web.Principal(c), c.Param("id"), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, refundView(rf))
}

func (a *API) handleListRefunds(c echo.Context) error {
	out, err := a.svc.ListRefunds(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out))}
	for i := range out {
		l.Data = append(l.Data, refundView(&out[i]))
	}
	return c.JSON(http.StatusOK, l)
}

func (a *API) handleGetRefund(c echo.Context) error {
	rf, err := a.svc.GetRefund(c.Request().Context(), web.Principal(c), c.Param("id"), c.Param("refund"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, refundView(rf))
}

func (a *API) handleCreatePaymentMethod(c echo.Context) error {
	var in billing.PaymentMethodParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	pm, err := a.svc.CreatePaymentMethod(c.Request().Context(), web.Principal(c), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, paymentMethodView(pm))
}

func (a *API) handleGetPaymentMethod(c echo.Context) error {
	pm, err := a.svc.GetPaymentMethod(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, paymentMethodView(pm))
}

func (a *API) handleConfirmPaymentMethod(c echo.Context) error {
	var in codeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	pm, err := a.svc.ConfirmPaymentMethod(c.Request().Context(), web.Principal(c), c.Param("id"), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, paymentMethodView(pm))
}

func (a *API) handleRevokePaymentMethod(c echo.Context) error {
	pm, err := a.svc.RevokePaymentMethod(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, paymentMethodView(pm))
}

type carrierView struct {
	Name                  string   `json:"name"`
	Object                string   `json:"object"`
	Country               string   `json:"country"`
	Currencies            []string `json:"currencies"`
	MinAmount             int64    `json:"min_amount"`
	MaxAmount             int64    `json:"max_amount"`
	SupportsPartialRefund bool     `json:"supports_partial_refund"`
	RefundWindow          string   `json:"refund_window"`
	ConfirmationMethods   []string `json:"confirmation_methods"`
	Async                 bool     `json:"async"`
	Status                string   `json:"status"`
}

func (a *API) handleListCarriers(c echo.Context) error {
	l := list{Object: "list", Data: []any{}}
	for _, cr := range a.svc.Carriers(web.Principal(c)) {
		caps := cr.Capabilities
		window := caps.RefundWindow.Kind
		switch window {
		case "days":
			window = "within " + strconv.Itoa(caps.RefundWindow.Days) + " days"
		case "calendar_month":
			window = "same calendar month"
			if caps.RefundWindow.Location != nil {
				window += ", " + caps.RefundWindow.Location.String()
			}
		}
		l.Data = append(l.Data, carrierView{Name: cr.Name, Object: "carrier", Country: caps.Country, Currencies: caps.Currencies,
			MinAmount: caps.MinAmount, MaxAmount: caps.MaxAmount, SupportsPartialRefund: caps.PartialRefunds,
			RefundWindow: window, ConfirmationMethods: caps.ConfirmationMethods, Async: caps.Async, Status: string(cr.Health)})
	}
	return c.JSON(http.StatusOK, l)
}

func unknownQuery(k string) error {
	p := problem.Invalid(k, fmt.Sprintf("Unknown query parameter %q.", k))
	p.Code = problem.CodeUnknownParameter
	return p
}
