package desk

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// cleanSubject is a ticket's subject without reply and forward prefixes
// (message.BaseSubject, the rule triage reads subjects by too) and our
// reference tags.
func cleanSubject(s string) string {
	s = message.BaseSubject(refTag.ReplaceAllString(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(no subject)"
	}
	return s
}

// staffSubject is the one subject of every mail to the agents and other
// staff about ticket t: "[HD-1042] <original>". It never changes with the
// priority or with what a mail announces (the body says that), so that
// mail clients that thread by subject (Gmail; Outlook's conversations,
// with Thread-Topic) keep all the ticket's mails in one thread.
func staffSubject(t *helpdesk.Ticket) string {
	return clip(fmt.Sprintf("[%s] %s", t.Ref, cleanSubject(t.Subject)), maxSubject)
}

// maxSubject is the longest Subject the desk writes, in characters.
const maxSubject = 200

// customerSubject is "Re: <original> [HD-1042]", which threads in the
// customer's client and carries the reference. The original is cut to
// about 100 characters: the sender may be forged, and a subject is the
// part of their text every mail to them echoes.
func customerSubject(t *helpdesk.Ticket) string {
	return fmt.Sprintf("Re: %s [%s]", clip(cleanSubject(t.Subject), maxEchoedSubject), t.Ref)
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
	// toCustomer: mail to the customer's side, whose recipients the
	// agents are told of when it cannot reach them (undelivered.go);
	// author is the agent whose reply it relays.
	toCustomer bool
	author     string
}

// enqueue renders a template and writes the mail to the outbox and, as an
// outbound message, to the ticket, in the current transaction. A mail to
// staff (not toCustomer) is put in its reader's thread of the ticket
// (staffThread): its subject, In-Reply-To and References are the desk's,
// o.inReplyTo only names the mail it answers within that thread.
func (w *work) enqueue(t *helpdesk.Ticket, o mailOpts) error {
	var headers map[string]string
	if !o.toCustomer {
		var err error
		if headers, err = w.staffThread(t, &o); err != nil {
			return err
		}
	}
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
	// A customer's unbreakable 2,000-character subject must not push our
	// Subject: line past RFC 5322's 998 characters, which a server
	// refuses (554): every subject we write is cut.
	subject = clip(subject, maxSubject)
	from := helpdesk.Address{Name: w.d.cfg.From.Name, Email: w.d.mailboxAddress(t.Mailbox)}
	if o.fromName != "" {
		from.Name = o.fromName
	}
	m := &helpdesk.OutMail{
		TicketID: t.ID, Kind: o.kind, MessageID: helpdesk.NewMessageID(from.Email), From: from,
		To: o.to, Cc: o.cc, Subject: subject, InReplyTo: o.inReplyTo, References: o.refs,
		Text: r.Text, HTML: r.HTML, Auto: o.auto, Attachments: o.files, ToCustomer: o.toCustomer, Author: o.author,
		Headers: headers,
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
	if !o.toCustomer {
		for _, a := range o.to {
			k := strings.ToLower(a.Email)
			w.threads[k] = append(w.threads[k], m.MessageID)
		}
	}
	w.enqueued = true
	if h := w.d.hooks.Enqueued; h != nil {
		mm := *m
		w.after = append(w.after, func() { h(mm) })
	}
	return nil
}

// maxRefs is how many Message-IDs a References field the desk writes
// holds at most: the thread's root and the most recent, enough to thread
// in every client without a header that grows with the ticket.
const maxRefs = 20

// staffThread puts a mail to staff about ticket t in its reader's thread
// of the ticket and returns the header fields that go with it:
//   - Subject: the ticket's one subject (staffSubject), unless the caller
//     set one for a warning about a single mail that must stand out (an
//     undelivered reply, a leaked reply address);
//   - References: from the first mail the desk sent this reader about the
//     ticket (for the ticket's team, the new-ticket notification) to the
//     latest, and In-Reply-To the latest; or, when the mail answers or
//     reports a mail of its own (o.inReplyTo: the customer's mail a
//     notification reports, the agent's mail with a refused command),
//     In-Reply-To that mail, last in References after the thread (RFC
//     5322 §3.6.4). A client that lacks it (JWZ's algorithm keeps an empty
//     place for it) still threads the mail under the reader's latest;
//     one that has it (an agent in Cc of the customer's mail) puts the two
//     together;
//   - Thread-Topic: the ticket's one subject, and Thread-Index
//     (threadIndex), which Outlook groups its conversations by.
//
// Clients thread by References (JWZ's algorithm), Gmail only where the
// subject matches too.
func (w *work) staffThread(t *helpdesk.Ticket, o *mailOpts) (map[string]string, error) {
	if w.threads == nil || w.threadsOf != t.ID {
		threads, err := w.tx.StaffThreads(t.ID)
		if err != nil {
			return nil, err
		}
		w.threads, w.threadsOf = threads, t.ID
	}
	var ids []string
	if len(o.to) > 0 {
		ids = w.threads[strings.ToLower(o.to[0].Email)]
	}
	if len(ids) > maxRefs-1 {
		ids = append(ids[:1:1], ids[len(ids)-(maxRefs-2):]...)
	}
	refs := append([]string(nil), ids...)
	irt := ""
	if len(ids) > 0 {
		irt = ids[len(ids)-1]
	}
	if o.inReplyTo != "" {
		irt = o.inReplyTo
		refs = append(refs, o.inReplyTo)
	}
	topic := staffSubject(t)
	if o.subject == "" {
		o.subject = topic
	}
	o.inReplyTo, o.refs = irt, refs
	return map[string]string{"Thread-Topic": topic, "Thread-Index": w.threadIndex(t, len(ids) > 0)}, nil
}

// threadIndex is the Thread-Index of a mail to staff about ticket t, which
// Outlook groups its conversations by where References are not enough
// (an Outlook with an IMAP or POP account): the conversation index of
// [MS-OXOMSG] §2.2.1.3, base64. Its 22-byte header is the same on every
// mail of the ticket: 0x01, the 40 high bits of the ticket's creation as a
// FILETIME, and a GUID derived from the desk's address, the reference and
// the creation time (so that two desks, or a database started again, never
// share one). A mail that follows another in its reader's thread (reply)
// adds one response level: the time since the header's, in the units the
// specification gives (delta code 0: bits 18 to 48; 1: bits 23 to 53),
// random and sequence bits zero.
func (w *work) threadIndex(t *helpdesk.Ticket, reply bool) string {
	created := fileTime(t.CreatedAt)
	b := make([]byte, 22, 27)
	b[0] = 1
	for i := range 5 {
		b[1+i] = byte(created >> (56 - 8*i))
	}
	sum := sha256.Sum256([]byte("helpdeskd thread\x00" + strings.ToLower(w.d.cfg.From.Email) + "\x00" + t.Ref + "\x00" +
		t.CreatedAt.UTC().Format(time.RFC3339Nano)))
	copy(b[6:], sum[:16])
	if reply {
		var delta uint64
		if now, base := fileTime(w.now), created&^(1<<24-1); now > base {
			delta = now - base
		}
		level := uint32(delta>>18) & (1<<31 - 1)
		if delta >= 1<<49 {
			level = 1<<31 | uint32(delta>>23)&(1<<31-1)
		}
		b = binary.BigEndian.AppendUint32(b, level)
		b = append(b, 0)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// fileTime is t as a Windows FILETIME: 100-nanosecond intervals since
// 1601-01-01 UTC (zero before).
func fileTime(t time.Time) uint64 {
	const epoch = 11644473600 // seconds from 1601-01-01 to 1970-01-01
	s := t.Unix() + epoch
	if s < 0 {
		return 0
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond()/100)
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
	o.toCustomer = true
	o.replyTo = w.d.customerReplyAddress(t)
	o.subject = customerSubject(t)
	if o.data.Desk == "" {
		o.data = w.baseData(t)
	}
	return w.enqueue(t, o)
}
