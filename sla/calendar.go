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
	hours    [7][]TimeRange // by time.Weekday, sorted, non-overlapping; every day 00:00-24:00 when always
	holidays *cal.Calendar
	closed   []DateRange // From and To at midnight UTC
	wall     bool        // always open and never closed: business time is wall time
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
	for _, r := range spec.Dates {
		r.From, r.To = utcDate(r.From), utcDate(r.To)
		if r.To.Before(r.From) {
			return nil, fmt.Errorf("calendar %s: closure %s ends before it starts", spec.Name, r.From.Format(time.DateOnly))
		}
		c.closed = append(c.closed, r)
	}
	if c.always {
		// 24x7: every local day is open from midnight to midnight, so a
		// DST day lasts 23 or 25 hours of business time, like the wall.
		for day := range c.hours {
			c.hours[day] = []TimeRange{{Start: 0, End: 24 * 60}}
		}
	}
	c.wall = c.always && len(c.holidays.Holidays) == 0 && len(c.closed) == 0
	return c, nil
}

// Name returns the calendar's configured name.
func (c *Calendar) Name() string { return c.name }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Always reports whether the calendar is open around the clock (24x7).
func (c *Calendar) Always() bool { return c.always }

// maxScanDays bounds every forward search for an opening: a calendar closed
// for ten years on end is taken as never opening again, and the search
// returns the zero time instead of looping.
const maxScanDays = 3660

const day24 = 24 * time.Hour

// interval is one opening span [open, close) of a local day, as instants.
type interval struct{ open, close time.Time }

// utcDate returns midnight UTC of t's own year, month and day.
func utcDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dayOf returns t's local date in the calendar's zone, as midnight UTC of
// that date (the key closed days and holidays are looked up with).
func (c *Calendar) dayOf(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// closedDay reports whether the date (midnight UTC) is a configured closure
// or a public holiday of the calendar's regions, and its name. A holiday
// counts on its own date and on its substitute ("observed") date.
func (c *Calendar) closedDay(day time.Time) (bool, string) {
	for _, r := range c.closed {
		if !day.Before(r.From) && !day.After(r.To) {
			if r.Name == "" {
				return true, "closure"
			}
			return true, r.Name
		}
	}
	if len(c.holidays.Holidays) > 0 {
		if act, obs, h := c.holidays.IsHoliday(day); (act || obs) && h != nil {
			return true, h.Name
		}
	}
	return false, ""
}

// day appends to buf the opening intervals of the local date day (midnight
// UTC), in order, and returns it. Opening times are read on the local clock
// of that date, so across a DST change an interval is the real span between
// its local opening and closing times. Intervals never overlap: a range
// that the DST gap or repeat would make overlap its predecessor is cut.
func (c *Calendar) day(day time.Time, buf []interval) []interval {
	ranges := c.hours[day.Weekday()]
	if len(ranges) == 0 {
		return buf
	}
	if closed, _ := c.closedDay(day); closed {
		return buf
	}
	y, m, d := day.Date()
	var prev time.Time
	for _, r := range ranges {
		open := time.Date(y, m, d, 0, r.Start, 0, 0, c.loc)
		end := time.Date(y, m, d, 0, r.End, 0, 0, c.loc)
		if open.Before(prev) {
			open = prev
		}
		if !open.Before(end) {
			continue
		}
		buf = append(buf, interval{open, end})
		prev = end
	}
	return buf
}

// IsOpen reports whether t is business time: inside an opening range of a
// day that is not closed. Opening instants are open, closing instants are not.
func (c *Calendar) IsOpen(t time.Time) bool {
	if c.wall {
		return true
	}
	var buf [4]interval
	for _, iv := range c.day(c.dayOf(t), buf[:0]) {
		if !t.Before(iv.open) && t.Before(iv.close) {
			return true
		}
	}
	return false
}

// IsClosedDay reports whether t's local date is a public holiday of the
// calendar's regions or a configured closure, and its name. Days without
// weekly opening hours (weekends) are not closed days in this sense; see
// IsBusinessDay.
func (c *Calendar) IsClosedDay(t time.Time) (bool, string) {
	return c.closedDay(c.dayOf(t))
}

// IsBusinessDay reports whether t's local date has any opening hours: a
// weekday with hours that is neither a holiday nor a closure.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	var buf [4]interval
	return len(c.day(c.dayOf(t), buf[:0])) > 0
}

