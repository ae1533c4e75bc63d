package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

const triageReportTOML = `
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
policy = "office"
[[mailbox]]
name = "vip"
address = "vip@example.com"
host = "127.0.0.1"
security = "none"
password = "${X}"
team = "first-line"
policy = "gold"
[[agent]]
email = "alice@example.com"
name = "Alice"
team = "first-line"
[[agent]]
email = "maria@example.com"
name = "Maria"
team = "first-line"
manager = true
[sla]
default_policy = "office"
[[policy]]
name = "office"
calendar = "24x7"
[[policy.target]]
priority = "critical"
response = "2h"
[[policy]]
name = "gold"
calendar = "24x7"
[[policy.target]]
priority = "critical"
response = "1h"
`

// triageReportDesk is a desk on a temp database, fed through Ingest (the
// fetcher's path without IMAP), with a settable clock.
type triageReportDesk struct {
	t   *testing.T
	d   *desk.Desk
	st  *store.Store
	db  string
	now time.Time
	uid uint32
}

func newTriageReportDesk(t *testing.T) *triageReportDesk {
	t.Helper()
	dir := t.TempDir()
	cfg, _, err := config.Parse(filepath.Join(dir, "helpdesk.toml"), []byte(triageReportTOML), config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	td := &triageReportDesk{t: t, db: filepath.Join(dir, "helpdesk.db"), now: time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return td.now }
	if td.st, err = store.Open(context.Background(), td.db, store.Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.st.Close() })
	tri, err := triage.New(triageRules(cfg))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if td.d, err = desk.New(deskConfig(cfg), desk.Options{Store: td.st, Triage: tri, Templates: tmpl, Now: clock}); err != nil {
		t.Fatal(err)
	}
	return td
}

func (td *triageReportDesk) ingest(box, raw string) desk.Result {
	td.t.Helper()
	td.uid++
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	msg, err := message.Parse([]byte(raw), message.ParseOptions{})
	if err != nil {
		td.t.Fatalf("parse: %v", err)
	}
	res, err := td.d.Ingest(context.Background(), desk.Incoming{Mailbox: box, UIDValidity: 1, UID: td.uid, Message: msg, Raw: []byte(raw)})
	if err != nil {
		td.t.Fatalf("ingest: %v", err)
	}
	return res
}

// open files a customer mail and returns the ticket's reference and the
// priority triage gave it.
func (td *triageReportDesk) open(box, from, subject, body string) (string, helpdesk.Priority) {
	td.t.Helper()
	raw := fmt.Sprintf("From: %s\nTo: %s@example.com\nSubject: %s\nMessage-ID: <c%d@customer.example>\nDate: %s\n\n%s\n",
		from, box, subject, td.uid+1, td.now.Format(time.RFC1123Z), body)
	ref := td.ingest(box, raw).Ref
	if ref == "" {
		td.t.Fatalf("no ticket for %q", subject)
	}
	return ref, td.ticket(ref).Priority
}

func (td *triageReportDesk) ticket(ref string) *helpdesk.Ticket {
	td.t.Helper()
	var tk *helpdesk.Ticket
	if err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		tk, err = tx.TicketByRef(ref)
		return err
	}); err != nil {
		td.t.Fatal(err)
	}
	return tk
}

// setPriority has an agent send "#priority level" from their own reply
// address (the one on their notification for the ticket).
func (td *triageReportDesk) setPriority(agent, box, ref string, level helpdesk.Priority) {
	td.t.Helper()
	rows, err := td.st.DueOutbox(context.Background(), td.now.Add(1000*time.Hour), 10000)
	if err != nil {
		td.t.Fatal(err)
	}
	addr := ""
	for _, m := range rows {
		for _, a := range m.To {
			if a.Email == agent && strings.Contains(m.Subject, ref) && len(m.ReplyTo) == 1 {
				addr = m.ReplyTo[0].Email
			}
		}
	}
	if addr == "" {
		td.t.Fatalf("no notification to %s for %s", agent, ref)
	}
	td.now = td.now.Add(10 * time.Minute)
	raw := fmt.Sprintf("From: %s\nTo: %s\nSubject: Re: %s\nMessage-ID: <a%d@example.com>\nDate: %s\n\n#priority %s\n",
		agent, addr, ref, td.uid+1, td.now.Format(time.RFC1123Z), level)
	td.ingest(box, raw)
	if got := td.ticket(ref).Priority; got != level {
		td.t.Fatalf("%s after #priority %s from %s: priority %s", ref, level, agent, got)
	}
}

