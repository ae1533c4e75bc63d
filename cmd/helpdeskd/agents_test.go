package main

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// ticketByRef reads a ticket and its events from the daemon's store.
func ticketByRef(t *testing.T, m *Main, ref string) (*helpdesk.Ticket, []helpdesk.Event) {
	t.Helper()
	var tk *helpdesk.Ticket
	var evs []helpdesk.Event
	err := m.Store.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		if tk, err = tx.TicketByRef(ref); err != nil {
			return err
		}
		evs, err = tx.Events(tk.ID)
		return err
	})
	if err != nil {
		t.Fatalf("ticket %s: %v", ref, err)
	}
	return tk, evs
}

func hasEvent(evs []helpdesk.Event, kind helpdesk.EventKind) bool {
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// TestAgentsWorkByMail runs the whole agent story of issue 6 through the
// in-process IMAP server and the go-smtp peer.
func TestAgentsWorkByMail(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	d := startDaemon(t, cfg, nil)

	// 1. A customer reports an outage.
	imapSrv.Deliver(t, "INBOX", `From: Carol Shopper <carol@shop.example>
To: support@example.com
Subject: Checkout is down for all customers
Message-ID: <carol-1@shop.example>
Date: Fri, 20 Nov 2026 09:40:00 +0000

Hi,

Since 09:15 this morning nobody can check out: every customer gets
"HTTP 502 Bad Gateway" on the payment page.

Steps to reproduce:
1. Add any product to the basket
2. Click "Pay now"

Carol
`)
	ack := peer.Wait(t, "the ack to carol", testenv.And(testenv.To("carol@shop.example"), testenv.Subject("Checkout is down")))
	ref := strings.TrimSuffix(strings.TrimPrefix(ack.Header.Get("Subject")[strings.LastIndex(ack.Header.Get("Subject"), "["):], "["), "]")
	if got, want := ack.Header.Get("Subject"), "Re: Checkout is down for all customers ["+ref+"]"; got != want {
		t.Errorf("ack subject = %q, want %q", got, want)
	}
	if got := ack.Header.Get("In-Reply-To"); got != "<carol-1@shop.example>" {
		t.Errorf("ack In-Reply-To = %q", got)
	}
	if !strings.Contains(ack.Header.Get("References"), "<carol-1@shop.example>") {
		t.Errorf("ack References = %q", ack.Header.Get("References"))
	}
	if got := ack.Header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("ack Auto-Submitted = %q", got)
	}
	if got := ack.Header.Get("X-Auto-Response-Suppress"); got != "All" {
		t.Errorf("ack X-Auto-Response-Suppress = %q", got)
	}
	if rt := testenv.Address(t, ack, "Reply-To"); !strings.HasPrefix(rt, "support+"+strings.ToLower(ref)+".") && !strings.HasPrefix(rt, "support+"+ref+".") {
		t.Errorf("ack Reply-To = %q, want support+%s.<token>@example.com", rt, ref)
	}
	if !strings.Contains(ack.Body, ref) || !strings.Contains(strings.ToLower(ack.Body), "critical") {
		t.Errorf("ack body lacks reference or priority:\n%s", ack.Body)
	}
	notice := peer.Wait(t, "alice's notification", testenv.And(testenv.To("alice@example.com"), testenv.Subject(ref)))
	peer.Wait(t, "bob's notification", testenv.And(testenv.To("bob@example.com"), testenv.Subject(ref)))
	aliceAddr := testenv.Address(t, notice, "Reply-To")
	if !strings.Contains(aliceAddr, "+") {
		t.Fatalf("notification Reply-To %q is not a per-agent address", aliceAddr)
	}

	// 2. Alice answers from her mail client: commands, text, quoted history.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <alice-1@example.com>
In-Reply-To: <%s>
References: <%s>
Date: Fri, 20 Nov 2026 09:50:00 +0000

#assign me
#priority high

Hello Carol, we have restarted the payment gateway. Could you try again?

Alice

On Fri, 20 Nov 2026 at 09:41, Example Support <support@example.com> wrote:
> New ticket %s from carol@shop.example
> SECRET-INTERNAL-LINE
`, aliceAddr, notice.Header.Get("Subject"), notice.MessageID(), notice.MessageID(), ref))
	relay := peer.Wait(t, "the relayed reply to carol", testenv.And(testenv.To("carol@shop.example"), func(m testenv.Mail) bool {
		return strings.Contains(m.Body, "restarted the payment gateway")
	}))
	if strings.Contains(relay.Body, "SECRET-INTERNAL-LINE") || strings.Contains(relay.Body, "#assign") {
		t.Errorf("relay leaks quoted history or commands:\n%s", relay.Body)
	}
	from, _ := mail.ParseAddress(relay.Header.Get("From"))
	if from == nil || from.Address != "support@example.com" || !strings.Contains(from.Name, "Alice") {
		t.Errorf("relay From = %q, want Alice's name at support@example.com", relay.Header.Get("From"))
	}
	if relay.Header.Get("Auto-Submitted") != "" {
		t.Errorf("a relayed human reply carries Auto-Submitted %q", relay.Header.Get("Auto-Submitted"))
	}
	if !strings.Contains(relay.Header.Get("References"), "<carol-1@shop.example>") {
		t.Errorf("relay References = %q: not in the customer's thread", relay.Header.Get("References"))
	}
	if got, want := relay.Header.Get("Subject"), "Re: Checkout is down for all customers ["+ref+"]"; got != want {
		t.Errorf("relay subject = %q, want %q", got, want)
	}
	tk, evs := ticketByRef(t, d, ref)
	if tk.Assignee != "alice@example.com" || tk.Priority != helpdesk.High || tk.FirstResponseAt.IsZero() {
		t.Errorf("after alice's reply: assignee %q priority %q first response %v", tk.Assignee, tk.Priority, tk.FirstResponseAt)
	}
	if !hasEvent(evs, "assign") || !hasEvent(evs, "priority") || !hasEvent(evs, "first-response") {
		t.Errorf("events lack assign/priority/first-response: %+v", evs)
	}

	// 3. An internal note goes to the other agents, never to the customer.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: note
Message-ID: <alice-note@example.com>
Date: Fri, 20 Nov 2026 09:55:00 +0000

#note
NOTE-FOR-AGENTS: gateway certificate expired, renewing.
`, aliceAddr))
	peer.Wait(t, "the note to bob", testenv.And(testenv.To("bob@example.com"), func(m testenv.Mail) bool { return strings.Contains(m.Body, "NOTE-FOR-AGENTS") }))

	// 4. A stranger's mail claiming Alice's From, with the subject tag but no
	// proof, runs no command and is flagged.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: support@example.com
