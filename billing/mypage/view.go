package mypage

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/problem"
	moneypkg "tollgate/money"
)

// view is what every template gets.
type view struct {
	Lang    string
	Other   string // the language the switch offers
	T       map[string]string
	CSRF    string
	Notice  string
	Error   string
	Zone    *time.Location
	Status  int
	SignIn  *signInView
	Account *accountView
}

// signInView fills the number form and the code form.
type signInView struct {
	Countries []string
	Country   string
	Masked    string // the number a code was sent to, on the code form
	Minutes   int
}

// accountView is the signed-in page.
type accountView struct {
	Masked     string
	Spends     []spendView
	Charges    []billing.SubscriberCharge
	After      string // the cursor this page of charges started after
	Next       string // the cursor of the next page, when more follow
	PMs        []billing.SubscriberPaymentMethod
	Categories []categoryView
	// Subscriptions and refund requests (requests.go).
	Subs     []billing.SubscriberSubscription
	Requests []billing.SubscriberRefundRequest
	Rows     []chargeRow // Charges with their refund request, as shown
	// Cashback balances per merchant (cashback.go).
	Cashback []billing.CashbackBalance
}

type spendView struct {
	billing.Spend
	Pct     int    // spent of cap, 0..100, for the chart
	Warn    bool   // 80% or more of the cap
	Own     string // the subscriber's own cap in the form's units, "" when none
	Example string // an amount in the form's units
}

type categoryView struct {
	Name    string
	Blocked bool
}

// Done notices: the ?done= after an action. Wire strings.
const (
	doneSignedIn   = "signed_in"
	doneSignedOut  = "signed_out"
	doneCapSaved   = "cap_saved"
	doneCapRestore = "cap_restored"
	doneCategories = "categories"
	doneRevoked    = "revoked"
	// requests.go
	doneSubCanceled     = "subscription_canceled"
	doneRefundRequested = "refund_requested"
	doneRefundApproved  = "refund_approved"
)

func (p *Page) newView(c echo.Context, country string) *view {
	lang := pickLang(c.Request(), country)
	if l := c.QueryParam("lang"); l == lang {
		p.setCookie(c, langCookie, lang, 365*24*time.Hour)
	}
	other := langKO
	if lang == langKO {
		other = langEN
	}
	v := &view{Lang: lang, Other: other, T: messages[lang], Zone: zoneOf(country), Status: http.StatusOK}
	if d := c.QueryParam("done"); d != "" {
		v.Notice = v.T["done_"+d] // unknown values say nothing
	}
	return v
}

func (p *Page) render(c echo.Context, name string, v *view) error {
	var buf bytes.Buffer
	if err := p.pages[name].Execute(&buf, v); err != nil {
		p.log.Error("render my page", "template", name, "error", err)
		return c.String(http.StatusInternalServerError, v.T["err_server"])
	}
	return c.HTMLBlob(v.Status, buf.Bytes())
}

// signInPage is the number form, with a refusal's status and words.
func (p *Page) signInPage(c echo.Context, v *view, status int, errText string) error {
	v.Status, v.Error = status, errText
	v.CSRF = p.csrfToken(p.browser(c))
	countries := p.billing.SubscriberCountries(p.cfg.Livemode)
	v.SignIn = &signInView{Countries: countries, Minutes: int(p.cfg.CodeTTL.Minutes())}
	switch {
	case slices.Contains(countries, "KR"):
		v.SignIn.Country = "KR"
	case len(countries) > 0:
		v.SignIn.Country = countries[0]
	}
	return p.render(c, tmplSignIn, v)
}

// codePage is the code form for a sign-in.
func (p *Page) codePage(c echo.Context, v *view, si *signIn, status int, errText string) error {
	v.Status, v.Error = status, errText
	v.CSRF = p.csrfToken(p.browser(c))
	v.SignIn = &signInView{Masked: si.MSISDNMasked, Minutes: int(p.cfg.CodeTTL.Minutes())}
	return p.render(c, tmplCode, v)
}

