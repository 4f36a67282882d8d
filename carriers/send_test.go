package carriers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
)

func TestSendWritesTheRequestAndReadsTheAnswer(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r, mustRead(r.Body)
		w.Header().Set("X-Total-Count", "3")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"p1"}`)
	}))
	t.Cleanup(srv.Close)

	a, err := carriers.Send(context.Background(), carriers.SendClient(srv.Client()), carriers.Request{
		Method: http.MethodPost, URL: srv.URL + "/payments/a%2Fb", Query: url.Values{"q": {"x y"}},
		Header: http.Header{"x-correlator": {"ch_1"}}, Body: map[string]int{"amount": 5000},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != http.StatusCreated || string(a.Body) != `{"id":"p1"}` || a.Header.Get("X-Total-Count") != "3" {
		t.Fatalf("answer %d %q %v", a.Status, a.Body, a.Header)
	}
	if got.Method != http.MethodPost || got.RequestURI != "/payments/a%2Fb?q=x+y" {
		t.Fatalf("request %s %s", got.Method, got.RequestURI)
	}
	if got.Header.Get("Accept") != "application/json" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("X-Correlator") != "ch_1" || string(gotBody) != `{"amount":5000}` {
		t.Fatalf("headers %v, body %s", got.Header, gotBody)
	}

	// A read sends no body and says so.
	if _, err := carriers.Send(context.Background(), srv.Client(), carriers.Request{Method: http.MethodGet, URL: srv.URL + "/p"}); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("Content-Type") != "" || len(gotBody) != 0 || got.RequestURI != "/p" {
		t.Fatalf("GET with Content-Type %q, body %q, URI %s", got.Header.Get("Content-Type"), gotBody, got.RequestURI)
	}
}

func TestSendReadsAtMostMaxAnswer(t *testing.T) {
	big := strings.Repeat("x", carriers.DefaultMaxAnswer+10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, big)
	}))
	t.Cleanup(srv.Close)
	for limit, want := range map[int64]int{0: carriers.DefaultMaxAnswer, 10: 10} {
		a, err := carriers.Send(context.Background(), srv.Client(), carriers.Request{Method: http.MethodGet, URL: srv.URL, MaxAnswer: limit})
		if err != nil || len(a.Body) != want {
			t.Errorf("MaxAnswer %d: read %d bytes, %v; want %d", limit, len(a.Body), err, want)
		}
	}
}

// A failure to get an answer is ErrNotSent only when the request provably
// never reached the carrier; once it may have, the outcome is unknown.
func TestSendClassifiesFailures(t *testing.T) {
	closedPort := func(t *testing.T) string { // nothing listens there any more
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		return srv.URL
	}
	running := func(h http.HandlerFunc) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		url  func(t *testing.T) string
		body any
		want error
	}{
		{"unreachable carrier", context.Background(), closedPort, nil, carriers.ErrNotSent},
		{"cancelled before a connection", cancelled, running(status(201)), nil, carriers.ErrNotSent},
		{"reset after the request left", context.Background(), running(reset), nil, carriers.ErrOutcomeUnknown},
		{"no answer in time", context.Background(), running(hang), nil, carriers.ErrOutcomeUnknown},
		{"body that is not JSON", context.Background(), running(status(201)), func() {}, carriers.ErrInvalidRequest},
		{"URL that is not one", context.Background(), func(*testing.T) string { return "http://bad host" }, nil, carriers.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := carriers.SendClient(&http.Client{Timeout: 300 * time.Millisecond})
			_, err := carriers.Send(tt.ctx, hc, carriers.Request{Method: http.MethodPost, URL: tt.url(t), Body: tt.body})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSendClientTakesARedirectAsTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	shared := srv.Client()
	a, err := carriers.Send(context.Background(), carriers.SendClient(shared), carriers.Request{Method: http.MethodPost, URL: srv.URL})
	if err != nil || a.Status != http.StatusFound {
		t.Fatalf("%+v, %v", a, err)
	}
	if shared.CheckRedirect != nil {
		t.Fatal("the caller's shared client was changed")
	}
	if c := carriers.SendClient(nil); c.Timeout != carriers.DefaultCallTimeout || c.CheckRedirect == nil {
		t.Fatalf("SendClient(nil) = %+v", c)
	}
}

func TestParseBaseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://carrier.example/api/": "https://carrier.example/api",
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080",
		"http://hub.example/hub//":     "http://hub.example/hub",
	} {
		if got, err := carriers.ParseBaseURL(raw); err != nil || got != want {
			t.Errorf("ParseBaseURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "not a url", "x/y", "ftp://x/y", "http://", "/relative"} {
		if got, err := carriers.ParseBaseURL(raw); err == nil {
			t.Errorf("ParseBaseURL(%q) = %q, want an error", raw, got)
		}
	}
}

func TestAnswersMapToTheErrorVocabulary(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     http.Header
		wantWrite  error // the request could have changed the carrier's books
		wantRead   error
		retryAfter time.Duration // for a 503
	}{
		{"429", 429, nil, carriers.ErrRateLimited, carriers.ErrRateLimited, 0},
		{"500", 500, nil, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, 0},
		{"502", 502, nil, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, 0},
		{"504", 504, nil, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, 0},
		{"503", 503, nil, carriers.ErrUnavailable, carriers.ErrUnavailable, 0},
		{"503 in seconds", 503, http.Header{"Retry-After": {"7"}}, carriers.ErrUnavailable, carriers.ErrUnavailable, 7 * time.Second},
		{"503 as a date", 503, http.Header{"Retry-After": {now.Add(time.Hour).Format(http.TimeFormat)}}, carriers.ErrUnavailable, carriers.ErrUnavailable, time.Hour},
		{"401", 401, nil, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest, 0},
		{"403", 403, nil, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest, 0},
		{"400", 400, nil, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest, 0},
		{"422", 422, nil, carriers.ErrInvalidRequest, carriers.ErrInvalidRequest, 0},
		{"409", 409, nil, carriers.ErrOutcomeUnknown, carriers.ErrInvalidRequest, 0},
		{"404", 404, nil, carriers.ErrNotFound, carriers.ErrNotFound, 0},
		{"302", 302, http.Header{"Location": {"/elsewhere"}}, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &carriers.Answer{Status: tt.status, Header: tt.header}
			for write, want := range map[bool]error{true: tt.wantWrite, false: tt.wantRead} {
				err := carriers.AnswerError(a, write, "HTTP detail", now)
				if !errors.Is(err, want) || !strings.Contains(err.Error(), "HTTP detail") {
					t.Errorf("write %v: %v, want %v", write, err, want)
				}
				var u *carriers.UnavailableError
				if errors.As(err, &u) != (tt.status == 503) || (u != nil && u.RetryAfter != tt.retryAfter) {
					t.Errorf("write %v: %#v, want RetryAfter %s on a 503 only", write, err, tt.retryAfter)
				}
			}
		})
	}
}

func TestUnreadableAnswerIsOutcomeUnknown(t *testing.T) {
	var v struct{}
	err := carriers.UnreadableAnswer(&carriers.Answer{Status: 201}, json.Unmarshal([]byte("{not json"), &v))
	if !errors.Is(err, carriers.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "HTTP 201") {
		t.Fatalf("%v", err)
	}
}

func TestRandomID(t *testing.T) {
	a, b := carriers.RandomID(), carriers.RandomID()
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("%q, %q", a, b)
	}
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}
