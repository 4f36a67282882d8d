// Package tokens gets and keeps the OpenID Connect access tokens a CAMARA
// operator asks for: a 2-legged token by client credentials for calls about
// the API consumer's own resources (refunds, status queries), and a
// 3-legged token by CIBA (OpenID Connect Client-Initiated Backchannel
// Authentication, login_hint=tel:+...) for a payment on a subscriber's line.
//
// Client credentials and the CIBA token request go through
// golang.org/x/oauth2's clientcredentials (its token endpoint plumbing: client
// authentication, the RFC 6749 error body); x/oauth2 has no CIBA grant, so
// the backchannel request and the polling rules are here (ciba.go).
//
// Tokens are cached until shortly before they expire, on the gateway's
// clock: one per scope set for 2-legged tokens, one per phone number and
// scope set for 3-legged ones, keyed by an HMAC of the number, never the
// number itself. Concurrent misses share one request (singleflight), and a
// token close to its expiry is refreshed in the background while callers go
// on using it. No lock is held across the network.
package tokens

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"

	"tollgate/carriers"
)

// Errors a caller tells apart. Each is wrapped with what happened; none
// carries a phone number or a secret.
var (
	// ErrClient: the authorization server refused the client itself (bad
	// id or secret, a scope it may not have): a configuration fault, which
	// no retry mends.
	ErrClient = errors.New("authorization server refused the client")
	// ErrDenied: the subscriber refused the backchannel authentication
	// (CIBA access_denied).
	ErrDenied = errors.New("subscriber denied the authentication request")
	// ErrExpired: the subscriber did not answer before the authentication
	// request expired (CIBA expired_token).
	ErrExpired = errors.New("authentication request expired before the subscriber answered")
	// ErrUnreachable: the authorization server could not be reached or
	// answered with something other than a token or an RFC 6749 error.
	ErrUnreachable = errors.New("authorization server unreachable")
)

// Defaults of Config.
const (
	// DefaultLeeway is how long before its expiry a token is refreshed.
	DefaultLeeway = 60 * time.Second
	// defaultLifetime is assumed when a token answer has no expires_in
	// (RFC 6749 makes it optional); short, so a guess costs little.
	defaultLifetime = 60 * time.Second
	// fetchTimeout bounds one client-credentials fetch that callers share:
	// it runs on after the caller that started it gives up.
	fetchTimeout = 30 * time.Second
)

// Config says where and as whom tokens are asked for.
type Config struct {
	TokenURL       string // the operator's token endpoint
	BCAuthorizeURL string // its CIBA backchannel authentication endpoint; empty: no 3-legged tokens
	ClientID       string
	ClientSecret   string
	HTTPClient     *http.Client     // nil: http.DefaultClient
	Now            func() time.Time // the gateway's clock; nil: time.Now
	// Wait waits d between CIBA polls, or less if ctx ends first (then it
	// returns ctx's error); nil: a real timer. Tests move their clock.
	Wait func(ctx context.Context, d time.Duration) error
	// Leeway: a token is refreshed this long before it expires (at most a
	// tenth of its lifetime); 0 is DefaultLeeway.
	Leeway time.Duration
}

// Cache hands out access tokens for one client of one operator.
type Cache struct {
	cfg    Config
	now    func() time.Time
	wait   func(context.Context, time.Duration) error
	hashes []byte // HMAC key for phone numbers in cache keys, per process
	group  singleflight.Group

	mu     sync.Mutex // guards tokens; never held across the network
	tokens map[string]entry
}

// entry is a cached token and when to stop using it and start refreshing it.
type entry struct {
	tok       *oauth2.Token
	refreshAt time.Time // from here a refresh runs in the background
	expiresAt time.Time // from here the token is not handed out
}

