package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

func parseAddress(s string) (helpdesk.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return helpdesk.Address{}, err
	}
	return helpdesk.Address{Name: a.Name, Email: strings.ToLower(a.Address)}, nil
}

var punct = regexp.MustCompile(`[^\pL\pN ]+`)

// isCustomerEscalation reports whether a customer's mail asks to escalate:
// a line that is just the keyword, or the keyword in capitals in the
// subject.
func (w *work) isCustomerEscalation(m *helpdesk.Message) bool {
	kw := w.d.cfg.EscalateKeyword
	if strings.Contains(m.Subject, strings.ToUpper(kw)) {
		return true
	}
	for _, line := range strings.Split(text(m), "\n") {
		if strings.EqualFold(strings.TrimSpace(punct.ReplaceAllString(line, "")), kw) {
			return true
		}
	}
	return false
}

// customerEscalation sends the policy's top escalation at a customer's
// request, at most once per ticket per day, and tells the customer.
func (w *work) customerEscalation(t *helpdesk.Ticket, m *helpdesk.Message) error {
	last, err := w.tx.LastEvent(t.ID, "customer-escalation")
	if err != nil {
		return err
	}
	if !last.IsZero() && w.now.Sub(last) < 24*time.Hour {
		return w.event(t, helpdesk.EventCustomerEscalationRepeat, m.From.Email, "already escalated at "+last.Format(time.RFC3339)+"; at most once a day", m.MessageID)
	}
	if err := w.escalateNow(t, m, m.From.Email, "the customer asked to escalate"); err != nil {
		return err
	}
	if err := w.event(t, helpdesk.EventCustomerEscalation, m.From.Email, "customer asked to escalate", m.MessageID); err != nil {
		return err
	}
	why, err := w.mayAutoReply(m, t.Customer)
	if err != nil || why != "" {
		return err
	}
	data := w.baseData(t)
	data.Reason = "you asked to escalate"
	return w.toCustomer(t, mailOpts{kind: helpdesk.KindSystem, template: "customer_escalated", data: data, auto: true}, false)
}

// escalateNow mails the policy's escalation recipients at once (#escalate
// or a customer's request).
func (w *work) escalateNow(t *helpdesk.Ticket, m *helpdesk.Message, actor, reason string) error {
	p := w.d.policy(t.Policy)
	notify := p.EscalateTo
	if len(notify) == 0 {
		notify = []string{"managers"}
	}
	to := w.d.resolveRecipients(t, notify)
	if len(to) == 0 {
		return w.event(t, helpdesk.EventEscalation, actor, reason+" (no recipients configured)", m.MessageID)
	}
	data := w.baseData(t)
	data.Reason = reason
	data.Text = text(m)
	if err := w.mailStaff(t, to, mailOpts{kind: helpdesk.KindEscalation, template: "escalation", data: data, auto: true,
		subject: fmt.Sprintf("[%s] Escalated: %s", t.Ref, cleanSubject(t.Subject))}); err != nil {
		return err
	}
	return w.event(t, helpdesk.EventEscalation, actor, fmt.Sprintf("%s; mailed %s", reason, addrs(to)), m.MessageID)
}

func addrs(as []helpdesk.Address) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Email)
	}
	return strings.Join(out, ", ")
}

// startPause stops the clocks while the ticket waits on the customer.
func startPause(t *helpdesk.Ticket, now time.Time) {
	if !t.Paused() {
		t.Pauses = append(t.Pauses, helpdesk.Pause{From: now})
	}
}

// endPause restarts the clocks.
func endPause(t *helpdesk.Ticket, now time.Time) {
	if t.Paused() {
		t.Pauses[len(t.Pauses)-1].To = now
	}
}

// resumeResolution reopens the resolution clock of a resolved ticket.
func resumeResolution(t *helpdesk.Ticket, now time.Time) {
	sla.Reopen(t, now)
	t.ClosedAt = time.Time{}
}

// CheckTicket is the SLA loop's per-ticket step: in one transaction it
// evaluates the ticket's clocks against its policy's ladder, records each
// breach once, mails each due escalation step once, and stores when to
// look again.
func (d *Desk) CheckTicket(ctx context.Context, id int64, now time.Time) error {
	return d.CheckTickets(ctx, []int64{id}, now)[0]
}

// CheckTickets is CheckTicket for a page of due tickets (sla.BatchChecker):
// one transaction for the page (several when it would hold the database
// longer than maxTxTime), each ticket in a savepoint of its own, so that a
// ticket that fails (an error, or a panic of ours) is rolled back alone
// and the others are checked. It returns one error per id.
func (d *Desk) CheckTickets(ctx context.Context, ids []int64, now time.Time) []error {
	errs := make([]error, len(ids))
	for start := 0; start < len(ids); {
		var after []func()
		enqueued := false
		next := start
		began := time.Now()
		err := d.st.Update(ctx, func(tx *store.Tx) error {
			after, enqueued, next = nil, false, start
			clear(errs[start:])
			for i := start; i < len(ids); i++ {
				if i > start && time.Since(began) > maxTxTime {
					break // commit this part; the rest goes in the next transaction
				}
				next = i + 1
				w := &work{d: d, tx: tx, now: now.UTC()}
				err := tx.Savepoint(func() error { return w.safeCheck(ids[i]) })
				switch {
				case errors.Is(err, store.ErrSavepoint):
					return err
				case err != nil:
					errs[i] = fmt.Errorf("sla check of ticket %d: %w", ids[i], err)
				default:
					after = append(after, w.after...)
					enqueued = enqueued || w.enqueued
				}
			}
			return nil
		})
		if err != nil {
			for i := start; i < len(ids); i++ {
				errs[i] = fmt.Errorf("sla check of ticket %d: %w", ids[i], err)
			}
			return errs
		}
		for _, f := range after {
			f()
		}
		if enqueued {
			d.kick()
		}
		start = next
	}
	return errs
}

