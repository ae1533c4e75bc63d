//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// bigMail is a customer's mail with one attachment of size random bytes,
// base64 in lines of 76 characters (RFC 2045 §6.8).
func bigMail(id string, size int) (raw []byte, file []byte) {
	file = make([]byte, size)
	rand.NewChaCha8([32]byte{1, 2, 3}).Read(file)
	var b bytes.Buffer
	b.Grow(size*4/3 + size/38 + 4096)
	b.Write(testenv.CRLF(fmt.Sprintf(`From: Erin Logs <erin@bigfiles.example>
To: support@example.com
Subject: Crash dump of the import job
Message-ID: <%s>
Date: %s
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hello, the nightly import crashes since 02:00 with "fatal error: out of
memory". The crash dump is attached.

--b1
Content-Type: application/octet-stream; name="import-crash.dump"
Content-Disposition: attachment; filename="import-crash.dump"
Content-Transfer-Encoding: base64

`, id, time.Now().UTC().Format(time.RFC1123Z))))
	enc := base64.StdEncoding
	line := make([]byte, 76)
	for i := 0; i < size; i += 57 {
		n := enc.EncodedLen(min(57, size-i))
		enc.Encode(line, file[i:min(i+57, size)])
		b.Write(line[:n])
		b.WriteString("\r\n")
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes(), file
}

// TestLargeAttachment sends a 30 MB attachment: over the default 25 MB
// limit it is dropped and the reason recorded; with max_attachment_size =
// "40MB" it is kept byte for byte. Either way the raw mail is kept, the
// customer is acknowledged and the daemon's peak RSS (VmHWM, read before it
// exits) stays bounded.
func TestLargeAttachment(t *testing.T) {
	testenv.Long(t)
	const size = 30 << 20
	const rssLimit = 400 << 20
	cases := []struct {
		name string
		desk string
		kept bool
	}{
		{"default limit drops it with a note", "", false},
		{"40MB limit keeps it", `max_attachment_size = "40MB"`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			imapAddr := newMemIMAP(t)
			p := testenv.StartSMTP(t)
			dir := t.TempDir()
			cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(), Desk: c.desk, Agents: true})
			d := newDaemon(t, cfg)
			d.start()
			d.ready()
			idle := d.peakRSS()
			id := "dump-" + strings.ReplaceAll(c.name, " ", "-") + "@bigfiles.example"
			raw, file := bigMail(id, size)
			start := time.Now()
			appendMails(t, imapAddr, raw)
			p.WaitWithin(t, 2*time.Minute, "the ack to erin", testenv.To("erin@bigfiles.example"))
			p.WaitWithin(t, time.Minute, "alice's notification", testenv.To("alice@example.com"))
			took := time.Since(start)
			peak := d.peakRSS()
			t.Logf("a %d-byte mail (%d MiB attachment) filed and acknowledged in %v; peak RSS %.1f MiB (%.1f MiB before the mail)",
				len(raw), size>>20, took.Round(time.Millisecond), float64(peak)/(1<<20), float64(idle)/(1<<20))
			if peak > rssLimit {
				t.Errorf("peak RSS %d MiB, want under %d MiB", peak>>20, rssLimit>>20)
			}
			d.stop()

			msg, atts, stored := storedMail(t, filepath.Join(dir, "helpdesk.db"), id)
			if got, want := sha256.Sum256(stored), sha256.Sum256(raw); got != want {
				t.Errorf("raw mail: %d bytes stored, %d sent, or different bytes", len(stored), len(raw))
			}
			var info *store.AttachmentInfo
			for i, a := range msg.Attachments {
				if a.Filename == "import-crash.dump" {
					info = &msg.Attachments[i]
				}
			}
			if info == nil {
				t.Fatalf("no attachment import-crash.dump on the message: %+v", msg.Attachments)
			}
			if got, want := info.Size, int64(size); got != want {
				t.Errorf("attachment size = %d, want %d", got, want)
			}
			if !c.kept {
				if !strings.Contains(info.Dropped, "exceeds") {
					t.Errorf("dropped attachment's note = %q, want the reason", info.Dropped)
				}
				if len(atts) != 0 {
					t.Errorf("%d attachments kept with data, want none", len(atts))
				}
				return
			}
			if info.Dropped != "" {
				t.Errorf("attachment dropped under a 40MB limit: %s", info.Dropped)
			}
			if len(atts) != 1 {
				t.Fatalf("%d attachments kept with data, want 1", len(atts))
			}
			if got, want := sha256.Sum256(atts[0].Data), sha256.Sum256(file); got != want {
				t.Errorf("kept attachment: %d bytes differ from the %d sent", len(atts[0].Data), len(file))
			}
		})
	}
}

// storedMail reads the inbound message with Message-ID id from the
// database: its description, its kept attachments (with data) and its raw
// mail.
func storedMail(t testing.TB, path, id string) (store.StoredMessage, []helpdesk.Attachment, []byte) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var msg store.StoredMessage
	var atts []helpdesk.Attachment
	var raw []byte
	err = st.View(ctx, func(tx *store.ReadTx) error {
		tk, err := tx.TicketByMessageID(id)
		if err != nil {
			return fmt.Errorf("ticket of %s: %w", id, err)
		}
		msgs, err := tx.Messages(tk.ID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.MessageID == id {
				msg = m
			}
		}
		if msg.ID == 0 {
			return fmt.Errorf("message %s not on ticket %s", id, tk.Ref)
		}
		if atts, err = tx.Attachments(msg.ID); err != nil {
			return err
		}
		raw, err = tx.Raw(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg, atts, raw
}
