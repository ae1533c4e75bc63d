package mailbox

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/oauth"
)

// fakeClock is a clock the test moves: the token endpoint's, the token
// cache's and the servers' validation share it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// oauthSetup is a token endpoint, a Source of Microsoft 365 app-only
// tokens from it, and an IMAP server that validates them as Dovecot's
// oauth2 passdb does, all on clk.
func oauthSetup(t *testing.T, clk *fakeClock) (*testenv.TokenServer, *oauth.Source, *imapTestServer) {
	t.Helper()
	ts := testenv.StartTokenServer(t, "s3cret", testUser)
	ts.Now = clk.Now
	src, err := oauth.New(oauth.Config{Provider: oauth.Microsoft, Tenant: "contoso", TokenURL: ts.URL,
		ClientID: ts.ClientID, ClientSecret: func() (string, error) { return "s3cret", nil }, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := newIMAPTestServer(t, capsModern, func(_ *imapTestServer, o *testenv.IMAPOptions) {
		o.Bearer = func(user, token string) error { return ts.VerifyJWT(user, token, clk.Now()) }
	})
	return ts, src, srv
}

// TestFetchOAuthMechanisms: a mailbox with a token logs in by OAUTHBEARER
// when the server offers it (before XOAUTH2), or by the mechanism named,
// with a token from the endpoint, and reads its mail.
func TestFetchOAuthMechanisms(t *testing.T) {
	wireLeakCheck(t)
	for _, tc := range []struct{ mech, want string }{
		{"", sasl.OAuthBearer},
		{sasl.OAuthBearer, sasl.OAuthBearer},
		{XOAuth2, XOAuth2},
	} {
		t.Run(tc.want+"/"+tc.mech, func(t *testing.T) {
			clk := &fakeClock{t: time.Now()}
			ts, src, srv := oauthSetup(t, clk)
			cfg := srv.config("support")
			cfg.Password, cfg.TokenFunc, cfg.Mechanism = "", src.Token, tc.mech
			logger, logs := testLogger()
			desk := newTestDesk()
			f := NewFetcher(cfg, desk, desk, logger)
			runFetcher(t, f)
			uid := srv.Append(t, "INBOX", testMail("oauth@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != uid {
				t.Fatalf("delivered uid %d, want %d", got.UID, uid)
			}
			if !strings.Contains(logs.String(), "mechanism="+tc.want) {
				t.Errorf("login not logged with mechanism %s:\n%s", tc.want, logs)
			}
			if n := len(ts.Issued()); n != 1 {
				t.Errorf("%d tokens issued, want 1", n)
			}
			if tok := ts.Issued()[0]; strings.Contains(logs.String(), tok) {
				t.Errorf("the access token reached the log")
			}
		})
	}
}

// TestBearerMech: OAUTHBEARER is preferred; XOAUTH2 alone is used; a
// server with neither gets "".
func TestBearerMech(t *testing.T) {
	for _, tc := range []struct {
		caps imap.CapSet
		want string
	}{
		{imap.CapSet{"AUTH=XOAUTH2": {}, "AUTH=OAUTHBEARER": {}}, sasl.OAuthBearer},
		{imap.CapSet{"AUTH=XOAUTH2": {}, "AUTH=PLAIN": {}}, XOAuth2},
		{imap.CapSet{"AUTH=PLAIN": {}}, ""},
	} {
		if got := bearerMech(tc.caps); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.caps, got, tc.want)
		}
	}
}

// TestFetchOAuthTokenExpires: a token that expired between two sessions
// is not offered again: the next login fetches a fresh one from the
// endpoint, and mail keeps flowing without an authentication failure.
func TestFetchOAuthTokenExpires(t *testing.T) {
	wireLeakCheck(t)
	clk := &fakeClock{t: time.Now()}
	ts, src, srv := oauthSetup(t, clk)
	cfg := srv.config("support")
	cfg.Password, cfg.TokenFunc = "", src.Token
	desk := newTestDesk()
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)
	uid := srv.Append(t, "INBOX", testMail("before@test"))
	if got := desk.next(t, deliveryTimeout); got.UID != uid {
		t.Fatalf("delivered uid %d, want %d", got.UID, uid)
	}
	// Two hours later the first token is dead for the server; the session
	// ends (the server restarts) and the fetcher logs in again.
	clk.Advance(2 * time.Hour)
	if err := ts.VerifyJWT(testUser, ts.Issued()[0], clk.Now()); err == nil {
		t.Fatal("the first token is still valid for the server: the test proves nothing")
	}
	srv.Stop()
	srv.Restart(t)
	uid = srv.Append(t, "INBOX", testMail("after@test"))
	// The first mail may come again first: the session may have ended
	// before its flag was stored, and the desk recognises it.
	for got := desk.next(t, deliveryTimeout); got.UID != uid; got = desk.next(t, deliveryTimeout) {
		t.Logf("delivered uid %d again", got.UID)
	}
	if n := len(ts.Issued()); n != 2 {
		t.Errorf("%d tokens issued, want 2 (one per token lifetime)", n)
	}
	if st := f.State(); st.Status == FetcherAuthFailed {
		t.Errorf("state %+v after a fresh token", st)
	}
}

