package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/auth"
	"tollgate/internal/openapi"
	"tollgate/internal/store"
)

// The OpenAPI document served at /openapi.json is the public contract in
// machine-readable form. These tests keep it true: every mounted route and
// nothing else, references that resolve, enums and request bodies that match
// the Go code, and real answers that fit the schemas the document declares.

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type oaDoc map[string]any

// fetchDoc GETs /openapi.json from the running gateway and decodes it.
func oaFetch(t *testing.T, g *gw) oaDoc {
	t.Helper()
	r := g.call("GET", "/openapi.json", "", "", nil)
	if r.Status != 200 {
		t.Fatalf("GET /openapi.json: %d %s", r.Status, r.Raw)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("GET /openapi.json: Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	if !bytes.Equal(r.Raw, openapi.Document) {
		t.Errorf("GET /openapi.json does not serve the embedded document")
	}
	var doc oaDoc
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "tollgate" || info["version"] == "" || info["version"] == nil {
		t.Errorf("info = %v, want title tollgate and a version", info)
	}
	return doc
}

func oaObj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func (d oaDoc) paths() map[string]any { return oaObj(d["paths"]) }

// operations lists the document's operations as "path method" → operation.
func (d oaDoc) operations() map[string]map[string]any {
	out := map[string]map[string]any{}
	for p, item := range d.paths() {
		for k, op := range oaObj(item) {
			if slices.Contains(oaMethods, k) {
				out[p+" "+k] = oaObj(op)
			}
		}
	}
	return out
}

func (d oaDoc) op(path, method string) map[string]any {
	return oaObj(oaObj(d.paths()[path])[strings.ToLower(method)])
}

// pointer resolves a local JSON pointer such as #/components/schemas/Charge.
func (d oaDoc) pointer(ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = map[string]any(d)
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref follows $ref until it reaches an object without one.
func (d oaDoc) deref(v map[string]any) map[string]any {
	for i := 0; i < 16; i++ {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		t, _ := d.pointer(ref)
		v = oaObj(t)
	}
	return v
}

func (d oaDoc) schema(name string) map[string]any {
	return oaObj(oaObj(oaObj(d["components"])["schemas"])[name])
}

// parameters lists an operation's parameters, path-level ones included.
func (d oaDoc) parameters(path, method string) []map[string]any {
	var out []map[string]any
	for _, src := range []any{oaObj(d.paths()[path])["parameters"], d.op(path, method)["parameters"]} {
		list, _ := src.([]any)
		for _, p := range list {
			out = append(out, d.deref(oaObj(p)))
		}
	}
	return out
}

// roles lists the role names an operation's security admits; nil means none is needed.
func oaRoles(op map[string]any) []string {
	var out []string
	sec, _ := op["security"].([]any)
	for _, req := range sec {
		for _, rs := range oaObj(req) {
			list, _ := rs.([]any)
			for _, r := range list {
				out = append(out, fmt.Sprint(r))
			}
		}
	}
	return out
}

var oaEchoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

func TestOpenAPIDescribesEveryMountedRoute(t *testing.T) {
	t.Parallel()
	g := start(t, store.SQLite)
	doc := oaFetch(t, g)
	e, ok := g.app.handler.(*echo.Echo)
	if !ok {
		t.Fatalf("app handler is %T, not *echo.Echo", g.app.handler)
	}

	mounted := map[string]bool{}
	for _, rt := range e.Routes() {
		if rt.Method == "" || strings.HasPrefix(rt.Method, "echo_route") {
			continue // echo's own not-found / any routes
		}
		if rt.Path == "/sim" || strings.HasPrefix(rt.Path, "/sim/") {
			continue // the test-mode simulator is not part of the contract
		}
		if rt.Path == "/my" || strings.HasPrefix(rt.Path, "/my/") {
			continue // the subscriber's HTML page, not the JSON API (docs/subscribers.md)
		}
		if rt.Path == "/docs" || strings.HasPrefix(rt.Path, "/docs/") {
			continue // the merchant docs, HTML (docs/)
		}
		mounted[oaEchoParam.ReplaceAllString(rt.Path, "{$1}")+" "+strings.ToLower(rt.Method)] = true
	}
	if len(mounted) == 0 {
		t.Fatal("echo lists no routes")
	}
	documented := map[string]bool{}
	for k := range doc.operations() {
		documented[k] = true
	}
	var missing, extra []string
	for k := range mounted {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !mounted[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("mounted but not in /openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("in /openapi.json but not mounted:\n  %s", strings.Join(extra, "\n  "))
	}

	// Every {param} of a path is a required path parameter, and only those.
	tmpl := regexp.MustCompile(`\{([^}]+)\}`)
	for k := range doc.operations() {
		path, method, _ := strings.Cut(k, " ")
		want := map[string]bool{}
		for _, m := range tmpl.FindAllStringSubmatch(path, -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		for _, p := range doc.parameters(path, method) {
			if p["in"] == "path" {
				got[fmt.Sprint(p["name"])] = true
				if p["required"] != true {
					t.Errorf("%s: path parameter %v is not required", k, p["name"])
				}
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: path parameters %v, want %v", k, got, want)
		}
	}
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	t.Parallel()
	g := start(t, store.SQLite)
	doc := oaFetch(t, g)

	t.Run("operation ids", func(t *testing.T) {
		seen := map[string]string{}
		for k, op := range doc.operations() {
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", k)
				continue
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, prev, k)
			}
			seen[id] = k
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s has no summary", k)
			}
			if resp := oaObj(op["responses"]); len(resp) == 0 {
				t.Errorf("%s declares no responses", k)
			}
		}
	})

	t.Run("refs resolve", func(t *testing.T) {
		var walk func(at string, v any)
		walk = func(at string, v any) {
			switch x := v.(type) {
			case map[string]any:
				if ref, ok := x["$ref"]; ok {
					s, _ := ref.(string)
					if !strings.HasPrefix(s, "#/components/") {
						t.Errorf("%s: $ref %q does not point into #/components/", at, s)
					} else if _, ok := doc.pointer(s); !ok {
						t.Errorf("%s: $ref %q does not resolve", at, s)
					}
				}
				for k, c := range x {
					walk(at+"/"+k, c)
				}
			case []any:
				for i, c := range x {
					walk(at+"/"+strconv.Itoa(i), c)
				}
			}
		}
		walk("#", map[string]any(doc))
	})

	t.Run("security and idempotency headers", func(t *testing.T) {
		schemes := oaObj(oaObj(doc["components"])["securitySchemes"])
		if b := oaObj(schemes["bearerAuth"]); b["type"] != "http" || b["scheme"] != "bearer" {
			t.Errorf("bearerAuth = %v, want an http bearer scheme", b)
		}
		for k, op := range doc.operations() {
			path, method, _ := strings.Cut(k, " ")
			// Carriers' callbacks are authenticated by their own signatures.
			v1 := strings.HasPrefix(path, "/v1/") && !strings.HasSuffix(path, "/webhooks")
			if sec, ok := op["security"].([]any); !ok || (v1 && len(sec) == 0) || (!v1 && len(sec) != 0) {
				t.Errorf("%s: security %v; /v1 needs the bearer scheme, the rest must say [] (no auth)", k, op["security"])
			}
			idem := 0
			for _, p := range doc.parameters(path, method) {
				if p["in"] == "header" && p["name"] == "Idempotency-Key" {
					idem++
				}
			}
			if idem > 1 || (idem == 1 && method != "post") {
				t.Errorf("%s: %d Idempotency-Key parameters; only a POST takes one", k, idem)
			}
		}
	})

	t.Run("problem codes match internal/problem", func(t *testing.T) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, filepath.Join("..", "..", "internal", "problem", "problem.go"), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var inCode []string
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					inCode = append(inCode, s)
				}
			}
			return true
		})
		if len(inCode) == 0 {
			t.Fatal("found no Code constants in internal/problem/problem.go")
		}
		oaEnumEquals(t, "ProblemCode", doc.schema("ProblemCode"), inCode)
		problem := doc.schema("Problem")
		for _, f := range []string{"type", "title", "status", "code", "detail", "param", "attempts_remaining", "refundable_amount"} {
			if _, ok := oaObj(problem["properties"])[f]; !ok {
				t.Errorf("Problem schema lacks %q", f)
			}
		}
	})

	t.Run("status enums match billing", func(t *testing.T) {
		var charge []string
		for _, s := range billing.AllStatuses {
			charge = append(charge, string(s))
		}
		oaEnumEquals(t, "ChargeStatus", doc.schema("ChargeStatus"), charge)
		oaEnumEquals(t, "RefundStatus", doc.schema("RefundStatus"), []string{
			string(billing.RefundPending), string(billing.RefundSucceeded), string(billing.RefundFailed)})
		oaEnumEquals(t, "PaymentMethodStatus", doc.schema("PaymentMethodStatus"), []string{
			string(billing.PMRequiresConfirmation), string(billing.PMActive), string(billing.PMRevoked), string(billing.PMFailed)})
	})

	t.Run("request bodies match the Go structs", func(t *testing.T) {
		for _, c := range []struct {
			path string
			typ  reflect.Type
		}{
			{"/v1/charges", reflect.TypeFor[billing.ChargeParams]()},
			{"/v1/charges/{id}/refunds", reflect.TypeFor[billing.RefundParams]()},
			{"/v1/payment_methods", reflect.TypeFor[billing.PaymentMethodParams]()},
			{"/v1/charges/{id}/confirm", reflect.TypeFor[struct {
				Code string `json:"code"`
			}]()},
			{"/v1/payment_methods/{id}/confirm", reflect.TypeFor[struct {
				Code string `json:"code"`
			}]()},
			{"/v1/charges/{id}/cancel", reflect.TypeFor[struct{}]()},
			{"/v1/subscriptions", reflect.TypeFor[billing.SubscriptionParams]()},
			{"/v1/subscriptions/{id}/confirm", reflect.TypeFor[struct {
				Code string `json:"code"`
			}]()},
			{"/v1/subscriptions/{id}/cancel", reflect.TypeFor[struct{}]()},
		} {
			body := oaObj(doc.op(c.path, "post")["requestBody"])
			s := doc.deref(oaObj(oaObj(oaObj(body["content"])["application/json"])["schema"]))
			if s == nil {
				t.Errorf("POST %s: no application/json request body schema", c.path)
				continue
			}
			if s["additionalProperties"] != false {
				t.Errorf("POST %s: request schema must say additionalProperties: false (unknown fields are 400)", c.path)
			}
			props := oaObj(s["properties"])
			want := map[string]bool{}
			for i := 0; i < c.typ.NumField(); i++ {
				f := c.typ.Field(i)
				if !f.IsExported() {
					continue // billing's own, never decoded from a body
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				want[name] = true
				p := doc.deref(oaObj(props[name]))
				if p == nil {
					t.Errorf("POST %s: field %q is not in the request schema", c.path, name)
					continue
				}
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				switch ft.Kind() {
				case reflect.Int64:
					if p["type"] != "integer" || p["format"] != "int64" {
						t.Errorf("POST %s: %q is %v/%v, want integer/int64", c.path, name, p["type"], p["format"])
					}
				case reflect.String:
					if p["type"] != "string" {
						t.Errorf("POST %s: %q is %v, want string", c.path, name, p["type"])
					}
				case reflect.Map:
					if p["type"] != "object" || oaObj(p["additionalProperties"])["type"] != "string" {
						t.Errorf("POST %s: %q must be an object of strings", c.path, name)
					}
				default:
					t.Errorf("POST %s: %q has Go type %s, which this test does not know", c.path, name, ft)
				}
			}
			for name := range props {
				if !want[name] {
					t.Errorf("POST %s: request schema has %q, which the Go struct does not accept", c.path, name)
				}
			}
		}
	})
}

