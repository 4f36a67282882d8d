package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tollgate/internal/auth"
	"tollgate/internal/storetest"
	"tollgate/settlement"
)

var seoulZone, _ = time.LoadLocation("Asia/Seoul")

// settleDay is today's business day in Seoul on the gateway's clock; the
// test then moves the clock a day on, so the day can be settled.
func (g *gw) settleDay() string {
	g.t.Helper()
	day := g.clock.Now().In(seoulZone).Format(time.DateOnly)
	return day
}

// overDay moves the clock past the business day a test settles by hand, by
// two days: the nightly run, due once the clock passes its hour, settles
// the day before the clock's, so it never races the test for that day (one
// day on, it did: a POST answered 200, the nightly's run, instead of 201).
func (g *gw) overDay() { g.clock.Advance(48*time.Hour + time.Minute) }

// simReport fetches a simulated carrier's settlement file.
func (g *gw) simReport(carrier, day string) string {
	g.t.Helper()
	r := g.call("GET", "/sim/reports/"+carrier+"/"+day, "", "", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		g.t.Fatalf("GET /sim/reports/%s/%s: %d %s", carrier, day, r.Status, r.Raw)
	}
	return string(r.Raw)
}

// editOneAPI rewrites the data rows of a OneAPI settlement file (KRW
// amounts, written "5000.00") and its trailer.
func editOneAPI(t *testing.T, file string, edit func(rows [][]string) [][]string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(file, "\n"), "\n")
	var rows [][]string
	for _, l := range lines[2 : len(lines)-1] {
		rows = append(rows, strings.Split(l, ";"))
	}
	rows = edit(rows)
	var b strings.Builder
	b.WriteString(lines[0] + "\n" + lines[1] + "\n")
	var total int64
	for _, r := range rows {
		b.WriteString(strings.Join(r, ";") + "\n")
		n, err := strconv.ParseInt(strings.TrimSuffix(r[4], ".00"), 10, 64)
		if err != nil {
			t.Fatalf("amount %q: %v", r[4], err)
		}
		total += n
	}
	fmt.Fprintf(&b, "TRAILER;%d;%d\n", len(rows), total)
	return b.String()
}

func rowOf(t *testing.T, rows [][]string, clientRef string) int {
	t.Helper()
	for i, r := range rows {
		if r[1] == clientRef {
			return i
		}
	}
	t.Fatalf("no row for %s in the file", clientRef)
	return -1
}

