package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/batch"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
	"tollgate/internal/store"
	"tollgate/money"
)

// ChargeParams is the body of POST /v1/charges.
type ChargeParams struct {
	Amount            *int64            `json:"amount"`
	Currency          string            `json:"currency"`
	MSISDN            string            `json:"msisdn"`
	Country           string            `json:"country"`
	Carrier           string            `json:"carrier"`
	PaymentMethod     string            `json:"payment_method"`
	Description       string            `json:"description"`
	MerchantReference string            `json:"merchant_reference"`
	Category          string            `json:"category"`
	Metadata          map[string]string `json:"metadata"`
	// ScheduledFor (RFC 3339, one-tap only) runs the charge then (scheduled.go).
	ScheduledFor string `json:"scheduled_for"`
	// period is set by the gateway's own subscription charges (renewal.go).
	period *periodRef
	// due is a scheduled charge whose time has come (scheduled.go): the
	// one-tap path runs it in place of a new charge.
	due *Charge
	// method is the read of PaymentMethod when CreateCharge started it
	// beside the key's look-up; nil: the one-tap path reads it.
	method <-chan methodRead
}

// methodRead is a payment method read's answer.
type methodRead struct {
	pm  *PaymentMethod
	err error
}

// Limits on free-text fields, so one merchant cannot bloat the store.
const (
	maxText          = 255
	maxMetadataKeys  = 20
	maxMetadataKey   = 40
	maxMetadataValue = 500
)

func checkText(param, v string) error {
	if !utf8.ValidString(v) {
		return problem.Invalid(param, param+" must be valid UTF-8.")
	}
	if utf8.RuneCountInString(v) > maxText {
		return problem.Invalid(param, fmt.Sprintf("%s must be at most %d characters.", param, maxText))
	}
	return nil
}

func checkMetadata(m map[string]string) error {
	if len(m) > maxMetadataKeys {
		return problem.Invalid("metadata", fmt.Sprintf("metadata may hold at most %d keys.", maxMetadataKeys))
	}
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > maxMetadataKey {
			return problem.Invalid("metadata", fmt.Sprintf("metadata keys must be 1 to %d characters.", maxMetadataKey))
		}
		if utf8.RuneCountInString(v) > maxMetadataValue {
			return problem.Invalid("metadata", fmt.Sprintf("metadata values must be at most %d characters.", maxMetadataValue))
		}
	}
	return nil
}

// checkAmount validates money against the currency and the carrier's limits.
func checkAmount(c carriers.Carrier, amount int64, currency string) error {
	caps := c.Capabilities()
	if !caps.SupportsCurrency(currency) {
		return problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", fmt.Sprintf("Carrier %s does not bill in %s; it bills in %v.", c.Name(), currency, caps.Currencies))
	}
	if amount < caps.MinAmount {
		return problem.Unprocessable(problem.CodeAmountTooSmall, "amount", fmt.Sprintf("Carrier %s bills at least %d %s.", c.Name(), caps.MinAmount, currency))
	}
	if amount > caps.MaxAmount {
		return problem.Unprocessable(problem.CodeAmountTooLarge, "amount", fmt.Sprintf("Carrier %s bills at most %d %s per charge.", c.Name(), caps.MaxAmount, currency))
	}
	return nil
}

