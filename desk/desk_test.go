package desk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

// testDesk is a desk on a temp SQLite file with a settable clock. Mail goes
// in through Ingest (the fetcher's path without IMAP) and comes out as
// outbox rows, read back from the store.
type testDesk struct {
	t   *testing.T
	cfg desk.Config
	d   *desk.Desk
	st  *store.Store
	now time.Time
	seq int

	mu       sync.Mutex
	enqueued []helpdesk.OutMail // what the desk enqueued, in order (desk.Hooks.Enqueued)
	logs     syncBuffer         // the desk's log at info level
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deskConfig is the test desk's configuration: the support mailbox in
// team first-line and an out-of-hours one for critical mail only, Alice and
// Maria (a manager) in first-line and Bob in second-line, mx.example.com's
// results trusted, and an office policy on a UK calendar beside a 24x7 one.
var deskConfig = testenv.Config{
	Mailbox: `team = "first-line"`,
	Agents: []testenv.Agent{
		{Email: "alice@example.com", Name: "Alice", Team: "first-line"},
		{Email: "bob@example.com", Name: "Bob", Team: "second-line"},
		{Email: "maria@example.com", Name: "Maria", Team: "first-line", Manager: true},
	},
	Extra: `[[mailbox]]
name = "ooh"
address = "ooh@example.com"
host = "127.0.0.1"
security = "none"
password = "${HD_TEST_IMAP_PASSWORD}"
policy = "ooh"
critical_only = true
queue_policy = "office"
[desk]
trusted_authserv_ids = ["mx.example.com"]
[sla]
default_policy = "office"
[[calendar]]
name = "uk"
timezone = "Europe/London"
holidays = ["gb"]
[calendar.hours]
weekdays = ["09:00-17:00"]
[[policy]]
name = "office"
calendar = "uk"
escalate_to = ["coo@example.com"]
[[policy.target]]
priority = "critical"
response = "2 business hours"
resolution = "1 business day"
[[policy.target]]
priority = "low"
response = "2 business days"
[[policy]]
name = "ooh"
calendar = "24x7"
[[policy.target]]
priority = "critical"
response = "2h"
`,
}

// newTestDesk builds the test desk; tweaks change its configuration first.
func newTestDesk(t *testing.T, tweaks ...func(*desk.Config)) *testDesk {
	t.Helper()
	cfg := deskConfig.Load(t)
	td := &testDesk{t: t, now: time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)} // a Wednesday
	st, err := store.Open(context.Background(), cfg.Store.Path, store.Options{Now: func() time.Time { return td.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tri, err := triage.New(triage.Rules{Levels: cfg.Levels})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	dc := desk.Config{Name: "Example Support", From: cfg.SMTP.From, Levels: cfg.Levels, Policies: cfg.Policies,
		DefaultPolicy: cfg.SLA.DefaultPolicy, Customer: cfg.Customer, ReopenWindow: 7 * 24 * time.Hour,
		AutoReplyLimit: 10, AutoReplyWindow: time.Hour, Trust: cfg.Desk.Trust, MaxCc: cfg.Desk.MaxCc, EscalateKeyword: "escalate"}
	for _, mb := range cfg.Mailboxes {
		dc.Mailboxes = append(dc.Mailboxes, desk.Mailbox{Name: mb.Name, Address: mb.Address, Policy: mb.Policy, Team: mb.Team,
			CriticalOnly: mb.CriticalOnly, QueuePolicy: mb.QueuePolicy})
	}
	for _, a := range cfg.Agents {
		dc.Agents = append(dc.Agents, desk.Agent{Email: a.Email, Name: a.Name, Team: a.Team, Manager: a.Manager})
	}
	for _, tw := range tweaks {
		tw(&dc)
	}
	td.cfg = dc
	td.d, err = desk.New(dc, desk.Options{Store: st, Triage: tri, Templates: tmpl, Now: func() time.Time { return td.now },
		Log: slog.New(slog.NewTextHandler(&td.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Hooks: desk.Hooks{Enqueued: func(m helpdesk.OutMail) {
			td.mu.Lock()
			td.enqueued = append(td.enqueued, m)
			td.mu.Unlock()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	td.st = st
	return td
}

// mail ingests one raw mail into a mailbox and returns the result.
func (td *testDesk) mail(box, raw string) desk.Result {
	td.t.Helper()
	td.seq++
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	msg, err := message.Parse([]byte(raw), message.ParseOptions{})
	if err != nil {
		td.t.Fatalf("parse: %v", err)
	}
	res, err := td.d.Ingest(context.Background(), desk.Incoming{Mailbox: box, UIDValidity: 1, UID: uint32(td.seq), Message: msg, Raw: []byte(raw)})
	if err != nil {
		td.t.Fatalf("ingest: %v", err)
	}
	return res
}

// outbox returns every row written to the outbox so far.
func (td *testDesk) outbox() []helpdesk.OutMail {
	td.t.Helper()
	rows, err := td.st.DueOutbox(context.Background(), td.now.Add(1000*time.Hour), 10000)
	if err != nil {
		td.t.Fatal(err)
	}
	return rows
}

// enqueuedSince returns the mails enqueued after the first n, and how many
// were enqueued in all: for tests that look at what each mail caused
// without reading the whole outbox every time.
func (td *testDesk) enqueuedSince(n int) ([]helpdesk.OutMail, int) {
	td.mu.Lock()
	defer td.mu.Unlock()
	return td.enqueued[n:], len(td.enqueued)
}

func (td *testDesk) mailsTo(addr string) []helpdesk.OutMail {
	var out []helpdesk.OutMail
	for _, m := range td.outbox() {
		for _, a := range m.To {
			if a.Email == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

func (td *testDesk) ticket(ref string) (*helpdesk.Ticket, []helpdesk.Event) {
	td.t.Helper()
	var tk *helpdesk.Ticket
	var evs []helpdesk.Event
	if err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		if tk, err = tx.TicketByRef(ref); err != nil {
			return err
		}
		evs, err = tx.Events(tk.ID)
		return err
	}); err != nil {
		td.t.Fatal(err)
	}
	return tk, evs
}

// detail returns the details of the events of a kind, joined.
func detail(evs []helpdesk.Event, kind helpdesk.EventKind) string {
	var out []string
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e.Detail)
		}
	}
	return strings.Join(out, " | ")
}

func events(evs []helpdesk.Event, kind helpdesk.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// agentAddress is the per-agent reply address of the latest notification
// to agent on the ticket.
func (td *testDesk) agentAddress(agent, ref string) string {
	td.t.Helper()
	for _, m := range td.mailsTo(agent) {
		if strings.Contains(m.Subject, ref) && len(m.ReplyTo) == 1 {
			return m.ReplyTo[0].Email
		}
	}
	td.t.Fatalf("no notification to %s for %s", agent, ref)
	return ""
}

func customer(id, from, subject, body string) string {
	return fmt.Sprintf("From: %s\nTo: support@example.com\nSubject: %s\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 10:00:00 +0000\n\n%s\n", from, subject, id, body)
}

func agentMail(id, to, body string) string {
	return fmt.Sprintf("From: Alice <alice@example.com>\nTo: %s\nSubject: Re: x\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 10:30:00 +0000\n\n%s\n", to, id, body)
}

const outage = "The whole store is down for all customers since 09:40. Every page shows HTTP 503.\n\nSteps: open https://shop.example/"

func TestAgentCommandsAndAttachments(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("c1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)

	// Commands only: team, cc, escalate; nothing is relayed.
	before := len(td.mailsTo("carol@shop.example"))
	td.mail("support", agentMail("a1@example.com", addr, "#team second-line\n#cc Dave <dave@shop.example>\n#escalate customer is losing orders"))
	tk, evs := td.ticket(ref)
	if tk.Team != "second-line" || events(evs, "cc") != 1 || events(evs, "escalation") != 1 {
		t.Fatalf("team %q cc %d escalation %d", tk.Team, events(evs, "cc"), events(evs, "escalation"))
	}
	if got := len(td.mailsTo("carol@shop.example")); got != before {
		t.Fatalf("a commands-only mail relayed something: %d mails to the customer, want %d", got, before)
	}
	if esc := td.mailsTo("coo@example.com"); len(esc) != 1 || !strings.Contains(esc[0].Text, "losing orders") {
		t.Fatalf("escalation to the policy's escalate_to: %+v", esc)
	}

	// A reply with an attachment reaches the customer and the new Cc.
	raw := fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: x
Message-ID: <a2@example.com>
Date: Wed, 18 Nov 2026 10:40:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Here is the incident report.
--b
Content-Type: text/plain; name="report.txt"
Content-Disposition: attachment; filename="report.txt"

root cause: expired certificate
--b--
`, addr)
	td.mail("support", raw)
	var relay *helpdesk.OutMail
	for _, m := range td.mailsTo("carol@shop.example") {
		if m.Kind == helpdesk.KindRelay {
			relay = &m
		}
	}
	if relay == nil || len(relay.Attachments) != 1 || relay.Attachments[0].Filename != "report.txt" {
		t.Fatalf("relayed mail with attachment: %+v", relay)
	}
	if len(relay.Cc) != 1 || relay.Cc[0].Email != "dave@shop.example" {
		t.Fatalf("relay Cc = %+v, want dave", relay.Cc)
	}
	if relay.From.Email != "support@example.com" || relay.From.Name != "Alice at Example Support" {
		t.Fatalf("relay From = %+v", relay.From)
	}

	// An agent who is not named cannot be assigned, and nothing changes.
	td.mail("support", agentMail("a3@example.com", addr, "#assign nobody@example.com\n#status resolved\nDone"))
	tk, evs = td.ticket(ref)
	if tk.Status != helpdesk.StatusOpen || events(evs, "command-rejected") != 1 {
		t.Fatalf("bad #assign: status %s, rejections %d", tk.Status, events(evs, "command-rejected"))
	}
}

func TestPendingPausesAndCustomerReplyResumes(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("p1@x", "pat@shop.example", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	tk, _ := td.ticket(ref)
	due := tk.ResolutionDue
	td.now = td.now.Add(30 * time.Minute)
	td.mail("support", agentMail("pa1@example.com", addr, "#status pending\nCould you send the full error?"))
	tk, _ = td.ticket(ref)
	if tk.Status != helpdesk.StatusPending || !tk.Paused() {
		t.Fatalf("status %s paused %v", tk.Status, tk.Paused())
	}
	td.now = td.now.Add(2 * time.Hour) // two business hours waiting on the customer
	td.mail("support", fmt.Sprintf("From: pat@shop.example\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <p2@x>\nDate: Wed, 18 Nov 2026 12:30:00 +0000\n\nHere it is: Error 503 Service Unavailable\n", ref))
	tk, evs := td.ticket(ref)
	if tk.Status != helpdesk.StatusOpen || tk.Paused() || events(evs, "status") < 2 {
		t.Fatalf("after the reply: status %s paused %v", tk.Status, tk.Paused())
	}
	if got, want := tk.ResolutionDue.Sub(due), 2*time.Hour; got != want {
		t.Fatalf("resolution due moved by %v, want the %v paused", got, want)
	}
}

func TestCustomerEscalationOncePerDay(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("e1@x", "erin@shop.example", "Store down", outage)).Ref
	reply := func(id string) {
		td.mail("support", fmt.Sprintf("From: erin@shop.example\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 12:00:00 +0000\n\nNobody answered.\n\nEscalate\n", ref, id))
	}
	reply("e2@x")
	td.now = td.now.Add(time.Hour)
	reply("e3@x")
	if got := len(td.mailsTo("coo@example.com")); got != 1 {
		t.Fatalf("%d escalation mails within a day, want 1", got)
	}
	var told int
	for _, m := range td.mailsTo("erin@shop.example") {
		if strings.Contains(strings.ToLower(m.Text), "escalat") {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("customer told of the escalation %d times, want 1", told)
	}
	td.now = td.now.Add(25 * time.Hour)
	reply("e4@x")
	if got := len(td.mailsTo("coo@example.com")); got != 2 {
		t.Fatalf("%d escalation mails after a day, want 2", got)
	}
}

func TestOutOfHoursQueuesNonCritical(t *testing.T) {
	td := newTestDesk(t)
	td.now = time.Date(2026, 11, 18, 22, 0, 0, 0, time.UTC) // Wednesday night
	crit := td.mail("ooh", strings.Replace(customer("o1@x", "ops@shop.example", "Site down", outage), "support@", "ooh@", 1)).Ref
	minor := td.mail("ooh", strings.Replace(customer("o2@x", "ops2@shop.example", "Typo", "There is a typo in the footer."), "support@", "ooh@", 1)).Ref
	ct, _ := td.ticket(crit)
	mt, evs := td.ticket(minor)
	if ct.Policy != "ooh" || !ct.ResponseDue.Equal(td.now.Add(2*time.Hour)) {
		t.Errorf("critical: policy %s due %v", ct.Policy, ct.ResponseDue)
	}
	if mt.Policy != "office" || events(evs, "queued") != 1 {
		t.Errorf("non-critical: policy %s queued events %d", mt.Policy, events(evs, "queued"))
	}
	acks := td.mailsTo("ops2@shop.example")
	if len(acks) != 1 || !strings.Contains(strings.ToLower(acks[0].Text), "queued") {
		t.Fatalf("queued ack does not explain business hours: %+v", acks)
	}
}

func TestFieldsCompleteThanksOnce(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("f1@x", "fred@shop.example", "Checkout broken for everyone", "Checkout is broken for all customers, nobody can pay.")).Ref
	tk, _ := td.ticket(ref)
	if len(tk.Missing) == 0 {
		t.Fatal("expected missing fields")
	}
	reply := func(id, body string) {
		td.mail("support", fmt.Sprintf("From: fred@shop.example\nTo: support@example.com\nSubject: Re: Checkout broken [%s]\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 10:30:00 +0000\n\n%s\n", ref, id, body))
	}
	reply("f2@x", "It started at 09:15 this morning.")
	reply("f3@x", "Error message: \"PAY-500 gateway timeout\"\n\nSteps to reproduce:\n1. Add a product\n2. Click Pay")
	tk, _ = td.ticket(ref)
	if len(tk.Missing) != 0 {
		t.Fatalf("still missing %v", tk.Missing)
	}
	reply("f4@x", "Any news?")
	thanks := 0
	for _, m := range td.mailsTo("fred@shop.example") {
		if m.Kind == helpdesk.KindSystem {
			thanks++
		}
	}
	if thanks != 1 {
		t.Fatalf("%d 'we have everything' mails, want exactly 1", thanks)
	}
}

func TestReplyAfterWindowOrClosedOpensLinkedTicket(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("r1@x", "rita@shop.example", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	td.mail("support", agentMail("ra1@example.com", addr, "#status resolved\nFixed."))
	td.now = td.now.Add(8 * 24 * time.Hour)
	res := td.mail("support", fmt.Sprintf("From: rita@shop.example\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <r2@x>\nDate: Thu, 26 Nov 2026 10:00:00 +0000\n\nDown again!\n", ref))
	if res.Outcome != desk.Opened || res.Ref == ref {
		t.Fatalf("reply after the reopen window: %+v, want a new ticket", res)
	}
	nt, _ := td.ticket(res.Ref)
	if nt.LinkedTo != ref {
		t.Fatalf("new ticket links to %q, want %s", nt.LinkedTo, ref)
	}
	old, _ := td.ticket(ref)
	if old.Status != helpdesk.StatusResolved {
		t.Fatalf("old ticket reopened after the window: %s", old.Status)
	}
}

func TestUnreadableMailIsQuarantinedAndCheckpointed(t *testing.T) {
	td := newTestDesk(t)
	res, err := td.d.Ingest(context.Background(), desk.Incoming{Mailbox: "support", UIDValidity: 7, UID: 3, Raw: []byte("\x00\x01"),
		ParseError: errors.New("no header fields")})
	if !errors.Is(err, desk.ErrUnreadable) || res.Outcome != desk.Quarantined {
		t.Fatalf("res %+v err %v", res, err)
	}
	if uv, uid, _ := td.st.Checkpoint(context.Background(), "support"); uv != 7 || uid != 3 {
		t.Fatalf("checkpoint %d/%d, want 7/3: a quarantined mail must not be fetched again", uv, uid)
	}
}

func TestDuplicateAddsNothing(t *testing.T) {
	td := newTestDesk(t)
	raw := customer("d1@x", "dup@shop.example", "Store down", outage)
	first := td.mail("support", raw)
	n := len(td.outbox())
	second := td.mail("support", raw)
	if second.Outcome != desk.Duplicate || first.Outcome != desk.Opened {
		t.Fatalf("outcomes %s then %s", first.Outcome, second.Outcome)
	}
	if got := len(td.outbox()); got != n {
		t.Fatalf("a duplicate enqueued %d more mails", got-n)
	}
}

// TestAgentProofByPosition: an Authentication-Results field proves an
// agent only where our own server writes it, above the Received: field with
// which it took the mail from the outside (RFC 8601 §5, §7.1). Every other
// mail claiming an agent's From runs nothing and is flagged.
func TestAgentProofByPosition(t *testing.T) {
	const ours = "Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.com (Postfix) with ESMTPS id 4ZQ; Wed, 18 Nov 2026 10:30:00 +0000\n"
	theirs := func(authserv, result string) string {
		return fmt.Sprintf("Authentication-Results: %s; dkim=%s header.d=example.com\n", authserv, result)
	}
	tests := []struct {
		name    string
		trace   string // the header above From
		applied bool
		forged  bool
	}{
		{"a pass from a server we do not trust", theirs("evil.example", "pass") + ours, false, false},
		{"our server says fail", theirs("mx.example.com", "fail") + ours, false, false},
		{"a pass forged below our Received line", ours + theirs("mx.example.com", "pass"), false, true},
		{"our fail on top, a forged pass below", theirs("mx.example.com", "fail") + ours + theirs("mx.example.com", "pass"), false, true},
		{"our pass on top, a forged one below too", theirs("mx.example.com", "pass") + ours + theirs("mx.example.com", "pass"), false, true},
		{"a pass in a mail that never passed our server", theirs("mx.example.com", "pass"), false, true},
		{"our genuine pass on top", theirs("mx.example.com", "pass") + ours, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := newTestDesk(t)
			ref := td.mail("support", customer(fmt.Sprintf("k%d@x", i), "kim@shop.example", "Store down", outage)).Ref
			n := len(td.outbox())
			raw := fmt.Sprintf("%sFrom: Alice <alice@example.com>\nTo: support@example.com\nSubject: Re: Store down [%s]\nMessage-ID: <k%d@example.com>\nDate: Wed, 18 Nov 2026 10:30:00 +0000\n\n#status pending\nPlease confirm the error. ATTACKER-TEXT\n",
				tt.trace, ref, i)
			td.mail("support", raw)
			tk, evs := td.ticket(ref)
			if got := tk.Status == helpdesk.StatusPending; got != tt.applied {
				t.Fatalf("command applied = %v, want %v (status %s)", got, tt.applied, tk.Status)
			}
			if tt.applied {
				return
			}
			if events(evs, "suspicious") != 1 {
				t.Errorf("suspicious events = %d, want 1: %+v", events(evs, "suspicious"), evs)
			}
			if got := detail(evs, "suspicious"); strings.Contains(got, "forged") != tt.forged {
				t.Errorf("suspicious detail %q: forged = %v, want %v", got, !tt.forged, tt.forged)
			}
			told := false
			for _, m := range td.outbox()[n:] {
				told = told || m.To[0].Email == "maria@example.com" && strings.Contains(m.Text, "Suspicious:") && strings.Contains(m.Text, "ATTACKER-TEXT")
				for _, to := range m.To {
					if to.Email == "kim@shop.example" && strings.Contains(m.Text, "ATTACKER-TEXT") {
						t.Errorf("the attacker's text was relayed to the customer: %q", m.Subject)
					}
				}
			}
			if !told {
				t.Error("the agents were not told of the suspicious mail")
			}
		})
	}
}

// TestQuietMailIsATicketWithoutAck: a newsletter (it offers to unsubscribe
// its reader) and a mail dated years before it arrived become tickets the
// agents are told of, but their senders get no acknowledgement.
func TestQuietMailIsATicketWithoutAck(t *testing.T) {
	td := newTestDesk(t)
	news := "From: Offers <offers@deals.example>\nTo: support@example.com\nSubject: December deals\nMessage-ID: <n1@deals.example>\nDate: Wed, 18 Nov 2026 09:00:00 +0000\n\n50% off everything.\n\nUnsubscribe <https://deals.example/unsubscribe?u=9>\n"
	old := "Received: from a.example by mx.example.com; Wed, 18 Nov 2026 09:59:00 +0000\nFrom: Bob <bob@old.example>\nTo: support@example.com\nSubject: Re:\nMessage-ID: <o1@old.example>\nDate: Fri, 2 Jan 2004 11:43:19 -0330\n\nSee the picture.\n"
	for _, c := range []struct{ raw, from, why string }{
		{news, "offers@deals.example", "bulk mail"},
		{old, "bob@old.example", "dated 2004-01-02"},
	} {
		ref := td.mail("support", c.raw).Ref
		if ref == "" {
			t.Fatalf("%s: no ticket", c.from)
		}
		if got := td.mailsTo(c.from); len(got) != 0 {
			t.Errorf("%s was answered: %+v", c.from, got[0].Subject)
		}
		if _, evs := td.ticket(ref); !strings.Contains(detail(evs, helpdesk.EventAckSuppressed), c.why) {
			t.Errorf("%s: ack-suppressed events %q, want the reason %q", ref, detail(evs, helpdesk.EventAckSuppressed), c.why)
		}
		td.agentAddress("alice@example.com", ref) // fails the test when the agents were not told
	}
	// The same desk still answers an ordinary customer.
	td.mail("support", customer("c9@x", "Carol <carol@shop.example>", "Store down", outage))
	if len(td.mailsTo("carol@shop.example")) != 1 {
		t.Error("an ordinary customer mail got no acknowledgement")
	}
}

// TestNoteBodyNotLoggedAtInfo: an internal note is written for agents; the
// log at info level says a note was added, not what it says.
func TestNoteBodyNotLoggedAtInfo(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("c1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	td.mail("support", agentMail("n1@example.com", addr, "#note\nThe customer's DB password is hunter2, do not share."))
	_, evs := td.ticket(ref)
	if !strings.Contains(detail(evs, helpdesk.EventNote), "hunter2") {
		t.Fatalf("the note was not recorded: %q", detail(evs, helpdesk.EventNote))
	}
	logs := td.logs.String()
	if strings.Contains(logs, "hunter2") {
		t.Errorf("a note body reached the info log:\n%s", logs)
	}
	if !strings.Contains(logs, "event=note") {
		t.Errorf("the note event is not logged at all:\n%s", logs)
	}
}

// An agent who writes "FW:" over the notification they reply to (some
// clients do, or anyone with the agent's proof) relays their own words
// only: the subject is the sender's to write, and a forward's history
// (the notification, with the agent's reply address and internal text)
// must never reach the customer. A customer's forward opens a ticket with
// the forwarded report as its text.
func TestForwardSubjectRelaysNoHistory(t *testing.T) {
	td := newTestDesk(t)
	ref := td.mail("support", customer("f1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	addr := td.agentAddress("alice@example.com", ref)
	raw := fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: FW: [%s] Store down
Message-ID: <f2@example.com>
Date: Wed, 18 Nov 2026 10:40:00 +0000

We are on it.

From: Example Support <support@example.com>
Sent: Wednesday, 18 November 2026 10:30
To: Alice <alice@example.com>
Subject: [%s] Store down

INTERNAL note: reply address %s
`, addr, ref, ref, addr)
	td.mail("support", raw)
	var relay *helpdesk.OutMail
	for _, m := range td.mailsTo("carol@shop.example") {
		if m.Kind == helpdesk.KindRelay {
			relay = &m
		}
	}
	if relay == nil || !strings.Contains(relay.Text, "We are on it.") {
		t.Fatalf("no relay of the agent's words: %+v", relay)
	}
	if strings.Contains(relay.Text, "INTERNAL") || strings.Contains(relay.Text, addr) {
		t.Fatalf("the relay carried the forwarded history:\n%s", relay.Text)
	}

	fwd := customer("f3@x", "Nick <nick@shop.example>", "FW: orders late", "See below.\n\nFrom: Sophie <sophie@shop.example>\nSent: Tuesday, 17 November 2026 13:58\nTo: Nick <nick@shop.example>\nSubject: orders late\n\nSince Friday nobody can place an order, the checkout fails for everyone.\n")
	res := td.mail("support", fwd)
	var note *helpdesk.OutMail
	for _, m := range td.mailsTo("alice@example.com") {
		if strings.Contains(m.Subject, res.Ref) {
			note = &m
		}
	}
	if note == nil || !strings.Contains(note.Text, "Since Friday nobody can place an order") {
		t.Fatalf("the agents' notification lacks the forwarded report: %+v", note)
	}
}
