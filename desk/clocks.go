package desk

import (
	"fmt"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
)

// clocks sets the ticket's SLA deadlines, risk instant and next check from
// its policy, and records a breach of a clock that stopped after its
// deadline (the loop only sees running clocks).
func (w *work) clocks(t *helpdesk.Ticket) error {
	p := w.d.policy(t.Policy)
	c := p.Deadlines(t)
	t.ResponseDue, t.ResolutionDue = c.ResponseDue, c.ResolutionDue
	t.RiskAt = p.RiskAt(t)
	if t.ID != 0 {
		stops := []struct {
			clock      sla.ClockKind
			due, state time.Time
		}{{sla.Response, t.ResponseDue, t.FirstResponseAt}, {sla.Resolution, t.ResolutionDue, t.ResolvedAt}}
		for _, s := range stops {
			if s.due.IsZero() || s.state.IsZero() || !s.state.After(s.due) {
				continue
			}
			if err := w.recordBreach(t, s.clock, s.due); err != nil {
				return err
			}
		}
	}
	fired := map[sla.StepKey]bool{} // a ticket not yet stored has fired nothing
	if t.ID != 0 {
		var err error
		if fired, err = w.firedSteps(t, p); err != nil {
			return err
		}
	}
	_, _, next := p.Evaluate(t, fired, w.now)
	t.NextCheckAt = next
	return nil
}

// firedSteps returns the ladder steps already fired for the ticket's
// current targets.
func (w *work) firedSteps(t *helpdesk.Ticket, p *sla.Policy) (map[sla.StepKey]bool, error) {
	fired := map[sla.StepKey]bool{}
	r, ok := p.Rule(t.Priority, t.Plan)
	if !ok {
		return fired, nil
	}
	for i, s := range p.Ladder {
		target := r.Response
		if s.Clock == sla.Resolution {
			target = r.Resolution
		}
		done, err := w.tx.StepFired(t.ID, string(s.Clock), i, target.String())
		if err != nil {
			return nil, err
		}
		if done {
			fired[sla.StepKey{Clock: s.Clock, Index: i}] = true
		}
	}
	return fired, nil
}

// recordBreach records, once per ticket, clock and deadline, that a target
// was missed: the breach row and its event. The SLA loop calls it for a
// running clock past its deadline, clocks for one that stopped late.
func (w *work) recordBreach(t *helpdesk.Ticket, c sla.ClockKind, due time.Time) error {
	recorded, err := w.tx.RecordBreach(t.ID, string(c), due)
	if err != nil || !recorded {
		return err
	}
	return w.event(t, helpdesk.EventBreach, "sla", fmt.Sprintf("%s target missed at %s (%s)", c, due.Format(time.RFC3339), t.Priority), "")
}