// TestFetchOAuthRefused: a token the server refuses, and a client secret
// the endpoint refuses, are authentication failures (auth-failed, logged
// once with the server's or the provider's words); an endpoint that is
// down is an outage.
func TestFetchOAuthRefused(t *testing.T) {
	wireLeakCheck(t)
	t.Run("server refuses the token", func(t *testing.T) {
		clk := &fakeClock{t: time.Now()}
		_, src, srv := oauthSetup(t, clk)
		cfg := srv.config("support")
		cfg.Password, cfg.TokenFunc = "", src.Token
		cfg.Username = "someone-else@test" // the token's sub is testUser
		for _, mech := range []string{sasl.OAuthBearer, XOAuth2} {
			cfg.Mechanism = mech
			logger, logs := testLogger()
			f := NewFetcher(cfg, newTestDesk(), newTestDesk(), logger)
			stop := runFetcher(t, f)
			waitUntil(t, deliveryTimeout, "refused twice", func() bool { return f.State().Failures >= 2 })
			stop()
			st := f.State()
			if !strings.Contains(st.LastError, "AUTHENTICATIONFAILED") && !strings.Contains(st.LastError, "Authentication failed") {
				t.Errorf("%s: last error %q, want the server's NO", mech, st.LastError)
			}
			if !strings.Contains(st.LastError, `"status"`) {
				t.Errorf("%s: last error %q lacks the server's challenge", mech, st.LastError)
			}
			if got := logs.count("imap login refused"); got != 1 {
				t.Errorf("%s: refused login logged %d times, want once\n%s", mech, got, logs)
			}
		}
	})
	t.Run("endpoint refuses the secret", func(t *testing.T) {
		clk := &fakeClock{t: time.Now()}
		ts, src, srv := oauthSetup(t, clk)
		ts.SetSecret("rotated")
		cfg := srv.config("support")
		cfg.Password, cfg.TokenFunc = "", src.Token
		logger, logs := testLogger()
		f := NewFetcher(cfg, newTestDesk(), newTestDesk(), logger)
		runFetcher(t, f)
		waitUntil(t, deliveryTimeout, "auth-failed", func() bool { return f.State().Status == FetcherAuthFailed })
		if st := f.State(); !strings.Contains(st.LastError, "invalid_client") || !strings.Contains(st.LastError, "AADSTS7000215") {
			t.Errorf("last error %q lacks the provider's words", st.LastError)
		}
		if got := logs.count("imap login refused"); got != 1 {
			t.Errorf("logged %d times, want once\n%s", got, logs)
		}
	})
	t.Run("endpoint down", func(t *testing.T) {
		clk := &fakeClock{t: time.Now()}
		_, _, srv := oauthSetup(t, clk)
		src, err := oauth.New(oauth.Config{Provider: oauth.Generic, TokenURL: "http://127.0.0.1:1/token", Scopes: []string{"x"},
			ClientID: "c", ClientSecret: func() (string, error) { return "s", nil }})
		if err != nil {
			t.Fatal(err)
		}
		cfg := srv.config("support")
		cfg.Password, cfg.TokenFunc = "", src.Token
		f := NewFetcher(cfg, newTestDesk(), newTestDesk(), nil)
		stop := runFetcher(t, f)
		waitUntil(t, deliveryTimeout, "two failures", func() bool { return f.State().Failures >= 2 })
		stop()
		if st := f.State(); strings.Contains(st.LastError, "authentication failed") {
			t.Errorf("an unreachable token endpoint counted as refused credentials: %+v", st)
		}
	})
}

