package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"tollgate/billing"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/web"
)

// Each bad input names its parameter; a good one is stored with its secret
// sealed, the secret shown once.
func TestCreateEndpointChecksItsInput(t *testing.T) {
	const own = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cases := []struct {
		name  string
		in    endpointParams
		live  bool
		param string // "" : created
	}{
		{name: "no url", in: endpointParams{EnabledEvents: []string{"*"}}, param: "url"},
		{name: "not http", in: endpointParams{URL: "ftp://x", EnabledEvents: []string{"*"}}, param: "url"},
		{name: "relative", in: endpointParams{URL: "/hook", EnabledEvents: []string{"*"}}, param: "url"},
		{name: "credentials", in: endpointParams{URL: "http://u:p@example.com", EnabledEvents: []string{"*"}}, param: "url"},
		{name: "too long", in: endpointParams{URL: "https://example.com/" + strings.Repeat("a", 2048), EnabledEvents: []string{"*"}}, param: "url"},
		{name: "live over http", in: endpointParams{URL: "http://example.com", EnabledEvents: []string{"*"}}, live: true, param: "url"},
		{name: "no events", in: endpointParams{URL: "https://example.com"}, param: "enabled_events"},
		{name: "unknown event", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{"charge.exploded"}}, param: "enabled_events"},
		{name: "duplicate event", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{billing.EventChargeSucceeded, billing.EventChargeSucceeded}}, param: "enabled_events"},
		{name: "10,000 events", in: endpointParams{URL: "https://example.com", EnabledEvents: slices.Repeat([]string{billing.EventChargeSucceeded}, 10_000)}, param: "enabled_events"},
		{name: "long description", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{"*"}, Description: strings.Repeat("d", 256)}, param: "description"},
		{name: "short secret", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{"*"}, Secret: "whsec_c2hvcnQ="}, param: "secret"},
		{name: "secret without prefix", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{"*"}, Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, param: "secret"},
		{name: "generated secret", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{"*"}}},
		{name: "own secret", in: endpointParams{URL: "https://example.com/hook", EnabledEvents: []string{billing.EventChargeSucceeded}, Secret: own}},
		{name: "live https", in: endpointParams{URL: "https://example.com", EnabledEvents: []string{"*"}}, live: true},
	}
	eachStore(t, func(t *testing.T, b *testBundle) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := b.merchant
				p.Livemode = c.live
				v, err := b.out.createEndpoint(context.Background(), p, c.in)
				if c.param != "" {
					var pr *problem.Problem
					if !errors.As(err, &pr) || pr.Status != 400 || pr.Param != c.param {
						t.Fatalf("got %v, want a 400 on %s", err, c.param)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := secretKey(v.Secret); err != nil || (c.in.Secret != "" && v.Secret != c.in.Secret) {
					t.Fatalf("secret %q: %v", v.Secret, err)
				}
				var row endpoint
				if err := b.store.DB.Where("id = ?", v.ID).Take(&row).Error; err != nil {
					t.Fatal(err)
				}
				opened, err := b.vault.Open(row.SecretEnc)
				if err != nil || opened != v.Secret || strings.Contains(row.SecretEnc, strings.TrimPrefix(v.Secret, secretPrefix)) {
					t.Fatalf("secret at rest %q opens to %q (%v)", row.SecretEnc, opened, err)
				}
				if row.Livemode != c.live || row.Status != endpointEnabled || row.URL != c.in.URL {
					t.Fatalf("stored %+v", row)
				}
			})
		}
	})
}

// api is the merchant API of webhooks mounted as the gateway mounts it,
// with a key per merchant.
type api struct {
	t *testing.T
	e *echo.Echo
}

func (b *testBundle) api(t *testing.T) *api {
	t.Helper()
	e := echo.New()
	e.HTTPErrorHandler = web.ErrorHandler(b.log)
	keys := auth.Keys{DB: b.store.DB, Now: b.clock.Now}
	b.out.Mount(e.Group("/v1"), web.RequireKey(keys, auth.RoleMerchant))
	return &api{t: t, e: e}
}

