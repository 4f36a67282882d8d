package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"tollgate/client"
	"tollgate/internal/msisdn"
)

// cmdTrigger makes one event happen in test mode, through the public API
// and the simulated carriers, as a merchant's own code would: a charge
// with a test phone number, its code read from the test inbox, and so on.
// It prints what it made on stdout.
func cmdTrigger(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	testClient := testClientFlags(fs, getenv)
	carrier := fs.String("carrier", "skt", "the simulated carrier to use")
	return fs, func(ctx context.Context, args []string) error {
		if len(args) == 0 {
			return usageError{synopsis["trigger"] + "\n" + triggerEvents()}
		}
		event := args[0]
		// Flags may follow the event, as in "trigger charge.succeeded --key …".
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err.Error()}
		}
		if fs.NArg() > 0 {
			return usageError{"one event at a time: " + synopsis["trigger"]}
		}
		happen, ok := triggers[event]
		if !ok {
			return usageError{fmt.Sprintf("unknown event %q\n%s", event, triggerEvents())}
		}
		c, err := testClient()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		t := &trigger{c: c, carrier: *carrier, out: stdout}
		if err := happen(ctx, t); err != nil {
			return fmt.Errorf("trigger %s: %w", event, err)
		}
		return nil
	}
}

type trigger struct {
	c       *client.Client
	carrier string
	out     io.Writer
}

// triggers: what each event takes. Test numbers' last four digits choose
// the simulated carrier's answer (README, "Test phone numbers").
var triggers = map[string]func(context.Context, *trigger) error{
	"charge.succeeded": func(ctx context.Context, t *trigger) error {
		_, err := t.paidCharge(ctx, testNumber("1000"))
		return err
	},
	"charge.failed": func(ctx context.Context, t *trigger) error {
		ch, err := t.confirmedCharge(ctx, testNumber("0002")) // declined: insufficient_balance
		if err != nil {
			return err
		}
		if ch.Status != "failed" {
			return fmt.Errorf("charge %s is %s, not failed", ch.ID, ch.Status)
		}
		fmt.Fprintf(t.out, "charge %s failed (%s)\n", ch.ID, deref(ch.FailureCode))
		return nil
	},
	"charge.canceled": func(ctx context.Context, t *trigger) error {
		ch, err := t.c.CreateCharge(ctx, client.ChargeParams{Amount: 1000, Currency: "KRW", MSISDN: testNumber("1000"), Carrier: t.carrier, Description: "tollgate trigger"})
		if err != nil {
			return err
		}
		if ch, err = t.c.CancelCharge(ctx, ch.ID); err != nil {
			return err
		}
		fmt.Fprintf(t.out, "charge %s %s\n", ch.ID, ch.Status)
		return nil
	},
	"charge.refunded":  refundTrigger,
	"refund.succeeded": refundTrigger,
	"payment_method.activated": func(ctx context.Context, t *trigger) error {
		_, err := t.activePaymentMethod(ctx)
		return err
	},
	"payment_method.revoked": func(ctx context.Context, t *trigger) error {
		pm, err := t.activePaymentMethod(ctx)
		if err != nil {
			return err
		}
		if pm, err = t.c.RevokePaymentMethod(ctx, pm.ID); err != nil {
			return err
		}
		fmt.Fprintf(t.out, "payment method %s %s\n", pm.ID, pm.Status)
		return nil
	},
}

func refundTrigger(ctx context.Context, t *trigger) error {
	ch, err := t.paidCharge(ctx, testNumber("1000"))
	if err != nil {
		return err
	}
	rf, err := t.c.CreateRefund(ctx, ch.ID, client.RefundParams{Reason: "tollgate trigger"})
	if err != nil {
		return err
	}
	fmt.Fprintf(t.out, "refund %s %s: %d %s of charge %s\n", rf.ID, rf.Status, rf.Amount, rf.Currency, ch.ID)
	return nil
}

// triggerEvents lists the events trigger can make.
func triggerEvents() string {
	names := make([]string, 0, len(triggers))
	for n := range triggers {
		names = append(names, n)
	}
	sort.Strings(names)
	return "events: " + strings.Join(names, ", ")
}

// testNumber is a Korean mobile number no one else is likely using in this
// test gateway, ending in last4 (which chooses the simulated outcome), and
// one the gateway accepts: libphonenumber refuses a few 010-5xxx blocks,
// which made one trigger in a few hundred fail invalid_msisdn.
func testNumber(last4 string) string {
	for {
		n := fmt.Sprintf("+8210%04d%s", rand.IntN(10000), last4)
		if _, err := msisdn.Parse(n, ""); err == nil {
			return n
		}
	}
}

// code reads the newest code texted to msisdn about this merchant.
func (t *trigger) code(ctx context.Context, msisdn string) (string, error) {
	texts, err := t.c.TestSMS(ctx, msisdn)
	if err != nil {
		return "", fmt.Errorf("read the test inbox: %w", err)
	}
	if len(texts.Data) == 0 || texts.Data[0].Code == "" {
		return "", errors.New("no code was texted")
	}
	return texts.Data[0].Code, nil
}

// confirmedCharge makes an SMS-code charge and confirms it, whatever the
// carrier then answers.
func (t *trigger) confirmedCharge(ctx context.Context, msisdn string) (*client.Charge, error) {
	ch, err := t.c.CreateCharge(ctx, client.ChargeParams{Amount: 1000, Currency: "KRW", MSISDN: msisdn, Carrier: t.carrier, Description: "tollgate trigger"})
	if err != nil {
		return nil, err
	}
	if ch.Status != "requires_confirmation" {
		return ch, nil
	}
	code, err := t.code(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if ch, err = t.c.ConfirmCharge(ctx, ch.ID, code); err != nil {
		return nil, err
	}
	return ch, nil
}

func (t *trigger) paidCharge(ctx context.Context, msisdn string) (*client.Charge, error) {
	ch, err := t.confirmedCharge(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if ch.Status != "succeeded" {
		return nil, fmt.Errorf("charge %s is %s, not succeeded", ch.ID, ch.Status)
	}
	fmt.Fprintf(t.out, "charge %s succeeded: %d %s\n", ch.ID, ch.Amount, ch.Currency)
	return ch, nil
}

func (t *trigger) activePaymentMethod(ctx context.Context) (*client.PaymentMethod, error) {
	msisdn := testNumber("1000")
	pm, err := t.c.CreatePaymentMethod(ctx, client.PaymentMethodParams{MSISDN: msisdn, Carrier: t.carrier})
	if err != nil {
		return nil, err
	}
	code, err := t.code(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if pm, err = t.c.ConfirmPaymentMethod(ctx, pm.ID, code); err != nil {
		return nil, err
	}
	fmt.Fprintf(t.out, "payment method %s %s\n", pm.ID, pm.Status)
	return pm, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
