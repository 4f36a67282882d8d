package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tollgate/internal/problem"
)

// A problem's type, resolved against the URL that answered it as RFC 9457
// says, opens the code's entry in the error reference on the same gateway.
func TestProblemTypesResolveOnTheGateway(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		cases := []struct {
			method, path, key string
			body              any
			code              string
		}{
			{"GET", "/v1/charges/ch_missing", g.key, nil, problem.CodeNotFound},
			{"GET", "/v1/charges", "", nil, problem.CodeUnauthorized},
			{"POST", "/v1/charges", g.key, map[string]any{"amount": 1000, "currency": "KRW", "msisdn": "+8210"}, problem.CodeInvalidMSISDN},
		}
		for _, c := range cases {
			r := g.call(c.method, c.path, c.key, newIdem(), c.body)
			if r.str("code") != c.code || r.str("type") != problem.TypeBase+c.code {
				t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Raw)
			}
			answered, _ := url.Parse(g.base + c.path)
			typ, err := url.Parse(r.str("type"))
			if err != nil {
				t.Fatal(err)
			}
			target := answered.ResolveReference(typ)
			if target.Host != answered.Host {
				t.Fatalf("type %s resolves to another host: %s", r.str("type"), target)
			}
			res, err := http.Get(target.String())
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(page), "<code>"+c.code+"</code>") || !strings.Contains(string(page), "Retry with the same Idempotency-Key") {
				t.Errorf("GET %s: %d %s", target, res.StatusCode, res.Header.Get("Content-Type"))
			}
		}
		// The docs need no key, and say so to no script.
		res, err := http.Get(g.base + "/docs")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'none'") {
			t.Errorf("GET /docs: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
		if r := g.call("POST", "/docs", "", "", nil); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("POST /docs: %d", r.Status)
		}
	})
}
