package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exampleBinary builds client/example into the test's own directory, as a
// merchant would: go build of the package, nothing borrowed from the test.
// (A binary shared by the process was removed by the first run's cleanup
// and missing for -count=2's second.)
func exampleBinary(t *testing.T) (string, error) {
	bin := filepath.Join(t.TempDir(), "example")
	out, err := exec.Command("go", "build", "-o", bin, "tollgate/client/example").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
}

// The documented example program charges and refunds against a running
// gateway, through the client alone, given only the URL and a test key.
func TestClientExampleRunsAgainstAGateway(t *testing.T) {
	t.Parallel()
	bin, err := exampleBinary(t)
	if err != nil {
		var ee *exec.ExitError
		if ok := asExit(err, &ee); ok {
			t.Fatalf("build the example: %s", ee.Stderr)
		}
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, g *gw) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--url", g.base, "--msisdn", "+821012345678", "--amount", "5000", "--refund", "2000")
		cmd.Env = append(os.Environ(), "TOLLGATE_KEY="+g.key)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("example: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		want := []*regexp.Regexp{
			regexp.MustCompile(`^charge (ch_\w+) requires_confirmation: 5000 KRW to \+82 10-\*\*\*\*-5678$`),
			regexp.MustCompile(`^charge ch_\w+ succeeded$`),
			regexp.MustCompile(`^refund re_\w+ succeeded: 2000 KRW$`),
			regexp.MustCompile(`^refusal refund_exceeds_charge: 3000 left to refund \(see /docs/errors/refund_exceeds_charge\)$`),
			regexp.MustCompile(`^charge ch_\w+ partially_refunded: refunded 2000 of 5000 KRW$`),
		}
		if len(lines) != len(want) {
			t.Fatalf("output:\n%s", out)
		}
		for i, re := range want {
			if !re.MatchString(lines[i]) {
				t.Errorf("line %d = %q, want %s", i+1, lines[i], re)
			}
		}
		// The gateway agrees: the charge is partially refunded, billed once.
		id := regexp.MustCompile(`ch_\w+`).FindString(lines[0])
		if r := g.call("GET", "/v1/charges/"+id, g.key, "", nil); r.str("status") != "partially_refunded" || r.num("refunded_amount") != 2000 {
			t.Fatalf("charge %s", r.Raw)
		}
		stats := g.call("GET", "/sim/stats", g.admin, "", nil)
		skt, _ := stats.Body["carriers"].(map[string]any)["skt"].(map[string]any)
		if skt["charges_billed"] != float64(1) || skt["refunds"] != float64(1) {
			t.Errorf("skt billed %v and refunded %v, want once each", skt["charges_billed"], skt["refunds"])
		}
		// A wrong key is a clear failure, not a hang.
		bad := exec.CommandContext(ctx, bin, "--url", g.base, "--key", "sk_test_nope")
		if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "401 unauthorized") {
			t.Errorf("a bad key: %v\n%s", err, out)
		}
	})
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
