package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"tollgate/internal/problem"
)

// fuzzParams has a field of each kind merchants send.
type fuzzParams struct {
	Amount   *int64            `json:"amount"`
	Currency string            `json:"currency"`
	Capture  bool              `json:"capture"`
	Metadata map[string]string `json:"metadata"`
	Tags     []string          `json:"tags"`
}

// FuzzDecodeBytes: any body is a 4xx problem with a code, or one JSON
// object (or nothing) that decodes without NUL in a string, and whose
// decoded value encodes and decodes again to itself.
func FuzzDecodeBytes(f *testing.F) {
	for _, b := range []string{`{"amount": 5000, "currency": "KRW", "capture": true, "metadata": {"a": "b"}, "tags": ["x"]}`,
		``, ` `, `null`, `[]`, `"x"`, `{}`, `{} {}`, `{"amount": 1.5}`, `{"amount": "1"}`, `{"nope": 1}`, `{"currency": "\u0000"}`,
		`{"metadata": {"k": 1}}`, `{"amount": 9223372036854775808}`, `{`} {
		f.Add("application/json", []byte(b))
	}
	f.Add("application/problem+json; charset=utf-8", []byte(`{}`))
	f.Add("text/plain", []byte(`{}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var in fuzzParams
		err := DecodeBytes(contentType, body, &in)
		if err != nil {
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 || p.Code == "" {
				t.Fatalf("%q: %v is not a 4xx problem with a code", body, err)
			}
			return
		}
		if b := bytes.TrimSpace(body); len(b) > 0 && b[0] != '{' {
			t.Fatalf("%q accepted: not an object", body)
		}
		if bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
			t.Fatalf("%q accepted with a NUL", body)
		}
		enc, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var again fuzzParams
		if err := DecodeBytes("application/json", enc, &again); err != nil {
			t.Fatalf("%q -> %s refused: %v", body, enc, err)
		}
		if enc2, _ := json.Marshal(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("%q -> %s -> %s", body, enc, enc2)
		}
	})
}
