package webhooks

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
)

// Two nodes on one database, each keeping a merchant's endpoints for
// CacheTTL: an endpoint created on one node gets that node's next event at
// once, and the other node's once its copy is older than the TTL, never
// later. A disabled endpoint is dropped the same way.
func TestEndpointsAreKeptPerNodeForTheTTLAtMost(t *testing.T) {
	cfg := testSettings
	cfg.CacheTTL = 5 * time.Second
	eachStoreWith(t, cfg, func(t *testing.T, b *testBundle) {
		cfg.Limits = b.out.cfg.Limits
		other, err := NewOutbound(b.store.DB, b.vault, b.clock, b.jobs, cfg, b.log)
		if err != nil {
			t.Fatal(err)
		}
		emitOn := func(o *Outbound, id string) {
			t.Helper()
			if err := b.store.DB.Transaction(func(tx *gorm.DB) error {
				return o.EmitTx(tx, billing.Event{MerchantID: b.merchant.MerchantID, Type: billing.EventChargeSucceeded, ObjectID: id, Object: map[string]any{"id": id}})
			}); err != nil {
				t.Fatal(err)
			}
		}
		emitOn(b.out, "ch_0") // both nodes now hold "no endpoints"
		emitOn(other, "ch_0")
		ep := b.endpoint(t, b.merchant, newReceiver(t, 0))
		emitOn(b.out, "ch_1")
		if n := len(b.deliveries(t, ep)); n != 1 {
			t.Fatalf("the node that created the endpoint queued %d deliveries for its next event; want 1 at once", n)
		}
		emitOn(other, "ch_2")
		if n := len(b.deliveries(t, ep)); n != 1 {
			t.Fatalf("%d deliveries; the other node's copy is younger than the TTL, want still 1", n)
		}
		b.clock.Advance(cfg.CacheTTL)
		emitOn(other, "ch_3")
		if n := len(b.deliveries(t, ep)); n != 2 {
			t.Fatalf("%d deliveries once the TTL passed; want the other node to deliver too (2)", n)
		}

		// Disabled on this node (as noteFailureTx does): its next event skips it at once.
		now := b.clock.Now()
		since := now.Add(-2 * cfg.DisableAfter)
		err = b.store.DB.Transaction(func(tx *gorm.DB) error {
			e := endpoint{ID: ep, MerchantID: b.merchant.MerchantID, FailingSince: &since}
			return b.out.noteFailureTx(tx, &e, now)
		})
		if err != nil {
			t.Fatal(err)
		}
		emitOn(b.out, "ch_4")
		if n := len(b.deliveries(t, ep)); n != 2 {
			t.Fatalf("%d deliveries after the endpoint was disabled on this node; want still 2", n)
		}
	})
}
