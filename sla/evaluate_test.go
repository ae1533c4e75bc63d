package sla

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// describe renders Evaluate's result on zone's wall clock for comparison:
// "due=[response#0@10:30 ...] breaches=[response] next=11:00".
func describe(steps []DueStep, breaches []ClockKind, next time.Time, zone string) string {
	loc, _ := time.LoadLocation(zone)
	hm := func(v time.Time) string {
		if v.IsZero() {
			return "-"
		}
		return v.In(loc).Format("Mon 15:04")
	}
	var ds []string
	for _, d := range steps {
		ds = append(ds, fmt.Sprintf("%s#%d@%s", d.Key.Clock, d.Key.Index, hm(d.At)))
	}
	var bs []string
	for _, b := range breaches {
		bs = append(bs, string(b))
	}
	return fmt.Sprintf("due=[%s] breaches=[%s] next=%s", strings.Join(ds, " "), strings.Join(bs, " "), hm(next))
}

func TestEvaluateLadder(t *testing.T) {
	fx := newFixtures(t)
	const lon, syd = "Europe/London", "Australia/Sydney"
	l := func(s string) time.Time { return local(t, lon, s) }
	s := func(s string) time.Time { return local(t, syd, s) }
	filtered := *fx.policies["prospectsoft"]
	filtered.Ladder = append([]Step{{Clock: Response, At: 0.5, Notify: []string{"team"}, Priorities: []helpdesk.Priority{helpdesk.Critical}}}, filtered.Ladder...)

	psTicket := func(mod func(*helpdesk.Ticket)) *helpdesk.Ticket {
		tk := &helpdesk.Ticket{Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: l("2026-11-23 09:00")}
		if mod != nil {
			mod(tk)
		}
		return tk
	}
	pxTicket := &helpdesk.Ticket{Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: s("2026-11-23 09:00")}
	r0, r1 := StepKey{Response, 0}, StepKey{Response, 1}

	tests := []struct {
		name   string
		policy *Policy
		ticket *helpdesk.Ticket
		fired  map[StepKey]bool
		now    time.Time
		zone   string
		want   string
	}{
		// ProspectSoft critical, Monday 09:00: response due 11:00, 75% at 10:30.
		{"nothing yet", fx.policies["prospectsoft"], psTicket(nil), nil, l("2026-11-23 10:00"), lon, "due=[] breaches=[] next=Mon 10:30"},
		{"75% due", fx.policies["prospectsoft"], psTicket(nil), nil, l("2026-11-23 10:30"), lon, "due=[response#0@Mon 10:30] breaches=[] next=Mon 11:00"},
		{"75% fired is not due again", fx.policies["prospectsoft"], psTicket(nil), map[StepKey]bool{r0: true}, l("2026-11-23 10:45"), lon, "due=[] breaches=[] next=Mon 11:00"},
		{"breach", fx.policies["prospectsoft"], psTicket(nil), map[StepKey]bool{r0: true}, l("2026-11-23 11:00"), lon, "due=[response#1@Mon 11:00] breaches=[response] next=-"},
		{"catch-up fires both", fx.policies["prospectsoft"], psTicket(nil), nil, l("2026-11-25 12:00"), lon, "due=[response#0@Mon 10:30 response#1@Mon 11:00] breaches=[response] next=-"},
		{"all fired: breach still reported", fx.policies["prospectsoft"], psTicket(nil), map[StepKey]bool{r0: true, r1: true}, l("2026-11-23 11:05"), lon, "due=[] breaches=[response] next=-"},
		{"first response stops the clock", fx.policies["prospectsoft"], psTicket(func(tk *helpdesk.Ticket) { tk.FirstResponseAt = l("2026-11-23 10:15") }), nil, l("2026-11-23 12:00"), lon, "due=[] breaches=[] next=-"},
		{"pending hour moves the steps", fx.policies["prospectsoft"], psTicket(func(tk *helpdesk.Ticket) {
			tk.Pauses = []helpdesk.Pause{{From: l("2026-11-23 09:30"), To: l("2026-11-23 10:30")}}
		}), nil, l("2026-11-23 11:00"), lon, "due=[] breaches=[] next=Mon 11:30"},
		{"waiting on the customer: nothing to watch", fx.policies["prospectsoft"], psTicket(func(tk *helpdesk.Ticket) {
			tk.Status = helpdesk.StatusPending
			tk.Pauses = []helpdesk.Pause{{From: l("2026-11-23 09:30")}}
		}), nil, l("2026-11-23 12:00"), lon, "due=[] breaches=[] next=-"},
		{"step reached before the pause is still due", fx.policies["prospectsoft"], psTicket(func(tk *helpdesk.Ticket) {
			tk.Status = helpdesk.StatusPending
			tk.Pauses = []helpdesk.Pause{{From: l("2026-11-23 10:40")}}
		}), nil, l("2026-11-23 12:00"), lon, "due=[response#0@Mon 10:30] breaches=[] next=-"},
		{"resolved ticket is not watched", fx.policies["prospectsoft"], psTicket(func(tk *helpdesk.Ticket) {
			tk.Status, tk.ResolvedAt = helpdesk.StatusResolved, l("2026-11-23 09:45")
		}), nil, l("2026-11-23 12:00"), lon, "due=[] breaches=[] next=-"},
		{"priority filter: critical gets the extra step", &filtered, psTicket(nil), nil, l("2026-11-23 10:00"), lon, "due=[response#0@Mon 10:00] breaches=[] next=Mon 10:30"},
		{"priority filter: high does not", &filtered, psTicket(func(tk *helpdesk.Ticket) { tk.Priority = helpdesk.High }), nil, l("2026-11-23 10:00"), lon, "due=[] breaches=[] next=Mon 15:22"},
		{"no rule, nothing", fx.policies["prospectsoft-out-of-hours"], psTicket(func(tk *helpdesk.Ticket) { tk.Priority = helpdesk.Low }), nil, l("2026-11-23 10:00"), lon, "due=[] breaches=[] next=-"},
		// Prosper EX critical, Monday 09:00 Sydney: response (24 h) Tue
		// 09:00; resolution (3 business days) 75% Wed 11:00, 100% Thu 09:00,
		// 150% (COO) Fri 13:00.
		{"px before anything", fx.policies["prosperex"], pxTicket, nil, s("2026-11-23 12:00"), syd, "due=[] breaches=[] next=Tue 09:00"},
		{"px response breach", fx.policies["prosperex"], pxTicket, nil, s("2026-11-24 09:00"), syd, "due=[response#3@Tue 09:00] breaches=[response] next=Wed 11:00"},
		{"px catch-up after downtime, in order", fx.policies["prosperex"], pxTicket, nil, s("2026-11-27 13:00"), syd,
			"due=[response#3@Tue 09:00 resolution#0@Wed 11:00 resolution#1@Thu 09:00 resolution#2@Fri 13:00] breaches=[response resolution] next=-"},
		{"px COO step still ahead", fx.policies["prosperex"], pxTicket, map[StepKey]bool{{Resolution, 0}: true, {Resolution, 1}: true, {Response, 3}: true}, s("2026-11-26 10:00"), syd,
			"due=[] breaches=[response resolution] next=Fri 13:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, breaches, next := tt.policy.Evaluate(tt.ticket, tt.fired, tt.now)
			if got, want := describe(steps, breaches, next, tt.zone), tt.want; got != want {
				t.Errorf("Evaluate:\n got %s\nwant %s", got, want)
			}
			if next.IsZero() {
				return
			}
			if !next.After(tt.now) {
				t.Errorf("next %v is not after now %v", next, tt.now)
			}
		})
	}
}

