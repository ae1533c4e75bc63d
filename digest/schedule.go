package digest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule kinds besides a cron spec (config.DigestDaily, DigestWeekly).
const (
	Daily  = "daily"
	Weekly = "weekly"
)

// Schedule says when digests are due and which period each covers. A
// daily or weekly digest is computed on the calendar of its zone (so that
// 08:00 stays 08:00 across a DST change, which robfig/cron v3.0.1's
// time-of-day specs get wrong); a cron spec is robfig/cron's, read in the
// zone. A Schedule is a cron.Schedule.
type Schedule struct {
	kind         string // Daily, Weekly or "cron"
	spec         string
	hour, minute int
	weekday      time.Weekday
	cron         cron.Schedule
	loc          *time.Location
}

var _ cron.Schedule = (*Schedule)(nil)

// NewSchedule returns the schedule of kind (Daily, Weekly or a cron spec)
// at hour:minute (and on weekday, for Weekly) in loc.
func NewSchedule(kind string, hour, minute int, weekday time.Weekday, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := &Schedule{kind: kind, spec: kind, hour: hour, minute: minute, weekday: weekday, loc: loc}
	switch kind {
	case Daily, Weekly:
		if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
			return nil, fmt.Errorf("digest schedule: %02d:%02d is no time of day", hour, minute)
		}
	default:
		if strings.HasPrefix(kind, "TZ=") || strings.HasPrefix(kind, "CRON_TZ=") {
			return nil, fmt.Errorf("digest schedule %q: the zone is given apart", kind)
		}
		c, err := cron.ParseStandard(kind)
		if err != nil {
			return nil, fmt.Errorf("digest schedule %q: %w", kind, err)
		}
		if spec, ok := c.(*cron.SpecSchedule); ok {
			spec.Location = loc
		}
		s.kind, s.cron = "cron", c
	}
	return s, nil
}

// String describes the schedule for logs: "daily at 08:00 Europe/London".
func (s *Schedule) String() string {
	switch s.kind {
	case Daily:
		return fmt.Sprintf("daily at %02d:%02d %s", s.hour, s.minute, s.loc)
	case Weekly:
		return fmt.Sprintf("weekly on %s at %02d:%02d %s", s.weekday, s.hour, s.minute, s.loc)
	}
	return fmt.Sprintf("%q in %s", s.spec, s.loc)
}

// Location is the zone the schedule is read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// fireOn is the daily or weekly instant on the calendar day of day.
func (s *Schedule) fireOn(day time.Time, offset int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+offset, s.hour, s.minute, 0, 0, s.loc)
}

// Next returns the first digest instant after t (cron.Schedule); zero when
// a cron spec never fires again.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.cron != nil {
		return s.cron.Next(t)
	}
	local := t.In(s.loc)
	for i := 0; i <= 8; i++ {
		f := s.fireOn(local, i)
		if f.After(t) && (s.kind == Daily || f.Weekday() == s.weekday) {
			return f
		}
	}
	return time.Time{} // unreachable: every week has the weekday
}

// Latest returns the last digest instant at or before t; zero when there
// was none in the 400 days before t.
func (s *Schedule) Latest(t time.Time) time.Time {
	if s.cron == nil {
		local := t.In(s.loc)
		for i := 0; i >= -8; i-- {
			f := s.fireOn(local, i)
			if !f.After(t) && (s.kind == Daily || f.Weekday() == s.weekday) {
				return f
			}
		}
		return time.Time{}
	}
	// robfig/cron only looks forward: walk the fires of a window before t,
	// widening it until one is found.
	for window := 8 * 24 * time.Hour; window <= 400*24*time.Hour; window *= 4 {
		var last time.Time
		for f := s.cron.Next(t.Add(-window)); !f.IsZero() && !f.After(t); f = s.cron.Next(f) {
			last = f
		}
		if !last.IsZero() {
			return last
		}
	}
	return time.Time{}
}

// Period is what one digest covers and how it is named.
type Period struct {
	// Key names the period for good: the digest of a key is sent once
	// ("daily 2026-11-25", "weekly 2026-W48", "cron 20261125T0800Z").
	Key string
	// Thread names the group of periods whose mails make one
	// conversation: the days of an ISO week ("daily 2026-W48"), the
	// weeks of a month ("weekly 2026-11"); ThreadName says it to people
	// ("week of 23 Nov 2026", "November 2026").
	Thread, ThreadName string
	// The tickets filed in [From, To) are the period's; To is the
	// digest's instant, From the one before.
	From, To time.Time
}

// errNoPeriod is Period's error for an instant with no earlier one.
var errNoPeriod = errors.New("the schedule has no instant before this one")

// Period returns the period that ends at the digest instant fire.
func (s *Schedule) Period(fire time.Time) (Period, error) {
	from := s.Latest(fire.Add(-time.Second))
	if from.IsZero() {
		return Period{}, errNoPeriod
	}
	local := fire.In(s.loc)
	p := Period{From: from, To: fire}
	byWeek := s.kind == Daily || (s.kind == "cron" && fire.Sub(from) <= 36*time.Hour)
	switch s.kind {
	case Daily:
		p.Key = "daily " + local.Format("2006-01-02")
	case Weekly:
		y, w := local.ISOWeek()
		p.Key = fmt.Sprintf("weekly %04d-W%02d", y, w)
	default:
		p.Key = "cron " + fire.UTC().Format("20060102T1504Z")
	}
	if byWeek {
		y, w := local.ISOWeek()
		monday := time.Date(local.Year(), local.Month(), local.Day()-(int(local.Weekday())+6)%7, 12, 0, 0, 0, s.loc)
		p.Thread = fmt.Sprintf("%s %04d-W%02d", s.kind, y, w)
		p.ThreadName = "week of " + monday.Format("2 Jan 2006")
	} else {
		p.Thread = s.kind + " " + local.Format("2006-01")
		p.ThreadName = local.Format("January 2006")
	}
	return p, nil
}
