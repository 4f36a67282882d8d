package mypage

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
)

// A subscriber signs in with their number and the code texted to it, and
// sees every charge on the number across merchants, masked as ever; the
// cookies are HttpOnly and SameSite, and nothing of the number, the code
// or the session is kept in clear.
func TestSignInWithATextedCodeShowsEveryCharge(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		gems := b.charge(b.merchant, me, 5000, "500 gems", "game")
		films := b.charge(b.other, me, 9900, "a month of films", "video")
		b.charge(b.merchant, someoneElse, 7000, "not mine", "")

		br := b.browser()
		p := br.get("/my")
		wantIn(t, p, http.StatusOK, `id="sign-in"`, `name="csrf"`, `<option value="KR" selected>`)
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
			t.Fatalf("Content-Security-Policy %q", csp)
		}
		code := br.askCode("010-1234-5678")
		sms := b.carrier.Outbox()[len(b.carrier.Outbox())-1]
		if sms.MSISDN != me || !strings.Contains(sms.Body, "로그인 코드 "+code) || !strings.HasPrefix(sms.Reference, "si_") {
			t.Fatalf("sign-in text %+v", sms)
		}
		wantIn(t, br.get("/my"), http.StatusOK, `id="code-form"`, meMasked)

		res := br.post("/my/sign-in/code", br.form("code", code))
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/my?done=signed_in" {
			t.Fatalf("right code: %d %s", res.Status, res.HTML)
		}
		ck := cookieNamed(res.Header, sessionCookie)
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/my" || ck.MaxAge != int(testTTL/time.Second) || ck.Secure {
			t.Fatalf("session cookie %+v, want HttpOnly, Lax, /my, 30 min, not Secure on loopback", ck)
		}
		account := br.get("/my?done=signed_in")
		wantIn(t, account, http.StatusOK, meMasked, "Gem Shop", "500 gems", "₩5,000", "Film Club", "a month of films", "₩9,900",
			"charge-"+gems.ID, "charge-"+films.ID, `id="spend-KRW"`, "₩14,900", "₩500,000", "<svg")
		if strings.Contains(account.HTML, "not mine") || strings.Contains(account.HTML, "1012345678") || strings.Contains(account.HTML, "1234-5678") {
			t.Fatalf("the page shows another number's charge or the number in clear: %s", account.HTML)
		}
		for _, q := range []string{"SELECT COUNT(*) FROM subscriber_sessions WHERE token_hash = ?", "SELECT COUNT(*) FROM subscriber_sign_ins"} {
			var n int64
			args := []any{}
			if strings.Contains(q, "?") {
				args = append(args, ck.Value)
			}
			if err := b.store.DB.Raw(q, args...).Scan(&n).Error; err != nil || n != 0 {
				t.Fatalf("%s: %d, %v (want none: no clear token, no used sign-in)", q, n, err)
			}
		}
		var sessions int64
		b.store.DB.Raw("SELECT COUNT(*) FROM subscriber_sessions WHERE msisdn_masked = ?", meMasked).Scan(&sessions)
		if sessions != 1 {
			t.Fatalf("%d sessions, want 1", sessions)
		}

		// Signing out ends the session on the server too.
		out := br.post("/my/sign-out", br.form())
		if out.Status != http.StatusSeeOther {
			t.Fatalf("sign out: %d %s", out.Status, out.HTML)
		}
		b.store.DB.Raw("SELECT COUNT(*) FROM subscriber_sessions").Scan(&sessions)
		if sessions != 0 {
			t.Fatalf("%d sessions after signing out", sessions)
		}
		wantIn(t, br.get("/my?done=signed_out"), http.StatusOK, `id="sign-in"`)
	})
}

