package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/demo"
)

// The test desk: one mailbox on an in-process IMAP server, a go-smtp peer
// that captures everything the daemon sends, and the real daemon (Main)
// in-process on a temp SQLite file.

const (
	supportAddr = "support@example.com"
	imapUser    = "support@example.com"
	imapPass    = "imap-secret"
)

type capturedMail struct {
	From string
	To   []string
	Raw  []byte
	Msg  *mail.Message
	Body string
}

func (c capturedMail) header(k string) string { return c.Msg.Header.Get(k) }

// smtpCapture is a go-smtp server that records every mail it accepts.
type smtpCapture struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	all  []capturedMail
	ch   chan capturedMail
}

func newSMTPCapture(t testing.TB) *smtpCapture {
	t.Helper()
	c := &smtpCapture{ch: make(chan capturedMail, 1000)}
	c.srv = smtp.NewServer(c)
	c.srv.Domain = "localhost"
	c.srv.AllowInsecureAuth = true
	c.srv.ReadTimeout = 10 * time.Second
	c.srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	go c.srv.Serve(ln)
	t.Cleanup(func() { c.srv.Close() })
	return c
}

func (c *smtpCapture) NewSession(*smtp.Conn) (smtp.Session, error) { return &captureSession{c: c}, nil }

type captureSession struct {
	c    *smtpCapture
	from string
	to   []string
}

func (s *captureSession) Reset()        { s.from, s.to = "", nil }
func (s *captureSession) Logout() error { return nil }
func (s *captureSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *captureSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *captureSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(msg.Body)
	msg.Body = bytes.NewReader(body)
	m := capturedMail{From: s.from, To: append([]string(nil), s.to...), Raw: raw, Msg: msg, Body: string(body)}
	s.c.mu.Lock()
	s.c.all = append(s.c.all, m)
	s.c.mu.Unlock()
	s.c.ch <- m
	return nil
}

// mails returns every captured mail so far.
func (c *smtpCapture) mails() []capturedMail {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capturedMail(nil), c.all...)
}

// wait returns the first captured mail (old or new) matching f, waiting up
// to the timeout for it.
func (c *smtpCapture) wait(t testing.TB, what string, f func(capturedMail) bool) capturedMail {
	t.Helper()
	deadline := time.After(60 * time.Second)
	seen := 0
	for {
		all := c.mails()
		for _, m := range all[seen:] {
			if f(m) {
				return m
			}
		}
		seen = len(all)
		select {
		case <-c.ch:
		case <-deadline:
			var subjects []string
			for _, m := range c.mails() {
				subjects = append(subjects, fmt.Sprintf("%v %q", m.To, m.header("Subject")))
			}
			t.Fatalf("timed out waiting for %s; captured: %s", what, strings.Join(subjects, "; "))
		}
	}
}

func to(addr string) func(capturedMail) bool {
	return func(m capturedMail) bool {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				return true
			}
		}
		return false
	}
}

func and(fs ...func(capturedMail) bool) func(capturedMail) bool {
	return func(m capturedMail) bool {
		for _, f := range fs {
			if !f(m) {
				return false
			}
		}
		return true
	}
}

func subjectHas(s string) func(capturedMail) bool {
	return func(m capturedMail) bool { return strings.Contains(m.header("Subject"), s) }
}

// imapTestServer is go-imap's in-memory server on a loopback port.
type imapTestServer struct {
	addr string
	user *imapmemserver.User
	srv  *imapserver.Server
}

func newIMAPServer(t testing.TB) *imapTestServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(imapUser, imapPass)
	for _, box := range []string{"INBOX", "Sales"} {
		if err := user.Create(box, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return demo.FlushIdle(mem.NewSession()), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &imapTestServer{addr: ln.Addr().String(), user: user, srv: srv}
}

// appendMail APPENDs a raw mail to INBOX, as a customer's MTA would deliver it.
func (s *imapTestServer) appendMail(t testing.TB, raw string) {
	t.Helper()
	s.appendTo(t, "INBOX", raw)
}

// appendTo APPENDs a raw mail to a folder.
func (s *imapTestServer) appendTo(t testing.TB, folder, raw string) {
	t.Helper()
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
}

func splitHostPort(addr string) (string, string) {
	h, p, _ := net.SplitHostPort(addr)
	return h, p
}

// testConfig is a configuration for the test servers: loopback, plaintext,
// the standard policy, two agents in one team and a manager.
func testConfig(t testing.TB, imapAddr, smtpAddr, extra string) *config.Config {
	t.Helper()
	ih, ip, _ := net.SplitHostPort(imapAddr)
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	dir := t.TempDir()
	toml := fmt.Sprintf(`
[store]
path = %q
[smtp]
host = %q
port = %s
security = "none"
from = "Example Support <support@example.com>"
[[mailbox]]
name = "support"
address = "support@example.com"
host = %q
port = %s
security = "none"
username = %q
password = "${HD_TEST_IMAP}"
folder = "INBOX"
poll_interval = "1s"
team = "first-line"
[[agent]]
email = "alice@example.com"
name = "Alice"
team = "first-line"
[[agent]]
email = "bob@example.com"
name = "Bob"
team = "first-line"
[[agent]]
email = "maria@example.com"
name = "Maria"
team = "first-line"
manager = true
[http]
listen = "127.0.0.1:0"
%s
`, filepath.Join(dir, "helpdesk.db"), sh, sp, ih, ip, imapUser, extra)
	path := filepath.Join(dir, "helpdesk.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path, config.Options{ResolveSecrets: true, LookupEnv: func(k string) (string, bool) {
		if k == "HD_TEST_IMAP" {
			return imapPass, true
		}
		return "", false
	}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// startDaemon opens and runs Main until the test ends.
func startDaemon(t testing.TB, cfg *config.Config, now func() time.Time) *Main {
	t.Helper()
	m := &Main{Config: cfg, Now: now, Log: startDaemonLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatalf("open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	})
	return m
}

// testWriter sends log output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startDaemonLogger logs warnings and errors of the daemon to the test log.
func startDaemonLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