const (
	trOutage = "The whole store is down for all customers since 09:40. Every page shows HTTP 503.\n\nSteps: open https://shop.example/"
	trTypo   = "There is a typo in the footer of the login page."
)

func runTriageReport(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := dispatch(context.Background(), append([]string{"triage", "report"}, args...), strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("triage report %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

func TestTriageReport(t *testing.T) {
	td := newTriageReportDesk(t)

	// Before the period: a ticket an agent raised, which --since leaves out.
	td.now = time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)
	old, oldTri := td.open("support", "olga@shop.example", "Typo on the old page", trTypo)
	td.setPriority("alice@example.com", "support", old, helpdesk.Critical)

	td.now = time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	// office: A and B untouched, C raised to critical, D lowered, E changed
	// and changed back.
	a, aTri := td.open("support", "ann@shop.example", "Store down", trOutage)
	b, bTri := td.open("support", "ben@shop.example", "Typo in the footer", trTypo)
	c, cTri := td.open("support", "cat@shop.example", "Footer typo, and checkout?", trTypo)
	td.setPriority("alice@example.com", "support", c, helpdesk.Critical)
	d, dTri := td.open("support", "dan@shop.example", "Shop down", trOutage)
	td.setPriority("alice@example.com", "support", d, helpdesk.High)
	e, eTri := td.open("support", "eve@shop.example", "Login typo", trTypo)
	td.setPriority("alice@example.com", "support", e, helpdesk.High)
	td.setPriority("maria@example.com", "support", e, eTri)
	// gold: F claimed urgent and was set to medium by Maria; G untouched.
	f, fTri := td.open("vip", "fay@vip.example", "[URGENT] typo in footer", trTypo)
	td.setPriority("maria@example.com", "vip", f, helpdesk.Medium)
	g, gTri := td.open("vip", "gus@vip.example", "Everything down", trOutage)

	// What the scenario relies on about triage itself.
	if aTri != helpdesk.Critical || dTri != helpdesk.Critical || gTri != helpdesk.Critical {
		t.Fatalf("outages triaged %s, %s, %s; want critical", aTri, dTri, gTri)
	}
	for _, p := range []helpdesk.Priority{oldTri, bTri, cTri, eTri, fTri} {
		if p != helpdesk.Low {
			t.Fatalf("a typo triaged %s, want low", p)
		}
	}
	if cl := td.ticket(f).Claimed; cl != helpdesk.Critical {
		t.Fatalf("F claimed %q, want critical", cl)
	}
	_, _, _ = a, b, g

	out := runTriageReport(t, "-db", td.db, "--since", "2026-11-01", "--until", "2026-12-01", "--json")
	var rep struct {
		Since    string   `json:"since"`
		Until    string   `json:"until"`
		Levels   []string `json:"levels"`
		Policies []struct {
			Policy         string                    `json:"policy"`
			Tickets        int                       `json:"tickets"`
			Exact          int                       `json:"exact"`
			ExactRate      float64                   `json:"exact_rate"`
			Unchanged      int                       `json:"confirmed_by_no_change"`
			Lower          int                       `json:"triage_lower"`
			Higher         int                       `json:"triage_higher"`
			CriticalsLower int                       `json:"criticals_ranked_lower"`
			Matrix         map[string]map[string]int `json:"matrix"`
		} `json:"policies"`
		Misses []struct {
			Ref     string   `json:"ref"`
			Subject string   `json:"subject"`
			Policy  string   `json:"policy"`
			Triage  string   `json:"triage"`
			Final   string   `json:"final"`
			SetBy   string   `json:"set_by"`
			Changes int      `json:"changes"`
			Reasons []string `json:"reasons"`
			Claimed *string  `json:"claimed"`
		} `json:"misses"`
		Skipped []string `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Every documented key is there.
	var raw struct {
		Top      map[string]json.RawMessage
		Policies []map[string]json.RawMessage `json:"policies"`
		Misses   []map[string]json.RawMessage `json:"misses"`
	}
	json.Unmarshal([]byte(out), &raw.Top)
	json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"since", "until", "levels", "policies", "misses", "skipped"} {
		if _, ok := raw.Top[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	for _, k := range []string{"policy", "tickets", "exact", "exact_rate", "confirmed_by_no_change", "triage_lower", "triage_higher", "criticals_ranked_lower", "matrix"} {
		if len(raw.Policies) == 0 {
			break
		}
		if _, ok := raw.Policies[0][k]; !ok {
			t.Errorf("policy lacks %q", k)
		}
	}
	for _, k := range []string{"ref", "subject", "policy", "created_at", "triage", "final", "set_by", "set_at", "changes", "reasons", "claimed"} {
		if len(raw.Misses) == 0 {
			break
		}
		if _, ok := raw.Misses[0][k]; !ok {
			t.Errorf("miss lacks %q", k)
		}
	}
	if rep.Since != "2026-11-01T00:00:00Z" || rep.Until != "2026-12-01T00:00:00Z" {
		t.Errorf("period %s .. %s", rep.Since, rep.Until)
	}
	if want := []string{"critical", "high", "medium", "low", "change"}; !reflect.DeepEqual(rep.Levels, want) {
		t.Errorf("levels = %v, want %v", rep.Levels, want)
	}
	if len(rep.Policies) != 2 || rep.Policies[0].Policy != "gold" || rep.Policies[1].Policy != "office" {
		t.Fatalf("policies = %+v, want gold and office", rep.Policies)
	}
	// matrix builds a full matrix with the given [triage][final] counts.
	matrix := func(cells map[[2]string]int) map[string]map[string]int {
		m := map[string]map[string]int{}
		for _, tl := range rep.Levels {
			m[tl] = map[string]int{}
			for _, fl := range rep.Levels {
				m[tl][fl] = cells[[2]string{tl, fl}]
			}
		}
		return m
	}
	gold, office := rep.Policies[0], rep.Policies[1]
	if gold.Tickets != 2 || gold.Exact != 1 || gold.ExactRate != 0.5 || gold.Unchanged != 1 ||
		gold.Lower != 1 || gold.Higher != 0 || gold.CriticalsLower != 0 {
		t.Errorf("gold = %+v", gold)
	}
	if want := matrix(map[[2]string]int{{"critical", "critical"}: 1, {"low", "medium"}: 1}); !reflect.DeepEqual(gold.Matrix, want) {
		t.Errorf("gold matrix = %v\nwant %v", gold.Matrix, want)
	}
	// office: A critical/critical, B and E low/low (E changed and back), C
	// low -> critical, D critical -> high; the old ticket is out of the period.
	if office.Tickets != 5 || office.Exact != 3 || office.ExactRate != 0.6 || office.Unchanged != 2 ||
		office.Lower != 1 || office.Higher != 1 || office.CriticalsLower != 1 {
		t.Errorf("office = %+v", office)
	}
	if want := matrix(map[[2]string]int{{"critical", "critical"}: 1, {"low", "low"}: 2, {"low", "critical"}: 1, {"critical", "high"}: 1}); !reflect.DeepEqual(office.Matrix, want) {
		t.Errorf("office matrix = %v\nwant %v", office.Matrix, want)
	}
	type miss struct{ ref, policy, triage, final, setBy string }
	var got []miss
	for _, m := range rep.Misses {
		got = append(got, miss{m.Ref, m.Policy, m.Triage, m.Final, m.SetBy})
	}
	want := []miss{
		{f, "gold", "low", "medium", "maria@example.com"},
		{c, "office", "low", "critical", "alice@example.com"},
		{d, "office", "critical", "high", "alice@example.com"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("misses = %+v\nwant %+v", got, want)
	}
	fm := rep.Misses[0]
	if fm.Subject != "[URGENT] typo in footer" && !strings.Contains(fm.Subject, "typo in footer") {
		t.Errorf("miss subject = %q", fm.Subject)
	}
	if fm.Claimed == nil || *fm.Claimed != "critical" || len(fm.Reasons) == 0 || fm.Changes != 1 {
		t.Errorf("miss F = %+v: want claimed critical, triage's reasons, one change", fm)
	}
	if want := td.ticket(f).Reasons; !reflect.DeepEqual(fm.Reasons, want) {
		t.Errorf("miss reasons = %q, want the ticket's %q", fm.Reasons, want)
	}
	if rep.Misses[1].Claimed != nil {
		t.Errorf("miss C claimed %q, want null", *rep.Misses[1].Claimed)
	}
	if len(rep.Skipped) != 0 {
		t.Errorf("skipped = %v", rep.Skipped)
	}

	// Without a period bound below, the old ticket (low -> critical) counts.
	out = runTriageReport(t, "-db", td.db, "--since", "2026-09-01", "--until", "2026-12-01", "--json")
	var all struct {
		Policies []struct {
			Policy         string `json:"policy"`
			Tickets        int    `json:"tickets"`
			CriticalsLower int    `json:"criticals_ranked_lower"`
		} `json:"policies"`
		Misses []struct {
			Ref string `json:"ref"`
		} `json:"misses"`
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Policies) != 2 || all.Policies[1].Tickets != 6 || all.Policies[1].CriticalsLower != 2 || len(all.Misses) != 4 || all.Misses[1].Ref != old {
		t.Errorf("with the old ticket: %+v", all)
	}

	// The text form: a table per policy, then the misses.
	text := runTriageReport(t, "-db", td.db, "--since", "2026-11-01", "--until", "2026-12-01")
	t.Logf("\n%s", text)
	for _, s := range []string{
		"TRIAGE vs AGENTS, tickets filed 2026-11-01 .. 2026-12-01",
		"POLICY office: 5 tickets, exact 3/5 (60.0%; 2 confirmed by no change), triage lower 1, higher 1, criticals ranked lower 1",
		"POLICY gold: 2 tickets, exact 1/2 (50.0%; 1 confirmed by no change)",
		"MISSES (3)",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q", s)
		}
	}
	officeTable := text[strings.Index(text, "POLICY office"):strings.Index(text, "MISSES")]
	for _, row := range [][]string{
		{"critical", "1", "1", "0", "0", "0", "2"},
		{"high", "0", "0", "0", "0", "0", "0"},
		{"low", "1", "0", "0", "2", "0", "3"},
	} {
		if !containsFields(officeTable, row) {
			t.Errorf("office table lacks row %v:\n%s", row, officeTable)
		}
	}
	misses := text[strings.Index(text, "MISSES"):]
	if !containsFields(misses, []string{c, "office", "low", "critical", "alice@example.com", "-"}) {
		t.Errorf("misses lack C:\n%s", misses)
	}
	if !containsFields(misses, []string{f, "gold", "low", "medium", "maria@example.com", "critical"}) {
		t.Errorf("misses lack F:\n%s", misses)
	}
}

// containsFields reports whether a line of text starts with the fields.
func containsFields(text string, fields []string) bool {
	for _, line := range strings.Split(text, "\n") {
		fs := strings.Fields(line)
		if len(fs) >= len(fields) && reflect.DeepEqual(fs[:len(fields)], fields) {
			return true
		}
	}
	return false
}

func TestTriageReportRejectsBadDates(t *testing.T) {
	td := newTriageReportDesk(t)
	var out, errb bytes.Buffer
	err := dispatch(context.Background(), []string{"triage", "report", "-db", td.db, "--since", "yesterday"}, strings.NewReader(""), &out, &errb)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--since") {
		t.Fatalf("bad --since: %v (exit %d)", err, exitCode(err))
	}
}
