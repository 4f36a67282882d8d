package sim

import (
	"encoding/json"
	"net"
	"net/http"
	"time"
)

// apiError is CAMARA's error body; the simulator answers every error in it.
type apiError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Generic CAMARA error codes.
const (
	codeInvalidArgument   = "INVALID_ARGUMENT"
	codeOutOfRange        = "OUT_OF_RANGE"
	codeNotFound          = "NOT_FOUND"
	codeMissingIdentifier = "MISSING_IDENTIFIER"
	codeAlreadyExists     = "ALREADY_EXISTS"
	codeInvalidSink       = "INVALID_SINK"
	codeUnavailable       = "UNAVAILABLE"
	codeTimeout           = "TIMEOUT"
)

func errInvalid(msg string) apiError {
	return apiError{Status: http.StatusBadRequest, Code: codeInvalidArgument, Message: msg}
}

func errNotFound(msg string) apiError {
	return apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: msg}
}

// reply is what a protocol operation answers, written after the simulator's
// lock is released (or not written at all, when the carrier "times out").
type reply struct {
	status int
	body   any
	header http.Header
	// hold: the operation was applied and the carrier now does not answer.
	hold bool
}

func errorReply(e apiError) reply { return reply{status: e.Status, body: e} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do about it
}

func writeError(w http.ResponseWriter, e apiError) { writeJSON(w, e.Status, e) }

func (rp reply) write(w http.ResponseWriter) {
	for k, vs := range rp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, rp.status, rp.body)
}

// hold keeps a request open without answering, as a carrier that billed and
// then hung does, until the client gives up or maxHold passes.
func (s *Simulator) hold(w http.ResponseWriter, r *http.Request) {
	t := time.NewTimer(s.maxHold)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
		writeError(w, apiError{Status: http.StatusGatewayTimeout, Code: codeTimeout, Message: "Request timeout exceeded."})
	}
}

// sleep waits d unless the client goes away first, and reports whether it
// is still there.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// dropConnection closes the client's connection without an answer. With
// reset, a TCP connection is closed with RST as a crashed peer's would be.
// It reports false when the connection cannot be taken over (HTTP/2), and
// the caller answers 503 instead.
func dropConnection(w http.ResponseWriter, reset bool) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return true
}

// listBody is the simulator's own list shape, {"data": [...]}.
type listBody[T any] struct {
	Data []T `json:"data"`
}
