package billingapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"tollgate/billing"
)

// One batch claims each new key once, leaves a key twice in it and a key
// already held to the slow path, and stores answers byte for byte.
func TestOneBatchClaimsNewKeysAndStoresAnswers(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		at := b.clock.Now().UTC()
		claim := func(key, hash string) idempotencyKey {
			return idempotencyKey{MerchantID: b.merchant.MerchantID, Key: key, RequestHash: hash, State: idemInProgress, CreatedAt: at, LockedUntil: at.Add(idemLease)}
		}
		if got, err := b.api.insertClaims(ctx, []idempotencyKey{claim("held", "h0")}); err != nil || !slices.Equal(got, []bool{true}) {
			t.Fatalf("first claim: %v, %v", got, err)
		}
		others := claim("a", "h5")
		others.MerchantID = "mer_other"
		got, err := b.api.insertClaims(ctx, []idempotencyKey{claim("b", "h2"), claim("a", "h1"), claim("a", "h3"), claim("held", "h4"), others})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, true, false, false, true}; !slices.Equal(got, want) {
			t.Fatalf("claimed %v, want %v", got, want)
		}
		binary := []byte{0, 0xff, '{', 0x80, '}'}
		if _, err := b.api.storeAnswers(ctx, []keptAnswer{
			{merchantID: b.merchant.MerchantID, key: "a", status: 201, contentType: "application/json", body: binary},
			{merchantID: b.merchant.MerchantID, key: "b", status: 422, contentType: "application/problem+json", body: []byte(`{}`)},
			{merchantID: b.merchant.MerchantID, key: "never-claimed", status: 201, contentType: "application/json", body: []byte(`{}`)},
		}); err != nil {
			t.Fatal(err)
		}
		var rows []idempotencyKey
		if err := b.store.DB.Where("merchant_id = ?", b.merchant.MerchantID).Order("key").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d rows, want a, b and held: %+v", len(rows), rows)
		}
		a, bb, held := rows[0], rows[1], rows[2]
		if a.RequestHash != "h1" || a.State != idemDone || a.ResponseStatus != 201 || a.ResponseType != "application/json" || !bytes.Equal(a.ResponseBody, binary) {
			t.Errorf("a = %+v", a)
		}
		if bb.RequestHash != "h2" || bb.State != idemDone || bb.ResponseStatus != 422 || bb.ResponseType != "application/problem+json" || string(bb.ResponseBody) != "{}" {
			t.Errorf("b = %+v", bb)
		}
		if held.RequestHash != "h0" || held.State != idemInProgress || held.ResponseBody != nil {
			t.Errorf("held = %+v", held)
		}
		var other idempotencyKey
		if err := b.store.DB.Where("merchant_id = ? AND key = ?", "mer_other", "a").Take(&other).Error; err != nil {
			t.Fatal(err)
		}
		if other.RequestHash != "h5" || other.State != idemInProgress || other.ResponseBody != nil {
			t.Errorf("another merchant's key a was touched: %+v", other)
		}
	})
}

// Many merchants' requests at once, each key sent twice: every key makes
// one charge, and every answer is that charge's or a 409 while it runs.
func TestConcurrentKeysEachRunOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		pm, err := b.svc.CreatePaymentMethod(ctx, b.merchant, "", billing.PaymentMethodParams{MSISDN: "+821012345678", Carrier: "skt"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.ConfirmPaymentMethod(ctx, b.merchant, pm.ID, b.carrier.LastCode()); err != nil {
			t.Fatal(err)
		}
		const keys = 12
		answers := make([][2]answer, keys)
		var wg sync.WaitGroup
		for k := range keys {
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fmt.Sprintf(`{"amount": %d, "currency": "KRW", "payment_method": %q}`, 1000+k, pm.ID)
					a, err := b.send(b.key, http.MethodPost, "/v1/charges", fmt.Sprint("tap-", k), body)
					if err != nil {
						a.status, a.body = 0, []byte(err.Error())
					}
					answers[k][i] = a
				}()
			}
		}
		wg.Wait()
		if n := b.charges(); n != keys {
			t.Fatalf("%d charges for %d keys", n, keys)
		}
		ids := map[string]bool{}
		for k, pair := range answers {
			var first *answer
			for i := range pair {
				a := &pair[i]
				switch {
				case a.status == http.StatusConflict && a.field("code") == "idempotency_request_in_progress":
				case a.status == http.StatusCreated && a.field("status") == "succeeded":
					if first != nil && !bytes.Equal(first.body, a.body) {
						t.Errorf("key %d answered twice differently:\n%s\n%s", k, first.body, a.body)
					}
					first = a
				default:
					t.Errorf("key %d: %d %s", k, a.status, a.body)
				}
			}
			if first == nil {
				t.Errorf("key %d: no request ran", k)
				continue
			}
			ids[first.field("id")] = true
			replay := b.post("/v1/charges", fmt.Sprint("tap-", k), fmt.Sprintf(`{"amount": %d, "currency": "KRW", "payment_method": %q}`, 1000+k, pm.ID))
			if !bytes.Equal(replay.body, first.body) || replay.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("key %d replay: %s", k, replay.body)
			}
		}
		if len(ids) != keys {
			t.Errorf("%d distinct charges answered for %d keys", len(ids), keys)
		}
	})
}

// A key or a payment method id no request needs, which PostgreSQL would
// refuse, is a 4xx before any statement: it never fails a batch.
func TestUnprintableKeysAndIdsAreRefusedBeforeTheDatabase(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		for _, key := range []string{"tab\tkey", "bad\xffutf8"} {
			a := b.post("/v1/charges", key, newCharge)
			if a.status != http.StatusBadRequest || a.field("code") != "idempotency_key_invalid" {
				t.Errorf("key %q: %d %s", key, a.status, a.body)
			}
		}
		// The body's decoder refuses a NUL (invalid UTF-8 it reads as U+FFFD).
		a := b.post("/v1/charges", "nul-id", `{"amount": 1000, "currency": "KRW", "payment_method": "pm_\u0000"}`)
		if a.status != http.StatusBadRequest || a.field("code") != "invalid_json" {
			t.Errorf("payment method id with a NUL: %d %s", a.status, a.body)
		}
		if n := b.charges(); n != 0 {
			t.Errorf("%d charges made", n)
		}
	})
}
