package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// The books' day: 2026-11-24 in Seoul, [from, to) in UTC.
var (
	booksFrom = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	booksTo   = booksFrom.Add(24 * time.Hour)
)

func booksAt(h int) time.Time { return booksFrom.Add(time.Duration(h) * time.Hour) }

// booksBundle is a store with a day's books of carriers lgu and kt.
type booksBundle struct {
	t     *testing.T
	st    *store.Store
	books *Books
}

func setupBooks(t *testing.T, st *store.Store) *booksBundle {
	t.Helper()
	b := &booksBundle{t: t, st: st, books: NewBooks(st.DB)}
	for _, m := range []string{"mer_a", "mer_b"} {
		b.create(&Merchant{ID: m, Name: m, CreatedAt: booksFrom})
	}
	return b
}

func (b *booksBundle) create(v any) {
	b.t.Helper()
	if err := b.st.DB.Create(v).Error; err != nil {
		b.t.Fatalf("create %T: %v", v, err)
	}
}

// charge writes a charge; a billed one gets its posting at succeededAt.
func (b *booksBundle) charge(id, merchant, carrier string, status Status, amount int64, ref string, created time.Time, succeededAt *time.Time) {
	b.t.Helper()
	ch := &Charge{ID: id, MerchantID: merchant, IdempotencyKey: id, Status: status, Amount: amount, Currency: "KRW", Carrier: carrier,
		MSISDNEnc: "x", MSISDNIndex: "x", MSISDNMasked: "x", Metadata: "{}", CreatedAt: created, UpdatedAt: created, SucceededAt: succeededAt}
	if ref != "" {
		ch.CarrierReference = &ref
	}
	b.create(ch)
	if status.Billed() {
		b.post(ch.MerchantID, id, nil, amount, *succeededAt)
	}
}

// refund writes a refund of chargeID; a succeeded one gets its posting at updated.
func (b *booksBundle) refund(id, chargeID, merchant string, status RefundStatus, amount int64, ref string, updated time.Time) {
	b.t.Helper()
	rf := &Refund{ID: id, ChargeID: chargeID, MerchantID: merchant, IdempotencyKey: id, Amount: amount, Currency: "KRW", Status: status,
		CreatedAt: updated.Add(-time.Minute), UpdatedAt: updated}
	if ref != "" {
		rf.CarrierReference = &ref
	}
	b.create(rf)
	if status == RefundSucceeded {
		b.post(merchant, chargeID, &id, -amount, updated)
	}
}

func (b *booksBundle) post(merchant, chargeID string, refundID *string, amount int64, t time.Time) {
	b.t.Helper()
	b.create(&[]LedgerEntry{
		{MerchantID: merchant, ChargeID: chargeID, RefundID: refundID, Account: AccountCarrierReceivable, Amount: amount, Currency: "KRW", CreatedAt: t},
		{MerchantID: merchant, ChargeID: chargeID, RefundID: refundID, Account: AccountMerchantPayable, Amount: -amount, Currency: "KRW", CreatedAt: t},
	})
}

