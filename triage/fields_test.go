package triage_test

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/triage"
)

// fieldCase gives a text and what one field must be: "" for absent, or a
// string the extracted value must contain.
type fieldCase struct {
	text string
	want string
}

func checkField(t *testing.T, name string, cases []fieldCase) {
	t.Helper()
	tr := newTriage(t)
	for _, c := range cases {
		got := tr.Fields(triage.Input{Text: c.text, Date: mailDate}).Get(name)
		switch {
		case c.want == "" && got != "":
			t.Errorf("%s of %q: %q, want none", name, c.text, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%s of %q: %q, want one containing %q", name, c.text, got, c.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	checkField(t, helpdesk.FieldErrorText, []fieldCase{
		{"Error message: Invalid session", "Invalid session"},
		{"Error:\n  Payment declined by issuer\n\nThanks", "Payment declined by issuer"},
		{"Errors reported: timeout", "timeout"},
		{"We get \"Something went wrong, please try again\" on save.", "Something went wrong, please try again"},
		{"The page says \u201cAccess denied\u201d.", "Access denied"},
		{"Checkout returns HTTP 502 since noon.", "HTTP 502"},
		{"We see 503 Service Unavailable on every page.", "503 Service Unavailable"},
		{"All calls fail with status 429.", "status 429"},
		{"The database says PG-4001 when we save.", "PG-4001"},
		{"Error code ORA-00942 in the log.", "ORA-00942"},
		{"Chrome shows ERR_CONNECTION_REFUSED.", "ERR_CONNECTION_REFUSED"},
		{"Windows reports 0x80070005 during the sync.", "0x80070005"},
		{"It crashes with a NullPointerException in the export.", "NullPointerException"},
		{"We got java.lang.IllegalStateException: closed", "java.lang.IllegalStateException"},
		{"Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\nKeyError: 'x'", "Traceback"},
		{"Log:\n    at com.acme.Sync.run(Sync.java:42)\n    at java.lang.Thread.run(Thread.java:750)", "at com.acme.Sync.run(Sync.java:42)"},
		{"Bounce: 550 5.1.1 user unknown", "550 5.1.1"},
		{"The upload fails with 'File too large for this job'.", "File too large for this job"},
		{"The screenshot shows ‘Access denied for user’, see attached.", "Access denied for user"},
		// no wording given
		{"We get an error when saving.", ""},
		{"The customers' orders don't arrive, it's been failing since Monday.", ""},
		{"It shows a weird error, I didn't note it.", ""},
		{"The button says \"Save\" but nothing happens.", ""},
		{"The footer still says \"\u00a9 2024 Ross Candles\".", ""},
		{"Your ticket HD-1042 was closed.", ""},
		{"Order 12345 of version 3.8.2.", ""},
	})
}

func TestReproSteps(t *testing.T) {
	checkField(t, helpdesk.FieldReproSteps, []fieldCase{
		{"Steps to reproduce:\n1. Open Settings\n2. Click Save", "Open Settings"},
		{"Steps: log in, open Reports, pick any team.", "log in, open Reports"},
		{"To reproduce: create an invoice with two lines and open the PDF.", "create an invoice"},
		{"1. Go to the basket\n2. Press Pay\n3. Wait 20 seconds", "Go to the basket"},
		{"- Open the app\n- Tap Timesheets\n- Submit", "Tap Timesheets"},
		{"\u2022 Log in as admin\n\u2022 Select Users\n\u2022 Click Export", "Select Users"},
		{"Step 1: open the form\nStep 2: enter a date\nStep 3: save", "open the form"},
		{"Run this:\n\n    curl -i https://api.example.com/v2/orders\n", "curl -i https://api.example.com/v2/orders"},
		{"$ kubectl get pods -n shop", "kubectl get pods"},
		{"Log in as a buyer, open Orders, click Approve and then confirm.", "Log in as a buyer"},
		{"Admin > Cost centres > Bulk upload fails, then:\n1. Admin > Users\n2. Select all", "Admin > Users"},
		{"First I open the job list, then I click on a job and the page goes white.", "First I open the job list"},
		{"First I log in as Sam. Then I go to Reports and the list is empty.", "Then I go to Reports"},
		{"The swatch shows the wrong photo.\nTo see it: open the Tide mug page, hover the second swatch.", "open the Tide mug page"},
		{"When our team imports leads via Data > Import > Leads, duplicates are created.", "Data > Import > Leads"},
		{"When I open a job and click Approve, the page goes white.", "When I open a job and click Approve"},
		{"I tested it with 6000: add to cart, checkout, enter the address, and no shipping appears.", "add to cart, checkout"},
		{"None of our promo codes work: the customer enters SPRING20, clicks Apply, and gets \"This code is not valid\".", "clicks Apply"},
		{"Since yesterday she logs in fine, goes to My Accounts and the list is empty.", "goes to My Accounts"},
		{"Sarah said when they pressed Approve and then selected a supplier, nothing happened.", "selected a supplier"},
		// no steps
		{"The export does not work.", ""},
		{"First of all, thanks for the quick fix last week. Then again, the export is slow.", ""},
		{"When you have time, could you add two users?", ""},
		{"Received: from mx.example (mx.example [192.0.2.1]) by mail.example; Subject: Order submitted, type A, type B, open", ""},
		{"How do I add a new user? I can't find the option.", ""},
		{"How do I add a location and move 6 of the staff across to it?", ""},
		{"They can still log in. Orders and invoices are fine.", ""},
		{"I logged a ticket last week and nobody answered.", ""},
		{"We have three stores:\n- London\n- Leeds\n- York", ""},
		{"1. The price is wrong\n2. The logo is blurry", ""},
	})
}

func TestImpact(t *testing.T) {
	checkField(t, helpdesk.FieldImpact, []fieldCase{
		{"Impact: 40 users in sales", "40 users in sales"},
		{"Affected users: all", "all"},
		{"Nobody can log in.", "Nobody can log in"},
		{"It affects all our customers.", "all our customers"},
		{"Some of our users see the error.", "Some of our users"},
		{"Only one of our agents is affected.", "one of our agents"},
		{"About 15 of our managers cannot open it.", "15 of our managers"},
		{"Customers cannot pay.", "Customers cannot pay"},
		{"The shop is very slow for our customers.", "for our customers"},
		{"It is confusing for our agents.", "confusing for our agents"},
		{"The whole office is idle.", "whole office"},
		{"Every page gives 502. No customer can place an order tonight.", "No customer can place an order"},
		{"Proofs do not render in Safari. The three designers have switched to Chrome.", "three designers"},
		{"Afterpay fails at checkout, we are losing some sales since noon.", "losing some sales"},
		{"The export fails and payroll is due tomorrow.", "payroll is due"},
		{"The sync is broken. The account managers on Windows are unaffected.", "account managers on Windows are unaffected"},
		{"Thabo's phone was stolen. He's the only one affected.", "He's the only one affected"},
		{"The kudos text is unreadable in dark mode. Half our studio uses dark mode.", "Half our studio uses dark mode"},
		// a scope of one counts in a mail that names no failure by a
		// rubric phrase; in a request it names no one
		{"My profile picture won't update. Only me I think.", "Only me I think"},
		{"Please add a larger font option, just for me.", ""},
		// no one named
		{"Could you add a dark mode? It would save us time.", ""},
		{"The export does not work.", ""},
		{"Every page shows an error.", ""},
		{"Could you add Apple Pay? A lot of our shoppers use iPhones.", ""},
		{"Please provision a store for our Irish customers.", ""},
	})
}

func TestService(t *testing.T) {
	checkField(t, helpdesk.FieldService, []fieldCase{
		{"Service: Online store checkout", "Online store checkout"},
		{"Which service: Prospect eCommerce website", "Prospect eCommerce website"},
		{"Affected service: CRM", "CRM"},
		{"Prospect 365 CRM is not available.", "Prospect 365 CRM"},
		{"The BambooHR integration failed.", "BambooHR integration"},
		{"The export on the website fails.", "export"},
		{"Payments fail with Amex.", "Payments"},
		{"The Save button overlaps the field.", "button"},
		// nothing named
		{"Please call me back about our contract.", ""},
		{"Who is our account manager?", ""},
	})
}

// Labelled forms are recognised however the customer writes them, and a
// label with nothing after it takes the lines below.
func TestLabelledForms(t *testing.T) {
	tr := newTriage(t)
	text := `Service affected: Stripe payments
Start Time: 2026-11-25 07:30 UTC
Error Message:
  "Card declined (PG-4001)"

Steps to Reproduce:
1. Add a product
2. Pay by card

Users affected: about 200 shoppers
`
	f := tr.Fields(triage.Input{Text: text, Date: mailDate})
	for _, c := range []struct{ name, want string }{
		{helpdesk.FieldService, "Stripe payments"},
		{helpdesk.FieldStartTime, "2026-11-25 07:30 UTC"},
		{helpdesk.FieldErrorText, "Card declined (PG-4001)"},
		{helpdesk.FieldReproSteps, "1. Add a product\n2. Pay by card"},
		{helpdesk.FieldImpact, "about 200 shoppers"},
	} {
		if got := f.Get(c.name); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want one containing %q", c.name, got, c.want)
		}
	}
	if got, want := f.StartInstant, at(2026, 11, 25, 7, 30, mailDate.Location()); !got.Equal(want) {
		t.Errorf("start instant %v, want %v", got, want)
	}
	// Placeholders are no answer.
	f = tr.Fields(triage.Input{Text: "Start time: unknown\nError message: n/a\nSteps to reproduce: -\nImpact: ?"})
	for _, name := range []string{helpdesk.FieldStartTime, helpdesk.FieldErrorText, helpdesk.FieldReproSteps, helpdesk.FieldImpact} {
		if got := f.Get(name); got != "" {
			t.Errorf("%s: %q, want none for a placeholder", name, got)
		}
	}
}

