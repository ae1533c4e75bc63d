package sla

import (
	"sort"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// Standing is an open ticket's position against its nearest deadline.
type Standing struct {
	Ticket *helpdesk.Ticket
	Clock  ClockKind     // the clock whose deadline is nearest
	Due    time.Time     // zero: no running target
	Left   time.Duration // Due - now; negative when breached
}

// Standings orders open tickets by time left on their nearest running
// deadline, breached first; tickets with no running target come last.
func Standings(tickets []*helpdesk.Ticket, now time.Time) []Standing {
	var out []Standing
	for _, t := range tickets {
		if !t.IsOpen() {
			continue
		}
		s := Standing{Ticket: t}
		if t.FirstResponseAt.IsZero() && !t.ResponseDue.IsZero() {
			s.Clock, s.Due = Response, t.ResponseDue
		}
		if !t.ResolutionDue.IsZero() && (s.Due.IsZero() || t.ResolutionDue.Before(s.Due)) {
			s.Clock, s.Due = Resolution, t.ResolutionDue
		}
		if !s.Due.IsZero() {
			s.Left = s.Due.Sub(now)
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Due.IsZero() != b.Due.IsZero() {
			return !a.Due.IsZero()
		}
		return a.Left < b.Left
	})
	return out
}

// Standing states, as the reports (helpdeskd sla, the board) name them.
const (
	StateBreached = "breached"
	StateAtRisk   = "at risk"
	StateOnTrack  = "on track"
	StatePaused   = "paused"
	StateNone     = "no target"
)

// Tally is how the open tickets stand at one instant: how many in all and
// in each state that needs a manager's eye, and the breached and at-risk
// ones themselves, as TallyOpen lists them.
type Tally struct {
	Open, Breached, AtRisk, Paused int
	Urgent                         []Standing // breached and at risk, soonest first, at most the bound
	More                           int        // breached and at-risk ones beyond the bound
}

// TallyOpen counts standings (as Standings sorts them) by state at now
// and keeps the first max breached or at-risk ones: the board's and the
// digest's one computation of "what needs attention".
func TallyOpen(standings []Standing, now time.Time, max int) Tally {
	var t Tally
	for _, st := range standings {
		t.Open++
		state := st.State(now)
		switch state {
		case StateBreached:
			t.Breached++
		case StateAtRisk:
			t.AtRisk++
		case StatePaused:
			t.Paused++
		}
		if state != StateBreached && state != StateAtRisk {
			continue
		}
		if len(t.Urgent) == max {
			t.More++
			continue
		}
		t.Urgent = append(t.Urgent, st)
	}
	return t
}

// State names where an open ticket stands: breached (its nearest
// running clock past its deadline), at risk (the ticket's risk instant,
// sla.Policy.RiskAt, has come: the same rule as /metrics), on track,
// paused (waiting on the customer, its clocks standing still) or no
// target.
func (s Standing) State(now time.Time) string {
	switch {
	case s.Due.IsZero() && s.Ticket.Paused():
		return StatePaused
	case s.Due.IsZero():
		return StateNone
	case s.Left < 0:
		return StateBreached
	case !s.Ticket.RiskAt.IsZero() && !now.Before(s.Ticket.RiskAt):
		return StateAtRisk
	}
	return StateOnTrack
}

// Compliance is how one policy and priority kept its promises over a period.
type Compliance struct {
	Policy   string
	Priority helpdesk.Priority
	Tickets  int
	// Response and resolution: met, breached, and still running (not yet
	// answered or resolved and not yet due); tickets without a target count
	// in none of them.
	ResponseMet, ResponseBreached, ResponseOpen       int
	ResolutionMet, ResolutionBreached, ResolutionOpen int
	// How many tickets had a first response and how many were resolved:
	// the samples of the percentiles below (0: the percentiles mean
	// nothing, not zero time).
	Responded, Resolved int
	// Business time (on the policy's calendar for the priority) from filing
	// to the first response and to resolution: median and 90th percentile.
	ResponseP50, ResponseP90     time.Duration
	ResolutionP50, ResolutionP90 time.Duration
}

// ComplianceReport groups tickets by policy and priority and measures each
// group against its deadlines (the tickets' ResponseDue and ResolutionDue as
// stored: the deadlines as if the clocks still ran). policy returns the
// policy of a name (nil: unknown; its tickets are measured in wall time).
// Tickets in the spam state are left out.
func ComplianceReport(tickets []*helpdesk.Ticket, policy func(name string) *Policy, now time.Time) []Compliance {
	type key struct {
		policy   string
		priority helpdesk.Priority
	}
	groups := map[key]*Compliance{}
	resp := map[key][]time.Duration{}
	resol := map[key][]time.Duration{}
	for _, t := range tickets {
		if t.Status == helpdesk.StatusSpam {
			continue // spam was never a customer waiting on the desk
		}
		k := key{t.Policy, t.Priority}
		c := groups[k]
		if c == nil {
			c = &Compliance{Policy: t.Policy, Priority: t.Priority}
			groups[k] = c
		}
		c.Tickets++
		var cal *Calendar
		if p := policy(t.Policy); p != nil {
			if r, ok := p.Rule(t.Priority, t.Plan); ok {
				cal = p.CalendarFor(r)
			} else {
				cal = p.Calendar
			}
		}
		elapsed := func(a, b time.Time) time.Duration {
			if cal == nil {
				return b.Sub(a)
			}
			return cal.Elapsed(a, b)
		}
		met, breached, open := judge(t.ResponseDue, t.FirstResponseAt, now)
		c.ResponseMet, c.ResponseBreached, c.ResponseOpen = c.ResponseMet+met, c.ResponseBreached+breached, c.ResponseOpen+open
		if !t.FirstResponseAt.IsZero() {
			resp[k] = append(resp[k], elapsed(t.CreatedAt, t.FirstResponseAt))
		}
		met, breached, open = judge(t.ResolutionDue, t.ResolvedAt, now)
		c.ResolutionMet, c.ResolutionBreached, c.ResolutionOpen = c.ResolutionMet+met, c.ResolutionBreached+breached, c.ResolutionOpen+open
		if !t.ResolvedAt.IsZero() {
			resol[k] = append(resol[k], elapsed(t.CreatedAt, t.ResolvedAt))
		}
	}
	out := make([]Compliance, 0, len(groups))
	for k, c := range groups {
		c.ResponseP50, c.ResponseP90 = percentile(resp[k], 50), percentile(resp[k], 90)
		c.ResolutionP50, c.ResolutionP90 = percentile(resol[k], 50), percentile(resol[k], 90)
		c.Responded, c.Resolved = len(resp[k]), len(resol[k])
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Policy != out[j].Policy {
			return out[i].Policy < out[j].Policy
		}
		return out[i].Priority < out[j].Priority
	})
	return out
}