func oaEnumEquals(t *testing.T, name string, s map[string]any, want []string) {
	t.Helper()
	var got []string
	list, _ := s["enum"].([]any)
	for _, v := range list {
		got = append(got, fmt.Sprint(v))
	}
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s enum = %v, the code has %v", name, got, want)
	}
}

// oaConform checks an answer against what the document declares for the
// operation (path is its template, such as /v1/charges/{id}), with the same
// validator g.call runs on every exchange: the status code is listed, the
// Content-Type is one of that response's, and the body fits its schema.
func oaConform(t *testing.T, _ oaDoc, method, path string, r resp) {
	t.Helper()
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	item := c.doc.Paths.Value(path)
	if item == nil || item.GetOperation(strings.ToUpper(method)) == nil {
		t.Errorf("%s %s: not in the document", method, path)
		return
	}
	route := &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: strings.ToUpper(method), Operation: item.GetOperation(strings.ToUpper(method))}
	req, _ := http.NewRequest(method, "http://gateway"+path, nil)
	if err := c.response(route, req, nil, r.Status, r.Header, r.Raw); err != nil {
		t.Errorf("%s %s answered %d, which the document does not allow: %v\n  %s", method, path, r.Status, err, r.Raw)
	}
}

// TestOpenAPISchemasFitRealAnswers drives the gateway through its main flows
// and checks every answer against the document.
func TestOpenAPISchemasFitRealAnswers(t *testing.T) {
	t.Parallel()
	g := start(t, store.SQLite)
	doc := oaFetch(t, g)

	// The light check the document must always pass: a real charge has
	// exactly the Charge schema's properties, a real problem only Problem's.
	ch := g.charge(g.key, krw("+821012345678", 5000, "skt"))
	chargeSchema := doc.schema("Charge")
	props := oaObj(chargeSchema["properties"])
	for k := range ch.Body {
		if _, ok := props[k]; !ok {
			t.Errorf("charge answer has %q, which the Charge schema does not declare", k)
		}
	}
	for _, k := range oaStrings(chargeSchema["required"]) {
		if _, ok := ch.Body[k]; !ok {
			t.Errorf("Charge schema requires %q, which a real charge lacks: %s", k, ch.Raw)
		}
	}
	noKey := g.call("POST", "/v1/charges", g.key, "", krw("+821012345678", 5000, "skt"))
	if noKey.Status != 400 || noKey.str("code") != "idempotency_key_required" {
		t.Fatalf("POST /v1/charges without Idempotency-Key: %d %s", noKey.Status, noKey.Raw)
	}
	problemSchema := doc.schema("Problem")
	for k := range noKey.Body {
		if _, ok := oaObj(problemSchema["properties"])[k]; !ok {
			t.Errorf("problem answer has %q, which the Problem schema does not declare", k)
		}
	}
	for _, k := range oaStrings(problemSchema["required"]) {
		if _, ok := noKey.Body[k]; !ok {
			t.Errorf("Problem schema requires %q, which a real problem lacks: %s", k, noKey.Raw)
		}
	}
	oaConform(t, doc, "POST", "/v1/charges", ch)
	oaConform(t, doc, "POST", "/v1/charges", noKey)

	id := ch.str("id")
	oaConform(t, doc, "GET", "/v1/charges/{id}", g.call("GET", "/v1/charges/"+id, g.key, "", nil))
	oaConform(t, doc, "GET", "/v1/charges/{id}", g.call("GET", "/v1/charges/"+id, g.other, "", nil)) // 404
	oaConform(t, doc, "GET", "/v1/charges", g.call("GET", "/v1/charges?limit=5&status=requires_confirmation", g.key, "", nil))
	oaConform(t, doc, "GET", "/v1/charges", g.call("GET", "/v1/charges?limit=500", g.key, "", nil)) // 400
	oaConform(t, doc, "GET", "/v1/charges", g.call("GET", "/v1/charges?colour=red", g.key, "", nil))

	// A wrong code: 422 with attempts_remaining; then cancel.
	code := g.smsCode("+821012345678")
	oaConform(t, doc, "GET", "/v1/test_helpers/sms", g.call("GET", "/v1/test_helpers/sms?msisdn=%2B821012345678", g.key, "", nil))
	oaConform(t, doc, "GET", "/v1/test_helpers/sms", g.call("GET", "/v1/test_helpers/sms?msisdn=nope", g.key, "", nil)) // 400
	oaConform(t, doc, "POST", "/v1/test_helpers/clock/advance", g.call("POST", "/v1/test_helpers/clock/advance", g.admin, "", `{"seconds": 1}`))
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	r := g.call("POST", "/v1/charges/"+id+"/confirm", g.key, "", map[string]string{"code": wrong})
	if r.Status != 422 || r.str("code") != "invalid_confirmation_code" {
		t.Errorf("wrong code: %d %s", r.Status, r.Raw)
	}
	oaConform(t, doc, "POST", "/v1/charges/{id}/confirm", r)
	oaConform(t, doc, "POST", "/v1/charges/{id}/cancel", g.call("POST", "/v1/charges/"+id+"/cancel", g.key, newIdem(), nil))
	oaConform(t, doc, "POST", "/v1/charges/{id}/cancel", g.call("POST", "/v1/charges/"+id+"/cancel", g.key, "", nil)) // 409

	// A declined charge carries failure_code and carrier_decline_code.
	declined := g.paid(g.key, "+821012340002", 5000, "skt")
	if declined.str("status") != "failed" {
		t.Errorf("0002 charge: %s", declined.Raw)
	}
	oaConform(t, doc, "POST", "/v1/charges/{id}/confirm", declined)

	// A paid charge, refunded in part, then too much.
	paid := g.paid(g.key, "+821099990001", 5000, "skt")
	if paid.str("status") != "succeeded" {
		t.Fatalf("paid charge: %d %s", paid.Status, paid.Raw)
	}
	oaConform(t, doc, "POST", "/v1/charges/{id}/confirm", paid)
	pid := paid.str("id")
	rf := g.call("POST", "/v1/charges/"+pid+"/refunds", g.key, newIdem(), map[string]any{"amount": 2000, "reason": "test"})
	if rf.Status != 201 {
		t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
	}
	oaConform(t, doc, "POST", "/v1/charges/{id}/refunds", rf)
	over := g.call("POST", "/v1/charges/"+pid+"/refunds", g.key, newIdem(), map[string]any{"amount": 999999})
	if over.Status != 422 || over.str("code") != "refund_exceeds_charge" {
		t.Errorf("refund too large: %d %s", over.Status, over.Raw)
	}
	oaConform(t, doc, "POST", "/v1/charges/{id}/refunds", over)
	oaConform(t, doc, "GET", "/v1/charges/{id}/refunds", g.call("GET", "/v1/charges/"+pid+"/refunds", g.key, "", nil))
	oaConform(t, doc, "GET", "/v1/charges/{id}/refunds/{refund}", g.call("GET", "/v1/charges/"+pid+"/refunds/"+rf.str("id"), g.key, "", nil))
	oaConform(t, doc, "GET", "/v1/charges/{id}", g.call("GET", "/v1/charges/"+pid, g.key, "", nil))

	// A payment method: opt in, confirm, charge one-tap, revoke.
	pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]string{"msisdn": "+821055550001", "carrier": "skt"})
	if pm.Status != 201 {
		t.Fatalf("payment method: %d %s", pm.Status, pm.Raw)
	}
	oaConform(t, doc, "POST", "/v1/payment_methods", pm)
	pmID := pm.str("id")
	active := g.call("POST", "/v1/payment_methods/"+pmID+"/confirm", g.key, "", map[string]string{"code": g.smsCode("+821055550001")})
	if active.str("status") != "active" {
		t.Fatalf("confirm payment method: %d %s", active.Status, active.Raw)
	}
	oaConform(t, doc, "POST", "/v1/payment_methods/{id}/confirm", active)
	oaConform(t, doc, "POST", "/v1/payment_methods/{id}/confirm", g.call("POST", "/v1/payment_methods/"+pmID+"/confirm", g.key, "", map[string]string{"code": "123456"})) // 409
	oaConform(t, doc, "GET", "/v1/payment_methods/{id}", g.call("GET", "/v1/payment_methods/"+pmID, g.key, "", nil))
	oneTap := g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pmID})
	if oneTap.Status != 201 || oneTap.str("payment_method") != pmID {
		t.Errorf("one-tap charge: %d %s", oneTap.Status, oneTap.Raw)
	}
	oaConform(t, doc, "POST", "/v1/charges", oneTap)
	oaConform(t, doc, "DELETE", "/v1/payment_methods/{id}", g.call("DELETE", "/v1/payment_methods/"+pmID, g.key, "", nil))

	oaConform(t, doc, "GET", "/v1/carriers", g.call("GET", "/v1/carriers", g.key, "", nil))
	oaConform(t, doc, "GET", "/healthz", g.call("GET", "/healthz", "", "", nil))
	oaConform(t, doc, "GET", "/readyz", g.call("GET", "/readyz", "", "", nil))
	oaConform(t, doc, "GET", "/metrics", g.call("GET", "/metrics", "", "", nil))
	oaConform(t, doc, "GET", "/openapi.json", g.call("GET", "/openapi.json", "", "", nil))
}

