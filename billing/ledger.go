package billing

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Ledger accounts. A succeeded charge moves money from the carrier (who bills
// the subscriber and owes it to us) to what we owe the merchant; a refund
// reverses it. Fees are posted by settlement.
const (
	AccountCarrierReceivable = "carrier_receivable"
	AccountMerchantPayable   = "merchant_payable"
)

func postCharge(tx *gorm.DB, ch *Charge, at time.Time) error {
	return post(tx, ch.MerchantID, ch.ID, nil, ch.Amount, ch.Currency, at, AccountCarrierReceivable, AccountMerchantPayable)
}

func postRefund(tx *gorm.DB, ch *Charge, rf *Refund, at time.Time) error {
	return post(tx, ch.MerchantID, ch.ID, &rf.ID, rf.Amount, rf.Currency, at, AccountMerchantPayable, AccountCarrierReceivable)
}

// post writes a two-legged posting: debit +amount, credit -amount.
func post(tx *gorm.DB, merchantID, chargeID string, refundID *string, amount int64, currency string, at time.Time, debit, credit string) error {
	entries := []LedgerEntry{
		{MerchantID: merchantID, ChargeID: chargeID, RefundID: refundID, Account: debit, Amount: amount, Currency: currency, CreatedAt: at},
		{MerchantID: merchantID, ChargeID: chargeID, RefundID: refundID, Account: credit, Amount: -amount, Currency: currency, CreatedAt: at},
	}
	if err := tx.Create(&entries).Error; err != nil {
		return fmt.Errorf("post ledger for %s: %w", chargeID, err)
	}
	return nil
}
