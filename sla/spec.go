package sla

import (
	"fmt"
	"strings"
	"time"
)

// CalendarSpec describes a business calendar as the configuration states it.
// NewCalendar turns it into a Calendar.
type CalendarSpec struct {
	Name     string
	TimeZone string                       // IANA name, e.g. "Europe/London"
	Always   bool                         // 24x7: every instant is business time
	Hours    map[time.Weekday][]TimeRange // opening hours per weekday; a missing day is closed
	Regions  []string                     // holiday regions, see Regions
	Dates    []DateRange                  // extra closed days (holidays, closures)
}

// TimeRange is an opening range within a day, as minutes after local
// midnight; End is exclusive and may be 24*60.
type TimeRange struct {
	Start, End int
}

// ParseTimeRange reads "08:30-17:00" (also "0830-1700", "24:00" as an end).
func ParseTimeRange(s string) (TimeRange, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return TimeRange{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(a)
	if err != nil {
		return TimeRange{}, fmt.Errorf("hours %q: %w", s, err)
	}
	end, err := parseClock(b)
	if err != nil {
		return TimeRange{}, fmt.Errorf("hours %q: %w", s, err)
	}
	if end <= start {
		return TimeRange{}, fmt.Errorf("hours %q: closing time must be after opening time", s)
	}
	return TimeRange{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
		if len(s) == 4 {
			if _, err := fmt.Sscanf(s, "%02d%02d", &h, &m); err != nil {
				return 0, fmt.Errorf("bad time %q", s)
			}
		} else {
			return 0, fmt.Errorf("bad time %q", s)
		}
	}
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// DateRange is a closed span of whole local days, From to To inclusive.
type DateRange struct {
	From, To time.Time // dates at midnight UTC; only year, month and day count
	Name     string    // what the closure is, e.g. "Office move"; may be empty
}

// ParseDateRange reads "2026-12-24" or "2026-12-24..2027-01-01".
func ParseDateRange(s string) (DateRange, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "..")
	from, err := time.Parse(time.DateOnly, strings.TrimSpace(a))
	if err != nil {
		return DateRange{}, fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", s)
	}
	to := from
	if isRange {
		if to, err = time.Parse(time.DateOnly, strings.TrimSpace(b)); err != nil {
			return DateRange{}, fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", s)
		}
		if to.Before(from) {
			return DateRange{}, fmt.Errorf("date %q: end before start", s)
		}
	}
	return DateRange{From: from, To: to}, nil
}
