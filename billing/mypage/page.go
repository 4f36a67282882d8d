// Package mypage is /my, the subscriber's own page: sign in with the phone
// number and a code texted to it, then see every charge on the number
// across merchants and this month's spend against the cap, lower or
// restore one's own cap, block categories and revoke a merchant's one-tap
// payment method. Server-rendered html/template pages with embedded CSS,
// no script and nothing loaded from elsewhere; Korean and English.
//
// A subscriber holds no key: a session is a random cookie whose SHA-256
// alone is stored, bound to the number's blind index and short-lived.
// Every form carries a token tied to the browser's cookie (before sign-in)
// or the session (after), checked in constant time, and every unsafe
// request must also pass net/http's CrossOriginProtection.
package mypage

import (
	"context"
	"crypto/hmac"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/internal/clock"
	"tollgate/internal/msisdn"
	"tollgate/internal/ratelimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Billing is what the page needs of the billing service.
type Billing interface {
	IdentifySubscriber(raw, country string) (string, billing.Subscriber, error)
	SubscriberCountries(livemode bool) []string
	SubscriberCurrencies(livemode bool, country string) []string
	SendSignInCode(ctx context.Context, t billing.SignInText) error
	SubscriberCharges(ctx context.Context, livemode bool, index, after string, limit int) ([]billing.SubscriberCharge, bool, error)
	SubscriberPaymentMethods(ctx context.Context, livemode bool, index string) ([]billing.SubscriberPaymentMethod, error)
	RevokeSubscriberPaymentMethod(ctx context.Context, livemode bool, index, id string) (*billing.PaymentMethod, error)
	Preferences(ctx context.Context, index string) (billing.Preferences, error)
	SetOwnCap(ctx context.Context, index, currency string, amount *int64) error
	SetBlockedCategories(ctx context.Context, index string, categories []string) error
	MonthSpend(ctx context.Context, index, currency string) (billing.Spend, error)
	// Subscriptions and refund requests (requests.go).
	SubscriberSubscriptions(ctx context.Context, livemode bool, index string) ([]billing.SubscriberSubscription, error)
	CancelSubscriptionForSubscriber(ctx context.Context, index, id string) (*billing.Subscription, error)
	SubscriberRefundRequests(ctx context.Context, livemode bool, index string, limit int) ([]billing.SubscriberRefundRequest, error)
	RequestRefundForSubscriber(ctx context.Context, livemode bool, index, chargeID, reason string) (*billing.RefundRequest, error)
	// Cashback (cashback.go).
	SubscriberCashback(ctx context.Context, livemode bool, index string) ([]billing.CashbackBalance, error)
}

var _ Billing = (*billing.Service)(nil)

// Settings tune the page.
type Settings struct {
	// Livemode: the page shows live charges and texts through real
	// carriers; otherwise test charges and simulated carriers.
	Livemode    bool
	SessionTTL  time.Duration // how long a sign-in lasts
	CodeTTL     time.Duration // how long a texted code may be typed in
	MaxAttempts int           // wrong codes before a sign-in is over
	// CodesPerAddress bounds the sign-in codes one client address (an
	// IPv6 /64) may have texted, whatever the numbers: without it one
	// machine could text every number it likes (each at its per-number
	// limit) and try three codes on each, so that some stranger's page
	// opens after about 330,000 sign-ins. Zero is
	// DefaultCodesPerAddress; a negative Count switches it off.
	CodesPerAddress ratelimit.Quota
	// TriesPerNumber bounds the codes typed in for one number, across all
	// its sign-ins and browsers, counted in the database so every node
	// sees them: each sign-in allows MaxAttempts tries and a number may
	// get a code every two minutes, so without it one patient machine
	// makes 2,160 guesses a day at a number's page. Zero is
	// DefaultTriesPerNumber; a negative Count switches it off.
	TriesPerNumber ratelimit.Quota
	// CodesPerNumber bounds the sign-in codes /my texts to one number, on
	// top of the per-number SMS limit that merchants' codes share: else
	// anyone could spend a number's whole SMS quota from this page, again
	// and again, and no merchant could text it a payment code. Zero is
	// DefaultCodesPerNumber; a negative Count switches it off.
	CodesPerNumber ratelimit.Quota
}

// DefaultCodesPerNumber is CodesPerNumber when it is left zero: three
// codes at once, then one every ten minutes, which leaves most of the
// shipped 5 per 10 minutes to merchants.
var DefaultCodesPerNumber = ratelimit.Quota{Count: 3, Per: 30 * time.Minute}

// ruleCodes is the shared limit of sign-in codes per number's blind index.
const ruleCodes = "my_codes_per_number"

// DefaultTriesPerNumber is TriesPerNumber when it is left zero: a dozen
// codes typed at once, then one every two hours; a guesser gets one page
// in about 230 years.
var DefaultTriesPerNumber = ratelimit.Quota{Count: 12, Per: 24 * time.Hour}

// ruleTries is the shared limit of codes typed in per number's blind index.
const ruleTries = "my_code_tries_per_number"

// DefaultCodesPerAddress is CodesPerAddress when it is left zero: room
// for the people behind one carrier-grade NAT, not for a sweep of numbers.
var DefaultCodesPerAddress = ratelimit.Quota{Count: 20, Per: 10 * time.Minute}

// Deps are what the page is built from; all are required.
type Deps struct {
	DB      *gorm.DB
	Billing Billing
	Vault   *msisdn.Vault // keys the code and form-token hashes
	Clock   clock.Clock
	Log     *slog.Logger
}

// Page serves /my.
type Page struct {
	db        *gorm.DB
	billing   Billing
	vault     *msisdn.Vault
	clock     clock.Clock
	log       *slog.Logger
	cfg       Settings
	pages     map[string]*template.Template
	cop       *http.CrossOriginProtection
	perAddr   *ratelimit.Local  // sign-in codes per client address
	perNumber *ratelimit.Shared // codes typed in and texted per number, all nodes
}

// The page's templates, each rendered inside layout.html.
const (
	tmplSignIn  = "signin.html"
	tmplCode    = "code.html"
	tmplAccount = "account.html"
)

// New builds the page; a missing dependency or setting is an error.
func New(d Deps, cfg Settings) (*Page, error) {
	if d.DB == nil || d.Billing == nil || d.Vault == nil || d.Clock == nil || d.Log == nil {
		return nil, errors.New("mypage: DB, Billing, Vault, Clock and Log are required")
	}
	if cfg.SessionTTL <= 0 || cfg.CodeTTL <= 0 || cfg.MaxAttempts < 1 {
		return nil, fmt.Errorf("mypage: session TTL, code TTL and attempts must be positive (got %s, %s, %d)", cfg.SessionTTL, cfg.CodeTTL, cfg.MaxAttempts)
	}
	perAddr := cfg.CodesPerAddress
	if perAddr == (ratelimit.Quota{}) {
		perAddr = DefaultCodesPerAddress
	}
	if !perAddr.Off() && perAddr.Per <= 0 {
		return nil, fmt.Errorf("mypage: codes per address %d per %s: the period must be positive", perAddr.Count, perAddr.Per)
	}
	tries := cfg.TriesPerNumber
	if tries == (ratelimit.Quota{}) {
		tries = DefaultTriesPerNumber
	}
	codes := cfg.CodesPerNumber
	if codes == (ratelimit.Quota{}) {
		codes = DefaultCodesPerNumber
	}
	shared, err := ratelimit.NewShared(d.DB, d.Clock, map[string]ratelimit.Quota{ruleTries: tries, ruleCodes: codes})
	if err != nil {
		return nil, fmt.Errorf("mypage: limits per number: %w", err)
	}
	p := &Page{db: d.DB, billing: d.Billing, vault: d.Vault, clock: d.Clock, log: d.Log, cfg: cfg, perNumber: shared,
		pages: map[string]*template.Template{}, cop: http.NewCrossOriginProtection(),
		perAddr: ratelimit.NewLocal("my_codes_per_address", perAddr, d.Clock)}
	for _, name := range []string{tmplSignIn, tmplCode, tmplAccount} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("mypage: template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return p, nil
}

func (p *Page) now() time.Time { return p.clock.Now().UTC() }

// Paths of the page. Wire strings: links and forms name them.
const (
	pathHome      = "/my"
	pathSignIn    = "/my/sign-in"
	pathCode      = "/my/sign-in/code"
	pathRestart   = "/my/sign-in/restart"
	pathSignOut   = "/my/sign-out"
	pathCap       = "/my/cap"
	pathCategory  = "/my/categories"
	pathRevoke    = "/my/payment-methods/:id/revoke"
	pathCancel    = "/my/subscriptions/:id/cancel"
	pathAskRefund = "/my/charges/:id/refund-request"
	pathStatic    = "/my/static"
)

// Mount adds the page's routes to e.
func (p *Page) Mount(e *echo.Echo) {
	g := e.Group(pathHome, p.guard)
	g.GET("", p.home)
	e.GET(pathHome+"/", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, pathHome) })
	e.POST(pathSignIn, p.sendCode, p.guard)
	e.POST(pathCode, p.verifyCode, p.guard)
	e.POST(pathRestart, p.restart, p.guard)
	e.POST(pathSignOut, p.signOut, p.guard)
	e.POST(pathCap, p.setCap, p.guard)
	e.POST(pathCategory, p.setCategories, p.guard)
	e.POST(pathRevoke, p.revoke, p.guard)
	e.POST(pathCancel, p.cancelSubscription, p.guard)
	e.POST(pathAskRefund, p.askRefund, p.guard)
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	files := http.StripPrefix(pathStatic+"/", http.FileServerFS(static))
	e.GET(pathStatic+"/*", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(r.URL.Path, "/") { // files only: no listing of the folder
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})))
}

