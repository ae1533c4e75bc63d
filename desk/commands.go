package desk

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/store"
)

// Command is one #command line at the top of an agent's mail.
type Command struct {
	Name string // status, priority, assign, team, note, escalate, cc
	Arg  string // the rest of the line, trimmed
	Line string // the line as written
}

// CommandError says why a command line was refused.
type CommandError struct {
	Line     string // the offending line as written
	Problem  string // what is wrong with it
	Accepted string // what would have been accepted
}

// Error formats the refused line and the problem.
func (e *CommandError) Error() string { return fmt.Sprintf("%q: %s", e.Line, e.Problem) }

// commandSpec is one #command, the only place it is named: its help line,
// the check of its argument that needs no desk (ParseCommands), the check
// that needs the desk's knowledge before anything is applied (plan), and
// what it does (apply, recorded as an event). Every command of a mail is
// planned before any is applied: all or nothing.
type commandSpec struct {
	name  string
	help  string
	check func(c Command, levels helpdesk.Levels) (problem, accepted string) // nil: any argument; accepted "" means help
	plan  func(w *work, t *helpdesk.Ticket, agent *Agent, c Command, p *agentPlan) *CommandError
	apply func(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error
}

// commands lists the accepted commands in the order help shows them.
var commands = []commandSpec{
	{name: "status", help: "#status open|pending|resolved|closed", check: checkStatus, plan: planStatus, apply: applyStatus},
	{name: "priority", help: "#priority <level>", check: checkPriority, apply: applyPriority},
	{name: "assign", help: "#assign <agent email or name> or #assign me", check: needArg, plan: planAssign, apply: applyAssign},
	{name: "team", help: "#team <team>", check: needArg, plan: planTeam, apply: applyTeam},
	{name: "note", help: "#note (the whole mail becomes an internal note)", plan: planNote},
	{name: "escalate", help: "#escalate [reason]", apply: applyEscalate},
	{name: "cc", help: "#cc <address>", check: checkCc, plan: planCc, apply: applyCc},
}

// command returns the spec of the named command, or nil.
func command(name string) *commandSpec {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// CommandList is the one-line summary of every accepted command.
func CommandList() string {
	var parts []string
	for _, c := range commands {
		parts = append(parts, c.help)
	}
	return strings.Join(parts, "; ")
}

// ParseCommands reads the #command lines at the top of an agent's new text:
// every non-blank line from the start that begins with '#' followed by a
// letter is a command; the first other line ends them, and it and what
// follows is the text to relay. Values are checked against levels and the
// known statuses; names of agents and teams are checked by the desk. The
// first bad line is returned as a *CommandError and no command is applied.
func ParseCommands(text string, levels helpdesk.Levels) (cmds []Command, rest string, cerr *CommandError) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		if len(line) < 2 || line[0] != '#' || !isLetter(line[1]) {
			break
		}
		name, arg, _ := strings.Cut(line[1:], " ")
		name, arg = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(arg)
		c := Command{Name: name, Arg: arg, Line: line}
		if err := checkCommand(c, levels); err != nil {
			return nil, "", err
		}
		cmds = append(cmds, c)
	}
	rest = strings.TrimSpace(strings.Join(lines[i:], "\n"))
	return cmds, rest, nil
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

func checkCommand(c Command, levels helpdesk.Levels) *CommandError {
	spec := command(c.Name)
	if spec == nil {
		return &CommandError{Line: c.Line, Problem: fmt.Sprintf("unknown command #%s", c.Name), Accepted: CommandList()}
	}
	if spec.check == nil {
		return nil
	}
	problem, accepted := spec.check(c, levels)
	if problem == "" {
		return nil
	}
	if accepted == "" {
		accepted = spec.help
	}
	return &CommandError{Line: c.Line, Problem: problem, Accepted: accepted}
}

func checkStatus(c Command, _ helpdesk.Levels) (string, string) {
	if _, err := helpdesk.ParseStatus(c.Arg); err != nil {
		return fmt.Sprintf("%q is not a status", c.Arg), ""
	}
	return "", ""
}

func checkPriority(c Command, levels helpdesk.Levels) (string, string) {
	if levels.Valid(helpdesk.Priority(strings.ToLower(c.Arg))) {
		return "", ""
	}
	var names []string
	for _, p := range levels.All() {
		names = append(names, string(p))
	}
	return fmt.Sprintf("%q is not a priority level", c.Arg), "#priority " + strings.Join(names, "|")
}

func needArg(c Command, _ helpdesk.Levels) (string, string) {
	if c.Arg == "" {
		return "a value is missing", ""
	}
	return "", ""
}

func checkCc(c Command, _ helpdesk.Levels) (string, string) {
	if _, err := mail.ParseAddress(c.Arg); err != nil {
		return fmt.Sprintf("%q is not a mail address", c.Arg), ""
	}
	return "", ""
}

// agentPlan is the checked effect of an agent's commands.
type agentPlan struct {
	cmds       []Command
	note       bool
	noteText   string
	resolved   bool // the mail resolves the ticket: the customer gets the resolution mail
	setsStatus bool // the mail has a #status command
}

// planCommands checks the values that need the desk's knowledge (agents,
// teams, the ticket's state) before anything is applied.
func (w *work) planCommands(t *helpdesk.Ticket, agent *Agent, cmds []Command) (*agentPlan, *CommandError) {
	p := &agentPlan{cmds: cmds}
	for _, c := range cmds {
		if spec := command(c.Name); spec != nil && spec.plan != nil {
			if err := spec.plan(w, t, agent, c, p); err != nil {
				return nil, err
			}
		}
	}
	if p.note {
		p.resolved = false
	}
	return p, nil
}

// applyCommands carries out the planned commands, each recorded as an event.
func (w *work) applyCommands(t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, plan *agentPlan) error {
	for _, c := range plan.cmds {
		if spec := command(c.Name); spec != nil && spec.apply != nil {
			if err := spec.apply(w, t, m, agent, c); err != nil {
				return err
			}
		}
	}
	return nil
}

func planStatus(_ *work, t *helpdesk.Ticket, _ *Agent, c Command, p *agentPlan) *CommandError {
	p.setsStatus = true
	st, _ := helpdesk.ParseStatus(c.Arg)
	if t.Status == helpdesk.StatusClosed && st != helpdesk.StatusClosed {
		return &CommandError{Line: c.Line, Problem: "the ticket is closed, and closed is final",
			Accepted: "a new mail from the customer opens a new ticket"}
	}
	p.resolved = st == helpdesk.StatusResolved && t.Status != helpdesk.StatusResolved
	return nil
}

func applyStatus(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error {
	st, _ := helpdesk.ParseStatus(c.Arg)
	old := t.Status
	if st == old {
		return nil
	}
	t.SetStatus(st, w.now)
	return w.event(t, helpdesk.EventStatus, agent.Email, fmt.Sprintf("%s -> %s", old, st), m.MessageID)
}

func applyPriority(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error {
	p := helpdesk.Priority(strings.ToLower(c.Arg))
	if p == t.Priority {
		return nil
	}
	old := t.Priority
	t.Priority, t.PrioritySource = p, agent.Email
	t.Missing = t.Fields.Missing(w.d.policy(t.Policy).Required[t.Priority])
	return w.event(t, helpdesk.EventPriority, agent.Email, fmt.Sprintf("%s -> %s (SLA deadlines recomputed)", old, p), m.MessageID)
}

func planAssign(w *work, _ *helpdesk.Ticket, agent *Agent, c Command, _ *agentPlan) *CommandError {
	if w.d.findAgent(c.Arg, agent) == nil {
		return &CommandError{Line: c.Line, Problem: fmt.Sprintf("no agent %q", c.Arg),
			Accepted: "#assign me, or one of: " + w.d.agentList()}
	}
	return nil
}

func applyAssign(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error {
	a := w.d.findAgent(c.Arg, agent)
	t.Assignee = a.Email
	return w.event(t, helpdesk.EventAssign, agent.Email, "assigned to "+a.Email, m.MessageID)
}

func planTeam(w *work, _ *helpdesk.Ticket, _ *Agent, c Command, _ *agentPlan) *CommandError {
	if !w.d.teamExists(c.Arg) {
		return &CommandError{Line: c.Line, Problem: fmt.Sprintf("no team %q", c.Arg),
			Accepted: "#team " + strings.Join(w.d.teamNames(), "|")}
	}
	return nil
}

func applyTeam(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error {
	for _, n := range w.d.teamNames() {
		if strings.EqualFold(n, c.Arg) {
			t.Team = n
		}
	}
	return w.event(t, helpdesk.EventTeam, agent.Email, "team "+t.Team, m.MessageID)
}

func planNote(_ *work, _ *helpdesk.Ticket, _ *Agent, c Command, p *agentPlan) *CommandError {
	p.note, p.noteText = true, c.Arg
	return nil
}

func applyEscalate(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error {
	reason := c.Arg
	if reason == "" {
		reason = "escalated by " + agent.Email
	}
	return w.escalateNow(t, m, agent.Email, reason)
}

func planCc(w *work, t *helpdesk.Ticket, _ *Agent, c Command, _ *agentPlan) *CommandError {
	n, err := w.ccCount(t)
	if err != nil {
		return &CommandError{Line: c.Line, Problem: err.Error()}
	}
	if n >= w.d.cfg.MaxCc {
		return &CommandError{Line: c.Line, Problem: fmt.Sprintf("the ticket has %d people in Cc, the most it takes", n),
			Accepted: "#cc once a participant fewer is on the ticket (the limit is [desk] max_cc)"}
	}
	return nil
}

func applyCc(w *work, t *helpdesk.Ticket, m *helpdesk.Message, agent *Agent, c Command) error {
	addr, _ := parseAddress(c.Arg)
	if _, err := w.tx.AddParticipant(t.ID, addr, store.RoleCC); err != nil {
		return err
	}
	return w.event(t, helpdesk.EventCc, agent.Email, "added "+addr.Email, m.MessageID)
}

// parseAddress reads a #cc address.
func parseAddress(s string) (helpdesk.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return helpdesk.Address{}, err
	}
	return helpdesk.Address{Name: a.Name, Email: strings.ToLower(a.Address)}, nil
}
