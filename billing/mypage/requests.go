package mypage

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/problem"
)

// The subscriber's subscriptions (with a cancel button) and refund
// requests (asked for next to a charge, their state shown beside it).

// requestsShown bounds the refund requests the page lists.
const requestsShown = 50

// chargeRow is a charge as the page lists it: with its newest refund
// request, and whether a refund may be asked for now.
type chargeRow struct {
	billing.SubscriberCharge
	Request *billing.SubscriberRefundRequest
	CanAsk  bool
}

// loadRequests fills the subscriptions, the refund requests and the rows
// of charges with their requests.
func (p *Page) loadRequests(ctx context.Context, sess *session, a *accountView) error {
	var err error
	if a.Subs, err = p.billing.SubscriberSubscriptions(ctx, p.cfg.Livemode, sess.MSISDNIndex); err != nil {
		return err
	}
	if a.Requests, err = p.billing.SubscriberRefundRequests(ctx, p.cfg.Livemode, sess.MSISDNIndex, requestsShown); err != nil {
		return err
	}
	newest := map[string]*billing.SubscriberRefundRequest{}
	for i := range a.Requests { // newest first: keep the first per charge
		if _, ok := newest[a.Requests[i].ChargeID]; !ok {
			newest[a.Requests[i].ChargeID] = &a.Requests[i]
		}
	}
	a.Rows = make([]chargeRow, 0, len(a.Charges))
	for _, ch := range a.Charges {
		r := chargeRow{SubscriberCharge: ch, Request: newest[ch.ID]}
		refundable := (ch.Status == billing.StatusSucceeded || ch.Status == billing.StatusPartiallyRefunded) && ch.RefundedAmount < ch.Amount
		r.CanAsk = refundable && (r.Request == nil || r.Request.Status == billing.RefundRequestDeclined)
		a.Rows = append(a.Rows, r)
	}
	return nil
}

// cancelSubscription is POST /my/subscriptions/{id}/cancel: no further
// period is charged; the merchant hears of it by the usual event.
func (p *Page) cancelSubscription(c echo.Context) error {
	return p.act(c, func(ctx context.Context, sess *session, v *view) (string, error) {
		_, err := p.billing.CancelSubscriptionForSubscriber(ctx, sess.MSISDNIndex, c.Param("id"))
		var pr *problem.Problem
		if errors.As(err, &pr) && pr.Code == problem.CodeNotFound {
			return "", pageProblem(pr.Status, v.T["err_sub_not_found"])
		}
		return doneSubCanceled, err
	})
}

// askRefund is POST /my/charges/{id}/refund-request: ask the charge's
// merchant for a refund, with a reason.
func (p *Page) askRefund(c echo.Context) error {
	return p.act(c, func(ctx context.Context, sess *session, v *view) (string, error) {
		rr, err := p.billing.RequestRefundForSubscriber(ctx, p.cfg.Livemode, sess.MSISDNIndex, c.Param("id"), c.FormValue("reason"))
		var pr *problem.Problem
		if errors.As(err, &pr) {
			switch {
			case pr.Code == problem.CodeNotFound:
				return "", pageProblem(pr.Status, v.T["err_charge_not_found"])
			case pr.Code == problem.CodeRefundRequestOpen:
				return "", pageProblem(pr.Status, v.T["err_refund_open"])
			case pr.Code == problem.CodeRefundExceedsCharge, pr.Code == problem.CodeChargeStateInvalid:
				return "", pageProblem(pr.Status, v.T["err_refund_not_refundable"])
			case pr.Param == "reason":
				return "", pageProblem(http.StatusBadRequest, v.T["err_reason"])
			}
		}
		if err != nil {
			return "", err
		}
		if rr.Status == billing.RefundRequestApproved {
			return doneRefundApproved, nil
		}
		return doneRefundRequested, nil
	})
}
