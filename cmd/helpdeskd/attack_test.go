package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// Attack tests (issue 13): each plays an outsider who has nothing but mail
// against the real daemon, through the in-process IMAP server and the
// go-smtp peer, and checks what must not happen. Every "nothing was sent"
// is asserted only after something sent later has arrived and the outbox
// is empty, so that a test cannot pass by looking too early.

// atkTrusted is the [desk] table of the attack desks: our MX writes its
// results as mx.example.com (received_hops stays the default 1, so the
// topmost Received: field is the boundary).
const atkTrusted = "[desk]\ntrusted_authserv_ids = [\"mx.example.com\"]\n"

const (
	atkAlice = "alice@example.com"
	atkBob   = "bob@example.com"
)

// atkDesk is one running daemon with its IMAP server and SMTP peer.
type atkDesk struct {
	imap *testenv.IMAP
	peer *testenv.SMTP
	cfg  *config.Config
	d    *Main
}

func newAtkDesk(t *testing.T, deskKeys string) *atkDesk {
	t.Helper()
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), atkTrusted+deskKeys)
	return &atkDesk{imap: imapSrv, peer: peer, cfg: cfg, d: startDaemon(t, cfg, nil)}
}

var atkSeq atomic.Int64

// atkID returns a fresh Message-ID (without brackets) in domain.
func atkID(tag, domain string) string {
	return fmt.Sprintf("%s.%d.%d@%s", tag, time.Now().UnixNano(), atkSeq.Add(1), domain)
}

// atkAddr returns a fresh address in domain.
func atkAddr(local, domain string) string {
	return fmt.Sprintf("%s.%d@%s", local, atkSeq.Add(1), domain)
}

// atkDate is a Date: value for now.
func atkDate() string { return time.Now().UTC().Format(time.RFC1123Z) }

// atkOurReceived is the Received: field with which our MX, mx.example.com,
// took a mail from host: the boundary.
func atkOurReceived(host, ip string) string {
	return fmt.Sprintf("Received: from %s (%s [%s])\n\tby mx.example.com (Postfix) with ESMTPS id 4Z%dQx\n\tfor <support@example.com>; %s\n",
		host, host, ip, atkSeq.Add(1), atkDate())
}

// atkGenuinePass is what our MX writes on top of a mail from our own domain
// that passed DKIM and SPF, followed by its boundary Received: field.
func atkGenuinePass() string {
	return "Authentication-Results: mx.example.com;\n\tdkim=pass header.d=example.com header.s=sel1 header.b=Xy12AbCd;\n\tspf=pass smtp.mailfrom=alice@example.com\n" +
		atkOurReceived("mail-out.example.com", "198.51.100.7")
}

// atkInReplyTo matches a mail that answers the message id.
func atkInReplyTo(id string) testenv.Match {
	return func(m testenv.Mail) bool { return strings.Trim(m.Header.Get("In-Reply-To"), "<> ") == id }
}

// atkHeader returns a header field of a captured mail with RFC 2047 words decoded.
func atkHeader(m testenv.Mail, key string) string {
	v := m.Header.Get(key)
	if d, err := (&mime.WordDecoder{}).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// atkBody returns the decoded text of every leaf part of a captured mail
// (quoted-printable and base64 undone), text and HTML alike.
func atkBody(t *testing.T, m testenv.Mail) string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(m.Raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		t.Fatalf("reading captured mail %q: %v", m.Header.Get("Subject"), err)
	}
	var b strings.Builder
	err = e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil {
			return err
		}
		if mt, _, _ := p.Header.ContentType(); strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		body, err := io.ReadAll(p.Body)
		b.Write(body)
		b.WriteByte('\n')
		return err
	})
	if err != nil {
		t.Fatalf("walking captured mail %q: %v", m.Header.Get("Subject"), err)
	}
	return b.String()
}

// atkAllHeaders returns every header field of a captured mail, decoded.
func atkAllHeaders(m testenv.Mail) string {
	var b strings.Builder
	for k := range m.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, atkHeader(m, k))
	}
	return b.String()
}

// atkRefIn returns the ticket reference at the end of a subject.
func atkRefIn(t *testing.T, subject string) string {
	t.Helper()
	i, j := strings.LastIndex(subject, "["), strings.LastIndex(subject, "]")
	if i < 0 || j < i {
		t.Fatalf("no reference in subject %q", subject)
	}
	return subject[i+1 : j]
}

// atkRcpt reports whether any RCPT TO of m satisfies f.
func atkRcpt(m testenv.Mail, f func(addr string) bool) bool {
	for _, r := range m.To {
		if f(strings.ToLower(r)) {
			return true
		}
	}
	return false
}

// atkTicket is a ticket a customer opened, as the agents and the customer saw it.
type atkTicket struct {
	ref       string
	customer  string
	subject   string
	firstID   string       // Message-ID of the customer's first mail
	ack       testenv.Mail // the customer's acknowledgement
	notice    testenv.Mail // alice's notification of the new ticket
	aliceAddr string       // alice's personal reply address for the ticket
}