// seedBooksDay writes lgu's day with a case of each kind around its edges, and
// kt's records that lgu's reads must never see.
func seedBooksDay(b *booksBundle) {
	before, after := booksFrom.Add(-time.Second), booksTo
	b.charge("ch_ok", "mer_a", "lgu", StatusSucceeded, 5000, "chg_ok", booksAt(1), ptr(booksAt(1)))
	b.charge("ch_part", "mer_b", "lgu", StatusPartiallyRefunded, 4000, "chg_part", booksAt(2), ptr(booksAt(2)))
	b.charge("ch_full", "mer_a", "lgu", StatusRefunded, 3000, "", booksAt(3), ptr(booksAt(3)))
	b.charge("ch_first", "mer_a", "lgu", StatusSucceeded, 1000, "chg_first", booksFrom, ptr(booksFrom)) // the day's first instant
	b.charge("ch_prev", "mer_a", "lgu", StatusSucceeded, 7000, "chg_prev", before, ptr(before))
	b.charge("ch_next", "mer_a", "lgu", StatusSucceeded, 8000, "chg_next", after, ptr(after))
	b.charge("ch_failed", "mer_b", "lgu", StatusFailed, 1000, "", booksAt(4), nil)
	b.charge("ch_proc", "mer_a", "lgu", StatusProcessing, 2000, "", booksAt(5), nil)
	b.charge("ch_proc_old", "mer_b", "lgu", StatusProcessing, 2500, "", before, nil)
	b.charge("ch_proc_late", "mer_a", "lgu", StatusProcessing, 2600, "", after, nil)
	b.charge("ch_kt", "mer_a", "kt", StatusSucceeded, 9000, "chg_kt", booksAt(1), ptr(booksAt(1)))
	b.charge("ch_kt_proc", "mer_a", "kt", StatusProcessing, 9100, "", booksAt(1), nil)
	b.refund("re_ok", "ch_part", "mer_b", RefundSucceeded, 500, "rfd_ok", booksAt(6))
	b.refund("re_full", "ch_full", "mer_a", RefundSucceeded, 3000, "", booksAt(7))
	b.refund("re_pending", "ch_ok", "mer_a", RefundPending, 100, "", booksAt(8))
	b.refund("re_next", "ch_ok", "mer_a", RefundSucceeded, 200, "rfd_next", after)
	b.refund("re_kt", "ch_kt", "mer_a", RefundSucceeded, 300, "rfd_kt", booksAt(6))
}

func TestBooksFeeds(t *testing.T) {
	type feed func(ctx context.Context, b *Books, fn func(FeedRow) error) error
	cases := []struct {
		name string
		feed feed
		want []string // "id amount currency status", in id order
	}{
		{"charges that succeeded on the day and were billed", func(ctx context.Context, b *Books, fn func(FeedRow) error) error {
			return b.SucceededCharges(ctx, "lgu", booksFrom, booksTo, fn)
		}, []string{"ch_first 1000 KRW succeeded", "ch_full 3000 KRW refunded", "ch_ok 5000 KRW succeeded", "ch_part 4000 KRW partially_refunded"}},
		{"charges processing, created before the day ended", func(ctx context.Context, b *Books, fn func(FeedRow) error) error {
			return b.ProcessingCharges(ctx, "lgu", booksTo, fn)
		}, []string{"ch_proc 2000 KRW processing", "ch_proc_old 2500 KRW processing"}},
		{"refunds that succeeded on the day", func(ctx context.Context, b *Books, fn func(FeedRow) error) error {
			return b.SucceededRefunds(ctx, "lgu", booksFrom, booksTo, fn)
		}, []string{"re_full 3000 KRW succeeded", "re_ok 500 KRW succeeded"}},
		{"another carrier's refunds", func(ctx context.Context, b *Books, fn func(FeedRow) error) error {
			return b.SucceededRefunds(ctx, "kt", booksFrom, booksTo, fn)
		}, []string{"re_kt 300 KRW succeeded"}},
		{"a carrier with nothing", func(ctx context.Context, b *Books, fn func(FeedRow) error) error {
			return b.SucceededCharges(ctx, "skt", booksFrom, booksTo, fn)
		}, nil},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setupBooks(t, st)
		seedBooksDay(b)
		ctx := context.Background()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var got []string
				err := c.feed(ctx, b.books, func(r FeedRow) error {
					got = append(got, fmt.Sprintf("%s %d %s %s", r.ID, r.Amount, r.Currency, r.Status))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("got %q\nwant %q", got, c.want)
				}
			})
		}
		t.Run("count", func(t *testing.T) {
			n, err := b.books.CountSucceededCharges(ctx, "lgu", booksFrom, booksTo)
			if err != nil || n != 4 {
				t.Errorf("CountSucceededCharges = %d, %v; want 4", n, err)
			}
		})
		t.Run("a callback's error stops the feed", func(t *testing.T) {
			stop := errors.New("stop")
			calls := 0
			err := b.books.SucceededCharges(ctx, "lgu", booksFrom, booksTo, func(FeedRow) error { calls++; return stop })
			if !errors.Is(err, stop) || calls != 1 {
				t.Errorf("err %v after %d calls; want stop after 1", err, calls)
			}
		})
	})
}

