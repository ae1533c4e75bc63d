package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// bigMail is a mail of about size bytes: headers (extra: more of them,
// one per line), a line of text and a base64 attachment.
func bigMail(from, subject, id, extra string, size int) string {
	if extra != "" {
		extra += "\n"
	}
	data := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("log line 0123456789 abcdefghij\n", size*3/4/31+1)))
	var b strings.Builder
	for len(data) > 76 {
		b.WriteString(data[:76] + "\n")
		data = data[76:]
	}
	b.WriteString(data + "\n")
	return fmt.Sprintf(`From: %s
To: support@example.com
Subject: %s
Message-ID: <%s>
Date: Fri, 20 Nov 2026 09:40:00 +0000
%sMIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

BODY-TEXT-NOBODY-READ: the logs are attached.

--b1
Content-Type: text/plain; name="server.log"
Content-Disposition: attachment; filename="server.log"
Content-Transfer-Encoding: base64

%s--b1--
`, from, subject, id, extra, b.String())
}

// ticketEvents returns the events of the ticket ref.
func ticketEvents(t *testing.T, m *Main, ref string) []helpdesk.Event {
	t.Helper()
	var es []helpdesk.Event
	if err := m.Store.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		es, err = tx.Events(tk.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return es
}

// eventOf returns the first event of kind on ref whose detail contains
// all of want, or fails t.
func eventOf(t *testing.T, m *Main, ref string, kind helpdesk.EventKind, want ...string) helpdesk.Event {
	t.Helper()
	var all []string
	for _, e := range ticketEvents(t, m, ref) {
		if e.Kind != kind {
			continue
		}
		all = append(all, e.Detail)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(e.Detail, w)
		}
		if ok {
			return e
		}
	}
	t.Fatalf("%s has no %s event with %q; its %s events: %q", ref, kind, want, kind, all)
	return helpdesk.Event{}
}

// folderStatus returns how many mails the IMAP folder holds and their
// total size.
func folderStatus(t *testing.T, srv *testenv.IMAP, folder string) (n uint32, size int64) {
	t.Helper()
	st, err := srv.User().Status(folder, &imap.StatusOptions{NumMessages: true, Size: true})
	if err != nil {
		return 0, 0 // not created yet
	}
	return *st.NumMessages, *st.Size
}