// The cookies the page sets, all HttpOnly, SameSite=Lax, Path=/my.
const (
	browserCookie = "tg_my_browser" // before sign-in: binds a code and the forms to this browser
	sessionCookie = "tg_my_session" // a signed-in browser
)

// guard sets the headers every page answer carries and refuses a
// cross-origin unsafe request before any handler runs.
func (p *Page) guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if err := p.cop.Check(c.Request()); err != nil {
			return p.refuse(c)
		}
		return next(c)
	}
}

// forwardHeaders are what a reverse proxy adds to the requests it passes
// on. A developer's own browser sends none of them.
var forwardHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"}

// secure reports whether cookies must be Secure: always, except for a
// plain-HTTP request to a loopback host from a loopback peer (a developer
// on their own machine), where a Secure cookie would never come back. A
// request a proxy passed on is never that, even when the proxy on the same
// machine rewrote Host to the loopback address it dials (nginx's default
// proxy_pass does): the browser is at the proxy's public, TLS side.
func secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	for _, h := range forwardHeaders {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return true
	}
	loopHost := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loopHost = ip.IsLoopback()
	}
	ip := net.ParseIP(peer)
	return !loopHost || ip == nil || !ip.IsLoopback()
}

func (p *Page) setCookie(c echo.Context, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: pathHome, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: p.cfg.Livemode || secure(c.Request())}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
	} else {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}

func cookie(c echo.Context, name string) string {
	ck, err := c.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// browser returns the browser's sign-in cookie, setting one if it has none.
func (p *Page) browser(c echo.Context) string {
	if v := cookie(c, browserCookie); len(v) == 43 {
		return v
	}
	v := newToken()
	p.setCookie(c, browserCookie, v, 24*time.Hour)
	c.Request().AddCookie(&http.Cookie{Name: browserCookie, Value: v})
	return v
}

// csrfToken is the form token for a cookie value: an HMAC under the
// server's key, so it can be neither guessed nor made without the key,
// and it is worthless with another browser's or session's cookie.
func (p *Page) csrfToken(bound string) string {
	return p.vault.Keyed("my form", bound)
}

func (p *Page) csrfOK(c echo.Context, bound string) bool {
	got := c.FormValue("csrf")
	return bound != "" && got != "" && hmac.Equal([]byte(got), []byte(p.csrfToken(bound)))
}
