package main

import (
	"testing"

	"tollgate/internal/msisdn"
)

// Every number trigger makes up is one the gateway accepts (a few 010-5xxx
// blocks are refused, and CI once drew one).
func TestTriggerNumbersAreValidMobileNumbers(t *testing.T) {
	for range 2000 {
		n := testNumber("1000")
		if _, err := msisdn.Parse(n, ""); err != nil {
			t.Fatalf("trigger made up %s: %v", n, err)
		}
	}
}
