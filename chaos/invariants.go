package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// undecided lists the charges waiting on a carrier (processing) and the
// refunds still pending: what "every charge final" waits for. A charge
// still waiting for its subscriber's code is the subscriber's business, not
// the carrier's, and is not counted here.
const undecided = `SELECT id FROM charges WHERE status IN ('processing', 'scheduled') UNION ALL SELECT id FROM refunds WHERE status = 'pending'`

func (c *campaign) undecidedIDs(ctx context.Context) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, undecided)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// watchUndecided polls the database from "carrier faults stopped" until the
// traffic has its last answers and nothing is undecided, or the bound.
// TimeToFinal is when the last undecided charge or refund was seen final.
// Those a clock tick aged a week back off up to 10 minutes of the clock,
// which is the tick's doing, not the carrier's: they are left out of
// TimeToFinal, and once they are all that is left the clock moves on 11
// minutes for them.
func (c *campaign) watchUndecided(ctx context.Context, trafficDone <-chan struct{}) {
	seen, agedSeen := map[string]bool{}, map[string]bool{}
	var last []string
	pending, moved := false, false
	deadline := c.faultsStopped.Add(c.o.quiesce)
	for {
		ids, err := c.undecidedIDs(ctx)
		now := time.Now()
		var fresh, old []string
		if err != nil {
			c.logf("  reading undecided charges: %v", err)
		} else {
			c.agedMu.Lock()
			for _, id := range ids {
				if c.aged[id] {
					old = append(old, id)
					agedSeen[id] = true
				} else {
					fresh = append(fresh, id)
					seen[id] = true
				}
			}
			c.agedMu.Unlock()
			if len(fresh) > 0 {
				pending = true
			} else if pending {
				c.rep.TimeToFinal, pending = now.Sub(c.faultsStopped), false
			}
			last = ids
		}
		done := false
		select {
		case <-trafficDone:
			done = true
		default:
		}
		if done && err == nil && len(ids) == 0 {
			break
		}
		if done && err == nil && len(fresh) == 0 && !moved && now.Sub(c.faultsStopped) > 30*time.Second {
			c.logf("  only %d charges or refunds aged by a clock tick are undecided: moving the test clock 11 minutes, past their backoff", len(old))
			c.advanceClocks(ctx, 11*time.Minute)
			moved = true
		}
		if now.After(deadline) {
			c.failf("%d charges or refunds still undecided %s after the faults stopped: %s", len(last), c.o.quiesce, clip(last))
			if pending {
				c.rep.TimeToFinal = now.Sub(c.faultsStopped)
			}
			<-trafficDone
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
	c.rep.FinalAfterFaults, c.rep.AgedByClock = len(seen), len(agedSeen)
	c.logf("traffic done; %d charges or refunds undecided after the faults stopped, the last final %s after; %d more aged by a clock tick",
		len(seen), c.rep.TimeToFinal.Round(10*time.Millisecond), len(agedSeen))
}

func clip(ids []string) string {
	if len(ids) > 20 {
		return strings.Join(ids[:20], ", ") + fmt.Sprintf(" … (%d more)", len(ids)-20)
	}
	return strings.Join(ids, ", ")
}

// check runs after the chaos: abandoned checkouts canceled, webhooks
// awaited, then every invariant.
func (c *campaign) check(ctx context.Context) {
	c.cancelAbandoned(ctx)
	c.waitWebhooks(ctx)
	c.invariants(ctx)
}

// cancelAbandoned cancels SMS-code charges whose code never came back (the
// merchant's checkout was abandoned), so every charge is final.
func (c *campaign) cancelAbandoned(ctx context.Context) {
	ids := c.queryIDs(ctx, `SELECT id FROM charges WHERE status = 'requires_confirmation'`)
	for _, id := range ids {
		a, err := c.merch.do(ctx, "POST", "/v1/charges/"+id+"/cancel", fmt.Sprintf("chaos-%d-abandon-%s", c.o.seed, id), map[string]any{})
		if err != nil || a.Status != 200 {
			c.logf("  cancel %s: %v %d %s", id, err, a.Status, a.Raw)
		}
	}
	if len(ids) > 0 {
		c.logf("%d abandoned SMS-code checkouts canceled", len(ids))
	}
}

func (c *campaign) queryIDs(ctx context.Context, q string, args ...any) []string {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		c.failf("query %q: %v", q, err)
		return nil
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			c.failf("query %q: %v", q, err)
			return nil
		}
		ids = append(ids, id)
	}
	return ids
}

