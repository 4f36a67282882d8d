// Package camaratest checks exchanges with a CAMARA operator against the
// official OpenAPI files (carrier-billing v0.5, carrier-billing-refund v0.3,
// copied with their Apache-2.0 LICENSE under carriers/camara/testdata/spec)
// with kin-openapi's openapi3filter: every request a client sends, security
// requirement included (a bearer token must be present: the openIdConnect
// scheme as a client-side check; the token's worth is the operator's to
// judge), and every answer the operator gives. It is for tests: on the
// client side as an http.RoundTripper, on the operator's side as middleware.
// Calls that are not CAMARA's (the token endpoint, OneAPI SMS) pass
// unchecked.
package camaratest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// files are the spec files by the API's path under the operator's root.
var files = map[string]string{
	"/carrier-billing/v0.5":        "carrier-billing.yaml",
	"/carrier-billing-refund/v0.3": "carrier-billing-refund.yaml",
}

// Validator validates exchanges under one operator's API root; a mismatch
// fails the test (t.Errorf) with the exchange.
type Validator struct {
	t       testing.TB
	routers []routers.Router

	// loopbackSinks: see AllowLoopbackSinks.
	loopbackSinks bool

	mu      sync.Mutex
	checked map[string]int // operationId → exchanges validated
}

// AllowLoopbackSinks accepts a sink of http://127.0.0.1 or http://localhost
// where the spec wants https: the one deviation the adapter makes on
// purpose, for a gateway and a simulated operator on one machine in plain
// HTTP (no real operator can reach a loopback address). Everything else
// about the sink is still checked.
func (v *Validator) AllowLoopbackSinks() *Validator {
	v.loopbackSinks = true
	return v
}

// loopbackSink is a JSON sink on a loopback host over plain HTTP.
var loopbackSink = regexp.MustCompile(`"sink":"http://(127\.0\.0\.1|localhost)([:/])`)

// forValidation is body as validated: with AllowLoopbackSinks, a loopback
// sink reads as https.
func (v *Validator) forValidation(body []byte) []byte {
	if !v.loopbackSinks {
		return body
	}
	return loopbackSink.ReplaceAll(body, []byte(`"sink":"https://$1$2`))
}

// New loads the spec files from dir (the caller's path to
// carriers/camara/testdata/spec) for an operator whose CAMARA root has the
// path root (e.g. /sim/skt/camara): requests are matched on path only.
func New(t testing.TB, dir, root string) *Validator {
	t.Helper()
	v := &Validator{t: t, checked: map[string]int{}}
	for api, file := range files {
		doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		doc.Servers = openapi3.Servers{{URL: strings.TrimRight(root, "/") + api}}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		v.routers = append(v.routers, r)
	}
	return v
}

// Checked is how many exchanges of operationID were validated.
func (v *Validator) Checked(operationID string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.checked[operationID]
}

// bearerPresent is the spec's openIdConnect scheme, checked for presence.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") || len(h) <= len("Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// request validates req (its body is read and put back) and returns what
// the answer is validated with, or nil when req is not a CAMARA call.
func (v *Validator) request(req *http.Request) *openapi3filter.RequestValidationInput {
	var route *routers.Route
	var params map[string]string
	for _, r := range v.routers {
		if rt, p, err := r.FindRoute(req); err == nil {
			route, params = rt, p
			break
		}
	}
	if route == nil {
		return nil
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	req.Body = io.NopCloser(bytes.NewReader(v.forValidation(body)))
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		v.t.Errorf("request %s %s does not match the CAMARA spec: %v\n%s", req.Method, req.URL.Path, err, body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return in
}

// answer validates an answer to a request request validated. Statuses the
// operation does not declare fail below 500 (a 503 or 504 is any server's).
func (v *Validator) answer(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: status < 500, MultiError: true},
	}
	out.SetBodyBytes(v.forValidation(body))
	if err := openapi3filter.ValidateResponse(in.Request.Context(), out); err != nil {
		v.t.Errorf("answer to %s %s does not match the CAMARA spec: HTTP %d %v\n%s", in.Request.Method, in.Request.URL.Path, status, err, body)
	}
	v.mu.Lock()
	v.checked[in.Route.Operation.OperationID]++
	v.mu.Unlock()
}

// RoundTripper validates the exchanges a client makes through next.
func (v *Validator) RoundTripper(next http.RoundTripper) http.RoundTripper {
	return roundTripper{v: v, next: next}
}

type roundTripper struct {
	v    *Validator
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	in := rt.v.request(req)
	resp, err := rt.next.RoundTrip(req)
	if err != nil || in == nil {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	rt.v.answer(in, resp.StatusCode, resp.Header, body)
	return resp, nil
}

// Handler validates the exchanges an operator (next) serves. An answer
// never written (a connection dropped or held) is not validated.
func (v *Validator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := v.request(r)
		if in == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status != 0 {
			v.answer(in, rec.status, w.Header(), rec.body.Bytes())
		}
	})
}

// recorder writes an answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
