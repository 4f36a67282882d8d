package billingapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/jsonbody"
	"tollgate/internal/web"
)

// mountCashback adds the cashback program endpoints to the /v1 group.
func (a *API) mountCashback(g *echo.Group, merchant, optional echo.MiddlewareFunc) {
	g.POST("/cashback_programs", a.handleCreateCashbackProgram, merchant, optional)
	g.GET("/cashback_programs", a.handleListCashbackPrograms, merchant)
	g.GET("/cashback_programs/:id", a.handleGetCashbackProgram, merchant)
	g.POST("/cashback_programs/:id/end", a.handleEndCashbackProgram, merchant, optional)
}

func (a *API) handleCreateCashbackProgram(c echo.Context) error {
	var in billing.CashbackProgramParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	prog, err := a.svc.CreateCashbackProgram(c.Request().Context(), web.Principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cashbackProgramView(prog))
}

func (a *API) handleListCashbackPrograms(c echo.Context) error {
	for k := range c.QueryParams() {
		return unknownQuery(k)
	}
	out, err := a.svc.ListCashbackPrograms(c.Request().Context(), web.Principal(c))
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out))}
	for i := range out {
		l.Data = append(l.Data, cashbackProgramView(&out[i]))
	}
	return c.JSON(http.StatusOK, l)
}

func (a *API) handleGetCashbackProgram(c echo.Context) error {
	prog, err := a.svc.GetCashbackProgram(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cashbackProgramView(prog))
}

func (a *API) handleEndCashbackProgram(c echo.Context) error {
	var in struct{}
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	prog, err := a.svc.EndCashbackProgram(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cashbackProgramView(prog))
}

type cashbackProgramBody struct {
	ID               string                        `json:"id"`
	Object           string                        `json:"object"`
	Status           billing.CashbackProgramStatus `json:"status"`
	Currency         string                        `json:"currency"`
	RateBps          int64                         `json:"rate_bps"`
	MaxPerCharge     int64                         `json:"max_per_charge"`
	MinAmount        int64                         `json:"min_amount"`
	ExpiresAfterDays int                           `json:"expires_after_days"`
	Livemode         bool                          `json:"livemode"`
	CreatedAt        string                        `json:"created_at"`
	EndedAt          *string                       `json:"ended_at"`
}

// cashbackProgramView is the program as the API shows it.
func cashbackProgramView(p *billing.CashbackProgram) any {
	return cashbackProgramBody{ID: p.ID, Object: "cashback_program", Status: p.Status, Currency: p.Currency, RateBps: p.RateBps,
		MaxPerCharge: p.MaxPerCharge, MinAmount: p.MinAmount, ExpiresAfterDays: p.ExpiresAfterDays, Livemode: p.Livemode,
		CreatedAt: ts(p.CreatedAt), EndedAt: tsp(p.EndedAt)}
}
