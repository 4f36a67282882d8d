package sim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestTokenPayCallbackGivenUpAfterTheLastRetry(t *testing.T) {
	// The backoff passes at once, and is recorded: the schedule is checked,
	// not waited for.
	var waited []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		waited = append(waited, d)
		ch := make(chan time.Time, 1)
		ch <- time.Time{}
		return ch
	}
	s := New(Options{Carriers: []string{"skt"}, Secrets: map[string]string{"skt": "whsec-internal-test-1"}, After: after})
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()

	s.mu.Lock()
	c := s.carriers["skt"]
	m := s.tpMessage(down.URL, tpCallbackBody{Type: tpChargeCompleted, Reference: "ch_1", ChargeID: "chg_1", Status: tpSucceeded})
	s.mu.Unlock()

	s.tpDeliver(c, m) // synchronous here: returns once the carrier gives up

	sent := s.Callbacks("skt")
	if len(sent) != len(tpCallbackBackoff)+1 {
		t.Fatalf("%d attempts, want %d", len(sent), len(tpCallbackBackoff)+1)
	}
	if !slices.Equal(waited, tpCallbackBackoff) {
		t.Errorf("waited %v between attempts, want %v", waited, tpCallbackBackoff)
	}
	for i, sc := range sent {
		if sc.Attempt != i+1 || sc.Status != http.StatusBadGateway || sc.MessageID != m.id {
			t.Errorf("attempt %d: %+v", i+1, sc)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := c.stats; st.CallbacksFailed != int64(len(sent)) || st.CallbacksSent != 0 || st.CallbacksAbandoned != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTokenPayUnsignedWithoutASecret(t *testing.T) {
	s := New(Options{Carriers: []string{"skt"}})
	ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ok.Close()
	s.mu.Lock()
	c := s.carriers["skt"]
	m := s.tpMessage(ok.URL, tpCallbackBody{Type: tpChargeCompleted, Reference: "ch_1", ChargeID: "chg_1", Status: tpSucceeded})
	s.mu.Unlock()
	s.tpDeliver(c, m)
	sent := s.Callbacks("skt")
	if len(sent) != 1 || sent[0].Header.Get(tpSignatureHeader) != "" || !sent[0].Delivered() {
		t.Fatalf("sent %+v", sent)
	}
}
