package sla

import (
	"math"
	"slices"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// Clocks holds a ticket's current SLA deadlines. A zero time means the
// clock has no target, has stopped, or stands still waiting on the customer.
type Clocks struct {
	ResponseDue, ResolutionDue time.Time
}

// StepKey identifies one ladder step of one clock: Index is the step's
// position in Policy.Ladder. A step fires once per ticket and target.
type StepKey struct {
	Clock ClockKind
	Index int
}

// DueStep is a ladder step whose instant has come: the step, when it came
// (At), the target it measures and that target's deadline (Due), and how
// late the clock is at evaluation time (now - Due; negative = time left).
type DueStep struct {
	Key    StepKey
	Step   Step
	At     time.Time
	Target Target
	Due    time.Time
	Late   time.Duration
}

// clock is one of a ticket's clocks under a policy: its target, calendar,
// the pauses it stands still in, and whether it still runs.
type clock struct {
	kind    ClockKind
	target  Target
	cal     *Calendar
	pauses  []helpdesk.Pause
	running bool
}

// clocks returns the ticket's two clocks under p, or ok false when p has
// no rule for the ticket's priority (no targets at all).
//
// The response clock stops at the first agent reply (FirstResponseAt; the
// automatic acknowledgement is not a response). The resolution clock stops
// while the ticket is resolved or closed; a reopened ticket runs again,
// and the resolved span, which Reopen records as a PauseResolved pause,
// does not count. Waiting pauses (the ticket pending on the customer)
// count only when the policy's PauseWhenPending is set. A ticket reopened
// without Reopen (ResolvedAt still set, status open or pending) runs again
// with the resolved span counted as working time, since its end is unknown.
func (p *Policy) clocks(t *helpdesk.Ticket) (resp, res clock, ok bool) {
	r, ok := p.Rule(t.Priority, t.Plan)
	if !ok {
		return clock{}, clock{}, false
	}
	cal := p.CalendarFor(r)
	pauses := t.Pauses
	if !p.PauseWhenPending {
		pauses = nil
		for _, ps := range t.Pauses {
			if ps.Reason == helpdesk.PauseResolved {
				pauses = append(pauses, ps)
			}
		}
	}
	open := t.IsOpen()
	resp = clock{kind: Response, target: r.Response, cal: cal, pauses: pauses, running: open && t.FirstResponseAt.IsZero()}
	res = clock{kind: Resolution, target: r.Resolution, cal: cal, pauses: pauses, running: open}
	return resp, res, true
}

func (c clock) deadline(start time.Time) time.Time {
	return DeadlineWithPauses(start, c.target, c.cal, c.pauses)
}

// Deadlines returns the ticket's deadlines under p as if both clocks were
// still running: for reports that compare a stopped clock (first response,
// resolution) with its deadline. Pauses count as in Clocks.
func (p *Policy) Deadlines(t *helpdesk.Ticket) Clocks {
	resp, res, ok := p.clocks(t)
	if !ok {
		return Clocks{}
	}
	return Clocks{ResponseDue: resp.deadline(t.CreatedAt), ResolutionDue: res.deadline(t.CreatedAt)}
}

// Clocks returns the deadlines of the ticket's running clocks, counted from
// its creation with the targets of its current priority and plan (so a
// priority change recomputes them from the ticket's start). A clock with
// no target, stopped, or standing still in an open pause has a zero
// deadline. See Deadlines for how stops and pauses are modelled.
func (p *Policy) Clocks(t *helpdesk.Ticket) Clocks {
	resp, res, ok := p.clocks(t)
	if !ok {
		return Clocks{}
	}
	var c Clocks
	if resp.running {
		c.ResponseDue = resp.deadline(t.CreatedAt)
	}
	if res.running {
		c.ResolutionDue = res.deadline(t.CreatedAt)
	}
	return c
}

// applies reports whether the ladder step applies to the priority.
func (s Step) applies(prio helpdesk.Priority) bool {
	return len(s.Priorities) == 0 || slices.Contains(s.Priorities, prio)
}

// Evaluate checks the ticket's running clocks against the ladder at now.
// It returns the steps that are due (instant <= now, not in fired, clock
// running, step applying to the ticket's priority), in the order of their
// instants; the clocks whose deadline has passed (the caller records each
// breach once); and next, the earliest instant after now at which an
// unfired step or a breach happens (zero: nothing left to watch, e.g. both
// clocks stopped or waiting on the customer). Evaluate is pure: the caller
// passes now and the steps already fired for the ticket's current targets.
func (p *Policy) Evaluate(t *helpdesk.Ticket, fired map[StepKey]bool, now time.Time) (steps []DueStep, breaches []ClockKind, next time.Time) {
	resp, res, ok := p.clocks(t)
	if !ok {
		return nil, nil, time.Time{}
	}
	start := t.CreatedAt
	watch := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	for _, c := range [2]clock{resp, res} {
		if !c.running || c.target.IsZero() {
			continue
		}
		m, length, plain := measure(start, c.target, c.cal)
		if plain.IsZero() {
			continue
		}
		days := isDays(c.target, c.cal)
		ps := normPauses(start, c.pauses)
		dl := m.deadline(start, length, plain, days, ps)
		due := dl // the deadline a due step reports
		if !dl.IsZero() {
			if dl.After(now) {
				watch(dl)
			} else {
				breaches = append(breaches, c.kind)
			}
		} else {
			// Standing still in an open pause: report the deadline the
			// clock would have if the customer answered now.
			due = m.deadline(start, length, plain, days, resumedAt(ps, now))
		}
		for i, s := range p.Ladder {
			key := StepKey{Clock: c.kind, Index: i}
			if s.Clock != c.kind || fired[key] || !s.applies(t.Priority) {
				continue
			}
			at := dl
			if s.At != 1 {
				at = m.walk(start, time.Duration(math.Round(float64(length)*s.At)), ps)
			}
			switch {
			case at.IsZero():
			case at.After(now):
				watch(at)
			default:
				steps = append(steps, DueStep{Key: key, Step: s, At: at, Target: c.target, Due: due, Late: now.Sub(due)})
			}
		}
	}
	slices.SortStableFunc(steps, func(a, b DueStep) int { return a.At.Compare(b.At) })
	return steps, breaches, next
}

// resumedAt returns the pauses with the open one (always the last after
// normPauses) ended at now.
func resumedAt(ps []span, now time.Time) []span {
	out := slices.Clone(ps)
	if n := len(out); n > 0 && out[n-1].open {
		out[n-1].open, out[n-1].to = false, now
		if !now.After(out[n-1].from) {
			out = out[:n-1]
		}
	}
	return out
}
