package desk

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// newMessageID returns a fresh Message-ID (without brackets) in the domain
// of addr. It is fixed when the mail is enqueued, so a retried send is the
// same mail to the receiver.
func newMessageID(addr string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("desk: crypto/rand: %v", err))
	}
	_, domain, ok := strings.Cut(addr, "@")
	if !ok || domain == "" {
		domain = "helpdeskd.invalid"
	}
	return "hd." + hex.EncodeToString(b[:]) + "@" + domain
}

var subjectPrefix = regexp.MustCompile(`(?i)^\s*((re|aw|sv|fw|fwd|wg|tr)\s*(\[\d+\])?\s*:\s*)+`)

// cleanSubject strips reply/forward prefixes and our reference tags.
func cleanSubject(s string) string {
	s = refTag.ReplaceAllString(s, "")
	s = subjectPrefix.ReplaceAllString(strings.TrimSpace(s), "")
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(no subject)"
	}
	return s
}

// customerSubject is "Re: <original> [HD-1042]", which threads in the
// customer's client and carries the reference. The original is cut to
// about 100 characters: the sender may be forged, and a subject is the
// part of their text every mail to them echoes.
func customerSubject(t *helpdesk.Ticket) string {
	return fmt.Sprintf("Re: %s [%s]", clip(cleanSubject(t.Subject), maxEchoedSubject), t.Ref)
}

// maxEchoedSubject is how much of a customer's subject our mail to them
// repeats.
const maxEchoedSubject = 100

// clip cuts s to at most n runes, at a word boundary where one is near,
// and marks the cut with "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexAny(cut, " \t"); i > len(cut)*3/4 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}

// maxGreetingName is the longest display name our mail repeats.
const maxGreetingName = 64

// echoName returns the display name a mail to a possibly forged sender
// may repeat: none when it is longer than maxGreetingName characters or
// carries anything like a link or an address, since a spammer would write
// their advertisement there and have us deliver it.
func echoName(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || len([]rune(name)) > maxGreetingName {
		return ""
	}
	l := strings.ToLower(name)
	if strings.Contains(l, "://") || strings.Contains(l, "www.") || strings.ContainsAny(l, "@<>/\\") {
		return ""
	}
	for _, f := range strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '(' || r == ')' }) {
		// A dotted name with a top-level-domain-like ending ("shop.example",
		// "bit.ly") is a link to a mail client that makes links.
		if i := strings.LastIndexByte(f, '.'); i > 0 && i < len(f)-2 && isLetters(f[i+1:]) {
			return ""
		}
	}
	return name
}

func isLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// zoneLabel names a calendar's zone the way a customer reads it.
func zoneLabel(loc *time.Location) string {
	switch name := loc.String(); name {
	case "Europe/London":
		return "UK time"
	case "UTC", "Local", "":
		return "UTC"
	default:
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		return strings.ReplaceAll(name, "_", " ") + " time"
	}
}

// formatTime renders an instant in a calendar's zone: "10:30 Tue 24 Nov, UK
// time". The zero time is "".
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("15:04 Mon 2 Jan") + ", " + zoneLabel(loc)
}

// formatDuration renders a duration for people: "2h 15m", "3d 4h", "45m".
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dm", m)
	}
}

// location is the zone a ticket's times are shown in: its policy's calendar.
func (d *Desk) location(t *helpdesk.Ticket) *time.Location {
	p := d.policy(t.Policy)
	if r, ok := p.Rule(t.Priority, t.Plan); ok {
		if c := p.CalendarFor(r); c != nil && !c.Always() {
			return c.Location()
		}
	}
	if p.Calendar != nil {
		return p.Calendar.Location()
	}
	return time.UTC
}

// baseData fills the template fields every mail about t shares.
func (w *work) baseData(t *helpdesk.Ticket) templates.Data {
	loc := w.d.location(t)
	data := templates.Data{
		Desk:          w.d.cfg.Name,
		Ticket:        *t,
		Customer:      helpdesk.Address{Name: echoName(t.CustomerName), Email: t.Customer},
		ReplyAddress:  w.d.customerReplyAddress(t),
		Priority:      string(t.Priority),
		Claimed:       string(t.Claimed),
		Reasons:       t.Reasons,
		ResponseDue:   formatTime(t.ResponseDue, loc),
		ResolutionDue: formatTime(t.ResolutionDue, loc),
		ReopenWindow:  formatWindow(w.d.cfg.ReopenWindow),
		Age:           formatDuration(w.now.Sub(t.CreatedAt)),
	}
	for _, name := range helpdesk.FieldNames {
		if v := t.Fields.Get(name); v != "" {
			label, why := templates.FieldLabel(name)
			data.Fields = append(data.Fields, templates.Field{Name: name, Label: label, Value: v, Why: why})
		}
	}
	for _, name := range t.Missing {
		label, why := templates.FieldLabel(name)
		data.Missing = append(data.Missing, templates.Field{Name: name, Label: label, Why: why})
	}
	return data
}

func formatWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return formatDuration(d)
}

// mailOpts describe one mail to enqueue.
type mailOpts struct {
	kind      helpdesk.MessageKind
	template  string
	data      templates.Data
	to        []helpdesk.Address
	cc        []helpdesk.Address
	replyTo   string
	subject   string // used when the template defines none
	fromName  string // display name; default the desk's From name
	auto      bool   // automatic mail: RFC 3834 headers
	inReplyTo string
	refs      []string
	files     []helpdesk.Attachment
	text      string              // stored as the message's text when set (e.g. a relayed reply)
	rendered  *templates.Rendered // the template already rendered with data, if so
}

// enqueue renders a template and writes the mail to the outbox and, as an
// outbound message, to the ticket, in the current transaction.
func (w *work) enqueue(t *helpdesk.Ticket, o mailOpts) error {
	var r templates.Rendered
	if o.rendered != nil {
		r = *o.rendered
	} else {
		var err error
		if r, err = w.d.tmpl.Render(o.template, o.data); err != nil {
			return fmt.Errorf("render %s for %s: %w", o.template, t.Ref, err)
		}
	}
	subject := r.Subject
	if subject == "" {
		subject = o.subject
	}
	from := helpdesk.Address{Name: w.d.cfg.From.Name, Email: w.d.mailboxAddress(t.Mailbox)}
	if o.fromName != "" {
		from.Name = o.fromName
	}
	m := &helpdesk.OutMail{
		TicketID: t.ID, Kind: o.kind, MessageID: newMessageID(from.Email), From: from,
		To: o.to, Cc: o.cc, Subject: subject, InReplyTo: o.inReplyTo, References: o.refs,
		Text: r.Text, HTML: r.HTML, Auto: o.auto, Attachments: o.files,
	}
	if o.replyTo != "" {
		m.ReplyTo = []helpdesk.Address{{Name: from.Name, Email: o.replyTo}}
	}
	if err := w.tx.Enqueue(m); err != nil {
		return err
	}
	// The body is stored once, in the outbox row; the message row reads it
	// from there (store.Tx.AddMessage) unless the ticket keeps other text,
	// e.g. a relayed reply without the history the mail quotes.
	stored := &helpdesk.Message{MessageID: m.MessageID, Direction: helpdesk.Outbound, Kind: o.kind, From: from,
		To: o.to, Cc: o.cc, Subject: subject, Date: w.now, Text: o.text, NewText: o.text}
	if _, err := w.tx.AddMessage(t.ID, t.Mailbox, stored); err != nil {
		return err
	}
	w.enqueued = true
	if h := w.d.hooks.Enqueued; h != nil {
		mm := *m
		w.after = append(w.after, func() { h(mm) })
	}
	return nil
}

// customerThread returns In-Reply-To and References for a mail to the
// customer: under the latest customer-visible message of the ticket.
func (w *work) customerThread(t *helpdesk.Ticket) (string, []string, error) {
	if t.ID != 0 && t.ID == w.opened.ticket {
		// The ticket this mail opened holds this mail alone so far.
		return w.opened.messageID, []string{w.opened.messageID}, nil
	}
	ids, err := w.tx.ThreadIDs(t.ID, helpdesk.KindCustomer, helpdesk.KindAck, helpdesk.KindRelay,
		helpdesk.KindResolution, helpdesk.KindSystem)
	if err != nil {
		return "", nil, err
	}
	if len(ids) > 20 {
		// Keep the root and the most recent: enough to thread everywhere.
		ids = append(ids[:1:1], ids[len(ids)-19:]...)
	}
	if len(ids) == 0 {
		return "", nil, nil
	}
	return ids[len(ids)-1], ids, nil
}