// TestSMTPXOAuth2: the outbox authenticates with XOAUTH2 named outright,
// though the server offers PLAIN first, with a token asked for at every
// dial; a token the server refuses fails the dial with its 535.
func TestSMTPXOAuth2(t *testing.T) {
	wireLeakCheck(t)
	clk := &fakeClock{t: time.Now()}
	ts := testenv.StartTokenServer(t, "s3cret", testenv.SMTPUser)
	ts.Now = clk.Now
	src, err := oauth.New(oauth.Config{Provider: oauth.Microsoft, Tenant: "contoso", TokenURL: ts.URL,
		ClientID: ts.ClientID, ClientSecret: func() (string, error) { return "s3cret", nil }, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg := startSMTPPeer(t, true, testenv.SMTPOptions{
		Bearer: func(user, token string) error { return ts.VerifyJWT(user, token, clk.Now()) },
	})
	cfg.Password = ""
	var calls atomic.Int32
	cfg.TokenFunc = func(ctx context.Context) (string, error) { calls.Add(1); return src.Token(ctx) }
	logger, logs := testLogger() // debug level: go-mail's protocol log too
	for i := 1; i <= 2; i++ {
		c, err := dialSMTP(context.Background(), cfg, logger)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if err := c.Send(context.Background(), simpleOutMail(i, "c@example.org")); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("token asked for %d times over 2 dials, want 2", n)
	}
	if got := srv.Logins(); len(got) != 2 || got[0] != testenv.SMTPUser {
		t.Errorf("logins %v, want two by XOAUTH2 as %s", got, testenv.SMTPUser)
	}
	if len(srv.Mails()) != 2 {
		t.Errorf("server got %d mails, want 2", len(srv.Mails()))
	}
	if !strings.Contains(logs.String(), "smtp wire") {
		t.Errorf("no protocol log at debug level:\n%s", logs)
	}
	for _, tok := range ts.Issued() {
		b64 := base64.StdEncoding.EncodeToString([]byte("user=" + testenv.SMTPUser + "\x01auth=Bearer " + tok + "\x01\x01"))
		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), b64) {
			t.Fatalf("an access token reached the SMTP protocol log")
		}
	}
	// The server no longer accepts the token (another user's mailbox).
	cfg.Username = "other@example.com"
	if _, err := dialSMTP(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("refused token: %v, want the server's 535", err)
	}
}

// TestFetchAuthFailedWhileRetrying: once the server refused the
// credentials, the mailbox stays auth-failed during the next logins (no
// "connecting" for /healthz to read as healthy) until one succeeds.
func TestFetchAuthFailedWhileRetrying(t *testing.T) {
	wireLeakCheck(t)
	clk := &fakeClock{t: time.Now()}
	_, src, srv := oauthSetup(t, clk)
	cfg := srv.config("support")
	var f *Fetcher
	var calls atomic.Int32
	var wrong atomic.Int32 // statuses seen during a retry that were not auth-failed
	var fix atomic.Bool
	cfg.Password, cfg.TokenFunc = "", func(ctx context.Context) (string, error) {
		if calls.Add(1) > 1 && f.State().Status != FetcherAuthFailed && !fix.Load() {
			wrong.Add(1)
		}
		if fix.Load() {
			return src.Token(ctx)
		}
		return "not-a-jwt", nil
	}
	desk := newTestDesk()
	f = NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "three refused logins", func() bool { return calls.Load() >= 3 })
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d retries ran while the state said other than auth-failed", n)
	}
	fix.Store(true)
	uid := srv.Append(t, "INBOX", testMail("fixed@test"))
	if got := desk.next(t, deliveryTimeout); got.UID != uid {
		t.Fatalf("delivered uid %d, want %d", got.UID, uid)
	}
	waitUntil(t, deliveryTimeout, "recovery", func() bool { return f.State().Failures == 0 })
	if st := f.State(); st.Status == FetcherAuthFailed || st.LastError != "" {
		t.Errorf("state after a good login: %+v", st)
	}
}

// TestFetchReloginBeforeExpiry: a session whose token expires in 62 s
// ends (logging out) a minute before, and the next logs in with a fresh
// token at once: no failure, no backoff, and mail keeps coming.
func TestFetchReloginBeforeExpiry(t *testing.T) {
	wireLeakCheck(t)
	clk := &fakeClock{t: time.Now()}
	ts, _, srv := oauthSetup(t, clk)
	ts.Now = nil // the wall clock, as the session's deadline runs on
	ts.SetLifetime(62 * time.Second)
	src, err := oauth.New(oauth.Config{Provider: oauth.Generic, TokenURL: ts.URL, Scopes: []string{"mail.imap"},
		ClientID: ts.ClientID, ClientSecret: func() (string, error) { return "s3cret", nil }})
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.config("support")
	cfg.Password, cfg.TokenFunc, cfg.TokenExpiry = "", src.Token, src.Expiry
	logger, logs := testLogger()
	desk := newTestDesk()
	f := NewFetcher(cfg, desk, desk, logger)
	runFetcher(t, f)
	waitUntil(t, 10*time.Second, "two sessions ended before expiry", func() bool {
		return logs.count("logging in again with a fresh one") >= 2
	})
	// The line is logged as a session ends; the next session's token is
	// fetched just after it, so wait for the third token rather than
	// counting at once (CI under load counted 2).
	waitUntil(t, 10*time.Second, "a token for each of 3 sessions", func() bool {
		return len(ts.Issued()) >= 3
	})
	if st := f.State(); st.Failures != 0 || logs.count("imap mailbox unavailable") != 0 {
		t.Errorf("an early re-login counted as a failure: %+v\n%s", st, logs)
	}
	uid := srv.Append(t, "INBOX", testMail("after-relogin@test"))
	for got := desk.next(t, deliveryTimeout); got.UID != uid; got = desk.next(t, deliveryTimeout) {
	}
}
