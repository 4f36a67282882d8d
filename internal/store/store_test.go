package store_test

import (
	"context"
	"io/fs"
	"os"
	"testing"

	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	pg, err := fs.Glob(os.DirFS("migrations/postgres"), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := fs.Glob(os.DirFS("migrations/sqlite"), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || len(pg) != len(lite) {
		t.Fatalf("postgres has %v, sqlite has %v", pg, lite)
	}
	for i := range pg {
		if pg[i] != lite[i] {
			t.Errorf("migration %d: postgres %s, sqlite %s", i, pg[i], lite[i])
		}
	}
}

func TestMigrateIsIdempotentAndUniqueViolationsAreRecognised(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		pending, err := s.Pending(ctx)
		if err != nil || pending {
			t.Fatalf("pending after migrate = %v, %v", pending, err)
		}
		n, err := s.Migrate(ctx, nilLogger())
		if err != nil || n != 0 {
			t.Fatalf("second migrate ran %d: %v", n, err)
		}
		ins := "INSERT INTO merchants (id, name, livemode, created_at) VALUES ('mer_1', 'a', false, CURRENT_TIMESTAMP)"
		if err := s.DB.Exec(ins).Error; err != nil {
			t.Fatal(err)
		}
		err = s.DB.Exec(ins).Error
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v is not recognised as a unique violation", err)
		}
	})
}

func TestTuplesMakesAValuesList(t *testing.T) {
	if got := store.Tuples("(?, ?)", 3); got != "(?, ?), (?, ?), (?, ?)" {
		t.Fatalf("Tuples(3) = %q", got)
	}
	if got := store.Tuples("(?)", 1); got != "(?)" {
		t.Fatalf("Tuples(1) = %q", got)
	}
}