// CreateCharge validates, records the intent, and either sends the
// subscriber a confirmation code or (one-tap) charges the carrier at once.
func (s *Service) CreateCharge(ctx context.Context, p auth.Principal, idemKey string, in ChargeParams) (*Charge, error) {
	if in.Amount == nil {
		return nil, problem.Invalid("amount", "amount is required: an integer count of the currency's minor unit.")
	}
	if *in.Amount <= 0 {
		return nil, problem.Invalid("amount", "amount must be a positive integer of minor units.")
	}
	if in.Currency == "" {
		return nil, problem.Invalid("currency", "currency is required: an ISO 4217 code such as KRW.")
	}
	cur, ok := money.Lookup(in.Currency)
	if !ok {
		return nil, problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", fmt.Sprintf("%q is not a supported ISO 4217 currency code (upper case, e.g. KRW).", in.Currency))
	}
	for _, f := range [][2]string{{"description", in.Description}, {"merchant_reference", in.MerchantReference}, {"category", in.Category}} {
		if err := checkText(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return nil, err
	}
	if in.PaymentMethod != "" && in.MSISDN == "" {
		// A one-tap charge's payment method is read beside the key's
		// look-up: two round trips at once instead of one after the other.
		// Buffered: when the key answers first, the read ends unread.
		read := make(chan methodRead, 1)
		go func() {
			pm, err := s.getPaymentMethod(ctx, p, in.PaymentMethod)
			read <- methodRead{pm, err}
		}()
		in.method = read
	}
	if existing, err := s.chargeByKey(ctx, p.MerchantID, idemKey); err == nil {
		// Only reachable once the stored answer is past retention (or a
		// crashed request's lease ran out): the key still names its charge,
		// forever, so a different request with it is refused, not merged.
		if existing.Amount != *in.Amount || existing.Currency != in.Currency || (in.PaymentMethod != "" && deref(existing.PaymentMethodID) != in.PaymentMethod) {
			return nil, problem.Unprocessable(problem.CodeIdempotencyKeyReused, "", "This Idempotency-Key already made charge "+existing.ID+"; use a new key for a new charge.")
		}
		if p := riskProblem(existing); p != nil {
			return nil, p // a risk decline answers the same, however late the retry
		}
		return existing, nil
	}
	if in.MSISDN != "" && in.PaymentMethod != "" {
		return nil, problem.Invalid("payment_method", "Give either payment_method (one-tap) or msisdn (SMS code), not both.")
	}
	if in.MSISDN == "" && in.PaymentMethod == "" {
		return nil, problem.Invalid("msisdn", "msisdn is required, unless a payment_method is given.")
	}
	if in.ScheduledFor != "" && in.PaymentMethod == "" {
		return nil, problem.Invalid("scheduled_for", "Only a one-tap charge (payment_method) can be scheduled.")
	}
	if in.PaymentMethod != "" {
		return s.createOneTap(ctx, p, idemKey, in)
	}
	return s.createWithCode(ctx, p, idemKey, in, cur)
}

func (s *Service) newCharge(p auth.Principal, idemKey string, in ChargeParams, c carriers.Carrier) (*Charge, error) {
	meta := in.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	mb, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	now := s.now()
	ch := &Charge{
		ID: newID(prefixCharge), MerchantID: p.MerchantID, IdempotencyKey: idemKey, Livemode: p.Livemode,
		Amount: *in.Amount, Currency: in.Currency, Carrier: c.Name(),
		Description: in.Description, MerchantReference: in.MerchantReference, Category: in.Category,
		Metadata: string(mb), CreatedAt: now, UpdatedAt: now,
	}
	if in.period != nil {
		ch.SubscriptionID, ch.SubscriptionPeriod = &in.period.subscription, &in.period.period
	}
	return ch, nil
}

func (s *Service) createWithCode(ctx context.Context, p auth.Principal, idemKey string, in ChargeParams, cur money.Currency) (*Charge, error) {
	e164, err := parseMSISDN(in.MSISDN, in.Country)
	if err != nil {
		return nil, err
	}
	c, err := s.resolveCarrier(p, in.Carrier, e164, in.Currency)
	if err != nil {
		return nil, err
	}
	if err := checkAmount(c, *in.Amount, in.Currency); err != nil {
		return nil, err
	}
	if err := s.ensureAvailable(c.Name()); err != nil {
		return nil, err
	}
	ch, err := s.newCharge(p, idemKey, in, c)
	if err != nil {
		return nil, err
	}
	if err := s.sealInto(ch, e164); err != nil {
		return nil, err
	}
	for _, rule := range []string{LimitChargesPerNumber, LimitSMSPerNumber} {
		if err := s.limit(ctx, rule, ch.MSISDNIndex); err != nil {
			return nil, err
		}
	}
	if dup, err := s.screen(ctx, ch); err != nil || dup != nil {
		return dup, err // declined by a risk rule: recorded failed, no code sent
	}
	expires := ch.CreatedAt.Add(s.cfg.CodeTTL)
	ch.Status = StatusRequiresConfirmation
	ch.CodeExpiresAt = &expires
	code := newCode()
	carrierOwned := c.Capabilities().CarrierConfirms && carriers.Implements[carriers.Authorizer](c)
	var sinkToken string
	if !carrierOwned {
		ch.CodeHash = ptr(s.codeHash(ch.ID, code))
	} else {
		// The carrier's payment is created by the prepare below.
		var hash string
		sinkToken, hash = newSinkToken()
		ch.SinkTokenHash = &hash
	}
	if dup, err := s.insertCharge(ctx, ch); err != nil || dup != nil {
		return dup, err
	}
	merchant, err := s.merchantName(ctx, p.MerchantID)
	if err != nil {
		return nil, err
	}
	if carrierOwned {
		err = s.authorizeCharge(ctx, ch, c, e164, merchant, sinkToken)
	} else {
		body := fmt.Sprintf("%s is your code to pay %s to %s on your phone bill. It expires in %d minutes. Never share it.",
			code, cur.Display(ch.Billed()), merchant, int(s.cfg.CodeTTL.Minutes()))
		err = s.sms(ctx, c, ch.ID, e164, body)
	}
	var declined interface{ DeclineResult() carriers.Result }
	if errors.As(err, &declined) {
		// The carrier refused the payment when it was asked for (CAMARA
		// declares amount limits at preparePayment): a decline with the
		// carrier's code, not an outage.
		res := declined.DeclineResult()
		code := res.FailureCode
		if code == "" {
			code = carriers.FailureCarrierDeclined
		}
		if err := s.fail(ctx, ch, code, declineMessage(code, res.Message), res.DeclineCode); err != nil {
			return nil, err
		}
		return s.reload(ctx, ch)
	}
	if err != nil {
		// Nothing was billed: the subscriber never got a code. Fail the charge
		// so the merchant can try again with a new one.
		s.log.Warn("confirmation code not sent", "charge", ch.ID, "carrier", c.Name(), "msisdn", ch.MSISDNMasked, "error", err)
		if err := s.fail(ctx, ch, carriers.FailureCarrierUnavailable, "The carrier could not send the subscriber a confirmation code.", ""); err != nil {
			return nil, err
		}
	}
	return s.reload(ctx, ch)
}

// authorizeCharge asks a carrier that owns the code to send it, and keeps
// the carrier's handle on the charge for the confirmation.
func (s *Service) authorizeCharge(ctx context.Context, ch *Charge, c carriers.Carrier, e164, merchant, sinkToken string) error {
	a, err := authorizer(c)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CarrierTimeout)
	defer cancel()
	authz, err := a.Authorize(actx, carriers.AuthorizeRequest{Reference: ch.ID, MSISDN: e164, Amount: ch.Billed(), Currency: ch.Currency, Description: ch.Description, Merchant: merchant, SinkToken: sinkToken})
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Model(&Charge{}).Where("id = ?", ch.ID).Update("authorization_ref", authz.ID).Error; err != nil {
		// Nothing of ours points at the carrier's reservation: let it go.
		s.releaseAuthorization(ctx, c, &authz.ID)
		return fmt.Errorf("keep authorization of %s: %w", ch.ID, err)
	}
	return nil
}

