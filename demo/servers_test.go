package demo

import (
	"context"
	"errors"
	"net/mail"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

func startServers(t *testing.T, o Options) *Servers {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// inbox logs in over IMAP and returns the raw messages of folder.
func inbox(t *testing.T, addr, user, folder string) [][]byte {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, Password).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{}
	var all imap.SeqSet
	all.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	var out [][]byte
	for _, m := range msgs {
		out = append(out, m.FindBodySection(section))
	}
	c.Logout().Wait()
	return out
}

func mustParse(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	return m
}

func TestServersRouteAndCapture(t *testing.T) {
	now := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	captured := make(chan Mail, 10)
	s := startServers(t, Options{
		Now: func() time.Time { return now },
		Boxes: []Box{
			{Username: "support@a.example", Password: Password, Folders: []string{"Processed"},
				Addresses: []string{"support@a.example", "help@a.example"}},
			{Username: "support@b.example", Password: Password, Addresses: []string{"support@b.example"}},
		},
		Captured: func(m Mail) { captured <- m },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	send := func(from string, to []string, body string) {
		t.Helper()
		raw := "From: " + from + "\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <m" + body + "@c.example>\r\n\r\n" + body + "\r\n"
		if err := Send(ctx, s.SMTPAddr(), Outgoing{From: from, To: to, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	// A support address, its alias and a sub-address all reach box a; a
	// stranger's copy of the same mail is captured.
	send("carol@c.example", []string{"Support@A.example", "help@a.example", "someone@elsewhere.example"}, "one")
	send("alice@desk.example", []string{"support+hd-1.token@a.example"}, "two")
	send("carol@c.example", []string{"support@b.example"}, "three")

	a := inbox(t, s.IMAPAddr(), "support@a.example", "INBOX")
	if got, want := len(a), 2; got != want {
		t.Fatalf("box a holds %d mails, want %d", got, want)
	}
	first := mustParse(t, a[0])
	if got, want := first.Header.Get("Return-Path"), "<carol@c.example>"; got != want {
		t.Errorf("Return-Path = %q, want %q", got, want)
	}
	if got, want := strings.Join(first.Header["Delivered-To"], " "), "support@a.example help@a.example"; got != want {
		t.Errorf("Delivered-To = %q, want %q", got, want)
	}
	if got := first.Header.Get("Received"); !strings.Contains(got, "Mon, 03 Mar 2025 10:00:00 +0000") {
		t.Errorf("Received = %q, want the server clock's date", got)
	}
	if got, want := mustParse(t, a[1]).Header.Get("Delivered-To"), "support+hd-1.token@a.example"; got != want {
		t.Errorf("sub-address Delivered-To = %q, want %q", got, want)
	}
	if got, want := len(inbox(t, s.IMAPAddr(), "support@b.example", "INBOX")), 1; got != want {
		t.Errorf("box b holds %d mails, want %d", got, want)
	}
	if got := len(inbox(t, s.IMAPAddr(), "support@a.example", "Processed")); got != 0 {
		t.Errorf("Processed holds %d mails, want 0", got)
	}

	select {
	case m := <-captured:
		if got, want := strings.Join(m.To, ","), "someone@elsewhere.example"; got != want {
			t.Errorf("captured for %q, want %q", got, want)
		}
		if got, want := m.Subject(), "café"; got != want {
			t.Errorf("Subject() = %q, want %q", got, want)
		}
		if got, want := m.MessageID(), "mone@c.example"; got != want {
			t.Errorf("MessageID() = %q, want %q", got, want)
		}
	case <-ctx.Done():
		t.Fatal("nothing captured")
	}
	if got, want := len(s.Captured()), 1; got != want {
		t.Errorf("Captured() holds %d, want %d", got, want)
	}
	m, err := s.WaitCaptured(ctx, func(m Mail) bool { return m.HeaderAddress("From") == "carol@c.example" })
	if err != nil || m.MessageID() != "mone@c.example" {
		t.Errorf("WaitCaptured = %q, %v", m.MessageID(), err)
	}
}

func TestServersWaitCapturedLater(t *testing.T) {
	s := startServers(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := s.WaitCaptured(ctx, func(m Mail) bool { return m.Subject() == "second" })
		got <- err
	}()
	for _, subj := range []string{"first", "second"} {
		raw := "From: a@x.example\r\nTo: b@y.example\r\nSubject: " + subj + "\r\n\r\nhi\r\n"
		if err := Send(ctx, s.SMTPAddr(), Outgoing{From: "a@x.example", To: []string{"b@y.example"}, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if _, err := s.WaitCaptured(short, func(Mail) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitCaptured on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestServersMaxCaptured(t *testing.T) {
	s := startServers(t, Options{MaxCaptured: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, subj := range []string{"1", "2", "3"} {
		raw := "From: a@x.example\r\nTo: b@y.example\r\nSubject: " + subj + "\r\n\r\nhi\r\n"
		if err := Send(ctx, s.SMTPAddr(), Outgoing{From: "a@x.example", To: []string{"b@y.example"}, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	var subjects []string
	for _, m := range s.Captured() {
		subjects = append(subjects, m.Subject())
	}
	if got, want := strings.Join(subjects, ","), "2,3"; got != want {
		t.Errorf("kept %q, want %q", got, want)
	}
}

// A mail client that insists on logging in can (any credentials), bare-LF
// mail is stored with CRLF, and a bad recipient is refused.
func TestServersClients(t *testing.T) {
	s := startServers(t, Options{Boxes: []Box{{Username: "support@a.example", Password: Password, Addresses: []string{"support@a.example"}}}})
	auth := smtp.PlainAuth("", "anyone", "anything", "127.0.0.1")
	msg := "From: x@y.example\nTo: support@a.example\nSubject: bare lf\n\nline one\nline two\n"
	if err := smtp.SendMail(s.SMTPAddr(), auth, "x@y.example", []string{"support@a.example"}, []byte(msg)); err != nil {
		t.Fatalf("net/smtp with PLAIN: %v", err)
	}
	got := inbox(t, s.IMAPAddr(), "support@a.example", "INBOX")
	if len(got) != 1 {
		t.Fatalf("box holds %d mails, want 1", len(got))
	}
	if strings.Count(string(got[0]), "\n") != strings.Count(string(got[0]), "\r\n") {
		t.Errorf("stored mail has bare LF:\n%q", got[0])
	}

	c, err := gosmtp.Dial(s.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("x@y.example", nil); err != nil {
		t.Fatal(err)
	}
	var se *gosmtp.SMTPError
	if err := c.Rcpt("not an address", nil); !errors.As(err, &se) || se.Code/100 != 5 {
		t.Errorf("RCPT of a bad address = %v, want a 5xx refusal", err)
	}
}

func TestStartRejectsAddressInTwoBoxes(t *testing.T) {
	_, err := Start(Options{Boxes: []Box{
		{Username: "a", Password: "p", Addresses: []string{"x@a.example"}},
		{Username: "b", Password: "p", Addresses: []string{"X@a.example"}},
	}})
	if err == nil {
		t.Fatal("Start accepted one address for two boxes")
	}
}

// Mail delivered while a client sits between two commands is announced as
// soon as the client starts IDLE (RFC 2177), not at its next update.
func TestServersIdleAnnouncesPendingMail(t *testing.T) {
	s := startServers(t, Options{Boxes: []Box{{Username: "support@a.example", Password: Password, Addresses: []string{"support@a.example"}}}})
	testenv.CheckIdleAnnounces(t, s.IMAPAddr(), "support@a.example", Password, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		raw := "From: a@x.example\r\nTo: support@a.example\r\nSubject: s\r\n\r\nhi\r\n"
		if err := Send(ctx, s.SMTPAddr(), Outgoing{From: "a@x.example", To: []string{"support@a.example"}, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	})
}
