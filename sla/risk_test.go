package sla

import (
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

func TestRiskAt(t *testing.T) {
	fx := newFixtures(t)
	const lon = "Europe/London"
	l := func(s string) time.Time { return local(t, lon, s) }
	ps := fx.policies["prospectsoft"]
	// A ladder that warns only on resolution, for low, at 50% and 80%.
	noRespWarning := *ps
	noRespWarning.Ladder = []Step{
		{Clock: Resolution, At: 0.8, Notify: []string{"team"}},
		{Clock: Resolution, At: 0.5, Notify: []string{"team"}, Priorities: []helpdesk.Priority{helpdesk.Low}},
		{Clock: Response, At: 1, Notify: []string{"managers"}},
	}
	always := fx.policies["claritum"]
	ticket := func(prio helpdesk.Priority, mod func(*helpdesk.Ticket)) *helpdesk.Ticket {
		tk := &helpdesk.Ticket{Priority: prio, Status: helpdesk.StatusOpen, CreatedAt: l("2026-11-23 09:00")}
		if mod != nil {
			mod(tk)
		}
		return tk
	}
	tests := []struct {
		name   string
		policy *Policy
		ticket *helpdesk.Ticket
		want   string // on the London clock; "-" for zero
	}{
		// ProspectSoft critical, Monday 09:00: response due 11:00 (2
		// business hours); the ladder warns at 75%: 10:30.
		{"first warning step", ps, ticket(helpdesk.Critical, nil), "Mon 10:30"},
		// Answered: only resolution would run, and critical has none.
		{"answered, no resolution target", ps, ticket(helpdesk.Critical, func(tk *helpdesk.Ticket) { tk.FirstResponseAt = l("2026-11-23 09:10") }), "-"},
		{"resolved", ps, ticket(helpdesk.Critical, func(tk *helpdesk.Ticket) { tk.Status = helpdesk.StatusResolved; tk.ResolvedAt = l("2026-11-23 09:30") }), "-"},
		// Waiting on the customer under a policy that pauses: no deadline runs.
		{"paused", ps, ticket(helpdesk.Critical, func(tk *helpdesk.Ticket) {
			tk.Status = helpdesk.StatusPending
			tk.Pauses = []helpdesk.Pause{{From: l("2026-11-23 09:20")}}
		}), "-"},
		// A pause that ended pushes the warning on by its length (20 min).
		{"after a pause", ps, ticket(helpdesk.Critical, func(tk *helpdesk.Ticket) {
			tk.Pauses = []helpdesk.Pause{{From: l("2026-11-23 09:20"), To: l("2026-11-23 09:40")}}
		}), "Mon 10:50"},
		// No warning step for the response clock: an hour before its
		// deadline (critical response 2 business hours: due 11:00, at risk 10:00).
		{"no warning step: an hour before", &noRespWarning, ticket(helpdesk.Critical, nil), "Mon 10:00"},
		// A step for other priorities does not count.
		{"step for another priority ignored", &noRespWarning, ticket(helpdesk.High, nil), riskOf(t, &noRespWarning, ticket(helpdesk.High, nil), 0.8)},
		{"lowest applicable step wins", &noRespWarning, ticket(helpdesk.Low, nil), riskOf(t, &noRespWarning, ticket(helpdesk.Low, nil), 0.5)},
		// Claritum critical on 24x7: 1 h response, 75% step: 09:45 wall time.
		{"24x7", always, ticket(helpdesk.Critical, nil), "Mon 09:45"},
		{"no rule for the priority", ps, ticket("urgent", nil), "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.RiskAt(tc.ticket)
			s := "-"
			if !got.IsZero() {
				s = got.In(l("2026-11-23 09:00").Location()).Format("Mon 15:04")
			}
			if s != tc.want {
				t.Errorf("RiskAt = %s, want %s", s, tc.want)
			}
		})
	}
}

// riskOf is the earlier of the response clock's deadline less RiskWindow
// and the resolution clock's step at fraction, computed by the primitives
// RiskAt is built on, on the London clock.
func riskOf(t *testing.T, p *Policy, tk *helpdesk.Ticket, fraction float64) string {
	t.Helper()
	r, ok := p.Rule(tk.Priority, tk.Plan)
	if !ok {
		t.Fatalf("no rule for %s", tk.Priority)
	}
	cal := p.CalendarFor(r)
	at := StepAt(tk.CreatedAt, r.Resolution, cal, nil, fraction)
	if d := DeadlineWithPauses(tk.CreatedAt, r.Response, cal, nil); !d.IsZero() && (at.IsZero() || d.Add(-RiskWindow).Before(at)) {
		at = d.Add(-RiskWindow)
	}
	loc, _ := time.LoadLocation("Europe/London")
	return at.In(loc).Format("Mon 15:04")
}
