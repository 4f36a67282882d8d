// Package camara is the carrier adapter for operators that speak the CAMARA
// Carrier Billing APIs (carrier-billing v0.5, carrier-billing-refund v0.3),
// plus GSMA OneAPI SMS for the text messages CAMARA leaves out. It does
// 1-step payments (charge.go), 2-step payments where the operator sends and
// checks the subscriber's code (authorize.go, confirm.go), refunds, status
// queries, and reads the operator's payment notifications (webhook.go).
//
// It only translates: one carrier request per call (two where the protocol
// needs a read to finish a write), answers mapped to a carriers.Result or to
// the carriers error vocabulary. Retries, breakers and timeouts beyond the
// HTTP client's are a resilience layer's job, wrapped around every adapter in
// one place.
package camara

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara/tokens"
)

const protocol = "camara"

var (
	_ carriers.Carrier       = (*Client)(nil)
	_ carriers.SMSSender     = (*Client)(nil)
	_ carriers.Authorizer    = (*Client)(nil)
	_ carriers.Canceler      = (*Client)(nil)
	_ carriers.WebhookParser = (*Client)(nil)
)

func init() {
	carriers.RegisterProtocol(protocol, func(s carriers.Settings) (carriers.Carrier, error) {
		return New(s)
	})
}

// Client is one carrier connection over CAMARA.
type Client struct {
	name string
	base string
	caps carriers.Capabilities
	hc   *http.Client
	now  func() time.Time // the gateway's clock
	// callbackURL is the sink for notifications when a request names none.
	// The carrier's webhook secret is not used: each payment gets its own
	// sink token (see sink).
	callbackURL string
	// tokens are the carrier's access tokens (auth.go); nil when it asks
	// for none.
	tokens *tokens.Cache
	scopes []string // asked for with every token beside the operation's

	carriers.ReportFiles // settlement files (report.go)
}

// New builds a client for the carrier described by s.
func New(s carriers.Settings) (*Client, error) {
	if s.Name == "" {
		return nil, errors.New("camara: carrier name is empty")
	}
	base, err := carriers.ParseBaseURL(s.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("camara %s: %w", s.Name, err)
	}
	// A copy of the caller's client that takes a 3xx as the answer.
	hc := carriers.SendClient(s.HTTPClient)
	reports, err := carriers.NewReportFiles(s, reportLayout)
	if err != nil {
		return nil, fmt.Errorf("camara %s: %w", s.Name, err)
	}
	toks, err := newTokens(s, base)
	if err != nil {
		return nil, fmt.Errorf("camara %s: %w", s.Name, err)
	}
	return &Client{
		ReportFiles: reports, name: s.Name, base: base, caps: s.Capabilities, hc: hc, now: s.Clock(),
		callbackURL: s.CallbackURL, tokens: toks, scopes: strings.Fields(s.Options[OptionScopes]),
	}, nil
}

// Name is the carrier's configured name.
func (c *Client) Name() string { return c.name }

// Capabilities are the carrier's declared capabilities.
func (c *Client) Capabilities() carriers.Capabilities { return c.caps }
