package sim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// smsRecord is one text message a simulated carrier delivered.
type smsRecord struct {
	seq       int64
	carrier   string
	msisdn    string
	body      string
	reference string // what the message is about (referenceOf), "" when unknown
	sentAt    time.Time
}

// Message is one text message a simulated carrier delivered, as GET
// /sim/sms shows it: what a person reads on their phone, plus the client
// reference of the payment it is about, which a person never sees and the
// gateway's test helper uses to show a merchant only its own messages.
type Message struct {
	MSISDN string `json:"msisdn"`
	Body   string `json:"body"`
	Code   string `json:"code"`
	// Reference is the id the gateway gave what the message is about: the
	// client reference of a payment whose code the carrier sent (CAMARA
	// 2-step, a token API's PIN), or the reference at the head of the
	// message id of a text the gateway sent (clientCorrelator
	// "ch_…:<32 hex>"). Empty when the message names none.
	Reference string    `json:"reference"`
	SentAt    time.Time `json:"sent_at"`
}

// Messages returns the messages delivered to msisdn (E.164), or to everyone
// when msisdn is "", newest first.
func (s *Simulator) Messages(msisdn string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0)
	for _, m := range slices.Backward(s.inbox) {
		if msisdn == "" || m.msisdn == msisdn {
			out = append(out, Message{MSISDN: m.msisdn, Body: m.body, Code: codeIn(m.body), Reference: m.reference, SentAt: m.sentAt.UTC()})
		}
	}
	return out
}

// getSMS is GET /sim/sms[?msisdn=]: the messages delivered, newest first, so
// a test reads its confirmation code as a person reads their phone.
func (s *Simulator) getSMS(w http.ResponseWriter, r *http.Request) {
	want := ""
	if raw, ok := r.URL.Query()["msisdn"]; ok && len(raw) > 0 {
		want = normalizeMSISDN(raw[0])
	}
	writeJSON(w, http.StatusOK, listBody[Message]{Data: s.Messages(want)})
}

// deliverSMS puts a text message from carrier c about ref in phone's
// inbox. Callers hold s.mu.
func (s *Simulator) deliverSMS(c *carrierState, phone, body, ref string) {
	s.inbox = append(s.inbox, smsRecord{seq: s.nextSeq(), carrier: c.name, msisdn: phone, body: body, reference: ref, sentAt: s.now()})
	c.stats.SMSSent++
}

// referenceOf reads the reference at the head of a message id the gateway
// made (carriers.MessageID): "ch_…:" followed by 32 hex digits. Any other
// id names no reference.
func referenceOf(messageID string) string {
	i := strings.LastIndexByte(messageID, ':')
	if i <= 0 || len(messageID)-i-1 != 32 {
		return ""
	}
	for _, b := range []byte(messageID[i+1:]) {
		if !isDigit(b) && (b < 'a' || b > 'f') {
			return ""
		}
	}
	return messageID[:i]
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