// TestSettlementFindsEachKindOnce: a real day on kt, its file from the
// simulator edited to hold one of every discrepancy, a duplicate line and a
// charge still processing; each is found exactly once, the processing
// charge is settled, statements tie out to the ledger, and a rerun changes
// nothing but supersedes.
func TestSettlementFindsEachKindOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			g := startWith(t, opts{dbURL: storetest.URL(t, d), noJobs: true}) // no status job: a charge without an answer stays processing
			fin := g.roleKey(auth.RoleFinance)
			day := g.settleDay()
			ids := map[string]string{}
			for i, name := range []string{"match", "dropped", "skewed", "failed", "dup", "other"} {
				r := g.paid(g.key, fmt.Sprintf("+8210999900%02d", i+10), int64(1000*(i+1)), "kt")
				if r.str("status") != "succeeded" {
					t.Fatalf("charge %s: %s", name, r.Raw)
				}
				ids[name] = r.str("id")
			}
			rf := g.call("POST", "/v1/charges/"+ids["match"]+"/refunds", g.key, newIdem(), nil) // kt refunds whole charges
			if rf.Status != 201 || rf.str("status") != "succeeded" {
				t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
			}
			// A charge the carrier bills and never answers: it stays processing.
			ch := g.charge(g.key, krw("+821099990066", 2500, "kt"))
			code := g.smsCode("+821099990066")
			g.faults(`{"carrier": "kt", "timeout_rate": 1}`)
			held := g.call("POST", "/v1/charges/"+ch.str("id")+"/confirm", g.key, "", map[string]string{"code": code})
			g.faults(`{"carrier": "kt", "timeout_rate": 0}`)
			if held.str("status") != "processing" {
				t.Fatalf("charge without an answer: %s", held.Raw)
			}
			ids["held"] = held.str("id")
			g.overDay()

			file := editOneAPI(t, g.simReport("kt", day), func(rows [][]string) [][]string {
				if len(rows) != 8 {
					t.Fatalf("the sim's file has %d rows, want 6 charges, a refund and the held charge", len(rows))
				}
				rows[rowOf(t, rows, ids["skewed"])][4] = "3100.00"
				rows[rowOf(t, rows, ids["failed"])][3] = "Denied"
				rows = append(rows, append([]string(nil), rows[rowOf(t, rows, ids["dup"])]...))
				rows = append(rows, []string{"txn_phantom", "ch_phantom", "CHARGE", "Charged", "777.00", "KRW", rows[0][6]})
				i := rowOf(t, rows, ids["dropped"])
				return append(rows[:i], rows[i+1:]...)
			})
			ctx := context.Background()
			run, out, err := g.app.settle.Run(ctx, settlement.RunRequest{Carrier: "kt", BusinessDate: day, Report: strings.NewReader(file), ReportName: "kt.csv"})
			if err != nil || out != settlement.Ran || run.Status != settlement.StatusCompleted {
				t.Fatalf("run: %v %v %+v", err, out, run)
			}
			want := map[string]string{
				settlement.KindMissingAtCarrier: ids["dropped"], settlement.KindAmountMismatch: ids["skewed"],
				settlement.KindStatusMismatch: ids["failed"], settlement.KindDuplicate: ids["dup"],
				settlement.KindMissingAtGateway: "ch_phantom", settlement.KindResolved: ids["held"],
			}
			r := g.call("GET", "/v1/settlements/"+run.ID+"/discrepancies", fin, "", nil)
			data, _ := r.Body["data"].([]any)
			if r.Status != 200 || len(data) != len(want) {
				t.Fatalf("discrepancies: %d %s", r.Status, r.Raw)
			}
			for _, x := range data {
				dv := x.(map[string]any)
				id, _ := dv["charge"].(string)
				if dv["kind"] == settlement.KindMissingAtGateway {
					id, _ = dv["client_reference"].(string)
				}
				if want[dv["kind"].(string)] != id {
					t.Errorf("%s found for %v, want %s", dv["kind"], id, want[dv["kind"].(string)])
				}
				delete(want, dv["kind"].(string))
			}
			if len(want) != 0 {
				t.Errorf("not found: %v", want)
			}
			got := g.call("GET", "/v1/settlements/"+run.ID, fin, "", nil)
			for k, v := range map[string]int64{
				"lines_read": 9, "matched_count": 5, "matched_amount": 1000 + 5000 + 6000 + 2500 - 1000,
				"missing_at_carrier_count": 1, "missing_at_carrier_amount": 2000,
				"missing_at_gateway_count": 1, "missing_at_gateway_amount": 777,
				"amount_mismatch_count": 1, "amount_mismatch_amount": 100,
				"status_mismatch_count": 1, "status_mismatch_amount": 4000,
				"duplicate_count": 1, "duplicate_amount": 5000, "resolved_count": 1, "resolved_amount": 2500,
			} {
				if got.num(k) != v {
					t.Errorf("%s = %d, want %d", k, got.num(k), v)
				}
			}
			// The held charge is settled by the file; the one it lists as
			// failed stays succeeded (never silently "fixed").
			if s := g.call("GET", "/v1/charges/"+ids["held"], g.key, "", nil).str("status"); s != "succeeded" {
				t.Errorf("the held charge is %s, want succeeded", s)
			}
			if s := g.call("GET", "/v1/charges/"+ids["failed"], g.key, "", nil).str("status"); s != "succeeded" {
				t.Errorf("the charge the file calls failed is %s, want it left succeeded", s)
			}
			g.assertLedgerBalances()

			// Statements tie out to the ledger for the day, to the unit.
			st := g.call("GET", "/v1/settlements/"+run.ID+"/statements", fin, "", nil)
			sts, _ := st.Body["data"].([]any)
			var gross, refunds, fees, net int64
			for _, x := range sts {
				m := x.(map[string]any)
				gross += int64(m["gross"].(float64))
				refunds += int64(m["refunds"].(float64))
				fees += int64(m["carrier_fees"].(float64)) + int64(m["gateway_fees"].(float64))
				net += int64(m["net"].(float64))
			}
			from, _ := time.ParseInLocation(time.DateOnly, day, seoulZone)
			var ledger int64
			g.store.DB.Raw(`SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l JOIN charges c ON c.id = l.charge_id
				WHERE c.carrier = 'kt' AND l.account = 'carrier_receivable' AND l.created_at >= ? AND l.created_at < ?`,
				from.UTC(), from.AddDate(0, 0, 1).UTC()).Scan(&ledger)
			// Gross includes the processing charge the file settled (2,500):
			// it is booked on the day the carrier billed it, not the run's.
			if len(sts) != 1 || gross-refunds != ledger || gross != 23500 || refunds != 1000 || net != gross-refunds-fees {
				t.Errorf("statements %s: gross %d refunds %d net %d; ledger %d", st.Raw, gross, refunds, net, ledger)
			}

			// CSV of the three.
			for _, p := range []string{"", "/discrepancies", "/statements"} {
				c := g.call("GET", "/v1/settlements/"+run.ID+p+"?format=csv", fin, "", nil)
				lines := strings.Split(strings.TrimSpace(string(c.Raw)), "\n")
				wantLines := map[string]int{"": 2, "/discrepancies": 7, "/statements": 2}[p]
				if c.Status != 200 || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") || len(lines) != wantLines {
					t.Errorf("%s?format=csv: %d %s, %d lines, want %d:\n%s", p, c.Status, c.Header.Get("Content-Type"), len(lines), wantLines, c.Raw)
				}
			}

			// A rerun of the same file: a new run, the same findings (the
			// held charge, settled now, simply matches), the old one superseded.
			again, out, err := g.app.settle.Run(ctx, settlement.RunRequest{Carrier: "kt", BusinessDate: day, Rerun: true, Report: strings.NewReader(file)})
			if err != nil || out != settlement.Ran || again.ID == run.ID {
				t.Fatalf("rerun: %v %v", err, out)
			}
			wantAgain := run.Totals
			wantAgain.ResolvedCount, wantAgain.ResolvedAmount = 0, 0
			if again.Totals != wantAgain {
				t.Errorf("rerun totals\n got %+v\nwant %+v", again.Totals, wantAgain)
			}
			old := g.call("GET", "/v1/settlements/"+run.ID, fin, "", nil)
			if old.str("superseded_by") != again.ID || old.str("status") != "completed" {
				t.Errorf("the first run after the rerun: %s", old.Raw)
			}
			st2 := g.call("GET", "/v1/settlements/"+again.ID+"/statements", fin, "", nil)
			if !bytes.Equal(bytes.ReplaceAll(st2.Raw, []byte(again.ID), nil), bytes.ReplaceAll(st.Raw, []byte(run.ID), nil)) {
				t.Errorf("rerun statements differ:\n%s\n%s", st2.Raw, st.Raw)
			}
			list := g.call("GET", "/v1/settlements?business_date="+day, fin, "", nil)
			if l, _ := list.Body["data"].([]any); len(l) != 2 {
				t.Errorf("list of the day: %s", list.Raw)
			}
		})
	}
}