// TestOpenAPISecurityAndIdempotencyMatchTheServer probes every documented
// operation: without a key, with each role's key, and (POSTs) without an
// Idempotency-Key, and checks the answers against the document.
func TestOpenAPISecurityAndIdempotencyMatchTheServer(t *testing.T) {
	t.Parallel()
	g := start(t, store.SQLite)
	doc := oaFetch(t, g)
	finance, admin := g.roleKey(auth.RoleFinance), g.roleKey(auth.RoleAdmin)
	tmpl := regexp.MustCompile(`\{[^}]+\}`)
	ops := doc.operations()
	var names []string
	for k := range ops {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		op := ops[k]
		path, method, _ := strings.Cut(k, " ")
		url := tmpl.ReplaceAllString(path, "nope")
		M := strings.ToUpper(method)
		var body any
		if method == "post" {
			body = "{}"
		}
		rs := oaRoles(op)

		r := g.call(M, url, "", "", body)
		oaConform(t, doc, M, path, r)
		if len(rs) > 0 && r.Status != 401 {
			t.Errorf("%s without a key: %d, want 401 (the document says it needs %v)", k, r.Status, rs)
		}
		if len(rs) == 0 && (r.Status == 401 || r.Status == 403) {
			t.Errorf("%s without a key: %d, but the document says it needs none", k, r.Status)
		}
		if len(rs) == 0 {
			continue
		}
		for _, c := range []struct {
			role string
			key  string
		}{{"merchant", g.key}, {"finance", finance}, {"admin", admin}} {
			r := g.call(M, url, c.key, newIdem(), body)
			oaConform(t, doc, M, path, r)
			if admitted := slices.Contains(rs, c.role); admitted == (r.Status == 403) {
				t.Errorf("%s with a %s key: %d %s; the document admits %v", k, c.role, r.Status, r.Raw, rs)
			}
		}
		if method != "post" {
			continue
		}
		var idem map[string]any
		for _, p := range doc.parameters(path, method) {
			if p["in"] == "header" && p["name"] == "Idempotency-Key" {
				idem = p
			}
		}
		// The idempotency middleware is there iff it rejects an overlong key.
		r = g.call(M, url, g.key, strings.Repeat("k", 256), body)
		oaConform(t, doc, M, path, r)
		if got := r.str("code") == "idempotency_key_invalid"; got != (idem != nil) {
			t.Errorf("%s with a 256-character Idempotency-Key: %d %s; the document declares the header: %v", k, r.Status, r.Raw, idem != nil)
		}
		r = g.call(M, url, g.key, "", body)
		oaConform(t, doc, M, path, r)
		if got := r.str("code") == "idempotency_key_required"; got != (idem["required"] == true) {
			t.Errorf("%s without Idempotency-Key: %d %s; the document says required=%v", k, r.Status, r.Raw, idem["required"])
		}
	}
}

func oaStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// The contract checker: github.com/getkin/kin-openapi's openapi3filter
// validates every request the black-box tests send through g.call, and every
// answer, against the embedded /openapi.json (loaded once per test process).
// A request the document refuses must be refused by the server too (a 4xx),
// and every answer must be one the document declares for its operation: the
// status, the Content-Type and the body's schema (JSON Schema 2020-12, as
// OpenAPI 3.1 says). Left out, because they are not the JSON API: the
// simulator (/sim/*), the subscriber's HTML page (/my/*), /metrics, /healthz
// and /readyz.
type oaContract struct {
	doc    *openapi3.T
	router routers.Router
}

var contract = sync.OnceValues(func() (*oaContract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document)
	if err != nil {
		return nil, fmt.Errorf("load /openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("/openapi.json is not a valid OpenAPI document: %w", err)
	}
	closeObjects(doc)
	// Route by path alone: the servers list names where a merchant finds a
	// gateway, not the test gateway's random port.
	doc.Servers = nil
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route /openapi.json: %w", err)
	}
	return &oaContract{doc: doc, router: router}, nil
})

// closeObjects makes the checker stricter than the document: an object
// whose schema lists properties and leaves additionalProperties open (so
// that merchants' clients tolerate fields added later) may carry only those
// properties here, so a field the server adds without documenting it fails
// the test that saw it.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, l := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems} {
			for _, x := range l {
				walk(x)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
}