func TestDueStepFields(t *testing.T) {
	fx := newFixtures(t)
	const lon = "Europe/London"
	l := func(s string) time.Time { return local(t, lon, s) }
	p := fx.policies["prospectsoft"]
	tk := &helpdesk.Ticket{Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: l("2026-11-23 09:00")}
	steps, _, _ := p.Evaluate(tk, nil, l("2026-11-23 11:20"))
	if got, want := len(steps), 2; got != want {
		t.Fatalf("due steps = %d, want %d", got, want)
	}
	d := steps[1]
	if got, want := d.Key, (StepKey{Response, 1}); got != want {
		t.Errorf("key = %v, want %v", got, want)
	}
	if got, want := d.Target.String(), "2 business hours"; got != want {
		t.Errorf("target = %s, want %s", got, want)
	}
	if got, want := fmtIn(d.Due, lon), "2026-11-23 11:00 GMT"; got != want {
		t.Errorf("due = %s, want %s", got, want)
	}
	if got, want := d.Late, 20*time.Minute; got != want {
		t.Errorf("late = %v, want %v", got, want)
	}
	if got, want := strings.Join(d.Step.Notify, ","), "managers"; got != want {
		t.Errorf("notify = %s, want %s", got, want)
	}
	if got, want := fmtIn(steps[0].At, lon), "2026-11-23 10:30 GMT"; got != want {
		t.Errorf("75%% step at = %s, want %s", got, want)
	}
	if got, want := steps[0].Late, 20*time.Minute; got != want {
		t.Errorf("75%% step late = %v, want %v (lateness is against the deadline)", got, want)
	}

	// While waiting on the customer, a due step reports the deadline the
	// clock would have if the customer answered now: 10:40 paused with 20
	// minutes left, so at 12:00 the deadline would be 12:20.
	tk.Pauses = []helpdesk.Pause{{From: l("2026-11-23 10:40")}}
	tk.Status = helpdesk.StatusPending
	steps, _, _ = p.Evaluate(tk, nil, l("2026-11-23 12:00"))
	if got, want := len(steps), 1; got != want {
		t.Fatalf("due steps while pending = %d, want %d", got, want)
	}
	if got, want := fmtIn(steps[0].Due, lon), "2026-11-23 12:20 GMT"; got != want {
		t.Errorf("due while pending = %s, want %s", got, want)
	}
	if got, want := steps[0].Late, -20*time.Minute; got != want {
		t.Errorf("late while pending = %v, want %v", got, want)
	}
}

