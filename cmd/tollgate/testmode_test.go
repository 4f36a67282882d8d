package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"tollgate/configs"
	"tollgate/internal/auth"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// Issue 9 item 5: test mode is shared by every test merchant of a gateway,
// so what shows or changes everyone's (the simulator's inbox, faults,
// books and counters; the clock) takes an admin key, and a merchant reads
// only the texts about its own payments.

// testSMS reads GET /v1/test_helpers/sms for msisdn with key.
func (g *gw) testSMS(key, msisdn string) (resp, []map[string]any) {
	g.t.Helper()
	r := g.call("GET", "/v1/test_helpers/sms?msisdn="+url.QueryEscape(msisdn), key, "", nil)
	var out []map[string]any
	data, _ := r.Body["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any))
	}
	return r, out
}

func references(msgs []map[string]any) []string {
	var out []string
	for _, m := range msgs {
		s, _ := m["reference"].(string)
		out = append(out, s)
	}
	return out
}

// Two merchants text the same subscriber: each reads only its own codes,
// whoever sent them (the gateway through kt, skt's own 2-step code, lgu's
// PIN), and each code confirms its own charge.
func TestTestSMSShowsEachMerchantOnlyItsOwnTexts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		const shared, twoStep, pin = "+821044440001", "+821044440002", "+821044440003"
		a := g.charge(g.key, krw(shared, 1000, "kt")).str("id")
		b := g.charge(g.other, krw(shared, 2000, "kt")).str("id")
		bPM := g.call("POST", "/v1/payment_methods", g.other, newIdem(), map[string]any{"msisdn": shared, "carrier": "kt"})
		if bPM.Status != http.StatusCreated {
			t.Fatalf("payment method: %d %s", bPM.Status, bPM.Raw)
		}
		a2 := g.charge(g.key, krw(twoStep, 1000, "skt")).str("id")
		b2 := g.charge(g.other, krw(twoStep, 1000, "skt")).str("id")
		b3 := g.charge(g.other, krw(pin, 1000, "lgu")).str("id")

		for _, c := range []struct {
			key, msisdn string
			want        []string // references, newest first
		}{
			{g.key, shared, []string{a}},
			{g.other, shared, []string{bPM.str("id"), b}},
			{g.key, twoStep, []string{a2}},
			{g.other, twoStep, []string{b2}},
			{g.key, pin, nil},
			{g.other, pin, []string{b3}},
		} {
			r, msgs := g.testSMS(c.key, c.msisdn)
			if r.Status != http.StatusOK || strings.Join(references(msgs), ",") != strings.Join(c.want, ",") {
				t.Errorf("%s as %s: %d, references %v, want %v: %s", c.msisdn, c.key[:12], r.Status, references(msgs), c.want, r.Raw)
			}
			for _, m := range msgs {
				if m["code"] == "" || m["msisdn_masked"] != "+82 10-****-"+c.msisdn[len(c.msisdn)-4:] {
					t.Errorf("%s: message %v", c.msisdn, m)
				}
			}
			if strings.Contains(string(r.Raw), c.msisdn[1:]) {
				t.Errorf("the answer holds the number in clear: %s", r.Raw)
			}
		}
		// An unescaped '+' arrives as a space and is read as one.
		if r := g.call("GET", "/v1/test_helpers/sms?msisdn=+821044440001", g.key, "", nil); r.Status != 200 || !strings.Contains(string(r.Raw), a) {
			t.Errorf("unescaped +: %d %s", r.Status, r.Raw)
		}
		// The code a merchant reads about its charge is that charge's.
		for _, c := range []struct{ key, id string }{{g.key, a}, {g.other, b}} {
			_, msgs := g.testSMS(c.key, shared)
			code := ""
			for _, m := range msgs {
				if m["reference"] == c.id {
					code, _ = m["code"].(string)
				}
			}
			r := g.call("POST", "/v1/charges/"+c.id+"/confirm", c.key, "", map[string]string{"code": code})
			if r.str("status") != "succeeded" {
				t.Errorf("confirm %s with the code its merchant read: %d %s", c.id, r.Status, r.Raw)
			}
		}

		ctx := context.Background()
		live, err := g.app.billing.CreateMerchant(ctx, "Live Shop", true)
		if err != nil {
			t.Fatal(err)
		}
		liveKey, err := g.app.keys.Create(ctx, auth.RoleMerchant, live.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, key, query string
			status           int
		}{
			{"no key", "", "?msisdn=%2B821044440001", 401},
			{"finance key", g.roleKey(auth.RoleFinance), "?msisdn=%2B821044440001", 403},
			{"admin key", g.admin, "?msisdn=%2B821044440001", 403},
			{"live key", liveKey, "?msisdn=%2B821044440001", 403},
			{"no msisdn", g.key, "", 400},
			{"bad msisdn", g.key, "?msisdn=12ab", 400},
		} {
			r := g.call("GET", "/v1/test_helpers/sms"+c.query, c.key, "", nil)
			if r.Status != c.status || (c.status == 400 && r.str("param") != "msisdn") {
				t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Raw, c.status)
			}
		}
		if strings.Contains(g.logs.String(), "821044440001") {
			t.Error("the logs hold the number in clear")
		}
	})
}

