package sla

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// benchStarts returns n instants spread over 2026-2027, in and out of hours.
func benchStarts(n int) []time.Time {
	r := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = base.Add(time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour))))
	}
	return out
}

// BenchmarkAddBusiness adds 3 business hours on ProspectSoft's London
// calendar (uneven days, bank holidays) from random instants.
func BenchmarkAddBusiness(b *testing.B) {
	c := newFixtures(b).cals["uk-prospectsoft"]
	starts := benchStarts(1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.AddBusiness(starts[i&1023], 3*time.Hour)
	}
}

// BenchmarkAddBusiness24x7 is the same on the 24x7 calendar (wall time).
func BenchmarkAddBusiness24x7(b *testing.B) {
	c := newFixtures(b).cals["24x7"]
	starts := benchStarts(1024)
	for i := 0; b.Loop(); i++ {
		c.AddBusiness(starts[i&1023], 3*time.Hour)
	}
}

// BenchmarkAddBusinessDays adds 3 business days (a typical target) on
// Prosper EX's Sydney calendar with NSW holidays.
func BenchmarkAddBusinessDays(b *testing.B) {
	c := newFixtures(b).cals["au-prosperex"]
	starts := benchStarts(1024)
	for i := 0; b.Loop(); i++ {
		c.AddBusinessDays(starts[i&1023], 3)
	}
}

// BenchmarkAddBusinessDays7 adds ProspectSoft's longest target, 7 days.
func BenchmarkAddBusinessDays7(b *testing.B) {
	c := newFixtures(b).cals["uk-prospectsoft"]
	starts := benchStarts(1024)
	for i := 0; b.Loop(); i++ {
		c.AddBusinessDays(starts[i&1023], 7)
	}
}

// BenchmarkElapsed measures a week of business time.
func BenchmarkElapsed(b *testing.B) {
	c := newFixtures(b).cals["uk-prospectsoft"]
	starts := benchStarts(1024)
	for i := 0; b.Loop(); i++ {
		s := starts[i&1023]
		c.Elapsed(s, s.Add(7*24*time.Hour))
	}
}

// BenchmarkEvaluate is the pure per-ticket cost of one SLA check: a Prosper
// EX critical ticket (24 h wall response, 3 business day resolution, four
// ladder steps) that was pending for an hour, with one step fired.
func BenchmarkEvaluate(b *testing.B) {
	p := newFixtures(b).policies["prosperex"]
	created := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)
	tk := &helpdesk.Ticket{Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: created,
		Pauses: []helpdesk.Pause{{From: created.Add(2 * time.Hour), To: created.Add(3 * time.Hour)}}}
	fired := map[StepKey]bool{{Clock: Response, Index: 3}: true}
	now := created.Add(30 * time.Hour)
	for b.Loop() {
		p.Evaluate(tk, fired, now)
	}
}

// BenchmarkEvaluateProspectSoft is a plain ProspectSoft critical ticket.
func BenchmarkEvaluateProspectSoft(b *testing.B) {
	p := newFixtures(b).policies["prospectsoft"]
	created := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tk := &helpdesk.Ticket{Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: created}
	now := created.Add(time.Hour)
	for b.Loop() {
		p.Evaluate(tk, nil, now)
	}
}

// BenchmarkTick100Due is one Tick over 100,000 open tickets of which 100
// are due (each with two ladder steps and a breach), against the
// in-memory index and desk of loop_test.go: the loop's and the
// evaluation's own cost, without SQL.
func BenchmarkTick100Due(b *testing.B) {
	p := newFixtures(b).policies["prospectsoft"]
	m := newMemDesk(p)
	now := local(b, "Europe/London", "2026-11-25 12:00")
	monday := local(b, "Europe/London", "2026-11-23 08:30")
	for i := range 100_000 - 100 {
		created := monday.Add(time.Duration(i%(50*60)) * time.Minute)
		m.add(&helpdesk.Ticket{ID: int64(i + 1), Priority: helpdesk.Low, Status: helpdesk.StatusOpen, CreatedAt: created}, created)
	}
	dueCreated := local(b, "Europe/London", "2026-11-25 09:00")
	var due []*helpdesk.Ticket
	for i := range 100 {
		tk := &helpdesk.Ticket{ID: int64(100_000 - 100 + i + 1), Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: dueCreated}
		m.add(tk, dueCreated)
		due = append(due, tk)
	}
	l, err := NewLoop(m, m, "", func() time.Time { return now }, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		m.mails = m.mails[:0]
		for _, tk := range due {
			m.fired[tk.ID] = map[StepKey]bool{}
			delete(m.breaches[tk.ID], Response)
			m.setNext(tk, dueCreated.Add(90*time.Minute))
		}
		b.StartTimer()
		if err := l.Tick(ctx); err != nil {
			b.Fatal(err)
		}
		if len(m.mails) != 200 {
			b.Fatalf("mails = %d, want 200", len(m.mails))
		}
	}
}
