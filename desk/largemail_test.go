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

// longLog is n bytes of numbered log lines and its last line.
func longLog(n int) (string, string) {
	var b strings.Builder
	var last string
	for i := 0; b.Len() < n; i++ {
		last = fmt.Sprintf("02:%02d:%02d import: row %08d rejected: constraint violation on orders.customer_id", i/60%60, i%60, i)
		b.WriteString(last + "\n")
	}
	return b.String(), last
}

// A customer's 3 MiB text: the ticket keeps the first MiB and says how
// much more the raw mail holds (a text-cut event); each agent's
// notification carries the first 64 KiB, then how much more there is and
// how to read it all.
func TestLargeTextNotificationBounded(t *testing.T) {
	td := newTestDesk(t)
	log, last := longLog(3 << 20)
	res := td.mail("support", customer("biglog@x", "Carol <carol@shop.example>", "Import failing",
		"The nightly import fails for all users since 02:00. The log:\n\n"+log))
	if res.Ref == "" {
		t.Fatalf("no ticket: %+v", res)
	}
	_, evs := td.ticket(res.Ref)
	if d := detail(evs, helpdesk.EventTextCut); !strings.Contains(d, "the text was cut after 10") || !strings.Contains(d, "KiB more are in the raw mail") || !strings.Contains(d, "helpdeskd show -full "+res.Ref) {
		t.Errorf("text-cut event = %q", d)
	}
	var stored string
	err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
		tk, err := tx.TicketByRef(res.Ref)
		if err != nil {
			return err
		}
		ms, err := tx.Messages(tk.ID)
		for _, m := range ms {
			if m.Direction == helpdesk.Inbound {
				stored = m.Text
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) > message.MaxText || strings.Contains(stored, last) {
		t.Errorf("the ticket keeps %d bytes of text (the last line: %v), want at most %d", len(stored), strings.Contains(stored, last), message.MaxText)
	}
	for _, agent := range []string{"alice@example.com", "maria@example.com"} {
		ms := td.mailsTo(agent)
		if len(ms) != 1 {
			t.Fatalf("%s got %d mails, want 1 notification", agent, len(ms))
		}
		body := ms[0].Text
		if len(body) > 72<<10 {
			t.Errorf("notification to %s is %d bytes, want the text cut to 64 KiB", agent, len(body))
		}
		if !strings.Contains(body, "The nightly import fails for all users since 02:00.") {
			t.Errorf("notification to %s lacks the start of the text", agent)
		}
		// 3 MiB of log less the 64 KiB shown: about 3,008 KiB more.
		if !strings.Contains(body, " more KiB; read it all with `helpdeskd show -full "+res.Ref+"`") ||
			!strings.Contains(body, "… 30") {
			i := strings.Index(body, "…")
			t.Errorf("notification to %s does not say how much more and how to read it: %q", agent, body[max(0, i-10):min(len(body), i+120)])
		}
	}
}

// A short mail's notification carries all of it and no such line.
func TestShortTextNotificationWhole(t *testing.T) {
	td := newTestDesk(t)
	res := td.mail("support", customer("short@x", "Carol <carol@shop.example>", "Store down", outage))
	ms := td.mailsTo("alice@example.com")
	if len(ms) != 1 {
		t.Fatalf("alice got %d mails, want 1 (%+v)", len(ms), res)
	}
	if strings.Contains(ms[0].Text, "more KiB") {
		t.Errorf("notification of a short mail says there is more:\n%s", ms[0].Text)
	}
}

// A mail of 100,000 parts reads MaxParts of them; the ticket says how many
// were not read.
func TestManyPartsEvent(t *testing.T) {
	td := newTestDesk(t)
	var b strings.Builder
	b.WriteString("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Store down\nMessage-ID: <parts100k@x>\n" +
		"Date: Wed, 18 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n" + outage + "\n")
	const n = 100000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--B\nContent-Type: text/plain\n\np%d\n", i)
	}
	b.WriteString("--B--\n")
	ref := td.mail("support", b.String()).Ref
	_, evs := td.ticket(ref)
	if want := fmt.Sprintf("%d MIME parts beyond the first %d were not read", n-(message.MaxParts-2), message.MaxParts); !strings.Contains(detail(evs, helpdesk.EventPartsOmitted), want) {
		t.Errorf("parts-omitted event = %q, want %q", detail(evs, helpdesk.EventPartsOmitted), want)
	}
}

