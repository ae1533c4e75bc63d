package board

import (
	"sort"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/sla"
)

// History is what the board's figures over days are computed from, read
// from the store at one instant.
type History struct {
	Filed []*helpdesk.Ticket // tickets filed in the last Windows[len-1] days (90), spam included
	// Triage compares triage's priority with the agents' over the tickets
	// filed in the last TriageDays days; nil when it was not counted.
	Triage *TriageCounts
}

// TriageCounts is the board's line of `helpdeskd triage report`: of the
// tickets filed in the period (spam left out), how many ended at a
// priority other than triage's.
type TriageCounts struct {
	Tickets   int
	Corrected int
	Lower     int // triage less urgent than the final level
	Higher    int // triage more urgent than the final level
}

// Windows are the compliance periods the board shows, in days; the last
// is the longest and bounds Snapshot.Filed.
var Windows = []int{7, 30, 90}

// TriageDays is the period of the spam and triage counts.
const TriageDays = 30

// trendWeeks is how many weeks the trend chart covers (about 90 days).
const trendWeeks = 13

// page is what the template renders.
type page struct {
	Nonce    string
	Now      string
	Expires  string
	Manager  string
	Open     int
	Breached int
	AtRisk   int
	Paused   int
	Urgent   []urgentRow
	More     int // urgent tickets beyond MaxUrgent, not listed
	Agents   []count
	Teams    []count
	*figures
}

// figures are the board's figures over days, computed from a History at
// one instant and kept up to HistoryMaxAge.
type figures struct {
	At         time.Time
	AtText     string
	Windows    []window
	Trend      trendChart
	Spam       int
	SpamDays   int
	Triage     *TriageCounts
	TriageDays int
}

// MaxUrgent bounds the breached and due-soon rows of the page; the rest
// are counted ("and 1,200 more: helpdeskd sla lists them all").
const MaxUrgent = 200

type urgentRow struct {
	Ref, Subject, Priority, Policy, Clock string
	Due, Left                             string
	Breached                              bool
	Owner, Customer                       string
}

type window struct {
	Days    int
	Tickets int
	Rows    []compRow
}

type compRow struct {
	Policy, Priority string
	Tickets          int
	Clocks           []clockCell // response, resolution
}

type clockCell struct {
	Name          string
	Rate          string  // "92% (46 of 50)", "none yet", "no target"
	Pct           float64 // for the bar; -1: nothing decided
	Met, Breached int
	Running       int
	Median, P90   string // business time; "-" without samples
	Samples       int
}

type count struct {
	Name string
	N    int
}

// week is one week of the trend: the clocks of the tickets filed in it.
type week = sla.WeekFigures

// Options are what the board needs of the configuration.
type Options struct {
	Policy func(name string) *sla.Policy // nil for an unknown name
	Levels helpdesk.Levels
}

// buildOpen makes the page's open part from the open tickets at now: the
// computations are the sla report's (sla.Standings, Standing.State) and
// its wording (desk.TimeLeft, FormatTime).
func buildOpen(open []*helpdesk.Ticket, o Options, now time.Time) *page {
	p := &page{Now: desk.FormatTime(now, time.UTC)}
	agents, teams := map[string]int{}, map[string]int{}
	standings := sla.Standings(open, now)
	for _, st := range standings {
		t := st.Ticket
		if t.Assignee != "" {
			agents[t.Assignee]++
		} else {
			agents["(unassigned)"]++
		}
		if t.Team != "" {
			teams[t.Team]++
		} else {
			teams["(no team)"]++
		}
	}
	tally := sla.TallyOpen(standings, now, MaxUrgent)
	p.Open, p.Breached, p.AtRisk, p.Paused, p.More = tally.Open, tally.Breached, tally.AtRisk, tally.Paused, tally.More
	for _, st := range tally.Urgent {
		t := st.Ticket
		// Outsiders' text is made printable: a bidirectional override in a
		// subject must not reorder the row.
		p.Urgent = append(p.Urgent, urgentRow{Ref: t.Ref, Subject: desk.Printable(t.Subject), Priority: string(t.Priority), Policy: t.Policy,
			Clock: string(st.Clock), Due: desk.FormatTime(st.Due, desk.Location(o.policy(t.Policy), t)), Left: desk.TimeLeft(st.Left),
			Breached: st.State(now) == sla.StateBreached, Owner: desk.Printable(desk.Owner(t)), Customer: desk.Printable(t.Customer)})
	}
	p.Agents, p.Teams = counts(agents), counts(teams)
	return p
}

