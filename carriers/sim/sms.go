package sim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// smsRecord is one text message a simulated carrier delivered.
type smsRecord struct {
	seq     int64
	carrier string
	msisdn  string
	body    string
	sentAt  time.Time
}

// smsView is one message as GET /sim/sms shows it.
type smsView struct {
	MSISDN string    `json:"msisdn"`
	Body   string    `json:"body"`
	Code   string    `json:"code"`
	SentAt time.Time `json:"sent_at"`
}

// getSMS is GET /sim/sms[?msisdn=]: the messages delivered, newest first, so
// a test reads its confirmation code as a person reads their phone.
func (s *Simulator) getSMS(w http.ResponseWriter, r *http.Request) {
	want := ""
	if raw, ok := r.URL.Query()["msisdn"]; ok && len(raw) > 0 {
		want = normalizeMSISDN(raw[0])
	}
	s.mu.Lock()
	views := make([]smsView, 0)
	for _, m := range slices.Backward(s.inbox) {
		if want == "" || m.msisdn == want {
			views = append(views, smsView{MSISDN: m.msisdn, Body: m.body, Code: codeIn(m.body), SentAt: m.sentAt.UTC()})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, listBody[smsView]{Data: views})
}

// normalizeMSISDN restores the '+' of an E.164 number taken from a query
// string, where an unescaped '+' arrives as a space, or was left out.
func normalizeMSISDN(v string) string {
	v = strings.TrimLeft(v, " ")
	if !strings.HasPrefix(v, "+") {
		v = "+" + v
	}
	return strings.TrimSpace(v)
}

// codeIn returns the first run of 4 to 8 digits in body, the way a person
// spots the code in a message, or "" when there is none.
func codeIn(body string) string {
	for i := 0; i < len(body); {
		if !isDigit(body[i]) {
			i++
			continue
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if n := j - i; n >= 4 && n <= 8 {
			return body[i:j]
		}
		i = j
	}
	return ""
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