// refuse answers a request whose form token or origin is wrong: 403 with
// the page to reload, nothing done.
func (p *Page) refuse(c echo.Context) error {
	sess, err := p.sessionOf(c.Request().Context(), cookie(c, sessionCookie))
	if err == nil && sess != nil {
		v := p.newView(c, sess.Country)
		v.Status, v.Error = http.StatusForbidden, v.T["err_csrf"]
		return p.accountPage(c, v, sess)
	}
	v := p.newView(c, "")
	return p.signInPage(c, v, http.StatusForbidden, v.T["err_csrf"])
}

// serverError logs what failed and says only that something did.
func (p *Page) serverError(c echo.Context, v *view, err error) error {
	p.log.Error("my page failed", "method", c.Request().Method, "route", c.Path(), "error", err)
	return p.signInPage(c, v, http.StatusInternalServerError, v.T["err_server"])
}

// problemText turns a refusal from billing into the page's status and
// words; ok is false for an error nobody classified (a 500).
func problemText(v *view, err error) (status int, text string, ok bool) {
	var pr *problem.Problem
	if !errors.As(err, &pr) || pr.Status >= 500 && pr.Code != problem.CodeCarrierUnavailable {
		return http.StatusInternalServerError, v.T["err_server"], false
	}
	switch pr.Code {
	case problem.CodeRateLimited:
		return pr.Status, fmt.Sprintf(v.T["err_rate_limited"], waitText(v.Lang, pr.RetryAfter)), true
	case problem.CodeCarrierUnavailable:
		return pr.Status, fmt.Sprintf(v.T["err_carrier_down"], waitText(v.Lang, max(pr.RetryAfter, 1))), true
	case problem.CodeInvalidMSISDN, problem.CodeMissingParameter:
		return pr.Status, v.T["err_msisdn"], true
	case problem.CodeUnknownCarrier:
		return pr.Status, v.T["err_no_carrier"], true
	case problem.CodeNotFound:
		return pr.Status, v.T["err_not_found"], true
	}
	if pr.Param == "msisdn" {
		return pr.Status, v.T["err_msisdn"], true
	}
	return pr.Status, pr.Detail, true
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"money": money,
	"when": func(t time.Time, loc *time.Location) string {
		return t.In(loc).Format("2006-01-02 15:04")
	},
	"day": func(t time.Time, loc *time.Location) string {
		return t.In(loc).Format("2006-01-02")
	},
	"tr": trf,
	// requests.go's words: a subscription's status and interval, a refund request's status.
	"subStatus": func(t map[string]string, st billing.SubscriptionStatus) string { return t["sub_"+string(st)] },
	"rrStatus":  func(t map[string]string, st billing.RefundRequestStatus) string { return t["rr_status_"+string(st)] },
	"every": func(t map[string]string, interval, amount string) string {
		if interval == billing.IntervalWeek {
			return fmt.Sprintf(t["every_week"], amount)
		}
		return fmt.Sprintf(t["every_month"], amount)
	},
	"status": func(t map[string]string, st billing.Status) string {
		if s, ok := t["status_"+string(st)]; ok {
			return s
		}
		return string(st)
	},
}

// trf is the words of key in t with args put in.
func trf(t map[string]string, key string, args ...any) string { return fmt.Sprintf(t[key], args...) }

func tr(v *view, key string, args ...any) string { return trf(v.T, key, args...) }

// pageProblem is a refusal the page itself makes, in its own words.
func pageProblem(status int, text string) error {
	return problem.New(status, problem.CodeInvalidParameter, text)
}

// money is amount minor units of cur for people: "₩5,000", "$1.99".
func money(amount int64, cur string) string {
	c, ok := moneypkg.Lookup(cur)
	if !ok {
		return strconv.FormatInt(amount, 10) + " " + cur
	}
	return c.Display(amount)
}

// plainAmount is amount in the form's units: major units with the
// currency's decimals, no symbol or grouping ("5000", "1.99").
func plainAmount(amount int64, cur string) string {
	c, _ := moneypkg.Lookup(cur)
	return c.Decimal(amount)
}

var errAmount = errors.New("not an amount")

// parseAmount reads an amount typed in major units ("50,000", "₩50000",
// "1.99") into minor units of cur, exactly: never through a float.
func parseAmount(s, cur string) (int64, error) {
	c, ok := moneypkg.Lookup(cur)
	if !ok {
		return 0, errAmount
	}
	n, err := c.ParseTyped(s)
	if err != nil {
		return 0, errAmount
	}
	return n, nil
}
