package sla

import (
	"testing"

	"github.com/helpdeskd/helpdesk"
)

// TestPolicyTargets checks every target of the five vendor policies (and
// the built-in standard one) on concrete dates. Times are written on the
// calendar's wall clock with the zone abbreviation, so a DST change shows.
func TestPolicyTargets(t *testing.T) {
	fx := newFixtures(t)
	const (
		london = "Europe/London"
		sydney = "Australia/Sydney"
		utc    = "UTC"
	)
	tests := []struct {
		name     string
		policy   string
		prio     helpdesk.Priority
		plan     string
		zone     string
		created  string
		response string // "-" = no target
		resolve  string
	}{
		// ProspectSoft: response targets in business time, no resolution targets.
		// Friday closes 16:30: 10 minutes on Friday, 1h50 on Monday.
		{"ps critical Friday 16:20", "prospectsoft", helpdesk.Critical, "", london, "2026-11-20 16:20", "2026-11-23 10:20 GMT", "-"},
		{"ps critical Friday before spring bank holiday", "prospectsoft", helpdesk.Critical, "", london, "2026-05-22 16:20", "2026-05-26 10:20 BST", "-"},
		{"ps critical Friday before early May bank holiday", "prospectsoft", helpdesk.Critical, "", london, "2026-05-01 16:20", "2026-05-05 10:20 BST", "-"},
		{"ps critical Saturday starts Monday 08:30", "prospectsoft", helpdesk.Critical, "", london, "2026-11-21 11:00", "2026-11-23 10:30 GMT", "-"},
		{"ps critical in hours", "prospectsoft", helpdesk.Critical, "", london, "2026-11-23 09:00", "2026-11-23 11:00 GMT", "-"},
		{"ps high 1 business day", "prospectsoft", helpdesk.High, "", london, "2026-11-20 16:20", "2026-11-23 16:20 GMT", "-"},
		{"ps high Thursday 16:45 clamps to Friday closing", "prospectsoft", helpdesk.High, "", london, "2026-11-19 16:45", "2026-11-20 16:30 GMT", "-"},
		{"ps medium 3 business days", "prospectsoft", helpdesk.Medium, "", london, "2026-11-20 16:20", "2026-11-25 16:20 GMT", "-"},
		{"ps low 7 business days", "prospectsoft", helpdesk.Low, "", london, "2026-11-20 16:20", "2026-12-01 16:20 GMT", "-"},
		{"ps change 7 business days", "prospectsoft", helpdesk.Change, "", london, "2026-11-20 16:20", "2026-12-01 16:20 GMT", "-"},
		// Christmas Eve 2026 is a Thursday; 25 Dec Friday, Boxing Day
		// Saturday with its substitute on Monday 28 Dec; 1 Jan Friday.
		{"ps critical Christmas Eve", "prospectsoft", helpdesk.Critical, "", london, "2026-12-24 16:00", "2026-12-29 09:30 GMT", "-"},
		{"ps high Christmas Eve", "prospectsoft", helpdesk.High, "", london, "2026-12-24 16:00", "2026-12-29 16:00 GMT", "-"},
		{"ps medium Christmas Eve", "prospectsoft", helpdesk.Medium, "", london, "2026-12-24 16:00", "2026-12-31 16:00 GMT", "-"},
		{"ps low Christmas Eve over New Year", "prospectsoft", helpdesk.Low, "", london, "2026-12-24 16:00", "2027-01-07 16:00 GMT", "-"},
		{"ps high New Year's Eve", "prospectsoft", helpdesk.High, "", london, "2026-12-31 16:45", "2027-01-04 16:45 GMT", "-"},
		// UK DST: clocks go forward on 29 Mar 2026 and back on 25 Oct 2026.
		{"ps critical over spring forward", "prospectsoft", helpdesk.Critical, "", london, "2026-03-27 16:20", "2026-03-30 10:20 BST", "-"},
		{"ps critical over fall back", "prospectsoft", helpdesk.Critical, "", london, "2026-10-23 16:20", "2026-10-26 10:20 GMT", "-"},
		{"ps high over spring forward keeps the clock time", "prospectsoft", helpdesk.High, "", london, "2026-03-27 10:00", "2026-03-30 10:00 BST", "-"},
		{"ps unknown priority has no targets", "prospectsoft", "urgent", "", london, "2026-11-20 16:20", "-", "-"},

		// ProspectSoft out of hours: critical only, 2 h of wall time.
		{"ooh critical Boxing Day night", "prospectsoft-out-of-hours", helpdesk.Critical, "", london, "2026-12-26 03:00", "2026-12-26 05:00 GMT", "-"},
		{"ooh critical over spring forward", "prospectsoft-out-of-hours", helpdesk.Critical, "", london, "2026-03-29 00:30", "2026-03-29 03:30 BST", "-"},
		{"ooh high has no rule", "prospectsoft-out-of-hours", helpdesk.High, "", london, "2026-12-26 03:00", "-", "-"},

		// Prosper EX: Sydney hours, NSW holidays; 24 h wall responses.
		// Australia Day 2027 is Tuesday 26 Jan.
		{"px critical before Australia Day", "prosperex", helpdesk.Critical, "", sydney, "2027-01-25 16:00", "2027-01-26 16:00 AEDT", "2027-01-29 16:00 AEDT"},
		{"px high filed on Australia Day", "prosperex", helpdesk.High, "", sydney, "2027-01-26 10:00", "2027-01-27 10:00 AEDT", "2027-02-01 09:00 AEDT"},
		{"px medium before Australia Day", "prosperex", helpdesk.Medium, "", sydney, "2027-01-25 16:00", "2027-01-29 16:00 AEDT", "2027-02-04 16:00 AEDT"},
		{"px low before Australia Day", "prosperex", helpdesk.Low, "", sydney, "2027-01-25 16:00", "2027-01-29 16:00 AEDT", "2027-02-04 16:00 AEDT"},
		{"px change has no resolution target", "prosperex", helpdesk.Change, "", sydney, "2027-01-25 16:00", "2027-01-29 16:00 AEDT", "-"},
		// Anzac Day 2028 is a Tuesday.
		{"px critical over Anzac Day", "prosperex", helpdesk.Critical, "", sydney, "2028-04-24 12:00", "2028-04-25 12:00 AEST", "2028-04-28 12:00 AEST"},
		// Sydney DST starts 4 Oct 2026 (Sunday); 5 Oct is NSW Labour Day.
		{"px medium over spring forward and Labour Day", "prosperex", helpdesk.Medium, "", sydney, "2026-10-02 16:00", "2026-10-08 16:00 AEDT", "2026-10-14 16:00 AEDT"},
		{"px critical Saturday over spring forward", "prosperex", helpdesk.Critical, "", sydney, "2026-10-03 10:00", "2026-10-04 11:00 AEDT", "2026-10-09 09:00 AEDT"},
		// Sydney DST ends 4 Apr 2027 (Sunday), the week after Easter.
		{"px medium over fall back", "prosperex", helpdesk.Medium, "", sydney, "2027-04-02 16:00", "2027-04-07 16:00 AEST", "2027-04-13 16:00 AEST"},
		{"px critical over Easter 2027", "prosperex", helpdesk.Critical, "", sydney, "2027-03-25 11:00", "2027-03-26 11:00 AEDT", "2027-04-01 11:00 AEDT"},

		// StoreConnect: resolution only, by plan; national holidays.
		{"sc critical large", "storeconnect", helpdesk.Critical, "large", sydney, "2027-01-22 15:00", "-", "2027-01-25 15:00 AEDT"},
		{"sc critical medium over Australia Day", "storeconnect", helpdesk.Critical, "medium", sydney, "2027-01-22 15:00", "-", "2027-01-27 15:00 AEDT"},
		{"sc critical small", "storeconnect", helpdesk.Critical, "small", sydney, "2027-01-22 15:00", "-", "2027-01-28 15:00 AEDT"},
		{"sc critical no plan", "storeconnect", helpdesk.Critical, "", sydney, "2027-01-22 15:00", "-", "2027-01-28 15:00 AEDT"},
		{"sc critical unknown plan falls back", "storeconnect", helpdesk.Critical, "enterprise", sydney, "2027-01-22 15:00", "-", "2027-01-28 15:00 AEDT"},
		{"sc high large 1 week", "storeconnect", helpdesk.High, "large", sydney, "2027-01-22 15:00", "-", "2027-01-29 15:00 AEDT"},
		{"sc high medium 1 week", "storeconnect", helpdesk.High, "medium", sydney, "2027-01-22 15:00", "-", "2027-01-29 15:00 AEDT"},
		{"sc high small 2 weeks", "storeconnect", helpdesk.High, "small", sydney, "2027-01-22 15:00", "-", "2027-02-05 15:00 AEDT"},
		{"sc high no plan 2 weeks", "storeconnect", helpdesk.High, "", sydney, "2027-01-22 15:00", "-", "2027-02-05 15:00 AEDT"},
		// A wall week is 168 hours: over the change the local clock moves.
		{"sc high large over fall back", "storeconnect", helpdesk.High, "large", sydney, "2027-04-02 10:00", "-", "2027-04-09 09:00 AEST"},
		{"sc medium no target", "storeconnect", helpdesk.Medium, "large", sydney, "2027-01-22 15:00", "-", "-"},
		{"sc low no target", "storeconnect", helpdesk.Low, "", sydney, "2027-01-22 15:00", "-", "-"},
		{"sc change no target", "storeconnect", helpdesk.Change, "", sydney, "2027-01-22 15:00", "-", "-"},

		// Claritum: critical 24x7 next to high in UK business hours.
		{"cl critical 24x7 on Boxing Day", "claritum", helpdesk.Critical, "", london, "2026-12-26 03:00", "2026-12-26 04:00 GMT", "2026-12-26 11:00 GMT"},
		{"cl high same instant waits for 29 Dec", "claritum", helpdesk.High, "", london, "2026-12-26 03:00", "2026-12-29 11:00 GMT", "2026-12-31 12:00 GMT"},
		{"cl medium", "claritum", helpdesk.Medium, "", london, "2026-12-26 03:00", "2026-12-31 12:00 GMT", "-"},
		{"cl low", "claritum", helpdesk.Low, "", london, "2026-12-26 03:00", "2026-12-31 12:00 GMT", "-"},
		{"cl change", "claritum", helpdesk.Change, "", london, "2026-12-26 03:00", "2026-12-31 12:00 GMT", "-"},
		{"cl critical over fall back counts real hours", "claritum", helpdesk.Critical, "", london, "2026-10-25 00:30", "2026-10-25 01:30 BST", "2026-10-25 07:30 GMT"},
		{"cl high over fall back", "claritum", helpdesk.High, "", london, "2026-10-23 17:00", "2026-10-26 10:00 GMT", "2026-10-28 11:00 GMT"},
		{"cl high over spring forward", "claritum", helpdesk.High, "", london, "2026-03-27 17:00", "2026-03-30 10:00 BST", "2026-04-01 11:00 BST"},

		// Built-in standard: UTC business hours, no holidays.
		{"std critical", "standard", helpdesk.Critical, "", utc, "2026-11-20 16:30", "2026-11-23 09:30 UTC", "2026-11-23 16:30 UTC"},
		{"std high", "standard", helpdesk.High, "", utc, "2026-11-20 16:30", "2026-11-23 12:30 UTC", "2026-11-25 16:30 UTC"},
		{"std medium", "standard", helpdesk.Medium, "", utc, "2026-11-20 16:30", "2026-11-23 16:30 UTC", "2026-11-27 16:30 UTC"},
		{"std low", "standard", helpdesk.Low, "", utc, "2026-11-20 16:30", "2026-11-24 16:30 UTC", "-"},
		{"std change", "standard", helpdesk.Change, "", utc, "2026-11-20 16:30", "2026-11-24 16:30 UTC", "-"},
		{"std knows no holidays", "standard", helpdesk.Critical, "", utc, "2026-12-24 16:30", "2026-12-25 09:30 UTC", "2026-12-25 16:30 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fx.policies[tt.policy]
			tk := &helpdesk.Ticket{Priority: tt.prio, Plan: tt.plan, Status: helpdesk.StatusOpen, CreatedAt: local(t, tt.zone, tt.created).UTC()}
			c := p.Clocks(tk)
			if got, want := fmtIn(c.ResponseDue, tt.zone), tt.response; got != want {
				t.Errorf("response due = %s, want %s", got, want)
			}
			if got, want := fmtIn(c.ResolutionDue, tt.zone), tt.resolve; got != want {
				t.Errorf("resolution due = %s, want %s", got, want)
			}
		})
	}
}
