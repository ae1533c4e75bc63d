package desk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

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
	data.Text = notifyText(t, text(m), m.TextOmitted)
	if err := w.mailStaff(t, to, mailOpts{kind: helpdesk.KindEscalation, template: "escalation", data: data, auto: true}); err != nil {
		return err
	}
	return w.event(t, helpdesk.EventEscalation, actor, fmt.Sprintf("%s; mailed %s", reason, addrs(to)), m.MessageID)
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
	d.runBatch(ctx, batchJob{
		n:     len(ids),
		begin: func(_ *store.Tx, start int) { clear(errs[start:]) },
		work:  func(tx *store.Tx, _ int) *work { return &work{d: d, tx: tx, now: now.UTC()} },
		item:  func(w *work, i int) error { return w.check(ids[i]) },
		failed: func(_ *store.Tx, i int, err error) (bool, error) {
			var p *panicError
			if errors.As(err, &p) {
				d.log.Error("sla check panicked", "ticket_id", ids[i], "panic", p.value, "stack", p.stack)
			}
			errs[i] = fmt.Errorf("sla check of ticket %d: %w", ids[i], err)
			return false, nil
		},
		txFailed: func(start int, err error) {
			for i := start; i < len(ids); i++ {
				errs[i] = fmt.Errorf("sla check of ticket %d: %w", ids[i], err)
			}
		},
	})
	return errs
}

// check evaluates one ticket in the work's transaction (see CheckTicket).
func (w *work) check(id int64) error {
	tx := w.tx
	t, err := tx.TicketByID(id)
	if err != nil {
		return err
	}
	if !t.IsOpen() {
		t.NextCheckAt, t.RiskAt = time.Time{}, time.Time{}
		return tx.UpdateTicket(t)
	}
	p := w.d.policy(t.Policy)
	// Written again at each check: a ticket filed before risk_at existed
	// (migration 0009) gets it here, by its first warning step at the latest.
	t.RiskAt = p.RiskAt(t)
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
		if err := w.recordBreach(t, c, deadline); err != nil {
			return err
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
	// A stored text this long may have been cut (message.MaxText): how
	// much more the raw mail has is not known here.
	var omitted int64
	if len(data.Text) > message.MaxText-maxNotifyText {
		omitted = -1
	}
	data.Text = notifyText(t, data.Text, omitted)
	if err := w.mailStaff(t, to, mailOpts{kind: helpdesk.KindEscalation, template: "escalation", data: data, auto: true}); err != nil {
		return err
	}
	return w.event(t, kind, "sla", detail, "")
}
