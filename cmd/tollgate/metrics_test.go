package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"tollgate/configs"
)

// metricFamilies reads the families /metrics lists (its # TYPE lines).
func metricFamilies(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}

// seriesName is a tollgate series named in a PromQL expression.
var seriesName = regexp.MustCompile(`\btollgate_[a-z0-9_]+`)

// known says whether name is a family /metrics shows, or a histogram's
// _bucket, _sum or _count series.
func known(families map[string]string, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] == "histogram" {
			return true
		}
	}
	return false
}

// TestBusinessMetricsAfterAShortLoad: after a few charges (a success, a
// carrier decline, a carrier that answers 503 once and is retried, a number
// over its charge limit), /metrics shows the business series with those
// counts, no phone number in any label, and every query of the Grafana
// dashboard and of the alert rules in deploy/ names a series it shows. The
// request log names the merchant and the request id of an authenticated
// request, and no merchant for an anonymous one.
func TestBusinessMetricsAfterAShortLoad(t *testing.T) {
	eachStoreWith(t, func(c *configs.Config) { c.RateLimits.ChargesPerNumber = "2/1h" }, func(t *testing.T, g *gw) {
		if r := g.paid(g.key, "+821099990001", 5000, "skt"); r.str("status") != "succeeded" {
			t.Fatalf("charge: %s", r.Raw)
		}
		if r := g.paid(g.key, "+821012340002", 5000, "kt"); r.str("failure_code") != "insufficient_balance" {
			t.Fatalf("declined charge: %s", r.Raw)
		}
		if r := g.paid(g.key, "+821012340007", 5000, "skt"); r.str("status") != "succeeded" {
			t.Fatalf("charge retried after a 503: %s", r.Raw)
		}
		g.charge(g.key, krw("+821077770001", 1000, "lgu"))
		g.charge(g.key, krw("+821077770001", 1000, "lgu"))
		if r := g.call("POST", "/v1/charges", g.key, newIdem(), krw("+821077770001", 1000, "lgu")); r.Status != 429 || r.str("code") != "rate_limited" {
			t.Fatalf("third charge on one number within the limit's hour: %d %s", r.Status, r.Raw)
		}

		m := g.call("GET", "/metrics", "", "", nil)
		text := string(m.Raw)
		if m.Status != 200 {
			t.Fatalf("GET /metrics: %d", m.Status)
		}
		for _, want := range []string{
			`tollgate_charges{carrier="skt",failure_code="",mode="test",status="succeeded"} 2`,
			`tollgate_charges{carrier="kt",failure_code="insufficient_balance",mode="test",status="failed"} 1`,
			`tollgate_charges{carrier="lgu",failure_code="",mode="test",status="requires_confirmation"} 2`,
			`tollgate_declines_total{code="rate_limited",reason="rate_limit"} 1`,
			`tollgate_declines_total{code="risk_declined",reason="risk"} 0`,
			`tollgate_carrier_breaker_transitions_total{carrier="skt",to="unavailable"} 0`,
			`tollgate_charges_unwatched 0`,
			`tollgate_webhook_backlog `,
			`tollgate_webhook_oldest_pending_age_seconds `,
			`tollgate_jobs{queue="default",state="available"}`,
			`tollgate_settlement_discrepancies{carrier="skt",kind="amount_mismatch"} 0`,
			`tollgate_carrier_request_duration_seconds_bucket{carrier="skt",operation="POST /carrier-billing/v0.5/payments/{id}/confirm",result="2xx"`,
			`tollgate_carrier_retries_total{carrier="skt",`,
		} {
			if !strings.Contains(text, want) {
				family, _, _ := strings.Cut(want, "{")
				t.Errorf("/metrics lacks %s; it has:\n%s", want, grepLines(text, family))
			}
		}
		// One request at a time: every coalesced statement served one call.
		for _, name := range []string{"idempotency_claim", "idempotency_answer"} {
			batches := regexp.MustCompile(`tollgate_batches_total\{batch="` + name + `"\} (\d+)`).FindStringSubmatch(text)
			calls := regexp.MustCompile(`tollgate_batched_calls_total\{batch="` + name + `"\} (\d+)`).FindStringSubmatch(text)
			if batches == nil || calls == nil || batches[1] != calls[1] || batches[1] == "0" {
				t.Errorf("%s: batches %v, calls %v; want as many of each as requests with a key", name, batches, calls)
			}
		}
		// The numbers themselves (national digits too), not a prefix such
		// as "8210", which a float in a histogram's sum can hold.
		for _, leak := range []string{"1099990001", "1012340002", "1012340007", "1077770001", "tel:", "+82"} {
			if strings.Contains(text, leak) {
				t.Errorf("/metrics shows %q: a phone number in a label", leak)
			}
		}
		families := metricFamilies(t, text)

		raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "tollgate.json"))
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Title  string `json:"title"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatalf("the Grafana dashboard is not valid JSON: %v", err)
		}
		if dash.Title == "" || len(dash.Panels) < 10 {
			t.Fatalf("the dashboard has title %q and %d panels", dash.Title, len(dash.Panels))
		}
		for _, p := range dash.Panels {
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				names := seriesName.FindAllString(q.Expr, -1)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no tollgate series", p.Title, q.Expr)
				}
				for _, n := range names {
					if !known(families, n) {
						t.Errorf("panel %q: %s is not on /metrics", p.Title, n)
					}
				}
			}
		}

		raw, err = os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
					Expr  string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &rules); err != nil || len(rules.Groups) == 0 {
			t.Fatalf("the alert rules do not parse: %v", err)
		}
		for _, gr := range rules.Groups {
			for _, r := range gr.Rules {
				names := seriesName.FindAllString(r.Expr, -1)
				if r.Alert == "" || len(names) == 0 {
					t.Errorf("rule %q: expression %q names no tollgate series", r.Alert, r.Expr)
				}
				for _, n := range names {
					if !known(families, n) {
						t.Errorf("alert %s: %s is not on /metrics", r.Alert, n)
					}
				}
			}
		}

		// The request log: merchant and request id when authenticated.
		g.call("GET", "/healthz", "", "", nil)
		var merchantLine, anonLine bool
		for _, line := range strings.Split(g.logs.String(), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) != nil || l["msg"] != "request" {
				continue
			}
			id, _ := l["request_id"].(string)
			switch l["route"] {
			case "/v1/charges":
				mer, _ := l["merchant_id"].(string)
				merchantLine = merchantLine || (strings.HasPrefix(mer, "mer_") && id != "")
			case "/healthz":
				_, named := l["merchant_id"]
				anonLine = anonLine || (!named && id != "")
			}
		}
		if !merchantLine || !anonLine {
			t.Errorf("request logs: a charge's names its merchant and request id: %v; /healthz's names a request id and no merchant: %v", merchantLine, anonLine)
		}
	})
}
