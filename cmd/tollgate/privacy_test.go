package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers/sim"
	"tollgate/internal/auth"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// carrierRecorder stands between the gateway and a simulator apart from it
// and keeps every request body the gateway sent, so a test learns the
// secrets only the carrier should hold (each charge's sink token).
type carrierRecorder struct {
	next          http.Handler
	clientSecrets []string // the OAuth client secrets the gateway holds for the carriers
	mu            sync.Mutex
	bodies        [][]byte
	bearers       []string // access tokens the gateway presented
}

func (c *carrierRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	c.mu.Lock()
	c.bodies = append(c.bodies, body)
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		c.bearers = append(c.bearers, tok)
	}
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

var sinkTokenField = regexp.MustCompile(`"accessToken"\s*:\s*"([^"]+)"`)

// sinkTokens are the callback credentials the gateway gave the carriers.
func (c *carrierRecorder) sinkTokens() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, b := range c.bodies {
		for _, m := range sinkTokenField.FindAllSubmatch(b, -1) {
			out = append(out, string(m[1]))
		}
	}
	return out
}

// rawReceiver keeps every webhook body as it arrived.
type rawReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newRawReceiver(t *testing.T) *rawReceiver {
	r := &rawReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rawReceiver) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.bodies, "\n")
}

// tableNames lists every table of the store, from its schema.
func tableNames(t *testing.T, st *store.Store) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if st.Dialect == store.Postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	var names []string
	if err := st.DB.Raw(q).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	return names
}

// dumpAll is every value of every row of every table, as text.
func dumpAll(t *testing.T, st *store.Store) (string, int) {
	t.Helper()
	var dump strings.Builder
	tables := tableNames(t, st)
	for _, table := range tables {
		rows, err := st.DB.Raw(`SELECT * FROM "` + table + `"`).Rows()
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&dump, "%s:", table)
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&dump, "%v|", v)
			}
			dump.WriteByte('\n')
		}
		rows.Close()
	}
	return dump.String(), len(tables)
}

// phoneForms are the ways a Korean mobile number can be written: E.164
// with and without +, national with and without dashes, and the bare
// subscriber part.
func phoneForms(e164 string) []string {
	rest := e164[3:] // after +82
	national := "0" + rest
	dashed := national[:3] + "-" + national[3:len(national)-4] + "-" + national[len(national)-4:]
	return []string{e164, e164[1:], national, dashed, rest}
}

// Invariants 5 and the keys': after a run that exercises charges on every
// protocol, refunds, SMS codes, one-tap, a subscription and its renewal,
// cashback, a refund request, webhooks and /my, no phone number is in
// clear (E.164 with or without +, national with or without dashes) and no
// API key, webhook secret or sink token is in clear, in any column of any
// table (listed from the schema), in the logs, or in a webhook body.
func TestNoPhoneNumberOrSecretInClear(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			cfg, simOpts := shippedSim(t)
			carrierSide := &carrierRecorder{next: sim.New(simOpts).Handler()}
			for _, c := range cfg.Carriers {
				if c.Auth.ClientSecret != "" {
					carrierSide.clientSecrets = append(carrierSide.clientSecrets, c.Auth.ClientSecret)
				}
			}
			simSrv := httptest.NewServer(carrierSide)
			t.Cleanup(simSrv.Close)
			g := startWith(t, opts{dbURL: storetest.URL(t, d), simURL: simSrv.URL + "/sim"})
			scanPrivacy(t, g, carrierSide)
		})
	}
}

