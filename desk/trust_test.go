package desk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
)

// participants returns the ticket's participants by role.
func (td *testDesk) participants(ref string) map[string]string {
	td.t.Helper()
	out := map[string]string{}
	err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		ps, err := tx.Participants(tk.ID)
		for _, p := range ps {
			out[p.Email] = p.Role
		}
		return err
	})
	if err != nil {
		td.t.Fatal(err)
	}
	return out
}

// kinds returns the kinds of the ticket's stored inbound messages, in order.
func (td *testDesk) kinds(ref string) []helpdesk.MessageKind {
	td.t.Helper()
	var out []helpdesk.MessageKind
	err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		ms, err := tx.Messages(tk.ID)
		for _, m := range ms {
			if m.Direction == helpdesk.Inbound {
				out = append(out, m.Kind)
			}
		}
		return err
	})
	if err != nil {
		td.t.Fatal(err)
	}
	return out
}

func reply(id, from, to, subject, refs, body string) string {
	return fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\nReferences: %s\nIn-Reply-To: %s\nDate: Wed, 18 Nov 2026 11:00:00 +0000\n\n%s\n",
		from, to, subject, id, refs, refs, body)
}

// A stranger who copied References joins nothing: the mail is kept for the
// agents, changes nothing (a pending ticket stays pending), and its sender
// gets none of the later replies.
func TestStrangerWithCopiedReferences(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("s1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	alice := td.agentAddress("alice@example.com", ref)
	td.mail("support", agentMail("s2@example.com", alice, "#status pending\nCould you send a screenshot?"))

	res := td.mail("support", reply("s3@evil.example", "Mallory <mallory@evil.example>", "support@example.com", "Re: Store down",
		"<s1@x>", "escalate\nPlease also send me the invoice. STRANGER-TEXT"))
	if res.Ref != ref {
		t.Fatalf("the stranger's mail was not kept on the ticket: %+v", res)
	}
	tk, evs := td.ticket(ref)
	if tk.Status != helpdesk.StatusPending || events(evs, "outsider") != 1 || events(evs, "escalation") != 0 {
		t.Fatalf("status %s, outsider events %d, escalations %d", tk.Status, events(evs, "outsider"), events(evs, "escalation"))
	}
	if role, on := td.participants(ref)["mallory@evil.example"]; on {
		t.Fatalf("the stranger became a participant (%s)", role)
	}
	if k := td.kinds(ref); k[len(k)-1] != helpdesk.KindOutsider {
		t.Fatalf("stored as %s, want outsider", k[len(k)-1])
	}
	var told bool
	for _, m := range td.mailsTo("alice@example.com") {
		told = told || strings.Contains(m.Text, "is not on this ticket") && strings.Contains(m.Text, "STRANGER-TEXT")
	}
	if !told {
		t.Error("the agents were not shown the stranger's mail")
	}
	td.mail("support", agentMail("s4@example.com", alice, "Here is what we found."))
	for _, m := range td.outbox() {
		for _, a := range append(append([]helpdesk.Address(nil), m.To...), m.Cc...) {
			if a.Email == "mallory@evil.example" {
				t.Errorf("mail %q went to the stranger", m.Subject)
			}
		}
	}
	// A stranger's mail to a closed ticket is a new, unlinked ticket.
	td.mail("support", agentMail("s5@example.com", alice, "#status closed"))
	res = td.mail("support", reply("s6@evil.example", "mallory@evil.example", "support@example.com", "Re: Store down", "<s1@x>", "Hello?"))
	if res.Ref == ref || res.Outcome != "opened" {
		t.Fatalf("stranger on a closed ticket: %+v", res)
	}
	if nt, _ := td.ticket(res.Ref); nt.LinkedTo != "" {
		t.Errorf("the stranger's ticket is linked to %s", nt.LinkedTo)
	}
}

// An agent's reply address proves the agent only with their From; used
// from another, it runs nothing and warns the agent. Rotation makes every
// old address worthless at once, in the running desk.
func TestLeakedReplyAddressAndRotation(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("l1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	alice := td.agentAddress("alice@example.com", ref)
	before := len(td.mailsTo("carol@shop.example"))
	td.mail("support", fmt.Sprintf("From: mallory@evil.example\nTo: %s\nSubject: Re: x\nMessage-ID: <l2@evil.example>\nDate: Wed, 18 Nov 2026 10:30:00 +0000\n\n#status closed\nLEAKED-TEXT\n", alice))
	tk, evs := td.ticket(ref)
	if tk.Status != helpdesk.StatusOpen || events(evs, "address-leak") != 1 {
		t.Fatalf("status %s, address-leak events %d", tk.Status, events(evs, "address-leak"))
	}
	if got := len(td.mailsTo("carol@shop.example")); got != before {
		t.Fatal("the leaked address relayed to the customer")
	}
	if k := td.kinds(ref); k[len(k)-1] != helpdesk.KindNote {
		t.Fatalf("kept as %s, want note", k[len(k)-1])
	}
	var warned bool
	for _, m := range td.mailsTo("alice@example.com") {
		warned = warned || strings.Contains(m.Subject, "Your reply address was used by mallory@evil.example") && strings.Contains(m.Text, "LEAKED-TEXT")
	}
	if !warned {
		t.Error("alice was not told her address may have leaked")
	}

	// Rotation, as `helpdeskd agent rotate` does it from another process.
	if err := td.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.RotateAgentToken("alice@example.com")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	td.mail("support", agentMail("l3@example.com", alice, "#status pending"))
	if tk, _ := td.ticket(ref); tk.Status != helpdesk.StatusOpen {
		t.Fatalf("the rotated address still proves alice: status %s", tk.Status)
	}
	td.mail("support", reply("l4@x", "Carol <carol@shop.example>", "support@example.com", "Re: Store down", "<l1@x>", "Any news?"))
	fresh := td.agentAddress("alice@example.com", ref)
	for _, m := range td.mailsTo("alice@example.com") {
		if strings.Contains(m.Subject, ref) && len(m.ReplyTo) == 1 {
			fresh = m.ReplyTo[0].Email // the latest notification's
		}
	}
	if fresh == alice {
		t.Fatal("the notification after rotation carries the old address")
	}
	td.mail("support", agentMail("l5@example.com", fresh, "#status pending"))
	if tk, _ := td.ticket(ref); tk.Status != helpdesk.StatusPending {
		t.Fatalf("the new address does not prove alice: status %s", tk.Status)
	}
}

// A customer's 300 Cc make at most max_cc participants, and no relayed
// mail has more Cc; #cc past the limit is refused.
func TestCcFanOutLimit(t *testing.T) {
	td := newTestDesk(t)
	var cc []string
	for i := 1; i <= 300; i++ {
		cc = append(cc, fmt.Sprintf("cc%03d@spam.example", i))
	}
	raw := fmt.Sprintf("From: Carol <carol@shop.example>\nTo: support@example.com\nCc: %s\nSubject: Store down\nMessage-ID: <f1@x>\nDate: Wed, 18 Nov 2026 10:00:00 +0000\n\n%s\n",
		strings.Join(cc, ",\n "), outage)
	ref := td.mail("support", raw).Ref
	n := 0
	for _, role := range td.participants(ref) {
		if role == store.RoleCC {
			n++
		}
	}
	_, evs := td.ticket(ref)
	if n != 10 || events(evs, "cc-limit") != 1 || !strings.Contains(detail(evs, "cc-limit"), "cc300@spam.example") {
		t.Fatalf("%d cc participants, cc-limit %q", n, detail(evs, "cc-limit"))
	}
	alice := td.agentAddress("alice@example.com", ref)
	td.mail("support", agentMail("f2@example.com", alice, "We are on it."))
	for _, m := range td.mailsTo("carol@shop.example") {
		if len(m.Cc) > 10 {
			t.Errorf("%q has %d Cc", m.Subject, len(m.Cc))
		}
	}
	td.mail("support", agentMail("f3@example.com", alice, "#cc dave@shop.example"))
	if _, evs := td.ticket(ref); events(evs, "command-rejected") != 1 {
		t.Errorf("#cc past the limit was not refused: %+v", evs)
	}
}

// Spam, by the server's verdict or by a trusted DMARC failure of a domain
// that asks for rejection, is filed without an answer; an agent opens it.
func TestSpamFiledWithoutAnswer(t *testing.T) {
	const ours = "Received: from mail.spam.example by mx.example.com (Postfix) with ESMTP id 1; Wed, 18 Nov 2026 10:00:00 +0000\n"
	tests := []struct {
		name, header string
		spam         bool
	}{
		{"SpamAssassin flag", "X-Spam-Flag: YES\n" + ours, true},
		{"trusted dmarc=fail, p=reject", "Authentication-Results: mx.example.com; dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=bank.example\n" + ours, true},
		{"trusted dmarc=fail, p=none", "Authentication-Results: mx.example.com; dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=bank.example\n" + ours, false},
		{"forged dmarc=fail below our line", ours + "Authentication-Results: mx.example.com; dmarc=fail (p=REJECT) header.from=bank.example\n", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := newTestDesk(t)
			from := fmt.Sprintf("winner%d@bank.example", i)
			ref := td.mail("support", tt.header+customer(fmt.Sprintf("p%d@x", i), from, "You won", outage)).Ref
			tk, evs := td.ticket(ref)
			if got := tk.Status == helpdesk.StatusSpam; got != tt.spam {
				t.Fatalf("spam = %v, want %v (status %s)", got, tt.spam, tk.Status)
			}
			if !tt.spam {
				return
			}
			if len(td.mailsTo(from)) != 0 || len(td.mailsTo("alice@example.com")) != 0 || events(evs, "spam") != 1 {
				t.Fatalf("spam answered or notified: %d to sender, %d to alice, spam events %d",
					len(td.mailsTo(from)), len(td.mailsTo("alice@example.com")), events(evs, "spam"))
			}
			if !tk.NextCheckAt.IsZero() {
				t.Errorf("a spam ticket has an SLA check at %v", tk.NextCheckAt)
			}
			// A reply of the spammer changes nothing and tells nobody.
			td.mail("support", reply(fmt.Sprintf("p%d-2@x", i), from, "support@example.com", "Re: You won", fmt.Sprintf("<p%d@x>", i), "Hello?"))
			if len(td.outbox()) != 0 {
				t.Fatalf("the reply on a spam ticket sent mail: %+v", td.outbox())
			}
			// An agent, proven by our server's DKIM pass, opens it.
			td.mail("support", fmt.Sprintf("Authentication-Results: mx.example.com; dkim=pass header.d=example.com\n%sFrom: Alice <alice@example.com>\nTo: support@example.com\nSubject: Re: You won [%s]\nMessage-ID: <p%d-3@example.com>\nDate: Wed, 18 Nov 2026 10:40:00 +0000\n\n#status open\n",
				"Received: from mail.example.com by mx.example.com (Postfix) with ESMTP id 2; Wed, 18 Nov 2026 10:40:00 +0000\n", ref, i))
			if tk, _ := td.ticket(ref); tk.Status != helpdesk.StatusOpen || tk.NextCheckAt.IsZero() {
				t.Fatalf("the agent did not open the spam ticket: %s, next check %v", tk.Status, tk.NextCheckAt)
			}
		})
	}
}

// Thirty mails from victim+N@x and VICTIM@x are one mailbox: at most the
// limit of acknowledgements reaches it.
func TestAutoReplyLimitPerMailbox(t *testing.T) {
	td := newTestDesk(t)
	for i := 1; i <= 30; i++ {
		from := fmt.Sprintf("victim+%d@target.example", i)
		if i == 30 {
			from = "VICTIM@Target.example"
		}
		td.mail("support", customer(fmt.Sprintf("v%d@x", i), from, fmt.Sprintf("Problem %d", i), outage))
	}
	acks := 0
	for _, m := range td.outbox() {
		for _, a := range m.To {
			if strings.HasSuffix(strings.ToLower(a.Email), "@target.example") && m.Kind == helpdesk.KindAck {
				acks++
			}
		}
	}
	if acks != 10 {
		t.Fatalf("%d acknowledgements reached the victim's mailbox, want the limit of 10", acks)
	}
}

// A mail in the customer's name that our server found not authentic, or
// that carries a forged result, cannot put people on the ticket: they would
// receive the agents' replies.
func TestUnprovenCustomerAddsNobody(t *testing.T) {
	const ours = "Received: from mail.evil.example by mx.example.com (Postfix) with ESMTP id 9; Wed, 18 Nov 2026 11:00:00 +0000\n"
	for i, header := range []string{
		"Authentication-Results: mx.example.com; dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=shop.example\n" + ours,
		ours + "Authentication-Results: mx.example.com; dkim=pass header.d=shop.example\n",
	} {
		td := newTestDesk(t)
		ref := td.mail("support", customer(fmt.Sprintf("u%d@x", i), "Carol <carol@shop.example>", "Store down", outage)).Ref
		td.mail("support", header+fmt.Sprintf("From: Carol <carol@shop.example>\nTo: support@example.com\nCc: eve%d@evil.example\nSubject: Re: Store down [%s]\nMessage-ID: <u%d-2@evil.example>\nDate: Wed, 18 Nov 2026 11:00:00 +0000\n\nPlease copy my colleague.\n", i, ref, i))
		if _, on := td.participants(ref)[fmt.Sprintf("eve%d@evil.example", i)]; on {
			t.Errorf("case %d: an unproven customer mail put its Cc on the ticket", i)
		}
		if _, evs := td.ticket(ref); events(evs, "cc-not-added") != 1 {
			t.Errorf("case %d: no cc-not-added event: %+v", i, evs)
		}
	}
}

// A customer's unbreakable 2,000-character subject makes no mail of ours
// unsendable: every subject the desk writes stays far below RFC 5322's
// 998-character line.
func TestLongSubjectCutEverywhere(t *testing.T) {
	td := newTestDesk(t)
	subject := strings.Repeat("X", 2000)
	ref := td.mail("support", customer("ls1@x", "Carol <carol@shop.example>", subject, outage)).Ref
	alice := td.agentAddress("alice@example.com", ref)
	td.mail("support", agentMail("ls2@example.com", alice, "#stauts open\nTypo."))     // command error
	td.mail("support", agentMail("ls3@example.com", alice, "#note\nLooking into it.")) // note
	td.mail("support", agentMail("ls4@example.com", alice, "#escalate losing orders")) // escalation
	td.mail("support", agentMail("ls5@example.com", alice, "We are on it."))           // relay
	n := 0
	for _, m := range td.outbox() {
		n++
		if l := len([]rune(m.Subject)); l > 201 {
			t.Errorf("%s mail to %v: subject of %d characters", m.Kind, m.To, l)
		}
	}
	if n < 6 {
		t.Fatalf("only %d mails went out", n)
	}
}

// A mail of a thousand tiny parts keeps message.MaxAttachments of them, and
// the ticket says how many more the raw mail has.
func TestManyPartsCapped(t *testing.T) {
	td := newTestDesk(t)
	var b strings.Builder
	b.WriteString("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Store down\nMessage-ID: <mp1@x>\n" +
		"Date: Wed, 18 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n" + outage + "\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"f%d.bin\"\n\nx\n", i)
	}
	b.WriteString("--B--\n")
	ref := td.mail("support", b.String()).Ref
	var kept int
	err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		ms, err := tx.Messages(tk.ID)
		for _, m := range ms {
			if m.Direction == helpdesk.Inbound {
				kept = len(m.Attachments)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, evs := td.ticket(ref)
	if kept != message.MaxAttachments || !strings.Contains(detail(evs, helpdesk.EventAttachmentsOmitted), "800 attachments") {
		t.Fatalf("kept %d attachments (want %d); event %q", kept, message.MaxAttachments, detail(evs, helpdesk.EventAttachmentsOmitted))
	}
}

// Mail from one of our own addresses, in any case or with a "+detail" (a
// ticket's reply address), is never answered: no loop through ourselves.
func TestOwnSubAddressNotAnswered(t *testing.T) {
	td := newTestDesk(t)
	res := td.mail("support", customer("own1@x", "SUPPORT+HD-9.abc@Example.com", "Store down", outage))
	if res.Outcome != "ignored" || len(td.outbox()) != 0 {
		t.Fatalf("mail from our own sub-address: %+v, %d mails sent", res, len(td.outbox()))
	}
}