// A notification lists the customer's attachments by name and size (the
// first 20, then how many more) and attaches none of them.
func TestNotificationListsAttachments(t *testing.T) {
	td := newTestDesk(t)
	var b strings.Builder
	b.WriteString("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Store down\nMessage-ID: <files@x>\n" +
		"Date: Wed, 18 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n" + outage + "\n")
	b.WriteString("--B\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"checkout.png\"\n\n" + strings.Repeat("p", 3000) + "\n")
	for i := 0; i < 24; i++ {
		fmt.Fprintf(&b, "--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"log%02d.txt\"\n\nline %d\n", i, i)
	}
	b.WriteString("--B--\n")
	td.mail("support", b.String())
	ms := td.mailsTo("alice@example.com")
	if len(ms) != 1 {
		t.Fatalf("alice got %d mails, want 1 notification", len(ms))
	}
	n := ms[0]
	for _, want := range []string{"Attachments (listed, not attached to this mail):", "  - checkout.png, 2.9 KB", "  - log00.txt, 6 bytes", "  - log18.txt", "  - 5 more"} {
		if !strings.Contains(n.Text, want) {
			t.Errorf("notification lacks %q:\n%s", want, n.Text)
		}
	}
	if strings.Contains(n.Text, "log19.txt") {
		t.Errorf("notification lists more than 20 files")
	}
	if len(n.Attachments) != 0 {
		t.Errorf("notification carries %d attachments, want none", len(n.Attachments))
	}
}

// A customer's request to escalate, in a mail of 3 MiB of text: the
// escalation mail carries the first 64 KiB too, and no mail the desk
// writes about it is larger.
func TestLargeTextEscalationBounded(t *testing.T) {
	td := newTestDesk(t)
	log, _ := longLog(3 << 20)
	res := td.mail("support", customer("esc0@x", "Carol <carol@shop.example>", "Import failing",
		"The nightly import fails for all users since 02:00."))
	reply := strings.Replace(customer("esc1@x", "Carol <carol@shop.example>", "Re: Import failing",
		"Still failing.\n\nescalate\n\nThe log:\n\n"+log), "\n\n", "\nIn-Reply-To: <esc0@x>\n\n", 1)
	if r := td.mail("support", reply); r.Ref != res.Ref {
		t.Fatalf("the reply went to %+v, want %s", r, res.Ref)
	}
	_, evs := td.ticket(res.Ref)
	if detail(evs, helpdesk.EventEscalation) == "" {
		t.Fatalf("no escalation on %s: %+v", res.Ref, evs)
	}
	escalations := 0
	for _, m := range td.outbox() {
		if len(m.Text) > 72<<10 || len(m.HTML) > 144<<10 {
			t.Errorf("%s mail to %v is %d bytes of text, %d of HTML", m.Kind, m.To, len(m.Text), len(m.HTML))
		}
		if m.Kind == helpdesk.KindEscalation {
			escalations++
			if !strings.Contains(m.Text, " more KiB; read it all with `helpdeskd show -full "+res.Ref+"`") {
				t.Errorf("escalation to %v does not say how much more there is", m.To)
			}
		}
	}
	if escalations == 0 {
		t.Errorf("no escalation mail in the outbox")
	}
}

// An agent's reply of 2 MiB of text is not relayed cut: nothing is
// relayed, no command runs, and the agent is told why.
func TestLargeAgentReplyRefused(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("c1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	log, _ := longLog(2 << 20)
	before := len(td.mailsTo("carol@shop.example"))
	td.mail("support", agentMail("a-long@example.com", addr, "#priority low\n\nHere is what we found:\n\n"+log))
	if got := len(td.mailsTo("carol@shop.example")); got != before {
		t.Errorf("the customer got %d more mails, want none", got-before)
	}
	tk, evs := td.ticket(ref)
	if tk.Priority == helpdesk.Low {
		t.Errorf("the #priority of a refused reply was applied")
	}
	if d := detail(evs, helpdesk.EventCommandRejected); !strings.Contains(d, "a reply relays at most 1024 KiB") {
		t.Errorf("command-rejected event = %q", d)
	}
	var told bool
	for _, m := range td.mailsTo("alice@example.com") {
		told = told || strings.Contains(m.Text, "a shorter text, with the long part as an attached file")
	}
	if !told {
		t.Errorf("alice was not told why her reply was not relayed")
	}
}

// An agent's #note of 2 MiB reaches the other agents as its first 64 KiB
// and the line on how to read the rest.
func TestLargeNoteBounded(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("c1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	log, _ := longLog(2 << 20)
	td.mail("support", agentMail("a-note@example.com", addr, "#note\n\nThe import log for the record:\n\n"+log))
	var notes int
	for _, m := range td.mailsTo("maria@example.com") {
		if m.Kind != helpdesk.KindNotification || !strings.Contains(m.Text, "The import log for the record") {
			continue
		}
		notes++
		if len(m.Text) > 72<<10 || !strings.Contains(m.Text, "more KiB; read it all with `helpdeskd show -full "+ref+"`") {
			t.Errorf("note to maria is %d bytes, or does not say how to read the rest", len(m.Text))
		}
	}
	if notes != 1 {
		t.Errorf("maria got %d notes, want 1", notes)
	}
}
