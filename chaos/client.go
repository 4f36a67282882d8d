package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// client is the merchant: it spreads requests over the nodes and sends a
// request again, with the same Idempotency-Key, to the next node until it
// has a definite answer, as a merchant behind a load balancer would.
type client struct {
	nodes []string // base URLs
	// out marks nodes the load balancer leaves out: killed, or back but
	// not yet on the others' test clock.
	out  []atomic.Bool
	key  string
	http *http.Client
	next atomic.Uint64
	// patience bounds how long one request is retried.
	patience time.Duration

	mu      sync.Mutex
	answers map[string]int // "500", "503 carrier_unavailable", "transport", …: every indefinite answer seen
}

// answer is one HTTP exchange's outcome.
type answer struct {
	Status     int
	Body       map[string]any
	Raw        []byte
	RetryAfter string
}

func (a answer) str(k string) string { s, _ := a.Body[k].(string); return s }

// errNoAnswer: the request was retried for the client's whole patience
// without a definite answer.
var errNoAnswer = errors.New("no definite answer")

func (c *client) note(kind string) {
	c.mu.Lock()
	c.answers[kind]++
	c.mu.Unlock()
}

// do sends one request until it has a definite answer: any 2xx, and any 4xx
// but 409 idempotency_request_in_progress and 429. 5xx and transport errors
// are retried (503 after its Retry-After), on the next node.
func (c *client) do(ctx context.Context, method, path, idem string, body any) (answer, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	deadline := time.Now().Add(c.patience)
	for try := 0; ; try++ {
		base := c.pick()
		a, err := c.once(ctx, method, base+path, idem, raw)
		wait := time.Duration(min(try, 5)) * 200 * time.Millisecond
		switch {
		case err != nil:
			c.note("transport error")
		case a.Status == http.StatusServiceUnavailable:
			c.note("503 " + a.str("code"))
			if s, _ := strconv.Atoi(a.RetryAfter); s > 0 {
				wait = time.Duration(min(s, 5)) * time.Second
			}
		case a.Status >= 500:
			c.note(fmt.Sprintf("%d %s", a.Status, a.str("code")))
		case a.Status == http.StatusTooManyRequests:
			c.note("429")
			wait = time.Second
		case a.Status == http.StatusConflict && a.str("code") == "idempotency_request_in_progress":
			c.note("409 in progress")
		default:
			return a, nil
		}
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		if time.Now().After(deadline) {
			return answer{}, fmt.Errorf("%s %s: %w after %s", method, path, errNoAnswer, c.patience)
		}
		select {
		case <-ctx.Done():
			return answer{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// pick is the next node in turn that is not left out (any node if all are).
func (c *client) pick() string {
	for range len(c.nodes) {
		i := c.next.Add(1) % uint64(len(c.nodes))
		if c.out == nil || !c.out[i].Load() {
			return c.nodes[i]
		}
	}
	return c.nodes[c.next.Add(1)%uint64(len(c.nodes))]
}

func (c *client) once(ctx context.Context, method, url, idem string, raw []byte) (answer, error) {
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return answer{}, err
	}
	a := answer{Status: res.StatusCode, Raw: b, RetryAfter: res.Header.Get("Retry-After")}
	_ = json.Unmarshal(b, &a.Body)
	return a, nil
}
