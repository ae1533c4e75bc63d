package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// allTickets lists every ticket in the daemon's store.
func allTickets(t *testing.T, m *Main) []*helpdesk.Ticket {
	t.Helper()
	var ts []*helpdesk.Ticket
	if err := m.Store.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		ts, err = tx.Tickets(store.TicketFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ts
}

// messagesOn counts the inbound messages stored on a ticket.
func messagesOn(t *testing.T, m *Main, ref string) int {
	t.Helper()
	n := 0
	if err := m.Store.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		ms, err := tx.Messages(tk.ID)
		for _, msg := range ms {
			if msg.Direction == helpdesk.Inbound {
				n++
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func customerMail(from, subject, id, extra, body string) string {
	if extra != "" {
		extra += "\n"
	}
	return fmt.Sprintf("From: %s\nTo: support@example.com\nSubject: %s\nMessage-ID: <%s>\nDate: Fri, 20 Nov 2026 09:40:00 +0000\n%s\n%s\n",
		from, subject, id, extra, body)
}

// TestThreading checks DESIGN.md step 4 through the in-process IMAP server:
// References, the reply token, and the subject tag from the right sender
// join a ticket; the subject tag from a stranger opens a new one.
func TestThreading(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	d := startDaemon(t, testConfig(t, imapSrv.Addr(), peer.Addr(), ""), nil)

	imapSrv.Deliver(t, "INBOX", customerMail("Dan <dan@retail.example>", "Dashboard very slow", "dan-1@retail.example", "",
		"The reporting dashboard takes a minute to load for some users since Monday."))
	ack := peer.Wait(t, "ack to dan", testenv.To("dan@retail.example"))
	ref := testenv.Ref(t, ack)

	// (a) By References to our ack, with a changed subject and no tag.
	imapSrv.Deliver(t, "INBOX", customerMail("Dan <dan@retail.example>", "more info", "dan-2@retail.example",
		"In-Reply-To: <"+ack.MessageID()+">\nReferences: <dan-1@retail.example> <"+ack.MessageID()+">", "Error: timeout after 60s"))
	// (b) By the ticket's reply address alone.
	imapSrv.Deliver(t, "INBOX", strings.Replace(customerMail("Dan <dan@retail.example>", "from my phone", "dan-3@retail.example", "", "Steps: open Reports"),
		"To: support@example.com", "To: "+testenv.Address(t, ack, "Reply-To"), 1))
	// (c) By subject tag from the customer.
	imapSrv.Deliver(t, "INBOX", customerMail("Dan <dan@retail.example>", "Re: ["+ref+"] still slow", "dan-4@retail.example", "", "Still slow."))
	testenv.WaitFor(t, "four messages on the ticket", time.Minute, func() bool { return messagesOn(t, d, ref) == 4 })

	// (d) The same tag from a stranger opens a new ticket.
	imapSrv.Deliver(t, "INBOX", customerMail("Eve <eve@elsewhere.example>", "Re: ["+ref+"] let me in", "eve-1@elsewhere.example", "", "Please add me to this."))
	eveAck := peer.Wait(t, "ack to eve", testenv.To("eve@elsewhere.example"))
	if got := testenv.Ref(t, eveAck); got == ref {
		t.Fatalf("a stranger's guessed [%s] joined the ticket", ref)
	}
	// A guessed token is no better than a guessed reference.
	imapSrv.Deliver(t, "INBOX", strings.Replace(customerMail("Eve <eve@elsewhere.example>", "hello", "eve-2@elsewhere.example", "", "guess"),
		"To: support@example.com", "To: support+"+ref+".aaaaaaaaaaaaaaaa@example.com", 1))
	testenv.WaitFor(t, "eve's second ticket", time.Minute, func() bool { return len(allTickets(t, d)) == 3 })
	if n := messagesOn(t, d, ref); n != 4 {
		t.Fatalf("dan's ticket has %d inbound messages, want 4", n)
	}
}

// TestDedupeAcrossMailboxes: the same mail delivered to two mailboxes is
// one ticket with one acknowledgement.
func TestDedupeAcrossMailboxes(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{Folders: []string{"INBOX", "Sales"}})
	peer := testenv.StartSMTP(t)
	host, port, _ := net.SplitHostPort(imapSrv.Addr())
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), fmt.Sprintf(`
[[mailbox]]
name = "sales"
address = "sales@example.com"
host = %q
port = %s
security = "none"
username = %q
password = "${%s}"
folder = "Sales"
poll_interval = "1s"
`, host, port, testenv.IMAPUser, testenv.IMAPPasswordEnv))
	d := startDaemon(t, cfg, nil)
	raw := strings.Replace(customerMail("Fay <fay@corp.example>", "Cannot log in", "fay-1@corp.example", "Cc: sales@example.com",
		"Nobody in our company can log in since 8:00."), "To: support@example.com", "To: support@example.com", 1)
	imapSrv.Deliver(t, "INBOX", raw)
	imapSrv.Deliver(t, "Sales", raw)
	peer.Wait(t, "ack to fay", testenv.To("fay@corp.example"))
	// Both mailboxes have processed their copy once their checkpoints cover it.
	testenv.WaitFor(t, "both checkpoints", time.Minute, func() bool {
		_, a, _ := d.Store.Checkpoint(context.Background(), "support")
		_, b, _ := d.Store.Checkpoint(context.Background(), "sales")
		return a >= 1 && b >= 1
	})
	if n := len(allTickets(t, d)); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
	acks := 0
	for _, m := range peer.Mails() {
		if testenv.To("fay@corp.example")(m) {
			acks++
		}
	}
	if acks != 1 {
		t.Fatalf("%d acks to fay, want 1", acks)
	}
}

// TestLoopProtection: no automatic reply to automatic mail (RFC 3834), but
// the mail is still kept as a ticket and the agents are told.
func TestLoopProtection(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	d := startDaemon(t, testConfig(t, imapSrv.Addr(), peer.Addr(), ""), nil)
	cases := []struct{ name, from, headers string }{
		{"auto-submitted", "ooo1@a.example", "Auto-Submitted: auto-replied"},
		{"auto-generated", "gen@a.example", "Auto-Submitted: auto-generated"},
		{"precedence bulk", "bulk@a.example", "Precedence: bulk"},
		{"precedence junk", "junk@a.example", "Precedence: junk"},
		{"precedence list", "list1@a.example", "Precedence: list"},
		{"list-id", "list2@a.example", "List-Id: <users.lists.a.example>"},
		{"list-unsubscribe", "list3@a.example", "List-Unsubscribe: <mailto:unsub@a.example>"},
		{"null return path", "nrp@a.example", "Return-Path: <>"},
		{"mailer-daemon", "MAILER-DAEMON@a.example", ""},
		{"postmaster", "postmaster@a.example", ""},
		{"noreply", "noreply@a.example", ""},
		{"no-reply", "no-reply@a.example", ""},
		{"suppress", "sup@a.example", "X-Auto-Response-Suppress: All"},
	}
	for i, c := range cases {
		imapSrv.Deliver(t, "INBOX", customerMail(c.from, "Website is down for everyone", fmt.Sprintf("loop-%d@a.example", i), c.headers,
			"The whole site has been down since 10:00, all users get HTTP 503."))
	}
	// A person's mail after them proves the daemon got this far.
	imapSrv.Deliver(t, "INBOX", customerMail("real@person.example", "Website is down for everyone", "real-1@person.example", "", "Down since 10:00."))
	peer.Wait(t, "the ack to the person", testenv.To("real@person.example"))
	// Every mail is a ticket, except MAILER-DAEMON's, which is read as a
	// delivery report for no mail of ours (kept, on no ticket).
	testenv.WaitFor(t, "all tickets", time.Minute, func() bool { return len(allTickets(t, d)) == len(cases) })
	for _, m := range peer.Mails() {
		for _, c := range cases {
			if testenv.To(strings.ToLower(c.from))(m) || testenv.To(c.from)(m) {
				t.Errorf("%s: automatic mail answered: %q", c.name, m.Header.Get("Subject"))
			}
		}
	}
	for _, tk := range allTickets(t, d) {
		if tk.Customer == "real@person.example" {
			continue
		}
		_, evs := ticketByRef(t, d, tk.Ref)
		if !hasEvent(evs, "ack-suppressed") {
			t.Errorf("%s (%s): no ack-suppressed event", tk.Ref, tk.Customer)
		}
	}

	// Mail from our own address is never answered and opens no ticket.
	imapSrv.Deliver(t, "INBOX", customerMail("Example Support <support@example.com>", "Re: something", "self-1@example.com", "", "loop"))
	imapSrv.Deliver(t, "INBOX", customerMail("real2@person.example", "Question", "real-2@person.example", "", "How do I export a report?"))
	peer.Wait(t, "the ack to the second person", testenv.To("real2@person.example"))
	if n := len(allTickets(t, d)); n != len(cases)+1 {
		t.Fatalf("%d tickets after our own mail, want %d", n, len(cases)+1)
	}
}

// TestBounceAttachesToTicket: a delivery report for our ack becomes a
// delivery-failure event on the ticket, and is not answered.
func TestBounceAttachesToTicket(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	d := startDaemon(t, testConfig(t, imapSrv.Addr(), peer.Addr(), ""), nil)
	imapSrv.Deliver(t, "INBOX", customerMail("gone@old.example", "Prices are wrong on the shop", "gone-1@old.example", "",
		"All products show the wrong prices since this morning."))
	ack := peer.Wait(t, "the ack", testenv.To("gone@old.example"))
	ref := testenv.Ref(t, ack)
	dsn := fmt.Sprintf(`From: Mail Delivery System <MAILER-DAEMON@mx.old.example>
To: support@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.old.example>
Date: Fri, 20 Nov 2026 09:41:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.old.example.
I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.old.example

Final-Recipient: rfc822; gone@old.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@old.example>: Recipient address rejected

--B
Content-Type: text/rfc822-headers

From: Example Support <support@example.com>
To: gone@old.example
Subject: %s
Message-ID: <%s>

--B--
`, ack.Header.Get("Subject"), ack.MessageID())
	imapSrv.Deliver(t, "INBOX", dsn)
	testenv.WaitFor(t, "the delivery-failure event", time.Minute, func() bool {
		_, evs := ticketByRef(t, d, ref)
		return hasEvent(evs, "delivery-failure")
	})
	if n := len(allTickets(t, d)); n != 1 {
		t.Fatalf("%d tickets, want 1: the bounce opened a ticket", n)
	}
}

// TestAutoReplyRateLimit: at most auto_reply_limit automatic replies to one
// sender per window.
func TestAutoReplyRateLimit(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	d := startDaemon(t, testConfig(t, imapSrv.Addr(), peer.Addr(), "[desk]\nauto_reply_limit = 3\n"), nil)
	_ = d
	for i := 0; i < 5; i++ {
		imapSrv.Deliver(t, "INBOX", customerMail("chatty@a.example", fmt.Sprintf("Question %d", i), fmt.Sprintf("chatty-%d@a.example", i), "", "How do I export?"))
	}
	testenv.WaitFor(t, "five tickets", time.Minute, func() bool { return len(allTickets(t, d)) == 5 })
	imapSrv.Deliver(t, "INBOX", customerMail("other@a.example", "Question", "other-1@a.example", "", "How do I export?"))
	peer.Wait(t, "ack to other", testenv.To("other@a.example"))
	n := 0
	for _, m := range peer.Mails() {
		if testenv.To("chatty@a.example")(m) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d acks to one sender, want the limit 3", n)
	}
}
