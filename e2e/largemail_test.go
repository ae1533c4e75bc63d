//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// largeTextMail is a customer's mail whose body is a log of about size
// bytes: lines of 100-odd characters, numbered, so that any cut shows; in
// plain text, or with html in HTML only, a paragraph a line. last is the
// body's last line.
func largeTextMail(from, subject, id string, size int, html bool) (raw []byte, last string) {
	var b bytes.Buffer
	b.Grow(size + 4096)
	ctype, open, close := "text/plain", "", ""
	if html {
		ctype, open, close = "text/html", "<p>", "</p>"
	}
	b.Write(testenv.CRLF(fmt.Sprintf(`From: %s
To: support@example.com
Subject: %s
Message-ID: <%s>
Date: %s
MIME-Version: 1.0
Content-Type: %s; charset=utf-8

%sHello, the nightly import fails since 02:00 for all users with "constraint
violation". Here is the whole log of last night's run.%s

`, from, subject, id, time.Now().UTC().Format(time.RFC1123Z), ctype, open, close)))
	for i := 0; b.Len() < size; i++ {
		last = fmt.Sprintf("2026-12-06T02:%02d:%02d.%03dZ worker-%d import: row %08d rejected: constraint violation on orders.customer_id", i/60000%60, i/1000%60, i%1000, i%8, i)
		b.WriteString(open + last + close + "\r\n")
	}
	return b.Bytes(), last
}

// largeMailRSSLimit is the goal of issue 16 for the daemon's peak resident
// set while it files a 30 MB mail.
const largeMailRSSLimit = 200 << 20

// largeNotificationLimit is the largest notification an agent may receive
// about a large mail: the first part of its text and the ticket's summary.
const largeNotificationLimit = 256 << 10

// TestLargeTextMail APPENDs 30 MB text mails (one, then four at once,
// then one in HTML only) to the in-process IMAP server and watches the
// daemon, a child process, file and acknowledge them, and notify alice
// and bob. It reports
// the child's peak RSS (VmHWM) and fails above 200 MiB; each notification
// must carry only the first part of the text, say how much more there is
// and how to read it, and stay under 256 KiB. The raw mail is stored byte
// for byte and `helpdeskd show -full REF` prints the text to its last line.
//
// HELPDESK_E2E_BIN runs another helpdeskd binary (see helpdeskdBin).
func TestLargeTextMail(t *testing.T) {
	testenv.Long(t)
	const size = 30 << 20
	bin := helpdeskdBin()
	for _, c := range []struct {
		n    int
		html bool
	}{{1, false}, {4, false}, {1, true}} {
		n := c.n
		name := fmt.Sprintf("%d at once", n)
		if c.html {
			name += " html only"
		}
		t.Run(name, func(t *testing.T) {
			imapAddr := newMemIMAP(t)
			p := testenv.StartSMTP(t)
			dir := t.TempDir()
			cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(), Agents: true})
			d := newDaemon(t, cfg)
			d.start()
			d.ready()
			idle := d.peakRSS()

			raws, lasts, ids := make([][]byte, n), make([]string, n), make([]string, n)
			for i := range n {
				ids[i] = fmt.Sprintf("import-log-%d@bigtext.example", i)
				raws[i], lasts[i] = largeTextMail(fmt.Sprintf("Erin Logs <erin%d@bigtext.example>", i),
					fmt.Sprintf("Import log %d", i), ids[i], size, c.html)
			}
			start := time.Now()
			var wg sync.WaitGroup
			for i := range n { // one connection each, as n MTAs deliver
				wg.Go(func() { appendMails(t, imapAddr, raws[i]) })
			}
			wg.Wait()
			var notes []testenv.Mail
			refs := make([]string, n)
			for i := range n {
				ack := p.WaitWithin(t, 3*time.Minute, "the ack of mail "+fmt.Sprint(i), testenv.To(fmt.Sprintf("erin%d@bigtext.example", i)))
				refs[i] = testenv.Ref(t, ack)
				for _, agent := range []string{"alice@example.com", "bob@example.com"} {
					notes = append(notes, p.WaitWithin(t, 2*time.Minute, agent+"'s notification of mail "+fmt.Sprint(i),
						testenv.And(testenv.To(agent), testenv.Subject(fmt.Sprintf("Import log %d", i)))))
				}
			}
			took := time.Since(start)
			peak := d.peakRSS()
			maxNote := 0
			for _, m := range notes {
				maxNote = max(maxNote, len(m.Raw))
			}
			t.Logf("%d mail(s) of %d bytes filed, acknowledged and notified in %v; peak RSS %.1f MiB (%.1f MiB before the mail); largest notification %d bytes",
				n, len(raws[0]), took.Round(time.Millisecond), float64(peak)/(1<<20), float64(idle)/(1<<20), maxNote)
			if peak > largeMailRSSLimit {
				t.Errorf("peak RSS %.1f MiB, want at most %d MiB", float64(peak)/(1<<20), largeMailRSSLimit>>20)
			}
			for _, m := range notes {
				ref := testenv.Ref(t, m)
				if len(m.Raw) > largeNotificationLimit {
					t.Errorf("notification to %v on %s is %d bytes, want at most %d", m.To, ref, len(m.Raw), largeNotificationLimit)
				}
				body := strings.ReplaceAll(m.Body, "=\r\n", "") // quoted-printable soft breaks
				if want := "KiB; read it all with `helpdeskd show -full " + ref + "`"; !strings.Contains(body, want) {
					t.Errorf("notification to %v on %s does not say %q", m.To, ref, want)
				}
				if !strings.Contains(body, "the nightly import fails since 02:00") {
					t.Errorf("notification to %v on %s lacks the start of the text", m.To, ref)
				}
			}
			d.stop()

			for i := range n {
				_, _, stored := storedMail(t, filepath.Join(dir, "helpdesk.db"), ids[i])
				if !bytes.Equal(stored, raws[i]) {
					t.Errorf("raw mail %d: %d bytes stored, %d sent, or different bytes", i, len(stored), len(raws[i]))
				}
				out, errOut, code := cliWith(t, bin, "show", "-config", cfg.Config, "-full", refs[i])
				if code != 0 {
					t.Fatalf("helpdeskd show -full %s: exit %d: %s", refs[i], code, errOut)
				}
				if !strings.Contains(out, lasts[i]) {
					t.Errorf("helpdeskd show -full %s (%d bytes) lacks the text's last line %q", refs[i], len(out), lasts[i])
				}
			}
		})
	}
}

