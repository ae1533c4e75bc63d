package sla

import (
	"fmt"
	"sort"
	"time"

	"github.com/rickar/cal/v2"
)

// Calendar is a business calendar: a time zone, weekly opening hours and
// closed days (public holidays of its regions plus configured dates). A
// Calendar is immutable after NewCalendar and safe for concurrent use.
type Calendar struct {
	name     string
	loc      *time.Location
	always   bool
	hours    [7][]TimeRange // by time.Weekday, sorted, non-overlapping
	holidays *cal.Calendar
	closed   []DateRange
}

// NewCalendar builds a Calendar from its specification, checking the zone,
// the hours (sorted, non-overlapping) and the regions.
func NewCalendar(spec CalendarSpec) (*Calendar, error) {
	c := &Calendar{name: spec.Name, always: spec.Always}
	zone := spec.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: unknown time zone %q", spec.Name, zone)
	}
	c.loc = loc
	open := false
	for day, ranges := range spec.Hours {
		if day < time.Sunday || day > time.Saturday {
			return nil, fmt.Errorf("calendar %s: bad weekday %d", spec.Name, day)
		}
		rs := append([]TimeRange(nil), ranges...)
		sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
		for i, r := range rs {
			if r.Start < 0 || r.End > 24*60 || r.End <= r.Start {
				return nil, fmt.Errorf("calendar %s: bad hours on %s", spec.Name, day)
			}
			if i > 0 && r.Start < rs[i-1].End {
				return nil, fmt.Errorf("calendar %s: overlapping hours on %s", spec.Name, day)
			}
		}
		c.hours[day] = rs
		open = open || len(rs) > 0
	}
	if !c.always && !open {
		return nil, fmt.Errorf("calendar %s: no opening hours (set hours, or always = true for 24x7)", spec.Name)
	}
	c.holidays = &cal.Calendar{Name: spec.Name, Cacheable: true}
	for _, r := range spec.Regions {
		hs, ok := regions[r]
		if !ok {
			return nil, fmt.Errorf("calendar %s: unknown holiday region %q", spec.Name, r)
		}
		c.holidays.AddHoliday(hs...)
	}
	c.closed = append([]DateRange(nil), spec.Dates...)
	return c, nil
}

// Name returns the calendar's configured name.
func (c *Calendar) Name() string { return c.name }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Always reports whether the calendar is open around the clock (24x7).
func (c *Calendar) Always() bool { return c.always }