// The simulator's own endpoints show or change what every merchant shares:
// no key is 401, a merchant's is 403, an admin's works. The carriers' side
// (the settlement files the gateway fetches) stays open.
func TestSimControlsTakeAnAdminKey(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		g.charge(g.key, krw("+821044440011", 1000, "kt"))
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/sim/sms?msisdn=%2B821044440011", nil},
			{"GET", "/sim/sms", nil},
			{"GET", "/sim/%73ms", nil}, // the same endpoint, spelled otherwise
			{"GET", "/sim/faults", nil},
			{"PUT", "/sim/faults", `{"carrier": "*", "latency_ms": 0}`},
			{"GET", "/sim/ledger?carrier=kt", nil},
			{"GET", "/sim/stats", nil},
		} {
			if r := g.call(c.method, c.path, "", "", c.body); r.Status != 401 || strings.Contains(string(r.Raw), "821044440011") {
				t.Errorf("%s %s without a key: %d %s", c.method, c.path, r.Status, r.Raw)
			}
			if r := g.call(c.method, c.path, g.key, "", c.body); r.Status != 403 {
				t.Errorf("%s %s with a merchant key: %d %s", c.method, c.path, r.Status, r.Raw)
			}
			if r := g.call(c.method, c.path, g.admin, "", c.body); r.Status != 200 {
				t.Errorf("%s %s with an admin key: %d %s", c.method, c.path, r.Status, r.Raw)
			}
		}
		day := g.clock.Now().Add(-24 * time.Hour).In(time.FixedZone("KST", 9*3600)).Format(time.DateOnly)
		if r := g.call("GET", "/sim/reports/kt/"+day, "", "", nil); r.Status == 401 || r.Status == 403 {
			t.Errorf("a settlement file without a key: %d %s", r.Status, r.Raw)
		}
	})
}

// One merchant cannot move the clock every merchant shares: another
// merchant's code stays good. An admin can.
func TestTestClockTakesAnAdminKey(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		id := g.charge(g.other, krw("+821044440021", 1000, "kt")).str("id")
		before := g.clock.Now()
		if r := g.call("POST", "/v1/test_helpers/clock/advance", g.key, "", `{"seconds": 3600}`); r.Status != 403 || r.str("code") != "forbidden" {
			t.Fatalf("a merchant key moved the clock: %d %s", r.Status, r.Raw)
		}
		if g.clock.Now().Sub(before) >= time.Hour {
			t.Fatal("the clock moved an hour")
		}
		r := g.call("POST", "/v1/charges/"+id+"/confirm", g.other, "", map[string]string{"code": g.smsCodeFor(g.other, "+821044440021")})
		if r.str("status") != "succeeded" {
			t.Fatalf("the other merchant's code: %d %s", r.Status, r.Raw)
		}
		if r := g.call("POST", "/v1/test_helpers/clock/advance", g.admin, "", `{"seconds": 3600}`); r.Status != 200 || g.clock.Now().Sub(before) < time.Hour {
			t.Fatalf("an admin key: %d %s", r.Status, r.Raw)
		}
	})
}

