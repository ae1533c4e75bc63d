package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/store"
)

// triageCase is one ticket of the triage report.
type triageCase struct {
	Ticket  *helpdesk.Ticket
	Triage  helpdesk.Priority // the level the ticket was filed with
	Final   helpdesk.Priority // its priority now
	SetBy   string            // the agent of the last #priority change; "" when none
	SetAt   time.Time
	Changes int // #priority changes applied; 0: triage confirmed by no change
}

// triagePolicyStats is the comparison for one SLA policy.
type triagePolicyStats struct {
	Policy         string
	Tickets        int
	Exact          int                                             // final == triage
	Unchanged      int                                             // of Exact: no agent touched the priority
	Lower          int                                             // triage less urgent than the final level
	Higher         int                                             // triage more urgent than the final level
	CriticalsLower int                                             // final is the most urgent level, triage said less
	Matrix         map[helpdesk.Priority]map[helpdesk.Priority]int // [triage][final]
}

// triageReport is the whole report.
type triageReport struct {
	Levels   []helpdesk.Priority // matrix order: the configured levels, then any others found
	Policies []*triagePolicyStats
	Misses   []triageCase // ordered by policy, then filing time
	Skipped  []string     // tickets whose filed level could not be told, with why
}

// triageCaseOf works out what triage said and what the agents made of it
// from a ticket and its audit trail: triage's level is the old level of the
// first #priority change, or the ticket's priority when no agent changed it.
func triageCaseOf(t *helpdesk.Ticket, evs []helpdesk.Event) (triageCase, error) {
	c := triageCase{Ticket: t, Final: t.Priority}
	for _, e := range evs {
		if e.Kind != helpdesk.EventPriority {
			continue
		}
		old, _, ok := parsePriorityChange(e.Detail)
		if !ok {
			return c, fmt.Errorf("%s: priority event %q not understood", t.Ref, e.Detail)
		}
		if c.Changes == 0 {
			c.Triage = old
		}
		c.Changes++
		c.SetBy, c.SetAt = e.Actor, e.At
	}
	if c.Changes == 0 {
		c.Triage = t.Priority
	}
	return c, nil
}

// parsePriorityChange reads the detail of a priority event,
// "old -> new (SLA deadlines recomputed)".
func parsePriorityChange(detail string) (old, new helpdesk.Priority, ok bool) {
	o, n, found := strings.Cut(detail, " -> ")
	if !found {
		return "", "", false
	}
	n, _, _ = strings.Cut(n, " ")
	o, n = strings.TrimSpace(o), strings.TrimSpace(n)
	if o == "" || n == "" || strings.Contains(o, " ") {
		return "", "", false
	}
	return helpdesk.Priority(o), helpdesk.Priority(n), true
}

// buildTriageReport compares triage with the agents' final priorities for
// the tickets given (spam is left out), per policy.
func buildTriageReport(levels helpdesk.Levels, tickets []*helpdesk.Ticket, events func(*helpdesk.Ticket) ([]helpdesk.Event, error)) (*triageReport, error) {
	r := &triageReport{Levels: levels.All()}
	var top helpdesk.Priority
	if len(levels.Order) > 0 {
		top = levels.Order[0]
	}
	byPolicy := map[string]*triagePolicyStats{}
	// Oldest first, so that misses read in filing order.
	ts := slices.Clone(tickets)
	sort.SliceStable(ts, func(i, j int) bool {
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].ID < ts[j].ID
	})
	for _, t := range ts {
		if t.Status == helpdesk.StatusSpam {
			continue
		}
		evs, err := events(t)
		if err != nil {
			return nil, err
		}
		c, err := triageCaseOf(t, evs)
		if err != nil {
			r.Skipped = append(r.Skipped, err.Error())
			continue
		}
		for _, p := range []helpdesk.Priority{c.Triage, c.Final} {
			if !slices.Contains(r.Levels, p) {
				r.Levels = append(r.Levels, p)
			}
		}
		s := byPolicy[t.Policy]
		if s == nil {
			s = &triagePolicyStats{Policy: t.Policy, Matrix: map[helpdesk.Priority]map[helpdesk.Priority]int{}}
			byPolicy[t.Policy] = s
			r.Policies = append(r.Policies, s)
		}
		s.Tickets++
		if s.Matrix[c.Triage] == nil {
			s.Matrix[c.Triage] = map[helpdesk.Priority]int{}
		}
		s.Matrix[c.Triage][c.Final]++
		if c.Triage == c.Final {
			s.Exact++
			if c.Changes == 0 {
				s.Unchanged++
			}
			continue
		}
		tr, okT := levels.Rank(c.Triage)
		fr, okF := levels.Rank(c.Final)
		if okT && okF && tr > fr {
			s.Lower++
		} else if okT && okF && tr < fr {
			s.Higher++
		}
		if top != "" && c.Final == top {
			s.CriticalsLower++
		}
		r.Misses = append(r.Misses, c)
	}
	sort.Slice(r.Policies, func(i, j int) bool { return r.Policies[i].Policy < r.Policies[j].Policy })
	sort.SliceStable(r.Misses, func(i, j int) bool { return r.Misses[i].Ticket.Policy < r.Misses[j].Ticket.Policy })
	return r, nil
}

