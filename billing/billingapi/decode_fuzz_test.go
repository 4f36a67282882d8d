package billingapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"tollgate/billing"
	"tollgate/internal/jsonbody"
	"tollgate/internal/problem"
)

// requestBodies are the shapes merchants send the billing API, by handler.
var requestBodies = []func() any{
	func() any { return &billing.ChargeParams{} },
	func() any { return &codeParams{} },
	func() any { return &billing.RefundParams{} },
	func() any { return &billing.PaymentMethodParams{} },
	func() any { return &billing.SubscriptionParams{} },
	func() any { return &struct{}{} },
}

// FuzzRequestBodies decodes arbitrary bodies as the handlers do: each is a
// 4xx problem with a code, or decodes to params that encode and decode
// again to the same params (nothing read from a body is lost or invented).
func FuzzRequestBodies(f *testing.F) {
	for _, b := range []string{
		`{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt", "description": "500 gems"}`,
		`{"amount": 1999, "currency": "USD", "payment_method": "pm_1", "description": "x", "metadata": {"order": "1"}}`,
		`{"code": "123456"}`, `{"amount": 2000, "reason": "one item"}`, `{}`, ``, `null`, `[]`, `{"amount": 1e3}`,
		`{"amount": "5000"}`, `{"unknown": 1}`, `{"a":1}{"b":2}`, `{"description": "\u0000"}`, `{"amount": 99999999999999999999}`,
	} {
		for kind := range uint8(len(requestBodies)) {
			f.Add(kind, "application/json", []byte(b))
		}
	}
	f.Add(uint8(0), "text/plain", []byte(`{"amount": 1}`))
	f.Fuzz(func(t *testing.T, kind uint8, contentType string, body []byte) {
		mk := requestBodies[int(kind)%len(requestBodies)]
		in := mk()
		err := jsonbody.DecodeBytes(contentType, body, in)
		if err != nil {
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 || p.Code == "" {
				t.Fatalf("%q: %v is not a 4xx problem with a code", body, err)
			}
			return
		}
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' {
			t.Fatalf("%q accepted: not an object", body)
		}
		enc, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("%q decoded to %+v, which does not encode: %v", body, in, err)
		}
		again := mk()
		if err := jsonbody.DecodeBytes("application/json", enc, again); err != nil {
			t.Fatalf("%q -> %s is refused: %v", body, enc, err)
		}
		if enc2, _ := json.Marshal(again); !bytes.Equal(enc, enc2) || reflect.TypeOf(in) != reflect.TypeOf(again) {
			t.Fatalf("%q -> %s -> %s", body, enc, enc2)
		}
	})
}