// toCustomer enqueues a mail to the ticket's customer and the people in Cc
// (when cc is true), threaded under the customer's conversation.
func (w *work) toCustomer(t *helpdesk.Ticket, o mailOpts, withCC bool) error {
	irt, refs, err := w.customerThread(t)
	if err != nil {
		return err
	}
	o.to = []helpdesk.Address{{Name: echoName(t.CustomerName), Email: t.Customer}}
	if withCC {
		ps, err := w.tx.Participants(t.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Role == store.RoleCC && p.Email != t.Customer && len(o.cc) < w.d.cfg.MaxCc {
				o.cc = append(o.cc, helpdesk.Address{Name: echoName(p.Name), Email: p.Email})
			}
		}
	}
	o.inReplyTo, o.refs = irt, refs
	o.replyTo = w.d.customerReplyAddress(t)
	o.subject = customerSubject(t)
	if o.data.Desk == "" {
		o.data = w.baseData(t)
	}
	return w.enqueue(t, o)
}

// mayAutoReply applies loop protection and the per-sender rate limit to an
// automatic mail to addr, recording it when allowed. It returns why not.
func (w *work) mayAutoReply(m *helpdesk.Message, addr string) (string, error) {
	if m != nil {
		if m.AutoReason != "" {
			return "automatic mail (" + m.AutoReason + ")", nil // RFC 3834 §2
		}
		if m.Suppress {
			return "X-Auto-Response-Suppress", nil
		}
	}
	if w.d.ours[strings.ToLower(addr)] {
		return "our own address", nil
	}
	box := mailboxOf(addr)
	n, err := w.tx.AutoRepliesSince(box, w.now.Add(-w.d.cfg.AutoReplyWindow))
	if err != nil {
		return "", err
	}
	if n >= w.d.cfg.AutoReplyLimit {
		return fmt.Sprintf("rate limit: %d automatic replies to the mailbox %s in %s", n, box, formatDuration(w.d.cfg.AutoReplyWindow)), nil
	}
	return "", w.tx.RecordAutoReply(box, w.now.Add(-w.d.cfg.AutoReplyWindow))
}

// mailboxOf returns the mailbox an address delivers to, for the automatic-
// reply limit: lower case and without a "+detail" sub-address (RFC 5233),
// so that victim+1@x, victim+2@x and VICTIM@x are one mailbox and one limit.
func mailboxOf(addr string) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return addr
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local + "@" + domain
}

// notifyAgents tells the ticket's team (or every agent) about a new ticket
// or a customer reply, each agent with a reply address of their own.
func (w *work) notifyAgents(t *helpdesk.Ticket, template string, m *helpdesk.Message, data templates.Data) error {
	data.Text = m.NewText
	if strings.TrimSpace(data.Text) == "" {
		data.Text = m.Text
	}
	subject := fmt.Sprintf("[%s] %s: %s", t.Ref, strings.ToUpper(string(t.Priority)), cleanSubject(t.Subject))
	refs := []string{m.MessageID}
	for _, team := range w.d.cfg.Teams {
		if team.Name == t.Team && team.Address != "" {
			// A list address cannot carry one agent's token: replies through
			// it need DKIM/SPF proof.
			data.Agent = helpdesk.Address{Name: team.Name, Email: team.Address}
			data.ReplyAddress = w.d.customerReplyAddress(t)
			return w.enqueue(t, mailOpts{kind: helpdesk.KindNotification, template: template, data: data,
				to: []helpdesk.Address{data.Agent}, replyTo: data.ReplyAddress, subject: subject, auto: true, refs: refs, inReplyTo: m.MessageID})
		}
	}
	// The mail differs between agents only in its reply address; unless
	// the template reads the recipient, it is rendered once for all.
	var shared *templates.Rendered
	if !w.d.tmpl.Reads(template, "Agent") && !w.d.tmpl.Reads(template, "ReplyAddress") {
		r, err := w.d.tmpl.Render(template, data)
		if err != nil {
			return fmt.Errorf("render %s for %s: %w", template, t.Ref, err)
		}
		shared = &r
	}
	for _, a := range w.d.recipientsFor(t) {
		addr, err := w.agentReplyAddress(t, a)
		if err != nil {
			return err
		}
		data.Agent = helpdesk.Address{Name: a.Name, Email: a.Email}
		data.ReplyAddress = addr
		if err := w.enqueue(t, mailOpts{kind: helpdesk.KindNotification, template: template, data: data, rendered: shared,
			to: []helpdesk.Address{data.Agent}, replyTo: addr, subject: subject, auto: true, refs: refs, inReplyTo: m.MessageID}); err != nil {
			return err
		}
	}
	return nil
}