func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// A wrong code is refused with the attempts left; the third wrong one ends
// the sign-in, so even the right code then opens nothing.
func TestWrongCodesEndTheSignIn(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		br := b.browser()
		code := br.askCode(me)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		wantIn(t, br.post("/my/sign-in/code", br.form("code", "12ab56")), http.StatusBadRequest, "6 digits")
		wantIn(t, br.post("/my/sign-in/code", br.form("code", wrong)), http.StatusUnprocessableEntity, "2 attempt(s) left")
		wantIn(t, br.post("/my/sign-in/code", br.form("code", wrong)), http.StatusUnprocessableEntity, "1 attempt(s) left")
		wantIn(t, br.post("/my/sign-in/code", br.form("code", wrong)), http.StatusUnprocessableEntity, "Too many wrong codes")
		p := br.post("/my/sign-in/code", br.form("code", code))
		wantIn(t, p, http.StatusBadRequest, "No code is waiting")
		if cookieNamed(p.Header, sessionCookie) != nil {
			t.Fatal("a session after the sign-in was over")
		}
		// A code asked in one browser opens nothing in another.
		code = br.askCode(me)
		thief := b.browser()
		wantIn(t, thief.post("/my/sign-in/code", thief.form("code", code)), http.StatusBadRequest, "No code is waiting")
		br.post("/my/sign-in/code", br.form("code", code))
		wantIn(t, br.get("/my"), http.StatusOK, meMasked, `id="charges"`)
	})
}

// A code typed after it expired is refused and opens nothing; one typed
// just before is let in.
func TestExpiredCodeIsRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		br := b.browser()
		code := br.askCode(me)
		b.clock.Advance(testCodeTTL)
		wantIn(t, br.post("/my/sign-in/code", br.form("code", code)), http.StatusUnprocessableEntity, "expired")
		wantIn(t, br.get("/my"), http.StatusOK, `id="sign-in"`)

		code = br.askCode(me)
		b.clock.Advance(testCodeTTL - time.Second)
		br.post("/my/sign-in/code", br.form("code", code))
		wantIn(t, br.get("/my"), http.StatusOK, `id="charges"`)
	})
}

// A session lasts its TTL on the injected clock, then the page asks to
// sign in again and refuses actions with 401.
func TestSessionExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		br := b.browser()
		br.signIn(me)
		token := br.form()
		b.clock.Advance(testTTL - time.Second)
		wantIn(t, br.get("/my"), http.StatusOK, `id="charges"`)
		b.clock.Advance(time.Second)
		wantIn(t, br.post("/my/cap", url.Values{"csrf": token["csrf"], "currency": {"KRW"}, "amount": {"30000"}}), http.StatusUnauthorized, "session has ended")
		if prefs, _ := b.billing.Preferences(context.Background(), b.index(me)); len(prefs.OwnCaps) != 0 {
			t.Fatalf("an expired session set a cap: %+v", prefs)
		}
		br.signIn(me) // the browser's cookie was cleared; signing in again works
		wantIn(t, br.get("/my"), http.StatusOK, `id="charges"`)
	})
}

func (b *testBundle) index(number string) string {
	b.t.Helper()
	_, sub, err := b.billing.IdentifySubscriber(number, "")
	if err != nil {
		b.t.Fatal(err)
	}
	return sub.Index
}

// Every form needs its token: without one, with another session's, or
// from another site, nothing is done (403); with its own it works.
func TestFormsRefuseMissingOrForeignTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		// Before sign-in: no code goes out without the token.
		stranger := b.browser()
		stranger.get("/my")
		wantIn(t, stranger.post("/my/sign-in", url.Values{"msisdn": {me}}), http.StatusForbidden, "out of date")
		if n := len(b.carrier.Outbox()); n != 0 {
			t.Fatalf("%d texts sent on a form without its token", n)
		}

		br := b.browser()
		br.signIn(me)
		other := b.browser()
		other.signIn(someoneElse)
		foreign := other.form()["csrf"][0]
		for name, form := range map[string]url.Values{
			"no token":              {"currency": {"KRW"}, "amount": {"30000"}},
			"another session's":     {"csrf": {foreign}, "currency": {"KRW"}, "amount": {"30000"}},
			"the pre-sign-in token": {"csrf": {stranger.csrf()}, "currency": {"KRW"}, "amount": {"30000"}},
		} {
			wantIn(t, br.post("/my/cap", form), http.StatusForbidden, "out of date")
			if prefs, _ := b.billing.Preferences(ctx, b.index(me)); len(prefs.OwnCaps) != 0 {
				t.Fatalf("%s: a cap was set: %+v", name, prefs)
			}
		}
		// The right token from another site (a browser says so).
		good := br.form("currency", "KRW", "amount", "30000")
		br.header.Set("Sec-Fetch-Site", "cross-site")
		br.header.Set("Origin", "https://evil.example")
		wantIn(t, br.post("/my/cap", good), http.StatusForbidden)
		br.header.Del("Sec-Fetch-Site")
		br.header.Del("Origin")
		if prefs, _ := b.billing.Preferences(ctx, b.index(me)); len(prefs.OwnCaps) != 0 {
			t.Fatalf("a cross-site post set a cap: %+v", prefs)
		}
		if p := br.post("/my/cap", good); p.Status != http.StatusSeeOther {
			t.Fatalf("own token: %d %s", p.Status, p.HTML)
		}
		if prefs, _ := b.billing.Preferences(ctx, b.index(me)); prefs.OwnCaps["KRW"] != 30000 {
			t.Fatalf("own caps %+v, want KRW 30000", prefs.OwnCaps)
		}
	})
}

