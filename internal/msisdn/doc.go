// Package msisdn parses, masks, encrypts and blind-indexes subscriber phone
// numbers (MSISDNs) so that they never appear in clear in logs, responses,
// errors or the database.
//
// Numbers are normalised to E.164 with [Parse], shown to people and logs only
// through [Mask] (or [Last4]), stored encrypted with [Vault.Seal] and looked up
// by the keyed blind index [Vault.Index].
package msisdn