Subject: Re: [%s] close it
Message-ID: <spoof-1@evil.example>
Date: Fri, 20 Nov 2026 10:00:00 +0000

#status closed
SPOOFED-TEXT
`, ref))
	testenv.WaitFor(t, "the suspicious event", time.Minute, func() bool {
		_, evs := ticketByRef(t, d, ref)
		return hasEvent(evs, "suspicious")
	})
	tk, _ = ticketByRef(t, d, ref)
	if tk.Status == helpdesk.StatusClosed {
		t.Fatal("a spoofed From closed the ticket")
	}

	// 5. An unknown command gets an explanatory reply and changes nothing.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: oops
Message-ID: <alice-typo@example.com>
Date: Fri, 20 Nov 2026 10:05:00 +0000

#stauts resolved
TYPO-TEXT-NOT-RELAYED
`, aliceAddr))
	cmdErr := peer.Wait(t, "the command error to alice", testenv.And(testenv.To("alice@example.com"), func(m testenv.Mail) bool {
		return strings.Contains(m.Body, "#stauts resolved")
	}))
	if !strings.Contains(cmdErr.Body, "#status open|pending|resolved|closed") {
		t.Errorf("command error does not say what is accepted:\n%s", cmdErr.Body)
	}

	// 6. Resolved with a text; the customer gets the resolution mail.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: done
Message-ID: <alice-done@example.com>
Date: Fri, 20 Nov 2026 10:10:00 +0000

#status resolved
The certificate is renewed and checkout works again.
`, aliceAddr))
	res := peer.Wait(t, "the resolution mail", testenv.And(testenv.To("carol@shop.example"), func(m testenv.Mail) bool {
		return strings.Contains(m.Body, "certificate is renewed")
	}))
	if !strings.Contains(strings.ToLower(res.Body), "reopen") && !strings.Contains(strings.ToLower(res.Body), "reply") {
		t.Errorf("resolution mail does not say how to reopen:\n%s", res.Body)
	}
	tk, _ = ticketByRef(t, d, ref)
	if tk.Status != helpdesk.StatusResolved {
		t.Fatalf("status = %s, want resolved", tk.Status)
	}

	// 7. The customer replies to the resolution: the ticket reopens.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Carol Shopper <carol@shop.example>
To: support@example.com
Subject: Re: Checkout is down for all customers [%s]
Message-ID: <carol-2@shop.example>
In-Reply-To: <%s>
References: <carol-1@shop.example> <%s>
Date: Fri, 20 Nov 2026 11:00:00 +0000

It is failing again for some customers.
`, ref, res.MessageID(), res.MessageID()))
	testenv.WaitFor(t, "the reopen", time.Minute, func() bool {
		tk, _ := ticketByRef(t, d, ref)
		return tk.Status == helpdesk.StatusOpen
	})
	_, evs = ticketByRef(t, d, ref)
	if !hasEvent(evs, "reopened") {
		t.Errorf("no reopened event: %+v", evs)
	}

	// Nothing internal ever reached the customer.
	for _, m := range peer.Mails() {
		if testenv.To("carol@shop.example")(m) && (strings.Contains(m.Body, "NOTE-FOR-AGENTS") || strings.Contains(m.Body, "TYPO-TEXT") ||
			strings.Contains(m.Body, "SPOOFED-TEXT") && m.Header.Get("Auto-Submitted") == "") {
			t.Errorf("internal text reached the customer: %q\n%s", m.Header.Get("Subject"), m.Body)
		}
	}
}
