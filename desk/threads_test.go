package desk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
)

// staffMails returns the mails queued to addr about ticket ref outside the
// customer's side, in the order they were queued.
func (td *testDesk) staffMails(addr string, id int64) []helpdesk.OutMail {
	td.t.Helper()
	var out []helpdesk.OutMail
	for _, m := range td.mailsTo(addr) {
		if m.TicketID == id && !m.ToCustomer {
			out = append(out, m)
		}
	}
	return out
}

// checkOneThread fails t unless every mail in ms has the ticket's one
// subject and Thread-Topic, the first starts the thread (in reply to the
// customer's mail it reports, if any), and each later one has References
// from the first to the one before it, followed by the mail it reports,
// if any, which is then its In-Reply-To; otherwise it answers the one
// before it.
func checkOneThread(t *testing.T, who string, ms []helpdesk.OutMail, subject string) {
	t.Helper()
	checkThreadIndex(t, who, ms)
	staff := map[string]bool{}
	for _, m := range ms {
		staff[m.MessageID] = true
	}
	for i, m := range ms {
		if m.Subject != subject {
			t.Errorf("%s mail %d (%s): Subject %q, want %q", who, i, m.Kind, m.Subject, subject)
		}
		if got := m.Headers["Thread-Topic"]; got != subject {
			t.Errorf("%s mail %d (%s): Thread-Topic %q, want %q", who, i, m.Kind, got, subject)
		}
		refs := m.References
		if m.InReplyTo != "" && !staff[m.InReplyTo] {
			// It reports a mail the reader may lack: last in References.
			if len(refs) == 0 || refs[len(refs)-1] != m.InReplyTo {
				t.Errorf("%s mail %d (%s): In-Reply-To %q is not last in References %q", who, i, m.Kind, m.InReplyTo, refs)
				continue
			}
			refs = refs[:len(refs)-1]
		} else if i > 0 && m.InReplyTo != ms[i-1].MessageID {
			t.Errorf("%s mail %d (%s): In-Reply-To %q, want the mail before, %s", who, i, m.Kind, m.InReplyTo, ms[i-1].MessageID)
		}
		if i == 0 {
			if len(refs) != 0 {
				t.Errorf("%s mail 0 starts the thread, but has References %q", who, m.References)
			}
			continue
		}
		if len(refs) == 0 || refs[0] != ms[0].MessageID || refs[len(refs)-1] != ms[i-1].MessageID {
			t.Errorf("%s mail %d (%s): References %q, want them from the first mail %s to the one before, %s",
				who, i, m.Kind, m.References, ms[0].MessageID, ms[i-1].MessageID)
		}
	}
}

// contains reports whether some mail of ms has every one of want in its text.
func contains(ms []helpdesk.OutMail, want ...string) bool {
	for _, m := range ms {
		all := true
		for _, w := range want {
			all = all && strings.Contains(m.Text, w)
		}
		if all {
			return true
		}
	}
	return false
}

