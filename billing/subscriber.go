package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
)

// What a subscriber reads and does on their own page (/my). A subscriber
// holds no key: they are known only by the blind index of their number,
// proven by a code texted to it, and every query here is bound to that
// index, so one subscriber can never see or touch another's objects.

// Subscriber is a phone number as the page keeps it: never in clear.
type Subscriber struct {
	Index   string // the number's blind index
	Masked  string // e.g. +82 10-****-5678
	Country string // ISO 3166-1 alpha-2 of the number
}

// IdentifySubscriber parses a number a person typed (E.164, or national
// with its country) into the E.164 form the carrier call needs, which the
// caller keeps no longer than that call, and the subscriber it belongs to.
func (s *Service) IdentifySubscriber(raw, country string) (string, Subscriber, error) {
	e164, err := parseMSISDN(raw, country)
	if err != nil {
		return "", Subscriber{}, err
	}
	return e164, Subscriber{Index: s.vault.Index(e164), Masked: msisdn.Mask(e164), Country: msisdn.Region(e164)}, nil
}

// SubscriberCountries lists the countries whose numbers the carriers of
// this mode serve, sorted: the choices of the page's country field.
func (s *Service) SubscriberCountries(livemode bool) []string {
	var out []string
	for _, n := range s.carriers.Names() {
		c, ok := s.carriers.Get(n)
		if !ok || s.carriers.Simulated(n) == livemode {
			continue
		}
		if cc := c.Capabilities().Country; !slices.Contains(out, cc) {
			out = append(out, cc)
		}
	}
	slices.Sort(out)
	return out
}

// SubscriberCurrencies lists the currencies the carriers of this mode bill
// in for numbers of country, sorted: the months a subscriber has a spend in.
func (s *Service) SubscriberCurrencies(livemode bool, country string) []string {
	var out []string
	for _, n := range s.carriers.Names() {
		c, ok := s.carriers.Get(n)
		if !ok || s.carriers.Simulated(n) == livemode || c.Capabilities().Country != country {
			continue
		}
		for _, cur := range c.Capabilities().Currencies {
			if !slices.Contains(out, cur) {
				out = append(out, cur)
			}
		}
	}
	slices.Sort(out)
	return out
}

// SignInText is a sign-in code's text message to a subscriber.
type SignInText struct {
	Livemode bool   // which carriers may send it: real ones, or simulated
	MSISDN   string // E.164, from IdentifySubscriber
	// Reference names the sign-in the text is for; it travels with the
	// message as a charge id does (see sms).
	Reference string
	Body      string
}

// SendSignInCode texts a subscriber their sign-in code through a carrier
// that serves the number's country: the one that last billed or
// authorised the number, when it can send texts and is up, else the first
// such carrier by name. It counts against LimitSMSPerNumber like every
// other code to the number, whatever asked for it, and over the limit it
// is a 429 problem before anything is sent.
func (s *Service) SendSignInCode(ctx context.Context, t SignInText) error {
	region := msisdn.Region(t.MSISDN)
	index := s.vault.Index(t.MSISDN)
	var senders []carriers.Carrier
	for _, n := range s.carriers.Names() {
		c, ok := s.carriers.Get(n)
		if !ok || s.carriers.Simulated(n) == t.Livemode || c.Capabilities().Country != region {
			continue
		}
		if _, ok := c.(carriers.SMSSender); ok {
			senders = append(senders, c)
		}
	}
	if len(senders) == 0 {
		return problem.Unprocessable(problem.CodeUnknownCarrier, "msisdn", "No carrier here serves phone numbers from this country, so no code can be sent to it.")
	}
	slices.SortFunc(senders, func(a, b carriers.Carrier) int { return strings.Compare(a.Name(), b.Name()) })
	if last, err := s.lastCarrier(ctx, t.Livemode, index); err != nil {
		return err
	} else if i := slices.IndexFunc(senders, func(c carriers.Carrier) bool { return c.Name() == last }); i > 0 {
		senders[0], senders[i] = senders[i], senders[0]
	}
	var (
		picked carriers.Carrier
		wait   time.Duration
	)
	for _, c := range senders {
		ok, w := s.carriers.Available(c.Name())
		if ok {
			picked = c
			break
		}
		if wait == 0 || w < wait {
			wait = w
		}
	}
	if picked == nil {
		return carrierUnavailable(senders[0].Name(), wait)
	}
	if err := s.limit(ctx, LimitSMSPerNumber, index); err != nil {
		return err
	}
	if err := s.sms(ctx, picked, t.Reference, t.MSISDN, t.Body); err != nil {
		s.log.Warn("sign-in code not sent", "sign_in", t.Reference, "carrier", picked.Name(), "msisdn", msisdn.Mask(t.MSISDN), "error", err)
		_, w := s.carriers.Available(picked.Name())
		p := carrierUnavailable(picked.Name(), w)
		p.Detail = fmt.Sprintf("The code could not be sent; try again in %d s.", p.RetryAfter)
		return p
	}
	return nil
}