func TestBooksFind(t *testing.T) {
	rec := func(id, charge, merchant string, amount int64, status, ref string) Record {
		return Record{ID: id, ChargeID: charge, MerchantID: merchant, Amount: amount, Currency: "KRW", Status: status, CarrierReference: ref}
	}
	type findCase struct {
		name    string
		refunds bool
		carrier string
		by      LookupBy
		values  []string
		want    []Record
	}
	cases := []findCase{
		{"charges by id", false, "lgu", ByID, []string{"ch_ok", "ch_full", "ch_nope", "ch_kt"},
			[]Record{rec("ch_full", "ch_full", "mer_a", 3000, "refunded", ""), rec("ch_ok", "ch_ok", "mer_a", 5000, "succeeded", "chg_ok")}},
		{"charges by carrier reference", false, "lgu", ByCarrierReference, []string{"chg_part", "chg_kt"},
			[]Record{rec("ch_part", "ch_part", "mer_b", 4000, "partially_refunded", "chg_part")}},
		{"refunds by id carry their charge and its merchant", true, "lgu", ByID, []string{"re_ok", "re_full", "re_kt"},
			[]Record{rec("re_full", "ch_full", "mer_a", 3000, "succeeded", ""), rec("re_ok", "ch_part", "mer_b", 500, "succeeded", "rfd_ok")}},
		{"refunds by carrier reference", true, "kt", ByCarrierReference, []string{"rfd_ok", "rfd_kt"},
			[]Record{rec("re_kt", "ch_kt", "mer_a", 300, "succeeded", "rfd_kt")}},
		{"nothing asked", false, "lgu", ByID, nil, nil},
	}
	// More values than one statement binds: the matches sit in later chunks.
	var many []string
	for i := range 2*lookupChunk + 3 {
		many = append(many, fmt.Sprintf("ch_unknown_%d", i))
	}
	many = append(many, "ch_proc", "ch_first")
	cases = append(cases, findCase{"more values than one chunk", false, "lgu", ByID, many,
		[]Record{rec("ch_first", "ch_first", "mer_a", 1000, "succeeded", "chg_first"), rec("ch_proc", "ch_proc", "mer_a", 2000, "processing", "")}})

	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setupBooks(t, st)
		seedBooksDay(b)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				find := b.books.FindCharges
				if c.refunds {
					find = b.books.FindRefunds
				}
				got, err := find(context.Background(), c.carrier, c.by, c.values)
				if err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(got, func(x, y Record) int { return cmp.Compare(x.ID, y.ID) })
				if !slices.Equal(got, c.want) {
					t.Errorf("got  %+v\nwant %+v", got, c.want)
				}
			})
		}
	})
}

func TestBooksLedgerTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setupBooks(t, st)
		seedBooksDay(b)
		got, err := b.books.LedgerTotals(context.Background(), "lgu", booksFrom, booksTo)
		if err != nil {
			t.Fatal(err)
		}
		// The day's postings only, of lgu's charges only, and the
		// carrier_receivable leg only; refunds as positive amounts.
		want := []LedgerTotal{
			{MerchantID: "mer_a", Currency: "KRW", Charged: 1000 + 3000 + 5000, Refunded: 3000, Charges: 3, Refunds: 1},
			{MerchantID: "mer_b", Currency: "KRW", Charged: 4000, Refunded: 500, Charges: 1, Refunds: 1},
		}
		if !slices.Equal(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		none, err := b.books.LedgerTotals(context.Background(), "skt", booksFrom, booksTo)
		if err != nil || len(none) != 0 {
			t.Errorf("a carrier with no postings: %+v, %v", none, err)
		}
	})
}

func TestStatusBilled(t *testing.T) {
	t.Parallel()
	billed := map[Status]bool{
		StatusRequiresConfirmation: false, StatusProcessing: false, StatusFailed: false, StatusCanceled: false,
		StatusSucceeded: true, StatusPartiallyRefunded: true, StatusRefunded: true, StatusScheduled: false,
	}
	if len(billed) != len(AllStatuses) {
		t.Fatalf("the table covers %d statuses of %d", len(billed), len(AllStatuses))
	}
	for s, want := range billed {
		if s.Billed() != want {
			t.Errorf("%s.Billed() = %v, want %v", s, s.Billed(), want)
		}
	}
}