func scanPrivacy(t *testing.T, g *gw, carrierSide *carrierRecorder) {
	fin := g.roleKey(auth.RoleFinance)
	hooks := newRawReceiver(t)
	ep := g.call("POST", "/v1/webhook_endpoints", g.key, "", map[string]any{"url": hooks.srv.URL, "enabled_events": []string{"*"}})
	secret := ep.str("secret")
	if ep.Status != 201 || secret == "" {
		t.Fatalf("endpoint: %d %s", ep.Status, ep.Raw)
	}
	prog := g.call("POST", "/v1/cashback_programs", g.key, newIdem(), map[string]any{"rate_bps": 500, "max_per_charge": 500, "min_amount": 1000, "currency": "KRW", "expires_after_days": 90})
	if prog.Status != 201 {
		t.Fatalf("cashback: %d %s", prog.Status, prog.Raw)
	}

	numbers := []string{"+821012345678", "+821012340005", "+821055556666", "+821055557766", "+821055557777", "+821055559999", "+821055558888"}
	// CAMARA (skt): an SMS-code charge, a refund, a refund request approved.
	paid := g.paid(g.key, numbers[0], 5000, "skt")
	g.call("POST", "/v1/charges/"+paid.str("id")+"/refunds", g.key, newIdem(), map[string]any{"amount": 1000})
	again := g.paid(g.key, numbers[0], 2000, "skt") // spends the cashback earned
	rr := g.askRefund(numbers[0], again.str("id"), "Wrong item")
	if r := g.call("POST", "/v1/refund_requests/"+rr+"/approve", g.key, newIdem(), nil); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Raw)
	}
	// Token-and-callback (lgu): the result by the carrier's callback.
	async := g.paid(g.key, numbers[1], 1000, "lgu")
	// OneAPI (kt), which puts the number in its URLs: one-tap, and a timeout
	// whose transport error is logged and must not carry the URL.
	pm := g.activePaymentMethod(g.key, numbers[2], "kt")
	g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
	pmSlow := g.activePaymentMethod(g.key, numbers[4], "kt")
	g.faults(`{"carrier": "kt", "timeout_rate": 1}`)
	g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pmSlow})
	g.faults(`{"carrier": "kt", "timeout_rate": 0}`)
	// A national-form number.
	national := g.call("POST", "/v1/charges", g.key, newIdem(), `{"amount": 1500, "currency": "KRW", "msisdn": "010-5555-7766", "country": "KR", "carrier": "skt"}`)
	if national.Status != 201 {
		t.Fatalf("national form: %d %s", national.Status, national.Raw)
	}
	g.call("POST", "/v1/charges/"+national.str("id")+"/confirm", g.key, "", map[string]string{"code": g.smsCode(numbers[3])})
	// A subscription, its own consent, and a renewal on the test clock.
	subPM := g.activePaymentMethod(g.key, numbers[5], "skt")
	sub := g.call("POST", "/v1/subscriptions", g.key, newIdem(), map[string]any{"payment_method": subPM, "amount": 3000, "currency": "KRW", "interval": "month", "description": "Club"})
	if sub.Status != 201 {
		t.Fatalf("subscription: %d %s", sub.Status, sub.Raw)
	}
	if r := g.call("POST", "/v1/subscriptions/"+sub.str("id")+"/confirm", g.key, "", map[string]string{"code": g.smsCode(numbers[5])}); r.str("status") != "active" {
		t.Fatalf("confirm subscription: %d %s", r.Status, r.Raw)
	}
	periods := func(n int) func() (bool, string) {
		return func() (bool, string) {
			got := len(g.subscriptionCharges(sub.str("id")))
			return got >= n, fmt.Sprintf("%d of %d periods charged", got, n)
		}
	}
	eventually(t, 30*time.Second, periods(1))
	eventually(t, 30*time.Second, func() (bool, string) {
		r := g.call("GET", "/v1/subscriptions/"+sub.str("id"), g.key, "", nil)
		return r.str("latest_charge") != "", "no first charge on the subscription: " + string(r.Raw)
	})
	cur := g.call("GET", "/v1/subscriptions/"+sub.str("id"), g.key, "", nil)
	next, err := time.Parse(time.RFC3339, cur.str("next_charge_at"))
	if err != nil {
		t.Fatalf("next_charge_at: %s", cur.Raw)
	}
	g.clock.Advance(next.Sub(g.clock.Now()) + time.Second)
	eventually(t, 60*time.Second, periods(2))
	// /my: the subscriber signs in with the national form and looks.
	signInMy(t, g, "010-5555-8888", numbers[6])

	g.waitFinal(60 * time.Second)
	g.waitStatus(g.key, async.str("id"), "succeeded")
	eventually(t, 30*time.Second, func() (bool, string) {
		var pending int64
		g.store.DB.Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'").Scan(&pending)
		return pending == 0 && strings.Contains(hooks.all(), "refund_request."), fmt.Sprintf("%d deliveries pending", pending)
	})
	if !strings.Contains(g.logs.String(), "outcome unknown") {
		t.Fatal("the timeout was not logged; the test did not exercise the error path")
	}

	dump, tables := dumpAll(t, g.store)
	if tables < 15 || !strings.Contains(dump, "+82 10-****-5678") || !strings.Contains(dump, "subscriptions:") {
		t.Fatalf("the dump of %d tables holds no masked number or no subscription; it did not read the tables", tables)
	}
	sinks := carrierSide.sinkTokens()
	if len(sinks) == 0 {
		t.Fatal("no sink token was seen going to a carrier: the scan would look for nothing")
	}
	places := map[string]string{"the database": dump, "the logs": g.logs.String(), "a webhook body": hooks.all()}
	if !strings.Contains(places["a webhook body"], "charge.succeeded") || !strings.Contains(places["the logs"], `"route"`) {
		t.Fatal("no webhook arrived or no request was logged")
	}
	secrets := map[string]string{"merchant key": g.key, "other merchant key": g.other, "admin key": g.admin, "finance key": fin,
		"webhook secret": secret, "webhook signing key": strings.TrimPrefix(secret, "whsec_")}
	carrierSide.mu.Lock()
	bearers, clientSecrets := slices.Clone(carrierSide.bearers), carrierSide.clientSecrets
	carrierSide.mu.Unlock()
	if len(bearers) == 0 || len(clientSecrets) == 0 {
		t.Fatalf("%d access tokens and %d client secrets seen: the scan would look for nothing", len(bearers), len(clientSecrets))
	}
	for i, s := range slices.Compact(slices.Sorted(slices.Values(bearers))) {
		secrets[fmt.Sprintf("carrier access token %d", i)] = s
	}
	for i, s := range clientSecrets {
		secrets[fmt.Sprintf("carrier client secret %d", i)] = s
	}
	for i, s := range sinks {
		secrets[fmt.Sprintf("sink token %d", i)] = s
	}
	for where, text := range places {
		for _, n := range numbers {
			for _, form := range phoneForms(n) {
				if strings.Contains(text, form) {
					t.Errorf("%s holds %s in clear: %s", where, form, around(text, form))
				}
			}
		}
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the %s in clear: %s", where, what, around(text, s))
			}
		}
	}
}