// manyPartsMail is a customer's mail of about size bytes in n parts: the
// report first, then n-1 small attachments.
func manyPartsMail(id string, n, size int) []byte {
	var b bytes.Buffer
	b.Write(testenv.CRLF(fmt.Sprintf(`From: Carol <carol@parts.example>
To: support@example.com
Subject: Export split in parts
Message-ID: <%s>
Date: %s
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="p"

--p
Content-Type: text/plain; charset=utf-8

The export fails for all users since 02:00; its pieces are attached.
`, id, time.Now().UTC().Format(time.RFC1123Z))))
	pad := strings.Repeat("x", max(1, size/n-110))
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--p\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"piece%d.bin\"\r\n\r\n%s\r\n", i, pad)
	}
	b.WriteString("--p--\r\n")
	return b.Bytes()
}

// TestManyPartsMail APPENDs a 10 MB mail of 100,000 parts: the daemon
// reads message.MaxParts of them, keeps message.MaxAttachments
// attachments, says on the ticket how many parts it did not read, and
// stays under 200 MiB (VmHWM, reported). The raw mail is kept byte for
// byte.
func TestManyPartsMail(t *testing.T) {
	testenv.Long(t)
	bin := helpdeskdBin()
	imapAddr := newMemIMAP(t)
	p := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(), Agents: true})
	d := newDaemon(t, cfg)
	d.start()
	d.ready()
	idle := d.peakRSS()
	const id = "parts-100k@parts.example"
	raw := manyPartsMail(id, 100000, 10<<20)
	start := time.Now()
	appendMails(t, imapAddr, raw)
	ref := testenv.Ref(t, p.WaitWithin(t, 3*time.Minute, "the ack", testenv.To("carol@parts.example")))
	p.WaitWithin(t, time.Minute, "alice's notification", testenv.To("alice@example.com"))
	peak := d.peakRSS()
	t.Logf("a %d-byte mail of 100,000 parts filed, acknowledged and notified in %v; peak RSS %.1f MiB (%.1f MiB before the mail)",
		len(raw), time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), float64(idle)/(1<<20))
	if peak > largeMailRSSLimit {
		t.Errorf("peak RSS %.1f MiB, want at most %d MiB", float64(peak)/(1<<20), largeMailRSSLimit>>20)
	}
	d.stop()

	msg, _, stored := storedMail(t, filepath.Join(dir, "helpdesk.db"), id)
	if !bytes.Equal(stored, raw) {
		t.Errorf("raw mail: %d bytes stored, %d sent, or different bytes", len(stored), len(raw))
	}
	if got, want := len(msg.Attachments), 200; got != want {
		t.Errorf("%d attachments kept, want %d", got, want)
	}
	out, errOut, code := cliWith(t, bin, "show", "-config", cfg.Config, ref)
	if code != 0 {
		t.Fatalf("helpdeskd show %s: exit %d: %s", ref, code, errOut)
	}
	if !strings.Contains(out, "parts-omitted") || !strings.Contains(out, "MIME parts beyond the first 2000 were not read") {
		t.Errorf("helpdeskd show %s does not tell of the parts not read:\n%s", ref, out)
	}
}
