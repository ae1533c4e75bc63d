package desk

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/templates"
)

// zoneLabel names a calendar's zone the way a customer reads it.
func zoneLabel(loc *time.Location) string {
	switch name := loc.String(); name {
	case "Europe/London":
		return "UK time"
	case "UTC", "Local", "":
		return "UTC"
	default:
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		return strings.ReplaceAll(name, "_", " ") + " time"
	}
}

// formatTime renders an instant in a calendar's zone: "10:30 Tue 24 Nov, UK
// time". The zero time is "".
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("15:04 Mon 2 Jan") + ", " + zoneLabel(loc)
}

// formatDuration renders a duration for people: "2h 15m", "3d 4h", "45m".
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dm", m)
	}
}

// location is the zone a ticket's times are shown in: its policy's calendar.
func (d *Desk) location(t *helpdesk.Ticket) *time.Location {
	return Location(d.policy(t.Policy), t)
}

// baseData fills the template fields every mail about t shares.
func (w *work) baseData(t *helpdesk.Ticket) templates.Data {
	loc := w.d.location(t)
	data := templates.Data{
		Desk:          w.d.cfg.Name,
		Ticket:        *t,
		Customer:      helpdesk.Address{Name: echoName(t.CustomerName), Email: t.Customer},
		ReplyAddress:  w.d.customerReplyAddress(t),
		Priority:      string(t.Priority),
		Claimed:       string(t.Claimed),
		Reasons:       w.d.reasons(t),
		ResponseDue:   formatTime(t.ResponseDue, loc),
		ResolutionDue: formatTime(t.ResolutionDue, loc),
		ReopenWindow:  formatWindow(w.d.cfg.ReopenWindow),
		Age:           formatDuration(w.now.Sub(t.CreatedAt)),
	}
	for _, name := range helpdesk.FieldNames {
		if v := t.Fields.Get(name); v != "" {
			label, why := templates.FieldLabel(name)
			data.Fields = append(data.Fields, templates.Field{Name: name, Label: label, Value: v, Why: why})
		}
	}
	for _, name := range t.Missing {
		label, why := templates.FieldLabel(name)
		data.Missing = append(data.Missing, templates.Field{Name: name, Label: label, Why: why})
	}
	return data
}

// reasons returns why ticket t has its priority, for people: triage's
// reasons as humanReason renders them, or, once an agent set the priority
// with #priority, the agent's decision, which is what the priority now
// rests on (triage's reasons stay on the ticket for helpdeskd show and
// the triage report).
func (d *Desk) reasons(t *helpdesk.Ticket) []string {
	switch t.PrioritySource {
	case "", "triage", "claim":
		out := make([]string, len(t.Reasons))
		for i, r := range t.Reasons {
			out[i] = humanReason(r)
		}
		return out
	}
	who := t.PrioritySource
	if a := d.agents[strings.ToLower(who)]; a != nil && a.Name != "" {
		who = a.Name + " <" + a.Email + ">"
	}
	return []string{fmt.Sprintf("%s: set by %s with #priority", t.Priority, who)}
}

// humanReason renders a triage reason for people. Triage quotes what it
// matched as Go string literals (strconv.Quote), which escape a quote
// inside the quoted text: critical: "portal shows \"Error 502". Each
// literal is shown between typographic quotes with its text as the
// customer wrote it: critical: “portal shows "Error 502”. What Go escapes
// because it cannot be shown (control and format characters, bytes that
// are not UTF-8) stays escaped, so a reason cannot smuggle them into a
// mail.
func humanReason(s string) string {
	if !strings.Contains(s, `"`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '"' {
			if lit, err := strconv.QuotedPrefix(s[i:]); err == nil {
				if v, err := strconv.Unquote(lit); err == nil {
					b.WriteString("“")
					for j := 0; j < len(v); {
						r, n := utf8.DecodeRuneInString(v[j:])
						switch {
						case r == utf8.RuneError && n == 1:
							fmt.Fprintf(&b, `\x%02x`, v[j])
						case strconv.IsPrint(r):
							b.WriteString(v[j : j+n])
						default:
							q := strconv.QuoteRune(r)
							b.WriteString(q[1 : len(q)-1])
						}
						j += n
					}
					b.WriteString("”")
					i += len(lit)
					continue
				}
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func formatWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return formatDuration(d)
}
