package tokenpay_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
)

func TestAuthorizeSendsAPINAndVerifyReturnsAToken(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const phone = "+821012345678"
	req := carriers.AuthorizeRequest{Reference: "ch_auth", MSISDN: phone, Amount: 5000, Currency: "KRW", Description: "500 gems", Merchant: "Gem Shop"}
	a, err := e.client.Authorize(ctx, req)
	if err != nil || a.ID == "" || a.Token != "" {
		t.Fatalf("Authorize = %+v, %v", a, err)
	}
	box := e.Inbox(phone)
	if len(box) != 1 || len(box[0].Code) != 6 || !strings.Contains(box[0].Body, "Gem Shop") {
		t.Fatalf("inbox %+v, want one PIN from Gem Shop", box)
	}
	// The same reference is the same authorization, and no second PIN.
	again, err := e.client.Authorize(ctx, req)
	if err != nil || again.ID != a.ID {
		t.Fatalf("Authorize again = %+v, %v; want %s", again, err, a.ID)
	}
	if box := e.Inbox(phone); len(box) != 1 {
		t.Fatalf("a second PIN was sent: %+v", box)
	}

	v, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: "ch_auth", Code: box[0].Code})
	if err != nil || v.ID != a.ID || !strings.HasPrefix(v.Token, "tok_") {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	// Verifying again with the right PIN is harmless and gives the same token.
	v2, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: box[0].Code})
	if err != nil || v2.Token != v.Token {
		t.Fatalf("Verify again = %+v, %v", v2, err)
	}
	if n := e.Stats(carrier).Requests["create_authorization"]; n != 2 {
		t.Errorf("create_authorization counted %d, want 2", n)
	}
}

func TestRecurringAuthorizationNeedsNoAmount(t *testing.T) {
	e := setup(t)
	tok := e.token("pm_1", "+821012345678", true)
	for _, ref := range []string{"ch_1", "ch_2"} {
		if _, err := e.client.Charge(context.Background(), chargeReq(ref, tok, 9900)); err != nil {
			t.Fatalf("Charge %s on a recurring token: %v", ref, err)
		}
	}
	_, err := e.client.Authorize(context.Background(), carriers.AuthorizeRequest{Reference: "ch_x", MSISDN: "+821012345678"})
	if !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("one-off authorization without an amount: %v", err)
	}
}

func TestWrongPIN(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const phone = "+821012345678"
	a, err := e.client.Authorize(ctx, carriers.AuthorizeRequest{Reference: "ch_w", MSISDN: phone, Amount: 5000, Currency: "KRW"})
	if err != nil {
		t.Fatal(err)
	}
	pin := e.SMSCode(phone)
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 3; i++ {
		_, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: wrong})
		if !errors.Is(err, carriers.ErrWrongCode) {
			t.Fatalf("wrong PIN #%d: %v, want ErrWrongCode", i, err)
		}
	}
	// The carrier has given up on this authorization: even the right PIN is
	// refused, and not as a wrong code the gateway would count again.
	_, err = e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: pin})
	if !errors.Is(err, carriers.ErrInvalidRequest) || errors.Is(err, carriers.ErrWrongCode) {
		t.Fatalf("after three wrong PINs: %v, want ErrInvalidRequest", err)
	}
}

func TestPINExpiresAfterFiveMinutes(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const phone = "+821012345678"
	a, err := e.client.Authorize(ctx, carriers.AuthorizeRequest{Reference: "ch_e", MSISDN: phone, Amount: 5000, Currency: "KRW"})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(5*time.Minute + time.Second)
	_, err = e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Code: e.SMSCode(phone)})
	if !errors.Is(err, carriers.ErrInvalidRequest) || !strings.Contains(err.Error(), "pin_expired") {
		t.Fatalf("expired PIN: %v", err)
	}
}

func TestVerifyUnknownAuthorization(t *testing.T) {
	e := setup(t)
	_, err := e.client.Verify(context.Background(), carriers.VerifyRequest{AuthorizationID: "auth_nope", Code: "123456"})
	if !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("unknown authorization: %v", err)
	}
	_, err = e.client.Verify(context.Background(), carriers.VerifyRequest{Code: "123456"})
	if !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("no authorization id: %v", err)
	}
}
