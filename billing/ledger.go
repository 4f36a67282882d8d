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
	// AccountCashbackLiability is the cashback the merchant funded and its
	// subscribers may still spend (cashback.go): earned raises it (what we
	// owe the merchant falls), a charge it pays for lowers it (the carrier
	// collects only the billed amount, the merchant is owed the whole).
	AccountCashbackLiability = "cashback_liability"
)

func postCharge(tx *gorm.DB, ch *Charge, at time.Time) error {
	if err := post(tx, ch.MerchantID, ch.ID, nil, ch.Billed(), ch.Currency, at, AccountCarrierReceivable, AccountMerchantPayable); err != nil {
		return err
	}
	return postKind(tx, ch.MerchantID, ch.ID, nil, ch.CashbackApplied, ch.Currency, at, AccountCashbackLiability, AccountMerchantPayable, KindCashbackApplied)
}

func postRefund(tx *gorm.DB, ch *Charge, rf *Refund, at time.Time) error {
	return post(tx, ch.MerchantID, ch.ID, &rf.ID, rf.Amount, rf.Currency, at, AccountMerchantPayable, AccountCarrierReceivable)
}

// post writes a two-legged posting: debit +amount, credit -amount.
func post(tx *gorm.DB, merchantID, chargeID string, refundID *string, amount int64, currency string, at time.Time, debit, credit string) error {
	return postKind(tx, merchantID, chargeID, refundID, amount, currency, at, debit, credit, "")
}

// legs are a posting's two entries: debit +amount, credit -amount.
func legs(merchantID, chargeID string, refundID *string, amount int64, currency string, at time.Time, debit, credit, kind string) []LedgerEntry {
	return []LedgerEntry{
		{MerchantID: merchantID, ChargeID: chargeID, RefundID: refundID, Account: debit, Amount: amount, Currency: currency, Kind: kind, CreatedAt: at},
		{MerchantID: merchantID, ChargeID: chargeID, RefundID: refundID, Account: credit, Amount: -amount, Currency: currency, Kind: kind, CreatedAt: at},
	}
}

// postKind is post with the posting's kind (ledger_entries.kind); an
// amount of 0 posts nothing.
func postKind(tx *gorm.DB, merchantID, chargeID string, refundID *string, amount int64, currency string, at time.Time, debit, credit, kind string) error {
	if amount == 0 && kind != "" {
		return nil
	}
	entries := legs(merchantID, chargeID, refundID, amount, currency, at, debit, credit, kind)
	if err := tx.Create(&entries).Error; err != nil {
		return fmt.Errorf("post ledger for %s: %w", chargeID, err)
	}
	return nil
}
