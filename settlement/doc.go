// Package settlement is the nightly reconciliation of each carrier's
// settlement file with the gateway's own books, and the merchant statements
// that follow from it.
//
// # A run
//
// One run settles one carrier and one business day. A business day is a
// calendar day in the configured zone (settlement.time_zone, Asia/Seoul by
// default): [D 00:00, D+1 00:00) local time. A day can be settled once it
// is over. The run reads the carrier's file (fetched from the carrier, or a
// file dropped by finance) line by line and matches each line with the
// gateway's charge or refund by the gateway's id (sent to the carrier as the
// client reference), or else by the carrier's reference. Then:
//
//   - matched: both books agree on the transaction, its amount and currency
//     and that it was billed (or paid back).
//   - amount_mismatch: both know it, the amounts (or currencies) differ.
//   - status_mismatch: the carrier says billed and the gateway says it was
//     not (failed, canceled, a refund pending or failed), or the other way
//     round. The gateway's record is never changed to agree: a person
//     decides.
//   - missing_at_gateway: a line the gateway has no record of.
//   - missing_at_carrier: a charge the gateway saw succeed on D, or a refund
//     it saw succeed on D, that the file does not list.
//   - duplicate: a second line for a transaction already read in the file.
//   - resolved: a charge still processing at the gateway that the file
//     lists. The file settles it through billing (succeeded with the
//     carrier's reference, or failed if the file lists it failed), with the
//     ledger posting and the merchant's event that any result brings. A
//     resolved charge also counts as matched.
//
// Which gateway records the file must list: charges whose succeeded_at is
// on D (status succeeded, partially_refunded or refunded) and refunds that
// succeeded on D. A line is matched whatever day the gateway recorded its
// transaction on: a charge the gateway saw succeed at 23:59:59 that the
// carrier billed at 00:00:01 shows once, as missing_at_carrier on D, and
// is matched in D+1's file. Refunds count on the day they succeeded, as
// their own lines, never as a change to their charge's line.
//
// Amounts in a run's totals are magnitudes: matched_amount is what both
// books agree moved (charges minus refunds); a kind's amount sums the
// gateway's amount (missing_at_carrier), the carrier's (missing_at_gateway,
// status_mismatch, duplicate) or the absolute difference (amount_mismatch).
//
// # Runs are immutable
//
// A completed run is never edited. Settling the same carrier and day again
// returns that run; a rerun (rerun: true) is a new run, and when it
// completes the old one names it in superseded_by. One run at a time per
// carrier and day, on any number of gateway nodes: a unique index admits one
// running row. A run that fails (a bad file, a carrier that is down) keeps
// its error message and nothing else: its discrepancies and statements are
// written as it goes and deleted when it fails, and no reader sees the rows
// of a run that has not completed. A run whose node died is taken over once
// it has shown no progress for StaleAfter.
//
// # Statements
//
// Per merchant and currency, from the ledger: the postings of the carrier's
// charges and refunds on D (the moment each succeeded at the gateway).
//
//	gross        = charges posted on D
//	refunds      = refunds posted on D
//	carrier_fees = fee(gross, the carrier's share_bps)
//	gateway_fees = fee(gross, gateway_fee_bps, or the merchant's override)
//	cashback_funded  = cashback the charges earned, less what refunds took back
//	cashback_applied = cashback spent on the charges, less what refunds restored
//	cashback_expired = cashback earned on the carrier's charges that ran out
//	net          = gross - refunds - carrier_fees - gateway_fees
//	               - cashback_funded + cashback_applied + cashback_expired
//
// Gross is what the carrier billed (a charge's billed amount: its amount
// less the cashback applied to it). The merchant funds cashback when it is
// earned (held as cashback_liability) and is paid it back when it is spent
// on its charges or expires: net is the change of merchant_payable less fees.
//
// The one rounding rule: fee(x, bps) = floor((x*bps + 5000) / 10000), the
// fee on the statement line's gross, rounded half up to the minor unit,
// computed once per statement line and never per charge. Integers only, in
// 128 bits, so no amount overflows. Fees are taken on gross as configured:
// a refund does not give a fee back. gross - refunds summed over a day's
// statements equals, to the unit, the change of carrier_receivable in the
// ledger for that carrier and day.
//
// # Memory
//
// The file is streamed and never held. The gateway's side of the day is
// held in a compact index (about 60 bytes a charge: ids in shared slabs, a
// fixed-size entry each), so a million charges against a million lines run
// in well under 256 MiB. Lines the index does not know are looked up in
// batches; discrepancies are written in batches as they are found, each
// batch completed (merchants, refunds' charges) with a few look-ups.
//
// # Whose tables
//
// Charges, refunds and the ledger are billing's: settlement reads them only
// through the Billing interface (billing streams the day's records and
// answers look-ups and ledger totals) and writes only its settlement_ tables.
package settlement
