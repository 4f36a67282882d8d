package sim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTokenPayCallbackGivenUpAfterTheLastRetry(t *testing.T) {
	s := New(Options{Carriers: []string{"skt"}, Secrets: map[string]string{"skt": "whsec-internal-test-1"}})
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()

	s.mu.Lock()
	c := s.carriers["skt"]
	c.tp().backoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	m := s.tpMessage(down.URL, tpCallbackBody{Type: tpChargeCompleted, Reference: "ch_1", ChargeID: "chg_1", Status: tpSucceeded})
	s.mu.Unlock()

	s.tpDeliver(c, m) // synchronous here: returns once the carrier gives up

	sent := s.Callbacks("skt")
	if len(sent) != 4 {
		t.Fatalf("%d attempts, want 4", len(sent))
	}
	for i, sc := range sent {
		if sc.Attempt != i+1 || sc.Status != http.StatusBadGateway || sc.MessageID != m.id {
			t.Errorf("attempt %d: %+v", i+1, sc)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := c.stats; st.CallbacksFailed != 4 || st.CallbacksSent != 0 || st.CallbacksAbandoned != 1 {
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
