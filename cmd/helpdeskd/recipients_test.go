package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// Issue 16, "recipients, one by one", through the whole daemon: mail in
// through the in-process IMAP server, out through the go-smtp capture,
// which refuses one address with 550 and takes at most two recipients
// per transaction (452 4.5.3 beyond, as Postfix's smtpd_recipient_limit).

// outboxOf reads the outgoing mails of a ticket from the daemon's store.
func outboxOf(t *testing.T, m *Main, ref string) []helpdesk.OutMail {
	t.Helper()
	var out []helpdesk.OutMail
	if err := m.Store.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		out, err = tx.TicketOutbox(tk.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// settled waits until the daemon's outbox has nothing pending: every
// mail it will ever send about what happened so far has been sent or
// refused (a notice is queued in the transaction that records the
// refusal it reports).
func settled(t *testing.T, m *Main) {
	t.Helper()
	testenv.WaitFor(t, "the outbox to settle", testenv.Timeout, func() bool {
		pending, _, err := m.Store.OutboxCounts(context.Background())
		return err == nil && pending == 0
	})
}

// TestRecipientsOneByOne: Alice's reply goes to the customer and three
// people in Cc. The server refuses one of them for good and cuts the
// transaction at two recipients: the reply reaches the other three (in
// two transactions, once each), the ticket says who was refused in the
// server's words, Alice alone gets one notice saying so, and `helpdeskd
// show` lists each recipient's delivery state.
func TestRecipientsOneByOne(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTPWith(t, testenv.SMTPOptions{
		MaxRecipients: 2,
		RcptErr: func(rcpt string) *smtp.SMTPError {
			if rcpt == "gone@shop.example" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
					Message: "<gone@shop.example>: Recipient address rejected: User unknown"}
			}
			return nil
		},
	})
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	d := startDaemon(t, cfg, nil)

	imapSrv.Deliver(t, "INBOX", `From: Carol Shopper <carol@shop.example>
To: support@example.com
Cc: gone@shop.example, ops1@shop.example, ops2@shop.example
Subject: Checkout is down for all customers
Message-ID: <carol-rcpt-1@shop.example>
Date: Fri, 20 Nov 2026 09:40:00 +0000

Since 09:15 nobody can check out: every customer gets "HTTP 502 Bad Gateway".

Carol
`)
	ack := peer.Wait(t, "the ack to carol", testenv.To("carol@shop.example"))
	ref := testenv.Ref(t, ack)
	notice := peer.Wait(t, "alice's notification", testenv.And(testenv.To("alice@example.com"), testenv.Subject(ref)))

	imapSrv.Deliver(t, "INBOX", fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <alice-rcpt-1@example.com>
In-Reply-To: <%s>
Date: Fri, 20 Nov 2026 09:50:00 +0000

Hello Carol, we have restarted the payment gateway. Could you try again?

Alice
`, testenv.Address(t, notice, "Reply-To"), notice.Header.Get("Subject"), notice.MessageID()))

	isRelay := testenv.And(testenv.Body("restarted the payment gateway"), func(m testenv.Mail) bool {
		return !strings.Contains(m.Header.Get("Subject"), "Not delivered") // the notice quotes the reply
	})
	peer.Wait(t, "the relay's second part, to ops2", testenv.And(isRelay, testenv.To("ops2@shop.example")))
	settled(t, d)

	var parts [][]string
	relayID := ""
	for _, m := range peer.Mails() {
		if isRelay(m) {
			parts = append(parts, m.To)
			relayID = m.MessageID()
		}
	}
	if want := [][]string{{"carol@shop.example", "ops1@shop.example"}, {"ops2@shop.example"}}; !slices.EqualFunc(parts, want, slices.Equal) {
		t.Errorf("the relay went to %v, want %v (one refused, the rest split at the server's limit of 2)", parts, want)
	}

	// The ticket says who was refused, in the server's words.
	_, evs := ticketByRef(t, d, ref)
	var failed []string
	for _, e := range evs {
		if e.Kind == helpdesk.EventDeliveryFailed {
			failed = append(failed, e.Detail)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "gone@shop.example") || !strings.Contains(failed[0], "550 5.1.1") ||
		!strings.Contains(failed[0], "User unknown") || strings.Contains(failed[0], "ops1@") {
		t.Errorf("delivery-failed events %q, want one naming gone@shop.example with the server's words", failed)
	}

	// Alice, who wrote the reply, is told once; nobody else is.
	var told []testenv.Mail
	for _, m := range peer.Mails() {
		if strings.Contains(m.Header.Get("Subject"), "Not delivered") {
			told = append(told, m)
		}
	}
	if len(told) != 1 || !slices.Equal(told[0].To, []string{"alice@example.com"}) {
		var to [][]string
		for _, m := range told {
			to = append(to, m.To)
		}
		t.Fatalf("notices went to %v, want one to alice@example.com", to)
	}
	n := told[0]
	if got, want := n.Header.Get("Subject"), "["+ref+"] Not delivered to gone@shop.example"; got != want {
		t.Errorf("notice subject %q, want %q", got, want)
	}
	for _, want := range []string{"Your reply on " + ref, "gone@shop.example", "550 5.1.1 <gone@shop.example>: Recipient address rejected: User unknown",
		"carol@shop.example, ops1@shop.example, ops2@shop.example", "restarted the payment gateway"} {
		if !strings.Contains(unfold(n.Body), want) {
			t.Errorf("notice lacks %q:\n%s", want, n.Body)
		}
	}
	if rt := testenv.Address(t, n, "Reply-To"); rt != testenv.Address(t, notice, "Reply-To") {
		t.Errorf("notice Reply-To %q, want Alice's reply address for the ticket %q", rt, testenv.Address(t, notice, "Reply-To"))
	}

	// show lists each recipient's state.
	out, errOut, code := run(t, "show", ref, "-config", cfg.File)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	t.Logf("helpdeskd show %s:\n%s", ref, out)
	for _, want := range []string{"Outgoing mail (delivery per recipient):", "delivered carol@shop.example",
		"refused   gone@shop.example: 550 5.1.1 <gone@shop.example>: Recipient address rejected: User unknown",
		"delivered ops1@shop.example", "delivered ops2@shop.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = run(t, "show", ref, "--json", "-config", cfg.File)
	if code != 0 {
		t.Fatalf("show --json: exit %d: %s", code, errOut)
	}
	var shown struct {
		Outbox []struct {
			Kind       string `json:"kind"`
			MessageID  string `json:"message_id"`
			Status     string `json:"status"`
			Recipients []struct {
				Email, State, Reply string
			} `json:"recipients"`
		} `json:"outbox"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	found := false
	for _, o := range shown.Outbox {
		if o.MessageID != relayID {
			continue
		}
		found = true
		var got []string
		for _, r := range o.Recipients {
			got = append(got, r.Email+" "+r.State)
		}
		want := []string{"carol@shop.example delivered", "gone@shop.example refused", "ops1@shop.example delivered", "ops2@shop.example delivered"}
		if o.Kind != "relay" || o.Status != "sent" || !slices.Equal(got, want) {
			t.Errorf("show --json relay = %s %s %v, want relay sent %v", o.Kind, o.Status, got, want)
		}
	}
	if !found {
		t.Errorf("show --json has no outgoing mail %s:\n%s", relayID, out)
	}
}

// TestUndeliveredNoticeNoLoop: the acknowledgement cannot reach a
// customer whose address is dead, and the notice to one of the agents
// cannot reach that agent either: the ticket's agents are told once each,
// and the failed notice makes no notice of its own.
func TestUndeliveredNoticeNoLoop(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTPWith(t, testenv.SMTPOptions{
		RcptErr: func(rcpt string) *smtp.SMTPError {
			switch rcpt {
			case "dead@shop.example", "bob@example.com":
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		},
	})
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	d := startDaemon(t, cfg, nil)
	imapSrv.Deliver(t, "INBOX", `From: Dan <dead@shop.example>
To: support@example.com
Subject: Cannot log in
Message-ID: <dead-1@shop.example>
Date: Fri, 20 Nov 2026 09:40:00 +0000

I cannot log in since this morning.
`)
	peer.Wait(t, "alice's notice", testenv.And(testenv.To("alice@example.com"), testenv.Subject("Not delivered to dead@shop.example")))
	settled(t, d)

	notified := map[string]int{}
	for _, m := range peer.Mails() {
		if strings.Contains(m.Header.Get("Subject"), "Not delivered") {
			for _, r := range m.To {
				notified[r]++
			}
		}
	}
	if notified["alice@example.com"] != 1 || notified["maria@example.com"] != 1 || len(notified) != 2 {
		t.Errorf("notices delivered %v, want one each to alice and maria (bob's address refuses mail)", notified)
	}
	var ref string
	for _, m := range peer.Mails() {
		if strings.Contains(m.Header.Get("Subject"), "Not delivered") {
			ref = testenv.Ref(t, m)
		}
	}
	notices, failedNotices := 0, 0
	for _, o := range outboxOf(t, d, ref) {
		if strings.Contains(o.Subject, "Not delivered") {
			notices++
			if o.ToCustomer {
				t.Errorf("notice %s is marked as mail to the customer", o.MessageID)
			}
			if !o.FailedAt.IsZero() {
				failedNotices++
			}
		}
		if strings.Contains(o.Subject, "Not delivered to bob@") {
			t.Errorf("a notice about the failed notice to bob: %s", o.Subject)
		}
	}
	if notices != 3 || failedNotices != 1 {
		t.Errorf("%d notices queued (%d failed), want 3 (alice, bob, maria), bob's failed", notices, failedNotices)
	}
	_, evs := ticketByRef(t, d, ref)
	n := 0
	for _, e := range evs {
		if e.Kind == helpdesk.EventDeliveryFailed {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d delivery-failed events, want 3 (the ack to dead@, and bob's new-ticket notification and notice)", n)
	}
}

// unfold joins the lines of a quoted-printable soft-wrapped body, enough
// to find a phrase the encoder may have cut.
func unfold(s string) string {
	s = strings.ReplaceAll(s, "=\r\n", "")
	s = strings.ReplaceAll(s, "=\n", "")
	return strings.ReplaceAll(s, "=3D", "=")
}
