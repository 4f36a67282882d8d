package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"tollgate/internal/storetest"
)

// chromium finds Debian's headless browser. Under CI=true a missing
// browser fails the test (.ci/run installs it); elsewhere it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium to drive: CI=true needs the browser test to run (apt-get install chromium)")
	}
	t.Skip("no chromium on this machine (apt-get install chromium); the browser test runs in CI")
	return ""
}

// phoneWidth is the narrowest screen /my is made for.
const phoneWidth = 360

// A subscriber, in a real headless Chromium at phone width, signs in to
// /my with the code the simulated carrier texted, sees a charge a merchant
// made through the API, lowers their own cap and revokes a merchant's
// one-tap payment method; the merchant's next API charges are declined for
// it. Before the revoke, they cancel a subscription on /my and ask the first
// merchant for a refund, which the merchants see through the API. The page fits 360 px without sideways scrolling and the browser
// fetches nothing but the gateway's own URLs.
func TestMyPageInARealBrowser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	dialects := storetest.Dialects(t)
	g := start(t, dialects[len(dialects)-1]) // PostgreSQL when the run has it
	const number = "+821055501234"

	paid := g.paid(g.key, number, 5000, "skt")
	if paid.str("status") != "succeeded" {
		t.Fatalf("charge through the API: %s", paid.Raw)
	}
	pm := g.call("POST", "/v1/payment_methods", g.other, newIdem(), map[string]any{"msisdn": number, "carrier": "skt"})
	if pm.Status != 201 {
		t.Fatalf("create payment method: %d %s", pm.Status, pm.Raw)
	}
	pmID := pm.str("id")
	if r := g.call("POST", "/v1/payment_methods/"+pmID+"/confirm", g.other, "", map[string]string{"code": g.smsCodeFor(g.other, number)}); r.str("status") != "active" {
		t.Fatalf("confirm payment method: %d %s", r.Status, r.Raw)
	}

	film := g.call("POST", "/v1/charges", g.other, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pmID, "description": "Film pass", "category": "video"})
	if film.str("status") != "succeeded" {
		t.Fatalf("one-tap charge: %d %s", film.Status, film.Raw)
	}
	if r := g.call("POST", "/v1/charges/"+paid.str("id")+"/refunds", g.key, newIdem(), map[string]any{"amount": 2000}); r.str("status") != "succeeded" {
		t.Fatalf("refund: %d %s", r.Status, r.Raw)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(phoneWidth, 780), chromedp.Flag("lang", "en-US"), chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()
	// A busy two-core machine may take its time starting a browser and
	// rendering; every wait below is on a condition, bounded by this.
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()

	// Every request the page makes, to show it loads nothing from elsewhere.
	var mu sync.Mutex
	var fetched []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			fetched = append(fetched, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	// do runs a step's actions; a failure shows the page as it was.
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v\npage: %s", step, err, page)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	do("ask for a code",
		chromedp.EmulateViewport(phoneWidth, 780, chromedp.EmulateMobile),
		chromedp.Navigate(g.base+"/my?lang=en"), // the switch, whatever the browser's language
		chromedp.WaitVisible(chromedp.ID("msisdn")),
		chromedp.SendKeys(chromedp.ID("msisdn"), number),
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	code := ""
	eventually(t, 30*time.Second, func() (bool, string) {
		for _, m := range g.app.sim.Messages(number) {
			if strings.HasPrefix(m.Reference, "si_") {
				code = m.Code
				return true, ""
			}
		}
		return false, "no sign-in text in the simulator's inbox"
	})
	do("sign in",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("charges")),
		chromedp.WaitVisible(chromedp.ID("charge-"+paid.str("id"))),
	)
	if who := text("#who"); !strings.Contains(who, "+82 10-****-1234") || strings.Contains(who, "5550") {
		t.Fatalf("signed in as %q, want the number masked", who)
	}
	charges := text("#charges")
	for _, want := range []string{"Shop A", "500 gems", "₩5,000", "Partly refunded", "₩2,000 refunded", "Shop B", "Film pass", "₩1,000", "Paid"} {
		if !strings.Contains(charges, want) {
			t.Fatalf("charges %q lack %q", charges, want)
		}
	}

	for _, lang := range []string{"ko", "en"} { // the page in each language fits a phone
		do("the page in "+lang,
			chromedp.Navigate(g.base+"/my?lang="+lang),
			chromedp.WaitVisible(chromedp.ID("charges")),
		)
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.documentElement.scrollWidth > %d", phoneWidth)))
		if err != nil || overflow {
			t.Fatalf("the page in %s is wider than %d px (%v)", lang, phoneWidth, err)
		}
	}
	if title := text("h1"); title != "My phone payments" {
		t.Fatalf("after switching back to English the title is %q", title)
	}
	do("lower the cap",
		chromedp.SetValue(chromedp.ID("cap-amount-KRW"), "8,000"),
		chromedp.Click(chromedp.ID("save-cap-KRW")),
		// Only a page with an own cap offers to restore the carrier's: the
		// new page, not the one the click left.
		chromedp.WaitVisible(chromedp.ID("restore-cap-KRW")),
	)
	if notice := text(".notice"); !strings.Contains(notice, "limit is saved") {
		t.Fatalf("after lowering the cap: %q", notice)
	}
	if spent := text("#spent-KRW"); !strings.Contains(spent, "₩4,000 of ₩8,000") {
		t.Fatalf("this month after lowering the cap: %q, want ₩4,000 of ₩8,000", spent)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(shot) == 0 || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("screenshot of %d bytes is no image", len(shot))
	}
	png := filepath.Join(t.TempDir(), "my-page.png")
	if err := os.WriteFile(png, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Fatalf("screenshot %s: %v", png, err)
	}
	if keep := os.Getenv("TOLLGATE_MY_SCREENSHOT"); keep != "" { // how docs/my-page.png is made
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A subscription on that payment method, confirmed with its own code
	// and starting in ten days; the subscriber cancels it on /my, and asks
	// the first merchant for a refund of what is left of the first charge.
	sub := g.call("POST", "/v1/subscriptions", g.other, newIdem(), map[string]any{"payment_method": pmID, "amount": 3000, "currency": "KRW",
		"interval": "month", "description": "Film club", "start_at": g.clock.Now().UTC().Add(10 * 24 * time.Hour).Format(time.RFC3339)})
	if sub.Status != 201 {
		t.Fatalf("create subscription: %d %s", sub.Status, sub.Raw)
	}
	subID := sub.str("id")
	if r := g.call("POST", "/v1/subscriptions/"+subID+"/confirm", g.other, "", map[string]string{"code": g.smsCodeFor(g.other, number)}); r.str("status") != "active" {
		t.Fatalf("confirm subscription: %d %s", r.Status, r.Raw)
	}
	do("cancel the subscription",
		chromedp.Navigate(g.base+"/my"),
		chromedp.WaitVisible(chromedp.ID("cancel-"+subID)),
	)
	if subs := text("#subscriptions"); !strings.Contains(subs, "Film club") || !strings.Contains(subs, "₩3,000 every month") || !strings.Contains(subs, "next charge") {
		t.Fatalf("subscriptions on /my: %q", subs)
	}
	do("cancel the subscription",
		chromedp.Click(chromedp.ID("cancel-"+subID)),
		chromedp.WaitVisible(chromedp.ID("no-subs")),
	)
	if r := g.call("GET", "/v1/subscriptions/"+subID, g.other, "", nil); r.str("status") != "canceled" || r.str("cancellation_reason") != "requested_by_subscriber" {
		t.Fatalf("the merchant's view after the subscriber canceled: %s", r.Raw)
	}
	chargeID := paid.str("id")
	do("ask for a refund",
		chromedp.WaitVisible(chromedp.CSS("#ask-"+chargeID+" summary")),
		chromedp.Click(chromedp.CSS("#ask-"+chargeID+" summary")),
		chromedp.WaitVisible(chromedp.ID("reason-"+chargeID)),
		chromedp.SendKeys(chromedp.ID("reason-"+chargeID), "The gems never arrived"),
		chromedp.Click(chromedp.ID("send-refund-"+chargeID)),
		chromedp.WaitVisible(chromedp.ID("rr-state-"+chargeID)),
	)
	if state := text("#rr-state-" + chargeID); !strings.Contains(state, "Refund requested") {
		t.Fatalf("the request's state beside the charge: %q", state)
	}
	rrs := g.call("GET", "/v1/refund_requests?status=pending", g.key, "", nil)
	if data, _ := rrs.Body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["charge"] != chargeID ||
		data[0].(map[string]any)["reason"] != "The gems never arrived" || data[0].(map[string]any)["amount"] != float64(3000) {
		t.Fatalf("the merchant's refund requests: %s", rrs.Raw)
	}

	do("revoke the one-tap payment method",
		chromedp.WaitVisible(chromedp.ID("revoke-"+pmID)),
		chromedp.Click(chromedp.ID("revoke-"+pmID)),
		chromedp.WaitVisible(chromedp.ID("no-pms")),
	)

	oneTap := g.call("POST", "/v1/charges", g.other, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pmID})
	if oneTap.Status != 422 || oneTap.str("code") != "payment_method_invalid" {
		t.Fatalf("one-tap charge after the subscriber revoked it: %d %s", oneTap.Status, oneTap.Raw)
	}
	over := g.call("POST", "/v1/charges", g.key, newIdem(), krw(number, 5000, "skt"))
	if over.Status != 422 || over.str("code") != "subscriber_limit_exceeded" {
		t.Fatalf("a charge over the subscriber's own cap (₩4,000 spent of ₩8,000, ₩5,000 more): %d %s", over.Status, over.Raw)
	}
	under := g.call("POST", "/v1/charges", g.key, newIdem(), krw(number, 4000, "skt"))
	if under.Status != 201 {
		t.Fatalf("a charge within the own cap: %d %s", under.Status, under.Raw)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(fetched) == 0 {
		t.Fatal("the browser reported no requests")
	}
	for _, u := range fetched {
		if pu, err := url.Parse(u); err != nil || pu.Scheme+"://"+pu.Host != g.base {
			t.Fatalf("the page fetched %s, outside %s", u, g.base)
		}
	}
}
