package mypage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
)

// signIn is a row of subscriber_sign_ins: a code texted to a number,
// waiting in the browser that asked for it.
type signIn struct {
	ID           string
	BrowserHash  string
	MSISDNIndex  string `gorm:"column:msisdn_index"`
	MSISDNMasked string `gorm:"column:msisdn_masked"`
	Country      string
	CodeHash     string
	Attempts     int
	ExpiresAt    time.Time
	CreatedAt    time.Time
}

func (signIn) TableName() string { return "subscriber_sign_ins" }

// session is a row of subscriber_sessions: a signed-in browser.
type session struct {
	TokenHash    string
	MSISDNIndex  string `gorm:"column:msisdn_index"`
	MSISDNMasked string `gorm:"column:msisdn_masked"`
	Country      string
	ExpiresAt    time.Time
	CreatedAt    time.Time
	token        string // the cookie's value, known only in the request that holds it
}

func (session) TableName() string { return "subscriber_sessions" }

func (s *session) subscriber() billing.Subscriber {
	return billing.Subscriber{Index: s.MSISDNIndex, Masked: s.MSISDNMasked, Country: s.Country}
}

// newToken is 32 bytes from crypto/rand, base64url: a cookie's value.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what the database keeps of a cookie: a leaked table opens
// no session.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// newCode is six digits from crypto/rand.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeHash binds a code to its sign-in under the server's key, so a
// leaked table reveals no code and a code opens no other sign-in.
func (p *Page) codeHash(signInID, code string) string {
	return p.vault.Keyed("my sign-in:"+signInID, code)
}

// errNoSignIn: the browser has no code waiting (none asked, or it was
// used, expired or spent).
var errNoSignIn = errors.New("no sign-in waiting")

// pendingSignIn is the browser's newest sign-in, expired or not.
func (p *Page) pendingSignIn(ctx context.Context, browser string) (*signIn, error) {
	if browser == "" {
		return nil, errNoSignIn
	}
	var si signIn
	err := p.db.WithContext(ctx).Where("browser_hash = ?", hashToken(browser)).Order("created_at DESC").Take(&si).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoSignIn
	}
	if err != nil {
		return nil, fmt.Errorf("load sign-in: %w", err)
	}
	return &si, nil
}

// startSignIn records a new code for the browser, replacing any it had.
func (p *Page) startSignIn(ctx context.Context, browser string, sub billing.Subscriber, code string) (*signIn, error) {
	now := p.now()
	si := &signIn{ID: "si_" + newToken()[:24], BrowserHash: hashToken(browser), MSISDNIndex: sub.Index, MSISDNMasked: sub.Masked,
		Country: sub.Country, ExpiresAt: now.Add(p.cfg.CodeTTL), CreatedAt: now}
	si.CodeHash = p.codeHash(si.ID, code)
	err := p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Rows nobody can use any more go with every new one, so the
		// tables hold only what is live (both are indexed on expires_at).
		if err := tx.Where("browser_hash = ? OR expires_at < ?", si.BrowserHash, now).Delete(&signIn{}).Error; err != nil {
			return err
		}
		if err := tx.Where("expires_at < ?", now).Delete(&session{}).Error; err != nil {
			return err
		}
		return tx.Create(si).Error
	})
	if err != nil {
		return nil, fmt.Errorf("record sign-in: %w", err)
	}
	return si, nil
}

func (p *Page) forgetSignIn(ctx context.Context, id string) error {
	if err := p.db.WithContext(context.WithoutCancel(ctx)).Where("id = ?", id).Delete(&signIn{}).Error; err != nil {
		return fmt.Errorf("forget sign-in %s: %w", id, err)
	}
	return nil
}

// The outcomes of a code typed in.
type codeOutcome int

const (
	codeRight codeOutcome = iota
	codeWrong
	codeSpent   // too many wrong codes: the sign-in is over
	codeExpired // the sign-in is over
)

// checkCode spends one attempt of the sign-in, then compares the code in
// constant time. A right code opens a session for the browser and ends
// the sign-in in one transaction, so a code opens at most one session.
func (p *Page) checkCode(ctx context.Context, si *signIn, code string) (codeOutcome, int, *session, error) {
	now := p.now()
	if !now.Before(si.ExpiresAt) {
		return codeExpired, 0, nil, p.forgetSignIn(ctx, si.ID)
	}
	// The attempt is spent before the code is looked at, so concurrent
	// guesses can never try more than MaxAttempts codes.
	taken := p.db.WithContext(ctx).Model(&signIn{}).Where("id = ? AND attempts < ?", si.ID, p.cfg.MaxAttempts).
		Update("attempts", gorm.Expr("attempts + 1"))
	if taken.Error != nil {
		return 0, 0, nil, fmt.Errorf("count attempt on %s: %w", si.ID, taken.Error)
	}
	if taken.RowsAffected == 0 {
		return codeSpent, 0, nil, p.forgetSignIn(ctx, si.ID)
	}
	if !hmac.Equal([]byte(p.codeHash(si.ID, code)), []byte(si.CodeHash)) {
		var left int64
		if err := p.db.WithContext(ctx).Model(&signIn{}).Select("attempts").Where("id = ?", si.ID).Scan(&left).Error; err != nil {
			return 0, 0, nil, fmt.Errorf("count attempts on %s: %w", si.ID, err)
		}
		remaining := p.cfg.MaxAttempts - int(left)
		if remaining <= 0 {
			return codeSpent, 0, nil, p.forgetSignIn(ctx, si.ID)
		}
		return codeWrong, remaining, nil, nil
	}
	s := &session{token: newToken(), MSISDNIndex: si.MSISDNIndex, MSISDNMasked: si.MSISDNMasked, Country: si.Country,
		ExpiresAt: now.Add(p.cfg.SessionTTL), CreatedAt: now}
	s.TokenHash = hashToken(s.token)
	used := false
	err := p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ?", si.ID).Delete(&signIn{})
		if res.Error != nil || res.RowsAffected == 0 {
			used = res.Error == nil
			return res.Error
		}
		return tx.Create(s).Error
	})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("open session: %w", err)
	}
	if used { // a concurrent request with the same code won
		return codeSpent, 0, nil, nil
	}
	return codeRight, 0, s, nil
}

// sessionOf is the live session a cookie names, or nil.
func (p *Page) sessionOf(ctx context.Context, token string) (*session, error) {
	if token == "" {
		return nil, nil
	}
	var s session
	err := p.db.WithContext(ctx).Where("token_hash = ? AND expires_at > ?", hashToken(token), p.now()).Take(&s).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	s.token = token
	return &s, nil
}

func (p *Page) endSession(ctx context.Context, token string) error {
	if err := p.db.WithContext(ctx).Where("token_hash = ?", hashToken(token)).Delete(&session{}).Error; err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}