// NextOpen returns t itself when the calendar is open at t, else the next
// opening instant after t. It returns the zero time when the calendar does
// not open within ten years.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	if c.wall {
		return t.In(c.loc)
	}
	var buf [4]interval
	day := c.dayOf(t)
	for i := 0; i < maxScanDays; i, day = i+1, day.Add(day24) {
		for _, iv := range c.day(day, buf[:0]) {
			if t.Before(iv.close) {
				if t.Before(iv.open) {
					return iv.open
				}
				return t.In(c.loc)
			}
		}
	}
	return time.Time{}
}

// AddBusiness returns the earliest instant by which d of business time has
// passed since t; business time before t's next opening does not count. The
// result lies inside an opening range or exactly at its closing instant
// (when d ends a range, the closing, not the next opening, is returned).
// For d <= 0 it returns NextOpen(t). Results are in the calendar's zone;
// the zero time means the calendar does not open within ten years.
func (c *Calendar) AddBusiness(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return c.NextOpen(t)
	}
	if c.wall {
		return t.Add(d).In(c.loc)
	}
	var buf [4]interval
	day := c.dayOf(t)
	for i := 0; i < maxScanDays; i, day = i+1, day.Add(day24) {
		for _, iv := range c.day(day, buf[:0]) {
			if !t.Before(iv.close) {
				continue
			}
			s := iv.open
			if t.After(s) {
				s = t
			}
			if avail := iv.close.Sub(s); d > avail {
				d -= avail
				continue
			}
			return s.Add(d).In(c.loc)
		}
	}
	return time.Time{}
}

// Elapsed returns the business time in [a, b): the total length of the
// opening ranges between the two instants. It is zero when b is not after a.
func (c *Calendar) Elapsed(a, b time.Time) time.Duration {
	if !a.Before(b) {
		return 0
	}
	if c.wall {
		return b.Sub(a)
	}
	var buf [4]interval
	var sum time.Duration
	last := c.dayOf(b)
	for day := c.dayOf(a); !day.After(last); day = day.Add(day24) {
		for _, iv := range c.day(day, buf[:0]) {
			if !iv.open.Before(b) {
				return sum
			}
			s, e := iv.open, iv.close
			if a.After(s) {
				s = a
			}
			if b.Before(e) {
				e = b
			}
			if s.Before(e) {
				sum += e.Sub(s)
			}
		}
	}
	return sum
}

// AddBusinessDays returns the same local time of day as NextOpen(t) on the
// n-th following business day, clamped into that day's opening hours: a
// time after the day's closing gives the closing, one before its opening
// gives the opening, one in a break between two ranges gives the closing of
// the range before the break. Because the time of day is read on the local
// clock, a DST change between the two days does not move it. For n <= 0 it
// returns NextOpen(t); the zero time means no such day within ten years.
func (c *Calendar) AddBusinessDays(t time.Time, n int) time.Time {
	s := c.NextOpen(t)
	if s.IsZero() || n <= 0 {
		return s
	}
	h, mi, sec := s.Clock()
	ns := s.Nanosecond()
	var buf [4]interval
	day := c.dayOf(s)
	for i, count := 0, 0; i < maxScanDays; i++ {
		day = day.Add(day24)
		ivs := c.day(day, buf[:0])
		if len(ivs) == 0 {
			continue
		}
		if count++; count < n {
			continue
		}
		y, m, d := day.Date()
		want := time.Date(y, m, d, h, mi, sec, ns, c.loc)
		if want.Before(ivs[0].open) {
			return ivs[0].open
		}
		for k, iv := range ivs {
			if want.Before(iv.close) {
				if want.Before(iv.open) {
					return ivs[k-1].close
				}
				return want
			}
		}
		return ivs[len(ivs)-1].close
	}
	return time.Time{}
}
