package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/client"
)

// signedReceiver is a merchant's local webhook endpoint that verifies every
// delivery with the secret listen printed.
type signedReceiver struct {
	mu       sync.Mutex
	secret   string
	verified []*client.Event
	refused  int
}

func (r *signedReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	ev, err := client.VerifyWebhook(r.secret, body, req.Header)
	if err != nil {
		r.refused++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.verified = append(r.verified, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (r *signedReceiver) find(typ, objectID string) (*client.Event, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.verified {
		var obj struct{ ID string }
		if ev.Type == typ && ev.Decode(&obj) == nil && obj.ID == objectID {
			return ev, r.refused
		}
	}
	return nil, r.refused
}

// lockedBuffer is stdout shared by a running command and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listen forwards what trigger makes happen to a signedReceiver on 127.0.0.1,
// signed so that the signedReceiver's verification (Standard Webhooks, the
// secret listen printed) accepts it.
func TestListenForwardsTriggeredEventsSigned(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		recv := &signedReceiver{}
		srv := httptest.NewServer(recv) // 127.0.0.1
		defer srv.Close()
		getenv := func(k string) string { return map[string]string{"TOLLGATE_KEY": g.key}[k] }

		// An event from before listen started is not replayed.
		before := g.paid(g.key, "+821099990001", 1000, "skt")

		ctx, cancel := context.WithCancel(context.Background())
		out := &lockedBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"listen", "--url", g.base, "--forward-to", srv.URL + "/webhooks", "--interval", "50ms"}, out, io.Discard, getenv)
		}()
		secretRE := regexp.MustCompile(`signing secret (whsec_\S+)`)
		eventually(t, 30*time.Second, func() (bool, string) {
			m := secretRE.FindStringSubmatch(out.String())
			if m == nil {
				return false, "listen printed no secret: " + out.String()
			}
			recv.mu.Lock()
			recv.secret = m[1]
			recv.mu.Unlock()
			return true, ""
		})

		for _, event := range []string{"charge.succeeded", "refund.succeeded", "payment_method.activated"} {
			var trig bytes.Buffer
			if err := run(context.Background(), []string{"trigger", event, "--url", g.base}, &trig, io.Discard, getenv); err != nil {
				t.Fatalf("trigger %s: %v\n%s", event, err, trig.String())
			}
			id := regexp.MustCompile(`(?:re|pm|ch)_\w+`).FindString(trig.String())
			if event == "refund.succeeded" {
				id = regexp.MustCompile(`refund (re_\w+)`).FindStringSubmatch(trig.String())[1]
			}
			eventually(t, 60*time.Second, func() (bool, string) {
				ev, refused := recv.find(event, id)
				if refused > 0 {
					t.Fatalf("the signedReceiver refused %d deliveries", refused)
				}
				return ev != nil && !ev.Livemode, event + " for " + id + " not received; listen says:\n" + out.String()
			})
		}
		if ev, _ := recv.find("charge.succeeded", before.str("id")); ev != nil {
			t.Error("an event from before listen started was forwarded")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("listen did not stop when its context ended")
		}
		if !strings.Contains(out.String(), "charge.succeeded") || !strings.Contains(out.String(), "→ 204") {
			t.Errorf("listen's log:\n%s", out.String())
		}
	})
}

func TestListenAndTriggerRefuse(t *testing.T) {
	t.Parallel()
	none := func(string) string { return "" }
	for _, c := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"listen", "--key", "tg_live_x", "--forward-to", "http://localhost:3000/h"}, "live key", false},
		{[]string{"listen", "--key", "tg_fin_x", "--forward-to", "http://localhost:3000/h"}, "test key", false},
		{[]string{"listen", "--key", "tg_test_x", "--forward-to", "http://example.com/h"}, "not on this machine", false},
		{[]string{"listen", "--key", "tg_test_x", "--forward-to", "ftp://127.0.0.1/h"}, "http(s) URL", false},
		{[]string{"listen", "--key", "tg_test_x"}, "--forward-to is required", true},
		{[]string{"listen", "--forward-to", "http://127.0.0.1:3000/h"}, "--key", true},
		{[]string{"trigger", "charge.succeeded", "--key", "tg_live_x"}, "live key", false},
		{[]string{"trigger", "charge.teleported", "--key", "tg_test_x"}, "unknown event", true},
		{[]string{"trigger"}, "events: charge.canceled", true},
	} {
		var out bytes.Buffer
		err := run(context.Background(), c.args, &out, &out, none)
		var u usageError
		if err == nil || !strings.Contains(err.Error(), c.want) || asUsage(err, &u) != c.usage {
			t.Errorf("%v: %v (usage error: %v), want %q", c.args, err, asUsage(err, &u), c.want)
		}
	}
}

// Every event trigger knows happens, as the events feed shows.
func TestTriggerMakesEveryEvent(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		getenv := func(k string) string { return map[string]string{"TOLLGATE_KEY": g.key, "TOLLGATE_URL": g.base}[k] }
		for event := range triggers {
			var out bytes.Buffer
			if err := run(context.Background(), []string{"trigger", event}, &out, io.Discard, getenv); err != nil {
				t.Fatalf("trigger %s: %v\n%s", event, err, out.String())
			}
			r := g.call("GET", "/v1/events?type="+event, g.key, "", nil)
			if data, _ := r.Body["data"].([]any); r.Status != http.StatusOK || len(data) == 0 {
				t.Errorf("trigger %s printed %q but the feed holds no such event: %s", event, out.String(), r.Raw)
			}
		}
	})
}
