package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// The outbox records how each recipient fared through the store; these
// two of its store methods go through the desk instead, so that a mail to
// the customer's side that could not reach someone is reported to the
// agents in the transaction that records it: the notice can be neither
// lost nor sent twice. (cmd/helpdeskd wires them into the outbox.)

// MarkFailed records a permanent failure of outbox row id for every
// recipient still due (store.Tx.MarkOutboxFailed) and tells the agents
// who could not be reached.
func (d *Desk) MarkFailed(ctx context.Context, id int64, at time.Time, reason string) error {
	return d.recordDelivery(ctx, func(tx *store.Tx) (helpdesk.OutMail, []helpdesk.Recipient, error) {
		return tx.MarkOutboxFailed(id, at, reason)
	})
}

// MarkRecipients records an attempt of outbox row id whose recipients
// fared differently (store.Tx.MarkOutboxRecipients) and tells the agents
// who could not be reached.
func (d *Desk) MarkRecipients(ctx context.Context, id int64, a helpdesk.DeliveryAttempt) error {
	return d.recordDelivery(ctx, func(tx *store.Tx) (helpdesk.OutMail, []helpdesk.Recipient, error) {
		return tx.MarkOutboxRecipients(id, a)
	})
}

// recordDelivery runs mark and reports what it refused, in one
// transaction. The report runs in a savepoint: if it fails (a broken
// template override, a bug), the delivery is still recorded, since a
// recipient recorded as pending would be sent the mail again, and the
// failure is logged.
func (d *Desk) recordDelivery(ctx context.Context, mark func(tx *store.Tx) (helpdesk.OutMail, []helpdesk.Recipient, error)) error {
	var w *work
	err := d.st.Update(ctx, func(tx *store.Tx) error {
		w = &work{d: d, tx: tx, now: tx.Now()}
		m, refused, err := mark(tx)
		if err != nil || m.TicketID == 0 || len(refused) == 0 {
			return err
		}
		t, err := tx.TicketByID(m.TicketID)
		if err != nil {
			return fmt.Errorf("ticket of outbox %d: %w", m.ID, err)
		}
		var who []string
		for _, r := range refused {
			who = append(who, r.Email+" ("+r.Reply+")")
		}
		logRefused := func() {
			d.log.Info("mail could not reach recipients", "ticket", t.Ref, "mailbox", t.Mailbox, "message_id", m.MessageID,
				"kind", m.Kind, "refused", who)
		}
		w.after = append(w.after, logRefused)
		err = tx.Savepoint(func() error {
			return w.safely(func() error { return w.reportUndelivered(t, m, refused) })
		})
		if errors.Is(err, store.ErrSavepoint) {
			return err
		}
		if err != nil {
			d.log.Error("could not tell the agents of undelivered mail", "ticket", t.Ref, "mailbox", t.Mailbox,
				"message_id", m.MessageID, "err", err)
			w.after, w.enqueued = []func(){logRefused}, false // the notice's hooks were rolled back with it
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range w.after {
		f()
	}
	if w.enqueued {
		d.kick()
	}
	return nil
}

// maxUndeliveredReply bounds each reason a notice repeats.
const maxUndeliveredReply = 300

// reportUndelivered mails one notice about mail m of ticket t, which could not reach
// the recipients refused, to the agent whose reply it relayed, or to the
// ticket's agents (recipientsFor) when the desk wrote it. Only mail to
// the customer's side is reported; a notice goes to staff and is never
// reported itself, so no notice is ever about a notice. A notice about
// automatic mail (an acknowledgement, which anyone can cause by writing
// in with a dead address) counts towards each agent's automatic-reply
// limit; one about an agent's own reply always goes.
func (w *work) reportUndelivered(t *helpdesk.Ticket, m helpdesk.OutMail, refused []helpdesk.Recipient) error {
	if !m.ToCustomer {
		return nil
	}
	var to []*Agent
	author := w.d.agents[strings.ToLower(m.Author)]
	if author != nil {
		to = []*Agent{author}
	} else {
		to = w.d.recipientsFor(t)
	}
	data := w.baseData(t)
	data.Text = clip(m.Text, 4000)
	for _, r := range refused {
		data.Undelivered = append(data.Undelivered, templates.Undelivered{Email: r.Email, Reply: clip(r.Reply, maxUndeliveredReply)})
	}
	for _, r := range m.Envelope() {
		if r.State == helpdesk.RecipientDelivered {
			data.Reached = append(data.Reached, r.Email)
		}
	}
	subject := fmt.Sprintf("[%s] Not delivered to %s", t.Ref, clip(refused[0].Email, 100))
	if len(refused) > 1 {
		subject += fmt.Sprintf(" and %d more", len(refused)-1)
	}
	for _, a := range to {
		if m.Auto {
			why, err := w.mayAutoReply(nil, a.Email)
			if err != nil {
				return err
			}
			if why != "" {
				w.d.log.Info("agent not told of undelivered mail", "ticket", t.Ref, "mailbox", t.Mailbox,
					"agent", a.Email, "message_id", m.MessageID, "why", why)
				continue
			}
		}
		addr, err := w.agentReplyAddress(t, a)
		if err != nil {
			return err
		}
		d := data
		d.Agent = helpdesk.Address{Name: a.Name, Email: a.Email}
		d.ReplyAddress = addr
		d.Notice = undeliveredNotice(m, author, a)
		if err := w.enqueue(t, mailOpts{kind: helpdesk.KindNotification, template: "undelivered", data: d,
			to: []helpdesk.Address{d.Agent}, replyTo: addr, auto: true, subject: subject}); err != nil {
			return err
		}
	}
	return nil
}

// undeliveredNotice names mail m for agent a: "Your reply" to its
// author, "The acknowledgement" ...
func undeliveredNotice(m helpdesk.OutMail, author, a *Agent) string {
	own := author != nil && author == a
	switch m.Kind {
	case helpdesk.KindRelay:
		if own {
			return "Your reply"
		}
		if m.Author != "" {
			return "The reply of " + m.Author
		}
		return "A reply"
	case helpdesk.KindResolution:
		if own {
			return "Your resolution mail"
		}
		return "The resolution mail"
	case helpdesk.KindAck:
		return "The acknowledgement"
	}
	return "The desk's mail to the customer"
}
