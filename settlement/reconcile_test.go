package settlement

import (
	"context"
	"strings"
	"testing"
	"time"

	"tollgate/billing"
	"tollgate/carriers"
)

// seedDay writes one of every case on lgu's 2026-11-24 and its file.
func seedDay(e *env) {
	day := func(h int) time.Time { return kst(24, h, 0, 0) }
	e.charge("ch_match", "mer_a", "succeeded", 5000, "chg_match", day(1))
	e.charge("ch_amount", "mer_a", "succeeded", 5000, "chg_amount", day(2))
	e.charge("ch_missing", "mer_b", "succeeded", 3000, "chg_missing", day(3))
	e.charge("ch_failed", "mer_b", "failed", 1000, "", time.Time{})
	e.charge("ch_proc", "mer_a", "processing", 2000, "", time.Time{})
	e.charge("ch_dup", "mer_b", "partially_refunded", 4000, "chg_dup", day(4))
	e.charge("ch_byref", "mer_a", "succeeded", 6000, "chg_byref", day(5))
	e.charge("ch_prev", "mer_a", "succeeded", 7000, "chg_prev", kst(23, 23, 59, 59)) // the gateway's previous day
	e.charge("ch_other", "mer_a", "succeeded", 8000, "chg_other", kst(25, 0, 0, 1))  // the next day: not this file's
	e.refund("re_1", "ch_match", "mer_a", 1000, "rfd_1", day(6))
	e.refund("re_missing", "ch_dup", "mer_b", 500, "rfd_missing", day(7))
	e.carrier.setFile(tpFile(
		"ch_match|chg_match|CHARGE|5000|KRW|SUCCEEDED|20261124010000",
		"ch_amount|chg_amount|CHARGE|5500|KRW|SUCCEEDED|20261124020000",
		"ch_failed|chg_failed|CHARGE|1000|KRW|SUCCEEDED|20261124023000",
		"ch_proc|chg_proc|CHARGE|2000|KRW|SUCCEEDED|20261124030000",
		"ch_dup|chg_dup|CHARGE|4000|KRW|SUCCEEDED|20261124040000",
		"ch_zzz|chg_zzz|CHARGE|9000|KRW|SUCCEEDED|20261124043000",
		"ch_dup|chg_dup|CHARGE|4000|KRW|SUCCEEDED|20261124040000",
		"|chg_byref|CHARGE|6000|KRW|SUCCEEDED|20261124050000",
		"ch_prev|chg_prev|CHARGE|7000|KRW|SUCCEEDED|20261124000001",
		"re_1|rfd_1|REFUND|1000|KRW|SUCCEEDED|20261124060000",
	))
}

func TestReconcileFindsEachKindOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		seedDay(e)
		run, out := e.run(false)
		if out != Ran || run.Status != StatusCompleted {
			t.Fatalf("run: %v %s %v", out, run.Status, run.FailureMessage)
		}
		want := Totals{LinesRead: 10,
			MatchedCount: 6, MatchedAmount: 5000 + 2000 + 4000 + 6000 + 7000 - 1000,
			MissingAtCarrierCount: 2, MissingAtCarrierAmount: 3000 + 500,
			MissingAtGatewayCount: 1, MissingAtGatewayAmount: 9000,
			AmountMismatchCount: 1, AmountMismatchAmount: 500,
			StatusMismatchCount: 1, StatusMismatchAmount: 1000,
			DuplicateCount: 1, DuplicateAmount: 4000,
			ResolvedCount: 1, ResolvedAmount: 2000,
		}
		if run.Totals != want {
			t.Errorf("totals\n got %+v\nwant %+v", run.Totals, want)
		}
		got := map[string][]string{}
		for _, d := range e.discrepancies(run) {
			id := str(d.ChargeID)
			if d.Object == "refund" {
				id = str(d.RefundID) + "/" + id
			}
			if d.Kind == KindMissingAtGateway {
				id = d.ClientReference
			}
			got[d.Kind] = append(got[d.Kind], id+" "+str(d.MerchantID)+" "+d.CarrierReference)
		}
		wantRows := map[string][]string{
			KindMissingAtCarrier: {"ch_missing mer_b chg_missing", "re_missing/ch_dup mer_b rfd_missing"},
			KindMissingAtGateway: {"ch_zzz  chg_zzz"},
			KindAmountMismatch:   {"ch_amount mer_a chg_amount"},
			KindStatusMismatch:   {"ch_failed mer_b chg_failed"},
			KindDuplicate:        {"ch_dup mer_b chg_dup"},
			KindResolved:         {"ch_proc mer_a chg_proc"},
		}
		for k, w := range wantRows {
			if strings.Join(got[k], ",") != strings.Join(w, ",") {
				t.Errorf("%s: %q, want %q", k, got[k], w)
			}
		}
		if len(got) != len(wantRows) {
			t.Errorf("kinds %v", got)
		}
		// The processing charge is settled as billed, with the carrier's reference.
		if r, ok := e.res.calls["ch_proc"]; !ok || r.Outcome != carriers.OutcomeSucceeded || r.CarrierReference != "chg_proc" || len(e.res.calls) != 1 {
			t.Errorf("resolutions: %+v", e.res.calls)
		}
		// The failed charge the carrier billed is left as it is.
		var status string
		e.st.DB.Model(&billing.Charge{}).Where("id = ?", "ch_failed").Select("status").Scan(&status)
		if status != "failed" {
			t.Errorf("ch_failed is %s: settlement changed it", status)
		}
	})
}

