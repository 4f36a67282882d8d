package carriers_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/carriers"
)

var fast = carriers.HTTPOptions{AttemptTimeout: 300 * time.Millisecond, MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 20 * time.Millisecond}

// server counts requests and answers each with the next behaviour.
func server(t *testing.T, behaviours ...func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		i := int(n.Add(1)) - 1
		if i >= len(behaviours) {
			i = len(behaviours) - 1
		}
		behaviours[i](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
	}
}

func reset(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.(*net.TCPConn).SetLinger(0)
		_ = conn.Close()
	}
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func post(ctx context.Context, c *http.Client, url string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"amount": 5000}`))
	return c.Do(req)
}

// The policy that matters most: a POST without an idempotency reference is
// never sent twice once it may have reached the carrier — go-retryablehttp's
// default policy would resend it on every one of these.
func TestPOSTWithoutReferenceIsNeverResentAfterItLeft(t *testing.T) {
	c := carriers.NewHTTPClient(fast)
	for name, b := range map[string]func(http.ResponseWriter, *http.Request){
		"503": status(503), "500": status(500), "502": status(502), "429": status(429, "Retry-After", "0"),
		"reset": reset, "timeout": hang,
	} {
		t.Run(name, func(t *testing.T) {
			srv, n := server(t, b, status(201))
			resp, err := post(context.Background(), c, srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if got := n.Load(); got != 1 {
				t.Fatalf("the carrier received %d requests, want 1", got)
			}
		})
	}
}

func TestPOSTWithReferenceIsRetriedThroughTransientFaults(t *testing.T) {
	c := carriers.NewHTTPClient(fast)
	srv, n := server(t, status(503, "Retry-After", "0"), reset, hang, status(502), status(201))
	resp, err := post(carriers.WithResend(context.Background()), c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || n.Load() != 5 {
		t.Fatalf("status %d after %d requests, want 201 after 5", resp.StatusCode, n.Load())
	}
}

func TestBusinessAnswersAreNotRetried(t *testing.T) {
	c := carriers.NewHTTPClient(fast)
	for _, code := range []int{400, 401, 403, 404, 409, 422} {
		srv, n := server(t, status(code), status(201))
		resp, err := post(carriers.WithResend(context.Background()), c, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code || n.Load() != 1 {
			t.Errorf("%d: got %d after %d requests", code, resp.StatusCode, n.Load())
		}
	}
}

func TestADialFailureIsRetriedEvenWithoutReference(t *testing.T) {
	// A port nobody listens on: the request provably never left.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c := carriers.NewHTTPClient(fast)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := post(ctx, c, "http://"+addr)
	if err == nil || !carriers.NeverSent(err) {
		t.Fatalf("err = %v, want a dial error", err)
	}
}

func TestRetryAfterBeyondTheDeadlineIsNotAwaited(t *testing.T) {
	c := carriers.NewHTTPClient(carriers.HTTPOptions{AttemptTimeout: time.Second, MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: time.Minute})
	srv, n := server(t, status(503, "Retry-After", "30"), status(201))
	ctx, cancel := context.WithTimeout(carriers.WithResend(context.Background()), 2*time.Second)
	defer cancel()
	resp, err := post(ctx, c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || n.Load() != 1 || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("got %d after %d requests", resp.StatusCode, n.Load())
	}
}

func TestBackoffHonoursRetryAfterAndJitters(t *testing.T) {
	r := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"1"}}}
	if d := carriers.Backoff(10*time.Millisecond, 2*time.Second, 0, r); d != time.Second {
		t.Fatalf("Retry-After 1 gave %s", d)
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		d := carriers.Backoff(10*time.Millisecond, time.Second, 3, nil)
		if d < 10*time.Millisecond || d > 80*time.Millisecond {
			t.Fatalf("attempt 3 backoff %s outside [10ms, 80ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Fatalf("backoff barely varies: %d distinct values in 50", len(seen))
	}
}

func TestNeverSentRecognisesOnlyDialFailures(t *testing.T) {
	if carriers.NeverSent(errors.New("connection reset by peer")) || carriers.NeverSent(context.DeadlineExceeded) {
		t.Fatal("a failure after sending was taken for never sent")
	}
	if !carriers.NeverSent(&net.OpError{Op: "dial", Err: errors.New("refused")}) || !carriers.NeverSent(&net.DNSError{Err: "no such host"}) {
		t.Fatal("a dial failure was not recognised")
	}
}

// BenchmarkResilientClientOverhead compares one POST through the resilient
// client with the same POST through a plain http.Client, both to a local
// server that answers at once: the difference is the client's own cost.
func BenchmarkResilientClientOverhead(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(201)
	}))
	defer srv.Close()
	for name, c := range map[string]*http.Client{
		"plain":     {Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		"resilient": carriers.NewHTTPClient(carriers.DefaultHTTPOptions),
	} {
		b.Run(name, func(b *testing.B) {
			ctx := carriers.WithResend(context.Background())
			b.ReportAllocs()
			for b.Loop() {
				resp, err := post(ctx, c, srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
