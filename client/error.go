package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error is a problem the gateway answered (RFC 9457). Branch on Code, which
// is stable; Detail is for people. The error reference explains each code:
// GET Type on the gateway.
type Error struct {
	Status    int    // the HTTP status
	Code      string // e.g. "refund_window_closed"; empty when the answer was not a problem
	Type      string // "/docs/errors/<code>", relative to the gateway
	Title     string
	Detail    string
	Param     string // the request field at fault, if one is
	RequestID string // X-Request-Id: quote it when asking for help
	// RetryAfter is the Retry-After header in seconds, 0 when absent.
	RetryAfter int
	// Extra holds the problem's extension members: attempts_remaining,
	// refundable_amount, risk_rule, charge, cap, limit, remaining, month, …
	Extra map[string]json.RawMessage
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tollgate: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Param != "" {
		b.WriteString(" (" + e.Param + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// Int returns an integer extension member (attempts_remaining,
// refundable_amount, remaining …) and whether it was there.
func (e *Error) Int(name string) (int64, bool) {
	raw, ok := e.Extra[name]
	if !ok {
		return 0, false
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

func decodeError(res *http.Response, raw []byte) *Error {
	e := &Error{Status: res.StatusCode, RequestID: res.Header.Get("X-Request-Id")}
	e.RetryAfter, _ = strconv.Atoi(res.Header.Get("Retry-After"))
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		e.Title = http.StatusText(res.StatusCode)
		e.Detail = strings.TrimSpace(string(raw))
		if len(e.Detail) > 200 {
			e.Detail = e.Detail[:200] + "…"
		}
		return e
	}
	for name, dst := range map[string]*string{"code": &e.Code, "type": &e.Type, "title": &e.Title, "detail": &e.Detail, "param": &e.Param} {
		if v, ok := fields[name]; ok {
			_ = json.Unmarshal(v, dst)
			delete(fields, name)
		}
	}
	delete(fields, "status")
	if len(fields) > 0 {
		e.Extra = fields
	}
	return e
}