func TestStatementsTieOutToTheLedger(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		seedDay(e)
		run, _ := e.run(false)
		sts, err := e.svc.Statements(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		// mer_a: ch_match 5000 + ch_amount 5000 + ch_byref 6000 gross, re_1 1000 refunded;
		// mer_b: ch_missing 3000 + ch_dup 4000, re_missing 500. ch_prev and
		// ch_other were posted on other days; ch_failed and ch_proc never.
		want := []Statement{
			{MerchantID: "mer_a", Currency: "KRW", ChargesCount: 3, RefundsCount: 1, Gross: 16000, Refunds: 1000,
				CarrierFees: 1600, GatewayFees: 480, Net: 16000 - 1000 - 1600 - 480, CarrierShareBps: 1000, GatewayFeeBps: 300},
			{MerchantID: "mer_b", Currency: "KRW", ChargesCount: 2, RefundsCount: 1, Gross: 7000, Refunds: 500,
				CarrierFees: 700, GatewayFees: 175, Net: 7000 - 500 - 700 - 175, CarrierShareBps: 1000, GatewayFeeBps: 250},
		}
		if len(sts) != len(want) {
			t.Fatalf("statements %+v", sts)
		}
		var gross, refunds int64
		for i := range want {
			got := sts[i]
			got.Seq, got.RunID = 0, ""
			if got != want[i] {
				t.Errorf("statement\n got %+v\nwant %+v", got, want[i])
			}
			gross += sts[i].Gross
			refunds += sts[i].Refunds
		}
		var ledger int64
		lgu := e.st.DB.Model(&billing.Charge{}).Select("id").Where("carrier = ?", "lgu")
		if err := e.st.DB.Model(&billing.LedgerEntry{}).Select("COALESCE(SUM(amount), 0)").
			Where("charge_id IN (?) AND account = ? AND created_at >= ? AND created_at < ?", lgu, billing.AccountCarrierReceivable, kst(24, 0, 0, 0).UTC(), kst(25, 0, 0, 0).UTC()).
			Scan(&ledger).Error; err != nil {
			t.Fatal(err)
		}
		if gross-refunds != ledger {
			t.Errorf("statements say %d moved, the ledger %d", gross-refunds, ledger)
		}
	})
}

func TestRerunSupersedesAndChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		seedDay(e)
		first, _ := e.run(false)
		again, out := e.run(false)
		if out != Existing || again.ID != first.ID {
			t.Fatalf("settling the day again: %v %s, want the existing %s", out, again.ID, first.ID)
		}
		second, out := e.run(true)
		if out != Ran || second.ID == first.ID || second.Status != StatusCompleted {
			t.Fatalf("rerun: %v %+v", out, second)
		}
		if second.Totals != first.Totals {
			t.Errorf("rerun totals differ:\n%+v\n%+v", second.Totals, first.Totals)
		}
		if len(e.discrepancies(second)) != len(e.discrepancies(first)) {
			t.Errorf("rerun found a different number of discrepancies")
		}
		old, _ := e.svc.Get(context.Background(), first.ID)
		if old.SupersededBy == nil || *old.SupersededBy != second.ID || second.Supersedes == nil || *second.Supersedes != first.ID {
			t.Errorf("supersession: old %v new %v", old.SupersededBy, second.Supersedes)
		}
		if old.Totals != first.Totals || old.Status != StatusCompleted {
			t.Errorf("the superseded run changed: %+v", old)
		}
		cur, _ := e.run(false)
		if cur.ID != second.ID {
			t.Errorf("the day's run is %s, want the rerun %s", cur.ID, second.ID)
		}
	})
}

func TestBadFileFailsAndWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		seedDay(e)
		good, _ := e.run(false)
		file := e.carrier.file
		// The bad line comes after discrepancies were already found and
		// written (batches of 3), so the run must withdraw them.
		e.carrier.setFile(strings.Replace(file, "re_1|rfd_1|REFUND|1000|", "re_1|rfd_1|REFUND|10.00|", 1))
		e.res.calls = map[string]carriers.Result{}
		bad, out := e.run(true)
		if out != Ran || bad.Status != StatusFailed || bad.FailureMessage == nil ||
			!strings.Contains(*bad.FailureMessage, "line 12, column amount") {
			t.Fatalf("bad file: %v %s %v", out, bad.Status, bad.FailureMessage)
		}
		var n int64
		e.st.DB.Raw("SELECT (SELECT COUNT(*) FROM settlement_discrepancies WHERE run_id = ?) + (SELECT COUNT(*) FROM settlement_statements WHERE run_id = ?)", bad.ID, bad.ID).Scan(&n)
		if n != 0 {
			t.Errorf("the failed run left %d rows", n)
		}
		if len(e.res.calls) != 0 {
			t.Errorf("a bad file settled charges: %v", e.res.calls)
		}
		cur, out := e.run(false)
		if out != Existing || cur.ID != good.ID || cur.SupersededBy != nil {
			t.Errorf("after a failed rerun the day's run is %s (%v), want %s untouched", cur.ID, out, good.ID)
		}
	})
}

func TestOneRunAtATime(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		seedDay(e)
		now := e.clock.Now().UTC()
		e.exec(`INSERT INTO settlement_runs (id, carrier, business_date, time_zone, status, created_at, heartbeat_at) VALUES ('stl_other', 'lgu', '2026-11-24', 'Asia/Seoul', 'running', ?, ?)`, now, now)
		r, out := e.run(false)
		if out != InProgress || r.ID != "stl_other" {
			t.Fatalf("with a run in progress: %v %s", out, r.ID)
		}
		// A run whose node stopped (no heartbeat for StaleAfter) is taken over.
		e.clock.mu.Lock()
		e.clock.t = e.clock.t.Add(11 * time.Minute)
		e.clock.mu.Unlock()
		r, out = e.run(false)
		if out != Ran || r.Status != StatusCompleted {
			t.Fatalf("take over: %v %+v", out, r)
		}
		old, _ := e.svc.Get(context.Background(), "stl_other")
		if old.Status != StatusFailed || !strings.Contains(str(old.FailureMessage), "abandoned") {
			t.Errorf("the abandoned run: %s %v", old.Status, str(old.FailureMessage))
		}
	})
}

func TestRunRefusesBadRequests(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		for _, c := range []struct{ carrier, date, want string }{
			{"", "2026-11-24", "carrier is required"},
			{"nope", "2026-11-24", `No carrier "nope"`},
			{"lgu", "", "business_date is required"},
			{"lgu", "24/11/2026", "must be a date"},
			{"lgu", "2026-02-30", "must be a date"},
			{"lgu", "2026-11-25", "is not over yet"},
			{"lgu", "2027-01-01", "is not over yet"},
		} {
			_, _, err := e.svc.Run(context.Background(), RunRequest{Carrier: c.carrier, BusinessDate: c.date})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q %q: %v, want %q", c.carrier, c.date, err, c.want)
			}
		}
	})
}
