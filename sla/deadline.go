package sla

import (
	"math"
	"slices"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// Deadline returns when target t, counted from start, is used up: the zero
// time when t is "no target". Wall targets ignore c and add their length
// (a day is 24 h, a week 7 days). Business minutes and hours add business
// time on c (the clock starts at c's next opening); business days follow
// AddBusinessDays, and a business week is five business days. A business
// target with a nil calendar counts wall time.
func Deadline(start time.Time, t Target, c *Calendar) time.Time {
	switch {
	case t.IsZero():
		return time.Time{}
	case !t.Business || c == nil:
		return start.Add(t.Duration())
	case t.Unit == Day:
		return c.AddBusinessDays(start, t.N)
	case t.Unit == Week:
		return c.AddBusinessDays(start, 5*t.N)
	}
	return c.AddBusiness(start, t.Duration())
}

// DeadlineWithPauses is Deadline for a clock that does not run inside the
// pauses: every pause moves the deadline on by the business (or, for wall
// targets, wall) time it covers before the deadline is reached. While an
// open pause (To zero, e.g. waiting on the customer) holds the clock before
// its target is used up, there is no deadline and the zero time is
// returned; a target used up before the open pause began keeps its
// deadline. Pauses may overlap and come in any order.
//
// For business-day targets the target's length is the business time from
// start to Deadline(start, ...), and pauses push the deadline on by
// business time; without a pause inside that span the result is exactly
// Deadline's.
func DeadlineWithPauses(start time.Time, t Target, c *Calendar, pauses []helpdesk.Pause) time.Time {
	m, length, plain := measure(start, t, c)
	if plain.IsZero() {
		return time.Time{}
	}
	return m.deadline(start, length, plain, isDays(t, c), normPauses(start, pauses))
}

// deadline is DeadlineWithPauses on measured values: the plain deadline
// when no pause holds the clock before it, else the walk. days keeps the
// plain deadline of business-day targets, whose clamping a walk by
// business time would not reproduce.
func (m meter) deadline(start time.Time, length time.Duration, plain time.Time, days bool, ps []span) time.Time {
	if len(ps) == 0 || days && !m.pausedBefore(start, plain, ps) {
		return plain
	}
	return m.walk(start, length, ps)
}

// StepAt returns the instant when the given fraction of target t, counted
// from start and not running inside pauses, is used: fraction 1 is
// DeadlineWithPauses, 0.75 the 75% mark, 1.5 half a target late. It
// returns the zero time for no target, and while an open pause holds the
// clock before that fraction is reached.
func StepAt(start time.Time, t Target, c *Calendar, pauses []helpdesk.Pause, fraction float64) time.Time {
	if fraction == 1 {
		return DeadlineWithPauses(start, t, c, pauses)
	}
	m, length, plain := measure(start, t, c)
	if plain.IsZero() {
		return time.Time{}
	}
	part := time.Duration(math.Round(float64(length) * fraction))
	return m.walk(start, part, normPauses(start, pauses))
}

// isDays reports whether t is counted in business days (or weeks).
func isDays(t Target, c *Calendar) bool {
	return t.Business && c != nil && t.Wall == 0 && (t.Unit == Day || t.Unit == Week)
}

// meter measures a clock's time: business time on cal, or wall time when
// cal is nil.
type meter struct{ cal *Calendar }

func (m meter) add(t time.Time, d time.Duration) time.Time {
	if m.cal == nil {
		if d < 0 {
			d = 0
		}
		return t.Add(d)
	}
	return m.cal.AddBusiness(t, d)
}

func (m meter) elapsed(a, b time.Time) time.Duration {
	if m.cal == nil {
		if !a.Before(b) {
			return 0
		}
		return b.Sub(a)
	}
	return m.cal.Elapsed(a, b)
}

// measure returns how target t is measured, its length in that measure,
// and its deadline without pauses (zero for no target).
func measure(start time.Time, t Target, c *Calendar) (meter, time.Duration, time.Time) {
	plain := Deadline(start, t, c)
	if plain.IsZero() {
		return meter{}, 0, plain
	}
	if !t.Business || c == nil {
		return meter{}, t.Duration(), plain
	}
	m := meter{cal: c}
	if isDays(t, c) {
		return m, c.Elapsed(start, plain), plain
	}
	return m, t.Duration(), plain
}

// span is a pause as instants; an open pause has open set.
type span struct {
	from, to time.Time
	open     bool
}

// normPauses sorts the pauses, drops those over before start, and merges
// overlapping ones; an open pause swallows everything after its start.
func normPauses(start time.Time, pauses []helpdesk.Pause) []span {
	if len(pauses) == 0 {
		return nil
	}
	ps := make([]span, 0, len(pauses))
	for _, p := range pauses {
		s := span{from: p.From, to: p.To, open: p.To.IsZero()}
		if !s.open && !s.to.After(start) || !s.open && !s.to.After(s.from) {
			continue
		}
		if s.from.Before(start) {
			s.from = start
		}
		ps = append(ps, s)
	}
	slices.SortFunc(ps, func(a, b span) int { return a.from.Compare(b.from) })
	out := ps[:0]
	for _, s := range ps {
		if n := len(out); n > 0 && (out[n-1].open || !s.from.After(out[n-1].to)) {
			last := &out[n-1]
			if s.open {
				last.open = true
			} else if !last.open && s.to.After(last.to) {
				last.to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// pausedBefore reports whether any pause holds the clock for a positive
// measure of time inside [start, end), or is open and begins before end.
func (m meter) pausedBefore(start, end time.Time, ps []span) bool {
	for _, p := range ps {
		if !p.from.Before(end) {
			return false
		}
		if p.open {
			return true
		}
		to := p.to
		if to.After(end) {
			to = end
		}
		if m.elapsed(p.from, to) > 0 {
			return true
		}
	}
	return false
}

// walk returns the earliest instant by which length of the clock's measure
// has run from start, the clock standing still inside the pauses (sorted,
// merged, none before start); zero if an open pause stops it first.
func (m meter) walk(start time.Time, length time.Duration, ps []span) time.Time {
	cur, rem := start, length
	for _, p := range ps {
		if p.from.After(cur) {
			run := m.elapsed(cur, p.from)
			if run >= rem {
				return m.add(cur, rem)
			}
			rem -= run
		}
		if p.open {
			return time.Time{}
		}
		if p.to.After(cur) {
			cur = p.to
		}
	}
	return m.add(cur, rem)
}
