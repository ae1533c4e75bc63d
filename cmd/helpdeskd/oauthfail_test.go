package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/mailbox"
)

// startMain opens and runs m and returns the function that stops it (and
// closes it), which the test must call before it ends.
func startMain(t *testing.T, m *Main) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatalf("open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	}
}

// TestOAuth2RevokedRefreshMailsManagers: a mailbox signed in by the
// device flow, whose endpoint rotates refresh tokens (each works once).
// The daemon stores the rotated token and, after a restart, logs in with
// it. Then the endpoint revokes it and the server ends the session as
// Exchange does (BYE AccessTokenExpired): the session's end is an
// ordinary reconnect, but the refresh is refused, so /healthz turns 503
// naming the mailbox and the command that signs in again, and the
// managers get one mail saying so. With the daemon's clock moved 23 hours
// the refusals go on and no second mail comes; a day after the first,
// the next refusal mails again. Signing in again ends it, and the log
// says so.
func TestOAuth2RevokedRefreshMailsManagers(t *testing.T) {
	ts := testenv.StartTokenServer(t, "unused", testenv.IMAPUser)
	ts.SetLifetime(time.Minute) // under oauth.Margin: every login refreshes
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{
		Bearer: func(user, token string) error { return ts.VerifyJWT(user, token, time.Now()) },
	})
	peer := testenv.StartSMTP(t)
	tc := testenv.Config{Dir: t.TempDir(), IMAP: imapSrv.Addr(), SMTP: peer.Addr(), Mailbox: `team = "first-line"`, Agents: testenv.Team,
		HTTP: "127.0.0.1:0", IMAPOAuth2: fmt.Sprintf("provider = \"generic\"\nflow = \"device\"\ntoken_url = %q\ndevice_url = %q\nscopes = [\"mail.imap\", \"offline_access\"]\nclient_id = %q\n",
			ts.URL, ts.DeviceURL, ts.ClientID),
		SMTPKeys: "retry_min = \"50ms\"\nretry_max = \"100ms\""}
	path := tc.Write(t)
	if stdout, stderr, code := run(t, "oauth", "login", "-config", path, "-mailbox", "support"); code != 0 {
		t.Fatalf("oauth login: exit %d\n%s%s", code, stdout, stderr)
	}
	clk := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	logs := &logBuffer{t: t}
	newMain := func() *Main {
		return &Main{Config: tc.Load(t), Now: clk.Now, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			IMAPBackoff: mailbox.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}}
	}
	stored := func(m *Main) string {
		tok, err := m.Store.RefreshToken(context.Background(), "support")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// The rotated refresh token is stored, and used after a restart.
	m := newMain()
	stop := startMain(t, m)
	imapSrv.Deliver(t, "INBOX", customerMail("Gus <gus@shop.example>", "Checkout down", "gus-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	peer.Wait(t, "ack to gus", testenv.To("gus@shop.example"))
	first := stored(m)
	if valid := ts.RefreshTokens(); !slices.Equal(valid, []string{first}) {
		t.Fatalf("stored %q, the endpoint's valid refresh tokens %v", first, valid)
	}
	stop()
	m = newMain()
	stop = startMain(t, m)
	defer func() { stop() }()
	imapSrv.Deliver(t, "INBOX", customerMail("Ann <ann@shop.example>", "Checkout down", "ann-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	peer.Wait(t, "ack to ann after the restart", testenv.To("ann@shop.example"))
	if now := stored(m); now == first || !slices.Equal(ts.RefreshTokens(), []string{now}) {
		t.Fatalf("after the restart: stored %q (before %q), valid %v: the stored token was not used", now, first, ts.RefreshTokens())
	}

	// Revoked: the server ends the session; the next refresh is refused.
	ts.Revoke()
	if n := imapSrv.Bye("Session invalidated - AccessTokenExpired"); n == 0 {
		t.Fatal("no session to end")
	}
	loginCmd := "helpdeskd oauth login -config " + path + " -mailbox support"
	testenv.WaitFor(t, "healthz 503 naming the mailbox and the sign-in", time.Minute, func() bool {
		code, body := get(t, m, "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "mailbox support: authentication failed") &&
			strings.Contains(body, "AADSTS70008") && strings.Contains(body, loginCmd)
	})
	isAlarm := testenv.And(testenv.To("maria@example.com"), testenv.Subject("mailbox support cannot log in"))
	alarm := peer.Wait(t, "the managers' mail", isAlarm)
	text := strings.ReplaceAll(atkBody(t, alarm), "\r\n", "\n")
	for _, want := range []string{"AADSTS70008", "\n  " + loginCmd + "\n", "since 09:00 Tue 24 Nov"} {
		if !strings.Contains(text, want) {
			t.Errorf("the managers' mail lacks %q:\n%s", want, text)
		}
	}
	if line := logs.line("imap server ended the session"); !strings.Contains(line, "AccessTokenExpired") {
		t.Errorf("the BYE was not taken as an ordinary end: %q", line)
	}
	refusals := func() int {
		n := 0
		for _, r := range ts.Requests() {
			if slices.Contains(r["grant_type"], "refresh_token") {
				n++
			}
		}
		return n
	}
	for _, step := range []struct {
		by    time.Duration
		mails int
	}{{23 * time.Hour, 1}, {24*time.Hour + time.Minute, 2}} {
		clk.Set(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).Add(step.by))
		before := refusals()
		testenv.WaitFor(t, "more refusals", time.Minute, func() bool { return refusals() >= before+3 })
		if step.mails > 1 {
			testenv.WaitFor(t, "the second mail", time.Minute, func() bool { return peer.Count(isAlarm) == step.mails })
		}
		if got := peer.Count(isAlarm); got != step.mails {
			t.Fatalf("%v after the first refusal: %d mails to the managers, want %d", step.by, got, step.mails)
		}
	}
	if n := peer.Count(testenv.Subject("cannot log in")); n != 2 {
		t.Errorf("%d alarm mails in all, want 2 (to the one manager)", n)
	}

	// Signed in again: healthy, and the log says the login works again.
	if stdout, stderr, code := run(t, "oauth", "login", "-config", path, "-mailbox", "support"); code != 0 {
		t.Fatalf("oauth login again: exit %d\n%s%s", code, stdout, stderr)
	}
	testenv.WaitFor(t, "healthz 200 after signing in again", time.Minute, func() bool {
		code, _ := get(t, m, "/healthz")
		return code == http.StatusOK
	})
	testenv.WaitFor(t, "the recovery logged", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "login accepted again after refusals")
	})
}
