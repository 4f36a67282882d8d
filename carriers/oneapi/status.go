package oneapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"tollgate/carriers"
)

// Status asks the carrier what became of a charge or refund. OneAPI files
// transactions under the subscriber, so ref.MSISDN is required. With the
// carrier's id (serverReferenceCode) the transaction is read directly;
// without it (the request that would have returned it timed out) it is
// looked up by the clientCorrelator we sent, through the operator's
// clientCorrelator filter on the subscriber's transactions, and ErrNotFound
// then means the carrier has no record of it.
func (c *Client) Status(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	res, err := c.status(ctx, ref)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("oneapi %s: status of %s %s: %w", c.name, ref.Kind, ref.ClientReference, err)
	}
	return res, nil
}

func (c *Client) status(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	switch {
	case ref.Kind != kindCharge && ref.Kind != kindRefund:
		return carriers.Result{}, fmt.Errorf("%w: unknown reference kind %q", carriers.ErrInvalidRequest, ref.Kind)
	case ref.MSISDN == "":
		return carriers.Result{}, fmt.Errorf("%w: OneAPI finds transactions under the subscriber, and no MSISDN was given", carriers.ErrInvalidRequest)
	case ref.CarrierReference == "" && ref.ClientReference == "":
		return carriers.Result{}, fmt.Errorf("%w: neither a carrier nor a client reference to look up", carriers.ErrInvalidRequest)
	}
	// Reads change nothing at the carrier, so the HTTP layer may resend them.
	ctx = carriers.WithResend(ctx)
	collection := transactionsPath(ref.MSISDN)

	if ref.CarrierReference != "" {
		a, err := c.send(ctx, http.MethodGet, collection+"/"+escapeSegment(ref.CarrierReference), nil, nil)
		if err != nil {
			return carriers.Result{}, err
		}
		if a.Status != http.StatusOK {
			return carriers.Result{}, answerError(a, false, c.now())
		}
		var tb transactionBody
		if err := decode(a.Body, &tb); err != nil {
			return carriers.Result{}, carriers.UnreadableAnswer(a, err)
		}
		return transactionResult(tb.AmountTransaction, ref.Kind)
	}

	a, err := c.send(ctx, http.MethodGet, collection, url.Values{correlatorParam: {ref.ClientReference}}, nil)
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status != http.StatusOK {
		return carriers.Result{}, answerError(a, false, c.now())
	}
	var list transactionList
	if err := decode(a.Body, &list); err != nil {
		return carriers.Result{}, carriers.UnreadableAnswer(a, err)
	}
	// OneAPI lists are not paged: what came back is all there is, so an
	// absent correlator is proof the carrier never created the transaction.
	for _, t := range list.List.AmountTransaction {
		if t.ClientCorrelator != ref.ClientReference || isRefund(t) != (ref.Kind == kindRefund) {
			continue
		}
		if ref.Kind == kindRefund && ref.ChargeReference != "" && t.OriginalServerReferenceCode != ref.ChargeReference {
			continue
		}
		return transactionResult(t, ref.Kind)
	}
	return carriers.Result{}, fmt.Errorf("%w: no %s with clientCorrelator %s", carriers.ErrNotFound, ref.Kind, ref.ClientReference)
}
