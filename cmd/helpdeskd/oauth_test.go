package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/mailbox"
)

// TestOAuth2Daemon runs the daemon with a mailbox and [smtp] on OAuth2
// (provider "generic", the client secret in a file) against the
// in-process IMAP and SMTP servers, which validate the JWTs a real token
// endpoint signs: the customer's mail is read (SASL OAUTHBEARER) and
// acknowledged (SMTP AUTH XOAUTH2). When the IMAP server starts refusing
// the token, /healthz turns 503 naming the mailbox and the refusal is
// logged once as an error, and the managers are mailed; when it accepts
// again, /healthz is 200. The same for [smtp], whose mail to the managers
// waits in the outbox until its login works.
func TestOAuth2Daemon(t *testing.T) {
	ts := testenv.StartTokenServer(t, "client-secret", testenv.IMAPUser)
	var refuse, refuseSMTP atomic.Bool
	verify := func(user, token string) error {
		if refuse.Load() {
			return errors.New("token revoked")
		}
		return ts.VerifyJWT(user, token, time.Now())
	}
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{Folders: []string{"INBOX", "Sales"}, Bearer: verify})
	peer := testenv.StartSMTPWith(t, testenv.SMTPOptions{Bearer: func(user, token string) error {
		if refuseSMTP.Load() {
			return errors.New("token revoked")
		}
		return ts.VerifyJWT(user, token, time.Now())
	}})
	host, port, _ := net.SplitHostPort(imapSrv.Addr())
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secretFile, []byte("client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf(`provider = "generic"
token_url = %q
scopes = ["mail.imap", "mail.smtp"]
client_id = %q
client_secret_file = %q
`, ts.URL, ts.ClientID, secretFile)
	cfg := testenv.Config{IMAP: imapSrv.Addr(), SMTP: peer.Addr(), Mailbox: `team = "first-line"`, Agents: testenv.Team,
		HTTP:     "127.0.0.1:0",
		SMTPKeys: fmt.Sprintf("retry_min = \"100ms\"\nretry_max = \"200ms\"\nusername = %q\nauth = \"oauth2\"\n[smtp.oauth2]\n%s", testenv.IMAPUser, table),
		Extra: fmt.Sprintf(`
[[mailbox]]
name = "sales"
address = "sales@example.com"
host = %q
port = %s
security = "none"
username = %q
auth = "oauth2"
folder = "Sales"
poll_interval = "1s"
[mailbox.oauth2]
%s`, host, port, testenv.IMAPUser, table)}.Load(t)
	logs := &logBuffer{t: t}
	m := &Main{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), IMAPBackoff: mailbox.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}}
	runMain(t, m)

	imapSrv.Deliver(t, "Sales", customerMail("Gus <gus@shop.example>", "Checkout down", "gus-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	peer.Wait(t, "ack to gus", testenv.To("gus@shop.example"))
	if !slices.Contains(peer.Logins(), testenv.IMAPUser) {
		t.Errorf("SMTP logins %v: the ack was not sent after AUTH XOAUTH2 as %s", peer.Logins(), testenv.IMAPUser)
	}
	if !strings.Contains(logs.String(), "mechanism=OAUTHBEARER") {
		t.Errorf("no IMAP login by OAUTHBEARER logged")
	}

	type health struct {
		Problems []string `json:"problems"`
	}
	read := func() (int, health) {
		code, body := get(t, m, "/healthz")
		var h health
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("healthz %q: %v", body, err)
		}
		return code, h
	}
	if code, h := read(); code != http.StatusOK {
		t.Fatalf("healthz %d %v with both logins working", code, h.Problems)
	}
	refuse.Store(true)
	imapSrv.Stop() // the sessions end; the next logins are refused
	imapSrv.Restart(t)
	testenv.WaitFor(t, "healthz 503 for the refused token", time.Minute, func() bool {
		code, h := read()
		return code == http.StatusServiceUnavailable && len(h.Problems) >= 1 &&
			strings.Contains(strings.Join(h.Problems, "\n"), "mailbox sales: authentication failed at "+imapSrv.Addr())
	})
	if n := strings.Count(logs.String(), "imap login refused: check the mailbox's OAuth2"); n != 1 {
		t.Errorf("the refusal of sales was logged %d times, want once\n%s", n, logs)
	}
	for _, tok := range ts.Issued() {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("an access token reached the log")
		}
	}
	refuse.Store(false)
	testenv.WaitFor(t, "healthz 200 once the token is accepted", time.Minute, func() bool {
		code, _ := read()
		return code == http.StatusOK
	})

	// The SMTP server refuses the token: the mail waits, /healthz is 503
	// naming smtp, the refusal is logged once; accepted again, it goes.
	refuseSMTP.Store(true)
	peer.CloseLastConn() // the outbox's session ends; the next dial logs in
	imapSrv.Deliver(t, "Sales", customerMail("Ann <ann@shop.example>", "Checkout down", "ann-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	testenv.WaitFor(t, "healthz 503 for the refused SMTP login", time.Minute, func() bool {
		code, h := read()
		return code == http.StatusServiceUnavailable && strings.Contains(strings.Join(h.Problems, "\n"), "smtp: authentication failed at "+peer.Addr())
	})
	// /healthz may say so a moment before the outbox has logged it.
	testenv.WaitFor(t, "the SMTP refusal logged", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "smtp login refused")
	})
	testenv.WaitFor(t, "the log saying the managers' mail waits", time.Minute, func() bool {
		return strings.Contains(logs.String(), "the managers' mail about the refused SMTP login waits in the outbox")
	})
	if n := strings.Count(logs.String(), "smtp login refused"); n != 1 {
		t.Errorf("the SMTP refusal was logged %d times, want once", n)
	}
	refuseSMTP.Store(false)
	peer.Wait(t, "ack to ann", testenv.To("ann@shop.example"))
	// The managers' mail about the SMTP login went out once it worked;
	// the one about the sales mailbox before.
	peer.Wait(t, "the managers' mail about smtp", testenv.And(testenv.To("maria@example.com"), testenv.Subject("the SMTP account cannot log in")))
	if n := peer.Count(testenv.And(testenv.To("maria@example.com"), testenv.Subject("mailbox sales cannot log in"))); n != 1 {
		t.Errorf("%d mails to the managers about sales, want 1", n)
	}
	testenv.WaitFor(t, "healthz 200 once SMTP accepts the token", time.Minute, func() bool {
		code, _ := read()
		return code == http.StatusOK
	})
}

// TestOAuth2DeviceLogin: "helpdeskd oauth login" signs the mailbox in by
// the device flow (RFC 8628) and stores the refresh token; the daemon then
// reads the mailbox with access tokens from it, storing the refresh token
// the endpoint rotates at every refresh (each works once, so a login after
// a reconnect proves the rotated one was kept and used). A revoked refresh
// token turns /healthz 503, naming the command that signs in again.
func TestOAuth2DeviceLogin(t *testing.T) {
	ts := testenv.StartTokenServer(t, "unused", testenv.IMAPUser)
	ts.SetLifetime(time.Minute) // under oauth.Margin: every login refreshes
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{
		Bearer: func(user, token string) error { return ts.VerifyJWT(user, token, time.Now()) },
	})
	peer := testenv.StartSMTP(t)
	tc := testenv.Config{Dir: t.TempDir(), IMAP: imapSrv.Addr(), SMTP: peer.Addr(), Mailbox: `team = "first-line"`, Agents: testenv.Team,
		HTTP: "127.0.0.1:0", IMAPOAuth2: fmt.Sprintf("provider = \"generic\"\nflow = \"device\"\ntoken_url = %q\ndevice_url = %q\nscopes = [\"mail.imap\", \"offline_access\"]\nclient_id = %q\n",
			ts.URL, ts.DeviceURL, ts.ClientID)}
	path := tc.Write(t)

	stdout, stderr, code := run(t, "oauth", "login", "-config", path, "-mailbox", "support")
	if code != 0 || !strings.Contains(stdout, "enter the code HD") || !strings.Contains(stdout, "support signed in") {
		t.Fatalf("oauth login: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := run(t, "oauth", "login", "-config", path, "-mailbox", "nope"); code != 2 || !strings.Contains(stderr, `no [[mailbox]] named "nope"`) {
		t.Errorf("login of an unknown mailbox: exit %d, %s", code, stderr)
	}

	cfg := tc.Load(t)
	logs := &logBuffer{t: t}
	m := &Main{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		IMAPBackoff: mailbox.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}}
	runMain(t, m)
	imapSrv.Deliver(t, "INBOX", customerMail("Gus <gus@shop.example>", "Checkout down", "gus-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	peer.Wait(t, "ack to gus", testenv.To("gus@shop.example"))
	stored := func() string {
		tok, err := m.Store.RefreshToken(context.Background(), "support")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	first := stored()
	if valid := ts.RefreshTokens(); len(valid) != 1 || valid[0] != first {
		t.Fatalf("stored %q, the endpoint's valid refresh tokens %v: the rotated token was not stored", first, valid)
	}
	// A new session refreshes again, with the rotated token.
	imapSrv.Stop()
	imapSrv.Restart(t)
	imapSrv.Deliver(t, "INBOX", customerMail("Ann <ann@shop.example>", "Checkout down", "ann-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	peer.Wait(t, "ack to ann", testenv.To("ann@shop.example"))
	if now := stored(); now == first || !slices.Equal(ts.RefreshTokens(), []string{now}) {
		t.Errorf("after a second refresh: stored %q (before %q), valid %v", now, first, ts.RefreshTokens())
	}

	ts.Revoke()
	imapSrv.Stop()
	imapSrv.Restart(t)
	testenv.WaitFor(t, "healthz 503 naming the sign-in", time.Minute, func() bool {
		code, body := get(t, m, "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "AADSTS70008") &&
			strings.Contains(body, "helpdeskd oauth login -config "+path+" -mailbox support")
	})
}

// TestOAuthLoginNeedsOnlyItsSecrets: "oauth login" runs in an operator's
// shell that lacks the other accounts' secrets (here another mailbox's
// password variable): it reads only the account it signs in.
func TestOAuthLoginNeedsOnlyItsSecrets(t *testing.T) {
	ts := testenv.StartTokenServer(t, "unused", testenv.IMAPUser)
	path := testenv.Config{Dir: t.TempDir(), IMAP: "127.0.0.1:1", SMTP: "127.0.0.1:2",
		IMAPOAuth2: fmt.Sprintf("provider = \"generic\"\nflow = \"device\"\ntoken_url = %q\ndevice_url = %q\nscopes = [\"mail.imap\"]\nclient_id = %q\n",
			ts.URL, ts.DeviceURL, ts.ClientID),
		Extra: "[[mailbox]]\nname = \"sales\"\naddress = \"sales@example.com\"\nhost = \"127.0.0.1\"\nsecurity = \"none\"\npassword = \"${HD_TEST_NEVER_SET}\"\n"}.Write(t)
	stdout, stderr, code := run(t, "oauth", "login", "-config", path, "-mailbox", "support")
	if code != 0 || !strings.Contains(stdout, "support signed in") {
		t.Fatalf("oauth login: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := run(t, "oauth", "login", "-config", path, "-mailbox", "sales"); code != 2 || !strings.Contains(stderr, `flow = "device"`) {
		t.Errorf("login of a password mailbox: exit %d, %s", code, stderr)
	}
}