// A subscriber revokes their own one-tap payment method; another
// subscriber's is not found and stays active.
func TestRevokeOnlyOwnPaymentMethod(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		mine := b.activePM(me)
		theirs := b.activePM(someoneElse)
		br := b.browser()
		br.signIn(me)
		wantIn(t, br.get("/my"), http.StatusOK, `id="pm-`+mine.ID+`"`, "Gem Shop")
		if strings.Contains(br.get("/my").HTML, theirs.ID) {
			t.Fatal("the page lists another subscriber's payment method")
		}

		wantIn(t, br.post("/my/payment-methods/"+theirs.ID+"/revoke", br.form()), http.StatusNotFound, "not yours")
		if pm, _ := b.billing.GetPaymentMethod(ctx, b.merchant, theirs.ID); pm.Status != billing.PMActive {
			t.Fatalf("another subscriber's payment method is %s", pm.Status)
		}
		if p := br.post("/my/payment-methods/"+mine.ID+"/revoke", br.form()); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/my?done=revoked" {
			t.Fatalf("revoke own: %d %s", p.Status, p.HTML)
		}
		if pm, _ := b.billing.GetPaymentMethod(ctx, b.merchant, mine.ID); pm.Status != billing.PMRevoked {
			t.Fatalf("own payment method is %s", pm.Status)
		}
		wantIn(t, br.get("/my?done=revoked"), http.StatusOK, `id="no-pms"`, "no longer charge you")
		one := int64(1000)
		_, err := b.billing.CreateCharge(ctx, b.merchant, "after-revoke", billing.ChargeParams{Amount: &one, Currency: "KRW", PaymentMethod: mine.ID})
		wantCode(t, err, problem.CodePaymentMethodInvalid)
	})
}

func (b *testBundle) activePM(number string) *billing.PaymentMethod {
	b.t.Helper()
	ctx := context.Background()
	pm, err := b.billing.CreatePaymentMethod(ctx, b.merchant, "pm-"+number, billing.PaymentMethodParams{MSISDN: number, Carrier: "skt"})
	if err != nil {
		b.t.Fatal(err)
	}
	pm, err = b.billing.ConfirmPaymentMethod(ctx, b.merchant, pm.ID, b.carrier.LastCode())
	if err != nil {
		b.t.Fatal(err)
	}
	return pm
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) || p.Code != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

// Sign-in codes count against the number's SMS limit with every other
// code: the sixth in ten minutes is refused with Retry-After and a clear
// message, and nothing is sent; another number is not affected.
func TestSignInCodesAreRateLimited(t *testing.T) {
	eachStoreTuned(t, shipped, func(s *Settings) { s.CodesPerNumber = ratelimit.Quota{Count: -1} }, func(t *testing.T, b *testBundle) {
		b.charge(b.merchant, me, 1000, "a code for a charge", "")
		br := b.browser()
		for range 4 {
			br.askCode(me)
		}
		p := br.post("/my/sign-in", br.form("msisdn", me))
		wantIn(t, p, http.StatusTooManyRequests, "Too many codes were sent to this number. Try again in 2 min.")
		if p.Header.Get("Retry-After") != "120" {
			t.Fatalf("Retry-After %q", p.Header.Get("Retry-After"))
		}
		if n := len(b.carrier.Outbox()); n != 5 {
			t.Fatalf("%d texts, want 5", n)
		}
		// The refused request left no code waiting: the last one still is.
		wantIn(t, br.get("/my"), http.StatusOK, `id="sign-in"`)
		br.askCode(someoneElse)
		b.clock.Advance(2 * time.Minute)
		br.askCode(me)
	})
}