// TestOversizeMail sends mail above the mailbox's max_message_size through
// the in-process IMAP server and the SMTP capture (issue 16): a new
// customer's mail, a mailing list's, a customer's reply on a ticket and an
// agent's reply. Each is recorded by its header with an oversize event
// naming its size, the limit and the quarantine folder, and moved there
// whole; the agents are told; a human sender is asked to send it again
// smaller, split or as a link, once; the mailing list gets nothing; the
// agent's mail runs no command and relays nothing.
func TestOversizeMail(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testenv.Config{IMAP: imapSrv.Addr(), SMTP: peer.Addr(), Mailbox: "team = \"first-line\"\nmax_message_size = \"64KB\"",
		Agents: testenv.Team}.Load(t)
	d := startDaemon(t, cfg, nil)

	// 1. A new customer's mail of about 200 KB.
	big := bigMail("Carol <carol@shop.example>", "Logs of the outage", "carol-big@shop.example", "", 200<<10)
	imapSrv.Deliver(t, "INBOX", big)
	notice := peer.Wait(t, "the too-large notice to carol", testenv.To("carol@shop.example"))
	ref := testenv.Ref(t, notice)
	if got, want := notice.Header.Get("Subject"), "Re: Logs of the outage ["+ref+"]"; got != want {
		t.Errorf("notice subject %q, want %q", got, want)
	}
	if got := notice.Header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("notice Auto-Submitted = %q, want auto-replied", got)
	}
	if got := notice.Header.Get("In-Reply-To"); got != "<carol-big@shop.example>" {
		t.Errorf("notice In-Reply-To = %q, want the big mail", got)
	}
	text := atkBody(t, notice)
	for _, w := range []string{"more than the 64 KB we can accept", "could not read it", "logged it as ticket " + ref, "smaller:", "split:", "as a link:"} {
		if !strings.Contains(text, w) {
			t.Errorf("notice to carol lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "We have given it") {
		t.Errorf("carol got the ordinary acknowledgement, as if her mail had been read:\n%s", text)
	}
	note := peer.Wait(t, "alice's notification", testenv.And(testenv.To("alice@example.com"), testenv.Subject(ref)))
	for _, w := range []string{"more than this mailbox's limit of 64 KB, so only its header was read", `IMAP folder "Quarantine" of mailbox support`} {
		if body := atkBody(t, note); !strings.Contains(strings.Join(strings.Fields(body), " "), w) {
			t.Errorf("alice's notification lacks %q:\n%s", w, body)
		}
	}
	ev := eventOf(t, d, ref, helpdesk.EventOversize, `is larger than the mailbox's max_message_size of 64 KB`, `IMAP folder "Quarantine"`)
	if ev.MessageID != "carol-big@shop.example" || ev.Actor != "carol@shop.example" {
		t.Errorf("oversize event %+v, want it to name carol and her mail", ev)
	}
	// The record: her mail, by its header, on the ticket.
	if err := d.Store.View(context.Background(), func(tx *store.ReadTx) error {
		raw, err := tx.Raw("carol-big@shop.example")
		if err != nil {
			return err
		}
		if s := string(raw); !strings.Contains(s, "Subject: Logs of the outage") || strings.Contains(s, "BODY-TEXT-NOBODY-READ") || len(raw) > 4096 {
			t.Errorf("stored raw mail (%d bytes) is not the header alone:\n%.400s", len(raw), s)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the big mail in quarantine, whole", time.Minute, func() bool {
		n, size := folderStatus(t, imapSrv, "Quarantine")
		return n == 1 && size >= 200<<10
	})
	if n, _ := folderStatus(t, imapSrv, "INBOX"); n != 0 {
		t.Errorf("INBOX holds %d mails, want 0 (the big mail moved to quarantine)", n)
	}

	// 2. A mailing list's big mail: recorded, agents told, no answer.
	imapSrv.Deliver(t, "INBOX", bigMail("Weekly News <news@lists.example>", "Our weekly digest", "digest-1@lists.example",
		"Precedence: bulk\nList-Id: <weekly.lists.example>\nList-Unsubscribe: <mailto:leave@lists.example>", 100<<10))
	testenv.WaitFor(t, "the digest in quarantine", time.Minute, func() bool { n, _ := folderStatus(t, imapSrv, "Quarantine"); return n == 2 })
	var digest string
	for _, tk := range allTickets(t, d) {
		if tk.Customer == "news@lists.example" {
			digest = tk.Ref
		}
	}
	if digest == "" {
		t.Fatal("no ticket for the mailing list's big mail")
	}
	eventOf(t, d, digest, helpdesk.EventOversize, "64 KB")
	eventOf(t, d, digest, helpdesk.EventAckSuppressed, "automatic mail")
	peer.Wait(t, "the agents told of the digest", testenv.And(testenv.To("bob@example.com"), testenv.Subject(digest)))

	// 3. A known customer's big reply on her ticket.
	imapSrv.Deliver(t, "INBOX", customerMail("Dan <dan@retail.example>", "Dashboard very slow", "dan-1@retail.example", "",
		"The reporting dashboard takes a minute to load for some users since Monday."))
	ack := peer.Wait(t, "the ack to dan", testenv.To("dan@retail.example"))
	danRef := testenv.Ref(t, ack)
	imapSrv.Deliver(t, "INBOX", bigMail("Dan <dan@retail.example>", "Re: Dashboard very slow ["+danRef+"]", "dan-2@retail.example",
		"In-Reply-To: <"+ack.MessageID()+">\nReferences: <dan-1@retail.example> <"+ack.MessageID()+">", 100<<10))
	again := peer.Wait(t, "the too-large notice to dan", testenv.And(testenv.To("dan@retail.example"), testenv.Subject(danRef),
		func(m testenv.Mail) bool { return m.MessageID() != ack.MessageID() }))
	if text := atkBody(t, again); !strings.Contains(text, "could not read it") || !strings.Contains(text, "Hello Dan,") {
		t.Errorf("notice to dan:\n%s", text)
	}
	if got := again.Header.Get("In-Reply-To"); got != "<dan-2@retail.example>" {
		t.Errorf("notice to dan In-Reply-To = %q, want his big mail", got)
	}
	if n := messagesOn(t, d, danRef); n != 2 {
		t.Errorf("dan's ticket has %d inbound messages, want 2 (the reply joined it)", n)
	}
	eventOf(t, d, danRef, helpdesk.EventOversize, "64 KB")
	peer.Wait(t, "alice told of dan's reply", testenv.And(testenv.To("alice@example.com"), testenv.Subject(danRef), func(m testenv.Mail) bool {
		return strings.Contains(strings.Join(strings.Fields(atkBody(t, m)), " "), "only its header was read")
	}))

	// 4. Alice's big reply to carol's ticket: no command, no relay.
	aliceAddr := testenv.Address(t, note, "Reply-To")
	imapSrv.Deliver(t, "INBOX", strings.Replace(bigMail("Alice <alice@example.com>", "Re: "+note.Header.Get("Subject"), "alice-big@example.com",
		"In-Reply-To: <"+note.MessageID()+">\nReferences: <"+note.MessageID()+">", 100<<10), "To: support@example.com", "To: "+aliceAddr, 1))
	toAlice := peer.Wait(t, "the too-large notice to alice", testenv.And(testenv.To("alice@example.com"), testenv.Subject("too large, not read")))
	if text := atkBody(t, toAlice); !strings.Contains(text, "no command in it was run") {
		t.Errorf("notice to alice:\n%s", text)
	}
	eventOf(t, d, ref, helpdesk.EventAgentMail, "no command run, nothing relayed")
	testenv.WaitFor(t, "four mails in quarantine", time.Minute, func() bool { n, _ := folderStatus(t, imapSrv, "Quarantine"); return n == 4 })
	if n := peer.Count(testenv.To("carol@shop.example")); n != 1 {
		t.Errorf("carol got %d mails, want 1 (alice's unread mail relayed nothing)", n)
	}
	if n := peer.Count(testenv.To("news@lists.example")); n != 0 {
		t.Errorf("the mailing list got %d mails, want none", n)
	}
	if n := peer.Count(testenv.To("dan@retail.example")); n != 2 {
		t.Errorf("dan got %d mails, want 2 (ack, too-large notice)", n)
	}
}

// TestUIDsReusedAfterRestore runs the daemon against an IMAP server that
// is restored from a backup which numbers INBOX from 1 again under the
// same UIDVALIDITY (issue 16): a mail the desk has and a new one come back
// under UIDs the checkpoint already covers. The daemon logs an error
// naming the mailbox, the checkpoint and the server's UIDNEXT, rescans,
// opens a ticket for the new mail (before, it was flagged unread: silent
// loss), does not answer the old one twice, and reads the next mail, whose
// UID is the old checkpoint, as new.
func TestUIDsReusedAfterRestore(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	logs := &logBuffer{t: t}
	m := &Main{Config: testConfig(t, imapSrv.Addr(), peer.Addr(), ""),
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	runMain(t, m)

	var raws []string
	for i, who := range []string{"Ann <ann@a.example>", "Ben <ben@b.example>", "Cat <cat@c.example>"} {
		raw := customerMail(who, fmt.Sprintf("Question %d", i+1), fmt.Sprintf("q%d@customers.example", i+1), "", "How do I export my invoices?")
		raws = append(raws, raw)
		imapSrv.Deliver(t, "INBOX", raw)
	}
	for _, to := range []string{"ann@a.example", "ben@b.example", "cat@c.example"} {
		peer.Wait(t, "the ack to "+to, testenv.To(to))
	}
	testenv.WaitFor(t, "the checkpoint at uid 3", time.Minute, func() bool {
		_, last, _ := m.Store.Checkpoint(context.Background(), "support")
		return last == 3
	})
	uv, _, _ := m.Store.Checkpoint(context.Background(), "support")

	imapSrv.RestoreBreakingUIDs(t, "INBOX", testenv.CRLF(raws[0]),
		testenv.CRLF(customerMail("Dan <dan@d.example>", "Cannot log in", "dan-1@d.example", "", "Nobody here can log in since 9:00.")))
	peer.Wait(t, "the ack to dan, whose mail came under a reused UID", testenv.To("dan@d.example"))
	line := logs.line("reused UIDs")
	for _, w := range []string{"level=ERROR", "mailbox=support", fmt.Sprintf("uidvalidity=%d", uv), "checkpoint=3", "server_says=UIDNEXT", "value=3"} {
		if !strings.Contains(line, w) {
			t.Errorf("the reuse log line %q lacks %q", line, w)
		}
	}

	testenv.WaitFor(t, "the checkpoint moved back to dan's uid 2", time.Minute, func() bool {
		_, last, _ := m.Store.Checkpoint(context.Background(), "support")
		return last == 2
	})

	imapSrv.Deliver(t, "INBOX", customerMail("Eve <eve@e.example>", "Invoice copy", "eve-1@e.example", "", "Please send a copy of invoice 42."))
	peer.Wait(t, "the ack to eve, under uid 3", testenv.To("eve@e.example"))
	testenv.WaitFor(t, "the checkpoint at eve's uid 3", time.Minute, func() bool {
		_, last, _ := m.Store.Checkpoint(context.Background(), "support")
		return last == 3
	})
	if n := len(allTickets(t, m)); n != 5 {
		t.Errorf("%d tickets, want 5 (ann, ben, cat, dan, eve)", n)
	}
	if n := peer.Count(testenv.To("ann@a.example")); n != 1 {
		t.Errorf("ann got %d acks, want 1: her restored mail was recognised", n)
	}
}