// open has a customer write to support and waits for the ack and alice's
// notification.
func (a *atkDesk) open(t *testing.T, name, customer, subject, headers string) atkTicket {
	t.Helper()
	id := atkID("first", customer[strings.LastIndexByte(customer, '@')+1:])
	a.imap.Deliver(t, "INBOX", fmt.Sprintf(`%sFrom: %s <%s>
To: support@example.com
Subject: %s
Message-ID: <%s>
Date: %s

Hello,

since this morning the page fails with an error for everybody in our office.

Regards,
%s
`, headers, name, customer, subject, id, atkDate(), name))
	ack := a.peer.Wait(t, "the ack to "+customer, testenv.And(testenv.To(customer), atkInReplyTo(id)))
	ref := atkRefIn(t, atkHeader(ack, "Subject"))
	notice := a.peer.Wait(t, "alice's notification of "+ref, testenv.And(testenv.To(atkAlice), atkInReplyTo(id)))
	return atkTicket{ref: ref, customer: customer, subject: subject, firstID: id, ack: ack, notice: notice,
		aliceAddr: testenv.Address(t, notice, "Reply-To")}
}

// atkState is a ticket as the store holds it.
type atkState struct {
	ticket *helpdesk.Ticket
	events []helpdesk.Event
	msgs   []store.StoredMessage
	people []store.Participant
}

func (a *atkDesk) state(t *testing.T, ref string) atkState {
	t.Helper()
	var s atkState
	err := a.d.Store.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		if s.ticket, err = tx.TicketByRef(ref); err != nil {
			return err
		}
		if s.events, err = tx.Events(s.ticket.ID); err != nil {
			return err
		}
		if s.msgs, err = tx.Messages(s.ticket.ID); err != nil {
			return err
		}
		s.people, err = tx.Participants(s.ticket.ID)
		return err
	})
	if err != nil {
		t.Fatalf("ticket %s: %v", ref, err)
	}
	return s
}

