package desk

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// agentMail applies an agent's proven mail to ticket t: #commands first
// (all or nothing), then the text is relayed to the customer, or, with
// #note, sent to the other agents only.
func (w *work) agentMail(t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, proof string) (Result, error) {
	m.Kind = helpdesk.KindAgent
	// Only the new text counts: a reply that adds nothing to the quoted
	// history relays nothing (never the history itself).
	cmds, rest, cerr := ParseCommands(m.NewText, w.d.cfg.Levels)
	var plan *agentPlan
	if cerr == nil {
		plan, cerr = w.planCommands(t, agent, cmds)
	}
	if plan != nil && plan.note {
		m.Kind = helpdesk.KindNote
	}
	if cerr == nil && !plan.note && m.TextOmitted > 0 {
		// The parser kept only the first message.MaxText of the text: a
		// relay would hand the customer a cut reply. All or nothing, as
		// for a bad command.
		size := (int64(len(m.Text)) + m.TextOmitted + 1023) / 1024
		cerr = &CommandError{Line: fmt.Sprintf("(the text of your reply, %d KiB)", size),
			Problem:  fmt.Sprintf("a reply relays at most %d KiB of text to the customer", message.MaxText/1024),
			Accepted: "a shorter text, with the long part as an attached file"}
	}
	rowID, err := w.keep(t, t.Mailbox, m)
	if err != nil {
		return Result{}, err
	}
	if _, err := w.tx.AddParticipant(t.ID, helpdesk.Address{Name: agent.Name, Email: agent.Email}, store.RoleAgent); err != nil {
		return Result{}, err
	}
	if cerr != nil {
		return Result{Outcome: Joined, Ref: t.Ref}, w.commandError(t, m, agent, cerr)
	}
	if err := w.event(t, helpdesk.EventAgentMail, agent.Email, "proof: "+proof, m.MessageID); err != nil {
		return Result{}, err
	}
	if plan.note {
		body := strings.TrimSpace(strings.TrimSpace(plan.noteText) + "\n\n" + rest)
		if err := w.note(t, m, agent, body); err != nil {
			return Result{}, err
		}
	}
	if err := w.applyCommands(t, m, agent, plan); err != nil {
		return Result{}, err
	}
	if t.Status == helpdesk.StatusSpam && !plan.setsStatus {
		// An agent who works a ticket filed as spam says it is not.
		t.SetStatus(helpdesk.StatusOpen, w.now)
		if err := w.event(t, helpdesk.EventStatus, agent.Email, "spam -> open: an agent worked the ticket", m.MessageID); err != nil {
			return Result{}, err
		}
	}
	if !plan.note {
		files, err := w.tx.Attachments(rowID)
		if err != nil {
			return Result{}, err
		}
		if err := w.reply(t, m, agent, rest, files, plan.resolved); err != nil {
			return Result{}, err
		}
	}
	if err := w.clocks(t); err != nil {
		return Result{}, err
	}
	if err := w.tx.UpdateTicket(t); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Joined, Ref: t.Ref}, nil
}

func (d *Desk) findAgent(arg string, me *Agent) *Agent {
	arg = strings.TrimSpace(arg)
	if strings.EqualFold(arg, "me") {
		return me
	}
	if a := d.agents[strings.ToLower(strings.Trim(arg, "<>"))]; a != nil {
		return a
	}
	for i := range d.cfg.Agents {
		if strings.EqualFold(d.cfg.Agents[i].Name, arg) {
			return &d.cfg.Agents[i]
		}
	}
	return nil
}

func (d *Desk) agentList() string {
	var out []string
	for _, a := range d.cfg.Agents {
		out = append(out, a.Email)
	}
	return strings.Join(out, ", ")
}

func (d *Desk) teamNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range d.cfg.Teams {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t.Name)
		}
	}
	for _, a := range d.cfg.Agents {
		if a.Team != "" && !seen[a.Team] {
			seen[a.Team] = true
			out = append(out, a.Team)
		}
	}
	return out
}

