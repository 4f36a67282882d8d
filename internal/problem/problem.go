// Package problem describes every failure as an RFC 9457 problem with a stable,
// machine-readable code, and maps errors nobody classified to a 500 that
// reveals nothing.
package problem

import (
	"errors"
	"fmt"
	"net/http"
)

// TypeBase prefixes every problem type: a URI reference relative to the
// gateway that answered (RFC 9457 allows one), so it resolves on the
// gateway itself to the code's entry in the error reference (docs/errors.md).
const TypeBase = "/docs/errors/"

// Problem is an RFC 9457 problem detail that is also an error.
type Problem struct {
	Status     int            `json:"status"`
	Code       string         `json:"code"`
	Title      string         `json:"title"`
	Detail     string         `json:"detail,omitempty"`
	Param      string         `json:"param,omitempty"`
	Extra      map[string]any `json:"-"`
	RetryAfter int            `json:"-"` // seconds; sets the Retry-After header when > 0
}

func (p *Problem) Error() string {
	if p.Param != "" {
		return fmt.Sprintf("%s (%s): %s", p.Code, p.Param, p.Detail)
	}
	return p.Code + ": " + p.Detail
}

// New builds a problem; Title defaults to the status text.
func New(status int, code, detail string) *Problem {
	return &Problem{Status: status, Code: code, Title: http.StatusText(status), Detail: detail}
}

// Invalid is a 400 about one request field.
func Invalid(param, detail string) *Problem {
	p := New(http.StatusBadRequest, CodeInvalidParameter, detail)
	p.Param = param
	return p
}

// Unprocessable is a 422 about one request field with its own code.
func Unprocessable(code, param, detail string) *Problem {
	p := New(http.StatusUnprocessableEntity, code, detail)
	p.Param = param
	return p
}

// NotFound is the answer for anything the caller may not see, whether or not it exists.
func NotFound(what string) *Problem {
	return New(http.StatusNotFound, CodeNotFound, "No such "+what+".")
}

// With adds an extension member to the problem body.
func (p *Problem) With(key string, value any) *Problem {
	if p.Extra == nil {
		p.Extra = map[string]any{}
	}
	p.Extra[key] = value
	return p
}

// Stable codes. Frozen once published.
const (
	CodeInvalidJSON             = "invalid_json"
	CodeInvalidParameter        = "invalid_parameter"
	CodeMissingParameter        = "parameter_missing"
	CodeUnknownParameter        = "unknown_parameter"
	CodeBodyTooLarge            = "body_too_large"
	CodeUnsupportedMediaType    = "unsupported_media_type"
	CodeNotFound                = "not_found"
	CodeMethodNotAllowed        = "method_not_allowed"
	CodeUnauthorized            = "unauthorized"
	CodeForbidden               = "forbidden"
	CodeInternal                = "internal_error"
	CodeIdempotencyKeyRequired  = "idempotency_key_required"
	CodeIdempotencyKeyInvalid   = "idempotency_key_invalid"
	CodeIdempotencyKeyReused    = "idempotency_key_reused"
	CodeIdempotencyInProgress   = "idempotency_request_in_progress"
	CodeInvalidMSISDN           = "invalid_msisdn"
	CodeUnsupportedCurrency     = "unsupported_currency"
	CodeAmountTooSmall          = "amount_too_small"
	CodeAmountTooLarge          = "amount_too_large"
	CodeUnknownCarrier          = "unknown_carrier"
	CodeCarrierRequired         = "carrier_required"
	CodeCarrierUnavailable      = "carrier_unavailable"
	CodeInvalidConfirmationCode = "invalid_confirmation_code"
	CodeConfirmationFailed      = "confirmation_failed"
	CodeConfirmationExpired     = "confirmation_expired"
	CodeChargeStateInvalid      = "charge_state_invalid"
	CodePaymentMethodInvalid    = "payment_method_invalid"
	CodeRefundExceedsCharge     = "refund_exceeds_charge"
	CodeRefundNotSupported      = "refund_not_supported"
	CodeRefundWindowClosed      = "refund_window_closed"
	CodeRateLimited             = "rate_limited"
	CodeRiskDeclined            = "risk_declined"
	CodeServiceUnavailable      = "service_unavailable"
	// A charge over a monthly cap (billing's subscriber protection).
	CodeCarrierLimitExceeded    = "carrier_limit_exceeded"
	CodeSubscriberLimitExceeded = "subscriber_limit_exceeded"
	CodeMerchantLimitExceeded   = "merchant_limit_exceeded"
	CodeCategoryLimitExceeded   = "category_limit_exceeded"
	CodeCategoryBlocked         = "category_blocked"
	// Subscriptions (billing, issue 11).
	CodeRecurringNotSupported    = "recurring_not_supported"
	CodeSubscriptionStateInvalid = "subscription_state_invalid"
	// Refund requests (billing, issue 11).
	CodeRefundRequestStateInvalid = "refund_request_state_invalid"
	CodeRefundRequestOpen         = "refund_request_open"
	CodeRefundFailed              = "refund_failed"
	// Cashback programs (billing, issue 11).
	CodeCashbackProgramExists       = "cashback_program_exists"
	CodeCashbackProgramStateInvalid = "cashback_program_state_invalid"
)

// Body is the JSON object written for p.
func (p *Problem) Body() map[string]any {
	m := map[string]any{
		"type":   TypeBase + p.Code,
		"title":  p.Title,
		"status": p.Status,
		"code":   p.Code,
	}
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	if p.Param != "" {
		m["param"] = p.Param
	}
	for k, v := range p.Extra {
		m[k] = v
	}
	return m
}

// From classifies any error as a problem; one nobody classified is a 500
// that reveals nothing.
func From(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return New(http.StatusInternalServerError, CodeInternal, "Something went wrong on our side. It has been logged; please retry later.")
}
