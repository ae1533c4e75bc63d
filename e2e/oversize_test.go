//go:build linux

package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// folderSizes returns the RFC822.SIZE of every mail in folder (none when
// the folder does not exist).
func folderSizes(t testing.TB, addr, folder string) []int64 {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("imap dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatalf("imap login: %v", err)
	}
	defer func() { c.Logout().Wait() }()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages == 0 {
		return nil
	}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	bufs, err := c.Fetch(set, &imap.FetchOptions{RFC822Size: true}).Collect()
	if err != nil {
		t.Fatalf("fetch sizes in %s: %v", folder, err)
	}
	var sizes []int64
	for _, b := range bufs {
		sizes = append(sizes, b.RFC822Size)
	}
	return sizes
}

// TestDovecotOversize: against a real Dovecot, a mail above
// max_message_size is read by its header only (BODY.PEEK[HEADER] with a
// partial range), filed, answered with the too-large notice and moved to
// the Quarantine folder whole; the mail after it is handled as usual.
func TestDovecotOversize(t *testing.T) {
	testenv.Long(t)
	imapAddr := startDovecot(t)
	p := testenv.StartSMTP(t)
	cfg := writeConfig(t, deskOpts{Dir: t.TempDir(), IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(), Agents: true,
		Mailbox: `max_message_size = "64KB"`})
	d := newDaemon(t, cfg)
	d.start()
	d.ready()

	data := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("trace 0123456789 abcdefghijklmnop\n", 6000)))
	var body strings.Builder
	for len(data) > 76 {
		body.WriteString(data[:76] + "\n")
		data = data[76:]
	}
	body.WriteString(data + "\n")
	big := testenv.CRLF(fmt.Sprintf(`From: Carol <carol@shop.example>
To: Example Support <support@example.com>
Subject: Traces of the crash
Message-ID: <carol-big@shop.example>
Date: %s
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

The traces are attached.

--b1
Content-Type: application/octet-stream; name="trace.txt"
Content-Disposition: attachment; filename="trace.txt"
Content-Transfer-Encoding: base64

%s--b1--
`, time.Now().UTC().Format(time.RFC1123Z), body.String()))
	appendMails(t, imapAddr, big, customerMail("Dan <dan@retail.example>", "Invoice question", "dan-1@retail.example", "Where is invoice 42?"))

	notice := p.WaitWithin(t, 30*time.Second, "the too-large notice to carol", testenv.To("carol@shop.example"))
	if got := notice.Header.Get("Subject"); !strings.HasPrefix(got, "Re: Traces of the crash [") {
		t.Errorf("notice subject %q", got)
	}
	if b := strings.Join(strings.Fields(notice.Body), " "); !strings.Contains(b, "64 KB") {
		t.Errorf("notice does not name the limit:\n%s", notice.Body)
	}
	p.WaitWithin(t, 30*time.Second, "the ack to dan", testenv.To("dan@retail.example"))
	testenv.WaitFor(t, "the big mail in Quarantine, whole", 30*time.Second, func() bool {
		s := folderSizes(t, imapAddr, "Quarantine")
		return len(s) == 1 && s[0] == int64(len(big))
	})
	if total, unprocessed := inboxState(t, imapAddr); total != 1 || unprocessed != 0 {
		t.Errorf("INBOX: %d mails, %d unprocessed; want dan's alone, processed", total, unprocessed)
	}
}