// oaUnchecked says whether a path is outside the JSON API the document
// describes.
func oaUnchecked(path string) bool {
	p, _, _ := strings.Cut(path, "?")
	for _, prefix := range []string{"/sim/", "/my/", "/docs/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	switch p {
	case "/sim", "/my", "/docs", "/metrics", "/healthz", "/readyz":
		return true
	}
	return false
}

var oaOptions = &openapi3filter.Options{
	MultiError:            true,
	IncludeResponseStatus: true,
	// Who may call what is the server's business, tested against the
	// document's security in TestOpenAPISecurityAndIdempotencyMatchTheServer.
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
}

// check validates one exchange of g.call against the document; what does not
// match fails the calling test.
func (c *oaContract) check(t testing.TB, req *http.Request, body []byte, status int, header http.Header, raw []byte) {
	t.Helper()
	if oaUnchecked(req.URL.Path) {
		return
	}
	what := req.Method + " " + req.URL.RequestURI()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// Outside the document (an unknown path or method): the server must
		// refuse it.
		if status < 400 || status >= 500 {
			t.Errorf("OpenAPI: %s is not in /openapi.json (%v), yet the server answered %d: %s", what, err, status, raw)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: oaOptions}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && (status < 400 || status >= 500) {
		t.Errorf("OpenAPI: /openapi.json refuses the request %s (%v), yet the server answered %d: %s", what, err, status, raw)
	}
	if err := c.response(route, req, params, status, header, raw); err != nil {
		t.Errorf("OpenAPI: %s answered %d, which /openapi.json does not allow: %v\n  %s", what, status, err, raw)
	}
}

