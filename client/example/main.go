// Command example charges a subscriber's phone bill and refunds part of it
// through tollgate's Go client, as a merchant's server would:
//
//	go run ./client/example --url http://127.0.0.1:8080 --key "$KEY"
//
// (or TOLLGATE_URL and TOLLGATE_KEY). With a test key it reads the SMS code
// from the test inbox, as the subscriber would type it on the merchant's page.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"tollgate/client"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	base := fs.String("url", envOr(getenv, "TOLLGATE_URL", "http://127.0.0.1:8080"), "the gateway's base URL (or TOLLGATE_URL)")
	key := fs.String("key", getenv("TOLLGATE_KEY"), "a merchant's test API key (or TOLLGATE_KEY)")
	msisdn := fs.String("msisdn", "+821012345678", "the subscriber's phone number (test numbers: see the README)")
	carrier := fs.String("carrier", "skt", "the subscriber's carrier (GET /v1/carriers)")
	amount := fs.Int64("amount", 5000, "the charge, in minor units of --currency")
	currency := fs.String("currency", "KRW", "ISO 4217 currency")
	refund := fs.Int64("refund", 2000, "how much of it to refund")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := client.New(*base, *key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// 1. Ask to charge; the subscriber is texted a code. The client makes
	// the Idempotency-Key and resends with it if the network fails.
	ch, err := c.CreateCharge(ctx, client.ChargeParams{Amount: *amount, Currency: *currency, MSISDN: *msisdn, Carrier: *carrier, Description: "500 gems"})
	if err != nil {
		return fmt.Errorf("create charge: %w", err)
	}
	fmt.Fprintf(out, "charge %s %s: %d %s to %s\n", ch.ID, ch.Status, ch.Amount, ch.Currency, ch.MSISDNMasked)

	// 2. The subscriber types the code; in test mode it is in the test inbox.
	texts, err := c.TestSMS(ctx, *msisdn)
	if err != nil {
		return fmt.Errorf("read the test inbox: %w", err)
	}
	if len(texts.Data) == 0 {
		return errors.New("no code was texted")
	}
	ch, err = c.ConfirmCharge(ctx, ch.ID, texts.Data[0].Code)
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	fmt.Fprintf(out, "charge %s %s\n", ch.ID, ch.Status)

	// 3. Refund part of it.
	rf, err := c.CreateRefund(ctx, ch.ID, client.RefundParams{Amount: *refund, Reason: "example"})
	if err != nil {
		return fmt.Errorf("refund: %w", err)
	}
	fmt.Fprintf(out, "refund %s %s: %d %s\n", rf.ID, rf.Status, rf.Amount, rf.Currency)

	// 4. A problem is an *client.Error: branch on its code.
	_, err = c.CreateRefund(ctx, ch.ID, client.RefundParams{Amount: *amount})
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code == "refund_exceeds_charge" {
		left, _ := apiErr.Int("refundable_amount")
		fmt.Fprintf(out, "refusal %s: %d left to refund (see %s)\n", apiErr.Code, left, apiErr.Type)
	} else if err != nil {
		return fmt.Errorf("second refund: %w", err)
	}

	ch, err = c.GetCharge(ctx, ch.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "charge %s %s: refunded %d of %d %s\n", ch.ID, ch.Status, ch.RefundedAmount, ch.Amount, ch.Currency)
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
