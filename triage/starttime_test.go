package triage_test

import (
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/triage"
)

// The mail of every case is dated Wednesday 25 November 2026, 10:20 in
// London (GMT), unless the case gives a zone.
var mailDate = time.Date(2026, 11, 25, 10, 20, 0, 0, time.UTC)

func at(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

func TestStartTime(t *testing.T) {
	tr := newTriage(t)
	sydney := time.FixedZone("AEDT", 11*3600)
	berlin := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		text   string
		loc    *time.Location
		phrase string    // StartTime
		want   time.Time // StartInstant; zero when it cannot be resolved
	}{
		// the examples
		{"The site is down since 07:40.", nil, "since 07:40", at(2026, 11, 25, 7, 40, time.UTC)},
		{"It went down at 23:00 last night.", nil, "at 23:00 last night", at(2026, 11, 24, 23, 0, time.UTC)},
		{"Exports fail since Monday.", nil, "since Monday", at(2026, 11, 23, 0, 0, time.UTC)},
		{"It stopped working yesterday.", nil, "yesterday", at(2026, 11, 24, 0, 0, time.UTC)},
		{"The checkout broke 5 minutes ago.", nil, "5 minutes ago", at(2026, 11, 25, 10, 15, time.UTC)},
		{"Start time: 2026-11-20 09:30 GMT", nil, "2026-11-20 09:30 GMT", at(2026, 11, 20, 9, 30, time.UTC)},
		// the trial's examples
		{"We noticed it at 9:15 this morning.", nil, "at 9:15 this morning", at(2026, 11, 25, 9, 15, time.UTC)},
		{"It started yesterday at 3pm.", nil, "yesterday at 3pm", at(2026, 11, 24, 15, 0, time.UTC)},
		{"It has been failing since last Friday.", nil, "since last Friday", at(2026, 11, 20, 0, 0, time.UTC)},
		{"Start time: 2024-03-02 14:00", nil, "2024-03-02 14:00", at(2024, 3, 2, 14, 0, time.UTC)},
		// more phrasings
		{"Errors since 2026-11-24T22:15:00Z on every page.", nil, "since 2026-11-24T22:15:00Z", at(2026, 11, 24, 22, 15, time.UTC)},
		{"Down since 24/11/2026 18:30.", nil, "since 24/11/2026 18:30", at(2026, 11, 24, 18, 30, time.UTC)},
		{"Started on 03.11.2026 at 08:00.", nil, "on 03.11.2026 at 08:00", at(2026, 11, 3, 8, 0, time.UTC)},
		{"It started on 20 November.", nil, "on 20 November", at(2026, 11, 20, 0, 0, time.UTC)},
		{"Slow since November 18th.", nil, "since November 18th", at(2026, 11, 18, 0, 0, time.UTC)},
		{"The site has been slow for the last 2 hours.", nil, "for the last 2 hours", at(2026, 11, 25, 8, 20, time.UTC)},
		{"The sync is delayed since 3 days.", nil, "since 3 days", at(2026, 11, 22, 10, 20, time.UTC)},
		{"It happened about an hour ago.", nil, "about an hour ago", at(2026, 11, 25, 9, 20, time.UTC)},
		{"Broken since half an hour ago.", nil, "since half an hour ago", at(2026, 11, 25, 9, 50, time.UTC)},
		{"Failing since yesterday afternoon.", nil, "since yesterday afternoon", at(2026, 11, 24, 15, 0, time.UTC)},
		{"It started around 6am.", nil, "around 6am", at(2026, 11, 25, 6, 0, time.UTC)},
		{"It started at 11.10 pm.", nil, "at 11.10 pm", at(2026, 11, 24, 23, 10, time.UTC)},     // later than the mail: the night before
		{"Down since 23:30 AEST.", sydney, "since 23:30 AEST", at(2026, 11, 25, 0, 30, sydney)}, // the zone as written ...
		{"Down since 22:00 AEST.", sydney, "since 22:00 AEST", at(2026, 11, 24, 23, 0, sydney)}, // ... the day before when it is later than the mail
		{"Errors since 22:45.", nil, "since 22:45", at(2026, 11, 24, 22, 45, time.UTC)},
		{"Since Thursday the app crashes.", nil, "Since Thursday", at(2026, 11, 19, 0, 0, time.UTC)},
		{"It broke on Wednesday.", nil, "on Wednesday", at(2026, 11, 25, 0, 0, time.UTC)},
		{"Slow since the 21st.", nil, "since the 21st", at(2026, 11, 21, 0, 0, time.UTC)},
		{"Slow since last week.", nil, "since last week", at(2026, 11, 18, 0, 0, time.UTC)},
		{"It started earlier today.", nil, "earlier today", at(2026, 11, 25, 0, 0, time.UTC)},
		{"Since this morning nothing loads.", nil, "Since this morning", at(2026, 11, 25, 8, 0, time.UTC)},
		// issue 15's misses: durations, a bare hour, a day-first date, an event
		{"THE PORTAL IS DOWN FOR 2 HOURS NOW", nil, "FOR 2 HOURS", at(2026, 11, 25, 8, 20, time.UTC)},
		{"The shop has been failing for 3 days.", nil, "for 3 days", at(2026, 11, 22, 10, 20, time.UTC)},
		{"The portal is not loading since around 11.", nil, "since around 11", at(2026, 11, 24, 11, 0, time.UTC)}, // later than the mail: yesterday's
		{"Not loading since 9, nobody can work.", nil, "since 9", at(2026, 11, 25, 9, 0, time.UTC)},
		{"The export has been failing since 04.11. every night.", nil, "since 04.11", at(2026, 11, 4, 0, 0, time.UTC)},
		{"Down since 02.08. 7:31 and nobody noticed.", nil, "since 02.08. 7:31", at(2026, 8, 2, 7, 31, time.UTC)},
		{"Since the last release the upload fails.", nil, "Since the last release", time.Time{}},
		{"Search is broken ever since the upgrade.", nil, "ever since the upgrade", time.Time{}},
		// ... and what stays no start
		{"We waited for 2 hours on the phone.", nil, "", time.Time{}},
		{"The portal is down since 11 users changed their password.", nil, "", time.Time{}},
		{"We have 11 stores since 2019.", nil, "", time.Time{}},
		{"It was fine until 09.10. Now it fails.", nil, "", time.Time{}},
		// the customer's zone
		{"Down since 07:40.", sydney, "since 07:40", at(2026, 11, 25, 7, 40, sydney)},
		{"Down since 21:00 AEST.", sydney, "since 21:00 AEST", at(2026, 11, 25, 21, 0, sydney)}, // after the mail in AEST, not on the local clock: a summer "AEST"
		{"Down since 08:30 AEST.", sydney, "since 08:30 AEST", at(2026, 11, 25, 9, 30, sydney)},
		{"Down since 09:00 CET.", nil, "since 09:00 CET", at(2026, 11, 25, 9, 0, berlin)},
		{"Start time: 2026-11-25 09:00 +0100", nil, "2026-11-25 09:00 +0100", at(2026, 11, 25, 9, 0, berlin)},
		// found but not placed
		{"Start time: unknown", nil, "", time.Time{}},
		{"Start time: around lunch", nil, "around lunch", time.Time{}},
		// no start time
		{"Please call me at 3pm tomorrow.", nil, "", time.Time{}},
		{"We present the results to the board on Friday.", nil, "", time.Time{}},
		{"Please fix it by Friday.", nil, "", time.Time{}},
		{"Our hours are 9:00 to 17:00.", nil, "", time.Time{}},
		{"Order #12345 of 20/11 has version 3.8.2.", nil, "", time.Time{}},
		{"Call 01632 960123 any time.", nil, "", time.Time{}},
		{"It takes 30-40 seconds to open a record.", nil, "", time.Time{}},
		{"I have to recreate them every morning.", nil, "", time.Time{}},
		{"We need it from next year.", nil, "", time.Time{}},
		{"We waited for 2 hours on the phone.", nil, "", time.Time{}},
		// a forwarded mail's header block is no start
		{"See below.\n\nFrom: Megan <m@x.example>\nSent: 20 November 2026 08:09\nTo: Sunil <s@x.example>\nSubject: portal down\n\nNobody can log in since 7:30.", nil, "since 7:30", at(2026, 11, 25, 7, 30, time.UTC)},
		// a greeting is no time of day
		{"Morning Sunil,\n\nNobody can get onto the portal.", nil, "", time.Time{}},
		{"Good afternoon,\nthe export fails.", nil, "", time.Time{}},
		// starts the resolver cannot place: the customer's words are kept
		{"Our Slack integration has been patchy for about a week.", nil, "has been patchy for about a week", time.Time{}},
		{"Since the start of this month some orders arrive without an address.", nil, "Since the start of this month", time.Time{}},
		{"It is wrong since the begin of November.", nil, "since the begin of November", time.Time{}},
		{"The numbers have not refreshed since about mid-September.", nil, "since about mid-September", time.Time{}},
		{"Our shop is closed since this night.", nil, "since this night", time.Time{}},
		{"from some days the shop is very slow", nil, "from some days", time.Time{}},
		{"Since the latest app update the header is orange.", nil, "Since the latest app update", time.Time{}},
		{"It started after we added a new value to the picklist.", nil, "It started after", time.Time{}},
	} {
		in := triage.Input{Text: c.text, Date: mailDate, Location: c.loc}
		f := tr.Fields(in)
		if got, want := f.StartTime, c.phrase; got != want {
			t.Errorf("%q: start time %q, want %q", c.text, got, want)
			continue
		}
		if got, want := f.StartInstant, c.want; !got.Equal(want) {
			t.Errorf("%q: start instant %v, want %v", c.text, got, want)
		}
	}
}

// Without the mail's Date only absolute times can be placed.
func TestStartTimeWithoutDate(t *testing.T) {
	tr := newTriage(t)
	f := tr.Fields(triage.Input{Text: "The site is down since 07:40."})
	if got, want := f.StartTime, "since 07:40"; got != want {
		t.Errorf("start time %q, want %q", got, want)
	}
	if !f.StartInstant.IsZero() {
		t.Errorf("start instant %v, want zero", f.StartInstant)
	}
	f = tr.Fields(triage.Input{Text: "Start time: 2026-11-20 09:30 GMT"})
	if got, want := f.StartInstant, at(2026, 11, 20, 9, 30, time.UTC); !got.Equal(want) {
		t.Errorf("start instant %v, want %v", got, want)
	}
}