func (s *Service) createOneTap(ctx context.Context, p auth.Principal, idemKey string, in ChargeParams) (*Charge, error) {
	var pm *PaymentMethod
	var err error
	if in.method != nil {
		r := <-in.method
		pm, err = r.pm, r.err
	} else {
		pm, err = s.getPaymentMethod(ctx, p, in.PaymentMethod)
	}
	if err != nil {
		var pr *problem.Problem
		if errors.As(err, &pr) && pr.Code == problem.CodeNotFound {
			return nil, problem.Unprocessable(problem.CodePaymentMethodInvalid, "payment_method", "No such payment method.")
		}
		return nil, err
	}
	if pm.Status != PMActive {
		return nil, problem.Unprocessable(problem.CodePaymentMethodInvalid, "payment_method", fmt.Sprintf("Payment method %s is %s; only an active one can be charged.", pm.ID, pm.Status))
	}
	if in.Carrier != "" && in.Carrier != pm.Carrier {
		return nil, problem.Unprocessable(problem.CodeUnknownCarrier, "carrier", fmt.Sprintf("Payment method %s is on carrier %s, not %s.", pm.ID, pm.Carrier, in.Carrier))
	}
	c, ok := s.usable(p, pm.Carrier)
	if !ok {
		return nil, problem.Unprocessable(problem.CodeUnknownCarrier, "carrier", fmt.Sprintf("Carrier %s is no longer available.", pm.Carrier))
	}
	if err := checkAmount(c, *in.Amount, in.Currency); err != nil {
		return nil, err
	}
	if err := s.ensureAvailable(c.Name()); err != nil {
		return nil, err
	}
	ch, err := s.newCharge(p, idemKey, in, c)
	if err != nil {
		return nil, err
	}
	ch.MSISDNEnc, ch.MSISDNIndex, ch.MSISDNMasked = pm.MSISDNEnc, pm.MSISDNIndex, pm.MSISDNMasked
	if in.due != nil {
		ch.ID, ch.IdempotencyKey, ch.ScheduledFor = in.due.ID, in.due.IdempotencyKey, in.due.ScheduledFor
	}
	if in.ScheduledFor != "" {
		return s.schedule(ctx, ch, pm, in.ScheduledFor) // rules are checked when it runs
	}
	if err := s.limit(ctx, LimitChargesPerNumber, ch.MSISDNIndex); err != nil {
		return nil, err
	}
	ch.PaymentMethodID = &pm.ID
	if dup, err := s.screen(ctx, ch); err != nil || dup != nil {
		return dup, err // declined by a risk rule: recorded failed, the carrier never asked
	}
	ch.Status = StatusProcessing
	sinkToken, sinkHash := newSinkToken()
	ch.SinkTokenHash = &sinkHash
	var token string
	if pm.TokenEnc != nil {
		if token, err = s.vault.Open(*pm.TokenEnc); err != nil {
			return nil, fmt.Errorf("open token of %s: %w", pm.ID, err)
		}
	}
	if s.intentBatchable(ctx, ch) {
		if recorded, err := s.intents.Do(ctx, ch); err == nil && recorded {
			return s.submit(ctx, ch, c, carriers.ChargeRequest{Token: token, SinkToken: sinkToken})
		}
		// Left out (its number's other charge was in the batch), refused,
		// declined, its key already used, or a failure: nothing of it was
		// written (or, a commit's answer lost, its key now makes the single
		// path find it), and the single path decides.
	}
	var dup *Charge
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.holdPeriodTx(tx, ch); err != nil {
			return err
		}
		if err := s.screenTx(tx, ch); err != nil {
			return err
		}
		if err := s.applyCashbackTx(tx, ch); err != nil {
			return err
		}
		if err := s.holdRoomTx(tx, ch); err != nil {
			return err
		}
		if err := s.recordTx(tx, ch); err != nil {
			return err
		}
		// No status job here: the request asks the carrier next, and only a
		// charge its answer leaves undecided gets one (submit); a request
		// that dies first leaves a processing charge the sweep finds.
		return s.emitCharge(tx, EventChargeProcessing, ch)
	})
	if err != nil {
		ch.CashbackApplied = 0 // rolled back with the rest
	}
	if d, ok := declinedBy(err); ok {
		return s.decline(ctx, ch, d)
	}
	if store.IsUniqueViolation(err) {
		if dup, err = s.chargeByKey(ctx, ch.MerchantID, ch.IdempotencyKey); err != nil {
			return nil, fmt.Errorf("load charge by key: %w", err)
		}
		return dup, nil
	}
	if err != nil {
		return nil, fmt.Errorf("insert charge: %w", err)
	}
	return s.submit(ctx, ch, c, carriers.ChargeRequest{Token: token, SinkToken: sinkToken})
}

