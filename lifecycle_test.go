package helpdesk

import (
	"testing"
	"time"
)

func TestSetStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name       string
		steps      []Status
		wantPauses []Pause
		resolved   bool
		closed     bool
	}{
		{"pending pauses, open resumes", []Status{StatusPending, StatusOpen},
			[]Pause{{From: at(1), To: at(2)}}, false, false},
		{"pending twice keeps one pause", []Status{StatusPending, StatusPending, StatusOpen},
			[]Pause{{From: at(1), To: at(3)}}, false, false},
		{"resolved then reopened: the resolved span is a pause", []Status{StatusResolved, StatusOpen},
			[]Pause{{From: at(1), To: at(2), Reason: PauseResolved}}, false, false},
		{"resolved then pending: reopened and waiting", []Status{StatusResolved, StatusPending},
			[]Pause{{From: at(1), To: at(2), Reason: PauseResolved}, {From: at(2)}}, false, false},
		{"pending then resolved: the pause ends", []Status{StatusPending, StatusResolved},
			[]Pause{{From: at(1), To: at(2)}}, true, false},
		{"closed stops everything", []Status{StatusClosed}, nil, true, true},
		{"spam then open", []Status{StatusSpam, StatusOpen}, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := &Ticket{Status: StatusOpen, CreatedAt: t0}
			for i, st := range tt.steps {
				tk.SetStatus(st, at(i+1))
			}
			if tk.Status != tt.steps[len(tt.steps)-1] {
				t.Errorf("status = %s", tk.Status)
			}
			if len(tk.Pauses) != len(tt.wantPauses) {
				t.Fatalf("pauses = %+v, want %+v", tk.Pauses, tt.wantPauses)
			}
			for i := range tt.wantPauses {
				if tk.Pauses[i] != tt.wantPauses[i] {
					t.Errorf("pause %d = %+v, want %+v", i, tk.Pauses[i], tt.wantPauses[i])
				}
			}
			if !tk.ResolvedAt.IsZero() != tt.resolved || !tk.ClosedAt.IsZero() != tt.closed {
				t.Errorf("resolved at %v, closed at %v", tk.ResolvedAt, tk.ClosedAt)
			}
		})
	}
}
