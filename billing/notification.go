package billing

import (
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/jobs"
)

// ApplyCarrierResultTx applies what a carrier's callback says about one of
// its charges or refunds, inside the caller's transaction (which also
// records the message). It matches by the gateway's own id, sent as the
// client reference, or by the carrier's reference, and only among that
// carrier's objects. matched is false when nothing matches: the message is
// kept for settlement. A result for an object already final changes
// nothing, so late, repeated or out-of-order messages never move it back.
//
// A notification that carries a per-charge credential (n.Credential) must
// present the token made for that charge; anything else is ErrBadSignature
// and the caller rolls back. A success from a verified callback is applied;
// a failure is only a hint: failing a charge the carrier in fact billed
// cannot be undone, so the status job is run now and the carrier's status
// API decides. The carrier is not called here, inside the transaction.
func (s *Service) ApplyCarrierResultTx(tx *gorm.DB, carrier string, n carriers.Notification) (matched bool, err error) {
	switch n.Kind {
	case "charge":
		var ch Charge
		q := tx.Where("carrier = ?", carrier)
		if n.ClientReference != "" {
			q = q.Where("id = ?", n.ClientReference)
		} else {
			q = q.Where("carrier_reference = ?", n.CarrierReference)
		}
		if err := q.Take(&ch).Error; errors.Is(err, gorm.ErrRecordNotFound) || (n.ClientReference == "" && n.CarrierReference == "") {
			if n.Credential != "" {
				// Nothing to check the credential against: refuse rather
				// than keep an unauthenticated message.
				return false, fmt.Errorf("%w: credential for no known charge", carriers.ErrBadSignature)
			}
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("match charge: %w", err)
		}
		if n.Credential != "" && !sinkTokenMatches(n.Credential, ch.SinkTokenHash) {
			return false, fmt.Errorf("%w: credential is not charge %s's", carriers.ErrBadSignature, ch.ID)
		}
		res := n.Result
		if res.CarrierReference == "" {
			res.CarrierReference = n.CarrierReference
		}
		if failure(res.Outcome) {
			return true, s.askNowTx(tx, ch.Status == StatusProcessing, ChargeStatusArgs{ChargeID: ch.ID}, "charge", ch.ID)
		}
		_, err := s.applyChargeResultTx(tx, &ch, res, nil)
		return true, ignoreConflict(err)
	case "refund":
		if n.Credential != "" {
			// No refund is given a credential of its own.
			return false, fmt.Errorf("%w: refund notifications carry no per-refund credential", carriers.ErrBadSignature)
		}
		var rf Refund
		q := tx.Joins("JOIN charges ON charges.id = refunds.charge_id").Where("charges.carrier = ?", carrier)
		if n.ClientReference != "" {
			q = q.Where("refunds.id = ?", n.ClientReference)
		} else {
			q = q.Where("refunds.carrier_reference = ?", n.CarrierReference)
		}
		if err := q.Select("refunds.id", "refunds.status").Take(&rf).Error; errors.Is(err, gorm.ErrRecordNotFound) || (n.ClientReference == "" && n.CarrierReference == "") {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("match refund: %w", err)
		}
		if failure(n.Result.Outcome) {
			return true, s.askNowTx(tx, rf.Status == RefundPending, RefundStatusArgs{RefundID: rf.ID}, "refund", rf.ID)
		}
		return true, s.applyRefundResultTx(tx, rf.ID, n.Result, nil)
	}
	return false, fmt.Errorf("notification of unknown kind %q", n.Kind)
}

// failure reports whether an outcome would end an operation unbilled.
func failure(o carriers.Outcome) bool { return o == carriers.OutcomeDeclined }

// askNowTx makes the status job of an undecided operation due now, in tx, so
// a callback's failure is confirmed by the carrier before anything moves.
// The operation's one status job (made when it became undecided) is moved
// forward rather than a new one added, so repeated callbacks never multiply
// the pollers; one already running is asking the carrier as it is. A final
// operation needs no asking.
func (s *Service) askNowTx(tx *gorm.DB, undecided bool, args river.JobArgs, kind, id string) error {
	if !undecided {
		return nil
	}
	s.log.Info("carrier callback reports a failure; asking the carrier's status API", kind, id)
	return jobs.RunNowTx(tx.Statement.Context, s.jobs, tx, args, s.now())
}
