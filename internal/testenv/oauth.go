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

// TokenServer is a real OAuth2 token endpoint served over HTTP by the
// test. It issues HS256 JWTs for its subject, signed with Key, for the
// client credentials grant (RFC 6749 §4.4, id and secret checked), the
// device authorization grant (RFC 8628: DeviceURL, the user approving at
// once) and refresh tokens (RFC 6749 §6), which it rotates: each refresh
// token works once, and the answer carries the next. A refusal gets the
// RFC 6749 §5.2 error in Microsoft Entra's words.
type TokenServer struct {
	URL       string // the token endpoint
	DeviceURL string // the device authorization endpoint
	ClientID  string
	Key       []byte // HS256 signing key
	// Now is the clock of iat and exp; nil means time.Now. Set it before
	// the first request.
	Now func() time.Time

	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	subject  string
	lifetime time.Duration // the JWT's exp and expires_in
	issued   []string      // every access token handed out, in order
	refresh  map[string]bool
	devices  map[string]bool // device codes not yet redeemed
	n        int
	requests []map[string][]string
}

// StartTokenServer starts a token endpoint for client id "helpdeskd" and
// secret, whose tokens are for subject and live an hour. It stops with
// the test.
func StartTokenServer(t testing.TB, secret, subject string) *TokenServer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	ts := &TokenServer{ClientID: "helpdeskd", Key: key, secret: secret, subject: subject, lifetime: time.Hour,
		refresh: map[string]bool{}, devices: map[string]bool{}}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	ts.URL = ts.srv.URL + "/token"
	ts.DeviceURL = ts.srv.URL + "/device"
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

// Revoke makes every refresh token issued so far invalid (a password
// reset, an admin's revocation).
func (ts *TokenServer) Revoke() {
	ts.mu.Lock()
	clear(ts.refresh)
	ts.mu.Unlock()
}

// RefreshTokens returns the refresh tokens that still work.
func (ts *TokenServer) RefreshTokens() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []string
	for t := range ts.refresh {
		out = append(out, t)
	}
	return out
}

// KeyB64 is the signing key in base64, as Dovecot's key dictionary holds
// it.
func (ts *TokenServer) KeyB64() string { return base64.StdEncoding.EncodeToString(ts.Key) }

func (ts *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.URL.Path != "/token" && r.URL.Path != "/device") {
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
	grant := r.PostForm.Get("grant_type")
	// A public client (device flow, refresh) may send no secret.
	public := grant != "client_credentials" && secret == ""
	if id != ts.ClientID || (!public && secret != ts.secret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	if r.URL.Path == "/device" {
		ts.n++
		code := fmt.Sprintf("device-%d", ts.n)
		ts.devices[code] = true
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"device_code": code, "user_code": fmt.Sprintf("HD%04d", ts.n),
			"verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 1})
		return
	}
	rotate := false
	switch grant {
	case "client_credentials":
	case "urn:ietf:params:oauth:grant-type:device_code":
		code := r.PostForm.Get("device_code")
		if !ts.devices[code] {
			oauthError(w, http.StatusBadRequest, "expired_token", "AADSTS70019: Verification code expired.")
			return
		}
		delete(ts.devices, code)
		rotate = true
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !ts.refresh[rt] {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.")
			return
		}
		delete(ts.refresh, rt)
		rotate = true
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", grant)
		return
	}
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
	answer := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ts.lifetime / time.Second)}
	if rotate {
		ts.n++
		rt := fmt.Sprintf("refresh-%d", ts.n)
		ts.refresh[rt] = true
		answer["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
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
