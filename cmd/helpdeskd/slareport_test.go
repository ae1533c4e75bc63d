package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// update rewrites the golden files of testdata/ from the current code:
// go test ./cmd/helpdeskd -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files of testdata/ from the current code")

// slaReportTOML has three policies in three zones: office on London
// business hours (waiting pauses the clocks; the ladder warns at 75% of
// the response target), us on New York hours with wall-time targets and
// no warning step, and always on 24x7 with a 50% warning.
const slaReportTOML = `
[store]
path = "helpdesk.db"
[smtp]
host = "127.0.0.1"
security = "none"
from = "Example Support <support@example.com>"
[[mailbox]]
name = "support"
address = "support@example.com"
host = "127.0.0.1"
security = "none"
password = "${X}"
team = "first-line"
[[agent]]
email = "alice@example.com"
name = "Alice"
team = "first-line"
[[agent]]
email = "maria@example.com"
name = "Maria"
team = "first-line"
manager = true
[[calendar]]
name = "london"
timezone = "Europe/London"
[calendar.hours]
weekdays = ["09:00-17:00"]
[[calendar]]
name = "new-york"
timezone = "America/New_York"
[calendar.hours]
weekdays = ["09:00-17:00"]
[sla]
default_policy = "office"
[[policy]]
name = "office"
calendar = "london"
pause_when_pending = true
[[policy.target]]
priority = "critical"
response = "2 business hours"
resolution = "1 business day"
[[policy.target]]
priority = "high"
response = "4 business hours"
resolution = "3 business days"
[[policy.target]]
priority = "low"
response = "1 business day"
[[policy.escalation]]
clock = "response"
at = "75%"
notify = ["assignee", "team"]
[[policy.escalation]]
clock = "response"
at = "100%"
notify = ["managers"]
[[policy]]
name = "us"
calendar = "new-york"
[[policy.target]]
priority = "critical"
response = "1h"
resolution = "8h"
[[policy.escalation]]
clock = "response"
at = "100%"
notify = ["managers"]
[[policy]]
name = "always"
calendar = "24x7"
[[policy.target]]
priority = "high"
response = "30m"
[[policy.escalation]]
clock = "response"
at = "50%"
notify = ["team"]
`

// slaReportNow is the report's "now": Tuesday 24 November 2026, 10:25 UTC
// (10:25 in London, 05:25 in New York).
var slaReportNow = time.Date(2026, 11, 24, 10, 25, 0, 0, time.UTC)

