package billingapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/jsonbody"
	"tollgate/internal/web"
)

// MountRefundRequests adds the refund-request endpoints to g (the /v1
// group). merchant admits merchant keys; watcher admits merchant and admin
// keys: a merchant reads its own requests, an admin every merchant's (to
// find the overdue ones), and only the merchant answers them.
func (a *API) MountRefundRequests(g *echo.Group, merchant, watcher echo.MiddlewareFunc) {
	optional := a.idempotency(false)
	g.GET("/refund_requests", a.handleListRefundRequests, watcher)
	g.GET("/refund_requests/:id", a.handleGetRefundRequest, watcher)
	g.POST("/refund_requests/:id/approve", a.handleApproveRefundRequest, merchant, optional)
	g.POST("/refund_requests/:id/decline", a.handleDeclineRefundRequest, merchant, optional)
	g.POST("/refund_request_settings", a.handleSetRefundRequestSettings, merchant, optional)
	g.GET("/refund_request_settings", a.handleListRefundRequestSettings, merchant)
}

func (a *API) handleListRefundRequests(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		switch k {
		case "limit", "starting_after", "status", "overdue":
		default:
			return unknownQuery(k)
		}
	}
	out, more, err := a.svc.ListRefundRequests(c.Request().Context(), web.Principal(c), billing.RefundRequestListParams{
		Limit: q.Get("limit"), StartingAfter: q.Get("starting_after"), Status: q.Get("status"), Overdue: q.Get("overdue"),
	})
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out)), HasMore: more}
	for i := range out {
		l.Data = append(l.Data, refundRequestView(&out[i]))
	}
	return c.JSON(http.StatusOK, l)
}

func (a *API) handleGetRefundRequest(c echo.Context) error {
	rr, err := a.svc.GetRefundRequest(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, refundRequestView(rr))
}

func (a *API) handleApproveRefundRequest(c echo.Context) error {
	var in struct{}
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	rr, err := a.svc.ApproveRefundRequest(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, refundRequestView(rr))
}

func (a *API) handleDeclineRefundRequest(c echo.Context) error {
	var in billing.DeclineParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	rr, err := a.svc.DeclineRefundRequest(c.Request().Context(), web.Principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, refundRequestView(rr))
}

func (a *API) handleSetRefundRequestSettings(c echo.Context) error {
	var in billing.RefundRequestSettingsParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	st, err := a.svc.SetRefundRequestSettings(c.Request().Context(), web.Principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, refundRequestSettingsView(st))
}

func (a *API) handleListRefundRequestSettings(c echo.Context) error {
	for k := range c.QueryParams() {
		return unknownQuery(k)
	}
	out, err := a.svc.ListRefundRequestSettings(c.Request().Context(), web.Principal(c))
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(out)), HasMore: false}
	for i := range out {
		l.Data = append(l.Data, refundRequestSettingsView(&out[i]))
	}
	return c.JSON(http.StatusOK, l)
}

type refundRequestBody struct {
	ID            string                      `json:"id"`
	Object        string                      `json:"object"`
	Merchant      string                      `json:"merchant"`
	Charge        string                      `json:"charge"`
	Status        billing.RefundRequestStatus `json:"status"`
	Amount        int64                       `json:"amount"`
	Currency      string                      `json:"currency"`
	MSISDNMasked  string                      `json:"msisdn_masked"`
	Reason        string                      `json:"reason"`
	DeclineReason *string                     `json:"decline_reason"`
	Refund        *string                     `json:"refund"`
	ApprovedBy    *string                     `json:"approved_by"`
	Overdue       bool                        `json:"overdue"`
	AnsweredAt    *string                     `json:"answered_at"`
	Livemode      bool                        `json:"livemode"`
	CreatedAt     string                      `json:"created_at"`
	UpdatedAt     string                      `json:"updated_at"`
}

// refundRequestView is the refund request as the API shows it.
func refundRequestView(rr *billing.RefundRequest) any {
	return refundRequestBody{
		ID: rr.ID, Object: "refund_request", Merchant: rr.MerchantID, Charge: rr.ChargeID, Status: rr.Status,
		Amount: rr.Amount, Currency: rr.Currency, MSISDNMasked: rr.MSISDNMasked, Reason: rr.Reason,
		DeclineReason: rr.DeclineReason, Refund: rr.RefundID, ApprovedBy: rr.ApprovedBy, Overdue: rr.Overdue,
		AnsweredAt: tsp(rr.AnsweredAt), Livemode: rr.Livemode, CreatedAt: ts(rr.CreatedAt), UpdatedAt: ts(rr.UpdatedAt),
	}
}

type refundRequestSettingsBody struct {
	Object           string `json:"object"`
	Currency         string `json:"currency"`
	AutoApproveBelow int64  `json:"auto_approve_below"`
	UpdatedAt        string `json:"updated_at"`
}

func refundRequestSettingsView(st *billing.RefundRequestSettings) any {
	return refundRequestSettingsBody{Object: "refund_request_settings", Currency: st.Currency, AutoApproveBelow: st.AutoApproveBelow, UpdatedAt: ts(st.UpdatedAt)}
}
