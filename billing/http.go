package billing

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/internal/auth"
	"tollgate/internal/jsonbody"
)

// Mount adds the merchant API to g (the /v1 group). merchant admits merchant
// keys; reader admits keys that may read charges (merchant and finance).
func (s *Service) Mount(g *echo.Group, merchant, reader echo.MiddlewareFunc) {
	required, optional := s.Idempotency(true), s.Idempotency(false)
	g.POST("/charges", s.handleCreateCharge, merchant, required)
	g.GET("/charges", s.handleListCharges, reader)
	g.GET("/charges/:id", s.handleGetCharge, reader)
	g.POST("/charges/:id/confirm", s.handleConfirmCharge, merchant, optional)
	g.POST("/charges/:id/cancel", s.handleCancelCharge, merchant, optional)
	g.POST("/charges/:id/refunds", s.handleCreateRefund, merchant, required)
	g.GET("/charges/:id/refunds", s.handleListRefunds, merchant)
	g.GET("/charges/:id/refunds/:refund", s.handleGetRefund, merchant)
	g.POST("/payment_methods", s.handleCreatePaymentMethod, merchant, optional)
	g.GET("/payment_methods/:id", s.handleGetPaymentMethod, merchant)
	g.POST("/payment_methods/:id/confirm", s.handleConfirmPaymentMethod, merchant, optional)
	g.DELETE("/payment_methods/:id", s.handleRevokePaymentMethod, merchant)
	g.GET("/carriers", s.handleListCarriers, merchant)
}

func (s *Service) handleCreateCharge(c echo.Context) error {
	var in ChargeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	ch, err := s.CreateCharge(c.Request().Context(), auth.From(c), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ch.View())
}

func (s *Service) handleGetCharge(c echo.Context) error {
	ch, err := s.GetCharge(c.Request().Context(), auth.From(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch.View())
}

type list struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
}

func (s *Service) handleListCharges(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		switch k {
		case "limit", "starting_after", "status", "carrier", "created_gte", "created_lt", "merchant_reference":
		default:
			return unknownQuery(k)
		}
	}
	out, more, err := s.ListCharges(c.Request().Context(), auth.From(c), ListParams{
		Limit: q.Get("limit"), StartingAfter: q.Get("starting_after"), Status: q.Get("status"), Carrier: q.Get("carrier"),
		CreatedGTE: q.Get("created_gte"), CreatedLT: q.Get("created_lt"), MerchantReference: q.Get("merchant_reference"),
	})
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out)), HasMore: more}
	for i := range out {
		l.Data = append(l.Data, out[i].View())
	}
	return c.JSON(http.StatusOK, l)
}

type codeParams struct {
	Code string `json:"code"`
}

func (s *Service) handleConfirmCharge(c echo.Context) error {
	var in codeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	ch, err := s.ConfirmCharge(c.Request().Context(), auth.From(c), c.Param("id"), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch.View())
}

func (s *Service) handleCancelCharge(c echo.Context) error {
	var in struct{}
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	ch, err := s.CancelCharge(c.Request().Context(), auth.From(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch.View())
}

func (s *Service) handleCreateRefund(c echo.Context) error {
	var in RefundParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	rf, err := s.CreateRefund(c.Request().Context(), auth.From(c), c.Param("id"), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, rf.View())
}

func (s *Service) handleListRefunds(c echo.Context) error {
	out, err := s.ListRefunds(c.Request().Context(), auth.From(c), c.Param("id"))
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out))}
	for i := range out {
		l.Data = append(l.Data, out[i].View())
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Service) handleGetRefund(c echo.Context) error {
	rf, err := s.GetRefund(c.Request().Context(), auth.From(c), c.Param("id"), c.Param("refund"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rf.View())
}

func (s *Service) handleCreatePaymentMethod(c echo.Context) error {
	var in PaymentMethodParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	pm, err := s.CreatePaymentMethod(c.Request().Context(), auth.From(c), c.Request().Header.Get(HeaderIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, pm.View())
}

func (s *Service) handleGetPaymentMethod(c echo.Context) error {
	pm, err := s.GetPaymentMethod(c.Request().Context(), auth.From(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pm.View())
}

func (s *Service) handleConfirmPaymentMethod(c echo.Context) error {
	var in codeParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	pm, err := s.ConfirmPaymentMethod(c.Request().Context(), auth.From(c), c.Param("id"), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pm.View())
}

func (s *Service) handleRevokePaymentMethod(c echo.Context) error {
	pm, err := s.RevokePaymentMethod(c.Request().Context(), auth.From(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pm.View())
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

func (s *Service) handleListCarriers(c echo.Context) error {
	p := auth.From(c)
	l := list{Object: "list", Data: []any{}}
	for _, name := range s.carriers.Names() {
		cr, ok := s.usable(p, name)
		if !ok {
			continue
		}
		caps := cr.Capabilities()
		status := string(s.carriers.Health(name))
		window := caps.RefundWindow.Kind
		switch window {
		case "days":
			window = "within " + itoa(caps.RefundWindow.Days) + " days"
		case "calendar_month":
			window = "same calendar month"
			if caps.RefundWindow.Location != nil {
				window += ", " + caps.RefundWindow.Location.String()
			}
		}
		l.Data = append(l.Data, carrierView{Name: name, Object: "carrier", Country: caps.Country, Currencies: caps.Currencies,
			MinAmount: caps.MinAmount, MaxAmount: caps.MaxAmount, SupportsPartialRefund: caps.PartialRefunds,
			RefundWindow: window, ConfirmationMethods: caps.ConfirmationMethods, Async: caps.Async, Status: status})
	}
	return c.JSON(http.StatusOK, l)
}
