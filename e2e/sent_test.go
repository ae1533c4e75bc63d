//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/mailbox"
	"github.com/helpdeskd/helpdesk/store"
)

// TestDovecotSentCopies runs the daemon against Dovecot with sent_folder =
// "auto" (Dovecot marks "Sent" \Sent). The acknowledgement's SMTP session
// is cut by a SIGKILL of the daemon after the peer has the whole mail but
// before the daemon has its 250: the restarted daemon sends the same bytes
// again (the copy kept before they were first offered), and Sent gets one
// copy, byte for byte the mail, \Seen. An agent's relay follows into Sent
// too. Nothing in Sent reaches the intake: one ticket, two mails on it
// from outside, and INBOX keeps only what customers and agents sent.
func TestDovecotSentCopies(t *testing.T) {
	testenv.Long(t)
	imapAddr, _ := startDovecotWith(t, "testdata/dovecot-conf.sh", []string{"DOVECOT_SENT=1"})
	dir := t.TempDir()
	var d *daemon
	var mu sync.Mutex
	killed := false
	p := testenv.StartSMTPWith(t, testenv.SMTPOptions{DataErr: func(m testenv.Mail) error {
		mu.Lock()
		defer mu.Unlock()
		if !killed && strings.EqualFold(strings.Join(m.To, ","), "dan@retail.example") {
			killed = true
			d.kill() // the daemon dies with the mail at the peer and no 250
		}
		return nil
	}})
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(), Agents: true,
		Mailbox: `sent_folder = "auto"`})
	d = newDaemon(t, cfg)
	d.start()
	d.ready()

	appendMails(t, imapAddr, testenv.CRLF(`From: Dan Reyes <dan@retail.example>
To: Example Support <support@example.com>
Subject: Checkout down for all customers
Message-ID: <dan-sent-1@retail.example>
Date: Fri, 20 Nov 2026 09:40:00 +0000

Since 09:15 every customer gets "Error 500" at checkout.

Dan
`))
	testenv.WaitFor(t, "the daemon killed during the ack's DATA", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return killed
	})
	d.start()
	d.ready()
	acks := waitMails(t, p, 2, testenv.To("dan@retail.example"))
	if !bytes.Equal(acks[0].Raw, acks[1].Raw) {
		t.Errorf("the ack sent again after the restart differs from the first:\n--- first\n%s\n--- again\n%s", acks[0].Raw, acks[1].Raw)
	}
	if !strings.Contains(d.log(), "may reach its recipients twice") {
		t.Error("the restarted daemon did not name the ack in flight when it was killed")
	}
	ack := acks[0]
	ref := testenv.Ref(t, ack)
	sent := waitFolder(t, imapAddr, "Sent", 1)
	if !bytes.Equal(sent[0].Raw, ack.Raw) {
		t.Errorf("Sent copy of the ack differs from the mail sent:\n--- copy\n%s\n--- sent\n%s", sent[0].Raw, ack.Raw)
	}
	if !sent[0].Seen() {
		t.Errorf("Sent copy of the ack has flags %v, want \\Seen", sent[0].Flags)
	}

	// Alice answers; her reply is relayed to Dan, and copied.
	notice := p.WaitWithin(t, 30*time.Second, "alice's notification", testenv.And(testenv.To("alice@example.com"), testenv.Subject("["+ref+"]")))
	appendMails(t, imapAddr, testenv.CRLF(fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <alice-sent-1@example.com>
In-Reply-To: <%s>
References: <dan-sent-1@retail.example> <%s>
Date: Fri, 20 Nov 2026 09:50:00 +0000

Hello Dan, we restarted the payment service; checkout works again.

Alice
`, testenv.Address(t, notice, "Reply-To"), notice.Header.Get("Subject"), notice.MessageID(), notice.MessageID())))
	relay := p.WaitWithin(t, 30*time.Second, "the relay to dan", testenv.And(testenv.To("dan@retail.example"), testenv.Body("restarted the payment service")))
	sent = waitFolder(t, imapAddr, "Sent", 2)
	if !bytes.Equal(sent[1].Raw, relay.Raw) || !sent[1].Seen() {
		t.Errorf("Sent's second mail is not the relay, \\Seen (flags %v):\n%s", sent[1].Flags, sent[1].Raw)
	}

	// A last mail from Dan, then the desk is quiet: Sent holds the two
	// copies only (no notification to the agents), INBOX holds only the
	// mails that came from outside, and the ticket has them alone.
	appendMails(t, imapAddr, testenv.CRLF(fmt.Sprintf(`From: Dan Reyes <dan@retail.example>
To: %s
Subject: Re: [%s] Checkout down for all customers
Message-ID: <dan-sent-2@retail.example>
In-Reply-To: <%s>
Date: Fri, 20 Nov 2026 10:05:00 +0000

Confirmed, thank you.
`, testenv.Address(t, relay, "Reply-To"), ref, relay.MessageID())))
	p.WaitWithin(t, 30*time.Second, "the notification of dan's reply", testenv.And(testenv.To("alice@example.com"), testenv.Body("Confirmed, thank you")))
	d.stop()
	if sent := testenv.ReadFolder(t, imapAddr, imapUser, imapPass, "Sent"); len(sent) != 2 {
		t.Errorf("Sent holds %d mails, want the ack and the relay", len(sent))
	}
	if inbox := testenv.ReadFolder(t, imapAddr, imapUser, imapPass, "INBOX"); len(inbox) != 3 {
		t.Errorf("INBOX holds %d mails, want the 3 that came from outside", len(inbox))
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "helpdesk.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx *store.ReadTx) error {
		ts, err := tx.Tickets(store.TicketFilter{})
		if err != nil {
			return err
		}
		if len(ts) != 1 {
			t.Errorf("%d tickets, want 1", len(ts))
			return nil
		}
		ms, err := tx.Messages(ts[0].ID)
		if err != nil {
			return err
		}
		in := 0
		for _, m := range ms {
			if m.Direction == helpdesk.Inbound {
				in++
			}
		}
		if in != 3 {
			t.Errorf("ticket %s has %d inbound mails, want 3 (dan, alice, dan)", ts[0].Ref, in)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pend, err := st.SentCopiesPending(context.Background()); err != nil || pend["support"] != 0 {
		t.Errorf("copies still pending: %v %v", pend, err)
	}
}

// waitMails waits until the peer holds n mails matching match, and
// returns them in arrival order.
func waitMails(t *testing.T, p *testenv.SMTP, n int, match func(testenv.Mail) bool) []testenv.Mail {
	t.Helper()
	var got []testenv.Mail
	testenv.WaitFor(t, fmt.Sprintf("%d mails at the peer", n), 60*time.Second, func() bool {
		got = got[:0]
		for _, m := range p.Mails() {
			if match(m) {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	return got
}

// waitFolder waits until folder holds n mails and returns them.
func waitFolder(t *testing.T, addr, folder string, n int) []testenv.FolderMail {
	t.Helper()
	var got []testenv.FolderMail
	testenv.WaitFor(t, fmt.Sprintf("%d mails in %s", n, folder), 30*time.Second, func() bool {
		got = testenv.ReadFolder(t, addr, imapUser, imapPass, folder)
		return len(got) >= n
	})
	if len(got) != n {
		t.Fatalf("%s holds %d mails, want %d", folder, len(got), n)
	}
	return got
}

// TestDovecotSentCopyInDoubt: a copy whose APPEND's outcome was lost (the
// daemon died after Dovecot stored it) is found by Dovecot's SEARCH HEADER
// Message-ID and not appended again; another in the same state that
// Dovecot does not hold is appended once.
func TestDovecotSentCopyInDoubt(t *testing.T) {
	testenv.Long(t)
	imapAddr, _ := startDovecotWith(t, "testdata/dovecot-conf.sh", []string{"DOVECOT_SENT=1"})
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "helpdesk.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raws := map[string][]byte{}
	for _, id := range []string{"stored@support.example.com", "lost@support.example.com"} {
		m := helpdesk.OutMail{Kind: helpdesk.KindAck, MessageID: id, ToCustomer: true,
			From: helpdesk.Address{Name: "Support", Email: "support@example.com"}, To: []helpdesk.Address{{Email: "dan@retail.example"}},
			Subject: "Re: checkout [HD-1]", Text: "Received.\n"}
		err := st.Update(ctx, func(tx *store.Tx) error {
			tk := &helpdesk.Ticket{Subject: "checkout", Customer: "dan@retail.example", Priority: helpdesk.High, Mailbox: "support"}
			if err := tx.CreateTicket(tk); err != nil {
				return err
			}
			m.TicketID = tk.ID
			return tx.Enqueue(&m)
		})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := mailbox.RenderMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		raws[id] = raw
		if err := st.QueueSentCopy(ctx, m.ID, "support", raw); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkSent(ctx, m.ID, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
	}
	due, err := st.DueSentCopies(ctx, "support", time.Now(), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due = %v, %v", due, err)
	}
	for _, c := range due {
		if err := st.MarkSentCopyAppending(ctx, c.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	testenv.AppendIMAP(t, imapAddr, imapUser, imapPass, "Sent", raws["stored@support.example.com"])

	host, port, _ := net.SplitHostPort(imapAddr)
	p, _ := strconv.Atoi(port)
	c := mailbox.NewSentCopier(mailbox.SentCopyConfig{Folder: "Sent", IMAP: mailbox.IMAPConfig{Name: "support", Host: host, Port: p,
		Security: mailbox.SecurityNone, Username: imapUser, Password: imapPass}}, st, nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	testenv.WaitFor(t, "no copy pending", 30*time.Second, func() bool {
		n, err := st.SentCopiesPending(ctx)
		return err == nil && n["support"] == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sent := testenv.ReadFolder(t, imapAddr, imapUser, imapPass, "Sent")
	if len(sent) != 2 || !bytes.Equal(sent[0].Raw, raws["stored@support.example.com"]) || !bytes.Equal(sent[1].Raw, raws["lost@support.example.com"]) {
		t.Errorf("Sent holds %d mails, want the stored copy once and the lost one appended", len(sent))
		for _, m := range sent {
			t.Logf("---\n%s", m.Raw)
		}
	}
}