// The own cap and blocked categories set on the page are what billing
// enforces; a bad amount or one over the carrier's ceiling is refused in
// the page's words, and restoring brings the carrier's cap back.
func TestCapAndCategoryForms(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		b.charge(b.merchant, me, 5000, "500 gems", "game")
		br := b.browser()
		br.signIn(me)
		wantIn(t, br.get("/my"), http.StatusOK, `value="game"`, "Your carrier's monthly limit")

		wantIn(t, br.post("/my/cap", br.form("currency", "KRW", "amount", "lots")), http.StatusBadRequest, "Type the limit as an amount")
		wantIn(t, br.post("/my/cap", br.form("currency", "KRW", "amount", "600,000")), http.StatusUnprocessableEntity, "at most your carrier's, ₩500,000")
		wantIn(t, br.post("/my/cap", br.form("currency", "USD", "amount", "10")), http.StatusBadRequest, "not one of yours")
		if p := br.post("/my/cap", br.form("currency", "KRW", "amount", "₩30,000")); p.Status != http.StatusSeeOther {
			t.Fatalf("lower cap: %d %s", p.Status, p.HTML)
		}
		sp, err := b.billing.MonthSpend(ctx, b.index(me), "KRW")
		if err != nil || sp.Cap != 30000 || sp.Binding != billing.BindingSubscriber {
			t.Fatalf("spend %+v, %v; want cap 30000 set by the subscriber", sp, err)
		}
		wantIn(t, br.get("/my?done=cap_saved"), http.StatusOK, "Your monthly limit is saved.", "₩5,000 of ₩30,000", `value="30000"`, `id="restore-cap-KRW"`)
		_, err = b.billing.CreateCharge(ctx, b.merchant, "over-own-cap", billing.ChargeParams{Amount: ptr(int64(26000)), Currency: "KRW", MSISDN: me, Carrier: "skt"})
		wantCode(t, err, "subscriber_limit_exceeded")

		if p := br.post("/my/cap", br.form("currency", "KRW", "restore", "1")); p.Status != http.StatusSeeOther {
			t.Fatalf("restore cap: %d %s", p.Status, p.HTML)
		}
		if sp, _ := b.billing.MonthSpend(ctx, b.index(me), "KRW"); sp.Cap != 500_000 || sp.Binding != billing.BindingCarrier {
			t.Fatalf("restored spend %+v", sp)
		}

		if p := br.post("/my/categories", br.form("blocked", "game", "other", "voucher, gift card")); p.Status != http.StatusSeeOther {
			t.Fatalf("block categories: %d %s", p.Status, p.HTML)
		}
		prefs, _ := b.billing.Preferences(ctx, b.index(me))
		if strings.Join(prefs.BlockedCategories, ",") != "game,gift card,voucher" {
			t.Fatalf("blocked %v", prefs.BlockedCategories)
		}
		_, err = b.billing.CreateCharge(ctx, b.merchant, "blocked", billing.ChargeParams{Amount: ptr(int64(1000)), Currency: "KRW", MSISDN: me, Carrier: "skt", Category: "voucher"})
		wantCode(t, err, billing.CodeCategoryBlocked)
		wantIn(t, br.get("/my"), http.StatusOK, `value="voucher" checked`)
		// Unticking everything unblocks everything.
		br.post("/my/categories", br.form())
		if prefs, _ := b.billing.Preferences(ctx, b.index(me)); len(prefs.BlockedCategories) != 0 {
			t.Fatalf("still blocked %v", prefs.BlockedCategories)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// The page speaks the browser's language, Korean or English, the switch
// overrides it for later visits, and a Korean number with no preference
// gets Korean.
func TestLanguage(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		br := b.browser()
		br.header.Set("Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5")
		wantIn(t, br.get("/my"), http.StatusOK, `lang="ko"`, "휴대폰 번호", "인증 코드 받기")
		p := br.get("/my?lang=en")
		wantIn(t, p, http.StatusOK, `lang="en"`, "Text me a code")
		wantIn(t, br.get("/my"), http.StatusOK, `lang="en"`) // the switch is remembered

		plain := b.browser()
		plain.header.Del("Accept-Language")
		plain.askCode(me)
		wantIn(t, plain.get("/my"), http.StatusOK, `lang="ko"`, "6자리 코드")
		fr := b.browser()
		fr.header.Set("Accept-Language", "fr-FR")
		wantIn(t, fr.get("/my"), http.StatusOK, `lang="en"`)
	})
}

