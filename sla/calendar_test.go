package sla

import (
	"testing"
	"time"
)

// splitCalendar has a lunch break on Monday and Tuesday (of different
// lengths), a late opening on Wednesday and a half day on Thursday, in a
// zone with DST and US holidays.
func splitCalendar(t testing.TB) *Calendar {
	t.Helper()
	return mustCalendar(t, CalendarSpec{
		Name: "split", TimeZone: "America/New_York", Regions: []string{"us"},
		Hours: map[time.Weekday][]TimeRange{
			time.Monday:    {mustRange(t, "09:00-12:00"), mustRange(t, "13:00-17:00")},
			time.Tuesday:   {mustRange(t, "14:00-17:00"), mustRange(t, "09:00-11:00")}, // unsorted on purpose
			time.Wednesday: {mustRange(t, "10:00-17:00")},
			time.Thursday:  {mustRange(t, "09:00-13:00")},
			time.Friday:    {mustRange(t, "09:00-17:00")},
		},
	})
}

func TestCalendarOpen(t *testing.T) {
	fx := newFixtures(t)
	ps := fx.cals["uk-prospectsoft"]
	const lon = "Europe/London"
	tests := []struct {
		at   string
		open bool
		next string
	}{
		{"2026-11-23 08:29", false, "2026-11-23 08:30 GMT"},
		{"2026-11-23 08:30", true, "2026-11-23 08:30 GMT"}, // opening instant is open
		{"2026-11-23 16:59", true, "2026-11-23 16:59 GMT"},
		{"2026-11-23 17:00", false, "2026-11-24 08:30 GMT"}, // closing instant is not
		{"2026-11-20 16:30", false, "2026-11-23 08:30 GMT"}, // Friday closes 16:30
		{"2026-11-21 12:00", false, "2026-11-23 08:30 GMT"}, // Saturday
		{"2026-12-24 17:30", false, "2026-12-29 08:30 GMT"}, // Christmas, weekend, Boxing Day substitute
		{"2026-12-28 10:00", false, "2026-12-29 08:30 GMT"},
		{"2026-03-29 12:00", false, "2026-03-30 08:30 BST"},
	}
	for _, tt := range tests {
		at := local(t, lon, tt.at)
		if got, want := ps.IsOpen(at), tt.open; got != want {
			t.Errorf("IsOpen(%s) = %v, want %v", tt.at, got, want)
		}
		if got, want := fmtIn(ps.NextOpen(at), lon), tt.next; got != want {
			t.Errorf("NextOpen(%s) = %s, want %s", tt.at, got, want)
		}
	}
}

