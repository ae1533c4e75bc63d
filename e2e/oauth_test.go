//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// startOAuthDovecot starts a token endpoint (the test's, in process) and a
// Dovecot whose oauth2 passdb validates the endpoint's JWTs locally
// (testdata/dovecot-oauth2-conf.sh), and returns both with Dovecot's
// address and directory.
func startOAuthDovecot(t *testing.T) (ts *testenv.TokenServer, addr, dir string) {
	t.Helper()
	ts = testenv.StartTokenServer(t, "client-secret", imapUser)
	addr, dir = startDovecotWith(t, "testdata/dovecot-oauth2-conf.sh", []string{"HS256_KEY_B64=" + ts.KeyB64()})
	return ts, addr, dir
}

// oauthDesk writes a desk whose mailbox (on Dovecot) and [smtp] (the
// peer) log in with tokens from ts, the client secret in a file; mech
// forces the IMAP mechanism unless empty.
func oauthDesk(t *testing.T, ts *testenv.TokenServer, imapAddr, smtpAddr, mech string) testDesk {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secret, []byte("client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("provider = \"generic\"\ntoken_url = %q\nscopes = [\"mail.imap\", \"mail.smtp\"]\nclient_id = %q\nclient_secret_file = %q\n",
		ts.URL, ts.ClientID, secret)
	imapTable := table
	if mech != "" {
		imapTable += fmt.Sprintf("mechanism = %q\n", mech)
	}
	return writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: smtpAddr, Agents: true,
		SMTPKeys:   fmt.Sprintf("username = %q\nauth = \"oauth2\"\n[smtp.oauth2]\n%s", imapUser, table),
		IMAPOAuth2: imapTable})
}

// TestDovecotOAuth2Login: the daemon reads a Dovecot mailbox that takes
// only bearer tokens for its user (SASL OAUTHBEARER, as Dovecot offers it
// first, and XOAUTH2 when configured), with tokens from the test's token
// endpoint (client credentials), and sends the acknowledgement through
// SMTP AUTH XOAUTH2 at the go-smtp peer, which validates the same JWTs.
// Dovecot's log names the mechanism of each login.
func TestDovecotOAuth2Login(t *testing.T) {
	testenv.Long(t)
	ts, imapAddr, dovecotDir := startOAuthDovecot(t)
	peer := testenv.StartSMTPWith(t, testenv.SMTPOptions{
		Bearer: func(user, token string) error { return ts.VerifyJWT(user, token, time.Now()) },
	})
	for i, mech := range []string{"", "XOAUTH2"} {
		want := mech
		if want == "" {
			want = "OAUTHBEARER"
		}
		d := newDaemon(t, oauthDesk(t, ts, imapAddr, peer.Addr(), mech))
		d.start()
		d.ready()
		id := fmt.Sprintf("oauth-%d@shop.example", i)
		appendMails(t, imapAddr, customerMail(fmt.Sprintf("Gus <gus%d@shop.example>", i), "Checkout down", id,
			"Our checkout has been down since 9:00 for every customer."))
		peer.WaitWithin(t, 30*time.Second, "the ack to gus", testenv.To(fmt.Sprintf("gus%d@shop.example", i)))
		d.stop()
		log, _ := os.ReadFile(filepath.Join(dovecotDir, "dovecot.log"))
		if !strings.Contains(string(log), "user=<"+imapUser+">, method="+want) {
			t.Errorf("dovecot logged no %s login of %s:\n%s", want, imapUser, log)
		}
		if !strings.Contains(d.log(), "mechanism="+want) {
			t.Errorf("the daemon logged no login by %s", want)
		}
		for _, tok := range ts.Issued() {
			if strings.Contains(d.log(), tok) {
				t.Fatal("an access token reached the daemon's log")
			}
		}
	}
	if got := peer.Logins(); len(got) < 2 || !slices.Contains(got, imapUser) {
		t.Errorf("SMTP logins %v, want XOAUTH2 logins as %s", got, imapUser)
	}
}