func (c *oaContract) response(route *routers.Route, req *http.Request, params map[string]string, status int, header http.Header, raw []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: oaOptions},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(raw)),
		Options:                oaOptions,
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkContract is g.call's hook: the exchange it just made, checked.
func (g *gw) checkContract(method, path string, reqHeader http.Header, body []byte, res *http.Response, raw []byte) {
	g.t.Helper()
	c, err := contract()
	if err != nil {
		g.t.Fatal(err)
	}
	req, err := http.NewRequest(method, "http://gateway"+path, nil)
	if err != nil {
		g.t.Errorf("OpenAPI: %s %s: %v", method, path, err)
		return
	}
	req.Header = reqHeader.Clone()
	c.check(g.t, req, body, res.StatusCode, res.Header, raw)
}

// oaRecorder is a testing.TB that keeps what the contract checker reports.
type oaRecorder struct {
	testing.TB
	errs []string
}

func (r *oaRecorder) Helper() {}
func (r *oaRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestContractCheckerRefusesWhatTheDocumentDoesNot: the checker g.call runs
// passes exchanges the document allows and reports those it does not, so a
// server or document drifting apart fails the test that saw it.
func TestContractCheckerRefusesWhatTheDocumentDoesNot(t *testing.T) {
	t.Parallel()
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	badParam := []byte(`{"type":"https://tollgate.dev/problems/unknown_parameter","title":"Unknown parameter","status":400,"code":"unknown_parameter","detail":"colour is not a parameter","param":"colour"}`)
	for _, c2 := range []struct {
		name         string
		method, path string
		body         string
		status       int
		header       http.Header
		raw          []byte
		wantErr      string // "" when the exchange fits the document
	}{
		{"a bad request refused", "POST", "/v1/charges", `{"colour":"red"}`, 400, problem, badParam, ""},
		{"a bad request accepted", "POST", "/v1/charges", `{"colour":"red"}`, 201, jsonHdr, []byte(`{}`), "refuses the request"},
		{"an unknown path refused", "GET", "/v1/nope", "", 404, problem, []byte(`{"type":"about:blank","title":"Not found","status":404,"code":"not_found"}`), ""},
		{"an unknown path answered", "GET", "/v1/nope", "", 200, jsonHdr, []byte(`{}`), "not in /openapi.json"},
		{"an undeclared status", "GET", "/v1/carriers", "", 418, jsonHdr, []byte(`{}`), "does not allow"},
		{"an undeclared field", "GET", "/v1/carriers", "", 200, jsonHdr, []byte(`{"object":"list","data":[],"has_more":false,"colour":"red"}`), "does not allow"},
		{"a wrong Content-Type", "POST", "/v1/charges", `{"colour":"red"}`, 400, http.Header{"Content-Type": {"text/plain"}}, badParam, "does not allow"},
		{"the simulator is not checked", "GET", "/sim/stats", "", 200, jsonHdr, []byte(`{"anything":1}`), ""},
	} {
		t.Run(c2.name, func(t *testing.T) {
			req, _ := http.NewRequest(c2.method, "http://gateway"+c2.path, nil)
			req.Header.Set("Authorization", "Bearer tg_test_x")
			if c2.body != "" {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "k1")
			}
			rec := &oaRecorder{TB: t}
			c.check(rec, req, []byte(c2.body), c2.status, c2.header, c2.raw)
			got := strings.Join(rec.errs, "\n")
			if c2.wantErr == "" && got != "" {
				t.Errorf("reported an exchange the document allows: %s", got)
			}
			if c2.wantErr != "" && !strings.Contains(got, c2.wantErr) {
				t.Errorf("reported %q, want a report saying %q", got, c2.wantErr)
			}
		})
	}
}
