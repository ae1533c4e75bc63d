package sla

import (
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

func TestStandingsOrder(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tk := func(ref string, resp, resol time.Duration, answered bool, status helpdesk.Status) *helpdesk.Ticket {
		t := &helpdesk.Ticket{Ref: ref, Status: status}
		if resp != 0 {
			t.ResponseDue = now.Add(resp)
		}
		if resol != 0 {
			t.ResolutionDue = now.Add(resol)
		}
		if answered {
			t.FirstResponseAt = now.Add(-time.Hour)
		}
		return t
	}
	got := Standings([]*helpdesk.Ticket{
		tk("none", 0, 0, false, helpdesk.StatusOpen),
		tk("later", 3*time.Hour, 0, false, helpdesk.StatusOpen),
		tk("breached", -time.Hour, 0, false, helpdesk.StatusPending),
		tk("answered", -2*time.Hour, 5*time.Hour, true, helpdesk.StatusOpen),
		tk("resolved", -5*time.Hour, 0, false, helpdesk.StatusResolved),
		tk("soon", time.Hour, 48*time.Hour, false, helpdesk.StatusOpen),
	}, now)
	var refs []string
	for _, s := range got {
		refs = append(refs, s.Ticket.Ref)
	}
	want := []string{"breached", "soon", "later", "answered", "none"}
	if len(refs) != len(want) {
		t.Fatalf("order = %v, want %v", refs, want)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Fatalf("order = %v, want %v", refs, want)
		}
	}
	if got[3].Clock != Resolution || got[0].Left != -time.Hour {
		t.Fatalf("standing details wrong: %+v %+v", got[3], got[0])
	}
}

func TestComplianceReport(t *testing.T) {
	cal, err := NewCalendar(CalendarSpec{Name: "office", TimeZone: "UTC", Hours: map[time.Weekday][]TimeRange{
		time.Monday: {{9 * 60, 17 * 60}}, time.Tuesday: {{9 * 60, 17 * 60}}, time.Wednesday: {{9 * 60, 17 * 60}},
		time.Thursday: {{9 * 60, 17 * 60}}, time.Friday: {{9 * 60, 17 * 60}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Name: "std", Calendar: cal, Rules: []Rule{{Priority: helpdesk.High}}}
	mon := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC) // a Monday
	now := mon.Add(72 * time.Hour)
	mk := func(created time.Time, respDue, firstResp time.Time) *helpdesk.Ticket {
		return &helpdesk.Ticket{Policy: "std", Priority: helpdesk.High, Status: helpdesk.StatusOpen,
			CreatedAt: created, ResponseDue: respDue, FirstResponseAt: firstResp}
	}
	tickets := []*helpdesk.Ticket{
		mk(mon, mon.Add(2*time.Hour), mon.Add(time.Hour)),                                     // met, 1h
		mk(mon, mon.Add(2*time.Hour), mon.Add(3*time.Hour)),                                   // breached, 3h
		mk(mon.Add(7*time.Hour), mon.Add(26*time.Hour), mon.Add(25*time.Hour)),                // met: 16:00 Mon -> 10:00 Tue = 2 business hours
		mk(now.Add(-time.Hour), now.Add(time.Hour), time.Time{}),                              // open
		mk(mon, mon.Add(time.Hour), time.Time{}),                                              // breached, never answered
		{Policy: "std", Priority: helpdesk.High, Status: helpdesk.StatusOpen, CreatedAt: mon}, // no target
	}
	rows := ComplianceReport(tickets, func(string) *Policy { return p }, now)
	if len(rows) != 1 {
		t.Fatalf("rows = %+v", rows)
	}
	r := rows[0]
	if r.Tickets != 6 || r.ResponseMet != 2 || r.ResponseBreached != 2 || r.ResponseOpen != 1 {
		t.Fatalf("counts = %+v", r)
	}
	if got, want := r.ResponseP50, 2*time.Hour; got != want {
		t.Errorf("p50 = %v, want %v (business time)", got, want)
	}
	if got, want := r.ResponseP90, 3*time.Hour; got != want {
		t.Errorf("p90 = %v, want %v", got, want)
	}
}

// TallyOpen counts every state and lists at most max of the breached and
// at-risk standings, in the order given.
func TestTallyOpen(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	due := now.Add(time.Hour)
	tk := func(ref string) *helpdesk.Ticket { return &helpdesk.Ticket{Ref: ref} }
	risky := &helpdesk.Ticket{Ref: "risk", RiskAt: now.Add(-time.Minute)}
	standings := []Standing{
		{Ticket: tk("b1"), Due: now.Add(-2 * time.Hour), Left: -2 * time.Hour},
		{Ticket: tk("b2"), Due: now.Add(-time.Hour), Left: -time.Hour},
		{Ticket: risky, Due: due, Left: time.Hour},
		{Ticket: tk("ok"), Due: due, Left: time.Hour},
		{Ticket: tk("none")},
	}
	for _, c := range []struct {
		max        int
		wantUrgent []string
		wantMore   int
	}{
		{10, []string{"b1", "b2", "risk"}, 0},
		{2, []string{"b1", "b2"}, 1},
		{0, nil, 3},
	} {
		got := TallyOpen(standings, now, c.max)
		var refs []string
		for _, st := range got.Urgent {
			refs = append(refs, st.Ticket.Ref)
		}
		if got.Open != 5 || got.Breached != 2 || got.AtRisk != 1 || got.Paused != 0 || got.More != c.wantMore || !slices.Equal(refs, c.wantUrgent) {
			t.Errorf("max %d: %+v (urgent %v), want 5 open, 2 breached, 1 at risk, urgent %v, %d more", c.max, got, refs, c.wantUrgent, c.wantMore)
		}
	}
}
