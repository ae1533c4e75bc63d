package desk

import (
	"fmt"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/templates"
)

// A mail larger than its mailbox's max_message_size reaches the desk as
// its header alone (Incoming.Oversize). It goes where its header says, as
// any mail: a new ticket, a reply on its ticket, an outsider's mail kept
// for the agents, an agent's mail. Everywhere it is kept with an oversize
// event naming its size, the limit and the quarantine folder that holds
// it whole (keep); the agents' notification leads with the same
// (notifyAgents); the customer, instead of the acknowledgement, is asked
// to send it again smaller, split or as a link, under the automatic-reply
// rules (mayAutoReply: no answer to automatic or bulk mail, within the
// rate limit); an agent's mail runs no command and relays nothing.

// oversizeDetail says what happened to a mail too large to read, for the
// audit trail and the agents.
func oversizeDetail(o *helpdesk.Oversize) string {
	s := fmt.Sprintf("mail of %s (%d bytes) is larger than the mailbox's max_message_size of %s: only its header was read; the whole mail is in the IMAP folder %q",
		formatSize(o.Size), o.Size, formatSize(o.Limit), o.Folder)
	if o.HeaderCut {
		s += "; its header was longer than the part kept"
	}
	return s
}

// oversizeEvent records on t that m, kept by its header, was too large to
// read, and logs it with the mailbox and the ticket after the commit.
func (w *work) oversizeEvent(t *helpdesk.Ticket, m *helpdesk.Message) error {
	o := w.in.Oversize
	if err := w.event(t, helpdesk.EventOversize, senderOf(m).Email, oversizeDetail(o), m.MessageID); err != nil {
		return err
	}
	log, box, uid, ref := w.d.log, w.in.Mailbox, w.in.UID, t.Ref
	w.after = append(w.after, func() {
		log.Warn("mail larger than max_message_size recorded by its header", "mailbox", box, "uid", uid, "ticket", ref,
			"message_id", m.MessageID, "size", o.Size, "limit", o.Limit, "folder", o.Folder)
	})
	return nil
}

// oversizeNotice is the line agents read first about a mail too large to
// read; "" for any other mail.
func (w *work) oversizeNotice() string {
	o := w.in.Oversize
	if o == nil {
		return ""
	}
	return fmt.Sprintf("This mail was %s, more than this mailbox's limit of %s, so only its header was read: its text and attachments are not on the ticket. The whole mail is in the IMAP folder %q of mailbox %s. The sender was asked to send it again smaller, split or as a link.",
		formatSize(o.Size), formatSize(o.Limit), o.Folder, w.in.Mailbox)
}

// tooLarge asks the sender of m, a mail too large to read, to send it
// again in a form the mailbox can take: the customer or participant who
// wrote it, in the customer's thread, or the agent who wrote it (agent
// non-nil). Automatic and bulk mail, and a sender over the
// automatic-reply limit, get nothing, and the ticket says why.
func (w *work) tooLarge(t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent) error {
	o := w.in.Oversize
	from := senderOf(m)
	to := from.Email
	if agent != nil {
		to = agent.Email
	}
	if !strings.Contains(to, "@") {
		return w.event(t, helpdesk.EventAckSuppressed, "system", "no sender address to ask for the mail again", m.MessageID)
	}
	why, err := w.mayAutoReply(m, to)
	if err != nil {
		return err
	}
	if why != "" {
		return w.event(t, helpdesk.EventAckSuppressed, "system", "no too-large notice: "+why, m.MessageID)
	}
	tl := &templates.TooLarge{Size: formatSize(o.Size), Limit: formatSize(o.Limit), ToAgent: agent != nil}
	if agent != nil {
		data, err := w.agentData(t, agent)
		if err != nil {
			return err
		}
		addr := data.ReplyAddress
		data.TooLarge = tl
		err = w.enqueue(t, mailOpts{kind: helpdesk.KindSystem, template: "too_large", data: data,
			to: []helpdesk.Address{data.Agent}, replyTo: addr, auto: true, inReplyTo: m.MessageID, refs: []string{m.MessageID},
			subject: fmt.Sprintf("Re: %s [%s] (too large, not read)", clip(cleanSubject(m.Subject), maxEchoedSubject), t.Ref)})
	} else {
		irt, refs, terr := w.customerThread(t)
		if terr != nil {
			return terr
		}
		data := w.baseData(t)
		data.Customer = helpdesk.Address{Name: echoName(from.Name), Email: to}
		data.TooLarge = tl
		err = w.enqueue(t, mailOpts{kind: helpdesk.KindAck, template: "too_large", data: data, to: []helpdesk.Address{data.Customer},
			replyTo: w.d.customerReplyAddress(t), subject: customerSubject(t), auto: true, inReplyTo: irt, refs: refs})
	}
	if err != nil {
		return err
	}
	return w.event(t, helpdesk.EventAck, "system", "too-large notice to "+to+" (send it smaller, split or as a link)", m.MessageID)
}

// agentOversize keeps a proven agent's mail that was too large to read on
// its ticket as an internal note: its body was never read, so no command
// is run and nothing is relayed to the customer. The agent is asked to
// send it again.
func (w *work) agentOversize(t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent) (Result, error) {
	m.Kind = helpdesk.KindNote
	if _, err := w.keep(t, t.Mailbox, m); err != nil {
		return Result{}, err
	}
	if err := w.event(t, helpdesk.EventAgentMail, agent.Email, "mail too large to read: no command run, nothing relayed", m.MessageID); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Joined, Ref: t.Ref}, w.tooLarge(t, m, agent)
}

// formatSize renders a byte count the way the configuration writes sizes
// (1 MB = 1024 KB): "62.4 MB", "50 MB", "512 KB".
func formatSize(n int64) string {
	units := []string{"bytes", "KB", "MB", "GB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	s := fmt.Sprintf("%.1f", f)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}
