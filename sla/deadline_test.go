package sla

import (
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

func TestDeadline(t *testing.T) {
	fx := newFixtures(t)
	ps := fx.cals["uk-prospectsoft"]
	const lon = "Europe/London"
	start := local(t, lon, "2026-11-20 16:20") // Friday
	tests := []struct {
		target string
		cal    *Calendar
		want   string
	}{
		{"none", ps, "-"},
		{"2h", ps, "2026-11-20 18:20 GMT"},                // wall time ignores the calendar
		{"1 week", ps, "2026-11-27 16:20 GMT"},            // wall week
		{"2 business hours", nil, "2026-11-20 18:20 GMT"}, // no calendar: wall time
		{"90 business minutes", ps, "2026-11-23 09:50 GMT"},
		{"2 business hours", ps, "2026-11-23 10:20 GMT"},
		{"1 business day", ps, "2026-11-23 16:20 GMT"},
		{"1 business week", ps, "2026-11-27 16:20 GMT"},
		{"2 business weeks", ps, "2026-12-04 16:20 GMT"},
	}
	for _, tt := range tests {
		got := Deadline(start, mustTarget(t, tt.target), tt.cal)
		if g, w := fmtIn(got, lon), tt.want; g != w {
			t.Errorf("Deadline(%q) = %s, want %s", tt.target, g, w)
		}
	}
}

func TestDeadlineWithPauses(t *testing.T) {
	fx := newFixtures(t)
	const lon = "Europe/London"
	at := func(s string) time.Time { return local(t, lon, s) }
	ps := fx.cals["uk-prospectsoft"]
	created := at("2026-11-23 09:00") // Monday
	tests := []struct {
		name   string
		target string
		cal    *Calendar
		pauses []helpdesk.Pause
		want   string
	}{
		{"no pauses", "2 business hours", ps, nil, "2026-11-23 11:00 GMT"},
		{"one hour pending", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 09:30"), To: at("2026-11-23 10:30")}}, "2026-11-23 12:00 GMT"},
		{"overlapping, unsorted pauses merge", "2 business hours", ps, []helpdesk.Pause{
			{From: at("2026-11-23 10:00"), To: at("2026-11-23 10:30")},
			{From: at("2026-11-23 09:30"), To: at("2026-11-23 10:15")},
		}, "2026-11-23 12:00 GMT"},
		{"pause begun before creation counts from creation", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 08:00"), To: at("2026-11-23 09:30")}}, "2026-11-23 11:30 GMT"},
		{"pause after the deadline changes nothing", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 11:00"), To: at("2026-11-23 15:00")}}, "2026-11-23 11:00 GMT"},
		{"pause over the night costs no business time", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 17:30"), To: at("2026-11-24 08:00")}}, "2026-11-23 11:00 GMT"},
		{"pause over the deadline", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 10:00"), To: at("2026-11-24 09:00")}}, "2026-11-24 10:00 GMT"},
		{"open pause before the deadline: no deadline", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 10:00")}}, "-"},
		{"open pause after the deadline keeps it", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 11:30")}}, "2026-11-23 11:00 GMT"},
		{"open pause at creation", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 08:00")}}, "-"},
		{"empty pause ignored", "2 business hours", ps, []helpdesk.Pause{{From: at("2026-11-23 10:00"), To: at("2026-11-23 10:00")}}, "2026-11-23 11:00 GMT"},
		// Business days: a pause without business time keeps the clock
		// time; one with business time moves it by that much.
		{"days: night pause keeps the day rule", "1 business day", ps, []helpdesk.Pause{{From: at("2026-11-23 18:00"), To: at("2026-11-24 08:00")}}, "2026-11-24 09:00 GMT"},
		{"days: one hour pending", "1 business day", ps, []helpdesk.Pause{{From: at("2026-11-23 16:00"), To: at("2026-11-23 17:00")}}, "2026-11-24 10:00 GMT"},
		{"days: open pause", "1 business day", ps, []helpdesk.Pause{{From: at("2026-11-23 16:00")}}, "-"},
		{"wall: pause moves by wall time", "2h", ps, []helpdesk.Pause{{From: at("2026-11-23 09:30"), To: at("2026-11-23 20:00")}}, "2026-11-23 21:30 GMT"},
		{"none stays none", "none", ps, []helpdesk.Pause{{From: at("2026-11-23 09:30")}}, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DeadlineWithPauses(created, mustTarget(t, tt.target), tt.cal, tt.pauses)
			if g, w := fmtIn(got, lon), tt.want; g != w {
				t.Errorf("DeadlineWithPauses = %s, want %s", g, w)
			}
			if g, w := StepAt(created, mustTarget(t, tt.target), tt.cal, tt.pauses, 1), got; !g.Equal(w) {
				t.Errorf("StepAt(1) = %v, want the deadline %v", g, w)
			}
		})
	}
}

func TestStepAt(t *testing.T) {
	fx := newFixtures(t)
	const lon, syd = "Europe/London", "Australia/Sydney"
	ps := fx.cals["uk-prospectsoft"]
	created := local(t, lon, "2026-11-23 09:00")
	pause := []helpdesk.Pause{{From: local(t, lon, "2026-11-23 09:30"), To: local(t, lon, "2026-11-23 10:30")}}
	pxCreated := local(t, syd, "2026-11-23 09:00")
	tests := []struct {
		name     string
		created  time.Time
		zone     string
		target   string
		cal      *Calendar
		pauses   []helpdesk.Pause
		fraction float64
		want     string
	}{
		{"75% of 2 business hours", created, lon, "2 business hours", ps, nil, 0.75, "2026-11-23 10:30 GMT"},
		{"75% with an hour pending", created, lon, "2 business hours", ps, pause, 0.75, "2026-11-23 11:30 GMT"},
		{"150% with an hour pending", created, lon, "2 business hours", ps, pause, 1.5, "2026-11-23 13:00 GMT"},
		{"10% falls before the pause", created, lon, "2 business hours", ps, pause, 0.1, "2026-11-23 09:12 GMT"},
		{"50% of 2h wall", created, lon, "2h", ps, nil, 0.5, "2026-11-23 10:00 GMT"},
		{"50% of open-paused clock", created, lon, "2 business hours", ps, []helpdesk.Pause{{From: local(t, lon, "2026-11-23 09:30")}}, 0.5, "-"},
		{"25% reached before an open pause", created, lon, "2 business hours", ps, []helpdesk.Pause{{From: local(t, lon, "2026-11-23 09:30")}}, 0.25, "2026-11-23 09:30 GMT"},
		// Prosper EX resolution, 3 business days = 24 business hours here.
		{"75% of 3 business days", pxCreated, syd, "3 business days", fx.cals["au-prosperex"], nil, 0.75, "2026-11-25 11:00 AEDT"},
		{"100% of 3 business days", pxCreated, syd, "3 business days", fx.cals["au-prosperex"], nil, 1, "2026-11-26 09:00 AEDT"},
		{"150% of 3 business days", pxCreated, syd, "3 business days", fx.cals["au-prosperex"], nil, 1.5, "2026-11-27 13:00 AEDT"},
		{"no target", created, lon, "none", ps, nil, 0.75, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StepAt(tt.created, mustTarget(t, tt.target), tt.cal, tt.pauses, tt.fraction)
			if g, w := fmtIn(got, tt.zone), tt.want; g != w {
				t.Errorf("StepAt(%v) = %s, want %s", tt.fraction, g, w)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	resolved := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	now := resolved.Add(4 * time.Hour)
	tk := &helpdesk.Ticket{Status: helpdesk.StatusResolved, ResolvedAt: resolved, Pauses: []helpdesk.Pause{{From: resolved.Add(-2 * time.Hour), To: resolved.Add(-time.Hour)}}}
	tk.Reopen(now)
	if got, want := len(tk.Pauses), 2; got != want {
		t.Fatalf("pauses = %d, want %d", got, want)
	}
	if got, want := tk.Pauses[1], (helpdesk.Pause{From: resolved, To: now, Reason: helpdesk.PauseResolved}); got != want {
		t.Errorf("pause = %+v, want %+v", got, want)
	}
	if !tk.ResolvedAt.IsZero() {
		t.Errorf("ResolvedAt = %v, want zero", tk.ResolvedAt)
	}
	tk.Reopen(now.Add(time.Hour)) // not resolved: nothing to do
	if got, want := len(tk.Pauses), 2; got != want {
		t.Errorf("pauses after second Reopen = %d, want %d", got, want)
	}
}
