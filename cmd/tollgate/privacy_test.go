package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Invariant 5: after a full round of charges, confirmations, refunds and
// opt-ins, no phone number appears in clear in any table or log line.
func TestNoPhoneNumberInClearInTheDatabaseOrLogs(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, g *gw) {
		numbers := []string{"+821012345678", "+821012340002", "+821055556666"}
		paid := g.paid(g.key, numbers[0], 5000, "skt")
		g.call("POST", "/v1/charges/"+paid.str("id")+"/refunds", g.key, newIdem(), map[string]any{"amount": 1000})
		g.paid(g.key, numbers[1], 1000, "skt")
		g.activePaymentMethod(g.key, numbers[2], "kt")
		g.call("POST", "/v1/charges", g.key, newIdem(), `{"amount": 5000, "currency": "KRW", "msisdn": "010-5555-6666", "country": "KR", "carrier": "vodafone"}`)
		// A carrier that puts the number in its URLs (OneAPI), timing out:
		// transport errors are logged, and must not carry the URL.
		numbers = append(numbers, "+821055557777", "+821055558888")
		pm := g.activePaymentMethod(g.key, "+821055557777", "kt")
		g.paid(g.key, "+821055558888", 1000, "lgu")
		g.faults(`{"carrier": "kt", "timeout_rate": 1}`)
		g.call("POST", "/v1/charges", g.key, newIdem(), map[string]any{"amount": 1000, "currency": "KRW", "payment_method": pm})
		g.faults(`{"carrier": "kt", "timeout_rate": 0}`)
		g.waitFinal(30 * time.Second)
		if !strings.Contains(g.logs.String(), "outcome unknown") {
			t.Fatal("the timeout was not logged; the test did not exercise the error path")
		}

		var dump strings.Builder
		for _, table := range []string{"merchants", "api_keys", "payment_methods", "charges", "refunds", "ledger_entries", "idempotency_keys", "carrier_messages", "events", "webhook_deliveries", "river_job"} {
			rows, err := g.store.DB.Raw("SELECT * FROM " + table).Rows()
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for _, v := range vals {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					fmt.Fprintf(&dump, "%v|", v)
				}
			}
			rows.Close()
		}
		if !strings.Contains(dump.String(), "+82 10-****-5678") {
			t.Fatal("the dump holds no masked number; it did not read the tables")
		}
		logs := g.logs.String()
		if !strings.Contains(logs, `"route"`) {
			t.Fatal("no request was logged")
		}
		for _, n := range numbers {
			national := "0" + n[3:]
			for _, form := range []string{n, n[1:], national, n[3:]} {
				if strings.Contains(dump.String(), form) {
					t.Errorf("the database holds %s in clear", form)
				}
				if strings.Contains(logs, form) {
					t.Errorf("the logs hold %s in clear", form)
				}
			}
		}
		if strings.Contains(dump.String(), "010-5555-6666") || strings.Contains(logs, "010-5555-6666") {
			t.Error("a national-form number is in clear")
		}
	})
}
