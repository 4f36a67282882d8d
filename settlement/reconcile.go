package settlement

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/carriers"
)

// The gateway's statuses are billing's; the index holds them as the
// strings billing reads out, and these compare them.
func billed(status string) bool { return billing.Status(status).Billed() }

func processing(status string) bool { return billing.Status(status) == billing.StatusProcessing }

func refundSucceeded(status string) bool {
	return billing.RefundStatus(status) == billing.RefundSucceeded
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
	n, err := s.billing.CountSucceededCharges(ctx, carrier, d.From, d.To)
	if err != nil {
		return nil, err
	}
	ix := newIndex(int(n) + 1024)
	add := func(object, flags uint8) func(billing.FeedRow) error {
		return func(r billing.FeedRow) error {
			ix.add(r.ID, entry{amount: r.Amount, currency: ix.names.idBytes(r.Currency), status: ix.names.idBytes(r.Status), object: object, flags: flags})
			return nil
		}
	}
	if err := s.billing.SucceededCharges(ctx, carrier, d.From, d.To, add(objCharge, flagExpected)); err != nil {
		return nil, err
	}
	if err := s.billing.ProcessingCharges(ctx, carrier, d.To, add(objCharge, 0)); err != nil {
		return nil, err
	}
	if err := s.billing.SucceededRefunds(ctx, carrier, d.From, d.To, add(objRefund, flagExpected)); err != nil {
		return nil, err
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
	return r.w.flush(ctx)
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

// lookup finds the pending lines' gateway records by id, then by the
// carrier's reference, and judges each line in file order.
func (r *reconciler) lookup(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	byID, byRef := map[string]billing.Record{}, map[string]billing.Record{}
	for _, obj := range []uint8{objCharge, objRefund} {
		var ids, refs []string
		for _, l := range r.pending {
			if objectOf(l.Kind) == obj && l.ClientReference != "" {
				ids = append(ids, l.ClientReference)
			}
		}
		found, err := r.s.records(ctx, r.carrier, obj, billing.ByID, ids)
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
		found, err = r.s.records(ctx, r.carrier, obj, billing.ByCarrierReference, refs)
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

// records reads the carrier's charges or refunds by id or carrier reference.
func (s *Service) records(ctx context.Context, carrier string, obj uint8, by billing.LookupBy, values []string) ([]billing.Record, error) {
	if len(values) == 0 {
		return nil, nil
	}
	if obj == objRefund {
		return s.billing.FindRefunds(ctx, carrier, by, values)
	}
	return s.billing.FindCharges(ctx, carrier, by, values)
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
		case refundSucceeded(gwStatus) && carrierBilled && same:
			r.matched(-l.Amount)
		case refundSucceeded(gwStatus) && carrierBilled:
			d.Detail = moneyDetail(e.amount, gwCur, l.Amount, l.Currency)
			return r.record(ctx, KindAmountMismatch, absDiff(l.Amount, e.amount), d)
		case refundSucceeded(gwStatus):
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
	case processing(gwStatus) && carrierBilled && !same:
		// Settling it would bill the subscriber an amount the gateway never
		// asked for, or book one the carrier did not bill: a person decides.
		d.Detail = moneyDetail(e.amount, gwCur, l.Amount, l.Currency) + "; the charge stays processing"
		return r.record(ctx, KindAmountMismatch, absDiff(l.Amount, e.amount), d)
	case processing(gwStatus):
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

// discWriter writes discrepancies in batches as they are found, filling in
// what the rows lacked while streaming (refunds' charges, merchants, the
// gateway's carrier references of missing records) with a few look-ups per
// batch instead of one per row.
type discWriter struct {
	db      *gorm.DB
	billing Billing
	carrier string
	buf     []Discrepancy
}

func newDiscWriter(db *gorm.DB, b Billing, carrier string, batch int) *discWriter {
	return &discWriter{db: db, billing: b, carrier: carrier, buf: make([]Discrepancy, 0, batch)}
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
	if err := w.complete(ctx); err != nil {
		return err
	}
	if err := w.db.WithContext(ctx).Create(&w.buf).Error; err != nil {
		return fmt.Errorf("write discrepancies: %w", err)
	}
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// complete fills in the buffered rows from billing's records: a refund's
// charge, the charge's merchant, and a missing record's carrier reference
// (the file gave none, since it does not list the record).
func (w *discWriter) complete(ctx context.Context) error {
	var refundIDs, chargeIDs []string
	for i := range w.buf {
		d := &w.buf[i]
		switch {
		case d.RefundID != nil:
			refundIDs = append(refundIDs, *d.RefundID)
		case d.ChargeID != nil:
			chargeIDs = append(chargeIDs, *d.ChargeID)
		}
	}
	refunds, err := w.billing.FindRefunds(ctx, w.carrier, billing.ByID, refundIDs)
	if err != nil {
		return fmt.Errorf("complete discrepancies: %w", err)
	}
	charges, err := w.billing.FindCharges(ctx, w.carrier, billing.ByID, chargeIDs)
	if err != nil {
		return fmt.Errorf("complete discrepancies: %w", err)
	}
	found := make(map[string]*billing.Record, len(refunds)+len(charges))
	for i := range refunds {
		found["refund"+refunds[i].ID] = &refunds[i]
	}
	for i := range charges {
		found["charge"+charges[i].ID] = &charges[i]
	}
	for i := range w.buf {
		d := &w.buf[i]
		var g *billing.Record
		switch {
		case d.RefundID != nil:
			g = found["refund"+*d.RefundID]
		case d.ChargeID != nil:
			g = found["charge"+*d.ChargeID]
		}
		if g == nil {
			continue
		}
		d.ChargeID, d.MerchantID = &g.ChargeID, &g.MerchantID
		if d.Kind == KindMissingAtCarrier {
			d.CarrierReference = g.CarrierReference
		}
	}
	return nil
}
