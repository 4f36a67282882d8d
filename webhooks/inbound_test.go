package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"tollgate/carriers"
	"tollgate/internal/web"
)

// callbackServer serves the inbound route in process, as the gateway
// mounts it, with the gateway's problem rendering.
func (b *testBundle) callbackServer() *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = web.ErrorHandler(b.log)
	b.in.Mount(e.Group("/v1"))
	return e
}

// post sends a callback to carrier signed by the fake carrier at `at`;
// sig, when set, replaces the signature.
func (b *testBundle) post(e *echo.Echo, carrier string, body []byte, at time.Time, sig string) *httptest.ResponseRecorder {
	if sig == "" {
		sig = b.carriers.byName["hooky"].(*fakeCarrier).sign(at, body)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/carriers/"+carrier+"/webhooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("X-Signature", sig)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func callbackBody(t *testing.T, id string) []byte {
	t.Helper()
	body, err := json.Marshal(callback{ID: id, Ref: "ch_1", Outcome: string(carriers.OutcomeSucceeded)})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// A carrier's callback is applied only when its signature holds at the
// injected clock's time; anything refused changes nothing.
func TestInboundCallbacksAreVerifiedBeforeAnythingIsApplied(t *testing.T) {
	cases := []struct {
		name    string
		carrier string
		body    string // default: a well-formed callback
		age     time.Duration
		sig     string
		applier error
		status  int
	}{
		{name: "signed", carrier: "hooky", status: 200},
		{name: "signed a minute ago", carrier: "hooky", age: time.Minute, status: 200},
		{name: "wrong signature", carrier: "hooky", sig: "00ff", status: 401},
		{name: "stale", carrier: "hooky", age: callbackTolerance + time.Second, status: 401},
		{name: "from the future", carrier: "hooky", age: -callbackTolerance - time.Second, status: 401},
		{name: "unknown carrier", carrier: "nobody", status: 404},
		{name: "carrier without callbacks", carrier: "plain", status: 404},
		{name: "signed but unreadable", carrier: "hooky", body: "{not json", status: 400},
		{name: "no message id", carrier: "hooky", body: `{"ref": "ch_1", "outcome": "succeeded"}`, status: 400},
		{name: "billing fails", carrier: "hooky", applier: errors.New("database gone"), status: 500},
		// billing finds the message's per-charge credential is not the charge's.
		{name: "credential not the charge's", carrier: "hooky", applier: fmt.Errorf("%w: credential is not charge ch_1's", carriers.ErrBadSignature), status: 401},
	}
	// One store per database; each case sends a message id of its own.
	eachStore(t, func(t *testing.T, b *testBundle) {
		e := b.callbackServer()
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b.applier.mu.Lock()
				b.applier.err = c.applier
				b.applier.mu.Unlock()
				id := "m" + strconv.Itoa(i)
				body := callbackBody(t, id)
				if c.body != "" {
					body = []byte(c.body)
				}
				before := len(b.applier.applied())
				rec := b.post(e, c.carrier, body, b.clock.Now().Add(-c.age), c.sig)
				if rec.Code != c.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
				}
				got := b.applier.applied()[before:]
				var stored int64
				b.store.DB.Model(&carrierMessage{}).Where("message_id = ? OR message_id = ''", id).Count(&stored)
				if c.status != 200 {
					if len(got) != 0 || stored != 0 {
						t.Fatalf("a refused callback applied %d results and stored %d messages", len(got), stored)
					}
					return
				}
				if len(got) != 1 || stored != 1 || got[0].MessageID != id || got[0].ClientReference != "ch_1" || got[0].Result.Outcome != carriers.OutcomeSucceeded {
					t.Fatalf("applied %+v, stored %d", got, stored)
				}
			})
		}
	})
}

// The same message, however often and however concurrently it arrives, is
// handed to billing once; every copy is answered 200 so the carrier stops.
func TestInboundCallbacksAreAppliedOncePerMessageID(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		e := b.callbackServer()
		body := callbackBody(t, "m-dup")
		const copies = 12
		var wg sync.WaitGroup
		answers := make(chan *httptest.ResponseRecorder, copies)
		for range copies {
			wg.Go(func() { answers <- b.post(e, "hooky", body, b.clock.Now(), "") })
		}
		wg.Wait()
		close(answers)
		fresh := 0
		for rec := range answers {
			var out struct{ Duplicate, Matched bool }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != 200 || err != nil {
				t.Fatalf("a copy was answered %d: %s", rec.Code, rec.Body)
			}
			if !out.Duplicate {
				fresh++
				if !out.Matched {
					t.Errorf("the applied copy says unmatched: %s", rec.Body)
				}
			}
		}
		if n := len(b.applier.applied()); n != 1 || fresh != 1 || b.count(t, "carrier_messages") != 1 {
			t.Fatalf("applied %d times, %d answers not duplicate, %d rows", n, fresh, b.count(t, "carrier_messages"))
		}
		// Another message id is another message.
		if rec := b.post(e, "hooky", callbackBody(t, "m-other"), b.clock.Now(), ""); rec.Code != 200 || len(b.applier.applied()) != 2 {
			t.Fatalf("a second message: %d %s, applied %d", rec.Code, rec.Body, len(b.applier.applied()))
		}
	})
}

// A callback naming nothing of ours is kept, marked unmatched, for the
// settlement to find.
func TestAnUnmatchedCallbackIsKeptUnmatched(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.applier.matched = false
		rec := b.post(b.callbackServer(), "hooky", callbackBody(t, "m-stray"), b.clock.Now(), "")
		var row carrierMessage
		if err := b.store.DB.Where("carrier = ? AND message_id = ?", "hooky", "m-stray").Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if rec.Code != 200 || row.Matched || row.ClientReference != "ch_1" || !row.ReceivedAt.Equal(b.clock.Now()) {
			t.Fatalf("%d %s; stored %+v", rec.Code, rec.Body, row)
		}
	})
}
