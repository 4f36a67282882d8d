package billingapi

import "tollgate/billing"

// spendThresholdBody is the object of a subscriber.spend_threshold_reached
// event: the subscriber's month reached threshold percent of the binding cap.
type spendThresholdBody struct {
	Object       string `json:"object"`
	Threshold    int    `json:"threshold"`
	Spent        int64  `json:"spent"`
	Cap          int64  `json:"cap"`
	Binding      string `json:"binding"`
	Currency     string `json:"currency"`
	Month        string `json:"month"`
	Charge       string `json:"charge"`
	MSISDNMasked string `json:"msisdn_masked"`
	CreatedAt    string `json:"created_at"`
}

func spendThresholdView(a *billing.SpendThreshold) any {
	return spendThresholdBody{Object: "spend_threshold", Threshold: a.Threshold, Spent: a.Spent, Cap: a.Cap, Binding: a.Binding,
		Currency: a.Currency, Month: a.Month, Charge: a.Charge, MSISDNMasked: a.MSISDNMasked, CreatedAt: ts(a.CreatedAt)}
}
