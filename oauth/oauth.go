// Package oauth gives the OAuth2 access tokens with which a mailbox logs
// in to IMAP and SMTP (SASL XOAUTH2 or OAUTHBEARER): Microsoft 365
// app-only access (client credentials), Google service accounts with
// domain-wide delegation (a signed JWT grant), and any other provider by
// its token URL and scopes. A Source caches its token until shortly
// before it expires; the exchanges themselves are golang.org/x/oauth2's.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"
)

// Providers of Config.Provider.
const (
	Microsoft = "microsoft" // Microsoft 365 app-only: client credentials at login.microsoftonline.com
	Google    = "google"    // Google service account with domain-wide delegation
	Generic   = "generic"   // client credentials at any token URL
)

// Flows of Config.Flow.
const (
	// ClientCredentials is app-only access (Microsoft, Generic): the
	// daemon's own credentials, no user involved.
	ClientCredentials = "client_credentials"
	// Device is delegated access (Microsoft, Generic): a user signs in
	// once with the device authorization grant (RFC 8628, Login), and the
	// refresh token kept in a RefreshStore gives access tokens after that.
	Device = "device"
)

// MicrosoftDelegatedScopes are the scopes of delegated access to Exchange
// Online's IMAP and SMTP; offline_access brings the refresh token.
var MicrosoftDelegatedScopes = []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"}

// RefreshStore keeps an account's refresh token between runs.
type RefreshStore interface {
	// Load returns the stored refresh token; "" when there is none.
	Load(ctx context.Context) (string, error)
	// Save stores a new refresh token in place of the old one.
	Save(ctx context.Context, token string) error
}

// MicrosoftScope is the scope of app-only access to Exchange Online's IMAP
// and SMTP.
const MicrosoftScope = "https://outlook.office365.com/.default"

// GoogleScope is the scope of full mail access that Gmail's IMAP and SMTP
// require.
const GoogleScope = "https://mail.google.com/"

// googleTokenURL is where a Google service account's JWT is exchanged.
const googleTokenURL = "https://oauth2.googleapis.com/token"

// Margin is how long before its expiry a token is no longer handed out:
// a session that logs in with it has that long before the server may end
// it (Exchange ends an IDLE session when its token expires).
const Margin = 5 * time.Minute

// Config is one mailbox's (or the SMTP account's) token source.
type Config struct {
	Provider string // Microsoft, Google or Generic
	// Tenant is the Microsoft Entra tenant (its id or a domain); Microsoft only.
	Tenant string
	// TokenURL is the token endpoint; Generic requires it, and it replaces
	// the provider's own for Microsoft and Google (tests, national clouds).
	TokenURL string
	ClientID string // Microsoft, Generic
	// ClientSecret gives the client secret (Microsoft, Generic). It is
	// called at each token request, so that a rotated secret file takes
	// effect without a restart.
	ClientSecret func() (string, error)
	// KeyFile reads a Google service account's JSON key; Google only. It is
	// read at each token request.
	KeyFile func() ([]byte, error)
	// Subject is the user the service account acts as: the mailbox's
	// address; Google only.
	Subject string
	// Scopes default to MicrosoftScope, GoogleScope; Generic requires them.
	Scopes []string
	// Flow is ClientCredentials (default) or Device; Google has only its
	// service-account grant.
	Flow string
	// DeviceURL is the device authorization endpoint (Device); Generic
	// requires it.
	DeviceURL string
	// Refresh keeps the refresh token (Device); required then.
	Refresh RefreshStore
	// LoginHint is what the operator runs to sign in again, named in the
	// error when no refresh token works (Device).
	LoginHint string
	// HTTPClient makes the token requests; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock of the cache; nil means time.Now.
	Now func() time.Time
}

