package camara

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"tollgate/carriers"
)

// Reference kinds a status query can ask about.
const (
	kindCharge = "charge"
	kindRefund = "refund"
)

// Status asks the carrier what became of a charge or refund. Without the
// carrier's id (the request that would have returned it timed out) the
// operation is looked up by the clientCorrelator we sent; ErrNotFound then
// means the carrier has no record of it.
func (c *Client) Status(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	var (
		res carriers.Result
		err error
	)
	switch ref.Kind {
	case kindCharge:
		res, err = c.chargeStatus(ctx, ref)
	case kindRefund:
		res, err = c.refundStatus(ctx, ref)
	default:
		err = fmt.Errorf("%w: unknown reference kind %q", carriers.ErrInvalidRequest, ref.Kind)
	}
	if err != nil {
		return carriers.Result{}, fmt.Errorf("camara %s: status of %s %s: %w", c.name, ref.Kind, ref.ClientReference, err)
	}
	return res, nil
}

func (c *Client) chargeStatus(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	if ref.CarrierReference != "" {
		a, err := c.send(ctx, http.MethodGet, paymentsPath+"/"+url.PathEscape(ref.CarrierReference), nil, nil, correlatorFor(ref.ClientReference))
		if err != nil {
			return carriers.Result{}, err
		}
		if a.Status != http.StatusOK {
			return carriers.Result{}, answerError(a, false, c.now())
		}
		var p payment
		if err := decode(a.Body, &p); err != nil {
			return carriers.Result{}, carriers.UnreadableAnswer(a, err)
		}
		return paymentResult(p)
	}
	if ref.ClientReference == "" {
		return carriers.Result{}, fmt.Errorf("%w: neither a carrier nor a client reference to look up", carriers.ErrInvalidRequest)
	}
	var list []payment
	complete, err := c.list(ctx, paymentsPath, ref.ClientReference, &list)
	if err != nil {
		return carriers.Result{}, err
	}
	for _, p := range list {
		if p.AmountTransaction.ClientCorrelator == ref.ClientReference {
			return paymentResult(p)
		}
	}
	if !complete {
		return carriers.Result{}, fmt.Errorf("%w: carrier listed other payments than %s and more may follow; absence is not proven", carriers.ErrOutcomeUnknown, ref.ClientReference)
	}
	return carriers.Result{}, fmt.Errorf("%w: no payment with clientCorrelator %s", carriers.ErrNotFound, ref.ClientReference)
}

func (c *Client) refundStatus(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	if ref.ChargeReference == "" {
		return carriers.Result{}, fmt.Errorf("%w: a refund is found under the carrier's id of its charge, and none was given", carriers.ErrInvalidRequest)
	}
	collection := refundsPath(ref.ChargeReference)
	if ref.CarrierReference != "" {
		a, err := c.send(ctx, http.MethodGet, collection+"/"+url.PathEscape(ref.CarrierReference), nil, nil, correlatorFor(ref.ClientReference))
		if err != nil {
			return carriers.Result{}, err
		}
		if a.Status != http.StatusOK {
			return carriers.Result{}, answerError(a, false, c.now())
		}
		var rf refund
		if err := decode(a.Body, &rf); err != nil {
			return carriers.Result{}, carriers.UnreadableAnswer(a, err)
		}
		return refundResult(rf)
	}
	if ref.ClientReference == "" {
		return carriers.Result{}, fmt.Errorf("%w: neither a carrier nor a client reference to look up", carriers.ErrInvalidRequest)
	}
	var list []refund
	complete, err := c.list(ctx, collection, ref.ClientReference, &list)
	if err != nil {
		return carriers.Result{}, err
	}
	for _, rf := range list {
		if rf.AmountTransaction.ClientCorrelator == ref.ClientReference {
			return refundResult(rf)
		}
	}
	if !complete {
		return carriers.Result{}, fmt.Errorf("%w: carrier listed other refunds than %s and more may follow; absence is not proven", carriers.ErrOutcomeUnknown, ref.ClientReference)
	}
	return carriers.Result{}, fmt.Errorf("%w: no refund with clientCorrelator %s", carriers.ErrNotFound, ref.ClientReference)
}

// list reads the first page of a collection filtered by clientCorrelator into
// out, and reports whether that page is all there is. A carrier that ignores
// the vendor filter answers with everything, and then a missing entry proves
// nothing unless the page held the whole collection.
func (c *Client) list(ctx context.Context, path, correlator string, out any) (complete bool, err error) {
	q := url.Values{correlatorParam: {correlator}, perPageParam: {strconv.Itoa(listPageSize)}}
	a, err := c.send(ctx, http.MethodGet, path, q, nil, correlatorFor(correlator))
	if err != nil {
		return false, err
	}
	if a.Status != http.StatusOK {
		return false, answerError(a, false, c.now())
	}
	if err := decode(a.Body, out); err != nil {
		return false, carriers.UnreadableAnswer(a, err)
	}
	n := listLen(out)
	if total, err := strconv.Atoi(a.Header.Get("X-Total-Count")); err == nil {
		return total <= n, nil
	}
	return n < listPageSize, nil
}

func listLen(out any) int {
	switch l := out.(type) {
	case *[]payment:
		return len(*l)
	case *[]refund:
		return len(*l)
	}
	return 0
}
