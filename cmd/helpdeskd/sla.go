package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
)

func cmdSLA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "due" {
		return cmdSLADue(args[1:], stdout, stderr)
	}
	return cmdSLAReport(ctx, args, stdout, stderr)
}

// cmdSLADue prints the deadlines a ticket filed at a given time would get.
func cmdSLADue(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sla due", "sla due [-config FILE] --policy NAME --priority LEVEL [--plan PLAN] --at TIME [--json]", stderr)
	path := fs.String("config", "", "configuration `file` (default: built-in policies only)")
	policy := fs.String("policy", "", "policy `name`")
	prio := fs.String("priority", "", "priority `level`")
	plan := fs.String("plan", "", "customer `plan`")
	at := fs.String("at", "", "filing `time`, RFC 3339 (e.g. 2026-11-20T16:20:00Z)")
	asJSON := fs.Bool("json", false, `print {"response_due": ..., "resolution_due": ...}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := config.Default()
	var err error
	if *path != "" {
		if cfg, err = loadConfig(*path, false, stderr); err != nil {
			return err
		}
	}
	if *policy == "" {
		*policy = cfg.SLA.DefaultPolicy
	}
	p, ok := cfg.Policies[*policy]
	if !ok {
		return &exitError{code: 2, err: fmt.Errorf("no policy %q (have: %s)", *policy, strings.Join(policyNames(cfg), ", "))}
	}
	level := helpdesk.Priority(strings.ToLower(*prio))
	if !cfg.Levels.Valid(level) {
		return &exitError{code: 2, err: fmt.Errorf("--priority %q is not a level", *prio)}
	}
	if *at == "" {
		return &exitError{code: 2, err: errors.New("--at is required")}
	}
	filed, err := time.Parse(time.RFC3339, *at)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--at: %w", err)}
	}
	t := &helpdesk.Ticket{Ref: "check", Customer: "check", Priority: level, Plan: *plan, Status: helpdesk.StatusOpen, CreatedAt: filed}
	c := p.Deadlines(t)
	if *asJSON {
		return writeJSON(stdout, map[string]jsonTime{"response_due": jsonTime(c.ResponseDue), "resolution_due": jsonTime(c.ResolutionDue)})
	}
	r, _ := p.Rule(level, *plan)
	loc := time.UTC
	if cal := p.CalendarFor(r); cal != nil {
		loc = cal.Location()
	}
	show := func(name string, target sla.Target, due time.Time) {
		if due.IsZero() {
			fmt.Fprintf(stdout, "%-10s no target\n", name)
			return
		}
		fmt.Fprintf(stdout, "%-10s %s  (%s; %s)\n", name, due.UTC().Format(time.RFC3339), target, due.In(loc).Format("Mon 2 Jan 15:04 MST"))
	}
	fmt.Fprintf(stdout, "policy %s, priority %s, plan %q, filed %s\n", p.Name, level, *plan, filed.Format(time.RFC3339))
	show("response", r.Response, c.ResponseDue)
	show("resolution", r.Resolution, c.ResolutionDue)
	return nil
}

func policyNames(cfg *config.Config) []string {
	var names []string
	for n := range cfg.Policies {
		names = append(names, n)
	}
	return names
}

// cmdSLAReport lists open tickets by time left and compliance per policy and
// priority over a period, as of now.
func cmdSLAReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return slaReport(ctx, args, time.Now().UTC(), stdout, stderr)
}

// slaReport is cmdSLAReport at a given instant (tests inject it).
func slaReport(ctx context.Context, args []string, now time.Time, stdout, stderr io.Writer) error {
	fs := newFlags("sla", "sla [-config FILE] [-db FILE] [--json] [--since DATE] [--until DATE]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file` (its policies and levels; its database unless -db)")
	db := fs.String("db", "", "database `file` (instead of the one the configuration names; without -config, the built-in policies)")
	asJSON := fs.Bool("json", false, "print JSON")
	since := fs.String("since", "", "compliance period start, YYYY-MM-DD or RFC 3339 (default: 30 days ago)")
	until := fs.String("until", "", "compliance period end (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	configSet := false
	fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
	cfg := config.Default()
	if *db == "" || configSet {
		var err error
		if cfg, err = loadConfig(*path, false, stderr); err != nil {
			return err
		}
	}
	var st *store.Store
	var err error
	if *db == "" {
		st, err = openConfiguredStore(ctx, cfg) // the configuration read above, not read again
	} else {
		st, err = openStoreFor(ctx, *path, *db, stderr)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	from, to, err := parsePeriod(*since, *until, now)
	if err != nil {
		return err
	}
	var open, period []*helpdesk.Ticket
	err = st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		if open, err = tx.Tickets(store.TicketFilter{Status: []helpdesk.Status{helpdesk.StatusOpen, helpdesk.StatusPending}}); err != nil {
			return err
		}
		period, err = tx.Tickets(store.TicketFilter{Since: from, Until: to})
		return err
	})
	if err != nil {
		return err
	}
	rep := sla.NewReport(open, period, func(name string) *sla.Policy { return cfg.Policies[name] }, cfg.Levels, now, from, to)
	standings, rows := rep.Open, rep.Compliance
	if *asJSON {
		type openJSON struct {
			Ref      string   `json:"ref"`
			Priority string   `json:"priority"`
			Status   string   `json:"status"`
			Clock    string   `json:"clock,omitempty"`
			Due      jsonTime `json:"due"`
			LeftSec  *int64   `json:"seconds_left"`
			Breached bool     `json:"breached"`
			Subject  string   `json:"subject"`
			Policy   string   `json:"policy"`
			State    string   `json:"state"` // breached, at risk, on track, paused, no target
			Assignee string   `json:"assignee"`
			Team     string   `json:"team"`
			Customer string   `json:"customer"`
		}
		type compJSON struct {
			Policy             string  `json:"policy"`
			Priority           string  `json:"priority"`
			Tickets            int     `json:"tickets"`
			ResponseMet        int     `json:"response_met"`
			ResponseBreached   int     `json:"response_breached"`
			ResponseOpen       int     `json:"response_open"`
			ResolutionMet      int     `json:"resolution_met"`
			ResolutionBreached int     `json:"resolution_breached"`
			ResolutionOpen     int     `json:"resolution_open"`
			Responded          int     `json:"responded"`
			Resolved           int     `json:"resolved"`
			ResponseP50        float64 `json:"response_p50_business_seconds"`
			ResponseP90        float64 `json:"response_p90_business_seconds"`
			ResolutionP50      float64 `json:"resolution_p50_business_seconds"`
			ResolutionP90      float64 `json:"resolution_p90_business_seconds"`
		}
		out := struct {
			Now        jsonTime   `json:"now"`
			Since      jsonTime   `json:"since"`
			Until      jsonTime   `json:"until"`
			Open       []openJSON `json:"open"`
			Compliance []compJSON `json:"compliance"`
		}{Now: jsonTime(now), Since: jsonTime(from), Until: jsonTime(to), Open: []openJSON{}, Compliance: []compJSON{}}
		for _, s := range standings {
			o := openJSON{Ref: s.Ticket.Ref, Priority: string(s.Ticket.Priority), Status: string(s.Ticket.Status),
				Clock: string(s.Clock), Due: jsonTime(s.Due), Breached: !s.Due.IsZero() && s.Left < 0, Subject: s.Ticket.Subject,
				Policy: s.Ticket.Policy, State: s.State(now), Assignee: s.Ticket.Assignee, Team: s.Ticket.Team, Customer: s.Ticket.Customer}
			if !s.Due.IsZero() {
				left := int64(s.Left / time.Second)
				o.LeftSec = &left
			}
			out.Open = append(out.Open, o)
		}
		for _, r := range rows {
			out.Compliance = append(out.Compliance, compJSON{Policy: r.Policy, Priority: string(r.Priority), Tickets: r.Tickets,
				ResponseMet: r.ResponseMet, ResponseBreached: r.ResponseBreached, ResponseOpen: r.ResponseOpen,
				ResolutionMet: r.ResolutionMet, ResolutionBreached: r.ResolutionBreached, ResolutionOpen: r.ResolutionOpen,
				Responded: r.Responded, Resolved: r.Resolved,
				ResponseP50: r.ResponseP50.Seconds(), ResponseP90: r.ResponseP90.Seconds(),
				ResolutionP50: r.ResolutionP50.Seconds(), ResolutionP90: r.ResolutionP90.Seconds()})
		}
		return writeJSON(stdout, out)
	}
	writeSLAText(stdout, cfg, standings, rows, now, from, to)
	return nil
}

// writeSLAText prints the report for people: the open tickets by time
// left, each deadline in its policy's zone, then compliance per policy and
// priority, response and resolution each in a table of its own.
func writeSLAText(w io.Writer, cfg *config.Config, standings []sla.Standing, rows []sla.Compliance, now, from, to time.Time) {
	counts := map[string]int{}
	for _, s := range standings {
		counts[s.State(now)]++
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "OPEN TICKETS BY TIME LEFT at %s: %d open, %d breached, %d at risk, %d paused\n",
		desk.FormatTime(now, time.UTC), len(standings), counts[sla.StateBreached], counts[sla.StateAtRisk], counts[sla.StatePaused])
	if len(standings) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "REF\tPRIORITY\tPOLICY\tSTATUS\tSLA\tCLOCK\tDUE\tLEFT\tASSIGNEE\tTEAM\tCUSTOMER\tSUBJECT")
	}
	for _, s := range standings {
		t := s.Ticket
		state, due, left := s.State(now), "-", "-"
		if !s.Due.IsZero() {
			due = desk.FormatTime(s.Due, desk.Location(cfg.Policies[t.Policy], t))
			left = desk.TimeLeft(s.Left)
		}
		if state == sla.StateBreached {
			state = "BREACHED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(t.Ref, 20), cell(string(t.Priority), 12),
			cell(t.Policy, 24), t.Status, state, dash(string(s.Clock)), due, left,
			cell(t.Assignee, 32), cell(t.Team, 20), cell(t.Customer, 32), cell(t.Subject, 40))
	}
	fmt.Fprintf(tw, "\nCOMPLIANCE of the tickets filed %s .. %s (UTC), times to the first response and to resolution in business time on each policy's calendar\n",
		from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"))
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no tickets filed in the period)")
		tw.Flush()
		return
	}
	for _, c := range []struct {
		name string
		get  func(r sla.Compliance) (met, breached, running, samples int, p50, p90 time.Duration)
	}{
		{"RESPONSE", func(r sla.Compliance) (int, int, int, int, time.Duration, time.Duration) {
			return r.ResponseMet, r.ResponseBreached, r.ResponseOpen, r.Responded, r.ResponseP50, r.ResponseP90
		}},
		{"RESOLUTION", func(r sla.Compliance) (int, int, int, int, time.Duration, time.Duration) {
			return r.ResolutionMet, r.ResolutionBreached, r.ResolutionOpen, r.Resolved, r.ResolutionP50, r.ResolutionP90
		}},
	} {
		fmt.Fprintf(tw, "\nPOLICY\tPRIORITY\tTICKETS\t%s MET\tBREACHED\tRUNNING\tMEDIAN\tP90\n", c.name)
		for _, r := range rows {
			met, breached, running, samples, p50, p90 := c.get(r)
			rate := desk.MetRate(met, breached)
			if met+breached+running == 0 {
				rate = "no target"
			}
			median, p90s := "-", "-"
			if samples > 0 {
				median, p90s = desk.HumanDuration(p50), desk.HumanDuration(p90)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", cell(r.Policy, 24), cell(string(r.Priority), 12), r.Tickets,
				rate, breached, running, median, p90s)
		}
	}
	tw.Flush()
}

// cell makes text written by outsiders (subjects, addresses, names) safe
// for one column of the report (desk.Printable) and cuts it to n
// characters; "" is "-".
func cell(s string, n int) string {
	if s == "" {
		return "-"
	}
	return truncate(desk.Printable(s), n)
}

// parsePeriod reads --since and --until (YYYY-MM-DD or RFC 3339); by
// default the period is the 30 days before now.
func parsePeriod(since, until string, now time.Time) (from, to time.Time, err error) {
	from, to = now.AddDate(0, 0, -30), now
	if since != "" {
		if from, err = parseDay(since); err != nil {
			return from, to, &exitError{code: 2, err: fmt.Errorf("--since: %w", err)}
		}
	}
	if until != "" {
		if to, err = parseDay(until); err != nil {
			return from, to, &exitError{code: 2, err: fmt.Errorf("--until: %w", err)}
		}
	}
	return from, to, nil
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}