// New checks cfg and returns an empty cache.
func New(cfg Config) (*Cache, error) {
	if cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("tokens: token URL, client id and client secret are required")
	}
	c := &Cache{cfg: cfg, now: cfg.Now, wait: cfg.Wait, tokens: map[string]entry{}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.wait == nil {
		c.wait = sleep
	}
	if c.cfg.Leeway <= 0 {
		c.cfg.Leeway = DefaultLeeway
	}
	c.hashes = make([]byte, 32)
	_, _ = rand.Read(c.hashes) // crypto/rand.Read never fails on supported platforms
	return c, nil
}

// ThreeLegged reports whether the cache can get 3-legged tokens (a CIBA
// endpoint is configured).
func (c *Cache) ThreeLegged() bool { return c.cfg.BCAuthorizeURL != "" }

// ClientToken returns a 2-legged token (client credentials) with scopes.
func (c *Cache) ClientToken(ctx context.Context, scopes ...string) (*oauth2.Token, error) {
	scopes = normalize(scopes)
	key := "2|" + strings.Join(scopes, " ")
	return c.get(ctx, key, true, func(ctx context.Context) (*oauth2.Token, time.Time, error) {
		return c.clientCredentials(ctx, scopes)
	})
}

// SubscriberToken returns a 3-legged token for the subscriber of phone
// (E.164 with its +) with scopes, by CIBA. "openid" is always asked for.
func (c *Cache) SubscriberToken(ctx context.Context, phone string, scopes ...string) (*oauth2.Token, error) {
	if !c.ThreeLegged() {
		return nil, fmt.Errorf("%w: no backchannel authentication endpoint configured", ErrClient)
	}
	scopes = normalize(append([]string{"openid"}, scopes...))
	key := "3|" + c.phoneKey(phone) + "|" + strings.Join(scopes, " ")
	// Never refreshed ahead of need: a refresh is a login request on the
	// subscriber's phone that nobody asked for, and teaches people to
	// approve prompts they did not expect.
	return c.get(ctx, key, false, func(ctx context.Context) (*oauth2.Token, time.Time, error) {
		return c.ciba(ctx, phone, scopes)
	})
}

// ForgetAccessToken drops the token whose access token is accessToken: the
// API refused it (revoked, expired early), so the next caller gets a fresh
// one.
func (c *Cache) ForgetAccessToken(accessToken string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.tokens {
		if e.tok.AccessToken == accessToken {
			delete(c.tokens, k)
		}
	}
}

// fetchFunc gets a new token and says when it expires.
type fetchFunc func(ctx context.Context) (*oauth2.Token, time.Time, error)

// get returns key's cached token, or fetches one, once for all concurrent
// callers. With early, a token inside its refresh leeway is returned as is
// while a refresh runs in the background.
func (c *Cache) get(ctx context.Context, key string, early bool, fetch fetchFunc) (*oauth2.Token, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.tokens[key]
	c.mu.Unlock()
	if ok && now.Before(e.expiresAt) {
		if early && !now.Before(e.refreshAt) {
			c.group.DoChan(key, c.fill(ctx, key, fetch)) // in the background; its result lands in the cache
		}
		return e.tok, nil
	}
	ch := c.group.DoChan(key, c.fill(ctx, key, fetch))
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, ctx.Err())
	}
}

// fill is the shared fetch for key. It runs on a context of its own,
// without the caller's cancellation (one caller giving up does not fail the
// others who wait on the same fetch) and without its values: those mark
// the caller's own request (a payment that may be resent, whose outcome a
// sent byte makes uncertain), and a token request is none of that.
func (c *Cache) fill(_ context.Context, key string, fetch fetchFunc) func() (any, error) {
	ctx := context.Background()
	return func() (any, error) {
		start := c.now()
		// A caller that missed just before another's fetch landed finds
		// the fresh token here instead of fetching a second one.
		c.mu.Lock()
		e, ok := c.tokens[key]
		c.mu.Unlock()
		if ok && start.Before(e.refreshAt) {
			return e.tok, nil
		}
		tok, expires, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		lifetime := expires.Sub(start)
		leeway := min(c.cfg.Leeway, lifetime/10)
		c.mu.Lock()
		c.tokens[key] = entry{tok: tok, refreshAt: expires.Add(-leeway), expiresAt: expires.Add(-leeway / 2)}
		c.prune(start)
		c.mu.Unlock()
		return tok, nil
	}
}