// refByMessageID returns the reference of the ticket a mail is on, "" if none.
func (a *atkDesk) refByMessageID(t *testing.T, id string) string {
	t.Helper()
	ref := ""
	err := a.d.Store.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByMessageID(id)
		if err == store.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		ref = tk.Ref
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (s atkState) event(kind helpdesk.EventKind, id string) (helpdesk.Event, bool) {
	for _, e := range s.events {
		if e.Kind == kind && (id == "" || e.MessageID == id) {
			return e, true
		}
	}
	return helpdesk.Event{}, false
}

func (s atkState) message(id string) (store.StoredMessage, bool) {
	for _, m := range s.msgs {
		if m.MessageID == id {
			return m, true
		}
	}
	return store.StoredMessage{}, false
}

func (s atkState) participant(addr string) (store.Participant, bool) {
	for _, p := range s.people {
		if strings.EqualFold(p.Email, addr) {
			return p, true
		}
	}
	return store.Participant{}, false
}

// handled waits until the mail id is stored on a ticket (in the same
// transaction as every event and every mail it caused) and the outbox has
// sent all it holds, and returns the state of that ticket, which must be ref.
func (a *atkDesk) handled(t *testing.T, ref, id string) atkState {
	t.Helper()
	var on string
	testenv.WaitFor(t, fmt.Sprintf("<%s> to be stored on a ticket", id), time.Minute, func() bool {
		on = a.refByMessageID(t, id)
		return on != ""
	})
	if on != ref {
		t.Fatalf("<%s> was filed on %s, want %s", id, on, ref)
	}
	a.drain(t)
	return a.state(t, ref)
}

// sent returns the first captured mail matching f.
func (a *atkDesk) sent(f func(testenv.Mail) bool) (testenv.Mail, bool) {
	for _, m := range a.peer.Mails() {
		if f(m) {
			return m, true
		}
	}
	return testenv.Mail{}, false
}

// drain waits until the outbox has sent everything it holds, so that the
// captured mails are all the daemon has decided to send so far.
func (a *atkDesk) drain(t *testing.T) {
	t.Helper()
	testenv.WaitFor(t, "an empty outbox", time.Minute, func() bool {
		p, _, err := a.d.Store.OutboxCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return p == 0
	})
	if _, f, _ := a.d.Store.OutboxCounts(context.Background()); f != 0 {
		t.Errorf("%d outbox mails failed", f)
	}
}

// noMailTo fails for any captured mail with addr among its RCPT TO.
func (a *atkDesk) noMailTo(t *testing.T, addr string) {
	t.Helper()
	for _, m := range a.peer.Mails() {
		if testenv.To(addr)(m) {
			t.Errorf("%s received mail %q (RCPT %v)", addr, atkHeader(m, "Subject"), m.To)
		}
	}
}

// notRelayed fails when text reached the customer, in any captured mail or
// in any message the ticket sent to the customer's side.
func (a *atkDesk) notRelayed(t *testing.T, tk atkTicket, text string) {
	t.Helper()
	for _, m := range a.peer.Mails() {
		if testenv.To(tk.customer)(m) && strings.Contains(atkBody(t, m), text) {
			t.Errorf("%q reached the customer in %q", text, atkHeader(m, "Subject"))
		}
	}
	for _, m := range a.state(t, tk.ref).msgs {
		if m.Kind == helpdesk.KindRelay || m.Kind == helpdesk.KindResolution {
			if strings.Contains(m.Text, text) {
				t.Errorf("%s holds a %s message carrying %q", tk.ref, m.Kind, text)
			}
		}
	}
}

// trustEvents reads helpdesk_trust_events_total{kind} from the daemon's registry.
func trustEvents(t *testing.T, d *Main, kind string) float64 {
	t.Helper()
	mfs, err := d.Metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "helpdesk_trust_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestAttackForgedAuthenticationResults: the attacker writes an
// Authentication-Results field naming our MX and saying dkim=pass for our
// domain, under a From of agent Alice and the ticket's subject tag, to close
// the ticket and Cc themselves. The field stands below the Received: field
// with which our MX took the mail, where our MX never writes: no command
// may run, nothing may be relayed, and the mail must be flagged as forged.
// The same result genuinely written on top still proves Alice.
func TestAttackForgedAuthenticationResults(t *testing.T) {
	a := newAtkDesk(t, "")

	// fakeHop is a Received: field the attacker writes, claiming our MX:
	// only the topmost Received: field is ours.
	fakeHop := func() string {
		return "Received: from laptop.evil.example ([192.168.1.20])\n\tby mx.example.com (Postfix) with ESMTPSA id 4ZFAKE1; " + atkDate() + "\n"
	}
	// forged sends the attack: top is what our MX wrote above its
	// Received: field, between what stands between that and the forged
	// result. sayForged: the suspicious event must call the result forged
	// (it stands directly below our boundary).
	forged := func(t *testing.T, top, between string, sayForged bool) {
		tk := a.open(t, "Dana Buyer", atkAddr("dana", "shop.example"), "Invoices page shows error 500", "")
		id := atkID("forged", "evil.example")
		a.imap.Deliver(t, "INBOX", top+atkOurReceived("mail.evil.example", "203.0.113.66")+between+fmt.Sprintf(
			`Authentication-Results: mx.example.com; dkim=pass header.d=example.com header.s=sel1; spf=pass smtp.mailfrom=alice@example.com
%sFrom: Alice <alice@example.com>
To: support@example.com
Subject: Re: Invoices page shows error 500 [%s]
Message-ID: <%s>
Date: %s

#status closed
#cc attacker@evil.example

FORGED-RELAY-TEXT Dear customer, please re-enter your card at http://evil.example/pay
`, fakeHop(), tk.ref, id, atkDate()))
		s := a.handled(t, tk.ref, id)
		if ev, ok := s.event("suspicious", id); !ok || sayForged && !strings.Contains(ev.Detail, "forged") {
			t.Errorf("suspicious event = %q (found %v), want one that says forged (%v)", ev.Detail, ok, sayForged)
		}
		// The agents are told about the mail, after anything it could have
		// caused was sent.
		if _, ok := a.sent(testenv.And(testenv.To(atkAlice), atkInReplyTo(id))); !ok {
			t.Errorf("the agents were not told about the forged mail")
		}
		if s.ticket.Status != helpdesk.StatusOpen {
			t.Errorf("status = %s: the forged mail ran #status closed", s.ticket.Status)
		}
		for _, kind := range []helpdesk.EventKind{helpdesk.EventAgentMail, helpdesk.EventStatus, helpdesk.EventCc, helpdesk.EventRelayed} {
			if e, ok := s.event(kind, id); ok {
				t.Errorf("the forged mail caused a %s event: %q", kind, e.Detail)
			}
		}
		if p, ok := s.participant("attacker@evil.example"); ok {
			t.Errorf("attacker@evil.example is a participant (%s)", p.Role)
		}
		if m, ok := s.message(id); !ok || m.Kind != helpdesk.KindOutsider {
			t.Errorf("forged mail kept as %q (found %v), want outsider", m.Kind, ok)
		}
		a.noMailTo(t, "attacker@evil.example")
		a.notRelayed(t, tk, "FORGED-RELAY-TEXT")
	}

	t.Run("forged pass below our Received, no genuine result", func(t *testing.T) {
		forged(t, "", "", true)
	})
	t.Run("forged pass below a genuine dkim=fail of our MX", func(t *testing.T) {
		forged(t, "Authentication-Results: mx.example.com;\n\tdkim=fail (signature verification failed) header.d=example.com header.s=sel1;\n\tspf=softfail smtp.mailfrom=alice@example.com\n", "", true)
	})
	// The forged result further down, under a fake hop of "our MX": it
	// proves nothing either way, and the mail is still no agent's.
	t.Run("forged pass below a fake Received claiming our MX", func(t *testing.T) {
		forged(t, "", fakeHop(), false)
	})

	// The real thing: our MX's dkim=pass above its Received: field.
	t.Run("genuine pass above our Received runs the command", func(t *testing.T) {
		tk := a.open(t, "Erin Client", atkAddr("erin", "shop.example"), "Cannot download the monthly report", "")
		id := atkID("alice-dkim", "example.com")
		a.imap.Deliver(t, "INBOX", atkGenuinePass()+fmt.Sprintf(`From: Alice <alice@example.com>
To: support@example.com
Subject: Re: Cannot download the monthly report [%s]
Message-ID: <%s>
Date: %s

#status pending

GENUINE-RELAY-TEXT Could you tell us which browser you use?
`, tk.ref, id, atkDate()))
		s := a.handled(t, tk.ref, id)
		relay, ok := a.sent(testenv.And(testenv.To(tk.customer), func(m testenv.Mail) bool {
			return strings.Contains(atkBody(t, m), "GENUINE-RELAY-TEXT")
		}))
		if !ok {
			t.Errorf("alice's text was not relayed to the customer")
		} else if strings.Contains(atkBody(t, relay), "#status") {
			t.Errorf("relay carries the command line:\n%s", atkBody(t, relay))
		}
		if s.ticket.Status != helpdesk.StatusPending {
			t.Errorf("status = %s, want pending: a genuine dkim=pass did not prove alice", s.ticket.Status)
		}
		if e, ok := s.event("agent-mail", id); !ok || !strings.Contains(e.Detail, "dkim=pass from mx.example.com") {
			t.Errorf("agent-mail event = %+v (found %v), want proof dkim=pass from mx.example.com", e, ok)
		}
		if e, ok := s.event("suspicious", id); ok {
			t.Errorf("a genuine result was flagged: %q", e.Detail)
		}
	})
}

// TestAttackLeakedAgentAddress: Mallory got hold of Alice's personal reply
// address for a ticket (a forwarded notification) and mails it from her
// own From to close the ticket and speak to the customer. Nothing may run
// or be relayed; the mail is kept as a note and Alice is warned. After
// "helpdeskd agent rotate", the old address proves nothing even from
// Alice's own From, while the address of a new notification works.
func TestAttackLeakedAgentAddress(t *testing.T) {
	a := newAtkDesk(t, "")
	tk := a.open(t, "Frank Owner", atkAddr("frank", "shop.example"), "VPN drops every ten minutes", "")
	oldAddr := tk.aliceAddr

	id := atkID("mallory", "evil.example")
	a.imap.Deliver(t, "INBOX", atkOurReceived("mx.evil.example", "203.0.113.13")+fmt.Sprintf(`From: Mallory <mallory@evil.example>
To: %s
Subject: Re: [%s] VPN drops every ten minutes
Message-ID: <%s>
Date: %s

#status closed

LEAK-RELAY-TEXT Hello, this is support. Please install http://evil.example/vpn.exe
`, oldAddr, tk.ref, id, atkDate()))
	s := a.handled(t, tk.ref, id)
	if warn, ok := a.sent(testenv.And(testenv.To(atkAlice), testenv.Subject("Your reply address was used by"))); !ok {
		t.Errorf("alice was not warned that her reply address was used")
	} else {
		if sub := atkHeader(warn, "Subject"); !strings.Contains(sub, "mallory@evil.example") || !strings.Contains(sub, tk.ref) {
			t.Errorf("warning subject = %q", sub)
		}
		if !strings.Contains(atkBody(t, warn), "helpdeskd agent rotate alice@example.com") {
			t.Errorf("warning does not say how to rotate:\n%s", atkBody(t, warn))
		}
		if len(warn.To) != 1 {
			t.Errorf("warning went to %v", warn.To)
		}
	}
	if _, ok := s.event("address-leak", id); !ok {
		t.Errorf("no address-leak event for <%s>: %+v", id, s.events)
	}
	if m, ok := s.message(id); !ok || m.Kind != helpdesk.KindNote {
		t.Errorf("mallory's mail kept as %q (found %v), want note", m.Kind, ok)
	}
	if s.ticket.Status != helpdesk.StatusOpen {
		t.Errorf("status = %s: the leaked address ran #status closed", s.ticket.Status)
	}
	if e, ok := s.event("agent-mail", id); ok {
		t.Errorf("mallory's mail was taken as alice's: %q", e.Detail)
	}
	if _, ok := s.participant("mallory@evil.example"); ok {
		t.Error("mallory is a participant")
	}
	a.notRelayed(t, tk, "LEAK-RELAY-TEXT")
	a.noMailTo(t, "mallory@evil.example")

	// The administrator rotates alice's secret while the daemon runs.
	out, errOut, code := run(t, "agent", "rotate", "alice@example.com", "-db", a.cfg.Store.Path)
	if code != 0 || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("agent rotate: exit %d\n%s%s", code, out, errOut)
	}

	// Alice herself answers her old notification: the old address is dead.
	oldUse := atkID("alice-old", "example.com")
	a.imap.Deliver(t, "INBOX", atkOurReceived("mail-out.example.com", "198.51.100.7")+fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s>
Date: %s

#status closed

OLD-ADDRESS-TEXT Closing this one.
`, oldAddr, tk.notice.Header.Get("Subject"), oldUse, tk.notice.MessageID(), tk.notice.MessageID(), atkDate()))
	s = a.handled(t, tk.ref, oldUse)
	if s.ticket.Status != helpdesk.StatusOpen {
		t.Errorf("status = %s: the rotated address still proves alice", s.ticket.Status)
	}
	if e, ok := s.event("agent-mail", oldUse); ok {
		t.Errorf("the old address still proved alice: %q", e.Detail)
	}
	if _, ok := s.event("suspicious", oldUse); !ok {
		t.Errorf("no suspicious event for the old address: %+v", s.events)
	}
	a.notRelayed(t, tk, "OLD-ADDRESS-TEXT")

	// The customer writes again; alice's new notification carries a new
	// address, and that one works.
	again := atkID("again", "shop.example")
	a.imap.Deliver(t, "INBOX", fmt.Sprintf(`From: Frank Owner <%s>
To: support@example.com
Subject: Re: VPN drops every ten minutes [%s]
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s> <%s>
Date: %s

It just dropped again at 10:42.
`, tk.customer, tk.ref, again, tk.ack.MessageID(), tk.firstID, tk.ack.MessageID(), atkDate()))
	fresh := a.peer.Wait(t, "alice's new notification", testenv.And(testenv.To(atkAlice), atkInReplyTo(again)))
	newAddr := testenv.Address(t, fresh, "Reply-To")
	if strings.EqualFold(newAddr, oldAddr) {
		t.Fatalf("after rotation alice is still sent %s", oldAddr)
	}
	newUse := atkID("alice-new", "example.com")
	a.imap.Deliver(t, "INBOX", atkOurReceived("mail-out.example.com", "198.51.100.7")+fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s>
Date: %s

#status pending

NEW-ADDRESS-TEXT Thanks Frank, we are looking at the VPN concentrator.
`, newAddr, fresh.Header.Get("Subject"), newUse, fresh.MessageID(), fresh.MessageID(), atkDate()))
	s = a.handled(t, tk.ref, newUse)
	if _, ok := a.sent(testenv.And(testenv.To(tk.customer), func(m testenv.Mail) bool {
		return strings.Contains(atkBody(t, m), "NEW-ADDRESS-TEXT")
	})); !ok {
		t.Errorf("alice's reply through the new address was not relayed")
	}
	if s.ticket.Status != helpdesk.StatusPending {
		t.Errorf("status = %s, want pending through the new address", s.ticket.Status)
	}
	if e, ok := s.event("agent-mail", newUse); !ok || !strings.Contains(e.Detail, "agent reply address") {
		t.Errorf("agent-mail event = %+v (found %v)", e, ok)
	}
}