func (b *testBundle) key(t *testing.T, p auth.Principal) string {
	t.Helper()
	k, err := auth.Keys{DB: b.store.DB, Now: b.clock.Now}.Create(context.Background(), auth.RoleMerchant, p.MerchantID, p.Livemode)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (a *api) call(method, path, key string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// The endpoints and events API: a merchant sees and changes only its own,
// an event shows every attempt, and redelivery sends it again.
func TestEndpointsAndEventsAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		a := b.api(t)
		key, otherKey := b.key(t, b.merchant), b.key(t, b.newMerchant(t, "mer_b"))
		r := newReceiver(t, 1)
		status, ep := a.call("POST", "/v1/webhook_endpoints", key, map[string]any{"url": r.srv.URL, "enabled_events": []string{"*"}})
		if status != 201 || ep["secret"] == nil {
			t.Fatalf("create: %d %v", status, ep)
		}
		r.mu.Lock()
		r.secret = ep["secret"].(string)
		r.mu.Unlock()
		epID := ep["id"].(string)
		if status, got := a.call("GET", "/v1/webhook_endpoints/"+epID, key, nil); status != 200 || got["secret"] != nil || got["url"] != r.srv.URL {
			t.Fatalf("read back: %d %v", status, got)
		}
		for _, m := range []string{"GET", "DELETE"} {
			if status, _ := a.call(m, "/v1/webhook_endpoints/"+epID, otherKey, nil); status != 404 {
				t.Errorf("%s another merchant's endpoint: %d", m, status)
			}
		}
		if status, list := a.call("GET", "/v1/webhook_endpoints", otherKey, nil); status != 200 || len(list["data"].([]any)) != 0 {
			t.Errorf("another merchant lists %v", list)
		}

		b.emit(t, b.merchant, billing.EventChargeProcessing, "ch_1")
		b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_1")
		b.runFor(t, time.Hour)
		status, list := a.call("GET", "/v1/events?type="+billing.EventChargeSucceeded, key, nil)
		if status != 200 || len(list["data"].([]any)) != 1 {
			t.Fatalf("events of a type: %d %v", status, list)
		}
		evID := list["data"].([]any)[0].(map[string]any)["id"].(string)
		_, ev := a.call("GET", "/v1/events/"+evID, key, nil)
		ds, _ := ev["deliveries"].([]any)
		if len(ds) != 1 {
			t.Fatalf("event deliveries: %v", ev)
		}
		d := ds[0].(map[string]any)
		atts := d["attempts"].([]any)
		if d["status"] != deliverySucceeded || len(atts) != 2 || atts[0].(map[string]any)["status_code"] != float64(500) || atts[1].(map[string]any)["status_code"] != float64(200) {
			t.Fatalf("event shows %v", d)
		}
		if status, _ := a.call("GET", "/v1/events/"+evID, otherKey, nil); status != 404 {
			t.Fatalf("another merchant read an event: %d", status)
		}
		if status, _ := a.call("POST", "/v1/events/"+evID+"/redeliver", otherKey, nil); status != 404 {
			t.Fatalf("another merchant redelivered an event: %d", status)
		}

		before := r.accepted()[evID]
		status, out := a.call("POST", "/v1/events/"+evID+"/redeliver", key, nil)
		if status != 202 || out["deliveries_queued"] != float64(1) {
			t.Fatalf("redeliver: %d %v", status, out)
		}
		b.work(t)
		if got := r.accepted()[evID]; got != before+1 {
			t.Fatalf("redelivered event accepted %d times, was %d", got, before)
		}

		if status, _ := a.call("DELETE", "/v1/webhook_endpoints/"+epID, key, nil); status != 200 {
			t.Fatalf("delete: %d", status)
		}
		if status, _ := a.call("GET", "/v1/webhook_endpoints/"+epID, key, nil); status != 404 {
			t.Fatalf("deleted endpoint still there: %d", status)
		}
		sent := len(r.requests())
		b.emit(t, b.merchant, billing.EventChargeRefunded, "ch_1")
		b.runFor(t, time.Hour)
		if len(r.requests()) != sent {
			t.Fatal("a deleted endpoint still receives events")
		}
	})
}
