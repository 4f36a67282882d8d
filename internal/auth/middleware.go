package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"tollgate/internal/problem"
)

const principalKey = "tollgate.principal"

// Require authenticates the bearer key and admits only the given roles. A
// key of another role gets 403: the caller is known, the door is not theirs.
func Require(keys Keys, roles ...Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get("Authorization")
			key, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || strings.TrimSpace(key) == "" {
				return unauthorized()
			}
			p, err := keys.Resolve(c.Request().Context(), strings.TrimSpace(key))
			if errors.Is(err, ErrUnknownKey) {
				return unauthorized()
			}
			if err != nil {
				return err
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

func unauthorized() error {
	p := problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "A valid API key is required: Authorization: Bearer <key>.")
	return p
}

// From returns the authenticated principal of a request.
func From(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}
