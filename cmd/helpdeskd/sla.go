package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
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
// priority over a period.
func cmdSLAReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sla", "sla [-config FILE | -db FILE] [--json] [--since DATE] [--until DATE]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	db := fs.String("db", "", "database `file` (instead of the one the configuration names)")
	asJSON := fs.Bool("json", false, "print JSON")
	since := fs.String("since", "", "compliance period start, YYYY-MM-DD or RFC 3339 (default: 30 days ago)")
	until := fs.String("until", "", "compliance period end (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := config.Default()
	if *db == "" {
		var err error
		if cfg, err = loadConfig(*path, false, stderr); err != nil {
			return err
		}
	}
	st, err := openStoreFor(ctx, *path, *db, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
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
	standings := sla.Standings(open, now)
	rows := sla.ComplianceReport(period, func(name string) *sla.Policy { return cfg.Policies[name] }, now)
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
				Clock: string(s.Clock), Due: jsonTime(s.Due), Breached: !s.Due.IsZero() && s.Left < 0, Subject: s.Ticket.Subject}
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
				ResponseP50: r.ResponseP50.Seconds(), ResponseP90: r.ResponseP90.Seconds(),
				ResolutionP50: r.ResolutionP50.Seconds(), ResolutionP90: r.ResolutionP90.Seconds()})
		}
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "OPEN TICKETS BY TIME LEFT (%d)\n", len(standings))
	fmt.Fprintln(tw, "REF\tPRIORITY\tSTATUS\tCLOCK\tDUE\tLEFT\tSUBJECT")
	for _, s := range standings {
		due, left := "-", "-"
		if !s.Due.IsZero() {
			due = fmtLocal(s.Due)
			left = roundDur(s.Left)
			if s.Left < 0 {
				left = "BREACHED " + roundDur(-s.Left) + " ago"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Ticket.Ref, s.Ticket.Priority, s.Ticket.Status, dash(string(s.Clock)), due, left, truncate(s.Ticket.Subject, 40))
	}
	fmt.Fprintf(tw, "\nCOMPLIANCE %s .. %s (business time)\n", from.Format("2006-01-02"), to.Format("2006-01-02"))
	fmt.Fprintln(tw, "POLICY\tPRIORITY\tTICKETS\tRESPONSE met/breached/open\tP50\tP90\tRESOLUTION met/breached/open\tP50\tP90")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d/%d\t%s\t%s\t%d/%d/%d\t%s\t%s\n", r.Policy, r.Priority, r.Tickets,
			r.ResponseMet, r.ResponseBreached, r.ResponseOpen, roundDur(r.ResponseP50), roundDur(r.ResponseP90),
			r.ResolutionMet, r.ResolutionBreached, r.ResolutionOpen, roundDur(r.ResolutionP50), roundDur(r.ResolutionP90))
	}
	return tw.Flush()
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

func roundDur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Minute).String()
}