// lastCarrier is the carrier of the number's newest charge or payment
// method in this mode, or "".
func (s *Service) lastCarrier(ctx context.Context, livemode bool, index string) (string, error) {
	var rows []struct {
		Carrier   string
		CreatedAt time.Time
	}
	err := s.db.WithContext(ctx).Raw(
		`SELECT carrier, created_at FROM (SELECT carrier, created_at FROM charges WHERE msisdn_index = ? AND livemode = ? ORDER BY seq DESC LIMIT 1) c
		 UNION ALL
		 SELECT carrier, created_at FROM (SELECT carrier, created_at FROM payment_methods WHERE msisdn_index = ? AND livemode = ? ORDER BY seq DESC LIMIT 1) p`,
		index, livemode, index, livemode).Scan(&rows).Error
	if err != nil {
		return "", fmt.Errorf("last carrier of a subscriber: %w", err)
	}
	last := ""
	var at time.Time
	for _, r := range rows {
		if last == "" || r.CreatedAt.After(at) {
			last, at = r.Carrier, r.CreatedAt
		}
	}
	return last, nil
}

// SubscriberCharge is one charge as the subscriber who paid it sees it.
type SubscriberCharge struct {
	ID             string
	MerchantName   string
	Description    string
	Category       string
	Amount         int64
	RefundedAmount int64
	Currency       string
	Status         Status
	CreatedAt      time.Time
}

// SubscriberCharges returns a page of the subscriber's charges across every
// merchant, newest first, starting after the charge id after (when not
// ""), and whether more follow.
func (s *Service) SubscriberCharges(ctx context.Context, livemode bool, index, after string, limit int) ([]SubscriberCharge, bool, error) {
	if limit < 1 || limit > 100 {
		return nil, false, fmt.Errorf("subscriber charges: limit %d is not 1 to 100", limit)
	}
	q := s.db.WithContext(ctx).Table("charges c").
		Select("c.id, m.name AS merchant_name, c.description, c.category, c.amount, c.refunded_amount, c.currency, c.status, c.created_at").
		Joins("JOIN merchants m ON m.id = c.merchant_id").
		Where("c.msisdn_index = ? AND c.livemode = ?", index, livemode)
	if after != "" {
		var cursor Charge
		err := s.db.WithContext(ctx).Select("seq").Where("id = ? AND msisdn_index = ? AND livemode = ?", after, index, livemode).Take(&cursor).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, problem.Invalid("after", "after must be the id of one of your charges.")
		}
		if err != nil {
			return nil, false, fmt.Errorf("subscriber charges cursor: %w", err)
		}
		q = q.Where("c.seq < ?", cursor.Seq)
	}
	var out []SubscriberCharge
	if err := q.Order("c.seq DESC").Limit(limit + 1).Scan(&out).Error; err != nil {
		return nil, false, fmt.Errorf("subscriber charges: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, more, nil
}

// SubscriberPaymentMethod is an active one-tap opt-in as its subscriber
// sees it.
type SubscriberPaymentMethod struct {
	ID           string
	MerchantName string
	Carrier      string
	MSISDNMasked string
	CreatedAt    time.Time
}

// SubscriberPaymentMethods lists the subscriber's active one-tap payment
// methods across merchants, newest first.
func (s *Service) SubscriberPaymentMethods(ctx context.Context, livemode bool, index string) ([]SubscriberPaymentMethod, error) {
	var out []SubscriberPaymentMethod
	err := s.db.WithContext(ctx).Table("payment_methods p").
		Select("p.id, m.name AS merchant_name, p.carrier, p.msisdn_masked, p.created_at").
		Joins("JOIN merchants m ON m.id = p.merchant_id").
		Where("p.msisdn_index = ? AND p.livemode = ? AND p.status = ?", index, livemode, PMActive).
		Order("p.seq DESC").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("subscriber payment methods: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}

// RevokeSubscriberPaymentMethod ends one of the subscriber's own opt-ins,
// as the merchant's DELETE does (the merchant is told by the same event).
// A payment method of another number is not found, whether or not it
// exists; revoking twice is harmless.
func (s *Service) RevokeSubscriberPaymentMethod(ctx context.Context, livemode bool, index, id string) (*PaymentMethod, error) {
	var pm PaymentMethod
	err := s.db.WithContext(ctx).Where("id = ? AND msisdn_index = ? AND livemode = ?", id, index, livemode).Take(&pm).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("payment method")
	}
	if err != nil {
		return nil, fmt.Errorf("get payment method %s: %w", id, err)
	}
	if pm.Status != PMActive && pm.Status != PMRevoked {
		return nil, pmStateProblem(&pm, "only an active one can be revoked here")
	}
	return s.revoke(ctx, &pm)
}