func (s *Service) sealInto(ch *Charge, e164 string) error {
	enc, err := s.vault.Seal(e164)
	if err != nil {
		return fmt.Errorf("seal msisdn: %w", err)
	}
	ch.MSISDNEnc, ch.MSISDNIndex, ch.MSISDNMasked = enc, s.vault.Index(e164), msisdn.Mask(e164)
	return nil
}

// insertCharge records the intent. If the merchant's idempotency key already
// made a charge (a retry racing past the response cache), that charge is
// returned instead: the unique index, not luck, stops a second one.
func (s *Service) insertCharge(ctx context.Context, ch *Charge) (*Charge, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.screenTx(tx, ch); err != nil {
			return err
		}
		if err := s.applyCashbackTx(tx, ch); err != nil {
			return err
		}
		if err := s.holdRoomTx(tx, ch); err != nil {
			return err
		}
		if err := tx.Create(ch).Error; err != nil {
			return err
		}
		if ch.CodeExpiresAt != nil {
			if err := s.enqueue(ctx, tx, ChargeExpiryArgs{ChargeID: ch.ID}, ch.CodeExpiresAt.Sub(s.now())+time.Second); err != nil {
				return err
			}
		}
		return s.emitCharge(tx, chargeEvent(ch.Status), ch)
	})
	if err != nil {
		ch.CashbackApplied = 0 // rolled back with the rest
	}
	if d, ok := declinedBy(err); ok {
		return s.decline(ctx, ch, d)
	}
	if store.IsUniqueViolation(err) {
		return s.chargeByKey(ctx, ch.MerchantID, ch.IdempotencyKey)
	}
	if err != nil {
		return nil, fmt.Errorf("insert charge: %w", err)
	}
	return nil, nil
}

