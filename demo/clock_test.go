package demo

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	real := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		speed   float64
		elapsed time.Duration
		want    time.Time
	}{
		{1, 0, start},
		{1, 90 * time.Second, start.Add(90 * time.Second)},
		{100, 54 * time.Second, start.Add(90 * time.Minute)},
		{0.5, time.Minute, start.Add(time.Minute)}, // below 1 runs at real speed
		{2.5, 2 * time.Second, start.Add(5 * time.Second)},
	}
	for _, tt := range tests {
		now := real
		c := NewClock(start, tt.speed, func() time.Time { return now })
		now = now.Add(tt.elapsed)
		if got := c.Now(); !got.Equal(tt.want) {
			t.Errorf("speed %v after %v: Now() = %v, want %v", tt.speed, tt.elapsed, got, tt.want)
		}
	}
}

// StartTime on ProspectSoft's calendar of config.example.toml: UK local
// time, 08:30-17:00 Monday to Thursday, 08:30-16:30 Friday, England and
// Wales bank holidays.
func TestStartTime(t *testing.T) {
	cfg, err := Config(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cal := cfg.Policies["prospectsoft"].Calendar
	london := cal.Location()
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, london) }
	tests := []struct {
		name    string
		now     time.Time
		want    time.Time
		shifted bool
	}{
		{"Monday morning: now", at(2025, 3, 3, 10, 0), at(2025, 3, 3, 10, 0), false},
		{"opening instant: now", at(2025, 3, 3, 8, 30), at(2025, 3, 3, 8, 30), false},
		{"exactly 3 hours before closing: now", at(2025, 3, 3, 14, 0), at(2025, 3, 3, 14, 0), false},
		{"Monday afternoon, too late: Tuesday 10:00", at(2025, 3, 3, 15, 0), at(2025, 3, 4, 10, 0), true},
		{"Friday closes 16:30: Monday 10:00", at(2025, 3, 7, 14, 0), at(2025, 3, 10, 10, 0), true},
		{"Saturday: Monday 10:00", at(2025, 3, 8, 12, 0), at(2025, 3, 10, 10, 0), true},
		{"before opening: 10:00 the same day", at(2025, 3, 4, 6, 0), at(2025, 3, 4, 10, 0), true},
		{"Christmas and the Boxing Day holiday: Tuesday 29 Dec", at(2026, 12, 24, 18, 0), at(2026, 12, 29, 10, 0), true},
		{"summer time (BST)", at(2025, 7, 1, 9, 0), at(2025, 7, 1, 9, 0), false},
	}
	for _, tt := range tests {
		got, shifted := StartTime(cal, tt.now, 3*time.Hour)
		if !got.Equal(tt.want) || shifted != tt.shifted {
			t.Errorf("%s: StartTime(%v) = %v, %v; want %v, %v", tt.name, tt.now, got.In(london), shifted, tt.want, tt.shifted)
		}
	}
	// The 24x7 calendar is always open: the real time is kept.
	now := at(2025, 3, 8, 3, 0)
	if got, shifted := StartTime(cfg.Calendars["24x7"], now, 3*time.Hour); !got.Equal(now) || shifted {
		t.Errorf("24x7: StartTime = %v, %v; want now", got, shifted)
	}
}