// Cookies are Secure except for plain HTTP between loopback addresses.
func TestSecureCookies(t *testing.T) {
	for _, tc := range []struct {
		host, peer string
		tls        bool
		header     string // a header the request carries, with any value
		want       bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:5555", false, "", false},
		{"localhost:8080", "[::1]:5555", false, "", false},
		{"[::1]:8080", "[::1]:5555", false, "", false},
		{"pay.example.com", "127.0.0.1:5555", false, "", true}, // behind a proxy on the same machine
		{"127.0.0.1:8080", "203.0.113.9:5555", false, "", true},
		{"127.0.0.1:8080", "127.0.0.1:5555", true, "", true},
		{"127.0.0.1:8080", "garbage", false, "", true},
		// A TLS proxy on the same machine that dials 127.0.0.1:8080 and
		// sends that as Host (nginx's default proxy_pass): the browser is
		// on the internet, so its cookies must be Secure.
		{"127.0.0.1:8080", "127.0.0.1:5555", false, "X-Forwarded-Proto", true},
		{"127.0.0.1:8080", "127.0.0.1:5555", false, "X-Forwarded-For", true},
		{"localhost:8080", "[::1]:5555", false, "Forwarded", true},
		{"127.0.0.1:8080", "127.0.0.1:5555", false, "X-Real-IP", true},
	} {
		r, _ := http.NewRequest("GET", "http://"+tc.host+"/my", nil)
		r.Host, r.RemoteAddr = tc.host, tc.peer
		if tc.tls {
			r.TLS = &tlsState
		}
		if tc.header != "" {
			r.Header.Set(tc.header, "x")
		}
		if got := secure(r); got != tc.want {
			t.Errorf("host %s peer %s tls %v header %q: secure %v, want %v", tc.host, tc.peer, tc.tls, tc.header, got, tc.want)
		}
	}
}

// A live gateway's cookies are Secure whatever the request looks like: no
// subscriber signs in to a live page over plain HTTP on loopback.
func TestLiveCookiesAreAlwaysSecure(t *testing.T) {
	p := &Page{cfg: Settings{Livemode: true}}
	e := echo.New()
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/my", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	w := httptest.NewRecorder()
	p.setCookie(e.NewContext(r, w), sessionCookie, "v", time.Minute)
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Fatalf("live cookie over loopback HTTP: %v, want Secure", w.Header().Values("Set-Cookie"))
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"50000", "KRW", 50000, true},
		{"50,000", "KRW", 50000, true},
		{"₩ 50,000", "KRW", 50000, true},
		{"1.99", "USD", 199, true},
		{"2", "USD", 200, true},
		{"2.5", "USD", 250, true},
		{"0.001", "KWD", 1, true},
		{"1.5", "KRW", 0, false},
		{"1.999", "USD", 0, false},
		{"1.", "USD", 0, false},
		{"-5", "KRW", 0, false},
		{"1e5", "KRW", 0, false},
		{"", "KRW", 0, false},
		{"99999999999999999999", "KRW", 0, false},
		{"5", "XXX", 0, false},
	} {
		got, err := parseAmount(tc.in, tc.cur)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d, ok %v", tc.in, tc.cur, got, err, tc.want, tc.ok)
		}
	}
}

var tlsState = tls.ConnectionState{}

// One client address may have only so many sign-in codes texted, whatever
// the numbers (by default 20 in ten minutes, then one each 30 s): else one
// machine could text every number and try three codes on each until some
// stranger's page opened. X-Forwarded-For, which anyone writes, does not
// make another address; a refusal sends nothing and keeps the code waiting.
func TestSignInCodesAreLimitedPerAddress(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		br := b.browser()
		for i := range DefaultCodesPerAddress.Count {
			br.askCode(fmt.Sprintf("+8210555501%02d", i))
		}
		sent := len(b.carrier.Outbox())
		other := b.browser()
		other.header.Set("X-Forwarded-For", "198.51.100.7")
		p := other.post("/my/sign-in", other.form("msisdn", "+821055550199"))
		wantIn(t, p, http.StatusTooManyRequests, "Too many codes were asked for from this network. Try again in 30 s.")
		if p.Header.Get("Retry-After") != "30" {
			t.Fatalf("Retry-After %q, want 30", p.Header.Get("Retry-After"))
		}
		if n := len(b.carrier.Outbox()); n != sent {
			t.Fatalf("%d texts sent past the limit", n-sent)
		}
		wantIn(t, br.get("/my"), http.StatusOK, `id="code-form"`, "+82 10-****-0119")
		b.clock.Advance(30 * time.Second)
		other.askCode("+821055550199")
		wantIn(t, other.post("/my/sign-in", other.form("msisdn", "+821055550198")), http.StatusTooManyRequests)
	})
}