// TestAttackStrangerOnTicket: people who are not on a ticket write into it
// with nothing but a thread header: a stranger with a copied References:
// (to be put on the ticket's mailing) and a spoofed agent From (to run
// commands). Their mail is kept for the agents, but they must not become
// participants, run anything, reach the customer, or receive later replies.
func TestAttackStrangerOnTicket(t *testing.T) {
	a := newAtkDesk(t, "")

	t.Run("copied References from a stranger", func(t *testing.T) {
		tk := a.open(t, "Gina Shopper", atkAddr("gina", "shop.example"), "Order 8812 never arrived", "")
		stranger := "sam@elsewhere.example"
		id := atkID("stranger", "elsewhere.example")
		a.imap.Deliver(t, "INBOX", atkOurReceived("mx.elsewhere.example", "203.0.113.40")+fmt.Sprintf(`From: Sam Stranger <%s>
To: support@example.com
Subject: Re: Order 8812 never arrived
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s>
Date: %s

STRANGER-TEXT Same here, please keep me in the loop on this.
`, stranger, id, tk.firstID, tk.firstID, atkDate()))
		s := a.handled(t, tk.ref, id)
		if notice, ok := a.sent(testenv.And(testenv.To(atkAlice), atkInReplyTo(id))); !ok {
			t.Errorf("the agents were not told about the stranger's mail")
		} else if !strings.Contains(atkBody(t, notice), "is not on this ticket") {
			t.Errorf("notice does not say the sender is not on the ticket:\n%s", atkBody(t, notice))
		}
		if _, ok := s.event("outsider", id); !ok {
			t.Errorf("no outsider event: %+v", s.events)
		}
		if m, ok := s.message(id); !ok || m.Kind != helpdesk.KindOutsider {
			t.Errorf("stranger's mail kept as %q (found %v), want outsider", m.Kind, ok)
		}
		if p, ok := s.participant(stranger); ok {
			t.Errorf("the stranger is a participant (%s)", p.Role)
		}

		// Alice answers twice, a reply and the resolution: both go to the
		// customer alone.
		for i, body := range []string{"AGENT-REPLY-1 We have asked the courier.", "#status resolved\n\nAGENT-REPLY-2 The parcel is on its way again."} {
			rid := atkID(fmt.Sprintf("alice-%d", i), "example.com")
			a.imap.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s>
Date: %s

%s
`, tk.aliceAddr, tk.notice.Header.Get("Subject"), rid, tk.notice.MessageID(), tk.notice.MessageID(), atkDate(), body))
			a.handled(t, tk.ref, rid)
			marker := fmt.Sprintf("AGENT-REPLY-%d", i+1)
			if relay, ok := a.sent(testenv.And(testenv.To(tk.customer), func(m testenv.Mail) bool {
				return strings.Contains(atkBody(t, m), marker)
			})); !ok {
				t.Errorf("alice's %s was not relayed", marker)
			} else if len(relay.To) != 1 {
				t.Errorf("%s went to %v, want the customer only", marker, relay.To)
			}
		}
		a.noMailTo(t, stranger)
		a.notRelayed(t, tk, "STRANGER-TEXT")
	})

	t.Run("spoofed agent From by References", func(t *testing.T) {
		tk := a.open(t, "Hugo Retail", atkAddr("hugo", "shop.example"), "Till printer prints blank receipts", "")
		id := atkID("bob-spoof", "evil.example")
		a.imap.Deliver(t, "INBOX", atkOurReceived("mail.evil.example", "203.0.113.66")+fmt.Sprintf(`From: Bob <bob@example.com>
To: support@example.com
Subject: Re: Till printer prints blank receipts
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s>
Date: %s

#status closed
#priority low

SPOOF-RELAY-TEXT Please pay the repair invoice at http://evil.example/invoice
`, id, tk.firstID, tk.firstID, atkDate()))
		s := a.handled(t, tk.ref, id)
		if ev, ok := s.event("suspicious", id); !ok || !strings.Contains(ev.Detail, "without proof") {
			t.Errorf("suspicious event = %q (found %v), want one that says without proof", ev.Detail, ok)
		}
		if _, ok := a.sent(testenv.And(testenv.To(atkAlice), atkInReplyTo(id))); !ok {
			t.Errorf("the agents were not told about the spoofed mail")
		}
		if s.ticket.Status != helpdesk.StatusOpen || s.ticket.PrioritySource == atkBob {
			t.Errorf("the spoofed mail changed the ticket: status %s priority %s (set by %s)", s.ticket.Status, s.ticket.Priority, s.ticket.PrioritySource)
		}
		for _, kind := range []helpdesk.EventKind{helpdesk.EventAgentMail, helpdesk.EventStatus, helpdesk.EventPriority, helpdesk.EventRelayed} {
			if e, ok := s.event(kind, id); ok {
				t.Errorf("the spoofed mail caused a %s event: %q", kind, e.Detail)
			}
		}
		if p, ok := s.participant(atkBob); ok {
			t.Errorf("bob was made a participant (%s) by a mail he did not send", p.Role)
		}
		a.notRelayed(t, tk, "SPOOF-RELAY-TEXT")
	})
}

// TestAttackCcFlood: a customer's mail (or a spammer's) Cc's 300 strangers,
// so that every reply of the desk would mail all of them. At most max_cc
// may be taken onto the ticket, the rest are listed in a cc-limit event,
// and a relayed reply goes to no more than max_cc people in Cc.
func TestAttackCcFlood(t *testing.T) {
	a := newAtkDesk(t, "")
	var cc []string
	for i := 1; i <= 300; i++ {
		cc = append(cc, fmt.Sprintf("cc%03d@spam.example", i))
	}
	// Folded as a mail client folds a long Cc: line.
	var hdr strings.Builder
	hdr.WriteString("Cc: ")
	for i, addr := range cc {
		hdr.WriteString(addr)
		if i < len(cc)-1 {
			hdr.WriteString(",\n ")
		}
	}
	hdr.WriteString("\n")
	tk := a.open(t, "Ivy Mass", atkAddr("ivy", "shop.example"), "Newsletter signup broken", hdr.String())
	if len(tk.ack.To) != 1 {
		t.Errorf("the ack went to %d recipients: %v", len(tk.ack.To), tk.ack.To)
	}

	s := a.state(t, tk.ref)
	var ccs []string
	for _, p := range s.people {
		if p.Role == store.RoleCC {
			ccs = append(ccs, p.Email)
		}
	}
	if len(ccs) > 10 {
		t.Errorf("%d people in Cc taken onto the ticket, want at most 10", len(ccs))
	}
	ev, ok := s.event("cc-limit", tk.firstID)
	if !ok {
		t.Fatalf("no cc-limit event: %+v", s.events)
	}
	listed := 0
	for _, addr := range cc {
		if strings.Contains(ev.Detail, addr) {
			listed++
		}
	}
	if listed != 300-len(ccs) || !strings.Contains(ev.Detail, "cc300@spam.example") {
		t.Errorf("cc-limit lists %d addresses, want the %d not taken: %.300s…", listed, 300-len(ccs), ev.Detail)
	}

	// Alice answers: the relay goes to the customer and at most 10 in Cc.
	id := atkID("alice-cc", "example.com")
	a.imap.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <%s>
In-Reply-To: <%s>
References: <%s>
Date: %s

CC-FLOOD-REPLY We are looking into the signup form.
`, tk.aliceAddr, tk.notice.Header.Get("Subject"), id, tk.notice.MessageID(), tk.notice.MessageID(), atkDate()))
	a.handled(t, tk.ref, id)
	relay, ok := a.sent(testenv.And(testenv.To(tk.customer), func(m testenv.Mail) bool {
		return strings.Contains(atkBody(t, m), "CC-FLOOD-REPLY")
	}))
	if !ok {
		t.Fatalf("alice's reply was not relayed")
	}
	if len(relay.To) > 11 {
		t.Errorf("the relay went to %d recipients (RCPT TO), want the customer and at most 10", len(relay.To))
	}
	if list, err := mail.ParseAddressList(relay.Header.Get("Cc")); err == nil && len(list) > 10 {
		t.Errorf("the relay's Cc: names %d people", len(list))
	}
	taken := map[string]bool{}
	for _, e := range ccs {
		taken[e] = true
	}
	for _, m := range a.peer.Mails() {
		if atkRcpt(m, func(r string) bool { return strings.HasSuffix(r, "@spam.example") && !taken[r] }) {
			t.Errorf("a Cc address over the limit received %q: %v", atkHeader(m, "Subject"), m.To)
			break
		}
	}
}

// TestAttackSpamFiledSilently: spam the receiving server flagged
// (X-Spam-Flag, X-Spam-Status) or a trusted DMARC rejection must not make
// the desk answer the (forged) sender or bother the agents: the ticket is
// filed as spam, listed by "tickets --status spam" and counted. An agent
// who proves herself can open it.
func TestAttackSpamFiledSilently(t *testing.T) {
	a := newAtkDesk(t, "")

	spam := func(t *testing.T, from, headers, subject string) {
		before := trustEvents(t, a.d, "spam")
		id := atkID("spam", from[strings.LastIndexByte(from, '@')+1:])
		a.imap.Deliver(t, "INBOX", headers+fmt.Sprintf(`From: "Prize Office" <%s>
To: support@example.com
Subject: %s
Message-ID: <%s>
Date: %s

You have won! Claim your prize today: http://prize.example/claim
`, from, subject, id, atkDate()))
		// A later customer's ticket: once it is acknowledged and notified,
		// the spam mail has been handled.
		a.open(t, "Jack Later", atkAddr("jack", "shop.example"), "Password reset mail never arrives", "")
		a.drain(t)

		ref := a.refByMessageID(t, id)
		if ref == "" {
			t.Fatalf("the spam mail <%s> is on no ticket", id)
		}
		s := a.state(t, ref)
		if s.ticket.Status != helpdesk.StatusSpam {
			t.Errorf("ticket %s status = %s, want spam", ref, s.ticket.Status)
		}
		if _, ok := s.event("spam", id); !ok {
			t.Errorf("no spam event on %s: %+v", ref, s.events)
		}
		a.noMailTo(t, from)
		for _, m := range a.peer.Mails() {
			if atkInReplyTo(id)(m) || strings.Contains(atkHeader(m, "Subject"), "["+ref+"]") {
				t.Errorf("mail about the spam went to %v: %q", m.To, atkHeader(m, "Subject"))
			}
		}
		for _, m := range s.msgs {
			if m.Direction == helpdesk.Outbound {
				t.Errorf("%s holds an outbound %s message to %v", ref, m.Kind, m.To)
			}
		}
		out, errOut, code := run(t, "tickets", "--status", "spam", "-db", a.cfg.Store.Path)
		if code != 0 {
			t.Fatalf("tickets --status spam: exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, ref) {
			t.Errorf("tickets --status spam does not list %s:\n%s", ref, out)
		}
		if after := trustEvents(t, a.d, "spam"); after < before+1 {
			t.Errorf("helpdesk_trust_events_total{kind=\"spam\"} went from %v to %v", before, after)
		}

		// Alice, proven by our MX's dkim=pass, opens it.
		rid := atkID("alice-open", "example.com")
		a.imap.Deliver(t, "INBOX", atkGenuinePass()+fmt.Sprintf(`From: Alice <alice@example.com>
To: support@example.com
Subject: Re: [%s] not spam after all
Message-ID: <%s>
Date: %s

#status open
`, ref, rid, atkDate()))
		s = a.handled(t, ref, rid)
		if _, ok := s.event("agent-mail", rid); !ok {
			t.Errorf("alice's mail with our MX's dkim=pass was not taken as hers: %+v", s.events)
		}
		if s.ticket.Status != helpdesk.StatusOpen {
			t.Errorf("after #status open: status = %s", s.ticket.Status)
		}
		if e, ok := s.event("status", rid); !ok || !strings.Contains(e.Detail, "spam -> open") {
			t.Errorf("no spam -> open status event for alice's mail: %+v", e)
		}
	}

	// SpamAssassin's verdict, written by our MX on top of the mail.
	t.Run("X-Spam-Flag", func(t *testing.T) {
		spam(t, atkAddr("winner", "bulk.example"),
			"X-Spam-Flag: YES\nX-Spam-Level: ************\n"+atkOurReceived("bulk-mta.bulk.example", "203.0.113.99"),
			"You have WON 1,000,000 EUR")
	})
	t.Run("X-Spam-Status", func(t *testing.T) {
		spam(t, atkAddr("lottery", "bulk.example"),
			"X-Spam-Status: Yes, score=12.1 required=5.0 tests=BAYES_99,FREEMAIL_FROM,URIBL_BLACK\n\tautolearn=spam version=3.4.6\n"+atkOurReceived("bulk-mta.bulk.example", "203.0.113.98"),
			"Final notice: claim your lottery prize")
	})
	// Our MX found dmarc=fail for a domain that publishes p=reject.
	t.Run("trusted dmarc=fail p=reject", func(t *testing.T) {
		spam(t, "security@bank.example",
			"Authentication-Results: mx.example.com;\n\tdkim=none;\n\tspf=fail smtp.mailfrom=security@bank.example;\n\tdmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=bank.example\n"+atkOurReceived("phish.example", "203.0.113.77"),
			"Your account has been suspended")
	})
}

// TestAttackAckFloodThroughPlusTags: one forged sender opens 30 tickets
// from victim+1@ ... victim+29@ and VICTIM@ the same mailbox within the
// hour, to make the desk mail-bomb the victim with acknowledgements. The
// automatic-reply limit (3 here) holds for the mailbox, whatever the
// sub-address or case.
func TestAttackAckFloodThroughPlusTags(t *testing.T) {
	a := newAtkDesk(t, "auto_reply_limit = 3\n")
	var ids []string
	for i := 1; i <= 30; i++ {
		from := fmt.Sprintf("victim+%d@target.example", i)
		if i == 30 {
			from = "VICTIM@target.example"
		}
		id := atkID(fmt.Sprintf("flood-%d", i), "botnet.example")
		ids = append(ids, id)
		a.imap.Deliver(t, "INBOX", atkOurReceived("bot.botnet.example", "203.0.113.5")+fmt.Sprintf(`From: Victim <%s>
To: support@example.com
Subject: Account question number %d
Message-ID: <%s>
Date: %s

Please send me information about my account (%d).
`, from, i, id, atkDate(), i))
	}
	// A later customer, acknowledged and notified: the flood has been handled.
	a.open(t, "Kim Later", atkAddr("kim", "shop.example"), "Export to CSV fails", "")
	a.drain(t)

	victim := func(r string) bool {
		local, domain, _ := strings.Cut(r, "@")
		base, _, _ := strings.Cut(local, "+")
		return base == "victim" && domain == "target.example"
	}
	got := 0
	for _, m := range a.peer.Mails() {
		if atkRcpt(m, victim) {
			got++
		}
	}
	if got > 3 {
		t.Errorf("%d mails reached the victim's mailbox, want at most 3", got)
	}
	acks, suppressed := 0, 0
	for _, id := range ids {
		ref := a.refByMessageID(t, id)
		if ref == "" {
			t.Errorf("<%s> opened no ticket", id)
			continue
		}
		s := a.state(t, ref)
		_, acked := s.event("ack", id)
		e, sup := s.event("ack-suppressed", id)
		switch {
		case acked:
			acks++
		case sup && strings.Contains(e.Detail, "rate limit") && strings.Contains(e.Detail, "victim@target.example"):
			suppressed++
		default:
			t.Errorf("%s: neither ack nor a rate-limit ack-suppressed event: %+v", ref, s.events)
		}
	}
	if acks > 3 || acks+suppressed != 30 {
		t.Errorf("%d acks and %d rate-limited suppressions, want at most 3 acks and the rest suppressed", acks, suppressed)
	}
}

// TestAttackDisplayNameEchoInAck: a spammer forges the victim's address
// with a 2,000-character display name full of links and a 500-character
// subject, to have the desk deliver the advertisement in its
// acknowledgement. The ack must carry no part of the name, a subject cut to
// about 100 characters, and still name the ticket.
func TestAttackDisplayNameEchoInAck(t *testing.T) {
	a := newAtkDesk(t, "")
	var name strings.Builder
	for name.Len() < 2000 {
		name.WriteString("Click http://spam.example/win www.spam.example/x WINNER-CLAIM now ")
	}
	nameStr := strings.TrimSpace(name.String()[:2000])
	var subj strings.Builder
	subj.WriteString("Refund request")
	for subj.Len() < 460 {
		subj.WriteString(" please refund my order number 4711")
	}
	subj.WriteString(" and see www.spam.example/deal")
	subject := subj.String()
	if n := len(subject); n < 480 || n > 520 {
		t.Fatalf("subject is %d characters", n)
	}
	fold := func(s string) string { // at spaces, as a mail client folds
		var b strings.Builder
		col := 0
		for i, w := range strings.Split(s, " ") {
			if i > 0 {
				if col+1+len(w) > 70 {
					b.WriteString("\n ")
					col = 1
				} else {
					b.WriteString(" ")
					col++
				}
			}
			b.WriteString(w)
			col += len(w)
		}
		return b.String()
	}
	victim := "echo.victim@target.example"
	id := atkID("echo", "bulk-sender.example")
	a.imap.Deliver(t, "INBOX", atkOurReceived("bulk.spam.example", "203.0.113.8")+fmt.Sprintf(`From: %s <%s>
To: support@example.com
Subject: %s
Message-ID: <%s>
Date: %s

I want my money back.
`, fold(`"`+nameStr+`"`), victim, fold(subject), id, atkDate()))
	ack := a.peer.Wait(t, "the ack", testenv.And(testenv.To(victim), atkInReplyTo(id)))
	ref := atkRefIn(t, atkHeader(ack, "Subject"))

	toAddr, err := mail.ParseAddress(atkHeader(ack, "To"))
	if err != nil {
		t.Fatalf("ack To %q: %v", atkHeader(ack, "To"), err)
	}
	if toAddr.Name != "" || !strings.EqualFold(toAddr.Address, victim) {
		t.Errorf("ack To = %q: the display name is echoed", atkHeader(ack, "To"))
	}
	body := atkBody(t, ack)
	headers := atkAllHeaders(ack)
	for _, bad := range []string{"spam.example", "WINNER-CLAIM", "Click http"} {
		if strings.Contains(body, bad) || strings.Contains(headers, bad) || bytes.Contains(ack.Raw, []byte(bad)) {
			t.Errorf("the ack carries %q", bad)
		}
	}
	if !strings.Contains(body, "Hello,") {
		t.Errorf("the greeting is not the bare \"Hello,\":\n%s", body)
	}
	sub := atkHeader(ack, "Subject")
	if max := len("Re: ") + 100 + len("…") + len(" ["+ref+"]"); utf8.RuneCountInString(sub) > max {
		t.Errorf("ack subject has %d characters, want at most %d: %q", utf8.RuneCountInString(sub), max, sub)
	}
	if !strings.HasPrefix(sub, "Re: Refund request please refund") || !strings.HasSuffix(sub, " ["+ref+"]") {
		t.Errorf("ack subject = %q", sub)
	}
	if !strings.Contains(body, ref) {
		t.Errorf("the ack body does not name %s:\n%s", ref, body)
	}
}
