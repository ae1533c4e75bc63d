package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
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

func refOf(t *testing.T, m capturedMail) string {
	t.Helper()
	s := m.header("Subject")
	i, j := strings.LastIndex(s, "["), strings.LastIndex(s, "]")
	if i < 0 || j < i {
		t.Fatalf("no reference in subject %q", s)
	}
	return s[i+1 : j]
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
	imapSrv := newIMAPServer(t)
	peer := newSMTPCapture(t)
	d := startDaemon(t, testConfig(t, imapSrv.addr, peer.addr, ""), nil)

	imapSrv.appendMail(t, customerMail("Dan <dan@retail.example>", "Dashboard very slow", "dan-1@retail.example", "",
		"The reporting dashboard takes a minute to load for some users since Monday."))
	ack := peer.wait(t, "ack to dan", to("dan@retail.example"))
	ref := refOf(t, ack)

	// (a) By References to our ack, with a changed subject and no tag.
	imapSrv.appendMail(t, customerMail("Dan <dan@retail.example>", "more info", "dan-2@retail.example",
		"In-Reply-To: <"+msgID(ack)+">\nReferences: <dan-1@retail.example> <"+msgID(ack)+">", "Error: timeout after 60s"))
	// (b) By the ticket's reply address alone.
	imapSrv.appendMail(t, strings.Replace(customerMail("Dan <dan@retail.example>", "from my phone", "dan-3@retail.example", "", "Steps: open Reports"),
		"To: support@example.com", "To: "+replyTo(t, ack), 1))
	// (c) By subject tag from the customer.
	imapSrv.appendMail(t, customerMail("Dan <dan@retail.example>", "Re: ["+ref+"] still slow", "dan-4@retail.example", "", "Still slow."))
	waitFor(t, "four messages on the ticket", func() bool { return messagesOn(t, d, ref) == 4 })

	// (d) The same tag from a stranger opens a new ticket.
	imapSrv.appendMail(t, customerMail("Eve <eve@elsewhere.example>", "Re: ["+ref+"] let me in", "eve-1@elsewhere.example", "", "Please add me to this."))
	eveAck := peer.wait(t, "ack to eve", to("eve@elsewhere.example"))
	if got := refOf(t, eveAck); got == ref {
		t.Fatalf("a stranger's guessed [%s] joined the ticket", ref)
	}
	// A guessed token is no better than a guessed reference.
	imapSrv.appendMail(t, strings.Replace(customerMail("Eve <eve@elsewhere.example>", "hello", "eve-2@elsewhere.example", "", "guess"),
		"To: support@example.com", "To: support+"+ref+".aaaaaaaaaaaaaaaa@example.com", 1))
	waitFor(t, "eve's second ticket", func() bool { return len(allTickets(t, d)) == 3 })
	if n := messagesOn(t, d, ref); n != 4 {
		t.Fatalf("dan's ticket has %d inbound messages, want 4", n)
	}
}