// exactRate is the share of tickets whose final priority is triage's.
func (s *triagePolicyStats) exactRate() float64 {
	if s.Tickets == 0 {
		return 0
	}
	return float64(s.Exact) / float64(s.Tickets)
}

// The JSON form of `triage report --json`; README.md documents the keys.
type triageReportJSON struct {
	Since    jsonTime           `json:"since"`
	Until    jsonTime           `json:"until"`
	Levels   []string           `json:"levels"`
	Policies []triagePolicyJSON `json:"policies"`
	Misses   []triageMissJSON   `json:"misses"`
	Skipped  []string           `json:"skipped"`
}

type triagePolicyJSON struct {
	Policy         string                    `json:"policy"`
	Tickets        int                       `json:"tickets"`
	Exact          int                       `json:"exact"`
	ExactRate      float64                   `json:"exact_rate"`
	Unchanged      int                       `json:"confirmed_by_no_change"`
	Lower          int                       `json:"triage_lower"`
	Higher         int                       `json:"triage_higher"`
	CriticalsLower int                       `json:"criticals_ranked_lower"`
	Matrix         map[string]map[string]int `json:"matrix"` // [triage][final], every level present
}

type triageMissJSON struct {
	Ref       string   `json:"ref"`
	Subject   string   `json:"subject"`
	Policy    string   `json:"policy"`
	CreatedAt jsonTime `json:"created_at"`
	Triage    string   `json:"triage"`
	Final     string   `json:"final"`
	SetBy     string   `json:"set_by"`
	SetAt     jsonTime `json:"set_at"`
	Changes   int      `json:"changes"`
	Reasons   []string `json:"reasons"`
	Claimed   *string  `json:"claimed"`
}

func (r *triageReport) json(from, to time.Time) triageReportJSON {
	out := triageReportJSON{Since: jsonTime(from), Until: jsonTime(to), Levels: []string{},
		Policies: []triagePolicyJSON{}, Misses: []triageMissJSON{}, Skipped: []string{}}
	for _, l := range r.Levels {
		out.Levels = append(out.Levels, string(l))
	}
	for _, s := range r.Policies {
		p := triagePolicyJSON{Policy: s.Policy, Tickets: s.Tickets, Exact: s.Exact, ExactRate: s.exactRate(),
			Unchanged: s.Unchanged, Lower: s.Lower, Higher: s.Higher, CriticalsLower: s.CriticalsLower,
			Matrix: map[string]map[string]int{}}
		for _, tl := range r.Levels {
			row := map[string]int{}
			for _, fl := range r.Levels {
				row[string(fl)] = s.Matrix[tl][fl]
			}
			p.Matrix[string(tl)] = row
		}
		out.Policies = append(out.Policies, p)
	}
	for _, c := range r.Misses {
		t := c.Ticket
		m := triageMissJSON{Ref: t.Ref, Subject: t.Subject, Policy: t.Policy, CreatedAt: jsonTime(t.CreatedAt),
			Triage: string(c.Triage), Final: string(c.Final), SetBy: c.SetBy, SetAt: jsonTime(c.SetAt),
			Changes: c.Changes, Reasons: t.Reasons}
		if m.Reasons == nil {
			m.Reasons = []string{}
		}
		if t.Claimed != "" {
			cl := string(t.Claimed)
			m.Claimed = &cl
		}
		out.Misses = append(out.Misses, m)
	}
	out.Skipped = append(out.Skipped, r.Skipped...)
	return out
}

