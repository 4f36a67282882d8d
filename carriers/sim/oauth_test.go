package sim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"tollgate/carriers/sim"
)

const (
	sktOAuth     = "/sim/skt/camara/oauth2"
	clientID     = "tollgate-test"
	clientSecret = "sim-skt-client-secret-0123"
)

// setupOAuth is setup with skt asking for access tokens.
func setupOAuth(t *testing.T) *env {
	t.Helper()
	clk := newClock()
	s := sim.New(sim.Options{
		Carriers: []string{"skt", "kt"}, Now: clk.Now, After: clk.After, Seed: 1,
		OAuthClients: map[string]sim.OAuthClient{"skt": {ID: clientID, Secret: clientSecret}},
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, clock: clk, sim: s}
}

// form posts a form to the authorization server as the client (secret as given).
func (e *env) form(path, secret string, v url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+sktOAuth+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (e *env) clientToken(scope string) string {
	e.t.Helper()
	st, m := e.form("/token", clientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
	if st != http.StatusOK || m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) {
		e.t.Fatalf("token: %d %v", st, m)
	}
	return m["access_token"].(string)
}

// cibaToken runs CIBA for phone, approved at the first poll.
func (e *env) cibaToken(phone, scope string) string {
	e.t.Helper()
	st, ar := e.form("/bc-authorize", clientSecret, url.Values{"scope": {"openid " + scope}, "login_hint": {"tel:" + phone}})
	if st != http.StatusOK || ar["auth_req_id"] == "" || ar["interval"] != float64(1) {
		e.t.Fatalf("bc-authorize: %d %v", st, ar)
	}
	st, m := e.form("/token", clientSecret, url.Values{"grant_type": {"urn:openid:params:grant-type:ciba"}, "auth_req_id": {ar["auth_req_id"].(string)}})
	if st != http.StatusOK {
		e.t.Fatalf("ciba token: %d %v", st, m)
	}
	return m["access_token"].(string)
}

func bearer(tok string) []string {
	return []string{"x-correlator", "c-1", "Authorization", "Bearer " + tok}
}

func TestOAuthClientAuthentication(t *testing.T) {
	e := setupOAuth(t)
	st, m := e.form("/token", "wrong-secret", url.Values{"grant_type": {"client_credentials"}, "scope": {"carrier-billing:payments:read"}})
	if st != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", st, m)
	}
	st, m = e.form("/token", clientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"carrier-billing:payments:fly"}})
	if st != http.StatusBadRequest || m["error"] != "invalid_scope" {
		t.Fatalf("unknown scope: %d %v", st, m)
	}
	st, m = e.form("/token", clientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"carrier-billing:payments:read dpv:FraudPreventionAndDetection"}})
	if st != http.StatusOK {
		t.Fatalf("a purpose scope: %d %v", st, m)
	}
	st, m = e.form("/token", clientSecret, url.Values{"grant_type": {"password"}})
	if st != http.StatusBadRequest || m["error"] != "unsupported_grant_type" {
		t.Fatalf("grant: %d %v", st, m)
	}
	for _, hint := range []string{"+821012345678", "tel:821012345678", "tel:+82", "sub:abc"} {
		st, m = e.form("/bc-authorize", clientSecret, url.Values{"scope": {"openid carrier-billing:payments:create"}, "login_hint": {hint}})
		if st != http.StatusBadRequest || m["error"] != "invalid_request" {
			t.Fatalf("login_hint %q: %d %v", hint, st, m)
		}
	}
	a := e.do(http.MethodGet, "/sim/skt/camara/.well-known/openid-configuration", nil)
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"backchannel_authentication_endpoint":"`+e.srv.URL+sktOAuth+`/bc-authorize"`) {
		t.Fatalf("discovery: %d %s", a.status, a.body)
	}
}

func TestCAMARARefusesCallsWithoutAValidToken(t *testing.T) {
	e := setupOAuth(t)
	body := paymentBody("+821012345678", "ch_1", "5000", "KRW")

	wantError(t, e.do(http.MethodPost, sktPayments, body, "x-correlator", "c-1"), http.StatusUnauthorized, "UNAUTHENTICATED")
	wantError(t, e.do(http.MethodPost, sktPayments, body, bearer("at_forged")...), http.StatusUnauthorized, "UNAUTHENTICATED")
	read := e.clientToken("carrier-billing:payments:read")
	wantError(t, e.do(http.MethodPost, sktPayments, body, bearer(read)...), http.StatusForbidden, "PERMISSION_DENIED")

	create := e.clientToken("carrier-billing:payments:create")
	if a := e.do(http.MethodPost, sktPayments, body, bearer(create)...); a.status != http.StatusCreated {
		t.Fatalf("with a token: HTTP %d %s", a.status, a.body)
	}
	if a := e.do(http.MethodGet, sktPayments, nil, bearer(read)...); a.status != http.StatusOK {
		t.Fatalf("list with a read token: HTTP %d %s", a.status, a.body)
	}
	// An hour on, the sim's clock says the token has expired.
	e.clock.Advance(time.Hour)
	wantError(t, e.do(http.MethodGet, sktPayments, nil, bearer(read)...), http.StatusUnauthorized, "UNAUTHENTICATED")

	// kt asks for no token, as the simulator always was.
	if a := e.do(http.MethodPost, "/sim/kt/camara/carrier-billing/v0.5/payments", paymentBody("+821012345678", "ch_2", "5000", "KRW"), "x-correlator", "c-2"); a.status != http.StatusCreated {
		t.Fatalf("kt: HTTP %d %s", a.status, a.body)
	}
	if n := e.sim.TokensIssued("skt"); n != 2 {
		t.Errorf("tokens issued %d, want 2", n)
	}
}

func TestThreeLeggedTokenNamesTheSubscriber(t *testing.T) {
	e := setupOAuth(t)
	const phone = "+821012345678"
	tok := e.cibaToken(phone, "carrier-billing:payments:create carrier-billing:payments:write")

	// The spec: with a 3-legged token the body must not name the subscriber.
	wantError(t, e.do(http.MethodPost, sktPayments, paymentBody(phone, "ch_1", "5000", "KRW"), bearer(tok)...), http.StatusUnprocessableEntity, "UNNECESSARY_IDENTIFIER")
	body := prepareBody(phone, "ch_1", "5000", "KRW")
	delete(body["amountTransaction"].(map[string]any), "phoneNumber")
	a := e.do(http.MethodPost, sktPayments+"/prepare", body, bearer(tok)...)
	if a.status != http.StatusCreated {
		t.Fatalf("prepare: HTTP %d %s", a.status, a.body)
	}
	var p prepared
	a.decode(t, &p)
	if p.AmountTransaction.PhoneNumber != phone {
		t.Fatalf("payment is for %q", p.AmountTransaction.PhoneNumber)
	}
	code := e.inbox("?msisdn=" + phone)[0].Code
	write := e.clientToken("carrier-billing:payments:write")
	if a := e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/validate", map[string]any{"authorizationId": p.ValidationInfo.AuthorizationID, "code": code}, bearer(write)...); a.status != http.StatusNoContent {
		t.Fatalf("validate: HTTP %d %s", a.status, a.body)
	}
	// Another line's token may not confirm this payment.
	other := e.cibaToken("+821099998888", "carrier-billing:payments:write")
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", map[string]any{}, bearer(other)...), http.StatusForbidden, "PERMISSION_DENIED")
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone), bearer(tok)...), http.StatusUnprocessableEntity, "UNNECESSARY_IDENTIFIER")
	if a := e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", map[string]any{}, bearer(tok)...); a.status != http.StatusAccepted {
		t.Fatalf("confirm: HTTP %d %s", a.status, a.body)
	}
}

func TestCIBAPolling(t *testing.T) {
	poll := func(e *env, id string) (int, map[string]any) {
		return e.form("/token", clientSecret, url.Values{"grant_type": {"urn:openid:params:grant-type:ciba"}, "auth_req_id": {id}})
	}
	start := func(e *env) string {
		_, ar := e.form("/bc-authorize", clientSecret, url.Values{"scope": {"openid carrier-billing:payments:create"}, "login_hint": {"tel:+821012345678"}})
		return ar["auth_req_id"].(string)
	}
	wantOAuthError := func(t *testing.T, st int, m map[string]any, code string) {
		t.Helper()
		if st != http.StatusBadRequest || m["error"] != code {
			t.Fatalf("%d %v, want %s", st, m, code)
		}
	}
	t.Run("pending_then_approved", func(t *testing.T) {
		e := setupOAuth(t)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 2})
		id := start(e)
		for range 2 {
			st, m := poll(e, id)
			wantOAuthError(t, st, m, "authorization_pending")
			e.clock.Advance(time.Second)
		}
		if st, m := poll(e, id); st != http.StatusOK || m["access_token"] == nil {
			t.Fatalf("%d %v", st, m)
		}
		st, m := poll(e, id) // an auth_req_id is good for one token
		wantOAuthError(t, st, m, "invalid_grant")
	})
	t.Run("slow_down", func(t *testing.T) {
		e := setupOAuth(t)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 5, SlowDown: true})
		id := start(e)
		st, m := poll(e, id)
		wantOAuthError(t, st, m, "authorization_pending")
		st, m = poll(e, id) // at once: too early
		wantOAuthError(t, st, m, "slow_down")
	})
	t.Run("denied", func(t *testing.T) {
		e := setupOAuth(t)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{Deny: true})
		st, m := poll(e, start(e))
		wantOAuthError(t, st, m, "access_denied")
	})
	t.Run("expired", func(t *testing.T) {
		e := setupOAuth(t)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 100, ExpiresIn: 30})
		id := start(e)
		e.clock.Advance(30 * time.Second)
		st, m := poll(e, id)
		wantOAuthError(t, st, m, "expired_token")
	})
}

func TestAmountLimitsAtPrepare(t *testing.T) {
	e := setup(t)
	a := e.do(http.MethodPost, sktPayments+"/prepare", prepareBody("+821012340004", "ch_0004", "5000", "KRW"), "x-correlator", "c-1")
	wantError(t, a, http.StatusUnprocessableEntity, "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED")
	a = e.do(http.MethodPost, sktPayments+"/prepare", prepareBody("+821012345678", "ch_big", "100000001", "KRW"), "x-correlator", "c-2")
	wantError(t, a, http.StatusUnprocessableEntity, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT")
	a = e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_big2", "100000001", "KRW"), "x-correlator", "c-3")
	wantError(t, a, http.StatusUnprocessableEntity, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT")
	if rows := e.ledger("?carrier=skt"); len(rows) != 0 {
		t.Fatalf("ledger %+v", rows)
	}
}
