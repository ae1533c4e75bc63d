package mailbox

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
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