// The desk re-checks the fields on every customer reply: facts found in a
// reply fill the gaps, and the missing list shrinks.
func TestFieldsOnReplies(t *testing.T) {
	tr := newTriage(t)
	required := []string{helpdesk.FieldStartTime, helpdesk.FieldErrorText, helpdesk.FieldReproSteps}
	first := tr.Assess(triage.Input{Subject: "Checkout broken", Text: "The checkout is broken for all customers.", Date: mailDate})
	fields := first.Fields
	if got, want := strings.Join(fields.Missing(required), ","), "start_time,error_text,repro_steps"; got != want {
		t.Fatalf("missing after the first mail %q, want %q", got, want)
	}
	reply1 := tr.Fields(triage.Input{Subject: "Re: Checkout broken", Text: "It started at 9:15 this morning. The page says \"Gateway error 9001\".", Date: mailDate})
	fields = fields.Merge(reply1)
	if got, want := strings.Join(fields.Missing(required), ","), "repro_steps"; got != want {
		t.Errorf("missing after the first reply %q, want %q", got, want)
	}
	reply2 := tr.Fields(triage.Input{Subject: "Re: Checkout broken", Text: "Steps:\n1. Add a product\n2. Pay by card", Date: mailDate})
	fields = fields.Merge(reply2)
	if got := fields.Missing(required); len(got) != 0 {
		t.Errorf("missing after the second reply %v, want none", got)
	}
	if got, want := fields.StartInstant, at(2026, 11, 25, 9, 15, mailDate.Location()); !got.Equal(want) {
		t.Errorf("start instant %v, want %v", got, want)
	}
}

