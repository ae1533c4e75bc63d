package helpdesk

import "time"

// The life cycle of a ticket: the status transitions and what each does to
// the SLA clocks. The desk applies them; package sla reads the pauses and
// stops they leave.

// SetStatus moves t to st at now and keeps its clocks right: pending pauses
// them (waiting on the customer), leaving pending resumes them, resolved
// stops the resolution clock, reopening a resolved ticket resumes it with
// the resolved span not counted, and closed stops everything for good.
func (t *Ticket) SetStatus(st Status, now time.Time) {
	if t.Paused() && st != StatusPending {
		t.EndPause(now)
	}
	switch st {
	case StatusPending:
		if t.Status == StatusResolved {
			t.Reopen(now)
		}
		t.StartPause(now)
	case StatusOpen:
		if t.Status == StatusResolved {
			t.Reopen(now)
		}
	case StatusResolved:
		t.ResolvedAt = now
	case StatusClosed:
		if t.ResolvedAt.IsZero() {
			t.ResolvedAt = now
		}
		t.ClosedAt = now
	}
	t.Status = st
}

// StartPause stops the clocks at now while the ticket waits on the
// customer; a pause already open is kept.
func (t *Ticket) StartPause(now time.Time) {
	if !t.Paused() {
		t.Pauses = append(t.Pauses, Pause{From: now})
	}
}

// EndPause restarts the clocks at now.
func (t *Ticket) EndPause(now time.Time) {
	if t.Paused() {
		t.Pauses[len(t.Pauses)-1].To = now
	}
}

// Reopen restarts the clocks of a resolved ticket that is being reopened at
// now: the span from its resolution to now is appended to its pauses (with
// Reason PauseResolved, so it counts whatever the policy says about waiting
// on the customer), and ResolvedAt and ClosedAt are cleared. A ticket not
// resolved is left alone. It does not change the status: SetStatus does.
func (t *Ticket) Reopen(now time.Time) {
	if t.ResolvedAt.IsZero() {
		return
	}
	if now.After(t.ResolvedAt) {
		t.Pauses = append(t.Pauses, Pause{From: t.ResolvedAt, To: now, Reason: PauseResolved})
	}
	t.ResolvedAt, t.ClosedAt = time.Time{}, time.Time{}
}