// TestDovecotOAuth2Refused: tokens Dovecot refuses — expired ones, and
// ones signed with a key it does not know (a revoked signing key) — turn
// /healthz to 503 naming the mailbox and the server's refusal, logged once
// as an error with the server's challenge, and mail the managers once;
// the rest of the daemon runs on.
func TestDovecotOAuth2Refused(t *testing.T) {
	testenv.Long(t)
	for _, tc := range []struct {
		name   string
		spoil  func(ts *testenv.TokenServer)
		reason string // in dovecot.log
	}{
		{"expired", func(ts *testenv.TokenServer) {
			ts.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) } // exp an hour ago
		}, "Token has expired"},
		{"unknown key", func(ts *testenv.TokenServer) {
			key := make([]byte, 32)
			copy(key, "another key entirely, not Dovecot's")
			ts.Key = key
		}, "Incorrect JWT signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, imapAddr, dovecotDir := startOAuthDovecot(t)
			tc.spoil(ts)
			// No mail is read: only the managers' mail reaches the peer,
			// which takes any token ([smtp] logs in with the spoilt ones).
			peer := testenv.StartSMTPWith(t, testenv.SMTPOptions{Bearer: func(string, string) error { return nil }})
			desk := oauthDesk(t, ts, imapAddr, peer.Addr(), "")
			d := newDaemon(t, desk)
			d.start()
			testenv.WaitForState(t, "healthz 503 naming the mailbox", 30*time.Second, func() (bool, string) {
				resp, err := http.Get("http://" + desk.HTTP + "/healthz")
				if err != nil {
					return false, err.Error()
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode == http.StatusServiceUnavailable &&
					strings.Contains(string(body), "mailbox support: authentication failed at "+imapAddr), resp.Status + " " + string(body)
			})
			// Dovecot says why it refused.
			testenv.WaitFor(t, "dovecot's reason", 30*time.Second, func() bool {
				log, _ := os.ReadFile(filepath.Join(dovecotDir, "dovecot.log"))
				return strings.Count(string(log), tc.reason) >= 1
			})
			alarm := testenv.And(testenv.To("maria@example.com"), testenv.Subject("mailbox support cannot log in"))
			peer.WaitWithin(t, 30*time.Second, "the managers' mail", alarm)
			// Not d.stop: it waits for /healthz 200 first.
			syscall.Kill(d.pid(), syscall.SIGTERM)
			if code := d.wait(20 * time.Second); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0", code)
			}
			if n := peer.Count(alarm); n != 1 || len(peer.Mails()) != 1 {
				t.Errorf("%d mails to the managers, %d in all; want the one", n, len(peer.Mails()))
			}
			if n := strings.Count(d.log(), "imap login refused"); n != 1 {
				t.Errorf("the refusal was logged %d times, want once", n)
			}
			if line := logLine(d.log(), "imap login refused"); !strings.Contains(line, `\"status\"`) && !strings.Contains(line, `"status"`) {
				t.Errorf("the refusal's log line lacks the server's challenge: %s", line)
			}
		})
	}
}

// logLine is the first line of log holding s.
func logLine(log, s string) string {
	for ln := range strings.Lines(log) {
		if strings.Contains(ln, s) {
			return strings.TrimSpace(ln)
		}
	}
	return ""
}

