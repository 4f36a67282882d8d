// Package jsonbody decodes request bodies strictly: one JSON object, no
// unknown fields, right types, with a problem that names the bad field.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"tollgate/internal/problem"
)

// Decode reads r's body (already size-limited by the server) into v. An
// empty body decodes as {} so endpoints without required fields accept it;
// any other body must be one JSON object: encoding/json would take null
// (or nothing but whitespace around it) as "no fields", and an action such
// as a cancel or a full refund would then run on a body nobody meant.
func Decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.New(http.StatusRequestEntityTooLarge, problem.CodeBodyTooLarge, "The request body is larger than 1 MiB.")
		}
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body could not be read.")
	}
	return DecodeBytes(r.Header.Get("Content-Type"), body, v)
}

// DecodeBytes is Decode on a body already read.
func DecodeBytes(contentType string, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	} else if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem.New(http.StatusUnsupportedMediaType, problem.CodeUnsupportedMediaType, "Send JSON with Content-Type: application/json.")
		}
	}
	if b := bytes.TrimSpace(body); b[0] != '{' {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body must be a JSON object.")
	}
	// PostgreSQL cannot store NUL in text, and no field has a use for it.
	if bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "Strings may not contain the NUL character.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return classify(err)
	}
	if dec.More() {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body must be a single JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body must be a single JSON object.")
	}
	return nil
}

func classify(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body is not valid JSON.")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body must be a JSON object.")
		}
		return problem.Invalid(typ.Field, fmt.Sprintf("%s must be %s, not a JSON %s.", typ.Field, describe(typ.Type.String()), typ.Value))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		p := problem.New(http.StatusBadRequest, problem.CodeUnknownParameter, fmt.Sprintf("Unknown field %q.", f))
		p.Param = f
		return p
	}
	return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body is not valid JSON.")
}

func describe(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "string") && strings.HasPrefix(goType, "map"):
		return "an object of strings"
	case strings.Contains(goType, "string") && strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	default:
		return "a " + goType
	}
}
