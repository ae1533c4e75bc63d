package desk

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/helpdeskd/helpdesk"
)

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
		if m.Quiet != "" {
			return m.Quiet, nil
		}
	}
	if w.d.isOurs(addr) {
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

// isOurs reports whether addr delivers to one of our own mailboxes,
// whatever its case or "+detail" (a ticket's reply address is ours too).
func (d *Desk) isOurs(addr string) bool { return d.ours[mailboxOf(addr)] }

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

// acknowledge sends the customer the ack of a new ticket, unless loop
// protection or the rate limit forbids an automatic reply; for a mail too
// large to read, the too-large notice instead.
func (w *work) acknowledge(t *helpdesk.Ticket, m *helpdesk.Message, a helpdesk.Assessment, queued bool) error {
	if w.in.Oversize != nil {
		// Nothing of the mail was read: the sender is asked for it again
		// instead of being told what we made of it.
		return w.tooLarge(t, m, nil)
	}
	if !strings.Contains(t.Customer, "@") {
		return w.event(t, helpdesk.EventAckSuppressed, "system", "no sender address to answer", m.MessageID)
	}
	why, err := w.mayAutoReply(m, t.Customer)
	if err != nil {
		return err
	}
	if why != "" {
		return w.event(t, helpdesk.EventAckSuppressed, "system", why, m.MessageID)
	}
	data := w.baseData(t)
	data.ClaimNote = w.d.tri.ClaimNote(a)
	if queued {
		data.Queued = true
		p := w.d.policy(t.Policy)
		if p.Calendar != nil {
			data.NextOpen = formatTime(p.Calendar.NextOpen(w.now), p.Calendar.Location())
		}
	}
	if err := w.toCustomer(t, mailOpts{kind: helpdesk.KindAck, template: "ack", data: data, auto: true}, false); err != nil {
		return err
	}
	return w.event(t, helpdesk.EventAck, "system", "acknowledgement to "+t.Customer, m.MessageID)
}