// TestSettlementSimFaults produces discrepancies on demand with the
// simulator's report faults, through the finance API and every protocol.
func TestSettlementSimFaults(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		fin := g.roleKey(auth.RoleFinance)
		day := g.settleDay()
		for i := range 3 {
			if r := g.paid(g.key, fmt.Sprintf("+8210888800%02d", i+10), 1000, "kt"); r.str("status") != "succeeded" {
				t.Fatalf("kt charge: %s", r.Raw)
			}
		}
		lgu := g.paid(g.key, "+821077770011", 3000, "lgu")
		g.waitStatus(g.key, lgu.str("id"), "succeeded")
		g.overDay()

		post := func(carrier string, rerun bool) resp {
			t.Helper()
			r := g.call("POST", "/v1/settlements", fin, "", map[string]any{"carrier": carrier, "business_date": day, "rerun": rerun})
			if r.Status != 201 || r.str("status") != "completed" {
				t.Fatalf("POST /v1/settlements %s: %d %s", carrier, r.Status, r.Raw)
			}
			return r
		}
		// No faults: every line of every protocol's file matches.
		for _, c := range []string{"skt", "kt", "lgu"} {
			r := post(c, false)
			if r.num("matched_count") != map[string]int64{"skt": 0, "kt": 3, "lgu": 1}[c] || r.num("missing_at_carrier_count")+r.num("missing_at_gateway_count")+
				r.num("amount_mismatch_count")+r.num("status_mismatch_count")+r.num("duplicate_count") != 0 {
				t.Errorf("%s without faults: %s", c, r.Raw)
			}
		}
		same := g.call("POST", "/v1/settlements", fin, "", map[string]any{"carrier": "kt", "business_date": day})
		if same.Status != 200 {
			t.Errorf("settling a settled day again: %d, want 200 and the same run", same.Status)
		}

		for _, c := range []struct{ faults, count string }{
			{`{"carrier": "kt", "report_amount_skew_rate": 1}`, "amount_mismatch_count"},
			{`{"carrier": "kt", "report_amount_skew_rate": 0, "report_drop_rate": 1}`, "missing_at_carrier_count"},
			{`{"carrier": "kt", "report_drop_rate": 0, "report_phantom_rate": 1}`, "missing_at_gateway_count"},
		} {
			g.faults(c.faults)
			if r := post("kt", true); r.num(c.count) != 3 {
				t.Errorf("%s: %s = %d, want 3: %s", c.faults, c.count, r.num(c.count), r.Raw)
			}
		}
		stats := g.call("GET", "/sim/stats", g.admin, "", nil)
		f, _ := stats.Body["carriers"].(map[string]any)["kt"].(map[string]any)["faults"].(map[string]any)
		if f["report_amounts_skewed"] != 3.0 || f["report_rows_dropped"] != 3.0 || f["report_rows_invented"] != 3.0 {
			t.Errorf("sim stats faults: %v", f)
		}
	})
}

