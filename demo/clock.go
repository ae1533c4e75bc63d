package demo

import (
	"time"

	"github.com/helpdeskd/helpdesk/sla"
)

// Clock is the demo's time: it starts at a chosen instant and runs Speed
// times faster than the real clock, so that SLA targets of hours pass in
// minutes. The desk, the SLA loop and the outbox all read it; the SLA loop
// still ticks on the real clock.
type Clock struct {
	start time.Time
	speed float64
	real  func() time.Time
	base  time.Time
}

// NewClock returns a clock that reads start now and then advances speed
// times as fast as real (nil: time.Now). A speed below 1 is taken as 1.
func NewClock(start time.Time, speed float64, real func() time.Time) *Clock {
	if real == nil {
		real = time.Now
	}
	if speed < 1 {
		speed = 1
	}
	return &Clock{start: start, speed: speed, real: real, base: real()}
}

// Now returns the demo time: start + (real time elapsed) × speed.
func (c *Clock) Now() time.Time {
	elapsed := c.real().Sub(c.base)
	return c.start.Add(time.Duration(float64(elapsed) * c.speed))
}

// Speed is how many times faster than real time the clock runs.
func (c *Clock) Speed() float64 { return c.speed }

// StartTime picks the instant the demo clock starts at, so that business
// hours SLA clocks on cal run from the first ticket: now itself when cal is
// open from now on for at least need without a break; otherwise 90 minutes
// after the next opening that leaves need (10:00 for an 08:30 opening). It
// reports whether it moved away from now. need is the business time the
// demo wants to show at once, e.g. a 2-hour response target and its breach.
func StartTime(cal *sla.Calendar, now time.Time, need time.Duration) (time.Time, bool) {
	runs := func(t time.Time) bool {
		return cal.IsOpen(t) && cal.AddBusiness(t, need).Equal(t.Add(need))
	}
	if runs(now) {
		return now, false
	}
	from := now
	for range 60 {
		open := cal.NextOpen(from)
		if open.IsZero() {
			break
		}
		if t := open.Add(90 * time.Minute); t.After(now) && runs(t) {
			return t, true
		}
		y, m, d := open.In(cal.Location()).Date()
		from = time.Date(y, m, d+1, 0, 0, 0, 0, cal.Location())
	}
	return now, false
}
