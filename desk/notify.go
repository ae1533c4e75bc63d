package desk

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/templates"
)

// notifyAgents tells the ticket's team (or every agent) about a new ticket
// or a customer reply, each agent with a reply address of their own, in
// their thread of the ticket (enqueue), in reply to the mail it reports.
func (w *work) notifyAgents(t *helpdesk.Ticket, template string, m *helpdesk.Message, data templates.Data) error {
	if n := w.oversizeNotice(); n != "" {
		data.Notice = strings.TrimSpace(n + " " + data.Notice)
	}
	data.Text = m.NewText
	if strings.TrimSpace(data.Text) == "" {
		data.Text = m.Text
	}
	data.Text = notifyText(t, data.Text, m.TextOmitted)
	data.Files = notifyFiles(m)
	for _, team := range w.d.cfg.Teams {
		if team.Name == t.Team && team.Address != "" {
			// A list address cannot carry one agent's token: replies through
			// it need DKIM/SPF proof.
			data.Agent = helpdesk.Address{Name: team.Name, Email: team.Address}
			data.ReplyAddress = w.d.customerReplyAddress(t)
			return w.enqueue(t, mailOpts{kind: helpdesk.KindNotification, template: template, data: data,
				to: []helpdesk.Address{data.Agent}, replyTo: data.ReplyAddress, auto: true, inReplyTo: m.MessageID})
		}
	}
	// The mail differs between agents only in its reply address; unless
	// the template reads the recipient, it is rendered once for all.
	var shared *templates.Rendered
	if !w.d.tmpl.Reads(template, "Agent") && !w.d.tmpl.Reads(template, "ReplyAddress") {
		r, err := w.d.tmpl.Render(template, data)
		if err != nil {
			return fmt.Errorf("render %s for %s: %w", template, t.Ref, err)
		}
		shared = &r
	}
	for _, a := range w.d.recipientsFor(t) {
		addr, err := w.agentReplyAddress(t, a)
		if err != nil {
			return err
		}
		data.Agent = helpdesk.Address{Name: a.Name, Email: a.Email}
		data.ReplyAddress = addr
		if err := w.enqueue(t, mailOpts{kind: helpdesk.KindNotification, template: template, data: data, rendered: shared,
			to: []helpdesk.Address{data.Agent}, replyTo: addr, auto: true, inReplyTo: m.MessageID}); err != nil {
			return err
		}
	}
	return nil
}

// maxNotifyText is how much of a mail's text a notification to the agents
// carries, in bytes: a screenful or ten. A notification goes to every
// agent of a team; the whole text stays on the ticket.
const maxNotifyText = 64 << 10

// notifyText returns the first maxNotifyText bytes of text, cut at the end
// of a line, followed, when anything was left out (omitted counts text the
// parser already left in the raw mail; negative: the text may have been
// cut by an unknown amount), by a line saying how much more there is and
// how to read it.
func notifyText(t *helpdesk.Ticket, text string, omitted int64) string {
	atLeast := ""
	if omitted < 0 {
		omitted, atLeast = 0, "at least "
	}
	cut := len(text)
	if cut > maxNotifyText {
		cut = maxNotifyText
		if i := strings.LastIndexByte(text[:cut], '\n'); i >= maxNotifyText/2 {
			cut = i + 1
		}
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
	}
	more := int64(len(text)-cut) + omitted
	if more == 0 {
		return text
	}
	return fmt.Sprintf("%s\n\n… %s%d more KiB; read it all with `helpdeskd show -full %s`",
		strings.TrimRight(text[:cut], " \t\n"), atLeast, (more+1023)/1024, t.Ref)
}

// maxNotifyFiles is how many attachments a notification lists by name.
const maxNotifyFiles = 20

// notifyFiles lists the customer's attachments of m for a notification,
// inline parts (logos, pictures in the HTML) left out: the first
// maxNotifyFiles by name and size, then how many more. A notification
// never carries the files themselves: they would go to every agent.
func notifyFiles(m *helpdesk.Message) []templates.File {
	var out []templates.File
	more := m.AttachmentsOmitted
	for _, a := range m.Attachments {
		if a.Inline {
			continue
		}
		if len(out) == maxNotifyFiles {
			more++
			continue
		}
		f := templates.File{Name: a.Filename, Size: formatSize(a.Size)}
		if a.Dropped != "" {
			f.Note = "not kept: " + a.Dropped
		}
		out = append(out, f)
	}
	if more > 0 {
		out = append(out, templates.File{Name: fmt.Sprintf("%d more", more)})
	}
	return out
}

// recipientsFor returns the agents told about ticket t: its assignee and
// team, or every agent when it has neither.
func (d *Desk) recipientsFor(t *helpdesk.Ticket) []*Agent {
	var out []*Agent
	seen := map[string]bool{}
	add := func(a *Agent) {
		if a != nil && !seen[a.Email] {
			seen[a.Email] = true
			out = append(out, a)
		}
	}
	add(d.agents[strings.ToLower(t.Assignee)])
	for i := range d.cfg.Agents {
		if t.Team != "" && d.cfg.Agents[i].Team == t.Team {
			add(&d.cfg.Agents[i])
		}
	}
	if len(out) == 0 {
		for i := range d.cfg.Agents {
			add(&d.cfg.Agents[i])
		}
	}
	return out
}

// resolveRecipients turns ladder keywords into addresses.
func (d *Desk) resolveRecipients(t *helpdesk.Ticket, notify []string) []helpdesk.Address {
	var out []helpdesk.Address
	seen := map[string]bool{}
	add := func(name, email string) {
		email = strings.ToLower(email)
		if email != "" && !seen[email] {
			seen[email] = true
			out = append(out, helpdesk.Address{Name: name, Email: email})
		}
	}
	for _, n := range notify {
		switch strings.ToLower(n) {
		case "assignee":
			if a := d.agents[strings.ToLower(t.Assignee)]; a != nil {
				add(a.Name, a.Email)
			} else if t.Assignee != "" {
				add("", t.Assignee)
			}
		case "team":
			listed := false
			for _, team := range d.cfg.Teams {
				if team.Name == t.Team && team.Address != "" {
					add(team.Name, team.Address)
					listed = true
				}
			}
			if !listed {
				for _, a := range d.recipientsFor(&helpdesk.Ticket{Team: t.Team}) {
					add(a.Name, a.Email)
				}
			}
		case "managers":
			for _, a := range d.cfg.Agents {
				if a.Manager && (t.Team == "" || a.Team == t.Team || !d.teamHasManager(t.Team)) {
					add(a.Name, a.Email)
				}
			}
		default:
			add("", n)
		}
	}
	return out
}

func (d *Desk) teamHasManager(team string) bool {
	for _, a := range d.cfg.Agents {
		if a.Manager && a.Team == team {
			return true
		}
	}
	return false
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

func addrs(as []helpdesk.Address) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Email)
	}
	return strings.Join(out, ", ")
}

// suspicionNotice is the line agents read first about a suspicious mail.
func suspicionNotice(doubt string) string {
	if doubt == "" {
		return ""
	}
	return "Suspicious: " + doubt + ". It ran no command; do not trust who it claims to be from."
}
