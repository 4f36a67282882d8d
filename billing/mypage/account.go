package mypage

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"tollgate/internal/problem"
)

// chargesPerPage is how many charges one page of the account shows.
const chargesPerPage = 50

// accountPage renders the signed-in page with v's status and words.
func (p *Page) accountPage(c echo.Context, v *view, sess *session) error {
	ctx := c.Request().Context()
	v.CSRF = p.csrfToken(sess.token)
	a := &accountView{Masked: sess.MSISDNMasked, After: c.QueryParam("after")}
	charges, more, err := p.billing.SubscriberCharges(ctx, p.cfg.Livemode, sess.MSISDNIndex, a.After, chargesPerPage)
	if err != nil {
		if _, _, ok := problemText(v, err); !ok {
			return p.serverError(c, v, err)
		}
		// A cursor that is not theirs: show the newest page.
		a.After = ""
		if charges, more, err = p.billing.SubscriberCharges(ctx, p.cfg.Livemode, sess.MSISDNIndex, "", chargesPerPage); err != nil {
			return p.serverError(c, v, err)
		}
	}
	a.Charges = charges
	if more && len(charges) > 0 {
		a.Next = charges[len(charges)-1].ID
	}
	if a.PMs, err = p.billing.SubscriberPaymentMethods(ctx, p.cfg.Livemode, sess.MSISDNIndex); err != nil {
		return p.serverError(c, v, err)
	}
	prefs, err := p.billing.Preferences(ctx, sess.MSISDNIndex)
	if err != nil {
		return p.serverError(c, v, err)
	}
	for _, cur := range p.billing.SubscriberCurrencies(p.cfg.Livemode, sess.Country) {
		sp, err := p.billing.MonthSpend(ctx, sess.MSISDNIndex, cur)
		if err != nil {
			return p.serverError(c, v, err)
		}
		sv := spendView{Spend: sp, Example: plainAmount(exampleCap(cur), cur)}
		if sp.Cap > 0 {
			sv.Pct = int(min(100, sp.Spent*100/sp.Cap))
			sv.Warn = sp.Spent*100 >= sp.Cap*80
		}
		if own, ok := prefs.OwnCaps[cur]; ok {
			sv.Own = plainAmount(own, cur)
		}
		a.Spends = append(a.Spends, sv)
	}
	// The categories to offer: those blocked, and those the subscriber's
	// charges name.
	seen := map[string]bool{}
	for _, cat := range prefs.BlockedCategories {
		seen[cat] = true
	}
	for _, ch := range charges {
		if ch.Category != "" && !seen[ch.Category] {
			seen[ch.Category] = false
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a.Categories = append(a.Categories, categoryView{Name: n, Blocked: seen[n]})
	}
	if err := p.loadRequests(ctx, sess, a); err != nil {
		return p.serverError(c, v, err)
	}
	if a.Cashback, err = p.billing.SubscriberCashback(ctx, p.cfg.Livemode, sess.MSISDNIndex); err != nil {
		return p.serverError(c, v, err)
	}
	v.Account = a
	return p.render(c, tmplAccount, v)
}

// exampleCap is an amount shown as an example in the cap form.
func exampleCap(cur string) int64 {
	if cur == "KRW" {
		return 100_000
	}
	return 5_000
}

// act runs one signed-in action: the session must be live and the form's
// token its own; a refusal re-renders the page with its status, success
// goes back to the page with a notice (post/redirect/get).
func (p *Page) act(c echo.Context, do func(ctx context.Context, sess *session, v *view) (string, error)) error {
	ctx := c.Request().Context()
	sess, err := p.sessionOf(ctx, cookie(c, sessionCookie))
	if err != nil {
		return p.serverError(c, p.newView(c, ""), err)
	}
	if sess == nil {
		p.setCookie(c, sessionCookie, "", 0)
		v := p.newView(c, "")
		return p.signInPage(c, v, http.StatusUnauthorized, v.T["err_session"])
	}
	if !p.csrfOK(c, sess.token) {
		return p.refuse(c)
	}
	v := p.newView(c, sess.Country)
	done, err := do(ctx, sess, v)
	if err != nil {
		status, text, ok := problemText(v, err)
		if !ok {
			p.log.Error("my page action failed", "route", c.Path(), "error", err)
		}
		v.Status, v.Error = status, text
		return p.accountPage(c, v, sess)
	}
	return c.Redirect(http.StatusSeeOther, pathHome+"?done="+done)
}

// setCap is POST /my/cap: lower the subscriber's own monthly cap in a
// currency, or (restore=1) go back to the carrier's.
func (p *Page) setCap(c echo.Context) error {
	return p.act(c, func(ctx context.Context, sess *session, v *view) (string, error) {
		cur := c.FormValue("currency")
		if !slices.Contains(p.billing.SubscriberCurrencies(p.cfg.Livemode, sess.Country), cur) {
			return "", pageProblem(http.StatusBadRequest, v.T["err_currency"])
		}
		if c.FormValue("restore") != "" {
			return doneCapRestore, p.billing.SetOwnCap(ctx, sess.MSISDNIndex, cur, nil)
		}
		amount, err := parseAmount(c.FormValue("amount"), cur)
		if err != nil {
			return "", pageProblem(http.StatusBadRequest, tr(v, "err_amount", plainAmount(exampleCap(cur), cur)))
		}
		err = p.billing.SetOwnCap(ctx, sess.MSISDNIndex, cur, &amount)
		var pr *problem.Problem
		if errors.As(err, &pr) {
			switch pr.Code {
			case problem.CodeAmountTooLarge:
				most, _ := pr.Extra["max_amount"].(int64)
				return "", pageProblem(pr.Status, tr(v, "err_cap_too_large", money(most, cur)))
			case problem.CodeAmountTooSmall:
				return "", pageProblem(pr.Status, tr(v, "err_amount", plainAmount(exampleCap(cur), cur)))
			}
		}
		return doneCapSaved, err
	})
}

// setCategories is POST /my/categories: the categories ticked, and any
// typed in (comma-separated), are the subscriber's blocked ones.
func (p *Page) setCategories(c echo.Context) error {
	return p.act(c, func(ctx context.Context, sess *session, v *view) (string, error) {
		form, err := c.FormParams()
		if err != nil {
			return "", pageProblem(http.StatusBadRequest, v.T["err_csrf"])
		}
		cats := append([]string(nil), form["blocked"]...)
		for _, o := range strings.Split(c.FormValue("other"), ",") {
			if o = strings.TrimSpace(o); o != "" {
				cats = append(cats, o)
			}
		}
		err = p.billing.SetBlockedCategories(ctx, sess.MSISDNIndex, cats)
		var pr *problem.Problem
		if errors.As(err, &pr) && pr.Status < 500 {
			return "", pageProblem(pr.Status, v.T["err_categories"])
		}
		return doneCategories, err
	})
}

// revoke is POST /my/payment-methods/{id}/revoke: the merchant may no
// longer charge this number without a code.
func (p *Page) revoke(c echo.Context) error {
	return p.act(c, func(ctx context.Context, sess *session, v *view) (string, error) {
		_, err := p.billing.RevokeSubscriberPaymentMethod(ctx, p.cfg.Livemode, sess.MSISDNIndex, c.Param("id"))
		return doneRevoked, err
	})
}
