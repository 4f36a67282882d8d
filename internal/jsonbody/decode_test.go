package jsonbody

import (
	"errors"
	"net/http"
	"testing"

	"tollgate/internal/problem"
)

func TestDecodeBytes(t *testing.T) {
	type params struct {
		Amount *int64 `json:"amount"`
		Reason string `json:"reason"`
	}
	for _, tc := range []struct {
		name, body string
		status     int    // 0: decoded
		code       string // the problem's code when refused
	}{
		{"empty body is {}", "", 0, ""},
		{"whitespace is {}", " \n\t", 0, ""},
		{"object", `{"amount": 5, "reason": "x"}`, 0, ""},
		{"empty object", ` {} `, 0, ""},
		{"null", `null`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"null in spaces", " null\n", http.StatusBadRequest, problem.CodeInvalidJSON},
		{"array", `[]`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"string", `"{}"`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"number", `5`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"boolean", `true`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"two objects", `{} {}`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"truncated", `{"amount": 5`, http.StatusBadRequest, problem.CodeInvalidJSON},
		{"unknown field", `{"amount": 5, "x": 1}`, http.StatusBadRequest, problem.CodeUnknownParameter},
		{"wrong type", `{"amount": "5"}`, http.StatusBadRequest, problem.CodeInvalidParameter},
		{"NUL", `{"reason": "a\u0000b"}`, http.StatusBadRequest, problem.CodeInvalidJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v params
			err := DecodeBytes("application/json", []byte(tc.body), &v)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status != tc.status || p.Code != tc.code {
				t.Fatalf("got %v, want %d %s", err, tc.status, tc.code)
			}
		})
	}
}

func TestDecodeBytesRefusesOtherMediaTypes(t *testing.T) {
	var v struct{}
	err := DecodeBytes("text/plain", []byte(`{}`), &v)
	var p *problem.Problem
	if !errors.As(err, &p) || p.Code != problem.CodeUnsupportedMediaType {
		t.Fatalf("got %v", err)
	}
	// A request without a Content-Type is read as JSON.
	if err := DecodeBytes("", []byte(`{}`), &v); err != nil {
		t.Fatal(err)
	}
}