// Codes typed in for one number are counted across its sign-ins, browsers
// and nodes (by default a dozen, then one every two hours): else a guesser
// asking a fresh code every two minutes gets 2,160 tries a day. Over the
// count even the right code opens nothing; another number is not affected.
func TestCodeTriesAreLimitedPerNumber(t *testing.T) {
	eachStoreTuned(t, roomy, func(s *Settings) { s.CodesPerNumber = ratelimit.Quota{Count: -1} }, func(t *testing.T, b *testBundle) {
		tries := 0
		for tries < DefaultTriesPerNumber.Count {
			br := b.browser()
			code := br.askCode(me)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for range 3 {
				br.post("/my/sign-in/code", br.form("code", wrong))
				if tries++; tries == DefaultTriesPerNumber.Count {
					break
				}
			}
		}
		br := b.browser()
		code := br.askCode(me)
		p := br.post("/my/sign-in/code", br.form("code", code))
		wantIn(t, p, http.StatusTooManyRequests, "Too many codes were typed in for this number. Try again in 120 min.")
		if p.Header.Get("Retry-After") != "7200" || cookieNamed(p.Header, sessionCookie) != nil {
			t.Fatalf("Retry-After %q, session %v: want 7200 and none", p.Header.Get("Retry-After"), cookieNamed(p.Header, sessionCookie))
		}
		b.browser().signIn(someoneElse)
		b.clock.Advance(2 * time.Hour)
		br.signIn(me)
	})
}

// The stylesheet is served; the folder it is in is not listed.
func TestStaticServesFilesOnly(t *testing.T) {
	e := echo.New()
	(&Page{}).Mount(e)
	for path, want := range map[string]int{"/my/static/my.css": http.StatusOK, "/my/static/": http.StatusNotFound, "/my/static/nope.css": http.StatusNotFound} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want || strings.Contains(w.Body.String(), "<a href") {
			t.Errorf("GET %s: %d %q, want %d and no listing", path, w.Code, w.Body.String(), want)
		}
	}
}

// shipped are the per-number limits of the default configuration.
var shipped = map[string]ratelimit.Quota{
	billing.LimitSMSPerNumber:     {Count: 5, Per: 10 * time.Minute},
	billing.LimitChargesPerNumber: {Count: 30, Per: time.Minute},
}

// /my texts one number only so many sign-in codes (by default three, then
// one every ten minutes), less than the SMS limit merchants' codes share:
// whoever types a stranger's number in again and again can no longer
// spend its whole quota and so stop every merchant's payment code to it.
func TestSignInCodesLeaveMerchantsRoom(t *testing.T) {
	eachStoreWith(t, shipped, func(t *testing.T, b *testBundle) {
		for range DefaultCodesPerNumber.Count {
			b.browser().askCode(me)
		}
		br := b.browser()
		p := br.post("/my/sign-in", br.form("msisdn", me))
		wantIn(t, p, http.StatusTooManyRequests, "Too many codes were sent to this number. Try again in 10 min.")
		if p.Header.Get("Retry-After") != "600" {
			t.Fatalf("Retry-After %q, want 600", p.Header.Get("Retry-After"))
		}
		if n := len(b.carrier.Outbox()); n != DefaultCodesPerNumber.Count {
			t.Fatalf("%d texts, want %d", n, DefaultCodesPerNumber.Count)
		}
		for range 2 {
			if ch := b.charge(b.merchant, me, 1000, "still payable", ""); ch.Status != billing.StatusRequiresConfirmation {
				t.Fatalf("a merchant's charge after the page's codes: %s", ch.Status)
			}
		}
		b.browser().askCode(someoneElse)
	})
}