// TestAgentMailOneThread runs a ticket's life (new, customer reply, a
// priority change, SLA warning and breach by the injected clock, resolve,
// the customer's reopen) and checks that every mail the agents and the
// manager get about it has one subject and chains its References to the
// first notification each of them got, while the body says what changed.
func TestAgentMailOneThread(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("life1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	tk, _ := td.ticket(ref)
	if tk.Priority != helpdesk.Critical {
		t.Fatalf("priority %s, want critical to start with", tk.Priority)
	}
	addr := td.agentAddress("alice@example.com", ref)
	customerReply := func(id, body string) {
		t.Helper()
		td.mail("support", fmt.Sprintf("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 10:10:00 +0000\n\n%s\n", ref, id, body))
	}

	td.now = td.now.Add(10 * time.Minute)
	customerReply("life2@x", "It still shows the 503 page.")

	// Alice lowers the priority (commands only: nothing is relayed).
	td.now = td.now.Add(10 * time.Minute)
	td.mail("support", agentMail("life-a1@example.com", addr, "#priority low"))
	td.now = td.now.Add(10 * time.Minute)
	customerReply("life3@x", "Any news?")
	// An internal note reaches maria in the same thread.
	td.mail("support", agentMail("life-a0@example.com", addr, "#note Checking the gateway logs."))

	// Low: a response within 2 business days (Wed 10:00 -> Fri 10:00).
	// The ladder warns the team at 75% and mails the managers at 100%.
	check := func(at time.Time) {
		t.Helper()
		td.now = at
		if err := td.d.CheckTicket(context.Background(), tk.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	check(time.Date(2026, 11, 19, 14, 30, 0, 0, time.UTC))
	check(time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC))

	// Alice resolves; Carol reopens within the window.
	td.now = time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	td.mail("support", agentMail("life-a2@example.com", addr, "#status resolved\nWe restarted the gateway; the store is back."))
	td.now = td.now.Add(2 * time.Hour)
	customerReply("life4@x", "It is down again!")
	tk, evs := td.ticket(ref)
	if tk.Status != helpdesk.StatusOpen || events(evs, helpdesk.EventReopened) != 1 {
		t.Fatalf("status %s, reopened events %d: want the ticket reopened", tk.Status, events(evs, helpdesk.EventReopened))
	}

	subject := "[" + ref + "] Store down"
	alice := td.staffMails("alice@example.com", tk.ID)
	maria := td.staffMails("maria@example.com", tk.ID)
	checkOneThread(t, "alice", alice, subject)
	checkOneThread(t, "maria", maria, subject)
	if a, m := checkThreadIndex(t, "alice", alice), checkThreadIndex(t, "maria", maria); !bytes.Equal(a, m) {
		t.Errorf("alice's and maria's conversation index headers differ: %x, %x", a, m)
	}
	other := td.mail("support", customer("life9@x", "Dan <dan@shop.example>", "Store down", outage)).Ref
	otk, _ := td.ticket(other)
	if o := checkThreadIndex(t, "alice on "+other, td.staffMails("alice@example.com", otk.ID)); bytes.Equal(o[6:], checkThreadIndex(t, "alice", alice)[6:]) {
		t.Errorf("two tickets share the conversation GUID %x", o[6:])
	}

	// Every step reached the agents, each saying in its body what it is.
	for _, c := range []struct {
		what string
		want []string
	}{
		{"the new-ticket notification", []string{"New ticket " + ref, "Priority:    critical"}},
		{"the customer's reply", []string{"New reply on " + ref, "It still shows the 503 page."}},
		{"the reply after the priority change", []string{"Any news?", "Priority:    low", "low: set by Alice <alice@example.com> with #priority"}},
		{"the SLA warning", []string{ref + " has used 75% of its response target"}},
		{"the reopen", []string{"Reopened by the customer: " + ref + " was resolved 2h ago", "It is down again!"}},
	} {
		if !contains(alice, c.want...) {
			t.Errorf("alice got no mail with %s (%q)", c.what, c.want)
		}
	}
	// A notification answers the customer's mail it reports.
	if got := alice[len(alice)-1]; got.InReplyTo != "life4@x" {
		t.Errorf("the reopen's notification is In-Reply-To %q, want the customer's mail life4@x", got.InReplyTo)
	}
	if !contains(maria, "Alice added an internal note to "+ref, "Checking the gateway logs.") {
		t.Error("maria got no note in the thread")
	}
	if !contains(maria, "The response target for "+ref+" has been missed") {
		t.Error("maria, the manager, got no breach mail")
	}
	if n := len(alice); n != 5 {
		t.Errorf("alice got %d mails about the ticket, want 5 (new, 3 replies, the warning)", n)
		for _, m := range alice {
			t.Logf("  %s %q", m.Kind, strings.SplitN(m.Text, "\n", 2)[0])
		}
	}
	// The mail to the customer stays in the customer's own thread.
	for _, m := range td.mailsTo("carol@shop.example") {
		if strings.HasPrefix(m.Subject, "[") || m.Headers["Thread-Topic"] != "" {
			t.Errorf("mail to the customer %q (%s) is threaded as the agents' mail", m.Subject, m.Kind)
		}
	}
}

// TestReasonsRenderForPeople: triage quotes what it matched as Go string
// literals; agents read them between typographic quotes, the customer's
// own quotes intact, and never Go's escapes.
func TestReasonsRenderForPeople(t *testing.T) {
	tests := []struct{ in, want string }{
		{`critical: "portal shows \"Error 502: upstream unavailable"`, `critical: “portal shows "Error 502: upstream unavailable”`},
		{`critical: "Portal down", "nobody can log in" + scope "every user"`, `critical: “Portal down”, “nobody can log in” + scope “every user”`},
		{`medium: error text "C:\\temp\\app.log not found"`, `medium: error text “C:\temp\app.log not found”`},
		{`high: "Café geschlossen"`, `high: “Café geschlossen”`},
		{`no rubric phrase matched: default medium`, `no rubric phrase matched: default medium`},
		// What cannot be shown stays escaped: a zero-width space, a
		// right-to-left override, a control character, a stray byte.
		{`critical: "log\u200bin \u202eevil \a \xff"`, `critical: “log\u200bin \u202eevil \a \xff”`},
		// Not a literal: left as written.
		{`claim "urgent not closed`, `claim "urgent not closed`},
		{`claim "x\q"`, `claim "x\q"`},
	}
	for _, tt := range tests {
		if got := desk.HumanReason(tt.in); got != tt.want {
			t.Errorf("HumanReason(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}

	// The whole way: triage's reason for a quoted error, in the
	// notification the agents read.
	td := newTestDesk(t)
	ref := td.mail("support", customer("q1@x", "Quinn <quinn@shop.example>", "Portal down",
		`The portal shows "Error 502: upstream unavailable" for all users since 9:00.`)).Ref
	tk, _ := td.ticket(ref)
	if !strings.Contains(strings.Join(tk.Reasons, "; "), `\"Error 502`) {
		t.Fatalf("triage's reasons %q no longer escape the quote; this test needs another mail", tk.Reasons)
	}
	n := td.staffMails("alice@example.com", tk.ID)
	if len(n) != 1 {
		t.Fatalf("%d notifications to alice, want 1", len(n))
	}
	if !strings.Contains(n[0].Text, `“portal shows "Error 502: upstream unavailable”`) || strings.Contains(n[0].Text, `\"`) {
		t.Errorf("the notification renders the reasons with Go's escapes:\n%s", n[0].Text)
	}
}

// TestPriorityReasonIsTheAgents: after an agent's #priority, the agents
// read the agent's decision as the reason, not triage's reading of the
// first mail; the subject stays the ticket's.
func TestPriorityReasonIsTheAgents(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("pr1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	tk, _ := td.ticket(ref)
	triageSaid := strings.Join(tk.Reasons, "; ")
	if !strings.HasPrefix(triageSaid, "critical:") {
		t.Fatalf("triage's reasons %q, want critical ones", triageSaid)
	}
	addr := td.agentAddress("maria@example.com", ref)
	td.mail("support", strings.Replace(agentMail("pr-m1@example.com", addr, "#priority high"), "Alice <alice@example.com>", "Maria <maria@example.com>", 1))
	td.mail("support", fmt.Sprintf("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <pr2@x>\nDate: Wed, 18 Nov 2026 10:10:00 +0000\n\nThanks, waiting.\n", ref))
	ms := td.staffMails("alice@example.com", tk.ID)
	last := ms[len(ms)-1]
	if !strings.Contains(last.Text, "Thanks, waiting.") {
		t.Fatalf("the last mail to alice is not the reply's notification:\n%s", last.Text)
	}
	if want := "Why:         high: set by Maria <maria@example.com> with #priority"; !strings.Contains(last.Text, want) {
		t.Errorf("the notification lacks %q:\n%s", want, last.Text)
	}
	if strings.Contains(last.Text, "critical:") {
		t.Errorf("the notification still gives triage's critical reasons:\n%s", last.Text)
	}
	if last.Subject != "["+ref+"] Store down" {
		t.Errorf("Subject %q changed with the priority", last.Subject)
	}
	if tk, _ = td.ticket(ref); strings.Join(tk.Reasons, "; ") != triageSaid {
		t.Errorf("triage's reasons on the ticket changed to %q; the triage report needs them", tk.Reasons)
	}
}

// TestSignedOff: the sign-offs agents' clients write without a "-- " line.
func TestSignedOff(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"We restarted the gateway.\n\nRegards,\nPat\nTeam Lead, Example Support\nT +44 20 7946 0000", true},
		{"We restarted the gateway.\n\nRegards, Pat\nTeam Lead", true},
		{"We restarted the gateway.\n\nKind regards,\n\nPatricia Jones | Team Lead", true},
		{"We restarted the gateway.\n\nThanks,\nThe Support Team", true},
		{"We restarted the gateway.\n\nMit freundlichen Grüßen\nPatricia Jones", true},
		{"We restarted the gateway.\n\n- Pat", true},
		{"We restarted the gateway.", false},
		{"We restarted the gateway.\n\nThanks!", false},
		{"We restarted the gateway.\n\nThanks for your patience.\nWe will check again tomorrow.", false},
		{"Best of luck with the migration,\nit should work now.", false},
		{"Pat will call you tomorrow.", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := desk.SignedOff(tt.text, "Patricia Jones", "pat@example.com"); got != tt.want {
			t.Errorf("SignedOff(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestOutlookSignatureNotDoubled: an agent whose client signs without a
// "-- " line ("Regards, / Alice / Team Lead") is relayed with that
// signature alone; an agent who did not sign gets the desk's signature
// line, and one whose "-- " signature the stripper took off too.
func TestOutlookSignatureNotDoubled(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("sig1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	relayOf := func(id, body string) helpdesk.OutMail {
		t.Helper()
		_, n := td.enqueuedSince(0)
		td.mail("support", agentMail(id, addr, body))
		ms, _ := td.enqueuedSince(n)
		for _, m := range ms {
			if m.Kind == helpdesk.KindRelay || m.Kind == helpdesk.KindResolution {
				return m
			}
		}
		t.Fatalf("%s relayed nothing", id)
		return helpdesk.OutMail{}
	}
	const generated = "Alice at Example Support"

	m := relayOf("sig-a1@example.com", "Hi Carol,\n\nWe restarted the gateway.\n\nRegards,\nAlice\nTeam Lead | Example Support\nT +44 20 7946 0000")
	if !strings.Contains(m.Text, "Team Lead | Example Support") || strings.Contains(m.Text, generated) || strings.Contains(m.HTML, generated) {
		t.Errorf("an Outlook-signed reply got a second signature:\n%s\n%s", m.Text, m.HTML)
	}
	if !strings.Contains(m.Text, "Ticket "+ref) {
		t.Errorf("the ticket footer went with the signature:\n%s", m.Text)
	}
	m = relayOf("sig-a2@example.com", "#status resolved\nFixed for good.\n\nBest regards,\nAlice")
	if m.Kind != helpdesk.KindResolution || strings.Contains(m.Text, generated) || strings.Contains(m.HTML, generated) {
		t.Errorf("a signed resolution got a second signature:\n%s\n%s", m.Text, m.HTML)
	}
	m = relayOf("sig-a3@example.com", "#status open\nOne more thing: please clear your cache.")
	if strings.Count(m.Text, generated) != 1 || strings.Count(m.HTML, generated) != 1 {
		t.Errorf("an unsigned reply lacks the desk's signature:\n%s\n%s", m.Text, m.HTML)
	}
	m = relayOf("sig-a4@example.com", "Please clear your cache again.\n\n-- \nAlice Smith\nTeam Lead")
	if strings.Count(m.Text, generated) != 1 || strings.Contains(m.Text, "Team Lead") {
		t.Errorf("a reply whose \"-- \" signature was stripped:\n%s", m.Text)
	}
}

// TestTeamListOneThread: a team with a list address gets the ticket's mail
// at that address, in one thread too, and so does an escalation recipient
// who is not an agent.
func TestTeamListOneThread(t *testing.T) {
	td := newTestDesk(t, func(c *desk.Config) {
		c.Teams = []desk.Team{{Name: "first-line", Address: "first-line@example.com"}}
	})
	ref := td.mail("support", customer("tl1@x", "Carol <carol@shop.example>", "Re: Fwd: Store down [HD-9]", outage)).Ref
	tk, _ := td.ticket(ref)
	for i, body := range []string{"Still down.", "Nothing works.\n\nESCALATE"} {
		td.now = td.now.Add(10 * time.Minute)
		td.mail("support", fmt.Sprintf("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <tl%d@x>\nDate: Wed, 18 Nov 2026 10:10:00 +0000\n\n%s\n", ref, i+2, body))
	}
	subject := "[" + ref + "] Store down"
	list := td.staffMails("first-line@example.com", tk.ID)
	if len(list) != 3 {
		t.Fatalf("%d mails to the team list, want 3 (new ticket, two replies)", len(list))
	}
	checkOneThread(t, "the team list", list, subject)
	coo := td.staffMails("coo@example.com", tk.ID)
	if len(coo) != 1 || !strings.Contains(coo[0].Text, "has been escalated") {
		t.Fatalf("mails to the COO: %d, want the customer's escalation", len(coo))
	}
	checkOneThread(t, "the COO", coo, subject)
}

// checkThreadIndex fails t unless the mails ms of one ticket carry
// Outlook's conversation index ([MS-OXOMSG] §2.2.1.3): one 22-byte header
// (0x01, 5 bytes of time, a GUID) on all of them, the first with no
// response level, each later one with one whose time delta is the time
// from the header's to the mail's.
func checkThreadIndex(t *testing.T, who string, ms []helpdesk.OutMail) []byte {
	t.Helper()
	var header []byte
	for i, m := range ms {
		b, err := base64.StdEncoding.DecodeString(m.Headers["Thread-Index"])
		if err != nil || len(b) < 22 || b[0] != 1 {
			t.Errorf("%s mail %d: Thread-Index %q (%v) is no conversation index", who, i, m.Headers["Thread-Index"], err)
			return nil
		}
		if i == 0 {
			header = b[:22]
			if len(b) != 22 {
				t.Errorf("%s mail 0: Thread-Index of %d bytes, want the 22-byte header alone", who, len(b))
			}
			continue
		}
		if !bytes.Equal(b[:22], header) || len(b) != 27 {
			t.Errorf("%s mail %d: Thread-Index %x, want %x and one 5-byte response level", who, i, b, header)
			continue
		}
		// The header's time: the 40 high bits of a FILETIME.
		var ft uint64
		for _, c := range b[1:6] {
			ft = ft<<8 | uint64(c)
		}
		ft <<= 24
		level := binary.BigEndian.Uint32(b[22:26])
		delta := uint64(level&(1<<31-1)) << 18
		if level>>31 == 1 {
			delta = uint64(level&(1<<31-1)) << 23
		}
		const epoch = 11644473600
		at := time.Unix(int64((ft+delta)/1e7)-epoch, 0)
		if d := at.Sub(m.CreatedAt); d > 2*time.Second || d < -2*time.Second {
			t.Errorf("%s mail %d: the Thread-Index's time is %v, the mail's %v", who, i, at.UTC(), m.CreatedAt)
		}
	}
	return header
}
