package digest

import (
	"bytes"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/sla"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestSchedule: the latest instant at or before a time, the next after
// it, and the period each ends, named for good and grouped per week
// (daily) or month (weekly); 08:00 stays 08:00 in London across the
// change to summer time.
func TestSchedule(t *testing.T) {
	london := mustLoc(t, "Europe/London")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	daily, err := NewSchedule(Daily, 8, 0, 0, london)
	if err != nil {
		t.Fatal(err)
	}
	weekly, err := NewSchedule(Weekly, 17, 30, time.Friday, london)
	if err != nil {
		t.Fatal(err)
	}
	weekdays, err := NewSchedule("0 7 * * 1-5", 0, 0, 0, london)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                    string
		s                       *Schedule
		at                      string
		latest, next            string
		key, thread, threadName string
		from                    string
	}{
		{"daily, after 08:00", daily, "2026-11-24T10:25:00Z", "2026-11-24T08:00:00Z", "2026-11-25T08:00:00Z",
			"daily 2026-11-24", "daily 2026-W48", "week of 23 Nov 2026", "2026-11-23T08:00:00Z"},
		{"daily, at 08:00", daily, "2026-11-24T08:00:00Z", "2026-11-24T08:00:00Z", "2026-11-25T08:00:00Z",
			"daily 2026-11-24", "daily 2026-W48", "week of 23 Nov 2026", "2026-11-23T08:00:00Z"},
		{"daily, before 08:00", daily, "2026-11-24T07:59:59Z", "2026-11-23T08:00:00Z", "2026-11-24T08:00:00Z",
			"daily 2026-11-23", "daily 2026-W48", "week of 23 Nov 2026", "2026-11-22T08:00:00Z"},
		{"daily, summer time begins", daily, "2027-03-28T09:00:00Z", "2027-03-28T07:00:00Z", "2027-03-29T07:00:00Z",
			"daily 2027-03-28", "daily 2027-W12", "week of 22 Mar 2027", "2027-03-27T08:00:00Z"},
		{"weekly", weekly, "2026-11-24T10:25:00Z", "2026-11-20T17:30:00Z", "2026-11-27T17:30:00Z",
			"weekly 2026-W47", "weekly 2026-11", "November 2026", "2026-11-13T17:30:00Z"},
		{"cron, Monday after the weekend", weekdays, "2026-11-23T09:00:00Z", "2026-11-23T07:00:00Z", "2026-11-24T07:00:00Z",
			"cron 20261123T0700Z", "cron 2026-11", "November 2026", "2026-11-20T07:00:00Z"},
		{"cron, Tuesday", weekdays, "2026-11-24T09:00:00Z", "2026-11-24T07:00:00Z", "2026-11-25T07:00:00Z",
			"cron 20261124T0700Z", "cron 2026-W48", "week of 23 Nov 2026", "2026-11-23T07:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := utc(tc.at)
			latest := tc.s.Latest(at)
			if !latest.Equal(utc(tc.latest)) {
				t.Errorf("Latest = %s, want %s", latest.UTC().Format(time.RFC3339), tc.latest)
			}
			if next := tc.s.Next(at); !next.Equal(utc(tc.next)) {
				t.Errorf("Next = %s, want %s", next.UTC().Format(time.RFC3339), tc.next)
			}
			p, err := tc.s.Period(latest)
			if err != nil {
				t.Fatal(err)
			}
			if p.Key != tc.key || p.Thread != tc.thread || p.ThreadName != tc.threadName || !p.From.Equal(utc(tc.from)) || !p.To.Equal(latest) {
				t.Errorf("Period = %+v, want %s, %s, %s from %s", p, tc.key, tc.thread, tc.threadName, tc.from)
			}
		})
	}
	if _, err := NewSchedule("every day", 0, 0, 0, london); err == nil {
		t.Error("a bad spec was accepted")
	}
}

// TestChart: the trend is a PNG of the announced size, also with weeks
// that decided nothing and a clock decided in one week only.
func TestChart(t *testing.T) {
	start := time.Date(2026, 8, 25, 10, 25, 0, 0, time.UTC)
	var weeks []sla.WeekFigures
	for i := range 13 {
		w := sla.WeekFigures{Start: start.AddDate(0, 0, 7*i)}
		if i%4 != 1 {
			w.ResponseMet, w.ResponseBreached = 10+i, i%3
		}
		if i == 12 {
			w.ResolutionMet, w.ResolutionBreached = 1, 1
		}
		weeks = append(weeks, w)
	}
	b, err := Chart(weeks)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got.Dx() != ChartWidth || got.Dy() != ChartHeight {
		t.Errorf("chart is %v, want %dx%d", got, ChartWidth, ChartHeight)
	}
	if out := os.Getenv("DIGEST_CHART_OUT"); out != "" {
		os.WriteFile(out, b, 0o644)
	}
	if decided(make([]sla.WeekFigures, 13)) {
		t.Error("empty weeks decided a clock")
	}
}