// clientCredentials fetches a 2-legged token.
func (c *Cache) clientCredentials(ctx context.Context, scopes []string) (*oauth2.Token, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	cc := clientcredentials.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, TokenURL: c.cfg.TokenURL,
		Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader,
	}
	start := c.now()
	tok, err := cc.Token(c.httpContext(ctx))
	if err != nil {
		return nil, time.Time{}, tokenError("client credentials", err)
	}
	return tok, expiry(tok, start), nil
}

// httpContext carries the configured HTTP client to x/oauth2.
func (c *Cache) httpContext(ctx context.Context) context.Context {
	if c.cfg.HTTPClient == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
}

// phoneKey is the cache key part for a phone number: an HMAC under a key
// this process made, so even a heap dump holds no number.
func (c *Cache) phoneKey(phone string) string {
	m := hmac.New(sha256.New, c.hashes)
	m.Write([]byte(phone))
	return hex.EncodeToString(m.Sum(nil))
}

// expiry is when tok expires on the gateway's clock: expires_in from the
// answer counted from when it was asked for (x/oauth2 computes Expiry on the
// wall clock, which a test clock does not move).
func expiry(tok *oauth2.Token, start time.Time) time.Time {
	secs := int64(0)
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = int64(v)
	case string:
		secs, _ = strconv.ParseInt(v, 10, 64)
	}
	if secs <= 0 {
		return start.Add(defaultLifetime)
	}
	return start.Add(time.Duration(secs) * time.Second)
}

// tokenError turns x/oauth2's error into this package's vocabulary. The
// server's error_description is free text: it is kept, with anything like
// a number redacted; the raw body never is.
func tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, op, carriers.RedactNumbers(err.Error()))
	}
	detail := re.ErrorCode
	if detail == "" && re.Response != nil {
		detail = "HTTP " + strconv.Itoa(re.Response.StatusCode)
	}
	if re.ErrorDescription != "" {
		detail += ": " + carriers.RedactNumbers(re.ErrorDescription)
	}
	switch re.ErrorCode {
	case "invalid_client", "unauthorized_client", "invalid_scope", "invalid_grant", "unsupported_grant_type", "invalid_request":
		return fmt.Errorf("%w: %s: %s", ErrClient, op, detail)
	case "access_denied":
		return fmt.Errorf("%w: %s: %s", ErrDenied, op, detail)
	case "expired_token":
		return fmt.Errorf("%w: %s: %s", ErrExpired, op, detail)
	}
	if re.Response != nil && (re.Response.StatusCode == http.StatusUnauthorized || re.Response.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%w: %s: %s", ErrClient, op, detail)
	}
	return fmt.Errorf("%w: %s: %s", ErrUnreachable, op, detail)
}

// normalize sorts and dedupes scopes, so one set has one cache key.
func normalize(scopes []string) []string {
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxTokens bounds the cache: a subscriber's token is kept per number, and
// a node charging many numbers would otherwise keep every one it ever got.
const maxTokens = 10000

// prune drops expired tokens once the cache holds more than maxTokens, and
// then, if still over, any until it is back under: a dropped token is only
// fetched again. Callers hold c.mu.
func (c *Cache) prune(now time.Time) {
	if len(c.tokens) <= maxTokens {
		return
	}
	for k, e := range c.tokens {
		if !now.Before(e.expiresAt) {
			delete(c.tokens, k)
		}
	}
	for k := range c.tokens {
		if len(c.tokens) <= maxTokens {
			break
		}
		delete(c.tokens, k)
	}
}
