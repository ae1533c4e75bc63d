package desk

import (
	"fmt"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/trust"
)

// ingest routes one incoming mail, the one place that decides what a mail
// is: unreadable (quarantine), a duplicate, a delivery report, our own mail
// come back, a proven agent's mail on a ticket (agent.go), a mail to an
// agent's reply address from another From (a leaked address), a reply of
// the ticket's customer side, a stranger's mail on a ticket, or a new
// ticket (customer.go).
func (w *work) ingest() (Result, error) {
	d, in := w.d, w.in
	if in.Message == nil {
		reason := "unreadable"
		if in.ParseError != nil {
			reason = in.ParseError.Error()
		}
		d.log.Warn("mail quarantined", "mailbox", in.Mailbox, "uid", in.UID, "reason", reason)
		return Result{Outcome: Quarantined}, w.tx.Quarantine(in.Mailbox, in.UIDValidity, in.UID, reason, in.Raw)
	}
	m := in.Message
	if m.Raw == nil {
		m.Raw = in.Raw
	}
	m.Direction = helpdesk.Inbound
	seen, err := w.tx.MessageExists(m.MessageID)
	if err != nil {
		return Result{}, err
	}
	if seen {
		d.log.Debug("duplicate mail", "mailbox", in.Mailbox, "uid", in.UID, "message_id", m.MessageID)
		return Result{Outcome: Duplicate}, nil
	}
	if m.Bounce != nil {
		return w.bounce(m)
	}
	if d.isOurs(m.From.Email) {
		// RFC 3834 §2: never answer mail that came from ourselves. Keep
		// it, on its ticket if it threads, and do nothing else.
		m.Kind = helpdesk.KindAuto
		t, _, err := w.thread(m)
		if err != nil {
			return Result{}, err
		}
		var tid int64
		ref := ""
		if t != nil {
			tid, ref = t.ID, t.Ref
		}
		_, err = w.tx.AddMessage(tid, in.Mailbox, m)
		return Result{Outcome: Ignored, Ref: ref}, err
	}
	t, how, err := w.thread(m)
	if err != nil {
		return Result{}, err
	}
	v := d.cfg.Trust.Judge(m)
	s, err := w.identify(m, t, v)
	if err != nil {
		return Result{}, err
	}
	if r, ok := v.DMARCFailed(); ok && strings.EqualFold(r.Domain, domainOf(m.From.Email)) {
		w.fromFails = "dmarc=" + r.Result + " for " + r.Domain + " (result of " + firstOf(r.AuthServID, "our server") + ")"
	}
	switch {
	case t != nil && s.agent != nil && in.Oversize != nil:
		return w.agentOversize(t, m, s.agent)
	case t != nil && s.agent != nil:
		return w.agentMail(t, m, s.agent, s.proof)
	case t != nil && s.leaked != nil:
		return w.leakedAddress(t, m, s)
	case t != nil:
		on, err := w.onTicket(t, m)
		if err != nil {
			return Result{}, err
		}
		if !on {
			return w.outsiderMail(t, m, how, s.doubt, spamReason(m, v))
		}
		return w.customerReply(t, m, how, s.doubt, spamReason(m, v))
	}
	return w.newTicket(m, nil, s.doubt, spamReason(m, v))
}

// spamReason says why m counts as spam: the receiving server's verdict, or
// a DMARC failure our own server found for a domain that asks for such
// mail to be rejected or quarantined. "" when it does not.
func spamReason(m *helpdesk.Message, v trust.Verdict) string {
	if m.Spam != "" {
		return m.Spam
	}
	if r, ok := v.DMARCRejected(); ok {
		return fmt.Sprintf("dmarc=fail for %s, which publishes p=%s (result of %s)", r.Domain, r.Policy, r.AuthServID)
	}
	return ""
}

// domainOf returns the lower-cased domain of an address.
func domainOf(addr string) string {
	_, d, _ := strings.Cut(strings.ToLower(addr), "@")
	return d
}

// onTicket reports whether m's sender belongs on ticket t: its customer or
// someone the ticket took in Cc. An agent's address without proof does
// not: whoever wrote it is a stranger.
func (w *work) onTicket(t *helpdesk.Ticket, m *helpdesk.Message) (bool, error) {
	from := senderOf(m).Email
	if from == t.Customer {
		return true, nil
	}
	if w.d.agents[from] != nil {
		return false, nil
	}
	ps, err := w.tx.Participants(t.ID)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.Email == from && (p.Role == store.RoleCC || p.Role == store.RoleCustomer) {
			return true, nil
		}
	}
	return false, nil
}
