package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// allCarriers names every simulated carrier in PUT /sim/faults.
const allCarriers = "*"

// maxLatencyMS bounds injected latency.
const maxLatencyMS = 60_000

// maxDropAnswers bounds how many answers one PUT may drop.
const maxDropAnswers = 1000

// faults are what a simulated carrier does wrong, from now on. They apply to
// protocol endpoints only, never to the simulator's own /sim/ endpoints.
type faults struct {
	ErrorRate   float64 `json:"error_rate"`   // answer 503 before doing anything
	TimeoutRate float64 `json:"timeout_rate"` // do it, then never answer
	ResetRate   float64 `json:"reset_rate"`   // reset the connection before doing anything
	LatencyMS   int     `json:"latency_ms"`   // answer this much later
	Down        bool    `json:"down"`         // close every connection unanswered
	// DropAnswers: the next this many write requests (POST) that name
	// DropReference (every write when it is empty) are carried out, and then
	// their connection is reset instead of answered: the carrier did the
	// work and the client never heard. Counts down to 0.
	DropAnswers   int    `json:"drop_answers"`
	DropReference string `json:"drop_reference"`
	// Settlement-file faults, drawn per row by the report generator (reports.go).
	ReportDropRate       float64 `json:"report_drop_rate"`
	ReportAmountSkewRate float64 `json:"report_amount_skew_rate"`
	ReportPhantomRate    float64 `json:"report_phantom_rate"`
}

// faultsView is one carrier's faults as GET and PUT answer them.
type faultsView struct {
	Carrier string `json:"carrier"`
	faults
}

// faultsPatch is PUT /sim/faults: fields left out keep their value.
type faultsPatch struct {
	Carrier              string   `json:"carrier"`
	ErrorRate            *float64 `json:"error_rate"`
	TimeoutRate          *float64 `json:"timeout_rate"`
	ResetRate            *float64 `json:"reset_rate"`
	LatencyMS            *int     `json:"latency_ms"`
	Down                 *bool    `json:"down"`
	DropAnswers          *int     `json:"drop_answers"`
	DropReference        *string  `json:"drop_reference"`
	ReportDropRate       *float64 `json:"report_drop_rate"`
	ReportAmountSkewRate *float64 `json:"report_amount_skew_rate"`
	ReportPhantomRate    *float64 `json:"report_phantom_rate"`
}

func (p faultsPatch) validate() error {
	rates := []struct {
		name string
		v    *float64
	}{
		{"error_rate", p.ErrorRate}, {"timeout_rate", p.TimeoutRate}, {"reset_rate", p.ResetRate},
		{"report_drop_rate", p.ReportDropRate}, {"report_amount_skew_rate", p.ReportAmountSkewRate},
		{"report_phantom_rate", p.ReportPhantomRate},
	}
	for _, r := range rates {
		if r.v != nil && !(*r.v >= 0 && *r.v <= 1) {
			return fmt.Errorf("%s must be between 0 and 1", r.name)
		}
	}
	if p.LatencyMS != nil && (*p.LatencyMS < 0 || *p.LatencyMS > maxLatencyMS) {
		return fmt.Errorf("latency_ms must be between 0 and %d", maxLatencyMS)
	}
	if p.DropAnswers != nil && (*p.DropAnswers < 0 || *p.DropAnswers > maxDropAnswers) {
		return fmt.Errorf("drop_answers must be between 0 and %d", maxDropAnswers)
	}
	return nil
}

func (p faultsPatch) apply(f *faults) {
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&f.ErrorRate, p.ErrorRate)
	set(&f.TimeoutRate, p.TimeoutRate)
	set(&f.ResetRate, p.ResetRate)
	set(&f.ReportDropRate, p.ReportDropRate)
	set(&f.ReportAmountSkewRate, p.ReportAmountSkewRate)
	set(&f.ReportPhantomRate, p.ReportPhantomRate)
	if p.LatencyMS != nil {
		f.LatencyMS = *p.LatencyMS
	}
	if p.Down != nil {
		f.Down = *p.Down
	}
	if p.DropAnswers != nil {
		f.DropAnswers = *p.DropAnswers
	}
	if p.DropReference != nil {
		f.DropReference = *p.DropReference
	}
}