// seedSLAReport writes the configuration and a database of tickets in
// every standing the report names, with clocks from the policies as the
// desk sets them, and returns the two paths.
func seedSLAReport(t *testing.T) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath, dbPath = filepath.Join(dir, "helpdesk.toml"), filepath.Join(dir, "helpdesk.db")
	if err := os.WriteFile(cfgPath, []byte(slaReportTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Parse(cfgPath, []byte(slaReportTOML), config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st, err := store.Open(context.Background(), dbPath, store.Options{Now: func() time.Time { return slaReportNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	type seed struct {
		policy, subject, customer, assignee, team string
		prio                                      helpdesk.Priority
		filed                                     string
		status                                    helpdesk.Status
		answered, resolved, pausedFrom            string // UTC, "" for none
	}
	seeds := []seed{
		// Open tickets, one per standing.
		{policy: "office", prio: helpdesk.Critical, filed: "2026-11-23 15:00:00", subject: "Checkout down for all customers",
			customer: "gina@shop.example", assignee: "alice@example.com", team: "first-line"}, // due Mon 17:00: breached 17 h 25 min
		{policy: "us", prio: helpdesk.Critical, filed: "2026-11-24 09:24:24", subject: "Payments failing",
			customer: "ops@retail.example", team: "first-line"}, // due 10:24:24: 36 s overdue
		{policy: "always", prio: helpdesk.High, filed: "2026-11-24 10:05:00", subject: "Slow search",
			customer: "hal@web.example", assignee: "maria@example.com"}, // due 10:35, 50% at 10:20: at risk
		{policy: "us", prio: helpdesk.Critical, filed: "2026-11-24 10:00:00", subject: "API errors",
			customer: "dev@api.example"}, // due 11:00, no warning step: at risk from 10:00
		{policy: "office", prio: helpdesk.High, filed: "2026-11-24 09:00:00", subject: "Reports are late",
			customer: "ann@shop.example", assignee: "alice@example.com", team: "first-line"}, // due 13:00, 75% at 12:00: on track
		{policy: "office", prio: helpdesk.High, filed: "2026-11-23 09:00:00", answered: "2026-11-23 09:00:36", subject: "Export button greyed out",
			customer: "ben@shop.example", assignee: "alice@example.com", team: "first-line"}, // resolution due Thu 09:00 (3 business days)
		{policy: "office", prio: helpdesk.Low, filed: "2026-11-20 11:00:00", status: helpdesk.StatusPending, pausedFrom: "2026-11-20 12:00:00",
			subject: "Typo on the invoice", customer: "cat@shop.example", team: "first-line"}, // waiting on the customer: paused
		{policy: "office", prio: helpdesk.Change, filed: "2026-11-19 10:00:00", subject: "Please add a dark mode",
			customer: "dan@shop.example"}, // no target
		// A subject and a customer name written to break the table.
		{policy: "office", prio: helpdesk.Low, filed: "2026-11-24 10:00:00",
			subject:  "Hi\tthere\r\nX-Injected: yes \x1b[31mRED\x1b[0m \u202egnp.exe and a subject far too long to fit",
			customer: "eve\x07@evil.example", team: "first-line"},
		// Closed and resolved in the period, for compliance only.
		{policy: "office", prio: helpdesk.Critical, filed: "2026-11-16 10:00:00", answered: "2026-11-16 10:00:00", resolved: "2026-11-16 12:30:00",
			status: helpdesk.StatusClosed, subject: "Login down", customer: "gina@shop.example"}, // answered in 0 s, resolved in 2 h 30 min
		{policy: "office", prio: helpdesk.Critical, filed: "2026-11-17 16:00:00", answered: "2026-11-18 11:00:00", resolved: "2026-11-19 10:00:00",
			status: helpdesk.StatusResolved, subject: "Orders stuck", customer: "ops@retail.example"}, // response 3 bh (breached), resolution 1 d 1 h business
		{policy: "office", prio: helpdesk.Critical, filed: "2026-11-18 09:00:00", answered: "2026-11-18 09:00:00", resolved: "2026-11-18 15:00:00",
			status: helpdesk.StatusClosed, subject: "Checkout slow", customer: "ann@shop.example"}, // answered at once: the median is 0 s
		{policy: "us", prio: helpdesk.Critical, filed: "2026-11-10 15:00:00", answered: "2026-11-10 15:20:00", resolved: "2026-11-11 01:00:00",
			status: helpdesk.StatusResolved, subject: "Cards declined", customer: "dev@api.example"}, // resolved 10 h: breached
		// Spam is left out of compliance; before the period, out of it.
		{policy: "office", prio: helpdesk.Low, filed: "2026-11-20 10:00:00", status: helpdesk.StatusSpam, subject: "Cheap watches", customer: "spam@spam.example"},
		{policy: "office", prio: helpdesk.Critical, filed: "2026-10-01 10:00:00", answered: "2026-10-01 16:00:00", resolved: "2026-10-02 10:00:00",
			status: helpdesk.StatusClosed, subject: "Old outage", customer: "gina@shop.example"},
	}
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		for _, s := range seeds {
			tk := &helpdesk.Ticket{Subject: s.subject, Customer: s.customer, Policy: s.policy, Priority: s.prio,
				Assignee: s.assignee, Team: s.team, Status: s.status, CreatedAt: utc(s.filed)}
			if tk.Status == "" {
				tk.Status = helpdesk.StatusOpen
			}
			if s.answered != "" {
				tk.FirstResponseAt = utc(s.answered)
			}
			if s.resolved != "" {
				tk.ResolvedAt = utc(s.resolved)
				if tk.Status == helpdesk.StatusClosed {
					tk.ClosedAt = tk.ResolvedAt
				}
			}
			if s.pausedFrom != "" {
				tk.Pauses = []helpdesk.Pause{{From: utc(s.pausedFrom)}}
			}
			// As the desk does (desk/clocks.go): deadlines as if the
			// clocks ran, the risk instant of the running ones.
			p := cfg.Policies[s.policy]
			c := p.Deadlines(tk)
			tk.ResponseDue, tk.ResolutionDue, tk.RiskAt = c.ResponseDue, c.ResolutionDue, p.RiskAt(tk)
			if err := tx.CreateTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfgPath, dbPath
}

// runSLAReport runs "helpdeskd sla" at slaReportNow.
func runSLAReport(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := slaReport(context.Background(), args, slaReportNow, &out, &errb); err != nil {
		t.Fatalf("sla %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// TestSLAReportGolden holds the text of "helpdeskd sla" over a seeded
// store to testdata/sla_report.txt: human durations, deadlines in each
// policy's zone, assignee, team and customer, met and breached counts
// with their denominators, 0 shown as 0 s, and outsiders' text kept in
// its column.
func TestSLAReportGolden(t *testing.T) {
	cfgPath, dbPath := seedSLAReport(t)
	got := runSLAReport(t, "-config", cfgPath, "-db", dbPath)
	path := filepath.Join("testdata", "sla_report.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/helpdeskd -run Golden -update writes it)", err)
	}
	if d := testenv.LineDiff(string(want), got); d != "" {
		t.Errorf("sla report differs from %s (go test ./cmd/helpdeskd -run Golden -update accepts it):\n%s", path, d)
	}
	for _, c := range got {
		if c == '\x1b' || c == '\u202e' || c == '\a' || c == '\r' {
			t.Errorf("the report carries control character %U", c)
		}
	}
}

// TestSLAReportJSON: --json keeps every key it had and adds the policy,
// state, assignee, team and customer of open tickets and the number of
// tickets behind the percentiles.
func TestSLAReportJSON(t *testing.T) {
	cfgPath, dbPath := seedSLAReport(t)
	out := runSLAReport(t, "-config", cfgPath, "-db", dbPath, "--json")
	var rep struct {
		Now        string                       `json:"now"`
		Open       []map[string]json.RawMessage `json:"open"`
		Compliance []map[string]json.RawMessage `json:"compliance"`
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &top); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	json.Unmarshal([]byte(out), &rep)
	for _, k := range []string{"now", "since", "until", "open", "compliance"} {
		if _, ok := top[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if len(rep.Open) != 9 || len(rep.Compliance) == 0 {
		t.Fatalf("%d open, %d compliance rows:\n%s", len(rep.Open), len(rep.Compliance), out)
	}
	for _, k := range []string{"ref", "priority", "status", "due", "seconds_left", "breached", "subject",
		"policy", "state", "assignee", "team", "customer"} {
		if _, ok := rep.Open[0][k]; !ok {
			t.Errorf("open ticket lacks %q", k)
		}
	}
	for _, k := range []string{"policy", "priority", "tickets", "response_met", "response_breached", "response_open",
		"resolution_met", "resolution_breached", "resolution_open", "response_p50_business_seconds",
		"response_p90_business_seconds", "resolution_p50_business_seconds", "resolution_p90_business_seconds",
		"responded", "resolved"} {
		if _, ok := rep.Compliance[0][k]; !ok {
			t.Errorf("compliance row lacks %q", k)
		}
	}
	states := map[string]int{}
	for _, o := range rep.Open {
		var s string
		json.Unmarshal(o["state"], &s)
		states[s]++
	}
	if want := map[string]int{"breached": 2, "at risk": 2, "on track": 3, "paused": 1, "no target": 1}; !equalCounts(states, want) {
		t.Errorf("states = %v, want %v", states, want)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d          time.Duration
		human, due string
	}{
		{0, "0 s", "due now"},
		{400 * time.Millisecond, "0 s", "in 0 s"},
		{36 * time.Second, "36 s", "in 36 s"},
		{-36 * time.Second, "36 s", "36 s overdue"},
		{time.Minute, "1 min", "in 1 min"},
		{5*time.Minute + 12*time.Second, "5 min 12 s", "in 5 min 12 s"},
		{59*time.Minute + 59*time.Second, "59 min 59 s", "in 59 min 59 s"}, // cut, never rounded up to an hour
		{time.Hour, "1 h", "in 1 h"},
		{3*time.Hour + 5*time.Minute + 59*time.Second, "3 h 5 min", "in 3 h 5 min"},
		{-(17*time.Hour + 25*time.Minute), "17 h 25 min", "17 h 25 min overdue"},
		{24 * time.Hour, "1 d", "in 1 d"},
		{2*24*time.Hour + 3*time.Hour + 59*time.Minute, "2 d 3 h", "in 2 d 3 h"},
		{237*time.Hour + 36*time.Minute, "9 d 21 h", "in 9 d 21 h"},
		{-400 * 24 * time.Hour, "400 d", "400 d overdue"},
	} {
		if got := desk.HumanDuration(tc.d); got != tc.human {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.human)
		}
		if got := desk.TimeLeft(tc.d); got != tc.due {
			t.Errorf("timeLeft(%v) = %q, want %q", tc.d, got, tc.due)
		}
	}
}

func TestMetRate(t *testing.T) {
	for _, tc := range []struct {
		met, breached int
		want          string
	}{
		{0, 0, "none yet"},
		{4, 1, "80% (4 of 5)"},
		{5, 0, "100% (5 of 5)"},
		{0, 3, "0% (0 of 3)"},
		{199, 1, "99% (199 of 200)"}, // never 100% while one was missed
		{1, 999, "1% (1 of 1000)"},   // never 0% while one was met
	} {
		if got := desk.MetRate(tc.met, tc.breached); got != tc.want {
			t.Errorf("metRate(%d, %d) = %q, want %q", tc.met, tc.breached, got, tc.want)
		}
	}
}
