package settlement

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
)

// Gateway statuses as the database spells them. billing owns them; they
// are read here as plain table values.
const (
	chargeSucceeded         = "succeeded"
	chargePartiallyRefunded = "partially_refunded"
	chargeRefunded          = "refunded"
	chargeProcessing        = "processing"
	refundSucceeded         = "succeeded"
)

func billed(status string) bool {
	return status == chargeSucceeded || status == chargePartiallyRefunded || status == chargeRefunded
}

// resolution is a processing charge the file settles.
type resolution struct {
	chargeID         string
	carrierReference string
	billed           bool
	billedAt         time.Time // when the carrier billed it: the charge's business day
}

// reconciler matches one file with one day of the gateway's books.
type reconciler struct {
	s        *Service
	run      *Run
	carrier  string
	ix       *index
	t        Totals
	w        *discWriter
	pending  []carriers.ReportLine
	unknown  map[string]struct{} // lines no gateway record matched, for duplicates
	resolve  []resolution
	progress func(lines int64)
	lastBeat time.Time
}

// loadIndex reads the gateway's side of the day: what the file must list
// (charges that succeeded on the day, refunds that succeeded on the day)
// and what it may settle (charges still processing).
func (s *Service) loadIndex(ctx context.Context, carrier string, d day) (*index, error) {
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM charges WHERE carrier = ? AND succeeded_at >= ? AND succeeded_at < ?`, carrier, d.From, d.To).Scan(&n).Error; err != nil {
		return nil, fmt.Errorf("count the day's charges: %w", err)
	}
	ix := newIndex(int(n) + 1024)
	loads := []struct {
		what     string
		object   uint8
		flags    uint8
		query    string
		args     []any
		statuses []string
	}{
		{"charges of the day", objCharge, flagExpected,
			`SELECT id, amount, currency, status FROM charges WHERE carrier = ? AND succeeded_at >= ? AND succeeded_at < ? AND status IN ?`,
			[]any{carrier, d.From, d.To, []string{chargeSucceeded, chargePartiallyRefunded, chargeRefunded}}, nil},
		{"processing charges", objCharge, 0,
			`SELECT id, amount, currency, status FROM charges WHERE carrier = ? AND status = ? AND created_at < ?`,
			[]any{carrier, chargeProcessing, d.To}, nil},
		{"refunds of the day", objRefund, flagExpected,
			`SELECT r.id, r.amount, r.currency, r.status FROM refunds r JOIN charges c ON c.id = r.charge_id
			 WHERE c.carrier = ? AND r.status = ? AND r.updated_at >= ? AND r.updated_at < ?`,
			[]any{carrier, refundSucceeded, d.From, d.To}, nil},
	}
	for _, l := range loads {
		rows, err := db.Raw(l.query, l.args...).Rows()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", l.what, err)
		}
		var id, cur, st sql.RawBytes
		var amount int64
		for rows.Next() {
			if err := rows.Scan(&id, &amount, &cur, &st); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s: %w", l.what, err)
			}
			ix.add(id, entry{amount: amount, currency: ix.names.idBytes(cur), status: ix.names.idBytes(st), object: l.object, flags: l.flags})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", l.what, err)
		}
	}
	return ix, nil
}

func objectOf(k carriers.ReportKind) uint8 {
	if k == carriers.ReportRefund {
		return objRefund
	}
	return objCharge
}

func objectName(o uint8) string {
	if o == objRefund {
		return "refund"
	}
	return "charge"
}

// read streams the whole file through the matcher.
func (r *reconciler) read(ctx context.Context, rr carriers.ReportReader) error {
	for {
		l, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := r.line(ctx, l); err != nil {
			return err
		}
		if r.t.LinesRead%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if r.progress != nil {
				r.progress(r.t.LinesRead)
			}
			if err := r.heartbeat(ctx); err != nil {
				return err
			}
		}
	}
	if r.progress != nil {
		r.progress(r.t.LinesRead)
	}
	if err := r.lookup(ctx); err != nil {
		return err
	}
	if err := r.missingAtCarrier(ctx); err != nil {
		return err
	}
	if err := r.w.flush(ctx); err != nil {
		return err
	}
	return r.complete(ctx)
}

// heartbeat tells other nodes the run is alive, every few seconds.
func (r *reconciler) heartbeat(ctx context.Context) error {
	now := r.s.now()
	if now.Sub(r.lastBeat) < 5*time.Second {
		return nil
	}
	r.lastBeat = now
	if err := r.s.db.WithContext(ctx).Model(&Run{}).Where("id = ? AND status = ?", r.run.ID, StatusRunning).Update("heartbeat_at", now).Error; err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

func (r *reconciler) line(ctx context.Context, l carriers.ReportLine) error {
	r.t.LinesRead++
	if l.ClientReference != "" {
		if i, ok := r.ix.find(l.ClientReference); ok && r.ix.entries[i].object == objectOf(l.Kind) {
			return r.judge(ctx, i, l.ClientReference, l)
		}
	}
	// Not one of the day's: another day's, found by the carrier's
	// reference, or unknown. Looked up in batches.
	r.pending = append(r.pending, l)
	if len(r.pending) >= r.s.cfg.BatchSize {
		return r.lookup(ctx)
	}
	return nil
}

// gwRecord is a gateway charge or refund read by reference.
type gwRecord struct {
	ID, Currency, Status, CarrierReference string
	Amount                                 int64
}

// lookup finds the pending lines' gateway records by id, then by the
// carrier's reference, and judges each line in file order.
func (r *reconciler) lookup(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	byID, byRef := map[string]gwRecord{}, map[string]gwRecord{}
	for _, obj := range []uint8{objCharge, objRefund} {
		var ids, refs []string
		for _, l := range r.pending {
			if objectOf(l.Kind) == obj && l.ClientReference != "" {
				ids = append(ids, l.ClientReference)
			}
		}
		found, err := r.s.records(ctx, r.carrier, obj, "id", ids)
		if err != nil {
			return err
		}
		for _, g := range found {
			byID[objectName(obj)+g.ID] = g
		}
		for _, l := range r.pending {
			if _, ok := byID[objectName(obj)+l.ClientReference]; !ok && objectOf(l.Kind) == obj && l.CarrierReference != "" {
				refs = append(refs, l.CarrierReference)
			}
		}
		found, err = r.s.records(ctx, r.carrier, obj, "carrier_reference", refs)
		if err != nil {
			return err
		}
		for _, g := range found {
			byRef[objectName(obj)+g.CarrierReference] = g
		}
	}
	for _, l := range r.pending {
		obj := objectName(objectOf(l.Kind))
		g, ok := byID[obj+l.ClientReference]
		if !ok || l.ClientReference == "" {
			g, ok = byRef[obj+l.CarrierReference]
		}
		if !ok {
			if err := r.missingAtGateway(ctx, l); err != nil {
				return err
			}
			continue
		}
		i := r.ix.add([]byte(g.ID), entry{amount: g.Amount, currency: r.ix.names.id(g.Currency), status: r.ix.names.id(g.Status), object: objectOf(l.Kind)})
		if err := r.judge(ctx, i, g.ID, l); err != nil {
			return err
		}
	}
	r.pending = r.pending[:0]
	return nil
}

// records reads the carrier's charges or refunds whose column is in values.
func (s *Service) records(ctx context.Context, carrier string, obj uint8, column string, values []string) ([]gwRecord, error) {
	if len(values) == 0 {
		return nil, nil
	}
	var q string
	if obj == objCharge {
		q = `SELECT id, amount, currency, status, COALESCE(carrier_reference, '') AS carrier_reference FROM charges WHERE carrier = ? AND ` + column + ` IN ?`
	} else {
		q = `SELECT r.id, r.amount, r.currency, r.status, COALESCE(r.carrier_reference, '') AS carrier_reference FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE c.carrier = ? AND r.` + column + ` IN ?`
	}
	var out []gwRecord
	if err := s.db.WithContext(ctx).Raw(q, carrier, values).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("look up %ss by %s: %w", objectName(obj), column, err)
	}
	return out, nil
}

// judge compares one line with the gateway record at i.
func (r *reconciler) judge(ctx context.Context, i int32, id string, l carriers.ReportLine) error {
	e := &r.ix.entries[i]
	gwStatus, gwCur := r.ix.names.name(e.status), r.ix.names.name(e.currency)
	// Most lines match: a discrepancy row is only built for those that do not.
	var d Discrepancy
	if e.flags&flagSeen != 0 || l.Amount != e.amount || l.Currency != gwCur || l.Status != carriers.ReportSucceeded || !billed(gwStatus) {
		d = r.row(l, id, e, gwStatus)
	}
	if e.flags&flagSeen != 0 {
		d.Detail = "the file lists this transaction again"
		return r.record(ctx, KindDuplicate, l.Amount, d)
	}
	e.flags |= flagSeen
	same := l.Amount == e.amount && l.Currency == gwCur
	carrierBilled := l.Status == carriers.ReportSucceeded
	if e.object == objRefund {
		switch {
		case gwStatus == refundSucceeded && carrierBilled && same:
			r.matched(-l.Amount)
		case gwStatus == refundSucceeded && carrierBilled:
			d.Detail = moneyDetail(e.amount, gwCur, l.Amount, l.Currency)
			return r.record(ctx, KindAmountMismatch, absDiff(l.Amount, e.amount), d)
		case gwStatus == refundSucceeded:
			d.Detail = "the carrier lists the refund as not paid back; the gateway has it succeeded"
			return r.record(ctx, KindStatusMismatch, l.Amount, d)
		case carrierBilled:
			d.Detail = "the carrier paid the refund back; the gateway has it " + gwStatus
			return r.record(ctx, KindStatusMismatch, l.Amount, d)
		default:
			r.matched(0) // both say nothing was paid back
		}
		return nil
	}
	switch {
	case billed(gwStatus) && carrierBilled && same:
		r.matched(l.Amount)
	case billed(gwStatus) && carrierBilled:
		d.Detail = moneyDetail(e.amount, gwCur, l.Amount, l.Currency)
		return r.record(ctx, KindAmountMismatch, absDiff(l.Amount, e.amount), d)
	case billed(gwStatus):
		d.Detail = "the carrier lists the charge as not billed; the gateway has it " + gwStatus
		return r.record(ctx, KindStatusMismatch, l.Amount, d)
	case gwStatus == chargeProcessing && carrierBilled && !same:
		// Settling it would bill the subscriber an amount the gateway never
		// asked for, or book one the carrier did not bill: a person decides.
		d.Detail = moneyDetail(e.amount, gwCur, l.Amount, l.Currency) + "; the charge stays processing"
		return r.record(ctx, KindAmountMismatch, absDiff(l.Amount, e.amount), d)
	case gwStatus == chargeProcessing:
		r.resolve = append(r.resolve, resolution{chargeID: id, carrierReference: l.CarrierReference, billed: carrierBilled, billedAt: l.BilledAt})
		if carrierBilled {
			r.matched(l.Amount)
			d.Detail = "processing at the gateway; settled as succeeded by the file"
		} else {
			r.matched(0)
			d.Detail = "processing at the gateway; settled as failed by the file"
		}
		return r.record(ctx, KindResolved, l.Amount, d)
	case carrierBilled:
		d.Detail = "the carrier billed a charge the gateway has " + gwStatus
		return r.record(ctx, KindStatusMismatch, l.Amount, d)
	default:
		r.matched(0) // both say it was not billed
	}
	return nil
}

func (r *reconciler) matched(amount int64) {
	r.t.MatchedCount++
	r.t.MatchedAmount += amount
}

func (r *reconciler) missingAtGateway(ctx context.Context, l carriers.ReportLine) error {
	key := string(l.Kind) + "\x00" + l.ClientReference + "\x00" + l.CarrierReference
	d := r.row(l, "", nil, "")
	if _, dup := r.unknown[key]; dup {
		d.Detail = "the file lists this unknown transaction again"
		return r.record(ctx, KindDuplicate, l.Amount, d)
	}
	r.unknown[key] = struct{}{}
	d.Detail = "the gateway has no " + string(l.Kind) + " with this client or carrier reference"
	return r.record(ctx, KindMissingAtGateway, l.Amount, d)
}

// missingAtCarrier records the day's gateway records no line matched, in
// id order so a rerun writes the same rows in the same order.
func (r *reconciler) missingAtCarrier(ctx context.Context) error {
	var missing []int32
	for i := range r.ix.entries {
		if e := &r.ix.entries[i]; e.flags&flagExpected != 0 && e.flags&flagSeen == 0 {
			missing = append(missing, int32(i))
		}
	}
	ids := make([]string, len(missing))
	pos := make(map[string]int32, len(missing))
	for k, i := range missing {
		ids[k] = r.ix.id(i)
		pos[ids[k]] = i
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := &r.ix.entries[pos[id]]
		status := r.ix.names.name(e.status)
		d := Discrepancy{Object: objectName(e.object), GatewayAmount: &e.amount, GatewayStatus: &status, Currency: r.ix.names.name(e.currency),
			Detail: "succeeded at the gateway on this day; not in the carrier's file"}
		setObjectID(&d, e.object, id)
		if err := r.record(ctx, KindMissingAtCarrier, e.amount, d); err != nil {
			return err
		}
	}
	return nil
}

// complete fills in what the rows lacked while streaming (merchants, the
// carrier's references of missing records, refunds' charges) in a few
// set-based updates instead of a lookup per row.
func (r *reconciler) complete(ctx context.Context) error {
	db := r.s.db.WithContext(ctx)
	for _, q := range []string{
		`UPDATE settlement_discrepancies SET charge_id = (SELECT r.charge_id FROM refunds r WHERE r.id = settlement_discrepancies.refund_id)
		 WHERE run_id = ? AND refund_id IS NOT NULL AND charge_id IS NULL`,
		`UPDATE settlement_discrepancies SET merchant_id = (SELECT c.merchant_id FROM charges c WHERE c.id = settlement_discrepancies.charge_id)
		 WHERE run_id = ? AND charge_id IS NOT NULL AND merchant_id IS NULL`,
		`UPDATE settlement_discrepancies SET carrier_reference = COALESCE((SELECT c.carrier_reference FROM charges c WHERE c.id = settlement_discrepancies.charge_id), '')
		 WHERE run_id = ? AND kind = 'missing_at_carrier' AND object = 'charge'`,
		`UPDATE settlement_discrepancies SET carrier_reference = COALESCE((SELECT r.carrier_reference FROM refunds r WHERE r.id = settlement_discrepancies.refund_id), '')
		 WHERE run_id = ? AND kind = 'missing_at_carrier' AND object = 'refund'`,
	} {
		if err := db.Exec(q, r.run.ID).Error; err != nil {
			return fmt.Errorf("complete discrepancies: %w", err)
		}
	}
	return nil
}

// row starts a discrepancy row for line l matched (or not) to gateway id.
func (r *reconciler) row(l carriers.ReportLine, id string, e *entry, gwStatus string) Discrepancy {
	amount, line, cs := l.Amount, int64(l.LineNo), string(l.Status)
	d := Discrepancy{Object: string(l.Kind), ClientReference: l.ClientReference, CarrierReference: l.CarrierReference,
		Currency: l.Currency, CarrierAmount: &amount, CarrierStatus: &cs, LineNo: &line}
	if e != nil {
		ga := e.amount
		d.GatewayAmount, d.GatewayStatus = &ga, &gwStatus
		setObjectID(&d, e.object, id)
	}
	return d
}

func setObjectID(d *Discrepancy, object uint8, id string) {
	if object == objRefund {
		d.RefundID = &id
	} else {
		d.ChargeID = &id
	}
}

func (r *reconciler) record(ctx context.Context, kind string, amount int64, d Discrepancy) error {
	r.t.add(kind, amount)
	d.RunID, d.Kind = r.run.ID, kind
	return r.w.add(ctx, d)
}

func moneyDetail(gwAmount int64, gwCur string, cAmount int64, cCur string) string {
	return fmt.Sprintf("the gateway has %d %s, the carrier %d %s", gwAmount, gwCur, cAmount, cCur)
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// discWriter writes discrepancies in batches as they are found.
type discWriter struct {
	db  *gorm.DB
	buf []Discrepancy
}

func newDiscWriter(db *gorm.DB, batch int) *discWriter {
	return &discWriter{db: db, buf: make([]Discrepancy, 0, batch)}
}

func (w *discWriter) add(ctx context.Context, d Discrepancy) error {
	w.buf = append(w.buf, d)
	if len(w.buf) == cap(w.buf) {
		return w.flush(ctx)
	}
	return nil
}

func (w *discWriter) flush(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.db.WithContext(ctx).Create(&w.buf).Error; err != nil {
		return fmt.Errorf("write discrepancies: %w", err)
	}
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}
