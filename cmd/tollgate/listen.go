package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tollgate/client"
	"tollgate/webhooks"
)

// cmdListen follows a test merchant's events through the API and forwards
// each to a local endpoint, signed as the gateway signs real deliveries
// (Standard Webhooks) with a secret it prints at start, as "stripe listen"
// does: a developer's server gets events without a public URL.
func cmdListen(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	testClient := testClientFlags(fs, getenv)
	forward := fs.String("forward-to", "", "where to POST each event, e.g. http://localhost:3000/webhooks (required)")
	allowRemote := fs.Bool("allow-remote", false, "allow a --forward-to host other than localhost, 127.0.0.1 or [::1]")
	secret := fs.String("secret", "", "sign with this whsec_ secret instead of a new one (keeps a local server's setting across runs)")
	interval := fs.Duration("interval", time.Second, "how often to ask the gateway for new events")
	types := fs.String("events", "*", "comma-separated event types to forward, * for all")
	return fs, func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageError{synopsis["listen"]}
		}
		c, err := testClient()
		if err != nil {
			return err
		}
		target, err := forwardTarget(*forward, *allowRemote)
		if err != nil {
			return err
		}
		if *interval < 10*time.Millisecond {
			return usageError{"--interval must be at least 10ms"}
		}
		if *secret == "" {
			*secret = webhooks.NewSecret()
		} else if _, err := webhooks.Sign(*secret, "probe", time.Now(), nil); err != nil {
			return fmt.Errorf("--secret: %w", err)
		}
		wanted := map[string]bool{}
		for _, t := range strings.Split(*types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				wanted[t] = true
			}
		}
		l := &listener{c: c, target: target, secret: *secret, wanted: wanted, out: stdout,
			http: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		// What happened before listen started is history, not news.
		if err := l.catchUp(ctx, true); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Ready. Forwarding test events to %s; signing secret %s\n", target, *secret)
		tick := time.NewTicker(*interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			if err := l.catchUp(ctx, false); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				fmt.Fprintf(stdout, "%s  cannot read events: %v\n", time.Now().UTC().Format(time.RFC3339), err)
			}
		}
	}
}

// testClientFlags declares the gateway's URL and a merchant's test key on
// fs, and returns what builds the client from them once parsed, refusing
// any key but a test one.
func testClientFlags(fs *flag.FlagSet, getenv func(string) string) func() (*client.Client, error) {
	base := fs.String("url", envOr(getenv, "TOLLGATE_URL", "http://127.0.0.1:8080"), "the gateway's base URL (or TOLLGATE_URL)")
	key := fs.String("key", getenv("TOLLGATE_KEY"), "a merchant's test key, tg_test_… (or TOLLGATE_KEY); live keys are refused")
	return func() (*client.Client, error) {
		if err := testKey(*key); err != nil {
			return nil, err
		}
		return client.New(*base, *key)
	}
}

// testKey refuses anything but a merchant's test key: listen and trigger
// are for development, and a live merchant's events go to its endpoints.
func testKey(key string) error {
	switch {
	case key == "":
		return usageError{"--key (or TOLLGATE_KEY) is required: a merchant's test key, tg_test_…"}
	case strings.HasPrefix(key, "tg_live_"):
		return errors.New("this is a live key: listen and trigger work in test mode only; use the merchant's test key (tg_test_…)")
	case !strings.HasPrefix(key, "tg_test_"):
		return errors.New("listen and trigger need a merchant's test key (tg_test_…), not a finance or admin key")
	}
	return nil
}

// forwardTarget checks --forward-to: an absolute http(s) URL, on this
// machine unless --allow-remote, so signed events do not leave it by a typo.
func forwardTarget(raw string, allowRemote bool) (string, error) {
	if raw == "" {
		return "", usageError{"--forward-to is required, e.g. http://localhost:3000/webhooks"}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("--forward-to must be an http(s) URL without credentials, e.g. http://localhost:3000/webhooks; got %q", raw)
	}
	if !allowRemote && !localHost(u.Hostname()) {
		return "", fmt.Errorf("--forward-to %s is not on this machine (localhost, 127.0.0.1, [::1]); add --allow-remote to send test events there", u.Host)
	}
	return u.String(), nil
}

func localHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

type listener struct {
	c      *client.Client
	target string
	secret string
	wanted map[string]bool
	out    io.Writer
	http   *http.Client
	seen   map[string]bool
	order  []string // seen ids, oldest first, to bound the set
}

// maxSeen bounds memory: far more events than one poll can bring.
const maxSeen = 10000

// catchUp reads events newest first and forwards the ones not seen yet,
// oldest first. It reads the whole newest page even past a seen event: on
// PostgreSQL an event's sequence number is taken before its transaction
// commits, so a slightly older one may appear after a newer one was seen.
// Older pages are read only while a page holds nothing seen. The first call
// only records what exists: history is not replayed.
func (l *listener) catchUp(ctx context.Context, first bool) error {
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	var fresh []client.Event
	p := client.EventListParams{ListParams: client.ListParams{Limit: 100}}
	for {
		page, err := l.c.ListEvents(ctx, p)
		if err != nil {
			return err
		}
		sawOld := false
		for _, ev := range page.Data {
			if l.seen[ev.ID] {
				sawOld = true
				continue
			}
			if ev.Livemode {
				return errors.New("the gateway answered a live event: listen forwards test events only")
			}
			fresh = append(fresh, ev)
		}
		if first || sawOld || !page.HasMore || len(page.Data) == 0 || len(fresh) >= maxSeen {
			break
		}
		p.StartingAfter = page.Data[len(page.Data)-1].ID
	}
	for i := len(fresh) - 1; i >= 0; i-- {
		ev := fresh[i]
		l.remember(ev.ID)
		if first || !(l.wanted["*"] || l.wanted[ev.Type]) {
			continue
		}
		l.forward(ctx, ev)
	}
	return nil
}

func (l *listener) remember(id string) {
	l.seen[id] = true
	l.order = append(l.order, id)
	if len(l.order) > maxSeen {
		delete(l.seen, l.order[0])
		l.order = l.order[1:]
	}
}

// forward posts one event as the gateway's webhook sender would: the same
// body, the same three Standard Webhooks headers, signed now.
func (l *listener) forward(ctx context.Context, ev client.Event) {
	body, err := json.Marshal(struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		Type      string `json:"type"`
		CreatedAt string `json:"created_at"`
		Livemode  bool   `json:"livemode"`
		Data      struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}{ID: ev.ID, Object: "event", Type: ev.Type, CreatedAt: ev.CreatedAt.UTC().Format(time.RFC3339), Livemode: ev.Livemode, Data: ev.Data})
	stamp := time.Now().UTC().Format(time.RFC3339)
	if err != nil {
		fmt.Fprintf(l.out, "%s  %s  %s  → not sent: %v\n", stamp, ev.Type, ev.ID, err)
		return
	}
	at := time.Now()
	sig, err := webhooks.Sign(l.secret, ev.ID, at, body)
	if err != nil {
		fmt.Fprintf(l.out, "%s  %s  %s  → not sent: %v\n", stamp, ev.Type, ev.ID, err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.target, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(l.out, "%s  %s  %s  → not sent: %v\n", stamp, ev.Type, ev.ID, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tollgate-listen/1")
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	res, err := l.http.Do(req)
	if err != nil {
		fmt.Fprintf(l.out, "%s  %s  %s  → %v\n", stamp, ev.Type, ev.ID, err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	fmt.Fprintf(l.out, "%s  %s  %s  → %d\n", stamp, ev.Type, ev.ID, res.StatusCode)
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
