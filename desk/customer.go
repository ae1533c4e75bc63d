package desk

import (
	"fmt"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

// text is the new text of m, or all of it.
func text(m *helpdesk.Message) string {
	if strings.TrimSpace(m.NewText) != "" {
		return m.NewText
	}
	return m.Text
}

// reportText is the part of m triage reads (message.ReportText: a
// forward's forwarded mail too).
func reportText(m *helpdesk.Message) string { return message.ReportText(m.Subject, m.Text, m.NewText) }

// senderOf returns the address a ticket for m belongs to.
func senderOf(m *helpdesk.Message) helpdesk.Address {
	if m.From.Email != "" {
		return helpdesk.Address{Name: m.From.Name, Email: strings.ToLower(m.From.Email)}
	}
	if len(m.ReplyTo) > 0 {
		return m.ReplyTo[0]
	}
	if rp := strings.Trim(m.ReturnPath, "<>"); rp != "" {
		return helpdesk.Address{Email: strings.ToLower(rp)}
	}
	return helpdesk.Address{Email: "unknown-sender"}
}

func (w *work) mailbox() *Mailbox {
	if mb := w.d.boxes[w.in.Mailbox]; mb != nil {
		return mb
	}
	return &Mailbox{Name: w.in.Mailbox}
}

// newTicket opens a ticket for m; linked is the earlier ticket it follows
// (a reply to a closed ticket), or nil. doubt is why the mail is
// suspicious, spam why it is spam ("" when not): a spam ticket is filed in
// the spam state, with no acknowledgement and no notification.
func (w *work) newTicket(m *helpdesk.Message, linked *helpdesk.Ticket, doubt, spam string) (Result, error) {
	d, mb := w.d, w.mailbox()
	// A customer who forwards a colleague's report ("FW: ...") reports
	// what was forwarded: the agents are shown it, as triage read it.
	if message.ForwardSubject(m.Subject) {
		m.NewText = reportText(m)
	}
	from := senderOf(m)
	plan, policy := "", ""
	if d.cfg.Customer != nil {
		plan, policy = d.cfg.Customer(from.Email)
	}
	if policy == "" {
		policy = mb.Policy
	}
	if policy == "" {
		policy = d.cfg.DefaultPolicy
	}
	var a helpdesk.Assessment
	if w.in.assessment != nil {
		a = *w.in.assessment
	} else {
		a = d.assess(w.in.Mailbox, m)
	}
	t := &helpdesk.Ticket{
		Subject: cleanSubject(m.Subject), Customer: from.Email, CustomerName: from.Name, Mailbox: mb.Name,
		Policy: policy, Plan: plan, Team: mb.Team, Priority: a.Priority, PrioritySource: "triage",
		Claimed: a.Claimed, Reasons: a.Reasons, Status: helpdesk.StatusOpen, Fields: a.Fields, CreatedAt: w.now,
	}
	if a.Claimed != "" && a.ClaimAccepted {
		t.PrioritySource = "claim"
	}
	if linked != nil {
		t.LinkedTo = linked.Ref
		if t.Team == "" {
			t.Team = linked.Team
		}
	}
	if spam != "" {
		t.Status = helpdesk.StatusSpam
	}
	queued := false
	if spam == "" && mb.CriticalOnly && len(d.cfg.Levels.Order) > 0 && a.Priority != d.cfg.Levels.Order[0] && mb.QueuePolicy != "" {
		t.Policy, queued = mb.QueuePolicy, true
	}
	t.Missing = t.Fields.Missing(d.policy(t.Policy).Required[t.Priority])
	if err := w.clocks(t); err != nil {
		return Result{}, err
	}
	if err := w.tx.CreateTicket(t); err != nil {
		return Result{}, err
	}
	// A ticket made now has had no mail to staff: its threads start here
	// (staffThread), without asking the store.
	w.threads, w.threadsOf = map[string][]string{}, t.ID
	m.Kind = helpdesk.KindCustomer
	if _, err := w.keep(t, mb.Name, m); err != nil {
		return Result{}, err
	}
	if err := w.addParticipants(t, m); err != nil {
		return Result{}, err
	}
	detail := fmt.Sprintf("priority %s; %s", t.Priority, strings.Join(a.Reasons, "; "))
	if err := w.event(t, helpdesk.EventCreated, from.Email, detail, m.MessageID); err != nil {
		return Result{}, err
	}
	if linked != nil {
		if err := w.event(t, helpdesk.EventLinked, "system", "follows "+linked.Ref+" ("+string(linked.Status)+")", m.MessageID); err != nil {
			return Result{}, err
		}
		if err := w.event(linked, helpdesk.EventFollowedUp, "system", "a later reply opened "+t.Ref, m.MessageID); err != nil {
			return Result{}, err
		}
	}
	if len(t.Missing) > 0 {
		if err := w.event(t, helpdesk.EventMissing, "triage", strings.Join(t.Missing, ", "), m.MessageID); err != nil {
			return Result{}, err
		}
	}
	if queued {
		if err := w.event(t, helpdesk.EventQueued, "system", "non-critical mail to a critical-only mailbox: filed under "+t.Policy, m.MessageID); err != nil {
			return Result{}, err
		}
	}
	if doubt != "" {
		if err := w.suspicious(t, m, doubt); err != nil {
			return Result{}, err
		}
	}
	if spam != "" {
		// Spam gets no answer (it would go to a forged sender) and bothers
		// no agent; it waits in the spam state for someone to look.
		return Result{Outcome: Opened, Ref: t.Ref}, w.event(t, helpdesk.EventSpam, "system",
			spam+": filed as spam; no acknowledgement, no notification", m.MessageID)
	}
	w.opened.ticket, w.opened.messageID = t.ID, m.MessageID
	err := w.acknowledge(t, m, a, queued)
	w.opened.ticket = 0
	if err != nil {
		return Result{}, err
	}
	data := w.baseData(t)
	data.ClaimNote = d.tri.ClaimNote(a)
	data.Notice = suspicionNotice(doubt)
	if err := w.notifyAgents(t, "notify_new", m, data); err != nil {
		return Result{}, err
	}
	if h := d.hooks.TicketOpened; h != nil {
		tt, aa := *t, a
		w.after = append(w.after, func() { h(tt, aa) })
	}
	return Result{Outcome: Opened, Ref: t.Ref}, nil
}

// addParticipants puts the sender and the people in To/Cc (not us, not
// agents) on the ticket, up to MaxCc people in Cc: the rest are listed in a
// cc-limit event and receive nothing (a mail with 300 Cc must not make the
// desk mail 300 strangers on every reply).
func (w *work) addParticipants(t *helpdesk.Ticket, m *helpdesk.Message) error {
	from := senderOf(m)
	role := store.RoleCC
	if from.Email == t.Customer {
		role = store.RoleCustomer
	}
	ps, err := w.tx.Participants(t.ID)
	if err != nil {
		return err
	}
	on := map[string]bool{}
	ccs := 0
	for _, p := range ps {
		on[p.Email] = true
		if p.Role == store.RoleCC {
			ccs++
		}
	}
	var over []string
	add := func(a helpdesk.Address, role string) error {
		if on[a.Email] {
			return nil
		}
		if role == store.RoleCC {
			if ccs >= w.d.cfg.MaxCc {
				over = append(over, a.Email)
				return nil
			}
			ccs++
		}
		on[a.Email] = true
		_, err := w.tx.AddParticipant(t.ID, a, role)
		return err
	}
	if strings.Contains(from.Email, "@") {
		if err := add(from, role); err != nil {
			return err
		}
	}
	for _, a := range append(append([]helpdesk.Address(nil), m.To...), m.Cc...) {
		e := strings.ToLower(a.Email)
		if e == "" || !strings.Contains(e, "@") || w.d.isOurs(e) || w.d.agents[e] != nil {
			continue
		}
		if err := add(helpdesk.Address{Name: a.Name, Email: e}, store.RoleCC); err != nil {
			return err
		}
	}
	if len(over) > 0 {
		// Listed whole, as the issue asks: the list is no longer than the
		// mail's header, which max_message_size bounds and the raw mail keeps.
		list := strings.Join(over, ", ")
		return w.event(t, helpdesk.EventCcLimit, from.Email, fmt.Sprintf("%d addresses not added (a ticket takes at most %d people in Cc; an agent can #cc one in place of another): %s",
			len(over), w.d.cfg.MaxCc, list), m.MessageID)
	}
	return nil
}

// firstOf returns the first non-empty string.
func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (w *work) suspicious(t *helpdesk.Ticket, m *helpdesk.Message, why string) error {
	return w.event(t, helpdesk.EventSuspicious, m.From.Email, why+": no command run", m.MessageID)
}

// outsiderMail keeps the mail of someone who is not on ticket t (a copied
// References, a forwarded thread, a spoofed agent From) on the ticket for
// the agents to see. It changes nothing, answers nothing and does not make
// its sender a participant: they receive no later mail unless an agent
// adds them with #cc. A reply from an escalation recipient is an internal
// note (staffReply); mail to a closed ticket opens a ticket of its own.
func (w *work) outsiderMail(t *helpdesk.Ticket, m *helpdesk.Message, how, doubt, spam string) (Result, error) {
	d := w.d
	if t.Status == helpdesk.StatusClosed ||
		(t.Status == helpdesk.StatusResolved && w.now.Sub(t.ResolvedAt) > d.cfg.ReopenWindow) {
		return w.newTicket(m, nil, doubt, spam) // unlinked: a stranger learns nothing of the old ticket
	}
	from := senderOf(m)
	if m.AutoReason != "" {
		m.Kind = helpdesk.KindAuto
		if _, err := w.keep(t, t.Mailbox, m); err != nil {
			return Result{}, err
		}
		return Result{Outcome: Joined, Ref: t.Ref}, w.event(t, helpdesk.EventAutoReply, from.Email, m.AutoReason, m.MessageID)
	}
	if d.staff[from.Email] && doubt == "" {
		return w.staffReply(t, m)
	}
	m.Kind = helpdesk.KindOutsider
	if _, err := w.keep(t, t.Mailbox, m); err != nil {
		return Result{}, err
	}
	notice := fmt.Sprintf("%s is not on this ticket (the mail joined it by %s). It was kept for you and changed nothing; the sender was not added and gets no mail from the ticket. #cc %s adds them.",
		from.Email, how, from.Email)
	if err := w.event(t, helpdesk.EventOutsider, from.Email, notice, m.MessageID); err != nil {
		return Result{}, err
	}
	if doubt != "" {
		if err := w.suspicious(t, m, doubt); err != nil {
			return Result{}, err
		}
		notice = suspicionNotice(doubt) + " " + notice
	}
	if spam != "" {
		return Result{Outcome: Joined, Ref: t.Ref}, w.event(t, helpdesk.EventSpam, "system", spam+": kept, no notification", m.MessageID)
	}
	data := w.baseData(t)
	data.Notice = notice
	return Result{Outcome: Joined, Ref: t.Ref}, w.notifyAgents(t, "notify_reply", m, data)
}

// customerReply adds a customer's (or participant's) mail to ticket t:
// reopens, resumes clocks, re-checks the incident fields, handles a
// customer escalation and tells the agents.
func (w *work) customerReply(t *helpdesk.Ticket, m *helpdesk.Message, how, doubt, spam string) (Result, error) {
	d := w.d
	if t.Status == helpdesk.StatusClosed ||
		(t.Status == helpdesk.StatusResolved && w.now.Sub(t.ResolvedAt) > d.cfg.ReopenWindow) {
		return w.newTicket(m, t, doubt, spam)
	}
	from := senderOf(m)
	if m.AutoReason != "" {
		// An out-of-office or similar answer to our mail: keep it on the
		// ticket, change nothing, answer nothing (RFC 3834 §2).
		m.Kind = helpdesk.KindAuto
		if _, err := w.keep(t, t.Mailbox, m); err != nil {
			return Result{}, err
		}
		return Result{Outcome: Joined, Ref: t.Ref}, w.event(t, helpdesk.EventAutoReply, from.Email, m.AutoReason, m.MessageID)
	}
	if d.staff[from.Email] && from.Email != t.Customer {
		return w.staffReply(t, m)
	}
	m.Kind = helpdesk.KindCustomer
	if _, err := w.keep(t, t.Mailbox, m); err != nil {
		return Result{}, err
	}
	if spam != "" || t.Status == helpdesk.StatusSpam {
		// Kept on the ticket; it changes nothing and tells nobody.
		if spam == "" {
			spam = "reply on a ticket filed as spam"
		}
		return Result{Outcome: Joined, Ref: t.Ref}, w.event(t, helpdesk.EventSpam, "system", spam+": kept, no notification", m.MessageID)
	}
	if unsure := firstOf(doubt, w.fromFails); unsure != "" {
		// Whoever wrote this may not be the customer: the people it
		// copies are not put on the ticket, lest a forger make the desk
		// send them the agents' replies.
		if len(m.Cc)+len(m.To) > 1 {
			if err := w.event(t, helpdesk.EventCcNotAdded, from.Email, "the sender's From is not proven ("+unsure+"): the people it copies were not added", m.MessageID); err != nil {
				return Result{}, err
			}
		}
	} else if err := w.addParticipants(t, m); err != nil {
		return Result{}, err
	}
	if err := w.event(t, helpdesk.EventReply, from.Email, "customer reply (threaded by "+how+")", m.MessageID); err != nil {
		return Result{}, err
	}
	if doubt != "" {
		if err := w.suspicious(t, m, doubt); err != nil {
			return Result{}, err
		}
	}
	if w.in.Oversize != nil {
		if err := w.tooLarge(t, m, nil); err != nil {
			return Result{}, err
		}
	}
	var changes []string // what this reply changed, for the agents
	switch t.Status {
	case helpdesk.StatusResolved:
		reopened := fmt.Sprintf("Reopened by the customer: %s was resolved %s ago (%s), and this reply opens it again",
			t.Ref, formatDuration(w.now.Sub(t.ResolvedAt)), formatTime(t.ResolvedAt, d.location(t)))
		if !t.ResolutionDue.IsZero() {
			reopened += "; its resolution clock runs again"
		}
		changes = append(changes, reopened+".")
		t.SetStatus(helpdesk.StatusOpen, w.now)
		if err := w.event(t, helpdesk.EventReopened, from.Email, "customer replied within the reopen window", m.MessageID); err != nil {
			return Result{}, err
		}
	case helpdesk.StatusPending:
		changes = append(changes, fmt.Sprintf("The customer answered: %s is open again (it was pending) and its clocks run again.", t.Ref))
		t.SetStatus(helpdesk.StatusOpen, w.now)
		if err := w.event(t, helpdesk.EventStatus, from.Email, "pending -> open: customer replied; clocks resumed", m.MessageID); err != nil {
			return Result{}, err
		}
	}
	// Re-check the incident facts: the missing list only shrinks.
	hadMissing := len(t.Missing) > 0
	found := d.tri.Fields(triage.Input{Subject: m.Subject, Text: reportText(m), Date: m.Date})
	before := t.Missing
	t.Fields = t.Fields.Merge(found)
	t.Missing = t.Fields.Missing(d.policy(t.Policy).Required[t.Priority])
	if filled := minus(before, t.Missing); len(filled) > 0 {
		var labels []string
		for _, f := range filled {
			label, _ := templates.FieldLabel(f)
			labels = append(labels, label)
		}
		changes = append(changes, "Now known: "+strings.Join(labels, ", ")+".")
		if err := w.event(t, helpdesk.EventFields, from.Email, "now known: "+strings.Join(filled, ", "), m.MessageID); err != nil {
			return Result{}, err
		}
	}
	if hadMissing && len(t.Missing) == 0 {
		why, err := w.mayAutoReply(m, t.Customer)
		if err != nil {
			return Result{}, err
		}
		if why == "" {
			if err := w.toCustomer(t, mailOpts{kind: helpdesk.KindSystem, template: "fields_complete", auto: true}, false); err != nil {
				return Result{}, err
			}
		}
	}
	if w.isCustomerEscalation(m) {
		if err := w.customerEscalation(t, m); err != nil {
			return Result{}, err
		}
	}
	if err := w.clocks(t); err != nil {
		return Result{}, err
	}
	if err := w.tx.UpdateTicket(t); err != nil {
		return Result{}, err
	}
	data := w.baseData(t)
	data.Notice = suspicionNotice(doubt)
	data.Changes = changes
	if err := w.notifyAgents(t, "notify_reply", m, data); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Joined, Ref: t.Ref}, nil
}

