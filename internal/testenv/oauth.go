package testenv

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Claims of the tokens a TokenServer signs, as Dovecot's oauth2 passdb
// (local validation, e2e/testdata/dovecot-oauth2-conf.sh) checks them.
const (
	TokenIssuer   = "https://idp.helpdesk.test"
	TokenAudience = "helpdesk-imap"
	TokenScope    = "mail.imap mail.smtp"
)

// TokenServer is a real OAuth2 token endpoint (RFC 6749 §4.4, client
// credentials) served over HTTP by the test: it checks the client's id
// and secret and answers with an HS256 JWT for Subject, signed with Key,
// valid for Lifetime, or with the RFC 6749 §5.2 error a refusal gets.
type TokenServer struct {
	URL      string // the token endpoint
	ClientID string
	Key      []byte // HS256 signing key
	// Now is the clock of iat and exp; nil means time.Now. Set it before
	// the first request.
	Now func() time.Time

	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	subject  string
	lifetime time.Duration // the JWT's exp and expires_in
	issued   []string      // every access token handed out, in order
	requests []map[string][]string
}

// StartTokenServer starts a token endpoint for client id "helpdeskd" and
// secret, whose tokens are for subject and live an hour. It stops with
// the test.
func StartTokenServer(t testing.TB, secret, subject string) *TokenServer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	ts := &TokenServer{ClientID: "helpdeskd", Key: key, secret: secret, subject: subject, lifetime: time.Hour}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	ts.URL = ts.srv.URL + "/token"
	t.Cleanup(ts.srv.Close)
	return ts
}

// SetSecret changes the secret the endpoint accepts (a rotated or
// revoked client secret).
func (ts *TokenServer) SetSecret(s string) {
	ts.mu.Lock()
	ts.secret = s
	ts.mu.Unlock()
}

// SetLifetime changes the lifetime of the tokens issued from now on.
func (ts *TokenServer) SetLifetime(d time.Duration) {
	ts.mu.Lock()
	ts.lifetime = d
	ts.mu.Unlock()
}

// Issued returns the access tokens handed out so far, in order.
func (ts *TokenServer) Issued() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.issued...)
}

// Requests returns the form of every token request so far.
func (ts *TokenServer) Requests() []map[string][]string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]map[string][]string(nil), ts.requests...)
}

// KeyB64 is the signing key in base64, as Dovecot's key dictionary holds
// it.
func (ts *TokenServer) KeyB64() string { return base64.StdEncoding.EncodeToString(ts.Key) }

func (ts *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = append(ts.requests, r.PostForm)
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials")
	case id != ts.ClientID || secret != ts.secret:
		// The shape of Microsoft Entra's answer to a wrong secret.
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	default:
		now := time.Now()
		if ts.Now != nil {
			now = ts.Now()
		}
		tok := ts.SignJWT(map[string]any{
			"iss": TokenIssuer, "aud": TokenAudience, "scope": TokenScope,
			"sub": ts.subject, "email": ts.subject,
			"iat": now.Unix(), "exp": now.Add(ts.lifetime).Unix(),
			"jti": fmt.Sprint(len(ts.issued) + 1), // every token differs
		})
		ts.issued = append(ts.issued, tok)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": tok, "token_type": "Bearer", "expires_in": int(ts.lifetime / time.Second),
		})
	}
}

// SignJWT signs claims with HS256 under the server's key.
func (ts *TokenServer) SignJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	body, _ := json.Marshal(claims)
	msg := enc.EncodeToString(head) + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, ts.Key)
	mac.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(mac.Sum(nil))
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
