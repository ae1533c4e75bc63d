package sla

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit of a Target.
type Unit int

// Target units.
const (
	Minute Unit = iota + 1
	Hour
	Day
	Week
)

// String returns the unit's singular English name.
func (u Unit) String() string {
	switch u {
	case Minute:
		return "minute"
	case Hour:
		return "hour"
	case Day:
		return "day"
	case Week:
		return "week"
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

// Target is an SLA promise: an amount of wall time ("2h", "1 week") or of
// business time on a calendar ("3 business hours", "1 business day"). The
// zero Target means "no target".
type Target struct {
	N        int
	Unit     Unit
	Business bool
	Wall     time.Duration // for wall-time targets written as a Go duration ("1h30m"); N and Unit are then zero
}

// IsZero reports whether t sets no target.
func (t Target) IsZero() bool { return t.N == 0 && t.Wall == 0 }

// Duration is the wall-clock length of a wall-time target (a day is 24 h, a
// week 7 days). It is meaningless for business targets.
func (t Target) Duration() time.Duration {
	if t.Wall != 0 {
		return t.Wall
	}
	switch t.Unit {
	case Minute:
		return time.Duration(t.N) * time.Minute
	case Hour:
		return time.Duration(t.N) * time.Hour
	case Day:
		return time.Duration(t.N) * 24 * time.Hour
	case Week:
		return time.Duration(t.N) * 7 * 24 * time.Hour
	}
	return 0
}

// String formats t the way ParseTarget reads it ("3 business hours", "2 hours",
// "none").
func (t Target) String() string {
	if t.IsZero() {
		return "none"
	}
	if t.Wall != 0 {
		return t.Wall.String()
	}
	s := strconv.Itoa(t.N) + " "
	if t.Business {
		s += "business "
	}
	s += t.Unit.String()
	if t.N != 1 {
		s += "s"
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseTarget.
func (t *Target) UnmarshalText(b []byte) error {
	v, err := ParseTarget(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

var units = map[string]Unit{
	"m": Minute, "min": Minute, "mins": Minute, "minute": Minute, "minutes": Minute,
	"h": Hour, "hr": Hour, "hrs": Hour, "hour": Hour, "hours": Hour,
	"d": Day, "day": Day, "days": Day,
	"w": Week, "wk": Week, "week": Week, "weeks": Week,
}

// ParseTarget reads a target: "" or "none" for no target; "2h", "90m",
// "1h30m", "2 hours", "1 week", "7d" for wall time; "3 business hours",
// "1 business day", "24 business hours", "2 business weeks" for business
// time. A business week is five business days.
func ParseTarget(s string) (Target, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if in == "" || in == "none" || in == "no target" {
		return Target{}, nil
	}
	if d, err := time.ParseDuration(in); err == nil {
		if d <= 0 {
			return Target{}, fmt.Errorf("target %q: must be positive", s)
		}
		return Target{Wall: d}, nil
	}
	words := strings.Fields(in)
	// Split a leading "3h" or "3d" into number and unit.
	if len(words) >= 1 {
		i := 0
		for i < len(words[0]) && words[0][i] >= '0' && words[0][i] <= '9' {
			i++
		}
		if i > 0 && i < len(words[0]) {
			words = append([]string{words[0][:i], words[0][i:]}, words[1:]...)
		}
	}
	var t Target
	switch {
	case len(words) == 2:
	case len(words) == 3 && words[1] == "business":
		t.Business = true
		words = []string{words[0], words[2]}
	default:
		return Target{}, fmt.Errorf("target %q: want e.g. \"2h\", \"1 week\", \"3 business hours\" or \"none\"", s)
	}
	n, err := strconv.Atoi(words[0])
	if err != nil || n <= 0 {
		return Target{}, fmt.Errorf("target %q: %q is not a positive whole number", s, words[0])
	}
	u, ok := units[words[1]]
	if !ok {
		return Target{}, fmt.Errorf("target %q: unknown unit %q (minutes, hours, days or weeks)", s, words[1])
	}
	t.N, t.Unit = n, u
	return t, nil
}