// buildFigures computes the figures over days at now: compliance per
// window with sla.ComplianceReport (the sla report's computation), the
// weekly trend, spam and triage counts.
func buildFigures(h *History, o Options, now time.Time) *figures {
	p := &figures{At: now, AtText: desk.FormatTime(now, time.UTC), SpamDays: TriageDays, TriageDays: TriageDays, Triage: h.Triage}
	cut := now.AddDate(0, 0, -TriageDays)
	for _, t := range h.Filed {
		if t.Status == helpdesk.StatusSpam && !t.CreatedAt.Before(cut) {
			p.Spam++
		}
	}
	for _, days := range Windows {
		from := now.AddDate(0, 0, -days)
		var in []*helpdesk.Ticket
		for _, t := range h.Filed {
			if !t.CreatedAt.Before(from) && t.CreatedAt.Before(now) {
				in = append(in, t)
			}
		}
		rows := sla.ComplianceReport(in, o.policy, now)
		sla.SortCompliance(rows, o.Levels)
		w := window{Days: days}
		for _, r := range rows {
			w.Tickets += r.Tickets
			w.Rows = append(w.Rows, compRow{Policy: r.Policy, Priority: string(r.Priority), Tickets: r.Tickets, Clocks: []clockCell{
				cell("response", r.ResponseMet, r.ResponseBreached, r.ResponseOpen, r.Responded, r.ResponseP50, r.ResponseP90),
				cell("resolution", r.ResolutionMet, r.ResolutionBreached, r.ResolutionOpen, r.Resolved, r.ResolutionP50, r.ResolutionP90),
			}})
		}
		p.Windows = append(p.Windows, w)
	}
	p.Trend = drawTrend(weeks(h.Filed, o, now))
	return p
}

func (o Options) policy(name string) *sla.Policy {
	if o.Policy == nil {
		return nil
	}
	return o.Policy(name)
}

// cell is one clock of one compliance row.
func cell(name string, met, breached, running, samples int, p50, p90 time.Duration) clockCell {
	c := clockCell{Name: name, Met: met, Breached: breached, Running: running, Samples: samples,
		Rate: metRate(met, breached), Pct: -1, Median: "-", P90: "-"}
	if met+breached > 0 {
		c.Pct = 100 * float64(met) / float64(met+breached)
	} else if running == 0 {
		c.Rate = "no target"
	}
	if samples > 0 {
		c.Median, c.P90 = desk.HumanDuration(p50), desk.HumanDuration(p90)
	}
	return c
}

func metRate(met, breached int) string { return desk.MetRate(met, breached) }

// weeks measures the tickets filed in each of the last trendWeeks weeks
// (ending now) with the sla report's computation (sla.Weekly).
func weeks(filed []*helpdesk.Ticket, o Options, now time.Time) []week {
	return sla.Weekly(filed, o.policy, now, trendWeeks)
}

// counts orders a tally by count, most first, then by name.
func counts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{desk.Printable(k), v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Figures computes the figures over days as a background refresh does and
// returns how many compliance rows they hold (benchmarks measure it).
func Figures(h *History, o Options, now time.Time) int {
	n := 0
	for _, w := range buildFigures(h, o, now).Windows {
		n += len(w.Rows)
	}
	return n
}
