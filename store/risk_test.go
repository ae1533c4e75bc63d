package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// TestSLAOpenCounts: open and pending tickets whose risk instant has come
// are counted per policy and priority, breached when a running clock is
// past its deadline (a response clock only until the first response),
// at risk otherwise; closed, resolved and not-yet-at-risk ones are not.
func TestSLAOpenCounts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	add := func(policy string, prio helpdesk.Priority, mod func(tk *helpdesk.Ticket)) {
		t.Helper()
		tk := newTicket("a@example.com")
		tk.Policy, tk.Priority = policy, prio
		mod(tk)
		if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateTicket(tk) }); err != nil {
			t.Fatal(err)
		}
	}
	h := time.Hour
	// gold critical: at risk; breached on response; breached on resolution
	// after a late first response; answered late, resolution not yet due:
	// at risk (the response clock has stopped).
	add("gold", helpdesk.Critical, func(tk *helpdesk.Ticket) {
		tk.RiskAt, tk.ResponseDue, tk.ResolutionDue = now.Add(-h/2), now.Add(h/2), now.Add(4*h)
	})
	add("gold", helpdesk.Critical, func(tk *helpdesk.Ticket) {
		tk.RiskAt, tk.ResponseDue, tk.ResolutionDue = now.Add(-2*h), now.Add(-time.Second), now.Add(4*h)
	})
	add("gold", helpdesk.Critical, func(tk *helpdesk.Ticket) {
		tk.FirstResponseAt = now.Add(-3 * h)
		tk.RiskAt, tk.ResponseDue, tk.ResolutionDue = now.Add(-2*h), now.Add(-2*h), now
	})
	add("gold", helpdesk.Critical, func(tk *helpdesk.Ticket) {
		tk.FirstResponseAt = now.Add(-h)
		tk.RiskAt, tk.ResponseDue, tk.ResolutionDue = now.Add(-2*h), now.Add(-2*h), now.Add(h)
	})
	// gold high, pending (clocks running: the policy does not pause): at risk.
	add("gold", helpdesk.High, func(tk *helpdesk.Ticket) {
		tk.Status = helpdesk.StatusPending
		tk.RiskAt, tk.ResolutionDue = now, now.Add(h)
	})
	// Not counted: risk still to come, no risk instant, resolved, closed.
	add("gold", helpdesk.High, func(tk *helpdesk.Ticket) { tk.RiskAt, tk.ResponseDue = now.Add(time.Second), now.Add(h) })
	add("gold", helpdesk.High, func(tk *helpdesk.Ticket) { tk.ResponseDue = now.Add(-h) })
	add("gold", helpdesk.Low, func(tk *helpdesk.Ticket) {
		tk.Status, tk.RiskAt, tk.ResponseDue = helpdesk.StatusResolved, now.Add(-2*h), now.Add(-h)
	})
	add("gold", helpdesk.Low, func(tk *helpdesk.Ticket) {
		tk.Status, tk.RiskAt, tk.ResponseDue = helpdesk.StatusClosed, now.Add(-2*h), now.Add(-h)
	})
	// office low: breached on response.
	add("office", helpdesk.Low, func(tk *helpdesk.Ticket) { tk.RiskAt, tk.ResponseDue = now.Add(-2*h), now.Add(-h) })

	got, err := s.SLAOpenCounts(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []SLAOpenCount{
		{Policy: "gold", Priority: helpdesk.Critical, AtRisk: 2, Breached: 2},
		{Policy: "gold", Priority: helpdesk.High, AtRisk: 1},
		{Policy: "office", Priority: helpdesk.Low, Breached: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SLAOpenCounts = %+v\nwant %+v", got, want)
	}

	// The count reads the tickets_risk index, not the table.
	at := fmtTime(now)
	rows, err := s.read.QueryContext(ctx, `EXPLAIN QUERY PLAN `+slaOpenCountsQuery, at, at, at)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX tickets_risk") {
		t.Errorf("query plan %q does not use tickets_risk", p)
	}
}