// expectedEvents: each final charge's event, by charge id.
func (c *campaign) expectedEvents(ctx context.Context) map[string]string {
	want := map[string]string{}
	for _, id := range c.queryIDs(ctx, `SELECT id FROM charges WHERE status IN ('succeeded', 'partially_refunded', 'refunded')`) {
		want[id] = "charge.succeeded"
	}
	for _, id := range c.queryIDs(ctx, `SELECT id FROM charges WHERE status = 'failed'`) {
		want[id] = "charge.failed"
	}
	return want
}

func (c *campaign) missingEvents(want map[string]string) []string {
	var missing []string
	for id, typ := range want {
		if !c.recv.got(id, typ) {
			missing = append(missing, id+" "+typ)
		}
	}
	slices.Sort(missing)
	return missing
}

// waitWebhooks waits for each final charge's event. A delivery cut off by
// a kill -9 is only retried once river rescues its job (5 minutes) and the
// retry schedule's next step comes (5 minutes after a failed attempt): if
// events are still missing after a minute, every node's test clock moves
// on 11 minutes, as that much time would pass for a real merchant.
func (c *campaign) waitWebhooks(ctx context.Context) {
	want := c.expectedEvents(ctx)
	wait := func(bound time.Duration) []string {
		deadline := time.Now().Add(bound)
		for {
			missing := c.missingEvents(want)
			if len(missing) == 0 || time.Now().After(deadline) {
				return missing
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	missing := wait(time.Minute)
	if len(missing) > 0 {
		c.logf("%d of %d charges' webhooks not delivered after a minute: %s; moving the test clock 11 minutes", len(missing), len(want), clip(missing))
		c.rep.WebhookClockMove = true
		c.advanceClocks(ctx, 11*time.Minute)
		missing = wait(90 * time.Second)
	}
	c.missingHooks = missing
	c.expectedHooks = len(want)
}

// simLedgerRow is one billed payment in a simulated carrier's books.
type simLedgerRow struct {
	Carrier         string `json:"carrier"`
	ClientReference string `json:"client_reference"`
	Amount          int64  `json:"amount"`
	RefundedAmount  int64  `json:"refunded_amount"`
	Currency        string `json:"currency"`
}

func (c *campaign) simLedger(ctx context.Context) ([]simLedgerRow, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.simURL+"/ledger", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var l struct {
		Data []simLedgerRow `json:"data"`
	}
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("sim ledger: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("sim ledger: %w", err)
	}
	return l.Data, nil
}

// invariant is one named check and what broke it.
type invariant struct {
	name   string
	broken []string
}

func (c *campaign) invariants(ctx context.Context) {
	var checks []invariant
	add := func(name string, broken []string) { checks = append(checks, invariant{name, broken}) }
	q := func(query string, args ...any) []string { return c.queryIDs(ctx, query, args...) }

	// 1. Every accepted charge final; every refund final.
	var notFinal []string
	notFinal = append(notFinal, q(`SELECT id || ' ' || status FROM charges WHERE status NOT IN ('succeeded', 'failed', 'canceled', 'partially_refunded', 'refunded')`)...)
	notFinal = append(notFinal, q(`SELECT id || ' refund ' || status FROM refunds WHERE status = 'pending'`)...)
	c.book.mu.Lock()
	accepted := make([]string, 0, len(c.book.charges))
	for id := range c.book.charges {
		accepted = append(accepted, id)
	}
	c.book.mu.Unlock()
	stored := map[string]bool{}
	for _, id := range q(`SELECT id FROM charges`) {
		stored[id] = true
	}
	for _, id := range accepted {
		if !stored[id] {
			notFinal = append(notFinal, id+" accepted but not stored")
		}
	}
	add("every accepted charge (and refund) is final", notFinal)

	// 2 and 3. The carriers' books equal the gateway's; nothing billed twice.
	rows, err := c.simLedger(ctx)
	if err != nil {
		c.failf("read the carriers' books: %v", err)
	}
	billed := map[string][]simLedgerRow{}
	for _, r := range rows {
		billed[r.ClientReference] = append(billed[r.ClientReference], r)
	}
	var twice, books []string
	for ref, rs := range billed {
		if len(rs) > 1 {
			twice = append(twice, fmt.Sprintf("%s billed %d times", ref, len(rs)))
		}
	}
	type gatewayCharge struct {
		id, status             string
		billed, refunded       int64
		subscription, currency string
	}
	gw := map[string]gatewayCharge{}
	rs, err := c.db.QueryContext(ctx, `SELECT id, status, amount - cashback_applied, refunded_amount, currency, COALESCE(subscription_id, '') FROM charges`)
	if err != nil {
		c.failf("read charges: %v", err)
	} else {
		for rs.Next() {
			var g gatewayCharge
			if err := rs.Scan(&g.id, &g.status, &g.billed, &g.refunded, &g.currency, &g.subscription); err != nil {
				c.failf("read charges: %v", err)
				break
			}
			gw[g.id] = g
		}
		rs.Close()
	}
	for id, g := range gw {
		paid := g.status == "succeeded" || g.status == "partially_refunded" || g.status == "refunded"
		at := billed[id]
		switch {
		case paid && len(at) == 0:
			books = append(books, fmt.Sprintf("%s %s at the gateway, not billed by the carrier", id, g.status))
		case !paid && len(at) > 0:
			books = append(books, fmt.Sprintf("%s %s at the gateway, billed by the carrier", id, g.status))
		case paid && (at[0].Amount != g.billed || at[0].RefundedAmount != g.refunded || at[0].Currency != g.currency):
			books = append(books, fmt.Sprintf("%s: gateway %d refunded %d, carrier %d refunded %d", id, g.billed, g.refunded, at[0].Amount, at[0].RefundedAmount))
		}
	}
	for ref := range billed {
		if _, ok := gw[ref]; !ok {
			books = append(books, fmt.Sprintf("carrier billed %s, which the gateway does not know", ref))
		}
	}
	slices.Sort(books)
	slices.Sort(twice)
	add("the carriers' books equal the gateway's succeeded charges and refunds", books)
	add("nothing billed twice", twice)

	// 4. No period of a subscription billed twice, by the gateway or the carrier.
	periods := q(`SELECT subscription_id || ' period ' || subscription_period || ': ' || COUNT(*) FROM charges
		WHERE subscription_id IS NOT NULL AND status IN ('succeeded', 'partially_refunded', 'refunded')
		GROUP BY subscription_id, subscription_period HAVING COUNT(*) > 1`)
	add("no period of a subscription billed twice", periods)

	// 5. Every final charge's webhook delivered (waitWebhooks recorded the misses).
	hooks := c.missingHooks
	_, _, _, unsigned := c.recv.figures()
	if unsigned > 0 {
		hooks = append(hooks, fmt.Sprintf("%d deliveries failed signature verification", unsigned))
	}
	add("every final charge's webhook delivered, signed", hooks)

	// 6. The ledger balances: per currency, per posting, and each charge's
	// receivable is what it billed less what was refunded.
	ledger := q(`SELECT 'currency ' || currency || ' sums to ' || SUM(amount) FROM ledger_entries GROUP BY currency HAVING SUM(amount) <> 0`)
	ledger = append(ledger, q(`SELECT 'posting of ' || charge_id || COALESCE(' / ' || refund_id, '') || ' sums to ' || SUM(amount) FROM ledger_entries GROUP BY charge_id, refund_id HAVING SUM(amount) <> 0`)...)
	ledger = append(ledger, q(`SELECT c.id || ' receivable does not match' FROM charges c WHERE
		(SELECT COALESCE(SUM(amount), 0) FROM ledger_entries l WHERE l.charge_id = c.id AND l.account = 'carrier_receivable')
		<> CASE WHEN c.status IN ('succeeded', 'partially_refunded', 'refunded') THEN c.amount - c.cashback_applied - c.refunded_amount ELSE 0 END`)...)
	add("the ledger balances per currency", ledger)

	// 7. Caps never overshot: per number and month, with this merchant and in all.
	caps := q(`SELECT merchant_id || ' ' || LEFT(msisdn_index, 8) || '… ' || spend_month || ': ' || SUM(amount - cashback_applied - refunded_amount) FROM charges
		WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND currency = 'KRW'
		GROUP BY merchant_id, msisdn_index, spend_month HAVING SUM(amount - cashback_applied - refunded_amount) > $1`, merchantCap)
	caps = append(caps, q(`SELECT LEFT(msisdn_index, 8) || '… ' || spend_month || ': ' || SUM(amount - cashback_applied - refunded_amount) FROM charges
		WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND currency = 'KRW'
		GROUP BY msisdn_index, spend_month HAVING SUM(amount - cashback_applied - refunded_amount) > $1`, carrierCap)...)
	add(fmt.Sprintf("caps never overshot (₩%d per merchant, ₩%d per line, a month)", merchantCap, carrierCap), caps)

	c.checks = checks
	for _, ch := range checks {
		if len(ch.broken) > 0 {
			c.failf("%s: %d broken: %s", ch.name, len(ch.broken), clip(ch.broken))
		}
	}
}

// print gives the figures and each invariant.
func (c *campaign) print() {
	w := c.o.out
	count := func(q string) int {
		var n int
		if err := c.db.QueryRow(q).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	n := &c.traffic.n
	delivered, distinct, dups, _ := c.recv.figures()
	fmt.Fprintf(w, "== chaos campaign, seed %d: %s, %d nodes\n", c.o.seed, c.o.duration, c.o.nodes)
	fmt.Fprintf(w, "charges: %d attempted, %d accepted, %d unanswered, %d refused (4xx); in the database %d: %d succeeded (%d partially refunded, %d refunded), %d failed, %d canceled; %d subscription charges, %d paid renewals\n",
		n.chargesAttempted.Load(), n.chargesAccepted.Load(), n.chargesUnanswered.Load(), n.chargesDeclined.Load(),
		count(`SELECT COUNT(*) FROM charges`), count(`SELECT COUNT(*) FROM charges WHERE status IN ('succeeded', 'partially_refunded', 'refunded')`),
		count(`SELECT COUNT(*) FROM charges WHERE status = 'partially_refunded'`), count(`SELECT COUNT(*) FROM charges WHERE status = 'refunded'`),
		count(`SELECT COUNT(*) FROM charges WHERE status = 'failed'`), count(`SELECT COUNT(*) FROM charges WHERE status = 'canceled'`),
		count(`SELECT COUNT(*) FROM charges WHERE subscription_id IS NOT NULL`),
		count(`SELECT COUNT(*) - COUNT(DISTINCT subscription_id) FROM charges WHERE subscription_id IS NOT NULL AND status IN ('succeeded', 'partially_refunded', 'refunded')`))
	c.book.mu.Lock()
	refused := tally(c.book.refused)
	c.book.mu.Unlock()
	fmt.Fprintf(w, "charges refused: %s\n", refused)
	fmt.Fprintf(w, "sms-code charges: %d created, %d confirmed, %d abandoned; refunds: %d attempted, %d accepted, %d refused\n",
		n.smsCharges.Load(), n.smsConfirmed.Load(), n.smsAbandoned.Load(), n.refundsAttempted.Load(), n.refundsAccepted.Load(), n.refundsRefused.Load())
	fmt.Fprintf(w, "faults: %d kill -9 (%d restarts), %d PostgreSQL restart, %d carrier down, %d carrier fault waves, %d toxics, %d links down, %d clock ticks of %s\n",
		c.rep.Kills, c.rep.Restarts, c.rep.PGRestarts, c.rep.CarrierDowns, c.rep.Waves, c.rep.Toxics, c.rep.LinkDowns, c.rep.ClockTicks, clockStep)
	fmt.Fprintf(w, "after the faults stopped: %d charges or refunds undecided; the last final after %s (issue 13: ≤ 30 s); %d more aged a week by a clock tick\n",
		c.rep.FinalAfterFaults, c.rep.TimeToFinal.Round(10*time.Millisecond), c.rep.AgedByClock)
	hooks := fmt.Sprintf("webhooks: %d deliveries, %d distinct events, %d duplicates (at least once); %d final charges' events expected, %d missing",
		delivered, distinct, dups, c.expectedHooks, len(c.missingHooks))
	if c.rep.WebhookClockMove {
		hooks += "; the test clock moved 11 minutes for the last ones"
	}
	fmt.Fprintln(w, hooks)
	c.merch.mu.Lock()
	kinds := tally(c.merch.answers)
	c.merch.mu.Unlock()
	fmt.Fprintf(w, "answers the merchant retried: %s\n", kinds)
	for _, ch := range c.checks {
		mark := "ok  "
		if len(ch.broken) > 0 {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s\n", mark, ch.name)
	}
	if len(c.rep.Failures) > 0 {
		fmt.Fprintf(w, "%d failures:\n", len(c.rep.Failures))
		for _, f := range c.rep.Failures {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	} else {
		fmt.Fprintf(w, "every invariant holds\n")
	}
}

// tally lists counts as "kind ×n", sorted by kind; the caller holds m's lock.
func tally(m map[string]int) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s ×%d", k, v))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