// sim.open_controls: one developer owns the gateway, so the simulator's
// controls need no key and a test key moves the clock; merchants still read
// only their own texts at /v1/test_helpers/sms.
func TestOpenControlsNeedNoAdminKey(t *testing.T) {
	t.Parallel()
	open := func(c *configs.Config) { c.Sim.OpenControls = true }
	eachStoreWith(t, open, func(t *testing.T, g *gw) {
		a := g.charge(g.key, krw("+821044440031", 1000, "kt")).str("id")
		g.charge(g.other, krw("+821044440031", 1000, "kt"))
		if r := g.call("GET", "/sim/sms?msisdn=%2B821044440031", "", "", nil); r.Status != 200 || len(r.Body["data"].([]any)) != 2 {
			t.Errorf("GET /sim/sms without a key: %d %s", r.Status, r.Raw)
		}
		if r := g.call("PUT", "/sim/faults", "", "", `{"carrier": "*", "latency_ms": 0}`); r.Status != 200 {
			t.Errorf("PUT /sim/faults without a key: %d %s", r.Status, r.Raw)
		}
		before := g.clock.Now()
		if r := g.call("POST", "/v1/test_helpers/clock/advance", g.key, "", `{"seconds": 60}`); r.Status != 200 || !g.clock.Now().After(before) {
			t.Errorf("a test key on the clock: %d %s", r.Status, r.Raw)
		}
		if _, msgs := g.testSMS(g.key, "+821044440031"); strings.Join(references(msgs), ",") != a {
			t.Errorf("merchant A reads %v, want only %s", references(msgs), a)
		}
	})
}

// A standalone `tollgate sim` with a token asks for it on its own
// endpoints; gateways sharing it send it (sim.token) to read their
// merchants' texts. Without a token it listens on loopback only.
func TestSharedSimulatorTakesItsToken(t *testing.T) {
	t.Parallel()
	const token = "shared-sim-token-0123456789"
	getenv := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return map[string]string{"TOLLGATE_LOG_LEVEL": "error"}[k]
		}
	}
	if err := run(context.Background(), []string{"sim", "--listen", "0.0.0.0:0"}, &syncBuffer{}, &syncBuffer{}, getenv(nil)); err == nil || !strings.Contains(err.Error(), "sim.token") {
		t.Errorf("sim on every interface without a token: %v, want a refusal naming sim.token", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sim", "--listen", "127.0.0.1:0"}, out, &syncBuffer{}, getenv(map[string]string{"TOLLGATE_SIM_TOKEN": token}))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	})
	at := regexp.MustCompile(`at (http://\S+/sim) `)
	var base string
	eventually(t, 10*time.Second, func() (bool, string) {
		m := at.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil, "sim printed " + out.String()
	})
	get := func(path, bearer string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		path, bearer string
		want         int
	}{
		{"/sms", "", 401},
		{"/sms", "wrong-token-0123456789", 401},
		{"/faults", "", 401},
		{"/sms", token, 200},
		{"/stats", token, 200},
	} {
		if got := get(c.path, c.bearer); got != c.want {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.bearer, got, c.want)
		}
	}

	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			g := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: base, configure: func(c *configs.Config) { c.Sim.Token = token }})
			n := map[store.Dialect]string{store.SQLite: "+821044440041", store.Postgres: "+821044440042"}[d]
			paid := g.paid(g.key, n, 1000, "kt")
			if paid.str("status") != "succeeded" {
				t.Fatalf("a charge confirmed with the code read through the shared simulator: %d %s", paid.Status, paid.Raw)
			}
			if _, msgs := g.testSMS(g.other, n); len(msgs) != 0 {
				t.Errorf("another merchant reads %v", msgs)
			}
			wrong := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: base, configure: func(c *configs.Config) { c.Sim.Token = "wrong-token-0123456789" }})
			if r, _ := wrong.testSMS(wrong.key, n); r.Status != 503 || r.str("code") != "service_unavailable" {
				t.Errorf("a gateway with the wrong sim.token: %d %s", r.Status, r.Raw)
			}
			if strings.Contains(wrong.logs.String(), n[1:]) {
				t.Error("the logs hold the number in clear")
			}
		})
	}
}
