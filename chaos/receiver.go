package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiver is the merchant's webhook endpoint on 127.0.0.1. It verifies
// every delivery with the Standard Webhooks reference library and counts
// deliveries per event id (at least once: duplicates are fine, a missing
// event is not).
type receiver struct {
	url string
	srv *http.Server

	mu        sync.Mutex
	wh        *standardwebhooks.Webhook
	unsigned  int                        // deliveries that failed verification
	events    map[string]int             // event id → deliveries
	byCharge  map[string]map[string]bool // charge id → event types received
	delivered int
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hooks", events: map[string]int{}, byCharge: map[string]map[string]bool{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// setSecret is the endpoint's whsec_ secret, shown once when it is made.
func (r *receiver) setSecret(secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.wh = wh
	r.mu.Unlock()
	return nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wh == nil || r.wh.Verify(body, req.Header) != nil {
		r.unsigned++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		r.unsigned++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.delivered++
	r.events[ev.ID]++
	if ev.Data.Object.Object == "charge" {
		m := r.byCharge[ev.Data.Object.ID]
		if m == nil {
			m = map[string]bool{}
			r.byCharge[ev.Data.Object.ID] = m
		}
		m[ev.Type] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

// got reports whether an event of type typ about charge id arrived.
func (r *receiver) got(id, typ string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byCharge[id][typ]
}

// figures: deliveries, distinct events, deliveries beyond the first, and
// deliveries that failed verification.
func (r *receiver) figures() (delivered, distinct, duplicates, unsigned int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.events {
		duplicates += n - 1
	}
	return r.delivered, len(r.events), duplicates, r.unsigned
}

func (r *receiver) close() { _ = r.srv.Close() }
