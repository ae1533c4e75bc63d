package desk

import (
	"crypto/hmac"
	"errors"
	"regexp"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/store"
)

// How a message joined its ticket.
const (
	byReferences   = "references"
	byReplyAddress = "reply-address"
	bySubjectTag   = "subject-tag"
)

var refTag = regexp.MustCompile(`\[([A-Za-z][A-Za-z0-9]*-[0-9]+)\]`)

// thread finds the ticket a message joins, by DESIGN.md step 4: (a) its
// In-Reply-To/References name a message of the ticket, (b) it was sent to
// the ticket's reply address (or an agent's), or (c) its subject carries
// [REF] and its sender is the customer, a participant or an agent. A
// guessed reference alone never lets a stranger in.
func (w *work) thread(m *helpdesk.Message) (*helpdesk.Ticket, string, error) {
	ids := append(append([]string(nil), m.References...), m.InReplyTo...)
	t, err := w.tx.TicketByMessageID(ids...)
	if err == nil {
		return t, byReferences, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, "", err
	}
	if t, err := w.byReplyAddress(m); t != nil || err != nil {
		return t, byReplyAddress, err
	}
	for _, match := range refTag.FindAllStringSubmatch(m.Subject, -1) {
		t, err := w.tx.TicketByRef(match[1])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		from := strings.ToLower(m.From.Email)
		if from == t.Customer || w.d.agents[from] != nil {
			return t, bySubjectTag, nil
		}
		on, err := w.tx.IsParticipant(t.ID, from)
		if err != nil {
			return nil, "", err
		}
		if on {
			return t, bySubjectTag, nil
		}
		w.d.log.Info("subject reference from a stranger ignored", "ticket", t.Ref, "from", from, "message_id", m.MessageID)
	}
	return nil, "", nil
}

// replyTag returns the "+tag" of addr when addr is one of our addresses
// with a sub-address, e.g. "HD-1042.k3j..." of support+HD-1042.k3j...@example.com.
func (d *Desk) replyTag(addr string) string {
	local, domain, ok := strings.Cut(strings.ToLower(addr), "@")
	if !ok {
		return ""
	}
	base, tag, ok := strings.Cut(local, "+")
	if !ok || !d.ours[base+"@"+domain] {
		return ""
	}
	return tag
}

// recipients returns every address a message was delivered or written to.
func recipients(m *helpdesk.Message) []string {
	var out []string
	for _, a := range m.To {
		out = append(out, a.Email)
	}
	for _, a := range m.Cc {
		out = append(out, a.Email)
	}
	return append(out, m.Recipients...)
}

// byReplyAddress finds the ticket whose reply address (customer token or an
// agent's token) the message was sent to.
func (w *work) byReplyAddress(m *helpdesk.Message) (*helpdesk.Ticket, error) {
	for _, rcpt := range recipients(m) {
		tag := w.d.replyTag(rcpt)
		ref, token, ok := strings.Cut(tag, ".")
		if !ok {
			continue
		}
		t, err := w.tx.TicketByRef(ref)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if hmac.Equal([]byte(token), []byte(t.Token)) {
			return t, nil
		}
		if agent, err := w.agentForToken(t, token); err != nil || agent != nil {
			return t, err
		}
	}
	return nil, nil
}

// customerReplyAddress is the ticket's reply address.
func (d *Desk) customerReplyAddress(t *helpdesk.Ticket) string {
	return subAddress(d.mailboxAddress(t.Mailbox), t.Ref+"."+t.Token)
}

func subAddress(addr, tag string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return local + "+" + tag + "@" + domain
}

// mailboxAddress is the address of the named mailbox, or the desk's From.
func (d *Desk) mailboxAddress(name string) string {
	if mb := d.boxes[name]; mb != nil && mb.Address != "" {
		return strings.ToLower(mb.Address)
	}
	return strings.ToLower(d.cfg.From.Email)
}