// TestSettlementFinanceOnly: finance keys only, and clear problems for bad input.
func TestSettlementFinanceOnly(t *testing.T) {
	t.Parallel()
	g := start(t, "sqlite")
	fin, adm := g.roleKey(auth.RoleFinance), g.roleKey(auth.RoleAdmin)
	for _, p := range []string{"/v1/settlements", "/v1/settlements/stl_x", "/v1/settlements/stl_x/discrepancies", "/v1/settlements/stl_x/statements"} {
		for _, k := range []string{g.key, adm} {
			if r := g.call("GET", p, k, "", nil); r.Status != http.StatusForbidden {
				t.Errorf("GET %s with a non-finance key: %d", p, r.Status)
			}
		}
		if r := g.call("GET", p, "", "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("GET %s without a key: %d", p, r.Status)
		}
	}
	if r := g.call("POST", "/v1/settlements", g.key, "", map[string]any{"carrier": "skt", "business_date": "2020-01-01"}); r.Status != http.StatusForbidden {
		t.Errorf("POST with a merchant key: %d", r.Status)
	}
	tomorrow := g.clock.Now().In(seoulZone).AddDate(0, 0, 1).Format(time.DateOnly)
	today := g.clock.Now().In(seoulZone).Format(time.DateOnly)
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"carrier": "nope", "business_date": "2020-01-01"}`, 422, "unknown_carrier"},
		{`{"business_date": "2020-01-01"}`, 400, "invalid_parameter"},
		{`{"carrier": "skt"}`, 400, "invalid_parameter"},
		{`{"carrier": "skt", "business_date": "2020-13-01"}`, 400, "invalid_parameter"},
		{`{"carrier": "skt", "business_date": "20200101"}`, 400, "invalid_parameter"},
		{`{"carrier": "skt", "business_date": "` + tomorrow + `"}`, 400, "invalid_parameter"},
		{`{"carrier": "skt", "business_date": "` + today + `"}`, 400, "invalid_parameter"},
		{`{"carrier": "skt", "business_date": "2020-01-01", "colour": "red"}`, 400, "unknown_parameter"},
		{`[1]`, 400, "invalid_json"},
	} {
		r := g.call("POST", "/v1/settlements", fin, "", c.body)
		if r.Status != c.status || r.str("code") != c.code || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("POST %s: %d %s, want %d %s", c.body, r.Status, r.Raw, c.status, c.code)
		}
	}
	for _, p := range []string{"/v1/settlements/stl_nope", "/v1/settlements/stl_nope/discrepancies", "/v1/settlements/stl_nope/statements"} {
		if r := g.call("GET", p, fin, "", nil); r.Status != 404 || r.str("code") != "not_found" {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Raw)
		}
	}
	for _, q := range []string{"?business_date=yesterday", "?limit=0", "?colour=red", "?status=done"} {
		if r := g.call("GET", "/v1/settlements"+q, fin, "", nil); r.Status != 400 {
			t.Errorf("GET /v1/settlements%s: %d %s", q, r.Status, r.Raw)
		}
	}
	// A carrier that is down: the run fails, says so, and the API answers
	// the failed run; once it is back, settling the day runs again.
	g.faults(`{"carrier": "skt", "down": true}`)
	r := g.call("POST", "/v1/settlements", fin, "", map[string]any{"carrier": "skt", "business_date": "2020-01-01"})
	if r.Status != 201 || r.str("status") != "failed" || !strings.Contains(r.str("failure_message"), "could not be reached") {
		t.Errorf("settling with the carrier down: %d %s", r.Status, r.Raw)
	}
	g.faults(`{"carrier": "skt", "down": false}`)
	r = g.call("POST", "/v1/settlements", fin, "", map[string]any{"carrier": "skt", "business_date": "2020-01-01"})
	if r.Status != 201 || r.str("status") != "completed" || r.num("lines_read") != 0 {
		t.Errorf("settling an empty day: %d %s", r.Status, r.Raw)
	}
}

// TestSettleCommand runs `tollgate settle` on files: a good one prints the
// summary table and exits 0; each bad one exits non-zero with a message
// that says what is wrong, and its run keeps no discrepancies.
func TestSettleCommand(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			g := startWith(t, opts{dbURL: storetest.URL(t, d), noJobs: true})
			dir := t.TempDir()
			// A day that is over on the wall clock, which the command uses.
			day := time.Now().In(seoulZone).AddDate(0, 0, -2).Format(time.DateOnly)
			head := "CAMARA-SETTLEMENT,1,skt," + day + "\npaymentId,clientCorrelator,transactionType,amount,currency,status,billedAt\n"
			row := "pay_1,ch_unknown,payment,5000,KRW,succeeded," + day + "T10:00:00+09:00\n"
			getenv := func(k string) string {
				return map[string]string{"TOLLGATE_DATABASE_URL": g.app.cfg.DatabaseURL, "TOLLGATE_SECRET_KEY": testSecret, "TOLLGATE_LOG_LEVEL": "error"}[k]
			}
			settle := func(file string, extra ...string) (string, string, error) {
				path := filepath.Join(dir, fmt.Sprintf("f%d.csv", time.Now().UnixNano()))
				if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				args := append([]string{"settle", "--carrier", "skt", "--date", day, "--report", path}, extra...)
				err := run(context.Background(), args, &stdout, &stderr, getenv)
				return stdout.String(), stderr.String(), err
			}
			out, _, err := settle(head + row + "END,1,5000\n")
			if err != nil || !strings.Contains(out, "missing_at_gateway") || !strings.Contains(out, "completed") {
				t.Fatalf("good file: %v\n%s", err, out)
			}
			for _, c := range []struct{ name, file, want string }{
				{"empty", "", "the file is empty"},
				{"wrong columns", strings.Replace(head, "amount", "amt", 1) + row + "END,1,5000\n", "the columns are"},
				{"bad date", head + strings.Replace(row, "T10:00:00+09:00", "", 1) + "END,1,5000\n", "line 3, column billedAt"},
				{"bad amount", head + strings.Replace(row, ",5000,", ",50.5,", 1) + "END,1,5000\n", "line 3, column amount"},
				{"truncated", head + row, "without its END trailer"},
				{"another carrier's", strings.Replace(head, ",skt,", ",kt,", 1) + row + "END,1,5000\n", `carrier "kt"'s settlement file`},
			} {
				out, _, err := settle(c.file, "--rerun")
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "failed") {
					t.Errorf("%s: %v, want an error with %q\n%s", c.name, err, c.want, out)
				}
			}
			var n int64
			g.store.DB.Raw(`SELECT COUNT(*) FROM settlement_discrepancies d JOIN settlement_runs r ON r.id = d.run_id WHERE r.status = 'failed'`).Scan(&n)
			if n != 0 {
				t.Errorf("failed runs kept %d discrepancies", n)
			}
			var failed, completed int64
			g.store.DB.Raw(`SELECT COUNT(*) FROM settlement_runs WHERE status = 'failed'`).Scan(&failed)
			g.store.DB.Raw(`SELECT COUNT(*) FROM settlement_runs WHERE status = 'completed' AND superseded_by IS NULL`).Scan(&completed)
			if failed != 6 || completed != 1 {
				t.Errorf("%d failed and %d current runs, want 6 and 1", failed, completed)
			}
			if _, _, err := settle(head+row+"END,1,5000\n", "--carrier", "skt"); err != nil {
				t.Errorf("settling the settled day again: %v", err)
			}
		})
	}
}
