package billing

import (
	"errors"
	"fmt"

	"gorm.io/gorm"

	"tollgate/carriers"
)

// ApplyCarrierResultTx applies what a carrier's callback says about one of
// its charges or refunds, inside the caller's transaction (which also
// records the message). It matches by the gateway's own id, sent as the
// client reference, or by the carrier's reference, and only among that
// carrier's objects. matched is false when nothing matches: the message is
// kept for settlement. A result for an object already final changes
// nothing, so late, repeated or out-of-order messages never move it back.
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
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("match charge: %w", err)
		}
		res := n.Result
		if res.CarrierReference == "" {
			res.CarrierReference = n.CarrierReference
		}
		return true, s.applyChargeResultTx(tx, ch.ID, res, nil)
	case "refund":
		var rf Refund
		q := tx.Joins("JOIN charges ON charges.id = refunds.charge_id").Where("charges.carrier = ?", carrier)
		if n.ClientReference != "" {
			q = q.Where("refunds.id = ?", n.ClientReference)
		} else {
			q = q.Where("refunds.carrier_reference = ?", n.CarrierReference)
		}
		if err := q.Select("refunds.id").Take(&rf).Error; errors.Is(err, gorm.ErrRecordNotFound) || (n.ClientReference == "" && n.CarrierReference == "") {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("match refund: %w", err)
		}
		return true, s.applyRefundResultTx(tx, rf.ID, n.Result, nil)
	}
	return false, fmt.Errorf("notification of unknown kind %q", n.Kind)
}
