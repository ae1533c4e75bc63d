package sla

import (
	"math/rand/v2"
	"testing"
	"time"
)

// propertyCalendars are the calendars the properties are checked on: the
// fixtures plus one with breaks and uneven days in a US DST zone, and a
// 24x7 one in a DST zone with a holiday region.
func propertyCalendars(t testing.TB) map[string]*Calendar {
	t.Helper()
	cals := newFixtures(t).cals
	cals["split"] = splitCalendar(t)
	cals["london24-gb"] = mustCalendar(t, CalendarSpec{Name: "london24-gb", TimeZone: "Europe/London", Always: true, Regions: []string{"gb"}})
	return cals
}

// randomInstant returns an instant in 2026-2028 with a random nanosecond,
// or (one time in four) on a whole local minute, to hit boundaries.
func randomInstant(r *rand.Rand, c *Calendar) time.Time {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t := base.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
	if r.IntN(4) == 0 {
		t = t.In(c.Location()).Truncate(time.Minute)
	}
	return t
}

func randomDuration(r *rand.Rand) time.Duration {
	switch r.IntN(3) {
	case 0:
		return time.Duration(r.IntN(600)) * time.Minute
	case 1:
		return time.Duration(r.Int64N(int64(80 * time.Hour)))
	}
	return time.Duration(r.IntN(4)) * time.Hour // whole hours: land on closings
}

// inHours reports the documented placement of an AddBusiness or
// AddBusinessDays result: open at it, or at a closing instant (open just
// before it).
func inHours(c *Calendar, t time.Time) bool {
	return c.IsOpen(t) || c.IsOpen(t.Add(-time.Nanosecond))
}

func TestBusinessTimeProperties(t *testing.T) {
	for name, c := range propertyCalendars(t) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			for i := range 3000 {
				t0 := randomInstant(r, c)
				d := randomDuration(r)
				got := c.AddBusiness(t0, d)
				if got.IsZero() {
					t.Fatalf("#%d AddBusiness(%v, %v) = zero", i, t0, d)
				}
				// Adding then measuring gives back the input.
				if d > 0 {
					if e := c.Elapsed(t0, got); e != d {
						t.Fatalf("#%d Elapsed(%v, AddBusiness(%v)) = %v, want %v (result %v)", i, t0, d, e, d, got)
					}
					// The result is inside opening hours or at a closing instant.
					if !inHours(c, got) {
						t.Fatalf("#%d AddBusiness(%v, %v) = %v: outside opening hours", i, t0, d, got)
					}
					// And it is the earliest such instant.
					if e := c.Elapsed(t0, got.Add(-time.Nanosecond)); e >= d {
						t.Fatalf("#%d AddBusiness(%v, %v) = %v is not the earliest", i, t0, d, got)
					}
				} else if !c.IsOpen(got) || c.Elapsed(t0, got) != 0 {
					t.Fatalf("#%d AddBusiness(%v, 0) = %v: want the next opening", i, t0, got)
				}
				// Monotonic in d and in t.
				d2 := d + randomDuration(r)
				if g2 := c.AddBusiness(t0, d2); g2.Before(got) {
					t.Fatalf("#%d AddBusiness(%v, %v) = %v before AddBusiness(.., %v) = %v", i, t0, d2, g2, d, got)
				}
				t1 := t0.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
				if g1 := c.AddBusiness(t1, d); g1.Before(got) {
					t.Fatalf("#%d AddBusiness(%v, %v) = %v before AddBusiness(%v, ..) = %v", i, t1, d, g1, t0, got)
				}
				// Elapsed is additive.
				if a, b := c.Elapsed(t0, t1)+c.Elapsed(t1, got.Add(time.Hour)), c.Elapsed(t0, got.Add(time.Hour)); t1.Before(got.Add(time.Hour)) && a != b {
					t.Fatalf("#%d Elapsed not additive at %v, %v: %v != %v", i, t0, t1, a, b)
				}
				// NextOpen is open and no business time lies before it.
				if n := c.NextOpen(t0); !c.IsOpen(n) || c.Elapsed(t0, n) != 0 || n.Before(t0) {
					t.Fatalf("#%d NextOpen(%v) = %v", i, t0, n)
				}
				// Business days: in hours, monotonic in n and t.
				n := r.IntN(10)
				bd := c.AddBusinessDays(t0, n)
				if !inHours(c, bd) {
					t.Fatalf("#%d AddBusinessDays(%v, %d) = %v: outside opening hours", i, t0, n, bd)
				}
				if bd2 := c.AddBusinessDays(t0, n+1); !bd2.After(bd) {
					t.Fatalf("#%d AddBusinessDays(%v, %d) = %v not after %v", i, t0, n+1, bd2, bd)
				}
				if bd1 := c.AddBusinessDays(t1, n); bd1.Before(bd) {
					t.Fatalf("#%d AddBusinessDays(%v, %d) = %v before AddBusinessDays(%v) = %v", i, t1, n, bd1, t0, bd)
				}
			}
		})
	}
}

// TestElapsedAgainstMinutes checks Elapsed against a count of the open
// minutes, one IsOpen call per minute, over random spans of up to 4 days.
func TestElapsedAgainstMinutes(t *testing.T) {
	for name, c := range propertyCalendars(t) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, uint64(len(name))))
			for i := range 40 {
				a := randomInstant(r, c).Truncate(time.Minute)
				b := a.Add(time.Duration(r.IntN(4*24*60)) * time.Minute)
				var want time.Duration
				for m := a; m.Before(b); m = m.Add(time.Minute) {
					if c.IsOpen(m) {
						want += time.Minute
					}
				}
				if got := c.Elapsed(a, b); got != want {
					t.Fatalf("#%d Elapsed(%v, %v) = %v, minute count %v", i, a, b, got, want)
				}
			}
		})
	}
}