// minus returns the items of a not in b.
func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

// bounce records a delivery report on the ticket of the mail that bounced.
func (w *work) bounce(m *helpdesk.Message) (Result, error) {
	m.Kind = helpdesk.KindBounce
	b := m.Bounce
	var t *helpdesk.Ticket
	if b.OriginalMessageID != "" {
		var err error
		t, err = w.tx.TicketByMessageID(b.OriginalMessageID)
		if err != nil && err != store.ErrNotFound {
			return Result{}, err
		}
	}
	if t == nil {
		w.d.log.Info("delivery report for no known mail", "mailbox", w.in.Mailbox, "message_id", m.MessageID,
			"original", b.OriginalMessageID)
		_, err := w.tx.AddMessage(0, w.in.Mailbox, m)
		return Result{Outcome: Bounced}, err
	}
	if _, err := w.keep(t, t.Mailbox, m); err != nil {
		return Result{}, err
	}
	detail := fmt.Sprintf("mail %s to %s: %s %s %s", b.OriginalMessageID, strings.Join(b.Recipients, ", "),
		b.Action, b.Status, b.Diagnostic)
	return Result{Outcome: Bounced, Ref: t.Ref}, w.event(t, helpdesk.EventDeliveryFailure, "mailer-daemon", strings.TrimSpace(detail), m.MessageID)
}

// staffReply keeps a reply from an escalation recipient who is not an agent
// (a manager, the COO answering an escalation mail) as an internal note for
// the agents: it is not a customer's message, relays nothing and does not
// make its writer a participant who would receive the customer's mail.
func (w *work) staffReply(t *helpdesk.Ticket, m *helpdesk.Message) (Result, error) {
	m.Kind = helpdesk.KindNote
	if _, err := w.keep(t, t.Mailbox, m); err != nil {
		return Result{}, err
	}
	if err := w.event(t, helpdesk.EventStaffNote, m.From.Email, "reply from an escalation recipient, kept as an internal note", m.MessageID); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Joined, Ref: t.Ref}, w.notifyAgents(t, "notify_reply", m, w.baseData(t))
}
