package sim

import (
	"net/http"
	"strings"
)

// GSMA OneAPI SMS, as operators expose it next to CAMARA. Errors are
// answered in CAMARA's shape like the rest of the simulator, not OneAPI's
// requestError, since one client reads both.
const (
	oneAPISMSRequests  = "/smsmessaging/v1/outbound/{senderAddress}/requests"
	telPrefix          = "tel:"
	deliveredToNetwork = "DeliveredToNetwork"
)

type smsRequestBody struct {
	Request *struct {
		Address       []string `json:"address"`
		SenderAddress string   `json:"senderAddress"`
		Message       *struct {
			Message string `json:"message"`
		} `json:"outboundSMSTextMessage"`
		ClientCorrelator string `json:"clientCorrelator"`
	} `json:"outboundSMSMessageRequest"`
}

type smsRequestOut struct {
	Request smsRequestOutBody `json:"outboundSMSMessageRequest"`
}

type smsRequestOutBody struct {
	Address          []string        `json:"address"`
	SenderAddress    string          `json:"senderAddress"`
	Message          smsTextOut      `json:"outboundSMSTextMessage"`
	ClientCorrelator string          `json:"clientCorrelator,omitempty"`
	ResourceURL      string          `json:"resourceURL"`
	DeliveryInfoList deliveryInfoOut `json:"deliveryInfoList"`
}

type smsTextOut struct {
	Message string `json:"message"`
}

type deliveryInfoOut struct {
	DeliveryInfo []deliveryInfo `json:"deliveryInfo"`
	ResourceURL  string         `json:"resourceURL"`
}

type deliveryInfo struct {
	Address        string `json:"address"`
	DeliveryStatus string `json:"deliveryStatus"`
}

// smsRequest is one accepted outbound SMS request, kept to answer a resent
// request with the same clientCorrelator without delivering it twice.
type smsRequest struct {
	out smsRequestOut
}

// sendSMS is OneAPI's outbound SMS request. Every addressee "receives" the
// message in the simulator's inbox (GET /sim/sms).
func (s *Simulator) sendSMS(c *carrierState, r *http.Request, body []byte) reply {
	var req smsRequestBody
	if e := decodeBody(body, &req); e != nil {
		return errorReply(*e)
	}
	m := req.Request
	switch {
	case m == nil:
		return errorReply(errInvalid("Expected property is missing: outboundSMSMessageRequest"))
	case len(m.Address) == 0:
		return errorReply(errInvalid("Expected property is missing: address"))
	case m.Message == nil || m.Message.Message == "":
		return errorReply(errInvalid("Expected property is missing: outboundSMSTextMessage.message"))
	case m.SenderAddress != r.PathValue("senderAddress"):
		return errorReply(errInvalid("senderAddress does not match the sender in the path"))
	}
	phones := make([]string, 0, len(m.Address))
	for _, a := range m.Address {
		phone, ok := strings.CutPrefix(a, telPrefix)
		if !ok || !phonePattern.MatchString(phone) {
			return errorReply(errInvalid("address must be tel:+E.164"))
		}
		phones = append(phones, phone)
	}
	if m.ClientCorrelator != "" {
		if prev := c.smsByCorrelator[m.ClientCorrelator]; prev != nil {
			c.stats.Duplicates++
			return reply{status: http.StatusCreated, body: prev.out, header: http.Header{"Location": {prev.out.Request.ResourceURL}}}
		}
	}

	id := newID("sms_")
	url := r.URL.Path + "/" + id
	out := smsRequestOut{Request: smsRequestOutBody{
		Address:          m.Address,
		SenderAddress:    m.SenderAddress,
		Message:          smsTextOut{Message: m.Message.Message},
		ClientCorrelator: m.ClientCorrelator,
		ResourceURL:      url,
		DeliveryInfoList: deliveryInfoOut{ResourceURL: url + "/deliveryInfos"},
	}}
	ref := referenceOf(m.ClientCorrelator)
	for i, phone := range phones {
		s.deliverSMS(c, phone, m.Message.Message, ref)
		out.Request.DeliveryInfoList.DeliveryInfo = append(out.Request.DeliveryInfoList.DeliveryInfo,
			deliveryInfo{Address: m.Address[i], DeliveryStatus: deliveredToNetwork})
	}
	if m.ClientCorrelator != "" {
		c.smsByCorrelator[m.ClientCorrelator] = &smsRequest{out: out}
	}
	return reply{status: http.StatusCreated, body: out, header: http.Header{"Location": {url}}}
}