func (r *triageReport) writeText(w io.Writer, from, to time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TRIAGE vs AGENTS, tickets filed %s .. %s (rows: triage's level; columns: the final level)\n",
		from.Format("2006-01-02"), to.Format("2006-01-02"))
	if len(r.Policies) == 0 {
		fmt.Fprintln(tw, "\nno tickets in the period")
	}
	for _, s := range r.Policies {
		fmt.Fprintf(tw, "\nPOLICY %s: %d tickets, exact %d/%d (%.1f%%; %d confirmed by no change), triage lower %d, higher %d, criticals ranked lower %d\n",
			s.Policy, s.Tickets, s.Exact, s.Tickets, 100*s.exactRate(), s.Unchanged, s.Lower, s.Higher, s.CriticalsLower)
		head := []string{`TRIAGE \ FINAL`}
		for _, l := range r.Levels {
			head = append(head, string(l))
		}
		fmt.Fprintln(tw, strings.Join(append(head, "TOTAL"), "\t"))
		for _, tl := range r.Levels {
			row, total := []string{string(tl)}, 0
			for _, fl := range r.Levels {
				n := s.Matrix[tl][fl]
				total += n
				row = append(row, fmt.Sprint(n))
			}
			fmt.Fprintln(tw, strings.Join(append(row, fmt.Sprint(total)), "\t"))
		}
	}
	fmt.Fprintf(tw, "\nMISSES (%d)\n", len(r.Misses))
	if len(r.Misses) > 0 {
		fmt.Fprintln(tw, "REF\tPOLICY\tTRIAGE\tFINAL\tSET BY\tCLAIMED\tSUBJECT\tTRIAGE'S REASONS")
	}
	for _, c := range r.Misses {
		t := c.Ticket
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Ref, t.Policy, c.Triage, c.Final, dash(c.SetBy),
			dash(string(t.Claimed)), truncate(t.Subject, 40), dash(truncate(strings.Join(t.Reasons, "; "), 100)))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(tw, "skipped: %s\n", s)
	}
	return tw.Flush()
}

// cmdTriageReport compares triage's priority with the agents' final
// priorities over the tickets filed in a period: every #priority an agent
// sends is a labelled correction.
func cmdTriageReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("triage report", "triage report [-config FILE | -db FILE] [--since DATE] [--until DATE] [--json]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file` (its priority levels order the matrix)")
	db := fs.String("db", "", "database `file` (instead of the one the configuration names; the built-in levels unless -config is given too)")
	asJSON := fs.Bool("json", false, "print JSON")
	since := fs.String("since", "", "tickets filed from, YYYY-MM-DD or RFC 3339 (default: 30 days ago)")
	until := fs.String("until", "", "tickets filed before (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("triage report: unexpected argument %q", fs.Arg(0))}
	}
	configSet := false
	fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
	levels := config.Default().Levels
	if *db == "" || configSet {
		cfg, err := loadConfig(*path, false, stderr)
		if err != nil {
			return err
		}
		levels = cfg.Levels
	}
	from, to, err := parsePeriod(*since, *until, time.Now().UTC())
	if err != nil {
		return err
	}
	st, err := openStoreFor(ctx, *path, *db, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	var r *triageReport
	err = st.View(ctx, func(tx *store.ReadTx) error {
		ts, err := tx.Tickets(store.TicketFilter{Since: from, Until: to})
		if err != nil {
			return err
		}
		r, err = buildTriageReport(levels, ts, func(t *helpdesk.Ticket) ([]helpdesk.Event, error) { return tx.Events(t.ID) })
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, r.json(from, to))
	}
	return r.writeText(stdout, from, to)
}