// TestDedupeAcrossMailboxes: the same mail delivered to two mailboxes is
// one ticket with one acknowledgement.
func TestDedupeAcrossMailboxes(t *testing.T) {
	imapSrv := newIMAPServer(t)
	peer := newSMTPCapture(t)
	host, port := splitHostPort(imapSrv.addr)
	cfg := testConfig(t, imapSrv.addr, peer.addr, fmt.Sprintf(`
[[mailbox]]
name = "sales"
address = "sales@example.com"
host = %q
port = %s
security = "none"
username = %q
password = "${HD_TEST_IMAP}"
folder = "Sales"
poll_interval = "1s"
`, host, port, imapUser))
	d := startDaemon(t, cfg, nil)
	raw := strings.Replace(customerMail("Fay <fay@corp.example>", "Cannot log in", "fay-1@corp.example", "Cc: sales@example.com",
		"Nobody in our company can log in since 8:00."), "To: support@example.com", "To: support@example.com", 1)
	imapSrv.appendTo(t, "INBOX", raw)
	imapSrv.appendTo(t, "Sales", raw)
	peer.wait(t, "ack to fay", to("fay@corp.example"))
	// Both mailboxes have processed their copy once their checkpoints cover it.
	waitFor(t, "both checkpoints", func() bool {
		_, a, _ := d.Store.Checkpoint(context.Background(), "support")
		_, b, _ := d.Store.Checkpoint(context.Background(), "sales")
		return a >= 1 && b >= 1
	})
	if n := len(allTickets(t, d)); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
	acks := 0
	for _, m := range peer.mails() {
		if to("fay@corp.example")(m) {
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
	imapSrv := newIMAPServer(t)
	peer := newSMTPCapture(t)
	d := startDaemon(t, testConfig(t, imapSrv.addr, peer.addr, ""), nil)
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
		imapSrv.appendMail(t, customerMail(c.from, "Website is down for everyone", fmt.Sprintf("loop-%d@a.example", i), c.headers,
			"The whole site has been down since 10:00, all users get HTTP 503."))
	}
	// A person's mail after them proves the daemon got this far.
	imapSrv.appendMail(t, customerMail("real@person.example", "Website is down for everyone", "real-1@person.example", "", "Down since 10:00."))
	peer.wait(t, "the ack to the person", to("real@person.example"))
	// Every mail is a ticket, except MAILER-DAEMON's, which is read as a
	// delivery report for no mail of ours (kept, on no ticket).
	waitFor(t, "all tickets", func() bool { return len(allTickets(t, d)) == len(cases) })
	for _, m := range peer.mails() {
		for _, c := range cases {
			if to(strings.ToLower(c.from))(m) || to(c.from)(m) {
				t.Errorf("%s: automatic mail answered: %q", c.name, m.header("Subject"))
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
	imapSrv.appendMail(t, customerMail("Example Support <support@example.com>", "Re: something", "self-1@example.com", "", "loop"))
	imapSrv.appendMail(t, customerMail("real2@person.example", "Question", "real-2@person.example", "", "How do I export a report?"))
	peer.wait(t, "the ack to the second person", to("real2@person.example"))
	if n := len(allTickets(t, d)); n != len(cases)+1 {
		t.Fatalf("%d tickets after our own mail, want %d", n, len(cases)+1)
	}
}

// TestBounceAttachesToTicket: a delivery report for our ack becomes a
// delivery-failure event on the ticket, and is not answered.
func TestBounceAttachesToTicket(t *testing.T) {
	imapSrv := newIMAPServer(t)
	peer := newSMTPCapture(t)
	d := startDaemon(t, testConfig(t, imapSrv.addr, peer.addr, ""), nil)
	imapSrv.appendMail(t, customerMail("gone@old.example", "Prices are wrong on the shop", "gone-1@old.example", "",
		"All products show the wrong prices since this morning."))
	ack := peer.wait(t, "the ack", to("gone@old.example"))
	ref := refOf(t, ack)
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
`, ack.header("Subject"), msgID(ack))
	imapSrv.appendMail(t, dsn)
	waitFor(t, "the delivery-failure event", func() bool {
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
	imapSrv := newIMAPServer(t)
	peer := newSMTPCapture(t)
	d := startDaemon(t, testConfig(t, imapSrv.addr, peer.addr, "[desk]\nauto_reply_limit = 3\n"), nil)
	_ = d
	for i := 0; i < 5; i++ {
		imapSrv.appendMail(t, customerMail("chatty@a.example", fmt.Sprintf("Question %d", i), fmt.Sprintf("chatty-%d@a.example", i), "", "How do I export?"))
	}
	waitFor(t, "five tickets", func() bool { return len(allTickets(t, d)) == 5 })
	imapSrv.appendMail(t, customerMail("other@a.example", "Question", "other-1@a.example", "", "How do I export?"))
	peer.wait(t, "ack to other", to("other@a.example"))
	n := 0
	for _, m := range peer.mails() {
		if to("chatty@a.example")(m) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d acks to one sender, want the limit 3", n)
	}
}