// safeCheck runs check and turns a panic into an error, logged with its
// stack.
func (w *work) safeCheck(id int64) (err error) {
	defer func() {
		if v := recover(); v != nil {
			stack := string(debug.Stack())
			w.d.log.Error("sla check panicked", "ticket", id, "panic", v, "stack", stack)
			err = &panicError{value: v, stack: stack}
		}
	}()
	return w.check(id)
}

// check evaluates one ticket in the work's transaction (see CheckTicket).
func (w *work) check(id int64) error {
	tx := w.tx
	t, err := tx.TicketByID(id)
	if err != nil {
		return err
	}
	if !t.IsOpen() {
		t.NextCheckAt = time.Time{}
		return tx.UpdateTicket(t)
	}
	p := w.d.policy(t.Policy)
	fired, err := w.firedSteps(t, p)
	if err != nil {
		return err
	}
	due, breaches, next := p.Evaluate(t, fired, w.now)
	for _, c := range breaches {
		deadline := t.ResponseDue
		if c == sla.Resolution {
			deadline = t.ResolutionDue
		}
		recorded, err := tx.RecordBreach(t.ID, string(c), deadline)
		if err != nil {
			return err
		}
		if recorded {
			if err := w.event(t, helpdesk.EventBreach, "sla", fmt.Sprintf("%s target missed at %s (%s)", c, deadline.Format(time.RFC3339), t.Priority), ""); err != nil {
				return err
			}
		}
	}
	for _, s := range due {
		if err := w.fireStep(t, s); err != nil {
			return err
		}
	}
	t.NextCheckAt = next
	return tx.UpdateTicket(t)
}

// fireStep mails one ladder step, once per ticket, clock, step and target.
func (w *work) fireStep(t *helpdesk.Ticket, s sla.DueStep) error {
	first, err := w.tx.RecordStep(t.ID, string(s.Key.Clock), s.Key.Index, s.Target.String())
	if err != nil || !first {
		return err
	}
	to := w.d.resolveRecipients(t, s.Step.Notify)
	breached := !w.now.Before(s.Due)
	pct := fmt.Sprintf("%.0f%%", s.Step.At*100)
	late := &templates.Late{Clock: string(s.Key.Clock), Target: s.Target.String(),
		Due: formatTime(s.Due, w.d.location(t)), By: formatDuration(w.now.Sub(s.Due)), Breached: breached, Step: pct}
	kind := helpdesk.EventSLAWarning
	if breached {
		kind = helpdesk.EventEscalation
	}
	detail := fmt.Sprintf("%s step %s of %s target %s (due %s): mailed %s", s.Key.Clock, pct, t.Priority, s.Target, late.Due, addrs(to))
	if len(to) == 0 {
		return w.event(t, kind, "sla", detail+" (no recipients)", "")
	}
	data := w.baseData(t)
	data.Late = late
	if data.Text, err = w.tx.LastText(t.ID, helpdesk.KindCustomer); err != nil {
		return err
	}
	word := "Warning"
	if breached {
		word = "Breached"
	}
	if err := w.mailStaff(t, to, mailOpts{kind: helpdesk.KindEscalation, template: "escalation", data: data, auto: true,
		subject: fmt.Sprintf("[%s] SLA %s: %s %s target (%s)", t.Ref, word, t.Priority, s.Key.Clock, cleanSubject(t.Subject))}); err != nil {
		return err
	}
	return w.event(t, kind, "sla", detail, "")
}

// mailStaff sends one copy of a mail to each of to: an agent gets a reply
// address of their own (so a reply with #commands is proven), anyone else
// the ticket's reply address (a reply is added to the ticket for agents to
// see).
func (w *work) mailStaff(t *helpdesk.Ticket, to []helpdesk.Address, o mailOpts) error {
	if o.rendered == nil && len(to) > 1 && !w.d.tmpl.Reads(o.template, "ReplyAddress") {
		// Only the reply address differs between the recipients: render
		// the mail once for all of them.
		r, err := w.d.tmpl.Render(o.template, o.data)
		if err != nil {
			return fmt.Errorf("render %s for %s: %w", o.template, t.Ref, err)
		}
		o.rendered = &r
	}
	for _, r := range to {
		oo := o
		oo.to = []helpdesk.Address{r}
		oo.replyTo = w.d.customerReplyAddress(t)
		if a := w.d.agents[r.Email]; a != nil {
			addr, err := w.agentReplyAddress(t, a)
			if err != nil {
				return err
			}
			oo.replyTo = addr
		}
		oo.data.ReplyAddress = oo.replyTo
		if err := w.enqueue(t, oo); err != nil {
			return err
		}
	}
	return nil
}