// judge counts one clock: met (stopped by its deadline), breached (stopped
// after it, or still running past it) or open (running, not yet due). A
// clock without a deadline counts nowhere.
func judge(due, stopped, now time.Time) (met, breached, open int) {
	switch {
	case due.IsZero():
		return 0, 0, 0
	case !stopped.IsZero() && !stopped.After(due):
		return 1, 0, 0
	case !stopped.IsZero() || now.After(due):
		return 0, 1, 0
	default:
		return 0, 0, 1
	}
}

// percentile returns the p-th percentile (nearest rank) of ds; 0 for none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := (p*len(s) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

// SortCompliance orders compliance rows by policy, then by the configured
// levels, most urgent first (unknown levels last, by name).
func SortCompliance(rows []Compliance, levels helpdesk.Levels) {
	rank := func(p helpdesk.Priority) int {
		if r, ok := levels.Rank(p); ok {
			if p == levels.Change {
				return len(levels.Order)
			}
			return r
		}
		return len(levels.Order) + 1
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if ra, rb := rank(a.Priority), rank(b.Priority); ra != rb {
			return ra < rb
		}
		return a.Priority < b.Priority
	})
}

// Report is the desk's SLA state at one instant: the open tickets by time
// left and the compliance of the tickets filed in a period. It is the one
// computation behind `helpdeskd sla` (text and --json) and the managers'
// digest mail, so that the two always give the same figures.
type Report struct {
	Now, Since, Until time.Time
	Open              []Standing   // sla.Standings of the open tickets at Now
	Compliance        []Compliance // tickets filed in [Since, Until), sorted by SortCompliance
}

// NewReport computes the Report at now: Standings over open (the open and
// pending tickets), and ComplianceReport, sorted by levels, over the
// tickets of filed created in [since, until) (filed may hold more; only
// the clocks, policy, plan, priority and status of each are read).
func NewReport(open, filed []*helpdesk.Ticket, policy func(name string) *Policy, levels helpdesk.Levels, now, since, until time.Time) Report {
	var in []*helpdesk.Ticket
	for _, t := range filed {
		if !t.CreatedAt.Before(since) && t.CreatedAt.Before(until) {
			in = append(in, t)
		}
	}
	rows := ComplianceReport(in, policy, now)
	SortCompliance(rows, levels)
	return Report{Now: now, Since: since, Until: until, Open: Standings(open, now), Compliance: rows}
}

// WeekFigures are the clocks decided for the tickets filed in one week, all
// policies and priorities together (ComplianceReport's met and breached
// counts).
type WeekFigures struct {
	Start                             time.Time
	ResponseMet, ResponseBreached     int
	ResolutionMet, ResolutionBreached int
}

// Weekly measures the tickets of filed created in each of the n weeks
// that end at now, oldest first, with ComplianceReport at now: the weekly
// trend of the board and of the digest's chart.
func Weekly(filed []*helpdesk.Ticket, policy func(name string) *Policy, now time.Time, n int) []WeekFigures {
	const span = 7 * 24 * time.Hour
	if n <= 0 {
		return nil
	}
	start := now.Add(-time.Duration(n) * span)
	buckets := make([][]*helpdesk.Ticket, n)
	for _, t := range filed {
		if t.CreatedAt.Before(start) || !t.CreatedAt.Before(now) {
			continue
		}
		i := min(int(t.CreatedAt.Sub(start)/span), n-1)
		buckets[i] = append(buckets[i], t)
	}
	out := make([]WeekFigures, n)
	for i, b := range buckets {
		w := WeekFigures{Start: start.Add(time.Duration(i) * span)}
		for _, r := range ComplianceReport(b, policy, now) {
			w.ResponseMet += r.ResponseMet
			w.ResponseBreached += r.ResponseBreached
			w.ResolutionMet += r.ResolutionMet
			w.ResolutionBreached += r.ResolutionBreached
		}
		out[i] = w
	}
	return out
}
