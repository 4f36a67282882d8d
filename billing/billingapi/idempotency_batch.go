package billingapi

import (
	"cmp"
	"context"
	"database/sql/driver"
	"maps"
	"slices"

	"tollgate/internal/store"
)

// Concurrent requests write their keys together: claims in one insert,
// answers in one update, each a statement and a commit for many (see
// internal/batch, which runs each call of a failed batch again alone, so one
// bad row never fails the requests written with it).
const idemBatchMax = 64

type keyID struct{ merchantID, key string }

func (k keyID) compare(o keyID) int {
	return cmp.Or(cmp.Compare(k.merchantID, o.merchantID), cmp.Compare(k.key, o.key))
}

// insertClaims inserts the keys that are new and reports which it did; a
// key already held is left to claimKey's slow path, which reads it. A key
// twice in one batch is inserted for its first call only; the second reads
// it as a duplicate would. Rows go in key order, as in every batch that
// writes keys, so two nodes' batches cannot deadlock on each other's keys.
func (a *API) insertClaims(ctx context.Context, rows []idempotencyKey) ([]bool, error) {
	first := make(map[keyID]int, len(rows))
	for i, r := range rows {
		if _, dup := first[keyID{r.MerchantID, r.Key}]; !dup {
			first[keyID{r.MerchantID, r.Key}] = i
		}
	}
	args := make([]any, 0, 6*len(first))
	for _, k := range slices.SortedFunc(maps.Keys(first), keyID.compare) {
		r := rows[first[k]]
		args = append(args, r.MerchantID, r.Key, r.RequestHash, r.State, r.CreatedAt, r.LockedUntil)
	}
	var got []struct{ MerchantID, Key string }
	err := a.db.WithContext(ctx).Raw("INSERT INTO idempotency_keys (merchant_id, key, request_hash, state, created_at, locked_until) VALUES "+
		store.Tuples("(?, ?, ?, ?, ?, ?)", len(first))+
		" ON CONFLICT DO NOTHING RETURNING merchant_id, key", args...).Scan(&got).Error
	if err != nil {
		return nil, err
	}
	inserted := make([]bool, len(rows))
	for _, g := range got {
		if i, ok := first[keyID{g.MerchantID, g.Key}]; ok {
			inserted[i] = true
		}
	}
	return inserted, nil
}

// keptAnswer is a request's answer, kept for replay.
type keptAnswer struct {
	merchantID, key string
	status          int
	contentType     string
	body            []byte
}

// storeAnswer marks the key done with its answer.
func (a *API) storeAnswer(ctx context.Context, ans keptAnswer) error {
	_, err := a.answers.Do(ctx, ans)
	return err
}

// storeAnswers updates the keys from a list of values; the casts type the
// parameters, which VALUES alone leaves as text.
func (a *API) storeAnswers(ctx context.Context, answers []keptAnswer) ([]struct{}, error) {
	blobType := "BLOB"
	if a.db.Dialector.Name() == "postgres" {
		blobType = "BYTEA"
	}
	row := "(?, ?, CAST(? AS INTEGER), ?, CAST(? AS " + blobType + "))"
	args := make([]any, 0, 5*len(answers))
	inOrder := slices.SortedFunc(slices.Values(answers), func(a, b keptAnswer) int {
		return keyID{a.merchantID, a.key}.compare(keyID{b.merchantID, b.key})
	})
	for _, ans := range inOrder {
		args = append(args, ans.merchantID, ans.key, ans.status, ans.contentType, blob(ans.body))
	}
	err := a.db.WithContext(ctx).Exec("UPDATE idempotency_keys AS k SET state = ?, response_status = v.column3, response_type = v.column4, response_body = v.column5"+
		" FROM (VALUES "+store.Tuples(row, len(answers))+") AS v WHERE k.merchant_id = v.column1 AND k.key = v.column2",
		append([]any{idemDone}, args...)...).Error
	if err != nil {
		return nil, err
	}
	return make([]struct{}, len(answers)), nil
}

// blob keeps GORM from spreading bytes over placeholders, as it does with
// any other slice given to raw SQL.
type blob []byte

func (b blob) Value() (driver.Value, error) { return []byte(b), nil }