func TestCalendarClosedDays(t *testing.T) {
	fx := newFixtures(t)
	closures := mustCalendar(t, CalendarSpec{
		Name: "closures", TimeZone: "Europe/London", Hours: weekdays(t, "09:00-17:00"), Regions: []string{"gb"},
		Dates: []DateRange{
			{From: time.Date(2026, 12, 29, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Name: "Office move"},
			{From: time.Date(2027, 2, 3, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 2, 3, 0, 0, 0, 0, time.UTC)},
		},
	})
	tests := []struct {
		cal, zone, day string
		closed         bool
		name           string
	}{
		{"uk-prospectsoft", "Europe/London", "2026-12-25 12:00", true, "Christmas Day"},
		{"uk-prospectsoft", "Europe/London", "2026-12-28 12:00", true, "Boxing Day"}, // substitute for Saturday 26th
		{"uk-prospectsoft", "Europe/London", "2027-01-01 12:00", true, "New Year's Day"},
		{"uk-prospectsoft", "Europe/London", "2026-05-25 12:00", true, "Spring Bank Holiday"},
		{"uk-prospectsoft", "Europe/London", "2026-08-31 12:00", true, "Summer Bank Holiday"},
		{"uk-prospectsoft", "Europe/London", "2026-12-24 12:00", false, ""},
		{"uk-prospectsoft", "Europe/London", "2026-11-21 12:00", false, ""}, // a Saturday is not a holiday
		{"au-prosperex", "Australia/Sydney", "2027-01-26 12:00", true, "Australia Day"},
		{"au-prosperex", "Australia/Sydney", "2028-04-25 12:00", true, "ANZAC Day"},
		{"au-prosperex", "Australia/Sydney", "2026-10-05 12:00", true, "Labour Day"},
		{"au-storeconnect", "Australia/Sydney", "2026-10-05 12:00", false, ""}, // NSW only, not national
		{"au-storeconnect", "Australia/Sydney", "2027-01-26 12:00", true, "Australia Day"},
		// The local date counts: 25 Dec 00:30 in Sydney is still 24 Dec in UTC.
		{"au-storeconnect", "Australia/Sydney", "2026-12-25 00:30", true, "Christmas Day"},
		{"business", "UTC", "2026-12-25 12:00", false, ""},
	}
	for _, tt := range tests {
		closed, name := fx.cals[tt.cal].IsClosedDay(local(t, tt.zone, tt.day))
		if closed != tt.closed || name != tt.name {
			t.Errorf("%s IsClosedDay(%s) = %v %q, want %v %q", tt.cal, tt.day, closed, name, tt.closed, tt.name)
		}
	}
	for _, tt := range []struct {
		day    string
		closed bool
		name   string
	}{
		{"2026-12-29 12:00", true, "Office move"},
		{"2026-12-31 23:59", true, "Office move"},
		{"2027-01-04 12:00", false, ""},
		{"2027-02-03 12:00", true, "closure"},
	} {
		closed, name := closures.IsClosedDay(local(t, "Europe/London", tt.day))
		if closed != tt.closed || name != tt.name {
			t.Errorf("closures IsClosedDay(%s) = %v %q, want %v %q", tt.day, closed, name, tt.closed, tt.name)
		}
	}
	// Christmas Eve 16:00 + 2 business hours: 1 h on the 24th, then the
	// office is shut until 4 Jan (holidays, weekend, closure).
	if got, want := fmtIn(closures.AddBusiness(local(t, "Europe/London", "2026-12-24 16:00"), 2*time.Hour), "Europe/London"), "2027-01-04 10:00 GMT"; got != want {
		t.Errorf("AddBusiness over closure = %s, want %s", got, want)
	}
	if got, want := closures.IsBusinessDay(local(t, "Europe/London", "2026-12-30 10:00")), false; got != want {
		t.Errorf("IsBusinessDay(closure) = %v, want %v", got, want)
	}
	if got, want := closures.IsBusinessDay(local(t, "Europe/London", "2027-01-04 10:00")), true; got != want {
		t.Errorf("IsBusinessDay(Monday) = %v, want %v", got, want)
	}
	if _, err := NewCalendar(CalendarSpec{Name: "bad", Hours: weekdays(t, "09:00-17:00"),
		Dates: []DateRange{{From: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}}); err == nil {
		t.Error("NewCalendar accepted a closure ending before it starts")
	}
}

func TestAddBusinessAndElapsed(t *testing.T) {
	fx := newFixtures(t)
	london24 := mustCalendar(t, CalendarSpec{Name: "london24", TimeZone: "Europe/London", Always: true})
	split := splitCalendar(t)
	tests := []struct {
		name  string
		cal   *Calendar
		zone  string
		start string
		d     time.Duration
		want  string
	}{
		{"ends at closing, not next opening", fx.cals["uk-prospectsoft"], "Europe/London", "2026-11-23 16:00", time.Hour, "2026-11-23 17:00 GMT"},
		{"one minute more spills over", fx.cals["uk-prospectsoft"], "Europe/London", "2026-11-23 16:00", time.Hour + time.Minute, "2026-11-24 08:31 GMT"},
		{"zero is the next opening", fx.cals["uk-prospectsoft"], "Europe/London", "2026-11-21 16:00", 0, "2026-11-23 08:30 GMT"},
		{"negative is the next opening", fx.cals["uk-prospectsoft"], "Europe/London", "2026-11-23 12:00", -time.Hour, "2026-11-23 12:00 GMT"},
		{"a week of ProspectSoft hours", fx.cals["uk-prospectsoft"], "Europe/London", "2026-11-23 08:30", 42 * time.Hour, "2026-11-27 16:30 GMT"},
		{"lunch break skipped", split, "America/New_York", "2026-11-23 11:00", 2 * time.Hour, "2026-11-23 14:00 EST"},
		{"24x7 London spring forward day is 23 h", london24, "Europe/London", "2026-03-29 00:00", 24 * time.Hour, "2026-03-30 01:00 BST"},
		{"24x7 London fall back day is 25 h", london24, "Europe/London", "2026-10-25 00:00", 24 * time.Hour, "2026-10-25 23:00 GMT"},
		{"US DST: Monday after spring forward", split, "America/New_York", "2026-03-06 16:00", 2 * time.Hour, "2026-03-09 10:00 EDT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := local(t, tt.zone, tt.start)
			got := tt.cal.AddBusiness(start, tt.d)
			if g, w := fmtIn(got, tt.zone), tt.want; g != w {
				t.Errorf("AddBusiness(%s, %v) = %s, want %s", tt.start, tt.d, g, w)
			}
			if tt.d > 0 {
				if g, w := tt.cal.Elapsed(start, got), tt.d; g != w {
					t.Errorf("Elapsed back = %v, want %v", g, w)
				}
			}
		})
	}
	ps := fx.cals["uk-prospectsoft"]
	for _, tt := range []struct {
		a, b string
		want time.Duration
	}{
		{"2026-11-23 08:30", "2026-11-27 16:30", 42 * time.Hour},
		{"2026-11-27 16:30", "2026-11-23 08:30", 0},                                          // reversed
		{"2026-11-21 00:00", "2026-11-23 00:00", 0},                                          // weekend
		{"2026-12-24 12:00", "2026-12-29 12:00", 5*time.Hour + 3*time.Hour + 30*time.Minute}, // over Christmas
		{"2026-03-27 08:30", "2026-03-30 17:00", 16*time.Hour + 30*time.Minute},              // over UK DST
	} {
		if got := ps.Elapsed(local(t, "Europe/London", tt.a), local(t, "Europe/London", tt.b)); got != tt.want {
			t.Errorf("Elapsed(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if got, want := london24.Elapsed(local(t, "Europe/London", "2026-10-25 00:00"), local(t, "Europe/London", "2026-10-26 00:00")), 25*time.Hour; got != want {
		t.Errorf("24x7 Elapsed over fall back day = %v, want %v", got, want)
	}
}

func TestAddBusinessDays(t *testing.T) {
	fx := newFixtures(t)
	split := splitCalendar(t)
	london24 := mustCalendar(t, CalendarSpec{Name: "london24", TimeZone: "Europe/London", Always: true})
	const ny = "America/New_York"
	tests := []struct {
		name  string
		cal   *Calendar
		zone  string
		start string
		n     int
		want  string
	}{
		{"same time next day", split, ny, "2026-11-23 09:30", 1, "2026-11-24 09:30 EST"},
		{"into a break gives the closing before it", split, ny, "2026-11-23 12:30", 1, "2026-11-24 11:00 EST"}, // starts 13:00 Mon; Tue 11:00-14:00 is a break
		{"before a later opening gives the opening", split, ny, "2026-11-24 09:30", 1, "2026-11-25 10:00 EST"},
		{"after an earlier closing gives the closing", split, ny, "2026-11-18 15:00", 1, "2026-11-19 13:00 EST"},
		{"Thanksgiving is skipped", split, ny, "2026-11-25 11:00", 2, "2026-11-30 11:00 EST"}, // Thu 26 Nov 2026
		{"zero days is the next opening", split, ny, "2026-11-28 11:00", 0, "2026-11-30 09:00 EST"},
		{"outside hours starts at the next opening", fx.cals["uk-prospectsoft"], "Europe/London", "2026-11-20 18:00", 1, "2026-11-24 08:30 GMT"},
		{"over US spring forward keeps the clock", split, ny, "2026-03-06 10:00", 1, "2026-03-09 10:00 EDT"},
		{"24x7 London over spring forward", london24, "Europe/London", "2026-03-28 10:00", 1, "2026-03-29 10:00 BST"},
		{"24x7 weekends count", fx.cals["24x7"], "UTC", "2026-11-20 10:00", 2, "2026-11-22 10:00 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.AddBusinessDays(local(t, tt.zone, tt.start), tt.n)
			if g, w := fmtIn(got, tt.zone), tt.want; g != w {
				t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tt.start, tt.n, g, w)
			}
		})
	}
}

func TestNeverOpen(t *testing.T) {
	c := mustCalendar(t, CalendarSpec{Name: "shut", TimeZone: "UTC", Hours: weekdays(t, "09:00-17:00"),
		Dates: []DateRange{{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}}})
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	if got := c.NextOpen(at); !got.IsZero() {
		t.Errorf("NextOpen = %v, want zero", got)
	}
	if got := c.AddBusiness(at, time.Hour); !got.IsZero() {
		t.Errorf("AddBusiness = %v, want zero", got)
	}
	if got := c.AddBusinessDays(at, 1); !got.IsZero() {
		t.Errorf("AddBusinessDays = %v, want zero", got)
	}
}
