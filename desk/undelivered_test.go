package desk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
)

// notices returns the undelivered-mail notices queued to addr.
func (td *testDesk) notices(addr string) []helpdesk.OutMail {
	var out []helpdesk.OutMail
	for _, m := range td.mailsTo(addr) {
		if strings.Contains(m.Subject, "Not delivered") {
			out = append(out, m)
		}
	}
	return out
}

// TestUndeliveredNotices: an acknowledgement refused by the server is
// reported to the ticket's agents, each notice within the agent's
// automatic-reply limit, since anyone can cause an ack by writing in
// from a dead address; an agent's own reply that cannot reach someone is
// reported to that agent alone, whatever the limit; a notice is staff
// mail and is never reported itself.
func TestUndeliveredNotices(t *testing.T) {
	td := newTestDesk(t)
	ctx := context.Background()
	var refs []string
	for i := range 12 {
		res := td.mail("support", customer(fmt.Sprintf("dead-%d@shop.example", i), fmt.Sprintf("dead%d@shop.example", i),
			"Cannot log in", "Login fails for me since this morning."))
		refs = append(refs, res.Ref)
	}
	for _, m := range td.outbox() {
		if m.Kind == helpdesk.KindAck {
			if !m.ToCustomer || m.Author != "" {
				t.Errorf("ack %s: to customer %v, author %q; want the customer's side, no author", m.MessageID, m.ToCustomer, m.Author)
			}
			if err := td.d.MarkFailed(ctx, m.ID, td.now, "550 5.1.1 <"+m.To[0].Email+">: no such user"); err != nil {
				t.Fatal(err)
			}
		}
	}
	alice, maria := td.notices("alice@example.com"), td.notices("maria@example.com")
	if len(alice) != 10 || len(maria) != 10 {
		t.Errorf("%d notices to alice, %d to maria; want 10 each (the automatic-reply limit)", len(alice), len(maria))
	}
	if n := len(td.notices("bob@example.com")); n != 0 {
		t.Errorf("%d notices to bob, who is not on the tickets' team", n)
	}
	n := alice[0]
	if n.Kind != helpdesk.KindNotification || n.ToCustomer || !n.Auto || !strings.Contains(n.Text, "The acknowledgement on "+refs[0]) ||
		!strings.Contains(n.Text, "dead0@shop.example") || !strings.Contains(n.Text, "550 5.1.1 <dead0@shop.example>: no such user") ||
		!strings.Contains(n.Text, "It reached no one.") {
		t.Errorf("notice = %+v", n)
	}
	if len(n.ReplyTo) != 1 || n.ReplyTo[0].Email != td.agentAddress("alice@example.com", refs[0]) {
		t.Errorf("notice Reply-To %v, want alice's reply address for %s", n.ReplyTo, refs[0])
	}
	_, evs := td.ticket(refs[11])
	if got := detail(evs, helpdesk.EventDeliveryFailed); !strings.Contains(got, "dead11@shop.example") || !strings.Contains(got, "550 5.1.1") {
		t.Errorf("ticket %s delivery-failed %q, want the refusal named even when nobody is told", refs[11], got)
	}

	// A notice that cannot be delivered is not reported.
	before := len(td.outbox())
	if err := td.d.MarkFailed(ctx, n.ID, td.now, "550 5.1.1 no such user"); err != nil {
		t.Fatal(err)
	}
	if after := len(td.outbox()); after != before-1 {
		t.Errorf("outbox %d rows after a notice failed, want %d: nothing queued about it", after, before-1)
	}

	// Alice's reply to the customer and a Cc: one of them refused. Alice,
	// over her automatic-reply limit, is still told; nobody else is.
	ref := refs[0]
	td.mail("support", fmt.Sprintf("From: dead0@shop.example\nTo: support@example.com\nCc: ok@shop.example\nSubject: Re: Cannot log in [%s]\nMessage-ID: <dead-0b@shop.example>\nDate: Wed, 18 Nov 2026 10:10:00 +0000\n\nAlso my colleague.\n", ref))
	td.mail("support", agentMail("alice-r1@example.com", td.agentAddress("alice@example.com", ref), "Please try again now."))
	var relay helpdesk.OutMail
	for _, m := range td.outbox() {
		if m.Kind == helpdesk.KindRelay {
			relay = m
		}
	}
	if relay.ID == 0 || !relay.ToCustomer || relay.Author != "alice@example.com" || len(relay.Cc) != 1 {
		t.Fatalf("relay = %+v, want one to the customer and ok@ by alice", relay)
	}
	aliceBefore, mariaBefore := len(td.notices("alice@example.com")), len(td.notices("maria@example.com"))
	if err := td.d.MarkRecipients(ctx, relay.ID, helpdesk.DeliveryAttempt{At: td.now, Results: []helpdesk.Recipient{
		{Email: "dead0@shop.example", State: helpdesk.RecipientRefused, Reply: "550 5.1.1 no such user"},
		{Email: "ok@shop.example", State: helpdesk.RecipientDelivered},
	}}); err != nil {
		t.Fatal(err)
	}
	got := td.notices("alice@example.com")
	if len(got) != aliceBefore+1 || len(td.notices("maria@example.com")) != mariaBefore {
		t.Fatalf("notices: alice %d -> %d, maria %d -> %d; want alice one more, maria none",
			aliceBefore, len(got), mariaBefore, len(td.notices("maria@example.com")))
	}
	last := got[len(got)-1]
	if !strings.Contains(last.Text, "Your reply on "+ref) || !strings.Contains(last.Text, "It was delivered to ok@shop.example.") ||
		!strings.Contains(last.Text, "Please try again now.") || last.Subject != "["+ref+"] Not delivered to dead0@shop.example" {
		t.Errorf("notice of alice's reply: %q\n%s", last.Subject, last.Text)
	}
}