// TestMayBeImpact: the sentence quoted for who is affected names people,
// the writer's firm or a cost when the mail has such a sentence; a
// signature name, a date or a bare symptom names none.
func TestMayBeImpact(t *testing.T) {
	for _, c := range []struct {
		sentence string
		want     bool
	}{
		{"Half of our sales team cannot log in.", true},
		{"It's confusing a couple of our managers", true},
		{"Customers are emailing us about it.", true},
		{"We are losing sales every hour.", true},
		{"NOBODY CAN PAY", true},
		{"Hannah Oyelaran", false},
		{"Started this morning as far as I know.", false},
		{"Tried a jpg and a png.", false},
		{"The export fails with a timeout.", false},
		{"Userspace tools", false},
	} {
		if got := triage.MayBeImpact(c.sentence); got != c.want {
			t.Errorf("MayBeImpact(%q) = %v, want %v", c.sentence, got, c.want)
		}
	}
}

// TestSignOff: the sentence quoted for who is affected is never taken
// from the writer's name, title and company below a closing line, or in
// up to four short lines at the end that open with a name after a blank
// line or the report's last sentence.
func TestSignOff(t *testing.T) {
	for _, c := range []struct {
		text string
		want int // the line where the signature starts
	}{
		{"Hi,\n\nNobody can log in.\n\nKind regards,\nRobert Tanaka\nHead of People, Pacific Rim Logistics", 4},
		{"Hi,\n\nNobody can log in.\n\nThanks, Bianca\nVilla Ceramics", 4},
		{"Hi,\n\nNobody can log in.\n\nRobert Tanaka\nHead of People, Pacific Rim Logistics\n", 4},
		{"Hi,\n\nNobody can log in.\nThe whole office is waiting.", 4},             // the report's own last paragraph
		{"Hi,\n\nNobody can log in.\n\nThe whole office is waiting since 9.\n", 6}, // a sentence, not a name
		{"Nobody can log in", 1}, // one paragraph: the text itself
		{"Hi,\n\nNobody can log in.\n\nCheers\n\nBrit\nLowe Fitness (Head Office)", 4},                            // the closing line wins
		{"Hi,\n\nThanks for the quick fix last week. Now nobody can log in.\n\nTom\nAcme", 4},                     // "Thanks for" closes nothing
		{"Hallo,\n\nNiemand kann sich anmelden.\n\nViele Grüße\nJonas Weber", 4},                                  // message.Closing reads the corpus's languages
		{"Hi,\n\nNobody can log in.\n\norders stuck since 9\nwhole office waiting", 6},                            // a last paragraph that is no name
		{"Hi,\n\nNobody can log in.\n\nThanks for looking", 5},                                                    // a closing word opening a sentence
		{"G'day,\nNo birthdays for weeks. Not a biggie.\nConnor\nStore Manager, Outback Camping Co – Penrith", 2}, // no blank line above the name
		{"Hi,\nsite down\nHelp", 3}, // short lines up to the top: the report itself
		{"Hi,\nThe site is down.\nnobody can log in\nwhole office waiting", 4}, // after the last sentence, but no name
	} {
		if got := triage.SignOff(strings.Split(c.text, "\n")); got != c.want {
			t.Errorf("SignOff(%q) = %d, want %d", c.text, got, c.want)
		}
	}
}
