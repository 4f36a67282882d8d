package main

import (
	"fmt"
	"testing"
)

// A filtered list pages on: the cursor is any of the merchant's charges,
// whatever its status, so a client can walk ?status=requires_confirmation
// from a page that ended before the last charge on it was paid (the filter
// reaching the cursor's look-up answered 400 here).
func TestFilteredListsPageFromACursorOfAnotherStatus(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		var waiting []string
		for i := range 3 {
			waiting = append(waiting, g.charge(g.key, krw(fmt.Sprintf("+82108880%04d", 100+i), 1000, "kt")).str("id"))
		}
		paid := g.paid(g.key, "+821088800200", 1000, "kt").str("id")

		r := g.call("GET", "/v1/charges?status=requires_confirmation&limit=2&starting_after="+paid, g.key, "", nil)
		if r.Status != 200 {
			t.Fatalf("a succeeded charge as the cursor of a requires_confirmation list: %d %s", r.Status, r.Raw)
		}
		data, _ := r.Body["data"].([]any)
		var got []string
		for _, d := range data {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		if want := []string{waiting[2], waiting[1]}; fmt.Sprint(got) != fmt.Sprint(want) || r.Body["has_more"] != true {
			t.Fatalf("page after %s: %v (has_more %v), want %v and more", paid, got, r.Body["has_more"], want)
		}
		sub := g.call("GET", "/v1/subscriptions?status=active&starting_after=sub_nope", g.key, "", nil)
		if sub.Status != 400 || sub.str("param") != "starting_after" {
			t.Fatalf("an unknown cursor: %d %s", sub.Status, sub.Raw)
		}
	})
}
