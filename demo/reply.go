package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// Reply builds the answer to a captured mail m as its recipient would send
// it from a mail client: from the first recipient of m, to m's Reply-To
// (else its From), with "Re: " and the subject, In-Reply-To and References
// (RFC 5322 §3.6.4), text on top and m's text quoted below. A reply to an
// agent notification goes to the agent's own reply address, which proves
// the agent to the desk; a reply to an acknowledgement goes to the
// ticket's reply address.
func Reply(m Mail, text string, date time.Time) (Outgoing, error) {
	if len(m.To) == 0 {
		return Outgoing{}, errors.New("reply: the mail has no recipient")
	}
	me := mail.Address{Address: m.To[0]}
	if to, err := m.Header.AddressList("To"); err == nil {
		for _, a := range to {
			if strings.EqualFold(a.Address, me.Address) {
				me.Name = decodeHeader(a.Name)
			}
		}
	}
	dest := m.HeaderAddress("Reply-To")
	if dest == "" {
		dest = m.HeaderAddress("From")
	}
	if dest == "" {
		return Outgoing{}, errors.New("reply: the mail has neither Reply-To nor From")
	}
	subject := m.Subject()
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	var refs []string
	for _, r := range strings.Fields(m.Header.Get("References")) {
		refs = append(refs, strings.Trim(r, "<>"))
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(text, "\n"))
	b.WriteString("\n\n")
	if d, err := m.Header.Date(); err == nil {
		fmt.Fprintf(&b, "On %s, %s wrote:\n", d.Format("Mon, 2 Jan 2006 at 15:04"), m.Header.Get("From"))
	} else {
		fmt.Fprintf(&b, "%s wrote:\n", m.Header.Get("From"))
	}
	for _, line := range strings.Split(strings.TrimRight(plainText(m.Raw), "\n"), "\n") {
		b.WriteString("> " + strings.TrimRight(line, "\r") + "\n")
	}
	raw, err := textMail(me, mail.Address{Address: dest}, subject, b.String(), date, m.MessageID(), refs)
	if err != nil {
		return Outgoing{}, fmt.Errorf("reply: %w", err)
	}
	return Outgoing{From: me.Address, To: []string{dest}, Raw: raw}, nil
}

// plainText returns the first text/plain part of a message, decoded, or ""
// when it has none.
func plainText(raw []byte) string {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	defer r.Close()
	for {
		p, err := r.NextPart()
		if err != nil {
			return ""
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		if ct, _, _ := h.ContentType(); ct != "text/plain" && ct != "" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Body, 1<<20))
		if err != nil {
			return ""
		}
		return strings.ReplaceAll(string(b), "\r\n", "\n")
	}
}