func (s *Service) chargeByKey(ctx context.Context, merchantID, key string) (*Charge, error) {
	ch, err := s.keyedCharges.Do(ctx, chargeKey{merchantID, key})
	if err == nil && ch == nil {
		err = gorm.ErrRecordNotFound
	}
	return ch, err
}

// chargeKey is a charge's idempotency key: unique per merchant.
type chargeKey struct{ merchantID, key string }

// chargesByKey reads charges by key in one statement, nil for a key that
// made none. Every new charge asks first, so requests arriving together
// ask together.
func (s *Service) chargesByKey(ctx context.Context, keys []chargeKey) ([]*Charge, error) {
	pairs := make([][]any, len(keys))
	for i, k := range keys {
		pairs[i] = []any{k.merchantID, k.key}
	}
	var found []Charge
	if err := s.db.WithContext(ctx).Where("(merchant_id, idempotency_key) IN ?", pairs).Find(&found).Error; err != nil {
		return nil, err
	}
	return batch.Match(keys, found, func(ch *Charge) chargeKey { return chargeKey{ch.MerchantID, ch.IdempotencyKey} }), nil
}

// GetCharge returns a charge the principal may see; anything else is 404.
func (s *Service) GetCharge(ctx context.Context, p auth.Principal, id string) (*Charge, error) {
	var ch Charge
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if p.Role != auth.RoleFinance {
		q = q.Where("merchant_id = ?", p.MerchantID)
	}
	err := q.Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("charge")
	}
	if err != nil {
		return nil, fmt.Errorf("get charge %s: %w", id, err)
	}
	return &ch, nil
}

func (s *Service) reload(ctx context.Context, ch *Charge) (*Charge, error) {
	var out Charge
	if err := s.db.WithContext(ctx).Where("id = ?", ch.ID).Take(&out).Error; err != nil {
		return nil, fmt.Errorf("reload charge %s: %w", ch.ID, err)
	}
	return &out, nil
}

// ConfirmCharge checks the subscriber's code and, when right, charges.
func (s *Service) ConfirmCharge(ctx context.Context, p auth.Principal, id, code string) (*Charge, error) {
	ch, err := s.GetCharge(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if ch.Status != StatusRequiresConfirmation {
		return nil, stateProblem("charge", ch.ID, ch.Status, "only a charge that requires_confirmation can be confirmed")
	}
	if err := validCodeFormat(code); err != nil {
		return nil, err
	}
	c, ok := s.carriers.Get(ch.Carrier)
	if !ok {
		return nil, fmt.Errorf("charge %s: carrier %s vanished from config", ch.ID, ch.Carrier)
	}
	if expired(ch.CodeExpiresAt, s.now()) {
		if err := s.fail(ctx, ch, carriers.FailureConfirmationExpired, "The confirmation code expired.", ""); err != nil && !errors.Is(err, errConflict) {
			return nil, err
		}
		s.releaseAuthorization(ctx, c, ch.AuthorizationRef)
		return nil, codeExpired("charge", ch.ID)
	}
	if err := s.ensureAvailable(c.Name()); err != nil {
		return nil, err
	}
	var a carriers.Authorizer
	if ch.AuthorizationRef != nil {
		// Before an attempt is spent: a carrier that no longer checks codes
		// would take one for nothing.
		if a, err = authorizer(c); err != nil {
			return nil, s.verifyFailed(ch.Carrier, err)
		}
	}
	attempts, err := s.takeAttempt(ctx, ch, c)
	if err != nil {
		return nil, err
	}
	req := carriers.ChargeRequest{}
	if ch.AuthorizationRef != nil {
		// The carrier owns the code: it says whether it is right.
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CarrierTimeout)
		authz, err := a.Verify(vctx, carriers.VerifyRequest{AuthorizationID: *ch.AuthorizationRef, Reference: ch.ID, Code: code})
		cancel()
		switch {
		case errors.Is(err, carriers.ErrWrongCode):
			return nil, s.chargeWrongCode(ctx, ch, c, attempts)
		case err != nil:
			// The carrier could not look at the code: give the attempt back.
			if rerr := s.giveAttemptBack(ctx, &Charge{}, ch.ID); rerr != nil {
				return nil, rerr
			}
			return nil, s.verifyFailed(ch.Carrier, err)
		}
		req.AuthorizationID, req.Token = authz.ID, authz.Token
	} else if !s.codeMatches(ch.ID, code, ch.CodeHash) {
		return nil, s.chargeWrongCode(ctx, ch, c, attempts)
	}
	fields := map[string]any{"code_hash": nil}
	if req.AuthorizationID == "" {
		// A 1-step payment is created now: it gets its own callback token.
		var hash string
		req.SinkToken, hash = newSinkToken()
		fields["sink_token_hash"] = hash
	}
	moved, err := s.move(ctx, ch, StatusProcessing, fields) // its status job as in createOneTap
	if errors.Is(err, errConflict) {
		cur, rerr := s.reload(ctx, ch)
		if rerr != nil {
			return nil, rerr
		}
		return nil, stateProblem("charge", ch.ID, cur.Status, "only a charge that requires_confirmation can be confirmed")
	}
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, moved, c, req)
}

