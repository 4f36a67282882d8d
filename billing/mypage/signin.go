package mypage

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/web"
)

// home is GET /my: the account when signed in, else the code form when a
// code is waiting in this browser, else the number form.
func (p *Page) home(c echo.Context) error {
	ctx := c.Request().Context()
	token := cookie(c, sessionCookie)
	sess, err := p.sessionOf(ctx, token)
	if err != nil {
		return p.serverError(c, p.newView(c, ""), err)
	}
	if sess != nil {
		return p.accountPage(c, p.newView(c, sess.Country), sess)
	}
	ended := token != ""
	if ended {
		p.setCookie(c, sessionCookie, "", 0)
	}
	si, err := p.pendingSignIn(ctx, cookie(c, browserCookie))
	if err != nil && !errors.Is(err, errNoSignIn) {
		return p.serverError(c, p.newView(c, ""), err)
	}
	if si != nil && p.now().Before(si.ExpiresAt) {
		return p.codePage(c, p.newView(c, si.Country), si, http.StatusOK, "")
	}
	v := p.newView(c, "")
	switch {
	case si != nil:
		return p.signInPage(c, v, http.StatusOK, v.T["err_code_expired"])
	case ended && v.Notice == "":
		return p.signInPage(c, v, http.StatusOK, v.T["err_session"])
	}
	return p.signInPage(c, v, http.StatusOK, "")
}

// sendCode is POST /my/sign-in: text a code to the number typed in.
func (p *Page) sendCode(c echo.Context) error {
	ctx := c.Request().Context()
	br := cookie(c, browserCookie)
	if !p.csrfOK(c, br) {
		return p.refuse(c)
	}
	v := p.newView(c, "")
	e164, sub, err := p.billing.IdentifySubscriber(c.FormValue("msisdn"), c.FormValue("country"))
	if err != nil {
		status, text, ok := problemText(v, err)
		if !ok {
			return p.serverError(c, v, err)
		}
		return p.signInPage(c, v, status, text)
	}
	// Counted once the number is one a code could go to, and before the
	// browser's waiting code is replaced: a refusal changes nothing.
	var r *ratelimit.Refused
	if errors.As(p.perAddr.Take(web.ClientAddress(c.RealIP())), &r) {
		secs := r.RetrySeconds()
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return p.signInPage(c, v, http.StatusTooManyRequests, tr(v, "err_address_limited", waitText(v.Lang, secs)))
	}
	if err := p.perNumber.Take(ctx, ruleCodes, sub.Index); errors.As(err, &r) {
		secs := r.RetrySeconds()
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return p.signInPage(c, v, http.StatusTooManyRequests, tr(v, "err_rate_limited", waitText(v.Lang, secs)))
	} else if err != nil {
		return p.serverError(c, v, err)
	}
	code := newCode()
	si, err := p.startSignIn(ctx, br, sub, code)
	if err != nil {
		return p.serverError(c, v, err)
	}
	err = p.billing.SendSignInCode(ctx, billing.SignInText{Livemode: p.cfg.Livemode, MSISDN: e164, Reference: si.ID,
		Body: smsBody(sub.Country, code, p.cfg.CodeTTL)})
	if err != nil {
		if ferr := p.forgetSignIn(ctx, si.ID); ferr != nil {
			return p.serverError(c, v, ferr)
		}
		status, text, ok := problemText(v, err)
		if !ok {
			return p.serverError(c, v, err)
		}
		var pr *problem.Problem
		if errors.As(err, &pr) && pr.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(pr.RetryAfter))
		}
		return p.signInPage(c, v, status, text)
	}
	return c.Redirect(http.StatusSeeOther, pathHome)
}

// verifyCode is POST /my/sign-in/code: a right code opens a session.
func (p *Page) verifyCode(c echo.Context) error {
	ctx := c.Request().Context()
	br := cookie(c, browserCookie)
	if !p.csrfOK(c, br) {
		return p.refuse(c)
	}
	si, err := p.pendingSignIn(ctx, br)
	if errors.Is(err, errNoSignIn) {
		v := p.newView(c, "")
		return p.signInPage(c, v, http.StatusBadRequest, v.T["err_no_sign_in"])
	}
	v := p.newView(c, "")
	if err != nil {
		return p.serverError(c, v, err)
	}
	v = p.newView(c, si.Country)
	code := strings.TrimSpace(c.FormValue("code"))
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return p.codePage(c, v, si, http.StatusBadRequest, v.T["err_code_format"])
	}
	// A try is counted for the number before the code is looked at, and
	// refused ones too, so no browser and no node gets past the count.
	var r *ratelimit.Refused
	if err := p.perNumber.Take(ctx, ruleTries, si.MSISDNIndex); errors.As(err, &r) {
		secs := r.RetrySeconds()
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return p.codePage(c, v, si, http.StatusTooManyRequests, tr(v, "err_tries_limited", waitText(v.Lang, secs)))
	} else if err != nil {
		return p.serverError(c, v, err)
	}
	outcome, remaining, sess, err := p.checkCode(ctx, si, code)
	if err != nil {
		return p.serverError(c, v, err)
	}
	switch outcome {
	case codeWrong:
		return p.codePage(c, v, si, http.StatusUnprocessableEntity, tr(v, "err_code_wrong", remaining))
	case codeSpent:
		return p.signInPage(c, v, http.StatusUnprocessableEntity, v.T["err_code_spent"])
	case codeExpired:
		return p.signInPage(c, v, http.StatusUnprocessableEntity, v.T["err_code_expired"])
	}
	p.setCookie(c, sessionCookie, sess.token, p.cfg.SessionTTL)
	return c.Redirect(http.StatusSeeOther, pathHome+"?done="+doneSignedIn)
}

// restart is POST /my/sign-in/restart: forget the code waiting in this
// browser, to type another number.
func (p *Page) restart(c echo.Context) error {
	br := cookie(c, browserCookie)
	if !p.csrfOK(c, br) {
		return p.refuse(c)
	}
	if err := p.db.WithContext(c.Request().Context()).Where("browser_hash = ?", hashToken(br)).Delete(&signIn{}).Error; err != nil {
		return p.serverError(c, p.newView(c, ""), err)
	}
	return c.Redirect(http.StatusSeeOther, pathHome)
}

// signOut is POST /my/sign-out: the session ends on the server, not only
// in the browser.
func (p *Page) signOut(c echo.Context) error {
	ctx := c.Request().Context()
	sess, err := p.sessionOf(ctx, cookie(c, sessionCookie))
	if err != nil {
		return p.serverError(c, p.newView(c, ""), err)
	}
	if sess == nil {
		p.setCookie(c, sessionCookie, "", 0)
		return c.Redirect(http.StatusSeeOther, pathHome)
	}
	if !p.csrfOK(c, sess.token) {
		return p.refuse(c)
	}
	if err := p.endSession(ctx, sess.token); err != nil {
		return p.serverError(c, p.newView(c, sess.Country), err)
	}
	p.setCookie(c, sessionCookie, "", 0)
	return c.Redirect(http.StatusSeeOther, pathHome+"?done="+doneSignedOut)
}
