package demo

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// Printer writes the demo's account of what happens, one line per event:
// mail received, ticket filed with its priority and reasons, fields
// missing, every mail leaving (acknowledgement, agent notification,
// escalation, relayed reply), SLA warnings, escalations and breaches, and
// what agents do. Each line starts with the demo clock's time. A Printer is
// safe for concurrent use; its methods fit desk.Hooks and the servers'
// callbacks.
type Printer struct {
	w      io.Writer
	loc    *time.Location
	now    func() time.Time
	ticket func(ref string) (*helpdesk.Ticket, error)

	mu    sync.Mutex
	kinds map[string]outMail // Message-ID of an enqueued mail -> what it is
}

type outMail struct {
	kind helpdesk.MessageKind
	ref  string
}

// NewPrinter returns a Printer writing to w, showing times of now in loc.
// ticket looks a ticket up for the line of a new ticket (subject, customer,
// claim); nil leaves those out.
func NewPrinter(w io.Writer, loc *time.Location, now func() time.Time, ticket func(ref string) (*helpdesk.Ticket, error)) *Printer {
	if loc == nil {
		loc = time.Local
	}
	return &Printer{w: w, loc: loc, now: now, ticket: ticket, kinds: map[string]outMail{}}
}

// line writes one line: time, ticket reference, label, text.
func (p *Printer) line(at time.Time, ref, label, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s  %-8s %-13s %s\n", at.In(p.loc).Format("Mon 15:04:05"), ref, label, oneLine(text))
}

// Printf writes a line of the demo's own (not tied to a ticket).
func (p *Printer) Printf(format string, args ...any) {
	p.line(p.now(), "", "", fmt.Sprintf(format, args...))
}

// Block runs f with the output to itself, for a multi-line listing that
// event lines must not cut through.
func (p *Printer) Block(f func(w io.Writer)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p.w)
}

// eventLabel names the desk's event kinds on screen; kinds not listed are
// shown by their own name.
func eventLabel(kind helpdesk.EventKind) string {
	switch kind {
	case helpdesk.EventCreated:
		return "filed"
	case helpdesk.EventSLAWarning:
		return "SLA warning"
	case helpdesk.EventEscalation:
		return "ESCALATION"
	case helpdesk.EventBreach:
		return "SLA BREACH"
	case helpdesk.EventFirstResponse:
		return "responded"
	case helpdesk.EventCommandRejected:
		return "rejected"
	case helpdesk.EventReply:
		return "customer"
	}
	return string(kind)
}

// Event prints one desk event. The acknowledgement's own event is left
// out: the line of the mail leaving says it.
func (p *Printer) Event(ref string, priority helpdesk.Priority, e helpdesk.Event) {
	switch e.Kind {
	case helpdesk.EventAck:
		return
	case helpdesk.EventCreated:
		p.line(e.At, ref, eventLabel(e.Kind), p.filed(ref, priority, e))
		return
	}
	text := e.Detail
	if e.Actor != "" && e.Actor != "system" && e.Actor != "sla" && e.Actor != "triage" {
		text = e.Actor + ": " + text
	}
	p.line(e.At, ref, eventLabel(e.Kind), text)
}

// filed describes a new ticket: priority, subject, customer, policy, the
// claim when it was refused, and the reasons.
func (p *Printer) filed(ref string, priority helpdesk.Priority, e helpdesk.Event) string {
	var t *helpdesk.Ticket
	if p.ticket != nil {
		t, _ = p.ticket(ref)
	}
	if t == nil {
		return fmt.Sprintf("%-8s %s", priority, strings.TrimPrefix(e.Detail, "priority "+string(priority)+"; "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %q from %s, policy %s", t.Priority, t.Subject, t.Customer, t.Policy)
	if t.Plan != "" {
		fmt.Fprintf(&b, " (%s plan)", t.Plan)
	}
	if t.Claimed != "" && t.Claimed != t.Priority {
		fmt.Fprintf(&b, "; claimed %s, not accepted", t.Claimed)
	}
	if len(t.Reasons) > 0 {
		fmt.Fprintf(&b, "; reasons: %s", strings.Join(t.Reasons, "; "))
	}
	return b.String()
}

// Enqueued notes what a mail put in the outbox is, so that its line says
// so when it leaves.
func (p *Printer) Enqueued(m helpdesk.OutMail) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kinds[m.MessageID] = outMail{kind: m.Kind, ref: refIn(m.Subject)}
}

// Captured prints a mail leaving the desk (or any mail the SMTP server
// captured): its kind, recipients and subject.
func (p *Printer) Captured(m Mail) {
	p.mu.Lock()
	o, ok := p.kinds[m.MessageID()]
	delete(p.kinds, m.MessageID())
	p.mu.Unlock()
	label := "mail"
	if ok {
		label += " " + kindLabel(o.kind)
	} else {
		o.ref = refIn(m.Subject())
	}
	p.line(m.At, o.ref, label, fmt.Sprintf("-> %s  %q", strings.Join(m.To, ", "), m.Subject()))
}

// Delivered prints a mail delivered into a support mailbox over SMTP.
func (p *Printer) Delivered(box string, m Mail) {
	from := m.HeaderAddress("From")
	if from == "" {
		from = m.From
	}
	p.line(m.At, "", "mail in", fmt.Sprintf("%s -> %s  %q", from, strings.Join(m.To, ", "), m.Subject()))
}

func kindLabel(k helpdesk.MessageKind) string {
	switch k {
	case helpdesk.KindNotification:
		return "notify"
	case helpdesk.KindEscalation:
		return "escalate"
	case helpdesk.KindResolution:
		return "resolved"
	}
	return string(k)
}

// refIn returns the first "[REF-123]" ticket reference of a subject, or "".
func refIn(subject string) string {
	for {
		i := strings.IndexByte(subject, '[')
		if i < 0 {
			return ""
		}
		subject = subject[i+1:]
		j := strings.IndexByte(subject, ']')
		if j < 0 {
			return ""
		}
		if isRef(subject[:j]) {
			return subject[:j]
		}
		subject = subject[j+1:]
	}
}

// isRef reports whether s looks like PREFIX-NUMBER.
func isRef(s string) bool {
	prefix, num, ok := strings.Cut(s, "-")
	if !ok || prefix == "" || num == "" {
		return false
	}
	for _, r := range prefix {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return false
		}
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// oneLine folds text onto one line and cuts it at 240 characters.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = strings.Join(lines, " ")
	if r := []rune(s); len(r) > 240 {
		s = string(r[:239]) + "…"
	}
	return s
}