// around is a little of text on both sides of the first s, to say where.
func around(text, s string) string {
	i := strings.Index(text, s)
	lo, hi := max(0, i-80), min(len(text), i+len(s)+80)
	return text[lo:hi]
}

// signInMy signs a subscriber in on /my with the number as typed, reading
// the code from the simulated carrier, and opens the page.
func signInMy(t *testing.T, g *gw, typed, e164 string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := func() string {
		res, err := client.Get(g.base + "/my")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no form token on /my: %d", res.StatusCode)
		}
		return string(m[1])
	}
	post := func(path string, form url.Values) int {
		res, err := client.PostForm(g.base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := post("/my/sign-in", url.Values{"csrf": {csrf()}, "msisdn": {typed}, "country": {"KR"}}); s != http.StatusSeeOther {
		t.Fatalf("/my sign-in: %d", s)
	}
	r := g.call("GET", "/sim/sms?msisdn="+url.QueryEscape(e164), g.admin, "", nil)
	data, _ := r.Body["data"].([]any)
	if len(data) == 0 {
		t.Fatalf("no sign-in code: %s", r.Raw)
	}
	code, _ := data[0].(map[string]any)["code"].(string)
	if code == "" {
		code = regexp.MustCompile(`\b[0-9]{6}\b`).FindString(fmt.Sprint(data[0].(map[string]any)["body"]))
	}
	if s := post("/my/sign-in/code", url.Values{"csrf": {csrf()}, "code": {code}}); s != http.StatusSeeOther {
		t.Fatalf("/my code: %d", s)
	}
	res, err := client.Get(g.base + "/my")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/my signed in: %d", res.StatusCode)
	}
}
