// Package web is the echo glue every HTTP surface shares: problems rendered
// as RFC 9457 bodies, and API-key authentication. Domain packages never
// import it; their app layers do.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
)

// ErrorHandler is echo's HTTPErrorHandler: problems as they are, echo's own
// errors translated, anything else a 500 that is logged but not shown.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := ProblemOf(err)
		if p.Status >= 500 {
			log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "error", err)
		}
		if p.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
		}
		WriteProblem(c, p)
	}
}

// WriteProblem sends p as application/problem+json.
func WriteProblem(c echo.Context, p *problem.Problem) {
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.JSON(p.Status, p.Body())
}

// ProblemOf classifies any error, echo's own included, as a problem.
func ProblemOf(err error) *problem.Problem {
	var he *echo.HTTPError
	if !errors.As(err, new(*problem.Problem)) && errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return problem.New(http.StatusNotFound, problem.CodeNotFound, "No such endpoint.")
		case http.StatusMethodNotAllowed:
			return problem.New(http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed, "This endpoint does not accept that method.")
		case http.StatusRequestEntityTooLarge:
			return problem.New(http.StatusRequestEntityTooLarge, problem.CodeBodyTooLarge, "The request body is larger than 1 MiB.")
		case http.StatusUnauthorized:
			return problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "A valid API key is required: Authorization: Bearer <key>.")
		case http.StatusUnsupportedMediaType:
			return problem.New(http.StatusUnsupportedMediaType, problem.CodeUnsupportedMediaType, "Send JSON with Content-Type: application/json.")
		}
		if he.Code >= 400 && he.Code < 500 {
			return problem.New(he.Code, problem.CodeInvalidParameter, fmt.Sprint(he.Message))
		}
	}
	if !errors.As(err, new(*problem.Problem)) && store.Unavailable(err) {
		return Unavailable()
	}
	return problem.From(err)
}

// RetryUnavailable is the Retry-After, in seconds, of a 503 for a database
// that cannot be reached: long enough for a restart or a failover, short
// enough that a merchant's retry finds it back.
const RetryUnavailable = 5

// Unavailable is the 503 for a request the database could not serve: it
// is down, restarting, out of connections or out of disk. Nothing the
// request meant to write was half-written (each write is one transaction),
// so the same request, with the same Idempotency-Key, is safe to send again.
func Unavailable() *problem.Problem {
	p := problem.New(http.StatusServiceUnavailable, problem.CodeServiceUnavailable, "The database is unavailable; retry the same request (with the same Idempotency-Key) shortly.")
	p.RetryAfter = RetryUnavailable
	return p
}

const principalKey = "tollgate.principal"

// RequireKey authenticates the bearer key and admits only the given roles,
// without rate limits (see Gate).
func RequireKey(keys auth.Keys, roles ...auth.Role) echo.MiddlewareFunc {
	return Gate{Keys: keys}.Require(roles...)
}

// Gate authenticates bearer keys. PerKey throttles each key's requests;
// FailedAuth counts missing and unknown keys per client address and, once
// that is spent, turns the address away before its next key is even looked
// up, so guessing keys costs an attacker time. Nil limits nothing.
type Gate struct {
	Keys       auth.Keys
	PerKey     *ratelimit.Local
	FailedAuth *ratelimit.Local
}

// Require admits a valid key of one of roles. A key of another role gets
// 403: the caller is known, the door is not theirs.
func (g Gate) Require(roles ...auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			addr := ClientAddress(c.RealIP())
			if err := g.FailedAuth.Check(addr); err != nil {
				return ratelimit.Problem(err, "requests without a valid API key from this address")
			}
			h := c.Request().Header.Get("Authorization")
			key, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || strings.TrimSpace(key) == "" {
				return g.unauthorized(addr)
			}
			p, err := g.Keys.Resolve(c.Request().Context(), strings.TrimSpace(key))
			if errors.Is(err, auth.ErrUnknownKey) {
				return g.unauthorized(addr)
			}
			if err != nil {
				return err
			}
			if err := g.PerKey.Take(p.KeyID); err != nil {
				return ratelimit.Problem(err, "requests with this API key")
			}
			for _, r := range roles {
				if p.Role == r {
					c.Set(principalKey, p)
					return next(c)
				}
			}
			return problem.New(http.StatusForbidden, problem.CodeForbidden, "This API key's role may not use this endpoint.")
		}
	}
}

// unauthorized is the 401 for a missing or unknown key, spending one of
// the address's failed attempts.
func (g Gate) unauthorized(addr string) error {
	_ = g.FailedAuth.Take(addr) // an address already out is refused above
	return unauthorized()
}

func unauthorized() error {
	return problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "A valid API key is required: Authorization: Bearer <key>.")
}

// Principal returns the authenticated caller of a request.
func Principal(c echo.Context) auth.Principal {
	p, _ := c.Get(principalKey).(auth.Principal)
	return p
}

// ClientAddress is the key of a request's client for per-address limits,
// from echo's RealIP: the TCP peer, or behind a trusted proxy the address
// that proxy put in X-Forwarded-For (never a header a client wrote: see
// IPExtractor), and for IPv6 its /64, which one machine is usually given
// whole.
func ClientAddress(realIP string) string {
	ip := net.ParseIP(realIP)
	if ip == nil {
		return realIP
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// IPExtractor is how the gateway learns a request's client address. With no
// trusted proxies it is the TCP peer, whatever X-Forwarded-For says. Behind
// proxies it is the nearest address in X-Forwarded-For that is not one of
// them; loopback and private ranges are not trusted by default (echo's
// defaults trust them), so only the CIDRs configured are.
func IPExtractor(trusted []string) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range trusted {
		if _, n, err := net.ParseCIDR(cidr); err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
