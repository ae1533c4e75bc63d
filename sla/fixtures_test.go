package sla

import (
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// The calendars and policies of POLICIES.md, built exactly as
// config.example.toml states them (targets written in the config's syntax).

func mustTarget(t testing.TB, s string) Target {
	t.Helper()
	v, err := ParseTarget(s)
	if err != nil {
		t.Fatalf("ParseTarget(%q): %v", s, err)
	}
	return v
}

func mustRange(t testing.TB, s string) TimeRange {
	t.Helper()
	r, err := ParseTimeRange(s)
	if err != nil {
		t.Fatalf("ParseTimeRange(%q): %v", s, err)
	}
	return r
}

func mustCalendar(t testing.TB, spec CalendarSpec) *Calendar {
	t.Helper()
	c, err := NewCalendar(spec)
	if err != nil {
		t.Fatalf("NewCalendar(%s): %v", spec.Name, err)
	}
	return c
}

// weekdays returns hours with the same range on Monday to Friday.
func weekdays(t testing.TB, rng string) map[time.Weekday][]TimeRange {
	t.Helper()
	h := map[time.Weekday][]TimeRange{}
	for d := time.Monday; d <= time.Friday; d++ {
		h[d] = []TimeRange{mustRange(t, rng)}
	}
	return h
}

type fixtures struct {
	cals     map[string]*Calendar
	policies map[string]*Policy
}

func newFixtures(t testing.TB) fixtures {
	t.Helper()
	ps := weekdays(t, "08:30-17:00")
	ps[time.Friday] = []TimeRange{mustRange(t, "08:30-16:30")}
	cals := map[string]*Calendar{
		"uk-prospectsoft": mustCalendar(t, CalendarSpec{Name: "uk-prospectsoft", TimeZone: "Europe/London", Hours: ps, Regions: []string{"gb"}}),
		"uk-claritum":     mustCalendar(t, CalendarSpec{Name: "uk-claritum", TimeZone: "Europe/London", Hours: weekdays(t, "08:00-18:00"), Regions: []string{"gb"}}),
		"au-prosperex":    mustCalendar(t, CalendarSpec{Name: "au-prosperex", TimeZone: "Australia/Sydney", Hours: weekdays(t, "09:00-17:00"), Regions: []string{"au-nsw"}}),
		"au-storeconnect": mustCalendar(t, CalendarSpec{Name: "au-storeconnect", TimeZone: "Australia/Sydney", Hours: weekdays(t, "09:00-17:00"), Regions: []string{"au"}}),
		"24x7":            mustCalendar(t, CalendarSpec{Name: "24x7", TimeZone: "UTC", Always: true}),
		"business":        mustCalendar(t, CalendarSpec{Name: "business", TimeZone: "UTC", Hours: weekdays(t, "09:00-17:00")}),
	}
	rule := func(p helpdesk.Priority, plan, resp, res string) Rule {
		return Rule{Priority: p, Plan: plan, Response: mustTarget(t, resp), Resolution: mustTarget(t, res)}
	}
	step := func(c ClockKind, at float64, notify ...string) Step {
		return Step{Clock: c, At: at, Notify: notify}
	}
	full := []string{helpdesk.FieldService, helpdesk.FieldImpact, helpdesk.FieldStartTime, helpdesk.FieldReproSteps, helpdesk.FieldErrorText}
	std := []string{helpdesk.FieldStartTime, helpdesk.FieldErrorText, helpdesk.FieldReproSteps}

	claritumCritical := rule(helpdesk.Critical, "", "1h", "8h")
	claritumCritical.Calendar = cals["24x7"]

	policies := map[string]*Policy{
		"prospectsoft": {
			Name: "prospectsoft", Calendar: cals["uk-prospectsoft"], PauseWhenPending: true,
			Rules: []Rule{
				rule(helpdesk.Critical, "", "2 business hours", "none"),
				rule(helpdesk.High, "", "1 business day", "none"),
				rule(helpdesk.Medium, "", "3 business days", "none"),
				rule(helpdesk.Low, "", "7 business days", "none"),
				rule(helpdesk.Change, "", "7 business days", "none"),
			},
			Required: map[helpdesk.Priority][]string{helpdesk.Critical: full, helpdesk.High: full, helpdesk.Medium: full, helpdesk.Low: {}, helpdesk.Change: {}},
			Ladder:   []Step{step(Response, 0.75, "assignee", "team"), step(Response, 1, "managers")},
		},
		"prospectsoft-out-of-hours": {
			Name: "prospectsoft-out-of-hours", Calendar: cals["24x7"],
			Rules:    []Rule{rule(helpdesk.Critical, "", "2h", "none")},
			Required: map[helpdesk.Priority][]string{helpdesk.Critical: {helpdesk.FieldService, helpdesk.FieldStartTime, helpdesk.FieldErrorText}},
			Ladder:   []Step{step(Response, 0.5, "team"), step(Response, 1, "managers")},
		},
		"prosperex": {
			Name: "prosperex", Calendar: cals["au-prosperex"], PauseWhenPending: true, EscalateTo: []string{"coo@prosperex.example"},
			Rules: []Rule{
				rule(helpdesk.Critical, "", "24h", "3 business days"),
				rule(helpdesk.High, "", "24h", "3 business days"),
				rule(helpdesk.Medium, "", "3 business days", "7 business days"),
				rule(helpdesk.Low, "", "3 business days", "7 business days"),
				rule(helpdesk.Change, "", "3 business days", "none"),
			},
			Ladder: []Step{
				step(Resolution, 0.75, "assignee", "team"),
				step(Resolution, 1, "managers"),
				step(Resolution, 1.5, "coo@prosperex.example"),
				step(Response, 1, "team", "managers"),
			},
		},
		"storeconnect": {
			Name: "storeconnect", Calendar: cals["au-storeconnect"],
			Rules: []Rule{
				rule(helpdesk.Critical, "large", "none", "1 business day"),
				rule(helpdesk.Critical, "medium", "none", "2 business days"),
				rule(helpdesk.Critical, "small", "none", "3 business days"),
				rule(helpdesk.Critical, "", "none", "3 business days"),
				rule(helpdesk.High, "large", "none", "1 week"),
				rule(helpdesk.High, "medium", "none", "1 week"),
				rule(helpdesk.High, "small", "none", "2 weeks"),
				rule(helpdesk.High, "", "none", "2 weeks"),
				rule(helpdesk.Medium, "", "none", "none"),
				rule(helpdesk.Low, "", "none", "none"),
				rule(helpdesk.Change, "", "none", "none"),
			},
			Ladder: []Step{step(Resolution, 0.75, "assignee", "team"), step(Resolution, 1, "managers")},
		},
		"claritum": {
			Name: "claritum", Calendar: cals["uk-claritum"],
			Rules: []Rule{
				claritumCritical,
				rule(helpdesk.High, "", "3 business hours", "24 business hours"),
				rule(helpdesk.Medium, "", "24 business hours", "none"),
				rule(helpdesk.Low, "", "24 business hours", "none"),
				rule(helpdesk.Change, "", "24 business hours", "none"),
			},
			Ladder: []Step{step(Response, 0.75, "assignee"), step(Response, 1, "team", "managers"), step(Resolution, 1, "managers")},
		},
		"standard": {
			Name: "standard", Calendar: cals["business"],
			Rules: []Rule{
				rule(helpdesk.Critical, "", "1 business hour", "1 business day"),
				rule(helpdesk.High, "", "4 business hours", "3 business days"),
				rule(helpdesk.Medium, "", "1 business day", "5 business days"),
				rule(helpdesk.Low, "", "2 business days", "none"),
				rule(helpdesk.Change, "", "2 business days", "none"),
			},
			Required: map[helpdesk.Priority][]string{helpdesk.Critical: std, helpdesk.High: std, helpdesk.Medium: std},
			Ladder:   []Step{step(Response, 0.75, "assignee", "team"), step(Response, 1, "managers"), step(Resolution, 1, "managers")},
		},
	}
	return fixtures{cals: cals, policies: policies}
}

// local parses "2006-01-02 15:04" on the wall clock of zone.
func local(t testing.TB, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// fmtIn formats an instant on zone's wall clock, "-" for the zero time.
func fmtIn(v time.Time, zone string) string {
	if v.IsZero() {
		return "-"
	}
	loc, _ := time.LoadLocation(zone)
	return v.In(loc).Format("2006-01-02 15:04 MST")
}
