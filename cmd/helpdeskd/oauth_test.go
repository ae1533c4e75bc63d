package main

import (
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
// logged once as an error; when it accepts again, /healthz is 200.
func TestOAuth2Daemon(t *testing.T) {
	ts := testenv.StartTokenServer(t, "client-secret", testenv.IMAPUser)
	var refuse atomic.Bool
	verify := func(user, token string) error {
		if refuse.Load() {
			return errors.New("token revoked")
		}
		return ts.VerifyJWT(user, token, time.Now())
	}
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{Folders: []string{"INBOX", "Sales"}, Bearer: verify})
	peer := testenv.StartSMTPWith(t, testenv.SMTPOptions{Bearer: verify})
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
		SMTPKeys: fmt.Sprintf("username = %q\nauth = \"oauth2\"\n[smtp.oauth2]\n%s", testenv.IMAPUser, table),
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
}