// recipientsFor returns the agents told about ticket t: its assignee and
// team, or every agent when it has neither.
func (d *Desk) recipientsFor(t *helpdesk.Ticket) []*Agent {
	var out []*Agent
	seen := map[string]bool{}
	add := func(a *Agent) {
		if a != nil && !seen[a.Email] {
			seen[a.Email] = true
			out = append(out, a)
		}
	}
	add(d.agents[strings.ToLower(t.Assignee)])
	for i := range d.cfg.Agents {
		if t.Team != "" && d.cfg.Agents[i].Team == t.Team {
			add(&d.cfg.Agents[i])
		}
	}
	if len(out) == 0 {
		for i := range d.cfg.Agents {
			add(&d.cfg.Agents[i])
		}
	}
	return out
}

// resolveRecipients turns ladder keywords into addresses.
func (d *Desk) resolveRecipients(t *helpdesk.Ticket, notify []string) []helpdesk.Address {
	var out []helpdesk.Address
	seen := map[string]bool{}
	add := func(name, email string) {
		email = strings.ToLower(email)
		if email != "" && !seen[email] {
			seen[email] = true
			out = append(out, helpdesk.Address{Name: name, Email: email})
		}
	}
	for _, n := range notify {
		switch strings.ToLower(n) {
		case "assignee":
			if a := d.agents[strings.ToLower(t.Assignee)]; a != nil {
				add(a.Name, a.Email)
			} else if t.Assignee != "" {
				add("", t.Assignee)
			}
		case "team":
			listed := false
			for _, team := range d.cfg.Teams {
				if team.Name == t.Team && team.Address != "" {
					add(team.Name, team.Address)
					listed = true
				}
			}
			if !listed {
				for _, a := range d.recipientsFor(&helpdesk.Ticket{Team: t.Team}) {
					add(a.Name, a.Email)
				}
			}
		case "managers":
			for _, a := range d.cfg.Agents {
				if a.Manager && (t.Team == "" || a.Team == t.Team || !d.teamHasManager(t.Team)) {
					add(a.Name, a.Email)
				}
			}
		default:
			add("", n)
		}
	}
	return out
}

func (d *Desk) teamHasManager(team string) bool {
	for _, a := range d.cfg.Agents {
		if a.Manager && a.Team == team {
			return true
		}
	}
	return false
}

// clocks sets the ticket's SLA deadlines and next check from its policy,
// and records a breach of a clock that stopped after its deadline (the loop
// only sees running clocks).
func (w *work) clocks(t *helpdesk.Ticket) error {
	p := w.d.policy(t.Policy)
	c := p.Deadlines(t)
	t.ResponseDue, t.ResolutionDue = c.ResponseDue, c.ResolutionDue
	if t.ID != 0 {
		stops := []struct {
			clock      sla.ClockKind
			due, state time.Time
		}{{sla.Response, t.ResponseDue, t.FirstResponseAt}, {sla.Resolution, t.ResolutionDue, t.ResolvedAt}}
		for _, s := range stops {
			if s.due.IsZero() || s.state.IsZero() || !s.state.After(s.due) {
				continue
			}
			recorded, err := w.tx.RecordBreach(t.ID, string(s.clock), s.due)
			if err != nil {
				return err
			}
			if recorded {
				if err := w.event(t, helpdesk.EventBreach, "sla", fmt.Sprintf("%s target missed at %s (%s)", s.clock, s.due.Format(time.RFC3339), t.Priority), ""); err != nil {
					return err
				}
			}
		}
	}
	fired := map[sla.StepKey]bool{} // a ticket not yet stored has fired nothing
	if t.ID != 0 {
		var err error
		if fired, err = w.firedSteps(t, p); err != nil {
			return err
		}
	}
	_, _, next := p.Evaluate(t, fired, w.now)
	t.NextCheckAt = next
	return nil
}

// firedSteps returns the ladder steps already fired for the ticket's
// current targets.
func (w *work) firedSteps(t *helpdesk.Ticket, p *sla.Policy) (map[sla.StepKey]bool, error) {
	fired := map[sla.StepKey]bool{}
	r, ok := p.Rule(t.Priority, t.Plan)
	if !ok {
		return fired, nil
	}
	for i, s := range p.Ladder {
		target := r.Response
		if s.Clock == sla.Resolution {
			target = r.Resolution
		}
		done, err := w.tx.StepFired(t.ID, string(s.Clock), i, target.String())
		if err != nil {
			return nil, err
		}
		if done {
			fired[sla.StepKey{Clock: s.Clock, Index: i}] = true
		}
	}
	return fired, nil
}
