package desk

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/helpdeskd/helpdesk"
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

// commandHelp says what each command accepts.
var commandHelp = map[string]string{
	"status":   "#status open|pending|resolved|closed",
	"priority": "#priority <level>",
	"assign":   "#assign <agent email or name> or #assign me",
	"team":     "#team <team>",
	"note":     "#note (the whole mail becomes an internal note)",
	"escalate": "#escalate [reason]",
	"cc":       "#cc <address>",
}

// allCommands lists the accepted commands in the order help shows them.
var allCommands = []string{"status", "priority", "assign", "team", "note", "escalate", "cc"}

// CommandList is the one-line summary of every accepted command.
func CommandList() string {
	var parts []string
	for _, c := range allCommands {
		parts = append(parts, commandHelp[c])
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
	help, known := commandHelp[c.Name]
	if !known {
		return &CommandError{Line: c.Line, Problem: fmt.Sprintf("unknown command #%s", c.Name), Accepted: CommandList()}
	}
	bad := func(problem string) *CommandError {
		return &CommandError{Line: c.Line, Problem: problem, Accepted: help}
	}
	switch c.Name {
	case "status":
		if _, err := helpdesk.ParseStatus(c.Arg); err != nil {
			return bad(fmt.Sprintf("%q is not a status", c.Arg))
		}
	case "priority":
		if !levels.Valid(helpdesk.Priority(strings.ToLower(c.Arg))) {
			var names []string
			for _, p := range levels.All() {
				names = append(names, string(p))
			}
			return &CommandError{Line: c.Line, Problem: fmt.Sprintf("%q is not a priority level", c.Arg),
				Accepted: "#priority " + strings.Join(names, "|")}
		}
	case "assign", "team":
		if c.Arg == "" {
			return bad("a value is missing")
		}
	case "cc":
		if _, err := mail.ParseAddress(c.Arg); err != nil {
			return bad(fmt.Sprintf("%q is not a mail address", c.Arg))
		}
	}
	return nil
}