// putFaults is PUT /sim/faults. It answers the faults now in force: one
// object for a named carrier, {"data": [...]} for "*".
func (s *Simulator) putFaults(w http.ResponseWriter, r *http.Request) {
	var p faultsPatch
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	d.DisallowUnknownFields() // a misspelt fault would otherwise be silently ignored
	if err := d.Decode(&p); err != nil {
		writeError(w, errInvalid("faults body: "+err.Error()))
		return
	}
	if err := p.validate(); err != nil {
		writeError(w, errInvalid(err.Error()))
		return
	}
	s.mu.Lock()
	var targets []*carrierState
	switch {
	case p.Carrier == allCarriers:
		for _, name := range s.names {
			targets = append(targets, s.carriers[name])
		}
	case s.carriers[p.Carrier] != nil:
		targets = []*carrierState{s.carriers[p.Carrier]}
	}
	views := make([]faultsView, 0, len(targets))
	for _, c := range targets {
		p.apply(&c.faults)
		views = append(views, faultsView{Carrier: c.name, faults: c.faults})
	}
	s.mu.Unlock()

	switch {
	case p.Carrier == allCarriers:
		writeJSON(w, http.StatusOK, listBody[faultsView]{Data: views})
	case len(views) == 1:
		writeJSON(w, http.StatusOK, views[0])
	default:
		writeError(w, errInvalid(fmt.Sprintf("carrier must be a simulated carrier or %q", allCarriers)))
	}
}

// getFaults is GET /sim/faults[?carrier=].
func (s *Simulator) getFaults(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("carrier")
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		c := s.carriers[name]
		if c == nil {
			writeError(w, errNotFound("no simulated carrier "+name))
			return
		}
		writeJSON(w, http.StatusOK, faultsView{Carrier: c.name, faults: c.faults})
		return
	}
	views := make([]faultsView, 0, len(s.names))
	for _, n := range s.names {
		views = append(views, faultsView{Carrier: n, faults: s.carriers[n].faults})
	}
	writeJSON(w, http.StatusOK, listBody[faultsView]{Data: views})
}

// verdict is what injected faults decided for one request.
type verdict struct {
	latency time.Duration
	down    bool
	fail    bool // 503
	reset   bool
	timeout bool // apply, then hold
}

// decide draws the faults for one request on c. Callers hold s.mu.
func (s *Simulator) decide(c *carrierState) verdict {
	f := c.faults
	v := verdict{latency: time.Duration(f.LatencyMS) * time.Millisecond, down: f.Down}
	if v.latency > 0 {
		c.stats.Faults.LatencyApplied++
	}
	switch {
	case v.down:
		c.stats.Faults.DownRefusals++
	case s.roll(f.ErrorRate):
		v.fail = true
		c.stats.Faults.Errors++
	case s.roll(f.ResetRate):
		v.reset = true
		c.stats.Faults.Resets++
	case s.roll(f.TimeoutRate):
		v.timeout = true
		c.stats.Faults.Timeouts++
	}
	return v
}

// inject carries out the faults that stop a request before the operation,
// and reports whether the operation should go ahead.
func (v verdict) inject(w http.ResponseWriter, r *http.Request) bool {
	if v.latency > 0 && !sleep(r, v.latency) {
		return false
	}
	unavailable := apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "Service unavailable."}
	switch {
	case v.down:
		// A dead host never answers; the closest an HTTP handler gets is to
		// drop the connection it was given.
		if !dropConnection(w, false) {
			writeError(w, unavailable)
		}
		return false
	case v.fail:
		writeError(w, unavailable)
		return false
	case v.reset:
		if !dropConnection(w, true) {
			writeError(w, unavailable)
		}
		return false
	}
	return true
}

// dropAnswer reports whether the answer to this request, already carried
// out, is to be dropped (drop_answers), and counts one down if so. A request
// names a reference when its x-correlator is the reference or its body has
// it as a JSON string: that covers every protocol's client reference
// without reading each one's fields. Callers hold s.mu.
func (c *carrierState) dropAnswer(r *http.Request, body []byte) bool {
	f := &c.faults
	if f.DropAnswers <= 0 || r.Method != http.MethodPost {
		return false
	}
	if ref := f.DropReference; ref != "" && r.Header.Get(headerCorrelator) != ref {
		quoted, _ := json.Marshal(ref)
		if !bytes.Contains(body, quoted) {
			return false
		}
	}
	f.DropAnswers--
	c.stats.Faults.AnswersDropped++
	return true
}
