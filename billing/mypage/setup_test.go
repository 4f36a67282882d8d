package mypage

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/carriers/carrierfake"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/msisdn"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
	"tollgate/internal/web"
)

// testBundle is what a page test works with: the page served on a
// loopback listener, the billing service behind it, a clock only the test
// moves, an in-process carrier whose texts the test reads, and a merchant.
type testBundle struct {
	t        *testing.T
	url      string
	page     *Page
	billing  *billing.Service
	store    *store.Store
	clock    *clock.Manual
	carrier  *carrierfake.Carrier
	merchant auth.Principal
	other    auth.Principal // a second merchant
}

// roomy lets a test send a number as many codes as it needs; the limit
// test passes the shipped one.
var roomy = map[string]ratelimit.Quota{
	billing.LimitSMSPerNumber:     {Count: 1000, Per: time.Minute},
	billing.LimitChargesPerNumber: {Count: 1000, Per: time.Minute},
}

const (
	testTTL     = 30 * time.Minute
	testCodeTTL = 5 * time.Minute
	me          = "+821012345678"
	meMasked    = "+82 10-****-5678"
	someoneElse = "+821099998888"
)

// eachStore runs fn on a fresh page per database of this run, in parallel.
func eachStore(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	eachStoreWith(t, roomy, fn)
}

func eachStoreWith(t *testing.T, quotas map[string]ratelimit.Quota, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	eachStoreTuned(t, quotas, nil, fn)
}

// eachStoreTuned is eachStoreWith whose page's settings tune changes.
func eachStoreTuned(t *testing.T, quotas map[string]ratelimit.Quota, tune func(*Settings), fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, d, quotas, tune))
		})
	}
}

func setup(t *testing.T, d store.Dialect, quotas map[string]ratelimit.Quota, tune func(*Settings)) *testBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t, d)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewManual(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC))
	q, workers := storetest.Queue(t, st, clk)
	vault, err := msisdn.NewVault([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	fake := carrierfake.New("skt")
	limits, err := ratelimit.NewShared(st.DB, clk, quotas)
	if err != nil {
		t.Fatal(err)
	}
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := billing.NewService(billing.Deps{DB: st.DB, Carriers: carrierfake.NewSet(fake), Vault: vault, Clock: clk, Log: log, Jobs: q, Events: noEvents{}, Limits: limits},
		billing.Settings{CodeTTL: 5 * time.Minute, MaxAttempts: 3, CarrierTimeout: 3 * time.Second,
			Caps: billing.CapRules{Carriers: map[string]billing.CarrierCaps{"skt": {Monthly: map[string]int64{"KRW": 500_000}, Location: seoul}}}})
	if err != nil {
		t.Fatal(err)
	}
	billing.RegisterWorkers(workers, svc)
	settings := Settings{SessionTTL: testTTL, CodeTTL: testCodeTTL, MaxAttempts: 3}
	if tune != nil {
		tune(&settings)
	}
	page, err := New(Deps{DB: st.DB, Billing: svc, Vault: vault, Clock: clk, Log: log}, settings)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.IPExtractor = web.IPExtractor(nil) // as the gateway's routes: the TCP peer, never X-Forwarded-For
	page.Mount(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b := &testBundle{t: t, url: srv.URL, page: page, billing: svc, store: st, clock: clk, carrier: fake}
	for i, p := range []*auth.Principal{&b.merchant, &b.other} {
		m, err := svc.CreateMerchant(ctx, []string{"Gem Shop", "Film Club"}[i], false)
		if err != nil {
			t.Fatal(err)
		}
		*p = auth.Principal{MerchantID: m.ID, Role: auth.RoleMerchant}
	}
	return b
}

type noEvents struct{}

func (noEvents) EmitTx(*gorm.DB, billing.Event) error { return nil }

// browser is one person's browser: its own cookies, redirects not
// followed, so a test sees each answer.
type browser struct {
	b      *testBundle
	client *http.Client
	header http.Header // sent with every request
}

func (b *testBundle) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	// Browsers send their language; a test that wants none deletes it.
	return &browser{b: b, header: http.Header{"Accept-Language": {"en-US,en;q=0.9"}}, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer: status, headers and the HTML, its entities decoded.
type page struct {
	Status int
	Header http.Header
	HTML   string
}

func (br *browser) do(method, path string, form url.Values) page {
	br.b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, br.b.url+path, body)
	if err != nil {
		br.b.t.Fatal(err)
	}
	for k, v := range br.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := br.client.Do(req)
	if err != nil {
		br.b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	// The text as a person reads it: html/template escapes more than it
	// must (a + is &#43;).
	return page{Status: res.StatusCode, Header: res.Header, HTML: html.UnescapeString(string(raw))}
}

func (br *browser) get(path string) page { br.b.t.Helper(); return br.do("GET", path, nil) }

// post sends a form as it is (form adds the token).
func (br *browser) post(path string, form url.Values) page {
	br.b.t.Helper()
	return br.do("POST", path, form)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the form token of the page as the browser now sees it.
func (br *browser) csrf() string {
	br.b.t.Helper()
	p := br.get("/my")
	m := csrfField.FindStringSubmatch(p.HTML)
	if m == nil {
		br.b.t.Fatalf("no form token on /my: %d %s", p.Status, p.HTML)
	}
	return m[1]
}

// form is url.Values with the browser's current form token.
func (br *browser) form(kv ...string) url.Values {
	br.b.t.Helper()
	v := url.Values{"csrf": {br.csrf()}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// askCode asks for a sign-in code for number and returns the code texted.
func (br *browser) askCode(number string) string {
	br.b.t.Helper()
	before := len(br.b.carrier.Outbox())
	if p := br.post("/my/sign-in", br.form("msisdn", number, "country", "KR")); p.Status != http.StatusSeeOther {
		br.b.t.Fatalf("ask for a code: %d %s", p.Status, p.HTML)
	}
	out := br.b.carrier.Outbox()
	if len(out) != before+1 {
		br.b.t.Fatalf("%d texts sent, want 1", len(out)-before)
	}
	return codeIn(out[len(out)-1].Body)
}

// signIn signs the browser in as number.
func (br *browser) signIn(number string) {
	br.b.t.Helper()
	code := br.askCode(number)
	p := br.post("/my/sign-in/code", br.form("code", code))
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/my?done=signed_in" {
		br.b.t.Fatalf("sign in: %d %s %s", p.Status, p.Header.Get("Location"), p.HTML)
	}
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

func codeIn(body string) string { return sixDigits.FindString(body) }

// wantIn fails unless the page has the status and every one of the texts.
func wantIn(t *testing.T, p page, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d: %s", p.Status, status, p.HTML)
	}
	for _, s := range texts {
		if !strings.Contains(p.HTML, s) {
			t.Fatalf("page lacks %q: %s", s, p.HTML)
		}
	}
}

// krw is an SMS-code charge by p of amount won to number.
func (b *testBundle) charge(p auth.Principal, number string, amount int64, desc, category string) *billing.Charge {
	b.t.Helper()
	ch, err := b.billing.CreateCharge(context.Background(), p, "k-"+auth.RandomString(12), billing.ChargeParams{
		Amount: &amount, Currency: "KRW", MSISDN: number, Carrier: "skt", Description: desc, Category: category})
	if err != nil {
		b.t.Fatal(err)
	}
	return ch
}
