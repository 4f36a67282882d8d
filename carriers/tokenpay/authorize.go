package tokenpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"tollgate/carriers"
)

// Authorize asks the carrier to text the subscriber a PIN. A Recurring
// request authorises a token for many charges, with Amount 0 meaning no
// ceiling per charge; any other authorises one charge of at most Amount. The
// reference dedupes at the carrier, so the request may be resent.
func (c *Client) Authorize(ctx context.Context, r carriers.AuthorizeRequest) (carriers.Authorization, error) {
	a, err := c.authorize(carriers.WithResend(ctx), r)
	if err != nil {
		return carriers.Authorization{}, fmt.Errorf("tokenpay %s: authorize %s: %w", c.name, r.Reference, err)
	}
	return a, nil
}

func (c *Client) authorize(ctx context.Context, r carriers.AuthorizeRequest) (carriers.Authorization, error) {
	switch {
	case r.Reference == "" || r.MSISDN == "":
		return carriers.Authorization{}, fmt.Errorf("%w: an authorization needs a reference and a phone number", carriers.ErrInvalidRequest)
	case r.Amount < 0 || (!r.Recurring && r.Amount == 0):
		return carriers.Authorization{}, fmt.Errorf("%w: a one-off authorization needs a positive amount", carriers.ErrInvalidRequest)
	}
	body := authorizationRequest{
		Reference: r.Reference, MSISDN: r.MSISDN, Amount: r.Amount, Currency: r.Currency,
		Description: r.Description, Merchant: r.Merchant, Recurring: r.Recurring,
	}
	a, err := c.send(ctx, http.MethodPost, authorizationsPath, nil, body)
	if err != nil {
		return carriers.Authorization{}, err
	}
	if a.Status != http.StatusCreated && a.Status != http.StatusOK {
		return carriers.Authorization{}, answerError(a, true, c.now())
	}
	var out authorization
	if err := decode(a.Body, &out); err != nil {
		return carriers.Authorization{}, carriers.UnreadableAnswer(a, err)
	}
	if out.AuthorizationID == "" {
		return carriers.Authorization{}, fmt.Errorf("%w: authorization %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	return carriers.Authorization{ID: out.AuthorizationID}, nil
}

// Verify sends the subscriber's PIN. A wrong PIN is carriers.ErrWrongCode; an
// authorization the carrier has given up on (three wrong PINs, or the PIN's
// five minutes are over) is ErrInvalidRequest saying so: a new authorization
// is needed. Verify is not resent on its own: a wrong PIN sent twice would
// count twice.
func (c *Client) Verify(ctx context.Context, r carriers.VerifyRequest) (carriers.Authorization, error) {
	a, err := c.verify(ctx, r)
	if err != nil {
		return carriers.Authorization{}, fmt.Errorf("tokenpay %s: verify authorization %s: %w", c.name, r.AuthorizationID, err)
	}
	return a, nil
}

func (c *Client) verify(ctx context.Context, r carriers.VerifyRequest) (carriers.Authorization, error) {
	if r.AuthorizationID == "" || r.Code == "" {
		return carriers.Authorization{}, fmt.Errorf("%w: verifying needs the authorization id and the code", carriers.ErrInvalidRequest)
	}
	path := authorizationsPath + "/" + url.PathEscape(r.AuthorizationID) + "/verify"
	a, err := c.send(ctx, http.MethodPost, path, nil, verifyRequest{PIN: r.Code})
	if err != nil {
		return carriers.Authorization{}, err
	}
	switch a.Status {
	case http.StatusOK:
	case http.StatusUnprocessableEntity, http.StatusGone:
		code, msg := errorInfo(a)
		switch {
		case code == codeInvalidPIN:
			return carriers.Authorization{}, fmt.Errorf("%w: %s", carriers.ErrWrongCode, msg)
		case a.Status == http.StatusGone || code == codePINExpired || code == codeTooManyAttempts:
			return carriers.Authorization{}, fmt.Errorf("%w: the carrier no longer accepts a PIN for this authorization (%s); start a new one", carriers.ErrInvalidRequest, code)
		}
		return carriers.Authorization{}, answerError(a, true, c.now())
	default:
		return carriers.Authorization{}, answerError(a, true, c.now())
	}
	var out authorization
	if err := decode(a.Body, &out); err != nil {
		return carriers.Authorization{}, carriers.UnreadableAnswer(a, err)
	}
	if out.Status != statusVerified || out.Token == "" {
		return carriers.Authorization{}, fmt.Errorf("%w: verify answered status %q without a token", carriers.ErrOutcomeUnknown, out.Status)
	}
	id := out.AuthorizationID
	if id == "" {
		id = r.AuthorizationID
	}
	return carriers.Authorization{ID: id, Token: out.Token}, nil
}