func (d *Desk) teamExists(name string) bool {
	for _, n := range d.teamNames() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// reply relays the agent's text (and files) to the customer and the people
// in Cc, from the support address with the agent's name, threaded in the
// customer's conversation. With resolved, the mail is the resolution mail.
func (w *work) reply(t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, text string, files []helpdesk.Attachment, resolved bool) error {
	if text == "" && !resolved {
		return nil // commands only: nothing to relay
	}
	data := w.baseData(t)
	data.Agent = helpdesk.Address{Name: agent.Name, Email: agent.Email}
	data.Text = text
	data.Signed = signedOff(text, agent)
	name := agent.Name
	if name == "" {
		name = agent.Email
	}
	o := mailOpts{kind: helpdesk.KindRelay, template: "relay", data: data, files: files, text: text,
		fromName: name + " at " + w.d.cfg.Name, author: agent.Email}
	if resolved {
		o.kind, o.template = helpdesk.KindResolution, "resolution"
	}
	if err := w.toCustomer(t, o, true); err != nil {
		return err
	}
	if text != "" && t.FirstResponseAt.IsZero() {
		t.FirstResponseAt = w.now
		if err := w.event(t, helpdesk.EventFirstResponse, agent.Email, "response clock stopped", m.MessageID); err != nil {
			return err
		}
	}
	kind := helpdesk.EventRelayed
	if resolved {
		kind = helpdesk.EventResolutionSent
	}
	return w.event(t, kind, agent.Email, fmt.Sprintf("to %s (%d attachments)", t.Customer, len(files)), m.MessageID)
}

// signedOff reports whether an agent's text already ends with their own
// sign-off, as Outlook and other clients without a "-- " line write it
// (the reply stripper takes off only a signature under "-- "):
// "Regards,\nPat\nTeam Lead" or "Thanks, Pat", a closing within the last
// six lines followed by the agent's name or a name-like line, or the last
// line the agent's name alone. The relayed mail then adds no signature of
// its own under theirs.
func signedOff(text string, a *Agent) bool {
	var lines []string
	for l := range strings.SplitSeq(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return false
	}
	tail := lines[max(0, len(lines)-6):]
	if isName(strings.TrimRight(strings.TrimLeft(tail[len(tail)-1], "-–— "), ".,!"), a, false) {
		return true
	}
	for i, l := range tail {
		rest, ok := message.Closing(l)
		if !ok {
			continue
		}
		if rest != "" {
			if isName(rest, a, true) {
				return true
			}
			continue
		}
		after := tail[i+1:]
		if len(after) > 0 && len(after) <= 4 && (isName(after[0], a, true) || message.NameLike(after[0])) {
			return true
		}
	}
	return false
}

// isName reports whether s is the agent's first or full name or the local
// part of their address, in any case; with prefix, whether s starts with
// one ("Pat Smith | Team Lead").
func isName(s string, a *Agent, prefix bool) bool {
	s = strings.ToLower(s)
	full := strings.ToLower(strings.TrimSpace(a.Name))
	first, _, _ := strings.Cut(full, " ")
	local, _, _ := strings.Cut(strings.ToLower(a.Email), "@")
	for _, n := range []string{full, first, local} {
		if len(n) < 2 {
			continue
		}
		if s == n {
			return true
		}
		if prefix && strings.HasPrefix(s, n) {
			if r, _ := utf8.DecodeRuneInString(s[len(n):]); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return true
			}
		}
	}
	return false
}

