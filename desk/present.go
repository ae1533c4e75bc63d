package desk

import (
	"time"

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
