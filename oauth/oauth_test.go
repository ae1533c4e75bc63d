package oauth_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/oauth"
)

// clock is a settable clock for the token cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func refused(err error) bool {
	var r interface{ Refused() bool }
	return errors.As(err, &r) && r.Refused()
}

// TestMicrosoftClientCredentials: the client-credentials grant with
// Exchange Online's scope, the token cached until Margin before its
// expiry and fetched fresh after that.
func TestMicrosoftClientCredentials(t *testing.T) {
	ts := testenv.StartTokenServer(t, "s3cret", "support@helpdesk.test")
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	src, err := oauth.New(oauth.Config{
		Provider: oauth.Microsoft, Tenant: "contoso.onmicrosoft.com", TokenURL: ts.URL,
		ClientID: ts.ClientID, ClientSecret: func() (string, error) { return "s3cret", nil },
		Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if issued := ts.Issued(); len(issued) != 1 || first != issued[0] {
		t.Fatalf("token %q, endpoint issued %q", first, issued)
	}
	form := ts.Requests()[0]
	if got := strings.Join(form["scope"], " "); got != oauth.MicrosoftScope {
		t.Errorf("scope = %q, want %q", got, oauth.MicrosoftScope)
	}
	if got := strings.Join(form["grant_type"], ""); got != "client_credentials" {
		t.Errorf("grant_type = %q", got)
	}
	// Within the lifetime (an hour) less the margin: the cached token.
	clk.Advance(time.Hour - oauth.Margin - time.Second)
	if again, err := src.Token(ctx); err != nil || again != first || src.Fetches() != 1 {
		t.Fatalf("before expiry: token changed or fetched again (%v, fetches %d)", err, src.Fetches())
	}
	// Past it: a fresh one.
	clk.Advance(2 * time.Second)
	fresh, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == first || src.Fetches() != 2 || len(ts.Issued()) != 2 {
		t.Fatalf("after expiry: token not fetched fresh (fetches %d, issued %d)", src.Fetches(), len(ts.Issued()))
	}
}

// TestRefusedWithProviderWords: a wrong secret is a refusal carrying the
// provider's error code and description; an endpoint that fails (5xx,
// unreachable) is not.
func TestRefusedWithProviderWords(t *testing.T) {
	ts := testenv.StartTokenServer(t, "right", "support@helpdesk.test")
	src, err := oauth.New(oauth.Config{Provider: oauth.Generic, TokenURL: ts.URL, Scopes: []string{"mail.imap"},
		ClientID: ts.ClientID, ClientSecret: func() (string, error) { return "wrong", nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(context.Background())
	if !refused(err) {
		t.Fatalf("wrong secret: %v, want a refusal", err)
	}
	for _, w := range []string{"401", "invalid_client", "AADSTS7000215"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream timeout", http.StatusBadGateway)
	}))
	defer down.Close()
	src, _ = oauth.New(oauth.Config{Provider: oauth.Generic, TokenURL: down.URL, Scopes: []string{"x"},
		ClientID: "c", ClientSecret: func() (string, error) { return "s", nil }})
	if _, err := src.Token(context.Background()); err == nil || refused(err) {
		t.Fatalf("502 from the endpoint: %v, want an error that is no refusal", err)
	}
	down.Close()
	if _, err := src.Token(context.Background()); err == nil || refused(err) {
		t.Fatalf("endpoint unreachable: %v, want an error that is no refusal", err)
	}
}

// TestSecretFileReadEachTime: a secret file fixed while the daemon runs
// is used at the next token request; a missing one is a refusal.
func TestSecretFileReadEachTime(t *testing.T) {
	ts := testenv.StartTokenServer(t, "new-secret", "support@helpdesk.test")
	path := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(path, []byte("old-secret\n"), 0o600)
	src, err := oauth.New(oauth.Config{Provider: oauth.Generic, TokenURL: ts.URL, Scopes: []string{"mail.imap"},
		ClientID: ts.ClientID, ClientSecret: oauth.SecretFile(path)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(context.Background()); !refused(err) {
		t.Fatalf("old secret: %v, want a refusal", err)
	}
	os.WriteFile(path, []byte("new-secret\n"), 0o600)
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	os.Remove(path)
	src, _ = oauth.New(oauth.Config{Provider: oauth.Generic, TokenURL: ts.URL, Scopes: []string{"mail.imap"},
		ClientID: ts.ClientID, ClientSecret: oauth.SecretFile(path)})
	if _, err := src.Token(context.Background()); !refused(err) || !strings.Contains(err.Error(), "client secret") {
		t.Fatalf("missing secret file: %v, want a refusal naming the secret", err)
	}
}

// TestGoogleServiceAccount: the JWT bearer grant (RFC 7523) signed with
// the service account's key, acting as the mailbox (sub), with Gmail's
// scope; the endpoint checks the signature with the public key.
func TestGoogleServiceAccount(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		parts := strings.Split(r.PostForm.Get("assertion"), ".")
		if len(parts) != 3 {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
			return
		}
		body, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(body, &got)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"ya29.test","token_type":"Bearer","expires_in":3599}`))
	}))
	defer srv.Close()
	der := x509.MarshalPKCS1PrivateKey(key)
	keyJSON, _ := json.Marshal(map[string]string{
		"type": "service_account", "client_email": "helpdesk@proj.iam.gserviceaccount.com",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})),
		"private_key_id": "k1", "token_uri": "https://oauth2.googleapis.com/token",
	})
	src, err := oauth.New(oauth.Config{Provider: oauth.Google, TokenURL: srv.URL,
		KeyFile: func() ([]byte, error) { return keyJSON, nil }, Subject: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil || tok != "ya29.test" {
		t.Fatalf("token %q, %v", tok, err)
	}
	if got["sub"] != "support@example.com" || got["iss"] != "helpdesk@proj.iam.gserviceaccount.com" || got["scope"] != oauth.GoogleScope {
		t.Errorf("assertion claims %v", got)
	}
	// Another key: the endpoint refuses the signature, in its words.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "x@y",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}))})
	src, _ = oauth.New(oauth.Config{Provider: oauth.Google, TokenURL: srv.URL,
		KeyFile: func() ([]byte, error) { return bad, nil }, Subject: "support@example.com"})
	if _, err := src.Token(context.Background()); !refused(err) || !strings.Contains(err.Error(), "Invalid JWT Signature") {
		t.Fatalf("wrong key: %v", err)
	}
}

// TestValidate: what each provider requires, and no token URL in clear
// text to a remote host.
func TestValidate(t *testing.T) {
	secret := func() (string, error) { return "s", nil }
	for _, tc := range []struct {
		cfg  oauth.Config
		want string // "" = valid
	}{
		{oauth.Config{Provider: oauth.Microsoft, Tenant: "t", ClientID: "c", ClientSecret: secret}, ""},
		{oauth.Config{Provider: oauth.Microsoft, ClientID: "c", ClientSecret: secret}, "tenant is required"},
		{oauth.Config{Provider: oauth.Microsoft, Tenant: "t", ClientSecret: secret}, "client_id is required"},
		{oauth.Config{Provider: oauth.Microsoft, Tenant: "t", ClientID: "c"}, "client secret is required"},
		{oauth.Config{Provider: oauth.Generic, ClientID: "c", ClientSecret: secret, Scopes: []string{"a"}}, "token_url is required"},
		{oauth.Config{Provider: oauth.Generic, TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: secret}, "scopes are required"},
		{oauth.Config{Provider: oauth.Generic, TokenURL: "http://idp.example/token", ClientID: "c", ClientSecret: secret, Scopes: []string{"a"}}, "not an https URL"},
		{oauth.Config{Provider: oauth.Generic, TokenURL: "http://127.0.0.1:8080/token", ClientID: "c", ClientSecret: secret, Scopes: []string{"a"}}, ""},
		{oauth.Config{Provider: oauth.Google, Subject: "s@x"}, "key file is required"},
		{oauth.Config{Provider: oauth.Google, KeyFile: func() ([]byte, error) { return nil, nil }}, "subject"},
		{oauth.Config{Provider: "okta"}, `unknown provider "okta"`},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %s: error %v, want %q", tc.cfg.Provider, tc.cfg.TokenURL, err, tc.want)
		}
	}
}

// memRefresh is a RefreshStore in memory that records every save.
type memRefresh struct {
	mu    sync.Mutex
	saved []string
}

func (m *memRefresh) Load(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.saved) == 0 {
		return "", nil
	}
	return m.saved[len(m.saved)-1], nil
}

func (m *memRefresh) Save(_ context.Context, t string) error {
	m.mu.Lock()
	m.saved = append(m.saved, t)
	m.mu.Unlock()
	return nil
}

// TestDeviceFlowAndRotation: the device flow (RFC 8628) shows the code
// and stores the refresh token; every refresh stores the rotated one,
// which a new Source (a restart) uses; a revoked one is a refusal that
// says what to run, and a new sign-in is used without a restart.
func TestDeviceFlowAndRotation(t *testing.T) {
	ts := testenv.StartTokenServer(t, "unused", "support@helpdesk.test")
	clk := &clock{t: time.Now()}
	store := &memRefresh{}
	cfg := oauth.Config{Provider: oauth.Generic, Flow: oauth.Device, TokenURL: ts.URL, DeviceURL: ts.DeviceURL,
		Scopes: []string{"mail.imap", "offline_access"}, ClientID: ts.ClientID, Refresh: store,
		LoginHint: "helpdeskd oauth login -config /etc/helpdeskd.toml -mailbox support", Now: clk.Now}
	src, err := oauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.Token(ctx); !refused(err) || !strings.Contains(err.Error(), "helpdeskd oauth login") {
		t.Fatalf("before sign-in: %v, want a refusal naming the login command", err)
	}
	var code string
	if err := src.Login(ctx, func(uri, c string, _ time.Time) { code = c }); err != nil {
		t.Fatal(err)
	}
	if code == "" || len(store.saved) != 1 {
		t.Fatalf("code %q, saved %v", code, store.saved)
	}
	first, err := src.Token(ctx)
	if err != nil || first != ts.Issued()[0] {
		t.Fatalf("after sign-in: %v (the login's token should be used)", err)
	}
	// Expired: the refresh token is redeemed and the rotated one stored.
	clk.Advance(2 * time.Hour)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if len(store.saved) != 2 || store.saved[1] == store.saved[0] {
		t.Fatalf("saved %v, want the rotated token stored", store.saved)
	}
	// A restart: a new Source reads the stored (rotated) token.
	src2, _ := oauth.New(cfg)
	if _, err := src2.Token(ctx); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	if got := ts.RefreshTokens(); len(got) != 1 || got[0] != store.saved[len(store.saved)-1] {
		t.Errorf("valid refresh tokens %v, stored %v", got, store.saved)
	}
	// Revoked: a refusal in the provider's words, and what to run.
	ts.Revoke()
	clk.Advance(2 * time.Hour)
	_, err = src2.Token(ctx)
	if !refused(err) || !strings.Contains(err.Error(), "AADSTS70008") || !strings.Contains(err.Error(), "helpdeskd oauth login -config") {
		t.Fatalf("revoked: %v", err)
	}
	// Signed in again by another process (`helpdeskd oauth login` beside
	// the running daemon): the running Source takes the new token from
	// the store at its next try.
	cli, _ := oauth.New(cfg)
	if err := cli.Login(ctx, func(string, string, time.Time) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := src2.Token(ctx); err != nil {
		t.Fatalf("after signing in again: %v", err)
	}
}