// giveAttemptBack returns a code attempt the carrier never looked at.
func (s *Service) giveAttemptBack(ctx context.Context, model any, id string) error {
	err := s.db.WithContext(ctx).Model(model).Where("id = ? AND code_attempts > 0", id).Update("code_attempts", gorm.Expr("code_attempts - 1")).Error
	if err != nil {
		return fmt.Errorf("give back the attempt on %s: %w", id, err)
	}
	return nil
}

// authorizer is the carrier's own code check. An object holding a carrier's
// authorization whose carrier no longer offers one (its protocol changed in
// config) gets an error, never a panic.
func authorizer(c carriers.Carrier) (carriers.Authorizer, error) {
	a, ok := c.(carriers.Authorizer)
	if !ok {
		return nil, fmt.Errorf("carrier %s does not check codes itself: %w", c.Name(), carriers.ErrInvalidRequest)
	}
	return a, nil
}

// verifyFailed: the carrier could not check the code (down, no answer). The
// charge stays requires_confirmation; the subscriber may try again.
func (s *Service) verifyFailed(carrier string, err error) error {
	var ue *carriers.UnavailableError
	if errors.As(err, &ue) {
		return carrierUnavailable(carrier, ue.RetryAfter)
	}
	if errors.Is(err, carriers.ErrInvalidRequest) {
		return problem.Unprocessable(problem.CodeConfirmationFailed, "code", "The carrier no longer accepts a code for this charge; start again with a new charge.")
	}
	s.log.Warn("carrier could not verify a code", "carrier", carrier, "error", err)
	return carrierUnavailable(carrier, time.Second)
}

// releaseAuthorization tells a carrier that holds a reservation for a
// charge that will not be confirmed to let it go. Best effort: an
// unconfirmed reservation expires at the carrier on its own.
func (s *Service) releaseAuthorization(ctx context.Context, c carriers.Carrier, ref *string) {
	cn, ok := c.(carriers.Canceler)
	if ref == nil || !ok {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CarrierTimeout)
	defer cancel()
	if err := cn.CancelAuthorization(cctx, *ref); err != nil {
		s.log.Warn("release carrier authorization", "carrier", c.Name(), "error", err)
	}
}

// takeAttempt spends one of the charge's code attempts before the code is
// looked at, atomically, so no burst of concurrent guesses gets more than
// MaxAttempts looks, and no right code is accepted once they are spent.
// It answers the problem to return when no attempt is left.
func (s *Service) takeAttempt(ctx context.Context, ch *Charge, c carriers.Carrier) (attempts int, err error) {
	res := s.db.WithContext(ctx).Model(&Charge{}).
		Where("id = ? AND status = ? AND code_attempts < ?", ch.ID, StatusRequiresConfirmation, s.cfg.MaxAttempts).
		Updates(map[string]any{"code_attempts": gorm.Expr("code_attempts + 1"), "updated_at": s.now()})
	if res.Error != nil {
		return 0, fmt.Errorf("count attempt on %s: %w", ch.ID, res.Error)
	}
	cur, err := s.reload(ctx, ch)
	if err != nil {
		return 0, err
	}
	if res.RowsAffected == 1 {
		return cur.CodeAttempts, nil
	}
	if cur.Status == StatusRequiresConfirmation {
		return 0, s.failTooMany(ctx, cur, c)
	}
	if cur.Status == StatusFailed && deref(cur.FailureCode) == carriers.FailureConfirmationFailed {
		return 0, tooManyWrongCodes("charge", ch.ID)
	}
	return 0, stateProblem("charge", ch.ID, cur.Status, "only a charge that requires_confirmation can be confirmed")
}

