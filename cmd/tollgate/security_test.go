package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers/sim"
	"tollgate/internal/auth"
	"tollgate/internal/openapi"
	"tollgate/internal/storetest"
)

// opCall is how the security walk calls one operation: a concrete path
// naming the first merchant's objects (when it names any), and a body.
type opCall struct {
	path  string
	body  any
	idem  bool
	owned bool // the path names the first merchant's object: others get 404
}

// documentedOperations lists "METHOD /template" for every operation in
// /openapi.json with the roles its security allows (nil: no key needed).
func documentedOperations(t *testing.T) map[string][]auth.Role {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string][]auth.Role{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			switch method {
			case "get", "post", "put", "patch", "delete":
			default:
				continue
			}
			var op struct {
				Security []map[string][]string `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			var roles []auth.Role
			for _, req := range op.Security {
				for _, scopes := range req {
					for _, s := range scopes {
						roles = append(roles, auth.Role(s))
					}
				}
			}
			ops[strings.ToUpper(method)+" "+path] = roles
		}
	}
	return ops
}

// Every operation of /openapi.json, walked: without a key 401, with a key
// of a role its security does not list 403, with another merchant's key
// (or a live merchant's) on the first merchant's object 404, and nothing
// of the first merchant's in any answer to anyone else. An operation the
// document gains without an entry here fails the test: a new endpoint must
// say how it is reached. Carrier callbacks without a carrier's signature
// are refused for every carrier.
func TestEveryOperationRefusesStrangers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		ctx := context.Background()
		fin := g.roleKey(auth.RoleFinance)
		liveMerchant, err := g.app.billing.CreateMerchant(ctx, "Live shop", true)
		if err != nil {
			t.Fatal(err)
		}
		live, err := g.app.keys.Create(ctx, auth.RoleMerchant, liveMerchant.ID, true)
		if err != nil {
			t.Fatal(err)
		}

		// The first merchant's objects, one of each kind.
		waiting := g.charge(g.key, krw("+821088880011", 1000, "skt")).str("id")
		paid := g.paid(g.key, "+821088880012", 5000, "skt").str("id")
		refund := g.call("POST", "/v1/charges/"+paid+"/refunds", g.key, newIdem(), map[string]any{"amount": 1000}).str("id")
		pendingPM := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": "+821088880013", "carrier": "skt"}).str("id")
		activePM := g.activePaymentMethod(g.key, "+821088880014", "skt")
		sub := g.call("POST", "/v1/subscriptions", g.key, newIdem(), map[string]any{"payment_method": activePM, "amount": 3000, "currency": "KRW", "interval": "month", "description": "Club"})
		if sub.Status != 201 {
			t.Fatalf("subscription: %d %s", sub.Status, sub.Raw)
		}
		rcv := newReceiver(t, 0)
		endpoint := g.endpoint(g.key, rcv)
		prog := g.call("POST", "/v1/cashback_programs", g.key, newIdem(), map[string]any{"rate_bps": 200, "max_per_charge": 500, "min_amount": 1000, "currency": "KRW", "expires_after_days": 90})
		if prog.Status != 201 {
			t.Fatalf("cashback program: %d %s", prog.Status, prog.Raw)
		}
		rr := g.askRefund("+821088880012", paid, "It did not work")
		events := g.call("GET", "/v1/events", g.key, "", nil)
		evs, _ := events.Body["data"].([]any)
		if len(evs) == 0 {
			t.Fatalf("no events: %s", events.Raw)
		}
		event := evs[0].(map[string]any)["id"].(string)
		day := g.clock.Now().In(time.FixedZone("KST", 9*3600)).AddDate(0, 0, -2).Format("2006-01-02")
		run := g.call("POST", "/v1/settlements", fin, "", map[string]any{"carrier": "skt", "business_date": day})
		settlement := run.str("id")
		if settlement == "" {
			t.Fatalf("settlement: %d %s", run.Status, run.Raw)
		}
		ours := []string{waiting, paid, refund, pendingPM, activePM, sub.str("id"), endpoint, prog.str("id"), rr, event}

		calls := map[string]opCall{
			"POST /v1/charges":                       {path: "/v1/charges", body: map[string]any{"amount": 1000, "currency": "KRW", "payment_method": activePM}, idem: true},
			"GET /v1/charges":                        {path: "/v1/charges"},
			"GET /v1/charges/{id}":                   {path: "/v1/charges/" + waiting, owned: true},
			"POST /v1/charges/{id}/confirm":          {path: "/v1/charges/" + waiting + "/confirm", body: map[string]string{"code": "123456"}, owned: true},
			"POST /v1/charges/{id}/cancel":           {path: "/v1/charges/" + waiting + "/cancel", owned: true},
			"POST /v1/charges/{id}/refunds":          {path: "/v1/charges/" + paid + "/refunds", body: map[string]any{"amount": 100}, idem: true, owned: true},
			"GET /v1/charges/{id}/refunds":           {path: "/v1/charges/" + paid + "/refunds", owned: true},
			"GET /v1/charges/{id}/refunds/{refund}":  {path: "/v1/charges/" + paid + "/refunds/" + refund, owned: true},
			"POST /v1/payment_methods":               {path: "/v1/payment_methods", body: map[string]any{}, idem: true},
			"GET /v1/payment_methods/{id}":           {path: "/v1/payment_methods/" + activePM, owned: true},
			"DELETE /v1/payment_methods/{id}":        {path: "/v1/payment_methods/" + activePM, owned: true},
			"POST /v1/payment_methods/{id}/confirm":  {path: "/v1/payment_methods/" + pendingPM + "/confirm", body: map[string]string{"code": "123456"}, owned: true},
			"GET /v1/carriers":                       {path: "/v1/carriers"},
			"POST /v1/webhook_endpoints":             {path: "/v1/webhook_endpoints", body: map[string]any{}},
			"GET /v1/webhook_endpoints":              {path: "/v1/webhook_endpoints"},
			"GET /v1/webhook_endpoints/{id}":         {path: "/v1/webhook_endpoints/" + endpoint, owned: true},
			"DELETE /v1/webhook_endpoints/{id}":      {path: "/v1/webhook_endpoints/" + endpoint, owned: true},
			"GET /v1/events":                         {path: "/v1/events"},
			"GET /v1/events/{id}":                    {path: "/v1/events/" + event, owned: true},
			"POST /v1/events/{id}/redeliver":         {path: "/v1/events/" + event + "/redeliver", owned: true},
			"POST /v1/test_helpers/clock/advance":    {path: "/v1/test_helpers/clock/advance", body: map[string]any{"seconds": 1}},
			"GET /v1/test_helpers/sms":               {path: "/v1/test_helpers/sms?msisdn=%2B821088880011"},
			"POST /v1/settlements":                   {path: "/v1/settlements", body: map[string]any{"carrier": "skt", "business_date": day}},
			"GET /v1/settlements":                    {path: "/v1/settlements?business_date=" + day},
			"GET /v1/settlements/{id}":               {path: "/v1/settlements/" + settlement},
			"GET /v1/settlements/{id}/discrepancies": {path: "/v1/settlements/" + settlement + "/discrepancies"},
			"GET /v1/settlements/{id}/statements":    {path: "/v1/settlements/" + settlement + "/statements"},
			"GET /v1/risk/reviews":                   {path: "/v1/risk/reviews"},
			"POST /v1/risk/clearances":               {path: "/v1/risk/clearances", body: map[string]any{}},
			"POST /v1/subscriptions":                 {path: "/v1/subscriptions", body: map[string]any{"payment_method": activePM, "amount": 3000, "currency": "KRW", "interval": "month"}, idem: true},
			"GET /v1/subscriptions":                  {path: "/v1/subscriptions"},
			"GET /v1/subscriptions/{id}":             {path: "/v1/subscriptions/" + sub.str("id"), owned: true},
			"POST /v1/subscriptions/{id}/confirm":    {path: "/v1/subscriptions/" + sub.str("id") + "/confirm", body: map[string]string{"code": "123456"}, owned: true},
			"POST /v1/subscriptions/{id}/cancel":     {path: "/v1/subscriptions/" + sub.str("id") + "/cancel", owned: true},
			"GET /v1/refund_requests":                {path: "/v1/refund_requests"},
			"GET /v1/refund_requests/{id}":           {path: "/v1/refund_requests/" + rr, owned: true},
			"POST /v1/refund_requests/{id}/approve":  {path: "/v1/refund_requests/" + rr + "/approve", idem: true, owned: true},
			"POST /v1/refund_requests/{id}/decline":  {path: "/v1/refund_requests/" + rr + "/decline", body: map[string]string{"reason": "no"}, owned: true},
			"POST /v1/refund_request_settings":       {path: "/v1/refund_request_settings", body: map[string]any{"currency": "KRW", "auto_approve_below": 1}},
			"GET /v1/refund_request_settings":        {path: "/v1/refund_request_settings"},
			"POST /v1/cashback_programs":             {path: "/v1/cashback_programs", body: map[string]any{}},
			"GET /v1/cashback_programs":              {path: "/v1/cashback_programs"},
			"GET /v1/cashback_programs/{id}":         {path: "/v1/cashback_programs/" + prog.str("id"), owned: true},
			"POST /v1/cashback_programs/{id}/end":    {path: "/v1/cashback_programs/" + prog.str("id") + "/end", owned: true},
			"GET /healthz":                           {path: "/healthz"},
			"GET /readyz":                            {path: "/readyz"},
			"GET /metrics":                           {path: "/metrics"},
			"GET /openapi.json":                      {path: "/openapi.json"},
			"POST /v1/carriers/{carrier}/webhooks":   {path: "/v1/carriers/skt/webhooks", body: map[string]any{}},
		}
		ops := documentedOperations(t)
		var names []string
		for name := range ops {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if _, ok := calls[name]; !ok {
				t.Errorf("%s is in /openapi.json but not in this walk: add how it is called and who may", name)
			}
		}
		for name := range calls {
			if _, ok := ops[name]; !ok {
				t.Errorf("%s is walked but not in /openapi.json", name)
			}
		}

		keys := map[auth.Role]string{auth.RoleMerchant: g.key, auth.RoleFinance: fin, auth.RoleAdmin: g.admin}
		leaks := func(who, name string, c opCall, r resp) {
			t.Helper()
			sent, _ := json.Marshal(c.body)
			for _, id := range ours {
				if strings.Contains(string(r.Raw), id) && !strings.Contains(string(sent), id) && !strings.Contains(c.path, id) {
					t.Errorf("%s with %s: the answer holds the first merchant's %s: %s", name, who, id, r.Raw)
				}
			}
		}
		walked := 0
		for _, name := range names {
			c, ok := calls[name]
			if !ok {
				continue
			}
			method := strings.SplitN(name, " ", 2)[0]
			roles := ops[name]
			idem := func() string {
				if c.idem {
					return newIdem()
				}
				return ""
			}
			if len(roles) == 0 { // public: nothing of anyone's in the answer
				r := g.call(method, c.path, "", idem(), c.body)
				if r.Status >= 200 && r.Status < 300 && strings.Contains(name, "webhooks") {
					t.Errorf("%s: an unsigned carrier callback was accepted: %d %s", name, r.Status, r.Raw)
				}
				leaks("no key", name, c, r)
				continue
			}
			walked++
			if r := g.call(method, c.path, "", idem(), c.body); r.Status != http.StatusUnauthorized || r.str("code") != "unauthorized" {
				t.Errorf("%s without a key: %d %s", name, r.Status, r.Raw)
			}
			if r := g.call(method, c.path, "tg_test_notakey0000000000000000000000", idem(), c.body); r.Status != http.StatusUnauthorized {
				t.Errorf("%s with an unknown key: %d %s", name, r.Status, r.Raw)
			}
			for _, role := range []auth.Role{auth.RoleMerchant, auth.RoleFinance, auth.RoleAdmin} {
				if slices.Contains(roles, role) {
					continue
				}
				if r := g.call(method, c.path, keys[role], idem(), c.body); r.Status != http.StatusForbidden || r.str("code") != "forbidden" {
					t.Errorf("%s with a %s key (allowed: %v): %d %s", name, role, roles, r.Status, r.Raw)
				}
			}
			if !slices.Contains(roles, auth.RoleMerchant) {
				continue
			}
			for who, key := range map[string]string{"another merchant's key": g.other, "a live merchant's key": live} {
				r := g.call(method, c.path, key, idem(), c.body)
				if c.owned && (r.Status != http.StatusNotFound || r.str("code") != "not_found") {
					t.Errorf("%s with %s on the first merchant's object: %d %s", name, who, r.Status, r.Raw)
				}
				leaks(who, name, c, r)
			}
		}
		if walked < 40 {
			t.Fatalf("only %d operations walked", walked)
		}

		// Carrier callbacks with no carrier's signature: refused everywhere.
		for _, carrier := range []string{"skt", "kt", "lgu", "vodafone"} {
			r := g.call("POST", "/v1/carriers/"+carrier+"/webhooks", "", "", `{"message_id":"m1","reference":"`+waiting+`","status":"failed"}`)
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusNotFound {
				t.Errorf("an unsigned callback to %s: %d %s", carrier, r.Status, r.Raw)
			}
		}

		// Nothing of the first merchant's moved.
		for path, want := range map[string]string{
			"/v1/charges/" + waiting:                     "requires_confirmation",
			"/v1/payment_methods/" + activePM:            "active",
			"/v1/payment_methods/" + pendingPM:           "requires_confirmation",
			"/v1/subscriptions/" + sub.str("id"):         "requires_confirmation",
			"/v1/refund_requests/" + rr:                  "pending",
			"/v1/cashback_programs/" + prog.str("id"):    "active",
			"/v1/charges/" + paid + "/refunds/" + refund: "succeeded",
		} {
			if r := g.call("GET", path, g.key, "", nil); r.str("status") != want {
				t.Errorf("%s changed under strangers: %d %s (want %s)", path, r.Status, r.Raw, want)
			}
		}
		if r := g.call("GET", "/v1/charges/"+paid, g.key, "", nil); r.num("refunded_amount") != 1000 {
			t.Errorf("the paid charge changed under strangers: %s", r.Raw)
		}
		if r := g.call("GET", "/v1/webhook_endpoints/"+endpoint, g.key, "", nil); r.Status != 200 {
			t.Errorf("the endpoint is gone: %d %s", r.Status, r.Raw)
		}
	})
}

// A genuine CAMARA notification replayed (twenty copies at once, then one
// with its result turned into a denial under the same sink token, then one
// without the token) changes nothing: acknowledged, recorded once, the
// charge succeeded and posted once; the altered and unsigned ones refused
// or harmless. The token-and-callback protocol's forgeries and replays are
// TestCarrierCallbacksAreVerifiedAndAppliedOnce's; OneAPI sends none.
func TestReplayedCAMARANotificationsAreHarmless(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			// The simulated operator apart, behind a recorder: the test
			// learns the sink token the gateway gave it for the charge.
			_, simOpts := shippedSim(t)
			operator := &carrierRecorder{next: sim.New(simOpts).Handler()}
			simSrv := httptest.NewServer(operator)
			t.Cleanup(simSrv.Close)
			g := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: simSrv.URL + "/sim"})
			// 0005: accepted, the result comes later by the carrier's notification.
			ch := g.paid(g.key, "+821077100005", 1000, "skt")
			id := ch.str("id")
			g.waitStatus(g.key, id, "succeeded")
			var body []byte
			eventually(t, 20*time.Second, func() (bool, string) {
				err := g.store.DB.Raw("SELECT body FROM carrier_messages WHERE carrier = 'skt' AND client_reference = ?", id).Row().Scan(&body)
				return err == nil && len(body) > 0, fmt.Sprintf("no notification recorded for the charge: %v", err)
			})
			var token string
			operator.mu.Lock()
			for _, b := range operator.bodies {
				if m := sinkTokenField.FindSubmatch(b); m != nil && bytes.Contains(b, []byte(id)) {
					token = string(m[1])
				}
			}
			operator.mu.Unlock()
			if token == "" {
				t.Fatal("the gateway gave the operator no sink token for the charge")
			}
			genuine := struct {
				path   string
				header http.Header
				body   []byte
			}{"/v1/carriers/skt/webhooks", http.Header{"Content-Type": {"application/cloudevents+json"}, "Authorization": {"Bearer " + token}}, body}
			post := func(body []byte, h http.Header) int {
				req, _ := http.NewRequest("POST", g.base+genuine.path, bytes.NewReader(body))
				req.Header = h.Clone()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return 0
				}
				res.Body.Close()
				return res.StatusCode
			}
			var wg sync.WaitGroup
			codes := make([]int, 20)
			for i := range codes {
				wg.Add(1)
				go func() { defer wg.Done(); codes[i] = post(genuine.body, genuine.header) }()
			}
			wg.Wait()
			for _, c := range codes {
				if c < 200 || c > 299 {
					t.Fatalf("a replayed genuine notification was answered %d", c)
				}
			}
			denial := bytes.Replace(genuine.body, []byte(`"succeeded"`), []byte(`"failed"`), 1)
			denial = bytes.Replace(denial, []byte("payment-succeeded"), []byte("payment-denied"), 1)
			if c := post(denial, genuine.header); c >= 500 {
				t.Fatalf("a denial replayed under the charge's token: %d", c)
			}
			unsigned := genuine.header.Clone()
			unsigned.Del("Authorization")
			if c := post(genuine.body, unsigned); c != http.StatusUnauthorized {
				t.Fatalf("the notification without its token: %d, want 401", c)
			}
			if r := g.call("GET", "/v1/charges/"+id, g.key, "", nil); r.str("status") != "succeeded" {
				t.Fatalf("replays moved the charge: %s", r.Raw)
			}
			var entries, msgs int64
			g.store.DB.Raw("SELECT COUNT(*) FROM ledger_entries WHERE charge_id = ?", id).Scan(&entries)
			g.store.DB.Raw("SELECT COUNT(*) FROM carrier_messages WHERE carrier = 'skt' AND client_reference = ?", id).Scan(&msgs)
			if entries != 2 || msgs != 1 {
				t.Fatalf("%d ledger entries and %d carrier messages for one charge, want 2 and 1", entries, msgs)
			}
			g.assertBilledOnce("skt")
			g.assertLedgerBalances()
		})
	}
}
