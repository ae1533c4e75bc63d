package sla

import (
	"github.com/helpdeskd/helpdesk"
)

// ClockKind names one of a ticket's two SLA clocks.
type ClockKind string

// The two clocks: time to first agent response and time to resolution.
const (
	Response   ClockKind = "response"
	Resolution ClockKind = "resolution"
)

// Policy is an SLA policy: targets per priority (and optionally per customer
// plan), the calendar business targets count on, whether clocks pause while
// the ticket waits on the customer, the escalation ladder, and which
// incident fields each priority requires.
type Policy struct {
	Name             string
	Calendar         *Calendar // calendar of business targets unless a rule names its own
	PauseWhenPending bool
	Rules            []Rule
	Ladder           []Step
	Required         map[helpdesk.Priority][]string // field names (helpdesk.Field*) required per priority
	EscalateTo       []string                       // recipients of "#escalate" and customer escalation (keywords or addresses, as in Step.Notify)
}

// Rule gives the targets for one priority, and optionally one plan. An empty
// Plan is the rule for customers without a plan or whose plan has no rule.
type Rule struct {
	Priority   helpdesk.Priority
	Plan       string
	Response   Target
	Resolution Target
	Calendar   *Calendar // nil: the policy's calendar
}

// Step is one rung of the escalation ladder: when the given clock has used
// At of its target (0.75 = 75%, 1 = breach), mail Notify. Notify holds the
// keywords "assignee", "team", "managers" or mail addresses. A step with
// Priorities applies only to those priorities.
type Step struct {
	Clock      ClockKind
	At         float64
	Notify     []string
	Priorities []helpdesk.Priority
}

// Rule returns the rule for the priority and plan: the plan's own rule if
// there is one, else the plan-less rule. ok is false when the policy has no
// rule for the priority at all (no targets).
func (p *Policy) Rule(prio helpdesk.Priority, plan string) (r Rule, ok bool) {
	for _, r := range p.Rules {
		if r.Priority == prio && plan != "" && r.Plan == plan {
			return r, true
		}
	}
	for _, r := range p.Rules {
		if r.Priority == prio && r.Plan == "" {
			return r, true
		}
	}
	return Rule{}, false
}

// CalendarFor returns the calendar the rule counts business time on.
func (p *Policy) CalendarFor(r Rule) *Calendar {
	if r.Calendar != nil {
		return r.Calendar
	}
	return p.Calendar
}