// chargeWrongCode answers a wrong code; the attempt that used up the last
// one fails the charge.
func (s *Service) chargeWrongCode(ctx context.Context, ch *Charge, c carriers.Carrier, attempts int) error {
	if attempts >= s.cfg.MaxAttempts {
		cur, err := s.reload(ctx, ch)
		if err != nil {
			return err
		}
		return s.failTooMany(ctx, cur, c)
	}
	return wrongCode(s.cfg.MaxAttempts - attempts)
}

func (s *Service) failTooMany(ctx context.Context, ch *Charge, c carriers.Carrier) error {
	if ch.Status == StatusRequiresConfirmation {
		if err := s.fail(ctx, ch, carriers.FailureConfirmationFailed, "Too many wrong confirmation codes.", ""); err != nil && !errors.Is(err, errConflict) {
			return err
		}
		s.releaseAuthorization(ctx, c, ch.AuthorizationRef)
	}
	return tooManyWrongCodes("charge", ch.ID)
}

// CancelCharge cancels a charge still waiting for its code, or for its
// scheduled time.
func (s *Service) CancelCharge(ctx context.Context, p auth.Principal, id string) (*Charge, error) {
	ch, err := s.GetCharge(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if ch.Status != StatusRequiresConfirmation && ch.Status != StatusScheduled {
		return nil, stateProblem("charge", ch.ID, ch.Status, "only a charge that requires_confirmation or is scheduled can be canceled")
	}
	out, err := s.move(ctx, ch, StatusCanceled, map[string]any{"code_hash": nil})
	if errors.Is(err, errConflict) {
		cur, rerr := s.reload(ctx, ch)
		if rerr != nil {
			return nil, rerr
		}
		return nil, stateProblem("charge", ch.ID, cur.Status, "only a charge that requires_confirmation or is scheduled can be canceled")
	}
	if err == nil {
		if c, ok := s.carriers.Get(ch.Carrier); ok {
			s.releaseAuthorization(ctx, c, ch.AuthorizationRef)
		}
	}
	return out, err
}

// move applies one state-machine edge with a compare-and-swap on the
// current status, so two racing requests can never both move a charge.
func (s *Service) move(ctx context.Context, ch *Charge, to Status, fields map[string]any) (*Charge, error) {
	var out *Charge
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = s.moveTx(tx, ch, to, fields)
		return err
	})
	return out, err
}

func (s *Service) moveTx(tx *gorm.DB, ch *Charge, to Status, fields map[string]any) (*Charge, error) {
	if !CanTransition(ch.Status, to) {
		return nil, ErrTransition{From: ch.Status, To: to}
	}
	upd := map[string]any{"status": to, "updated_at": s.now()}
	for k, v := range fields {
		upd[k] = v
	}
	// RETURNING hands back the row as moved: no second read (both stores).
	var out Charge
	res := tx.Model(&out).Clauses(clause.Returning{}).Where("id = ? AND status = ?", ch.ID, ch.Status).Updates(upd)
	if res.Error != nil {
		return nil, fmt.Errorf("move charge %s to %s: %w", ch.ID, to, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, errConflict
	}
	if to == StatusFailed || to == StatusCanceled {
		if err := s.releaseTx(tx, &out, out.Billed(), false); err != nil {
			return nil, err
		}
		if err := s.giveBackCashbackTx(tx, &out); err != nil {
			return nil, err
		}
	}
	if err := s.emitCharge(tx, chargeEvent(to), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Service) fail(ctx context.Context, ch *Charge, code, message, declineCode string) error {
	fields := map[string]any{"failure_code": code, "failure_message": message, "code_hash": nil}
	if declineCode != "" {
		fields["carrier_decline_code"] = declineCode
	}
	_, err := s.move(ctx, ch, StatusFailed, fields)
	return err
}
