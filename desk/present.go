package desk

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
)

// FormatTime renders an instant for people in a zone, the way every mail
// of the desk shows a time: "10:30 Tue 24 Nov, UK time"; the zero time is
// "". The CLI's reports (helpdeskd sla) use it too, so that a manager reads
// the times the escalation mails give.
func FormatTime(t time.Time, loc *time.Location) string { return formatTime(t, loc) }

// Location returns the zone ticket t's times are shown in under policy p:
// the calendar of the rule for its priority and plan unless that one runs
// around the clock, else the policy's calendar, else UTC (also for a nil
// policy).
func Location(p *sla.Policy, t *helpdesk.Ticket) *time.Location {
	if p == nil {
		return time.UTC
	}
	if r, ok := p.Rule(t.Priority, t.Plan); ok {
		if c := p.CalendarFor(r); c != nil && !c.Always() {
			return c.Location()
		}
	}
	if p.Calendar != nil {
		return p.Calendar.Location()
	}
	return time.UTC
}

// HumanDuration renders a duration for people in at most two units,
// cut (never rounded up): "0 s", "36 s", "5 min 12 s", "3 h 5 min",
// "2 d 3 h". A negative duration is rendered as its size.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	const day = 24 * time.Hour
	units := []struct {
		size time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}}
	for i, u := range units {
		if d < u.size && i < len(units)-1 {
			continue
		}
		n := d / u.size
		out := fmt.Sprintf("%d %s", n, u.name)
		if i+1 < len(units) {
			next := units[i+1]
			if m := (d - n*u.size) / next.size; m > 0 {
				out += fmt.Sprintf(" %d %s", m, next.name)
			}
		}
		return out
	}
	return "0 s" // not reached: the last unit always answers
}

// TimeLeft renders the time to a deadline: "in 2 d 3 h" while it is
// ahead, "36 s overdue" once it has passed, "due now" at it.
func TimeLeft(d time.Duration) string {
	switch {
	case d > 0:
		return "in " + HumanDuration(d)
	case d < 0:
		return HumanDuration(d) + " overdue"
	}
	return "due now"
}

// MetRate is the share of decided clocks that met their target, with its
// numerator and denominator: "80% (4 of 5)". It never rounds up to 100%
// or down to 0% a share that is not all or none; "none yet" when no clock
// is decided.
func MetRate(met, breached int) string {
	n := met + breached
	if n == 0 {
		return "none yet"
	}
	pct := met * 100 / n // floor: 199 of 200 is 99%, not 100%
	if pct == 0 && met > 0 {
		pct = 1
	}
	return fmt.Sprintf("%d%% (%d of %d)", pct, met, n)
}

// Owner names who holds a ticket in a report's column: its assignee, else
// "team NAME", else "".
func Owner(t *helpdesk.Ticket) string {
	switch {
	case t.Assignee != "":
		return t.Assignee
	case t.Team != "":
		return "team " + t.Team
	}
	return ""
}

// Printable makes text written by outsiders (subjects, addresses, names)
// safe to show in a report's column or the board's table: tabs and line
// breaks become a space, other control and format characters (terminal
// escapes, bidirectional overrides that would reorder what follows) and
// invalid UTF-8 become "?".
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			return '?'
		}
		return r
	}, s)
}
