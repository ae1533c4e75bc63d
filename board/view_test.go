package board

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// TestUrgentListBounded: of 250 breached tickets the page lists the 200
// most overdue and says how many more there are, losing none from the
// counts.
func TestUrgentListBounded(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var open []*helpdesk.Ticket
	for i := range 250 {
		open = append(open, &helpdesk.Ticket{ID: int64(i + 1), Ref: fmt.Sprintf("HD-%d", 1000+i), Status: helpdesk.StatusOpen,
			Priority: helpdesk.High, Policy: "p", CreatedAt: now.Add(-48 * time.Hour),
			ResponseDue: now.Add(-time.Duration(i+1) * time.Minute)})
	}
	p := buildOpen(open, Options{}, now)
	if len(p.Urgent) != MaxUrgent || p.More != 50 || p.Breached != 250 || p.Open != 250 {
		t.Fatalf("%d listed, %d more, %d breached, %d open", len(p.Urgent), p.More, p.Breached, p.Open)
	}
	if p.Urgent[0].Ref != "HD-1249" || p.Urgent[0].Left != "4 h 10 min overdue" {
		t.Errorf("first row %s %s, want the most overdue, HD-1249", p.Urgent[0].Ref, p.Urgent[0].Left)
	}
	p.figures = buildFigures(&History{}, Options{}, now)
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "and 50 more, not listed here") || strings.Contains(buf.String(), "HD-1049<") {
		t.Errorf("the page does not bound the list or say so")
	}
}
