// Package oneapi is the carrier adapter for operators and hubs that speak
// the GSMA OneAPI Payment REST API (v3), the older ancestor of CAMARA's
// carrier billing that many operator hubs still run, plus OneAPI SMS.
//
// OneAPI has one resource for money, the amount transaction, created by POST
// on the subscriber's collection (/payment/v3/{endUserId}/transactions/amount,
// endUserId a URL-encoded tel: URI). The transactionOperationStatus asked for
// says what to do: "Charged" charges, "Refunded" refunds the charge named by
// originalServerReferenceCode. The operator answers the transaction with its
// serverReferenceCode, which is the carrier's reference on our side.
//
// It only translates: one carrier request per call, answers mapped to a
// carriers.Result or to the carriers error vocabulary. Retries, breakers and
// timeouts beyond the HTTP client's are a resilience layer's job, wrapped
// around every adapter in one place; the adapter marks the requests that
// layer may resend (carriers.WithResend).
package oneapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/carriers"
)

const protocol = "oneapi"

var (
	_ carriers.Carrier   = (*Client)(nil)
	_ carriers.SMSSender = (*Client)(nil)
)

func init() {
	carriers.RegisterProtocol(protocol, func(s carriers.Settings) (carriers.Carrier, error) {
		return New(s)
	})
}

// Client is one carrier connection over GSMA OneAPI.
type Client struct {
	name string
	base string
	caps carriers.Capabilities
	hc   *http.Client
	now  func() time.Time // the gateway's clock
	// correlatorHonoured: the hub answers a resent clientCorrelator with
	// the first transaction (option client_correlator, "honoured" by
	// default). OneAPI makes it optional; where a hub ignores it, a write
	// that may have arrived is never resent.
	correlatorHonoured bool

	carriers.ReportFiles // settlement files (report.go)
}

// New builds a client for the carrier described by s.
func New(s carriers.Settings) (*Client, error) {
	if s.Name == "" {
		return nil, errors.New("oneapi: carrier name is empty")
	}
	base, err := carriers.ParseBaseURL(s.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("oneapi %s: %w", s.Name, err)
	}
	// A copy of the caller's client that takes a 3xx as the answer.
	hc := carriers.SendClient(s.HTTPClient)
	reports, err := carriers.NewReportFiles(s, reportLayout)
	if err != nil {
		return nil, fmt.Errorf("oneapi %s: %w", s.Name, err)
	}
	honoured := true
	switch v := s.Options[optCorrelator]; v {
	case "", correlatorHonoured:
	case correlatorIgnored:
		honoured = false
	default:
		return nil, fmt.Errorf("oneapi %s: options.%s: %q is neither %s nor %s", s.Name, optCorrelator, v, correlatorHonoured, correlatorIgnored)
	}
	return &Client{
		ReportFiles: reports, name: s.Name, base: base, caps: s.Capabilities, hc: hc, now: s.Clock(),
		correlatorHonoured: honoured,
	}, nil
}

// The option that says whether the hub honours clientCorrelator.
const (
	optCorrelator      = "client_correlator"
	correlatorHonoured = "honoured"
	correlatorIgnored  = "ignored"
)

// write marks a POST that carries our clientCorrelator safe to resend,
// when the hub honours it.
func (c *Client) write(ctx context.Context) context.Context {
	if c.correlatorHonoured {
		return carriers.WithResend(ctx)
	}
	return ctx
}

// Name is the carrier's configured name.
func (c *Client) Name() string { return c.name }

// Capabilities are the carrier's declared capabilities.
func (c *Client) Capabilities() carriers.Capabilities { return c.caps }
