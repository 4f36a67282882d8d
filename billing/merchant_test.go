package billing

import (
	"context"
	"sync"
	"testing"
)

// Gateways starting at once on a new database all ensure the demo
// merchant: every one of them gets it, none fails on the others' insert.
func TestConcurrentEnsureMerchantAllGetTheOne(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		const nodes = 8
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			got   [nodes]*Merchant
			errs  [nodes]error
		)
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = s.EnsureMerchant(context.Background(), "mer_demo_race", "Demo Shop", false)
			}()
		}
		close(start)
		wg.Wait()
		for i := range nodes {
			if errs[i] != nil {
				t.Fatalf("node %d: %v", i, errs[i])
			}
			if got[i].ID != "mer_demo_race" || got[i].Name != "Demo Shop" {
				t.Fatalf("node %d got %+v", i, got[i])
			}
		}
	})
}