// TestRiskUpgrade: open tickets stored before migration 0009 get their
// nearest running deadline as risk instant (so a breached one counts at
// once); stopped clocks and closed tickets get none.
func TestRiskUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v4.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	v := 0
	for _, m := range ms {
		if m.version >= 9 {
			break
		}
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		v = m.version
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		t.Fatal(err)
	}
	const t0 = "2026-11-20T09:00:00.000Z"
	tickets := []struct {
		status, first, resp, resol any
	}{
		{"open", nil, "2026-11-20T10:00:00.000Z", "2026-11-20T13:00:00.000Z"},                        // response nearer
		{"open", "2026-11-20T09:30:00.000Z", "2026-11-20T10:00:00.000Z", "2026-11-20T13:00:00.000Z"}, // answered: resolution
		{"pending", nil, "2026-11-20T15:00:00.000Z", "2026-11-20T13:00:00.000Z"},                     // resolution nearer
		{"open", nil, nil, nil}, // no target
		{"closed", nil, "2026-11-20T10:00:00.000Z", "2026-11-20T13:00:00.000Z"}, // closed
	}
	for i, tk := range tickets {
		if _, err := db.Exec(`INSERT INTO tickets (number, ref, token, customer, priority, status, created_at, updated_at,
			first_response_at, response_due, resolution_due) VALUES (?, ?, 'tok', 'a@x', 'high', ?, ?, ?, ?, ?, ?)`,
			i+1, fmt.Sprintf("HD-%d", i+1), tk.status, t0, t0, tk.first, tk.resp, tk.resol); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openTest(t, path)
	var got []string
	if err := s.View(ctx, func(tx *ReadTx) error {
		for i := range tickets {
			tk, err := tx.TicketByRef(fmt.Sprintf("HD-%d", i+1))
			if err != nil {
				return err
			}
			r := "-"
			if !tk.RiskAt.IsZero() {
				r = tk.RiskAt.Format("15:04")
			}
			got = append(got, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "10:00 13:00 13:00 - -"; strings.Join(got, " ") != want {
		t.Errorf("risk_at after the upgrade %q, want %q", strings.Join(got, " "), want)
	}
}

// BenchmarkSLAOpenCounts is one /metrics read of the at-risk and breached
// gauges over 100,000 open tickets, of which 1,000 are at risk or
// breached (issue 19): the index makes it cost those 1,000.
func BenchmarkSLAOpenCounts(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s, err := Open(ctx, filepath.Join(b.TempDir(), "h.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const open, hot, batch = 100_000, 1_000, 10_000
	prios := []helpdesk.Priority{helpdesk.Critical, helpdesk.High, helpdesk.Medium, helpdesk.Low}
	for start := 0; start < open; start += batch {
		err := s.Update(ctx, func(tx *Tx) error {
			for i := start; i < start+batch; i++ {
				tk := newTicket(fmt.Sprintf("c%d@shop.example", i))
				tk.Policy, tk.Priority = []string{"gold", "standard"}[i%2], prios[i%4]
				tk.ResponseDue = now.Add(time.Duration(i%7200) * time.Second)
				tk.RiskAt = tk.ResponseDue.Add(-time.Hour) // the first 1,000 have come, half of them breached
				if i >= hot {
					tk.ResponseDue = now.Add(2*time.Hour + time.Duration(i)*time.Second)
					tk.RiskAt = tk.ResponseDue.Add(-time.Hour)
				} else if i%2 == 0 {
					tk.ResponseDue = now.Add(-time.Duration(i+1) * time.Second)
				}
				if err := tx.CreateTicket(tk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		cs, err := s.SLAOpenCounts(ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, c := range cs {
			n += c.AtRisk + c.Breached
		}
		if n != hot {
			b.Fatalf("counted %d, want %d", n, hot)
		}
	}
}
