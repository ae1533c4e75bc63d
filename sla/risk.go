package sla

import (
	"time"

	"github.com/helpdeskd/helpdesk"
)

// RiskWindow is how long before its deadline a running clock is at risk
// when the policy's ladder has no warning step for it.
const RiskWindow = time.Hour

// RiskAt returns the instant from which ticket t is at risk of missing a
// target under p: the earliest, over its running clocks with a deadline,
// of the clock's first warning step (the lowest ladder step below 100% for
// that clock that applies to the ticket's priority, e.g. 75%: when the
// assignee and team are warned), or RiskWindow before the deadline when
// the ladder has no such step for that clock. A clock past its deadline is
// breached; its risk instant has then come too. The zero time means no
// clock of the ticket runs towards a deadline: no target, stopped (answered,
// resolved, closed), or standing still while the ticket waits on the
// customer.
func (p *Policy) RiskAt(t *helpdesk.Ticket) time.Time {
	resp, res, ok := p.clocks(t)
	if !ok {
		return time.Time{}
	}
	var at time.Time
	for _, c := range [2]clock{resp, res} {
		if !c.running || c.target.IsZero() {
			continue
		}
		due := c.deadline(t.CreatedAt)
		if due.IsZero() {
			continue
		}
		risk := due.Add(-RiskWindow)
		if f, ok := p.firstWarning(c.kind, t.Priority); ok {
			if s := StepAt(t.CreatedAt, c.target, c.cal, c.pauses, f); !s.IsZero() {
				risk = s
			}
		}
		if at.IsZero() || risk.Before(at) {
			at = risk
		}
	}
	return at
}

// firstWarning returns the fraction of the lowest ladder step below 100%
// for clock k that applies to prio.
func (p *Policy) firstWarning(k ClockKind, prio helpdesk.Priority) (float64, bool) {
	var f float64
	ok := false
	for _, s := range p.Ladder {
		if s.Clock != k || s.At >= 1 || s.At <= 0 || !s.applies(prio) {
			continue
		}
		if !ok || s.At < f {
			f, ok = s.At, true
		}
	}
	return f, ok
}
