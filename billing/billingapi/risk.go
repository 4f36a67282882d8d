package billingapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/jsonbody"
	"tollgate/internal/web"
)

// MountRisk adds the risk review endpoints to g (the /v1 group); admin
// admits admin keys only. They span every merchant, so no merchant key
// may use them.
func (a *API) MountRisk(g *echo.Group, admin echo.MiddlewareFunc) {
	g.GET("/risk/reviews", a.handleListRiskReviews, admin)
	g.POST("/risk/clearances", a.handleClearNumber, admin)
}

// riskReviewBody is a risk-declined charge as an admin reviews it: the
// charge (masked number only) with its merchant and, once the number was
// cleared after the decline, when.
type riskReviewBody struct {
	chargeBody
	Merchant      string  `json:"merchant"`
	RiskClearedAt *string `json:"risk_cleared_at"`
}

func (a *API) handleListRiskReviews(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		switch k {
		case "limit", "starting_after", "risk_rule":
		default:
			return unknownQuery(k)
		}
	}
	out, more, err := a.svc.ListRiskReviews(c.Request().Context(), web.Principal(c), billing.ReviewParams{
		Limit: q.Get("limit"), StartingAfter: q.Get("starting_after"), RiskRule: q.Get("risk_rule"),
	})
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out)), HasMore: more}
	for i := range out {
		r := riskReviewBody{chargeBody: chargeBodyOf(&out[i].Charge), Merchant: out[i].Charge.MerchantID}
		if at := out[i].ClearedAt; at != nil {
			s := ts(*at)
			r.RiskClearedAt = &s
		}
		l.Data = append(l.Data, r)
	}
	return c.JSON(http.StatusOK, l)
}

type riskClearanceBody struct {
	Object       string `json:"object"`
	MSISDNMasked string `json:"msisdn_masked"`
	ClearedAt    string `json:"cleared_at"`
}

func (a *API) handleClearNumber(c echo.Context) error {
	var in billing.ClearParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	cl, err := a.svc.ClearNumber(c.Request().Context(), web.Principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, riskClearanceBody{Object: "risk_clearance", MSISDNMasked: cl.MSISDNMasked, ClearedAt: ts(cl.ClearedAt)})
}
