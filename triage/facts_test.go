package triage_test

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/triage"
)

// TestFacts pins the facts of issue 15 that triage reads: what kind of
// mail it is, scope read as numbers, exposure of other parties' data,
// "Workaround: none", and the policies' own mapping.
func TestFacts(t *testing.T) {
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		policy, subject, text string
		want                  helpdesk.Priority
		reason                string // a part of the first reason
	}{
		// a question with no failure is low; a polite opening does not
		// hide an outage
		{"", "Quick question", "How do I export the contact list to Excel?", helpdesk.Low, "a question or request"},
		{"", "Reset two-factor", "Could you please reset the 2FA for our CEO? He has a new phone.", helpdesk.Low, "a question or request"},
		{"", "Memberships", "I have read the docs but can't work out whether pro-rata pricing is possible. Could someone advise?", helpdesk.Low, "a question or request"},
		{"", "Quick question", "I wonder if you could look: the website shows a blank white page for everyone since 9.", helpdesk.Critical, "critical"},
		// scope read as numbers: a part lowers a failing payment, the
		// majority does not
		{"storeconnect", "", "Card payments are failing in 3 of our 40 stores.", helpdesk.High, `scope a part ("3 of our 40")`},
		{"storeconnect", "", "About 15% of card payments fail at checkout.", helpdesk.High, "scope"},
		{"storeconnect", "", "About 90% of customers cannot complete a purchase.", helpdesk.Critical, "critical"},
		// exposure of another party's data is critical whatever the scope
		{"prosperex", "", "One of our managers can see another company's posts on the Kudos wall.", helpdesk.Critical, "critical"},
		{"prosperex", "", "The invitation links never expire and still open a session.", helpdesk.Critical, "critical"},
		// a form's "Workaround: none" is no workaround
		{"", "", "Impact: none of our 60 users can log in\nWorkaround: none", helpdesk.Critical, "critical"},
		// a mail that says the others are fine is about a part, whatever
		// wide words it also uses
		{"prosperex", "", "About 30 of our night-shift staff couldn't log in overnight. They're all people we moved into the new team on Tuesday. Everyone else logs in fine.", helpdesk.High, "scope"},
		{"prospectsoft", "", "I'm locked out of the CRM. It's Sunday so nobody else is really on.", helpdesk.High, `lowered to high: scope "nobody else"`},
		// "none of the reps can get into" is nobody can
		{"prospectsoft", "", "Since lunch none of the reps can get into the CRM at all, the page never opens.", helpdesk.Critical, "critical"},
		// an outage that comes and goes is intermittent
		{"storeconnect", "", "The site goes down for a few minutes at a time, about once an hour, then comes back by itself.", helpdesk.High, "high"},
		// "sometimes" in another paragraph qualifies that paragraph's
		// slowness, not the outage told apart from it
		{"prospectsoft", "", "Since yesterday the mobile app does not sync for any of our reps.\n\nThe web version is slow too, sometimes a page takes two minutes.\n\nNobody can send orders and we are losing orders.", helpdesk.Critical, "critical"},
		{"prospectsoft", "", "Nobody can send orders, sometimes for an hour, then it works again.", helpdesk.High, "intermittent"},
		// a failure for everyone with no way round it is critical; slowness is not
		{"", "", "Nobody can submit an order, it fails with an error for all users.", helpdesk.Critical, "critical"},
		{"", "", "The CRM is slow for all users.", helpdesk.High, "high"},
		// policies differ: a part of the users raises a malfunction at
		// Prosper EX ("a subset of users" is Major), not at ProspectSoft
		// ("some users are being affected" is Medium)
		{"prosperex", "", "Some users get an error when they export the report.", helpdesk.High, "raised to high"},
		{"prospectsoft", "", "Some users get an error when they export the report.", helpdesk.Medium, "medium"},
		// Claritum ranks by what users can do, not how many
		{"claritum", "", "All users get an error when they export the report.", helpdesk.Medium, "medium"},
		// Prosper EX has no level below Minor, which names usage
		// questions and typos; StoreConnect's Medium names training and
		// guidance, its Low what may be fixed "at some point"
		{"prosperex", "Quick question", "How do I export the contact list to Excel?", helpdesk.Medium, "a question or request"},
		{"prosperex", "", "There is a typo on the Kudos badge.", helpdesk.Medium, "lowest level"},
		{"storeconnect", "Quick question", "How do I export the contact list to Excel?", helpdesk.Medium, "a question or request"},
		{"storeconnect", "", "There is a typo on the footer.", helpdesk.Low, "low"},
		{"claritum", "Quick question", "How do I export the contact list to Excel?", helpdesk.Low, "a question or request"},
	}
	for _, c := range cases {
		a := tr.Assess(triage.Input{Subject: c.subject, Text: c.text, Policy: c.policy})
		if a.Priority != c.want || !strings.Contains(strings.Join(a.Reasons, " | "), c.reason) {
			t.Errorf("%s %q: %s (%s), want %s with %q", c.policy, c.text, a.Priority, strings.Join(a.Reasons, " | "), c.want, c.reason)
		}
	}
}