// Validate reports what cannot work in c.
func (c Config) Validate() error {
	var errs []error
	switch c.Provider {
	case Microsoft:
		if c.Tenant == "" && c.TokenURL == "" {
			errs = append(errs, errors.New("microsoft: tenant is required"))
		}
	case Google:
		if c.KeyFile == nil {
			errs = append(errs, errors.New("google: a service account key file is required"))
		}
		if c.Subject == "" {
			errs = append(errs, errors.New("google: subject (the mailbox's address) is required"))
		}
	case Generic:
		if c.TokenURL == "" {
			errs = append(errs, errors.New("generic: token_url is required"))
		}
		if len(c.Scopes) == 0 {
			errs = append(errs, errors.New("generic: scopes are required"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown provider %q (want %s, %s or %s)", c.Provider, Microsoft, Google, Generic))
	}
	switch c.Flow {
	case "", ClientCredentials:
	case Device:
		if c.Provider == Google {
			errs = append(errs, errors.New("google: the device flow cannot have Gmail's scope; use a service account"))
		}
		if c.Provider == Generic && c.DeviceURL == "" {
			errs = append(errs, errors.New("generic: device_url is required for the device flow"))
		}
		if c.Refresh == nil {
			errs = append(errs, errors.New("the device flow needs a store for the refresh token"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown flow %q (want %s or %s)", c.Flow, ClientCredentials, Device))
	}
	if c.Provider != Google {
		if c.ClientID == "" {
			errs = append(errs, fmt.Errorf("%s: client_id is required", c.Provider))
		}
		if c.ClientSecret == nil && c.Flow != Device { // a device-flow client may be public
			errs = append(errs, fmt.Errorf("%s: a client secret is required", c.Provider))
		}
	}
	if c.TokenURL != "" {
		if u, err := url.Parse(c.TokenURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			errs = append(errs, fmt.Errorf("token_url %q is not an https URL (http only to a loopback host)", c.TokenURL))
		}
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// Source hands out access tokens of one Config, fetching a new one when
// the cached one is within Margin of its expiry. It is safe for
// concurrent use: one request at a time, the others wait for its token.
type Source struct {
	cfg Config

	mu      sync.Mutex
	refresh string // Device: the newest refresh token, kept even when storing it failed
	token   string
	expiry  time.Time // zero: the provider gave no lifetime; the token is fetched again every time
	fetches int
}

// New returns the Source of cfg, or what is wrong with cfg.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		switch cfg.Provider {
		case Microsoft:
			cfg.Scopes = []string{MicrosoftScope}
			if cfg.Flow == Device {
				cfg.Scopes = MicrosoftDelegatedScopes
			}
		case Google:
			cfg.Scopes = []string{GoogleScope}
		}
	}
	if cfg.DeviceURL == "" && cfg.Provider == Microsoft {
		cfg.DeviceURL = "https://login.microsoftonline.com/" + url.PathEscape(cfg.Tenant) + "/oauth2/v2.0/devicecode"
	}
	if cfg.TokenURL == "" {
		switch cfg.Provider {
		case Microsoft:
			cfg.TokenURL = "https://login.microsoftonline.com/" + url.PathEscape(cfg.Tenant) + "/oauth2/v2.0/token"
		case Google:
			cfg.TokenURL = googleTokenURL
		}
	}
	return &Source{cfg: cfg}, nil
}

// Fetches reports how many tokens the Source has requested so far.
func (s *Source) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Expiry is when the token Token gave last expires, on the Source's
// clock; zero when the provider gave no lifetime or none was given yet.
func (s *Source) Expiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expiry
}

// Token returns an access token valid for at least Margin more (as far as
// the provider's expires_in says), fetching a new one when needed. An
// error the provider answered (a refusal: bad secret, no consent, unknown
// client) says Refused() true, with the provider's words in its text.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if s.token != "" && !s.expiry.IsZero() && now.Add(Margin).Before(s.expiry) {
		return s.token, nil
	}
	s.fetches++
	t, err := s.fetch(ctx)
	if err != nil {
		s.token, s.expiry = "", time.Time{}
		return "", err
	}
	s.token, s.expiry = t.AccessToken, time.Time{}
	if t.ExpiresIn > 0 {
		s.expiry = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return s.token, nil
}

// fetch asks the provider for a new token.
func (s *Source) fetch(ctx context.Context) (*oauth2.Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	var ts oauth2.TokenSource
	switch {
	case s.cfg.Flow == Device:
		return s.refreshed(ctx)
	case s.cfg.Provider == Google:
		key, err := s.cfg.KeyFile()
		if err != nil {
			return nil, &RefusedError{Err: fmt.Errorf("reading the service account key: %w", err)}
		}
		jc, err := jwtConfig(key, s.cfg)
		if err != nil {
			return nil, &RefusedError{Err: err}
		}
		ts = jc.TokenSource(ctx)
	default:
		secret, err := s.cfg.ClientSecret()
		if err != nil {
			return nil, &RefusedError{Err: fmt.Errorf("reading the client secret: %w", err)}
		}
		cc := &clientcredentials.Config{
			ClientID:     s.cfg.ClientID,
			ClientSecret: secret,
			TokenURL:     s.cfg.TokenURL,
			Scopes:       s.cfg.Scopes,
			// Microsoft and most others take the secret in the form;
			// asking once spares a refused first request.
			AuthStyle: oauth2.AuthStyleInParams,
		}
		ts = cc.TokenSource(ctx)
	}
	t, err := ts.Token()
	if err != nil {
		return nil, s.requestError(err, "")
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("token request to %s: the answer has no access_token", s.cfg.TokenURL)
	}
	return &oauth2.Token{AccessToken: t.AccessToken, ExpiresIn: expiresIn(t)}, nil
}

// requestError is a failed token request as Token returns it: a 4xx
// answer is a refusal in the provider's words, with hint after them.
func (s *Source) requestError(err error, hint string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
		err = providerWords(re)
		if hint != "" {
			err = fmt.Errorf("%w; %s", err, hint)
		}
		return &RefusedError{Err: err}
	}
	return fmt.Errorf("token request to %s: %w", s.cfg.TokenURL, err)
}

// oauth2Config is the delegated flow's client.
func (s *Source) oauth2Config() (*oauth2.Config, error) {
	c := &oauth2.Config{ClientID: s.cfg.ClientID, Scopes: s.cfg.Scopes, Endpoint: oauth2.Endpoint{
		TokenURL: s.cfg.TokenURL, DeviceAuthURL: s.cfg.DeviceURL, AuthStyle: oauth2.AuthStyleInParams}}
	if s.cfg.ClientSecret != nil {
		secret, err := s.cfg.ClientSecret()
		if err != nil {
			return nil, &RefusedError{Err: fmt.Errorf("reading the client secret: %w", err)}
		}
		c.ClientSecret = secret
	}
	return c, nil
}

// loginHint is the sentence that tells the operator to sign in again.
func (s *Source) loginHint() string {
	if s.cfg.LoginHint == "" {
		return "sign in again"
	}
	return "sign in again: " + s.cfg.LoginHint
}

// refreshed redeems the refresh token for an access token, and stores
// the refresh token the provider rotated in its place. s.mu is held.
func (s *Source) refreshed(ctx context.Context) (*oauth2.Token, error) {
	rt := s.refresh
	if rt == "" {
		var err error
		if rt, err = s.cfg.Refresh.Load(ctx); err != nil {
			return nil, fmt.Errorf("reading the refresh token: %w", err)
		}
	}
	if rt == "" {
		return nil, &RefusedError{Err: errors.New("no refresh token stored; " + s.loginHint())}
	}
	oc, err := s.oauth2Config()
	if err != nil {
		return nil, err
	}
	t, err := oc.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		err = s.requestError(err, "the refresh token was refused (revoked, expired after long disuse, or the password was reset); "+s.loginHint())
		if errors.As(err, new(*RefusedError)) {
			// The next try reads the store again: `helpdeskd oauth
			// login` may have put a new token there meanwhile.
			s.refresh = ""
		}
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("token request to %s: the answer has no access_token", s.cfg.TokenURL)
	}
	if t.RefreshToken != "" && t.RefreshToken != rt {
		s.refresh = t.RefreshToken // used next time even if storing it fails now
		if err := s.cfg.Refresh.Save(ctx, t.RefreshToken); err != nil {
			return nil, fmt.Errorf("storing the rotated refresh token: %w", err)
		}
	} else {
		s.refresh = rt
	}
	return &oauth2.Token{AccessToken: t.AccessToken, ExpiresIn: expiresIn(t)}, nil
}

// Login signs a user in with the device authorization grant (RFC 8628):
// show is given the address to open and the code to enter there, then
// Login polls until the user has signed in (or ctx ends, or the code
// expires), and stores the refresh token. Only for the Device flow.
func (s *Source) Login(ctx context.Context, show func(uri, code string, expires time.Time)) error {
	if s.cfg.Flow != Device {
		return errors.New("sign-in is for flow = \"device\"; this account uses its own credentials")
	}
	oc, err := s.oauth2Config()
	if err != nil {
		return err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	da, err := oc.DeviceAuth(ctx)
	if err != nil {
		return s.requestError(err, "")
	}
	uri := da.VerificationURIComplete
	if uri == "" {
		uri = da.VerificationURI
	}
	show(uri, da.UserCode, da.Expiry)
	t, err := oc.DeviceAccessToken(ctx, da)
	if err != nil {
		return s.requestError(err, "")
	}
	if t.RefreshToken == "" {
		return errors.New("the provider gave no refresh token: the scopes must allow offline access (Microsoft: offline_access)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cfg.Refresh.Save(ctx, t.RefreshToken); err != nil {
		return fmt.Errorf("storing the refresh token: %w", err)
	}
	s.refresh = t.RefreshToken
	s.token, s.expiry = t.AccessToken, time.Time{}
	if n := expiresIn(t); n > 0 {
		s.expiry = s.cfg.Now().Add(time.Duration(n) * time.Second)
	}
	return nil
}

// expiresIn is the token's lifetime in seconds as the provider said it
// (expires_in: x/oauth2 turns it into an Expiry on the wall clock, and
// the Source keeps its own clock); from Expiry when the answer is not at
// hand; 0 when the provider gave none.
func expiresIn(t *oauth2.Token) int64 {
	if t.ExpiresIn > 0 {
		return t.ExpiresIn
	}
	switch v := t.Extra("expires_in").(type) {
	case float64:
		if v > 0 {
			return int64(v)
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	if t.Expiry.IsZero() {
		return 0
	}
	return max(int64(time.Until(t.Expiry)/time.Second), 1)
}

// providerWords is the provider's refusal as an operator reads it:
// status, error code, description (bounded: the text is the server's).
func providerWords(re *oauth2.RetrieveError) error {
	words := re.ErrorCode
	if re.ErrorDescription != "" {
		words += ": " + re.ErrorDescription
	}
	if words == "" {
		words = strings.TrimSpace(string(re.Body))
	}
	if len(words) > 500 {
		words = words[:500] + "…"
	}
	return fmt.Errorf("the token endpoint answered %s: %s", re.Response.Status, words)
}

// RefusedError is a token the provider would not issue, or credentials
// that could not be read: no retry helps until someone fixes them.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }

// Unwrap gives the cause.
func (e *RefusedError) Unwrap() error { return e.Err }

// Refused reports true: the mailbox package treats the error as an
// authentication failure, not an outage.
func (e *RefusedError) Refused() bool { return true }

// serviceAccount is the part of a Google service account's JSON key that
// the JWT grant needs.
type serviceAccount struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
}

// jwtConfig reads a service account key into the JWT grant that acts as
// cfg.Subject.
func jwtConfig(key []byte, cfg Config) (*jwt.Config, error) {
	var sa serviceAccount
	if err := json.Unmarshal(key, &sa); err != nil {
		return nil, fmt.Errorf("service account key: %w", err)
	}
	if sa.Type != "service_account" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("service account key: not a service_account key with client_email and private_key")
	}
	tokenURL := cfg.TokenURL
	if tokenURL == googleTokenURL && sa.TokenURI != "" && strings.HasPrefix(sa.TokenURI, "https://") {
		tokenURL = sa.TokenURI
	}
	return &jwt.Config{
		Email:        sa.ClientEmail,
		PrivateKey:   []byte(sa.PrivateKey),
		PrivateKeyID: sa.PrivateKeyID,
		Subject:      cfg.Subject,
		Scopes:       cfg.Scopes,
		TokenURL:     tokenURL,
	}, nil
}

// SecretFile returns a ClientSecret that reads path at each call and
// trims the trailing newline.
func SecretFile(path string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", fmt.Errorf("%s is empty", path)
		}
		return s, nil
	}
}