// note sends an internal note to the other agents on the ticket, never to
// the customer.
func (w *work) note(t *helpdesk.Ticket, m *helpdesk.Message, author *Agent, body string) error {
	if err := w.event(t, helpdesk.EventNote, author.Email, body, m.MessageID); err != nil {
		return err
	}
	var to []*Agent
	seen := map[string]bool{author.Email: true}
	ps, err := w.tx.Participants(t.ID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if a := w.d.agents[p.Email]; a != nil && p.Role == store.RoleAgent && !seen[a.Email] {
			seen[a.Email] = true
			to = append(to, a)
		}
	}
	for _, a := range w.d.recipientsFor(t) {
		if !seen[a.Email] {
			seen[a.Email] = true
			to = append(to, a)
		}
	}
	data := w.baseData(t)
	data.Text = notifyText(t, body, m.TextOmitted)
	for _, a := range to {
		addr, err := w.agentReplyAddress(t, a)
		if err != nil {
			return err
		}
		d := data
		d.Agent = helpdesk.Address{Name: author.Name, Email: author.Email}
		d.ReplyAddress = addr
		if err := w.enqueue(t, mailOpts{kind: helpdesk.KindNotification, template: "note", data: d,
			to: []helpdesk.Address{{Name: a.Name, Email: a.Email}}, replyTo: addr, auto: true, text: body}); err != nil {
			return err
		}
	}
	return nil
}

// commandError answers the agent that a command was refused; nothing was
// changed or relayed.
func (w *work) commandError(t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, cerr *CommandError) error {
	if err := w.event(t, helpdesk.EventCommandRejected, agent.Email, cerr.Error(), m.MessageID); err != nil {
		return err
	}
	data, err := w.agentData(t, agent)
	if err != nil {
		return err
	}
	data.Command = &templates.CommandError{Line: cerr.Line, Problem: cerr.Problem, Accepted: cerr.Accepted}
	return w.enqueue(t, mailOpts{kind: helpdesk.KindSystem, template: "command_error", data: data,
		to: []helpdesk.Address{data.Agent}, replyTo: data.ReplyAddress, auto: true, inReplyTo: m.MessageID})
}

// ccCount returns how many people ticket t has in Cc.
func (w *work) ccCount(t *helpdesk.Ticket) (int, error) {
	ps, err := w.tx.Participants(t.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		if p.Role == store.RoleCC {
			n++
		}
	}
	return n, nil
}

// leakedAddress keeps a mail sent to an agent's reply address for ticket t
// from another From: the address proves that agent only together with
// their own From. The mail runs nothing and relays nothing; it is kept as
// an internal note, and the agent is told (within the automatic-reply
// limit, so a flood of such mails is not a flood of warnings) that the
// address may have leaked.
func (w *work) leakedAddress(t *helpdesk.Ticket, m *helpdesk.Message, s sender) (Result, error) {
	owner := s.leaked
	m.Kind = helpdesk.KindNote
	if _, err := w.keep(t, t.Mailbox, m); err != nil {
		return Result{}, err
	}
	from := strings.ToLower(m.From.Email)
	notice := fmt.Sprintf("a mail from %s to %s's reply address for %s: kept as an internal note, nothing run or relayed; the address may have leaked (helpdeskd agent rotate %s)",
		from, owner.Email, t.Ref, owner.Email)
	if err := w.event(t, helpdesk.EventAddressLeak, from, notice, m.MessageID); err != nil {
		return Result{}, err
	}
	if s.doubt != "" {
		if err := w.suspicious(t, m, s.doubt); err != nil {
			return Result{}, err
		}
	}
	why, err := w.mayAutoReply(nil, owner.Email)
	if err != nil || why != "" {
		return Result{Outcome: Joined, Ref: t.Ref}, err
	}
	data, err := w.agentData(t, owner)
	if err != nil {
		return Result{}, err
	}
	data.Notice = fmt.Sprintf("From: %s, Subject: %s", clip(from, 100), clip(m.Subject, 100))
	data.Text = clip(text(m), 4000)
	return Result{Outcome: Joined, Ref: t.Ref}, w.enqueue(t, mailOpts{kind: helpdesk.KindSystem, template: "address_leak", data: data,
		to: []helpdesk.Address{data.Agent}, replyTo: data.ReplyAddress, auto: true,
		subject: fmt.Sprintf("[%s] Your reply address was used by %s", t.Ref, clip(from, 100))})
}
