package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tollgate/docs"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/jsonbody"
	"tollgate/internal/openapi"
	"tollgate/internal/problem"
	"tollgate/internal/web"
)

// maxBody bounds every request body; a charge is a few hundred bytes.
const maxBody = 1 << 20

func (a *app) routes() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = web.ErrorHandler(a.log)
	// The peer's own address unless it is a configured proxy: limits per
	// address must not be dodged with a header a client writes.
	e.IPExtractor = web.IPExtractor(a.cfg.TrustedProxies)

	reg := a.metrics
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tollgate_http_request_duration_seconds", Help: "HTTP requests by route, method and status.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method", "code"})
	reg.MustRegister(requests)

	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false}))
	e.Use(middleware.RequestID())
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := checkURLAndKey(c.Request()); err != nil {
				return err
			}
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxBody)
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			requests.WithLabelValues(c.Path(), c.Request().Method, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
			// The route pattern, never the raw URL: query strings may hold
			// a phone number (GET /sim/sms?msisdn=…). The merchant (and the
			// key's id, never the key) when the request was authenticated.
			attrs := []any{"method", c.Request().Method, "route", c.Path(), "status", status,
				"took_ms", time.Since(start).Milliseconds(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID)}
			if p := web.Principal(c); p.KeyID != "" {
				attrs = append(attrs, "merchant_id", p.MerchantID, "key_id", p.KeyID, "role", string(p.Role))
			}
			a.log.Info("request", attrs...)
			return nil
		}
	})

	e.Use(a.obs.declineMiddleware) // cap, risk and rate-limit declines (metrics.go)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", a.handleReady)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", openapi.Document) })
	// The merchant docs and the error reference every problem's type points to.
	e.GET(docs.Prefix, serveDocs)
	e.GET(docs.Prefix+"/*", serveDocs)
	a.myPage.Mount(e) // /my: HTML for subscribers, signed in by SMS code; not part of the JSON API
	if a.sim != nil {
		h := a.simHandler()
		e.Any("/sim", h)
		e.Any("/sim/*", h)
	}

	v1 := e.Group("/v1")
	merchant := a.gate.Require(auth.RoleMerchant)
	reader := a.gate.Require(auth.RoleMerchant, auth.RoleFinance)
	a.billingAPI.Mount(v1, merchant, reader)
	a.billingAPI.MountRisk(v1, a.gate.Require(auth.RoleAdmin))
	a.billingAPI.MountRefundRequests(v1, merchant, a.gate.Require(auth.RoleMerchant, auth.RoleAdmin))
	a.inbound.Mount(v1)
	a.outbound.Mount(v1, merchant)
	finance := a.gate.Require(auth.RoleFinance)
	a.settle.Mount(v1, func(next echo.HandlerFunc) echo.HandlerFunc { return finance(longWrites(next)) })
	if off, ok := a.clock.(*clock.Offset); ok && a.cfg.Mode == "test" {
		v1.POST("/test_helpers/clock/advance", advanceClock(off), a.clockKeys())
	}
	if a.inbox != nil {
		v1.GET("/test_helpers/sms", a.handleTestSMS, merchant)
	}
	return e
}

// settlementWrite is how long an authenticated finance request may take to
// answer: a run reconciles a whole day and a CSV export streams every line,
// far past the server's 60 s write timeout on a big carrier.
const settlementWrite = 15 * time.Minute

// longWrites lifts the server's write deadline for one route.
func longWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(settlementWrite))
		return next(c)
	}
}

// advanceClock moves test mode's clock forward, as Stripe's test clocks do,
// so days of webhook retries, code expiry and nightly runs pass in seconds.
// Every merchant of the gateway shares the clock, so it takes an admin key
// (or, with sim.open_controls, any test key: clockKeys); the route does
// not exist in live mode.
func advanceClock(off *clock.Offset) echo.HandlerFunc {
	return func(c echo.Context) error {
		if web.Principal(c).Livemode {
			return problem.New(http.StatusForbidden, problem.CodeForbidden, "The test clock is for test keys only.")
		}
		var in struct {
			Seconds *int64 `json:"seconds"`
		}
		if err := jsonbody.Decode(c.Request(), &in); err != nil {
			return err
		}
		if in.Seconds == nil || *in.Seconds < 1 || *in.Seconds > 366*24*3600 {
			return problem.Invalid("seconds", "seconds must be an integer from 1 to 31622400 (a year).")
		}
		off.Advance(time.Duration(*in.Seconds) * time.Second)
		return c.JSON(http.StatusOK, map[string]string{"object": "test_clock", "now": off.Now().Format(time.RFC3339)})
	}
}

// checkURLAndKey refuses NUL and invalid UTF-8 in the path, the query and
// the Idempotency-Key before any of them reaches a database.
func checkURLAndKey(r *http.Request) error {
	for _, v := range []string{r.URL.Path, r.URL.RawQuery, r.Header.Get("Idempotency-Key")} {
		if strings.ContainsRune(v, 0) || !utf8.ValidString(v) || strings.Contains(strings.ToLower(v), "%00") {
			return problem.New(http.StatusBadRequest, problem.CodeInvalidParameter, "The URL and the Idempotency-Key must be valid UTF-8 without NUL characters.")
		}
	}
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil && !utf8.ValidString(q) {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidParameter, "Query parameters must be valid UTF-8.")
	}
	return nil
}

// handleReady answers 503 naming the dependency that is down (a balancer
// takes the node out; an operator reads which), within a bound: a probe
// that hangs on an unreachable database is no answer.
func (a *app) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	notReady := func(detail string) error {
		p := problem.New(http.StatusServiceUnavailable, problem.CodeServiceUnavailable, detail).With("dependency", "database")
		p.RetryAfter = web.RetryUnavailable
		return p
	}
	if err := a.store.SQL.PingContext(ctx); err != nil {
		return notReady("The database is unreachable.")
	}
	pending, err := a.store.Pending(ctx)
	if err != nil {
		return notReady("The database is unreachable.")
	}
	if pending {
		return notReady("Database migrations are pending.")
	}
	if full, err := a.store.Full(ctx); err != nil || full {
		return notReady("The embedded database is full: no write can succeed until space is freed.")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// readyTimeout bounds a readiness probe.
const readyTimeout = 3 * time.Second
