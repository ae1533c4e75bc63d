package mailbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestWireLog: at debug level the protocol lines are logged, but never a
// password, a SASL response or the bytes of a literal; at info nothing.
func TestWireLog(t *testing.T) {
	var b bytes.Buffer
	w := newWireLog(slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, chunk := range []string{
		"* OK IMAP4rev2 ready\r\n", "T1 LOGIN support@example.com s3cret-pass\r\n", "T1 OK done\r\n",
		"T2 AUTHENTICATE PLAIN\r\n+ \r\nAHN1cHBvcnRAZXhhbXBsZS5jb20Ac2VjcmV0\r\n",
		"* 1 FETCH (UID 7 BODY[] {40}\r\n", "Subject: private matter\r\n\r\nsecret body", ")\r\nT3 OK",
		" fetched\r\n",
	} {
		w.Write([]byte(chunk))
	}
	out := b.String()
	for _, bad := range []string{"s3cret-pass", "AHN1cHBvcnRAZXhhbXBsZS5jb20Ac2VjcmV0", "private matter", "secret body"} {
		if strings.Contains(out, bad) {
			t.Errorf("wire log holds %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"* OK IMAP4rev2 ready", "T1 LOGIN [redacted]", "T2 AUTHENTICATE [redacted]", "[40 bytes not logged]", "T3 OK fetched"} {
		if !strings.Contains(out, want) {
			t.Errorf("wire log lacks %q:\n%s", want, out)
		}
	}
	if newWireLog(slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo}))) != nil {
		t.Error("a wire log at info level")
	}
}

// TestSMTPWireLog: at debug level the SMTP session's steps are logged, the
// password never.
func TestSMTPWireLog(t *testing.T) {
	wireLeakCheck(t)
	var b syncBuffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, cfg := startSMTPPeer(t, true, testenv.SMTPOptions{}) // STARTTLS and AUTH PLAIN
	c, err := dialSMTP(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), simpleOutMail(1, "c@example.org")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if len(srv.Mails()) != 1 {
		t.Fatalf("server got %d mails", len(srv.Mails()))
	}
	out := b.String()
	for _, want := range []string{`msg="smtp wire"`, "C: MAIL FROM", "C: RCPT TO"} {
		if !strings.Contains(out, want) {
			t.Errorf("smtp wire log lacks %q:\n%s", want, out)
		}
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.Username + "\x00" + cfg.Password))
	if cfg.Password == "" || strings.Contains(out, cfg.Password) || strings.Contains(out, plain) {
		t.Errorf("the SMTP password reached the log (or the test logged in without one):\n%s", out)
	}
}
