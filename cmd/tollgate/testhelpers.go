package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tollgate/carriers/sim"
	"tollgate/internal/auth"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
	"tollgate/internal/web"
)

// Test mode is shared: every test merchant of a gateway talks to the same
// simulated carriers and lives on the same clock. What one merchant may do
// there is its own business (read its own codes); what changes or shows
// everyone's (the simulator's inbox, faults, books and counters; the clock)
// is the operator's, behind an admin key, unless sim.open_controls says a
// single developer owns the whole gateway.

// smsInbox reads what the simulated carriers texted to one number (E.164),
// newest first.
type smsInbox func(ctx context.Context, e164 string) ([]sim.Message, error)

// maxInboxBody bounds what is read from a simulator at sim_url.
const maxInboxBody = 4 << 20

// remoteInbox reads the inbox of the simulator at base (ending in /sim)
// over HTTP: a standalone `tollgate sim` several gateways share, or another
// gateway's /sim. token is sent as the bearer its control endpoints ask for.
func remoteInbox(base, token string, timeout time.Duration) smsInbox {
	hc := &http.Client{Timeout: timeout}
	return func(ctx context.Context, e164 string) ([]sim.Message, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sms?msisdn="+url.QueryEscape(e164), nil)
		if err != nil {
			return nil, fmt.Errorf("read the simulator's messages: %w", err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := hc.Do(req)
		if err != nil {
			// The URL holds the phone number: keep it out of the error,
			// which is logged.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("read the simulator's messages: %w", err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("read the simulator's messages: HTTP %d (sim.token must be what the simulator at sim_url accepts)", res.StatusCode)
		}
		var l struct {
			Data []sim.Message `json:"data"`
		}
		if err := json.NewDecoder(io.LimitReader(res.Body, maxInboxBody)).Decode(&l); err != nil {
			return nil, fmt.Errorf("read the simulator's messages: %w", err)
		}
		return l.Data, nil
	}
}

// maxTestSMS is how many messages GET /v1/test_helpers/sms shows, newest first.
const maxTestSMS = 100

// testSMSView is one message as GET /v1/test_helpers/sms shows it. The
// number is masked, as everywhere in the merchant API.
type testSMSView struct {
	MSISDNMasked string    `json:"msisdn_masked"`
	Body         string    `json:"body"`
	Code         string    `json:"code"`
	Reference    string    `json:"reference"`
	SentAt       time.Time `json:"sent_at"`
}

// handleTestSMS is GET /v1/test_helpers/sms?msisdn=: the texts the
// simulated carriers sent to a number about the calling merchant's own
// charges and payment methods, newest first, so a test reads its code as
// the subscriber would, and never another merchant's.
func (a *app) handleTestSMS(c echo.Context) error {
	p := web.Principal(c)
	if p.Livemode {
		return problem.New(http.StatusForbidden, problem.CodeForbidden, "The simulated carriers' messages are for test keys only.")
	}
	raw := strings.TrimSpace(c.QueryParam("msisdn"))
	if raw != "" && !strings.HasPrefix(raw, "+") {
		raw = "+" + raw // an unescaped '+' in a query string arrives as a space
	}
	e164, err := msisdn.Parse(raw, "")
	if err != nil {
		return problem.Invalid("msisdn", "msisdn is required: the subscriber's number in E.164 form, e.g. msisdn=%2B821012345678.")
	}
	ctx := c.Request().Context()
	msgs, err := a.inbox(ctx, e164)
	if err != nil {
		a.log.Warn("carrier simulator unreadable", "error", err)
		return problem.New(http.StatusServiceUnavailable, problem.CodeServiceUnavailable, "The carrier simulator could not be read.")
	}
	refs := make([]string, 0, len(msgs))
	for _, m := range msgs {
		refs = append(refs, m.Reference)
	}
	owned, err := a.billing.Owned(ctx, p.MerchantID, false, refs)
	if err != nil {
		return err
	}
	out := make([]testSMSView, 0)
	for _, m := range msgs {
		if len(out) == maxTestSMS {
			break
		}
		if m.MSISDN == e164 && owned[m.Reference] {
			out = append(out, testSMSView{MSISDNMasked: msisdn.Mask(e164), Body: m.Body, Code: m.Code, Reference: m.Reference, SentAt: m.SentAt.UTC()})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

// simHandler serves the mounted simulator: the carriers' APIs and
// settlement files as they are (the adapters and settle call them), its own
// endpoints (sim.IsControl) for an admin key only, unless sim.open_controls.
func (a *app) simHandler() echo.HandlerFunc {
	serve := echo.WrapHandler(a.sim.Handler())
	if a.cfg.Sim.OpenControls {
		return serve
	}
	admin := a.gate.Require(auth.RoleAdmin)(serve)
	return func(c echo.Context) error {
		if a.sim.IsControl(c.Request()) {
			return admin(c)
		}
		return serve(c)
	}
}

// clockKeys are the roles that may move the test clock: an admin, or any
// test key when sim.open_controls says one developer owns the gateway.
func (a *app) clockKeys() echo.MiddlewareFunc {
	if a.cfg.Sim.OpenControls {
		return a.gate.Require(auth.RoleAdmin, auth.RoleMerchant)
	}
	return a.gate.Require(auth.RoleAdmin)
}