// TestDovecotOAuth2DeviceRotation: delegated access against Dovecot.
// "helpdeskd oauth login" signs the mailbox in by the device flow (RFC
// 8628) at the test's endpoint and stores the refresh token; the daemon
// reads mail with access tokens from it. The endpoint rotates refresh
// tokens (each works once) and its access tokens live a minute, so every
// login refreshes: after a restart the daemon logs in with the rotated
// token it stored. A revoked refresh token turns /healthz 503, naming the
// command to sign in again.
func TestDovecotOAuth2DeviceRotation(t *testing.T) {
	testenv.Long(t)
	ts, imapAddr, dovecotDir := startOAuthDovecot(t)
	ts.SetLifetime(time.Minute) // under the token cache's 5-minute margin: every login refreshes
	peer := testenv.StartSMTP(t)
	desk := writeConfig(t, deskOpts{Dir: t.TempDir(), IMAP: imapAddr, IMAPUser: imapUser, SMTP: peer.Addr(), Agents: true,
		IMAPOAuth2: fmt.Sprintf("provider = \"generic\"\nflow = \"device\"\ntoken_url = %q\ndevice_url = %q\nscopes = [\"mail.imap\", \"offline_access\"]\nclient_id = %q\n",
			ts.URL, ts.DeviceURL, ts.ClientID)})
	stdout, stderr, code := cli(t, "oauth", "login", "-config", desk.Config, "-mailbox", "support")
	if code != 0 || !strings.Contains(stdout, "enter the code") {
		t.Fatalf("oauth login: exit %d\n%s%s", code, stdout, stderr)
	}
	signedIn := ts.RefreshTokens()

	d := newDaemon(t, desk)
	for run := 1; run <= 2; run++ {
		d.start()
		d.ready()
		rcpt := fmt.Sprintf("gus%d@shop.example", run)
		appendMails(t, imapAddr, customerMail("Gus <"+rcpt+">", "Checkout down", fmt.Sprintf("rot-%d@shop.example", run),
			"Our checkout has been down since 9:00 for every customer."))
		peer.WaitWithin(t, 30*time.Second, "the ack of run "+fmt.Sprint(run), testenv.To(rcpt))
		d.stop()
		now := ts.RefreshTokens()
		if len(now) != 1 || slices.Equal(now, signedIn) {
			t.Fatalf("run %d: valid refresh tokens %v (at sign-in %v): no rotation", run, now, signedIn)
		}
		signedIn = now
	}
	log, _ := os.ReadFile(filepath.Join(dovecotDir, "dovecot.log"))
	if n := strings.Count(string(log), "user=<"+imapUser+">, method=OAUTHBEARER"); n < 2 {
		t.Errorf("dovecot logged %d OAUTHBEARER logins, want one per run at least", n)
	}

	ts.Revoke()
	d.start()
	testenv.WaitForState(t, "healthz 503 naming the sign-in", 30*time.Second, func() (bool, string) {
		resp, err := http.Get("http://" + desk.HTTP + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusServiceUnavailable &&
			strings.Contains(string(b), "helpdeskd oauth login -config "+desk.Config+" -mailbox support"), resp.Status + " " + string(b)
	})
	syscall.Kill(d.pid(), syscall.SIGTERM)
	if code := d.wait(20 * time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
}

// TestDovecotOAuth2RenewInIdle: tokens that expire while the session sits
// in IDLE. Dovecot checks a token's exp only at login and never ends an
// established session, so the daemon must log in again before its token
// expires (Exchange Online would end the session with a BYE). The token
// endpoint's clock runs 60 s behind (the injected clock of this test):
// its tokens say they live 63 s (expires_in) while their exp, which
// Dovecot checks, is 3 s after issue, so each token is dead for Dovecot
// by the time the daemon renews it, a minute before expires_in runs out.
// Mail delivered before, between and after the renewals is acknowledged
// once each, and Dovecot never sees an expired token.
func TestDovecotOAuth2RenewInIdle(t *testing.T) {
	testenv.Long(t)
	ts, imapAddr, dovecotDir := startOAuthDovecot(t)
	ts.SetLifetime(63 * time.Second)
	ts.Now = func() time.Time { return time.Now().Add(-61 * time.Second) }
	peer := testenv.StartSMTP(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secret, []byte("client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	desk := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: peer.Addr(), Agents: true,
		IMAPOAuth2: fmt.Sprintf("provider = \"generic\"\ntoken_url = %q\nscopes = [\"mail.imap\"]\nclient_id = %q\nclient_secret_file = %q\n",
			ts.URL, ts.ClientID, secret)})
	d := newDaemon(t, desk)
	d.start()
	d.ready()
	renewals := func() int { return strings.Count(d.log(), "logging in again with a fresh one") }
	deliver := func(i int) string {
		rcpt := fmt.Sprintf("gus%d@shop.example", i)
		appendMails(t, imapAddr, customerMail("Gus <"+rcpt+">", "Checkout down", fmt.Sprintf("renew-%d@shop.example", i),
			"Our checkout has been down since 9:00 for every customer."))
		return rcpt
	}
	var rcpts []string
	rcpts = append(rcpts, deliver(0))
	peer.WaitWithin(t, 30*time.Second, "the ack before the renewal", testenv.To(rcpts[0]))
	// Across three renewals: a mail after each, and one at once.
	for r := 1; r <= 3; r++ {
		testenv.WaitFor(t, fmt.Sprintf("renewal %d", r), 30*time.Second, func() bool { return renewals() >= r })
		rcpts = append(rcpts, deliver(2*r-1), deliver(2*r))
	}
	for _, rcpt := range rcpts {
		peer.WaitWithin(t, 30*time.Second, "the ack to "+rcpt, testenv.To(rcpt))
	}
	n := renewals()
	testenv.WaitFor(t, "one more renewal", 30*time.Second, func() bool { return renewals() > n })
	d.stop()
	for _, rcpt := range rcpts {
		if got := peer.Count(testenv.To(rcpt)); got != 1 {
			t.Errorf("%d acks to %s, want 1", got, rcpt)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dovecotDir, "dovecot.log"))
	if n := strings.Count(string(log), "user=<"+imapUser+">, method=OAUTHBEARER"); n < 4 {
		t.Errorf("dovecot logged %d token logins, want one per renewal and the first", n)
	}
	if strings.Contains(string(log), "Token has expired") {
		t.Errorf("the daemon offered Dovecot an expired token:\n%s", log)
	}
	for _, bad := range []string{"imap login refused", "imap mailbox unavailable"} {
		if strings.Contains(d.log(), bad) {
			t.Errorf("a renewal counted as a failure (%q):\n%s", bad, d.log())
		}
	}
	if iss := ts.Issued(); len(iss) < 4 {
		t.Errorf("%d tokens issued, want one per login", len(iss))
	}
}