func TestClocksLifecycle(t *testing.T) {
	fx := newFixtures(t)
	const lon, syd = "Europe/London", "Australia/Sydney"
	l := func(s string) time.Time { return local(t, lon, s) }

	// Claritum high, Tuesday 09:00: response 12:00, resolution 24
	// business hours = Thursday 13:00. Claritum does not pause when pending.
	cl := fx.policies["claritum"]
	tk := &helpdesk.Ticket{Priority: helpdesk.High, Status: helpdesk.StatusOpen, CreatedAt: l("2026-11-24 09:00")}
	check := func(step string, c Clocks, zone, resp, res string) {
		t.Helper()
		if got := fmtIn(c.ResponseDue, zone); got != resp {
			t.Errorf("%s: response due = %s, want %s", step, got, resp)
		}
		if got := fmtIn(c.ResolutionDue, zone); got != res {
			t.Errorf("%s: resolution due = %s, want %s", step, got, res)
		}
	}
	check("new", cl.Clocks(tk), lon, "2026-11-24 12:00 GMT", "2026-11-26 13:00 GMT")

	tk.Pauses = []helpdesk.Pause{{From: l("2026-11-24 10:00"), To: l("2026-11-24 11:00")}}
	check("pending without pause_when_pending", cl.Clocks(tk), lon, "2026-11-24 12:00 GMT", "2026-11-26 13:00 GMT")

	tk.FirstResponseAt = l("2026-11-24 11:30")
	check("answered", cl.Clocks(tk), lon, "-", "2026-11-26 13:00 GMT")
	check("answered, deadlines for reports", cl.Deadlines(tk), lon, "2026-11-24 12:00 GMT", "2026-11-26 13:00 GMT")

	tk.Status, tk.ResolvedAt = helpdesk.StatusResolved, l("2026-11-24 13:00")
	check("resolved", cl.Clocks(tk), lon, "-", "-")

	// Reopened at 17:00 the next day: the resolved span (Tue 13:00 - Wed
	// 17:00, 14 business hours) does not count even though Claritum
	// ignores waiting pauses: 4 h used on Tuesday, 20 h left from Wed 17:00.
	tk.Reopen(l("2026-11-25 17:00"))
	tk.Status = helpdesk.StatusOpen
	check("reopened", cl.Clocks(tk), lon, "-", "2026-11-27 17:00 GMT")

	// Reopened without Reopen: runs again, the resolved span counted.
	tk2 := &helpdesk.Ticket{Priority: helpdesk.High, Status: helpdesk.StatusOpen, CreatedAt: l("2026-11-24 09:00"), ResolvedAt: l("2026-11-24 13:00")}
	check("reopened without Reopen", cl.Clocks(tk2), lon, "2026-11-24 12:00 GMT", "2026-11-26 13:00 GMT")

	// A priority change recomputes from the start with the new targets.
	px := fx.policies["prosperex"]
	t3 := &helpdesk.Ticket{Priority: helpdesk.Medium, Status: helpdesk.StatusOpen, CreatedAt: local(t, syd, "2026-11-23 09:00")}
	check("px medium", px.Clocks(t3), syd, "2026-11-26 09:00 AEDT", "2026-12-02 09:00 AEDT")
	t3.Priority = helpdesk.Critical
	check("px raised to critical", px.Clocks(t3), syd, "2026-11-24 09:00 AEDT", "2026-11-26 09:00 AEDT")

	// Prosper EX pauses when pending: an open pause holds both clocks.
	t3.Status, t3.Pauses = helpdesk.StatusPending, []helpdesk.Pause{{From: local(t, syd, "2026-11-23 10:00")}}
	check("px pending", px.Clocks(t3), syd, "-", "-")
	t3.Status, t3.Pauses[0].To = helpdesk.StatusOpen, local(t, syd, "2026-11-23 15:00")
	check("px customer replied after 5 h", px.Clocks(t3), syd, "2026-11-24 14:00 AEDT", "2026-11-26 14:00 AEDT")

	// StoreConnect plan change picks the plan's rule.
	sc := fx.policies["storeconnect"]
	t4 := &helpdesk.Ticket{Priority: helpdesk.Critical, Plan: "large", Status: helpdesk.StatusOpen, CreatedAt: local(t, syd, "2027-01-22 15:00")}
	check("sc large", sc.Clocks(t4), syd, "-", "2027-01-25 15:00 AEDT")
}
