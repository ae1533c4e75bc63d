package triage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/triage"
)

func newTriage(t testing.TB) *triage.Triage {
	t.Helper()
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

type rubricCase struct {
	text string
	want helpdesk.Priority
}

// checkRubric assesses each text as the body of a mail without subject
// and compares the priority.
func checkRubric(t *testing.T, cases []rubricCase) {
	t.Helper()
	tr := newTriage(t)
	for _, c := range cases {
		a := tr.Assess(triage.Input{Text: c.text})
		if got, want := a.Priority, c.want; got != want {
			t.Errorf("%q: priority %s, want %s (reasons: %s)", c.text, got, want, strings.Join(a.Reasons, " | "))
		}
	}
}

// One rubric line per test, each in many phrasings that appear nowhere in
// the labelled mails.
func TestRubricCriticalOutage(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"The website is down.", helpdesk.Critical},
		{"Our web shop went down about twenty minutes ago and nobody can reach it.", helpdesk.Critical},
		{"the portal is completely unavailable for us", helpdesk.Critical},
		{"Production is offline!!!", helpdesk.Critical},
		{"The app won't load at all, on any phone.", helpdesk.Critical},
		{"Your platform has been unreachable for the whole morning.", helpdesk.Critical},
		{"We are getting 502 Bad Gateway on every page.", helpdesk.Critical},
		{"The CRM is not responding. Nothing works.", helpdesk.Critical},
		{"Total outage here, the system is dead.", helpdesk.Critical},
		{"Complete loss of service since 6am, work cannot continue.", helpdesk.Critical},
		{"The server is down again and the whole team is idle.", helpdesk.Critical},
		{"We cannot access the system at all.", helpdesk.Critical},
		{"Service Unavailable is all we see when we open the store.", helpdesk.Critical},
		{"our online store isnt loading for anyone", helpdesk.Critical},
		{"the site's dead, customers can't reach it", helpdesk.Critical},
		{"the app not open for anybody in our office, only blank page", helpdesk.Critical},
		{"Everything is down since the update.", helpdesk.Critical},
	})
}

func TestRubricCriticalLogin(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"Nobody can log in to the platform this morning.", helpdesk.Critical},
		{"None of our users are able to sign in.", helpdesk.Critical},
		{"We can't log into the CRM, none of us.", helpdesk.Critical},
		{"Login is broken for everyone.", helpdesk.Critical},
		{"All staff are locked out of their accounts.", helpdesk.Critical},
		{"No one can login since the update.", helpdesk.Critical},
		{"Everybody gets an error when signing in, we cannot log in at all.", helpdesk.Critical},
		{"Hello, I hope you are well. None of our staff has been able to sign in since this morning. Whenever you get a moment.", helpdesk.Critical},
		{"Nobody here has managed to log in today.", helpdesk.Critical},
	})
}

func TestRubricCriticalData(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"We have lost all our customer data from last week.", helpdesk.Critical},
		{"Half of the orders disappeared from the database overnight.", helpdesk.Critical},
		{"The import overwrote our contacts, the records are gone.", helpdesk.Critical},
		{"Data corruption in the ledger: balances are garbage.", helpdesk.Critical},
		{"Several invoices have been deleted without anyone touching them.", helpdesk.Critical},
		{"After the sync our database looks corrupted.", helpdesk.Critical},
		{"Only one of our users noticed it, but her documents are gone.", helpdesk.Critical},
		// told plainly: records filed under the wrong thing
		{"Probably minor: in the survey results the answers for question 3 are showing under question 7.", helpdesk.Critical},
		{"Since the update, 1-1 notes are being saved against the wrong employee.", helpdesk.Critical},
	})
}

func TestRubricCriticalSecurity(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"We think our account was hacked.", helpdesk.Critical},
		{"There is a security vulnerability in the upload form.", helpdesk.Critical},
		{"A user can see invoices of another customer.", helpdesk.Critical},
		{"Customer personal data is exposed on a public URL.", helpdesk.Critical},
		{"Possible data breach: our client list was leaked.", helpdesk.Critical},
		{"Unauthorised access to the admin panel by an ex-employee.", helpdesk.Critical},
		{"One customer reported he can view details of other customers.", helpdesk.Critical},
		{"There's an SQL injection in the search field.", helpdesk.Critical},
		{"The API key you sent us never expires and is shown to every user in the admin screen.", helpdesk.Critical},
		{"Old password reset links can be reused, even weeks later.", helpdesk.Critical},
		{"The shared report link opens the whole report in a private window without asking me to log in.", helpdesk.Critical},
		{"Probably minor: report links work without logging in?", helpdesk.Critical},
		{"Probably minor: private messages between two of my groomers show on the kudos page where everyone can see them.", helpdesk.Critical},
		{"Private notes from our 1-1s appear on the team feed and everybody can read them.", helpdesk.Critical},
	})
}

func TestRubricCriticalMoney(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"Payments are failing for every customer.", helpdesk.Critical},
		{"Card payments are declined at checkout, nobody can buy.", helpdesk.Critical},
		{"The checkout is broken, we can't take any orders.", helpdesk.Critical},
		{"All products show a price of zero - wrong prices are live!", helpdesk.Critical},
		{"The shop lists everything at the wrong price.", helpdesk.Critical},
		{"Orders are not coming through to our ERP at all.", helpdesk.Critical},
		{"No new orders have been received since midnight.", helpdesk.Critical},
		{"This bug could create a legal liability for us.", helpdesk.Critical},
		{"We are losing revenue every minute this lasts.", helpdesk.Critical},
		{"Our ERP integration is down and stock cannot be booked.", helpdesk.Critical},
		{"The payroll integration stopped working, nobody gets paid.", helpdesk.Critical},
	})
}

func TestRubricHigh(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"The dashboard is extremely slow today.", helpdesk.High},
		{"Pages take forever to load since this morning.", helpdesk.High},
		{"Performance is really poor, every click takes several seconds.", helpdesk.High},
		{"The site goes down from time to time, then comes back.", helpdesk.High},
		{"Checkout fails intermittently for some shoppers.", helpdesk.High},
		{"Some of our users get an error when saving a quote.", helpdesk.High},
		{"A few customers report that PayPal payments are declined.", helpdesk.High},
		{"The sync with Salesforce is running hours behind.", helpdesk.High},
		{"Stock levels on the site are out of date.", helpdesk.High},
		{"Data shown on the shop is stale.", helpdesk.High},
		{"The app keeps crashing when we open a customer.", helpdesk.High},
		{"Frequent errors in the approval workflow today.", helpdesk.High},
		{"The Xero integration fails now and then.", helpdesk.High},
		{"Requests time out regularly.", helpdesk.High},
		{"Our buyers cannot submit purchase orders, there is no workaround.", helpdesk.High},
		{"Checkout is down but we take orders by phone as a workaround.", helpdesk.High},
		{"The site is unavailable for a handful of customers in Spain.", helpdesk.High},
		{"Reports are not working for all of our managers.", helpdesk.High},
		{"Important feature broken: invoices cannot be generated.", helpdesk.High},
		{"The platform was down this morning, it is back up now.", helpdesk.High},
		{"The new import is slowing everything down for all of us.", helpdesk.High},
	})
}

func TestRubricMedium(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"The export to Excel doesn't work.", helpdesk.Medium},
		{"One of our users cannot upload attachments.", helpdesk.Medium},
		{"The search returns wrong results for one team, others are fine.", helpdesk.Medium},
		{"The PDF export fails, but printing works as a workaround.", helpdesk.Medium},
		{"Bulk edit does not work properly, we edit records one by one in the meantime.", helpdesk.Medium},
		{"Duplicate emails are sent for some reminders.", helpdesk.Medium},
		{"The calendar widget shows an error for me only.", helpdesk.Medium},
		{"Please provision a new sandbox environment for our test team.", helpdesk.Medium},
		{"The import skipped a few rows with invalid dates.", helpdesk.Medium},
		{"Minor issue: the filter on the contacts list is ignored.", helpdesk.Medium},
		{"Something is wrong with the totals on the quote page.", helpdesk.Medium},
		{"The app is slow for just one of our users.", helpdesk.Medium},
	})
}

func TestRubricLow(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"There is a typo on the invoice template: 'Totl'.", helpdesk.Low},
		{"The logo looks blurry on the login page.", helpdesk.Low},
		{"The buttons are misaligned on small screens, purely cosmetic.", helpdesk.Low},
		{"How do I change the currency of a quote?", helpdesk.Low},
		{"Is there a way to export the contact list?", helpdesk.Low},
		{"Where can I find the user guide for approvals?", helpdesk.Low},
		{"Could you explain the difference between the two report types?", helpdesk.Low},
		{"We'd need training for three new colleagues.", helpdesk.Low},
		{"Small display glitch in the sidebar, no impact on work.", helpdesk.Low},
		{"Spelling mistake in the welcome email.", helpdesk.Low},
		{"A question about the API rate limits.", helpdesk.Low},
		{"The heading font is different on the settings page, it doesn't affect anything.", helpdesk.Low},
	})
}

func TestRubricChange(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"Feature request: a dark theme.", helpdesk.Change},
		{"It would be nice to have a second address line on invoices.", helpdesk.Change},
		{"Could you add a filter for overdue tasks?", helpdesk.Change},
		{"Please add an option to hide archived customers.", helpdesk.Change},
		{"We would like the ability to schedule reports by email.", helpdesk.Change},
		{"Enhancement: allow sorting the kudos feed by date.", helpdesk.Change},
		{"Is it possible to add a new field for the VAT number?", helpdesk.Change},
		{"Suggestion for your roadmap: SSO with Okta.", helpdesk.Change},
		{"Change request: rename 'Deals' to 'Opportunities' in our account.", helpdesk.Change},
	})
}

// Negation cancels a phrase that follows it closely; a negation that is
// part of a phrase of its own ("not responding") cancels nothing else.
func TestNegation(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"The site is not down, but it is very slow.", helpdesk.High},
		{"No data was lost, the export just shows a typo.", helpdesk.Low},
		{"This is not a security issue, only a typo in the footer.", helpdesk.Low},
		// "nothing urgent" claims no urgency: the high stays high
		{"The invoice export fails for all users since this morning. Nothing urgent though.", helpdesk.High},
		{"We have not lost any orders, but the export fails.", helpdesk.Medium},
		{"I don't think the portal is down, it's only slow.", helpdesk.High},
		{"There is no workaround: the website is down for everyone.", helpdesk.Critical},
		{"The site is not responding for any visitor.", helpdesk.Critical},
		{"If the website goes down, how do we get notified?", helpdesk.Low},
		{"To prevent data loss, how should we back up our records?", helpdesk.Low},
		{"It no longer works: the checkout is broken for every customer.", helpdesk.Critical},
		{"This isn't urgent: a typo in the menu.", helpdesk.Low},
	})
}

// Scope moves a level: a critical failure for a part of the users is high,
// a high one for one user is medium; a generic failure for everyone is high.
func TestScope(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"Nobody can log in.", helpdesk.Critical},
		{"Some users cannot log in.", helpdesk.High},
		{"Only one of our users cannot log in.", helpdesk.High},
		{"Only one of our users cannot log in; she can use her phone as a workaround.", helpdesk.Medium},
		{"The site is slow for everyone.", helpdesk.High},
		{"The site is slow for me only, everyone else is fine.", helpdesk.Medium},
		{"The export is broken for all users.", helpdesk.High},
		{"The export is broken.", helpdesk.Medium},
		{"The export is broken for a few of our users.", helpdesk.High},
		{"Data loss: one user's notes disappeared.", helpdesk.Critical},
		{"It's not just one user, everyone is locked out.", helpdesk.Critical},
		{"About 90% of customers cannot complete a purchase.", helpdesk.Critical},
	})
}

// A workaround lowers the two most urgent levels by one; intermittency
// caps the most urgent level at the second.
func TestWorkaroundAndIntermittent(t *testing.T) {
	checkRubric(t, []rubricCase{
		{"Card payments fail at checkout. As a temporary workaround we take payment by phone.", helpdesk.High},
		{"The site is down sometimes, a few times an hour.", helpdesk.High},
		{"Checkout randomly fails with a 503.", helpdesk.High},
		{"The app is very slow; a workaround is to use the web version.", helpdesk.Medium},
		{"The export fails now and then.", helpdesk.High},
		{"The site was down for ten minutes but is working again.", helpdesk.High},
		{"There is a workaround for the typo, just ignore it.", helpdesk.Low},
	})
}

func TestMailboxDefault(t *testing.T) {
	tr := newTriage(t)
	for _, c := range []struct {
		in   triage.Input
		want helpdesk.Priority
	}{
		{triage.Input{Text: "Please call me back about our contract."}, helpdesk.Medium},
		{triage.Input{Text: "Please call me back about our contract.", Default: helpdesk.High}, helpdesk.High},
		{triage.Input{Text: "Please call me back about our contract.", Default: "bogus"}, helpdesk.Medium},
		{triage.Input{Text: "There is a typo on the home page.", Default: helpdesk.Critical}, helpdesk.Low},
	} {
		a := tr.Assess(c.in)
		if got, want := a.Priority, c.want; got != want {
			t.Errorf("%+v: priority %s, want %s (%s)", c.in, got, want, strings.Join(a.Reasons, " | "))
		}
		if len(a.Reasons) == 0 {
			t.Errorf("%+v: no reasons", c.in)
		}
	}
}

// A reply's subject repeats the thread's first mail and says nothing about
// the new text; a forward's subject is the forwarded mail's.
func TestReplySubjectIgnored(t *testing.T) {
	tr := newTriage(t)
	for _, c := range []struct {
		subject, text string
		want          helpdesk.Priority
	}{
		{"Re: Site down for everyone", "Thanks, all fine now. One more thing: a typo in the footer.", helpdesk.Low},
		{"AW: RE: Checkout broken", "How do I change my password?", helpdesk.Low},
		{"Fwd: Site down for everyone", "See below, can you help?", helpdesk.Critical},
		{"Site down for everyone", "See subject.", helpdesk.Critical},
	} {
		a := tr.Assess(triage.Input{Subject: c.subject, Text: c.text})
		if got, want := a.Priority, c.want; got != want {
			t.Errorf("%q / %q: priority %s, want %s (%s)", c.subject, c.text, got, want, strings.Join(a.Reasons, " | "))
		}
	}
}

func TestReasons(t *testing.T) {
	tr := newTriage(t)
	a := tr.Assess(triage.Input{Subject: "Checkout is down", Text: "The checkout is down for all customers since 9:00."})
	if len(a.Reasons) == 0 {
		t.Fatal("no reasons")
	}
	for _, want := range []string{`critical:`, `"Checkout is down"`, `scope "all customers"`} {
		if !strings.Contains(a.Reasons[0], want) {
			t.Errorf("first reason %q does not contain %q", a.Reasons[0], want)
		}
	}
	a = tr.Assess(triage.Input{Text: "Some users cannot log in. As a workaround they use the mobile app."})
	if got, want := strings.Join(a.Reasons, " | "), `critical: "cannot log in" | lowered to high: scope "Some users" | lowered to medium: workaround "workaround"`; got != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
}

func TestClaims(t *testing.T) {
	tr := newTriage(t)
	for _, c := range []struct {
		subject, text string
		claimed       helpdesk.Priority
		accepted      bool
		priority      helpdesk.Priority
	}{
		// labelled, tags, codes and words
		{"", "Priority: Critical\nThe website is down for everyone.", helpdesk.Critical, true, helpdesk.Critical},
		{"[URGENT] website down", "Nobody can reach the website.", helpdesk.Critical, true, helpdesk.Critical},
		{"P1 - site down", "The site is down for all users.", helpdesk.Critical, true, helpdesk.Critical},
		{"", "Raising this as Tier 1: the platform is unavailable for everyone.", helpdesk.Critical, true, helpdesk.Critical},
		{"", "Sev 2: reports are very slow for everyone.", helpdesk.High, true, helpdesk.High},
		{"", "Severity: Major\nReports are slow.", helpdesk.High, true, helpdesk.High},
		{"", "This is business critical: all orders fail.", helpdesk.Critical, true, helpdesk.Critical},
		{"", "EMERGENCY - customer data exposed to the public!", helpdesk.Critical, true, helpdesk.Critical},
		{"Typo in footer (low priority)", "The footer says 'Copyrigth'.", helpdesk.Low, true, helpdesk.Low},
		{"", "Priority: Normal\nThe export does not work.", helpdesk.Medium, true, helpdesk.Medium},
		{"[P3] export broken", "The export does not work.", helpdesk.Medium, true, helpdesk.Medium},
		{"", "Tier 3 / Minor: the export does not work.", helpdesk.Medium, true, helpdesk.Medium},
		// one level apart: accepted
		{"CRITICAL: reports broken", "Reports fail with an error for everyone.", helpdesk.Critical, true, helpdesk.Critical},
		// but not to the first level on slowness alone: every policy
		// defines a working but slow service as its second level
		{"CRITICAL: reports slow", "Reports are very slow for everyone.", helpdesk.Critical, false, helpdesk.High},
		{"", "Priority: High\nThe export does not work.", helpdesk.High, true, helpdesk.High},
		{"", "Priority: Low\nThe export does not work.", helpdesk.Low, true, helpdesk.Low},
		// over-stated by two or more: the content wins
		{"URGENT!!!", "There is a typo on the about page.", helpdesk.Critical, false, helpdesk.Low},
		{"", "P1: how do I change my password?", helpdesk.Critical, false, helpdesk.Low},
		{"", "Priority: High\nQuestion: how do I export contacts?", helpdesk.High, false, helpdesk.Low},
		// under-stated outages still get critical
		{"low priority", "The website is down for everyone.", helpdesk.Low, false, helpdesk.Critical},
		{"", "Priority: High\nNobody can log in.", helpdesk.High, false, helpdesk.Critical},
		{"", "Not urgent, but the checkout is down for all customers.", "", false, helpdesk.Critical},
		// prose that is no claim
		{"", "This isn't urgent, there is a typo in the menu.", "", false, helpdesk.Low},
		{"", "Non-urgent: could you add a dark mode?", "", false, helpdesk.Change},
		{"", "This is not critical, the logo is blurry.", "", false, helpdesk.Low},
		{"", "Our critical integration with Xero is slow.", "", false, helpdesk.High},
		{"", "Just a minor thing: there is a typo in the footer.", "", false, helpdesk.Low},
		{"", "We had a major release yesterday; since then the export fails.", "", false, helpdesk.Medium},
		// change requests
		{"", "Priority: Low\nFeature request: a dark mode.", helpdesk.Change, true, helpdesk.Change},
		{"P3 - enhancement", "Please add a column for the VAT number.", helpdesk.Change, true, helpdesk.Change},
		{"URGENT - new feature", "Please add a column for the VAT number.", helpdesk.Critical, false, helpdesk.Change},
		{"", "Please treat this as a change request: rename the Deals tab.", helpdesk.Change, true, helpdesk.Change},
		{"", "Category: Change\nThe export does not work.", helpdesk.Low, true, helpdesk.Low},
	} {
		a := tr.Assess(triage.Input{Subject: c.subject, Text: c.text})
		if a.Claimed != c.claimed || a.ClaimAccepted != c.accepted || a.Priority != c.priority {
			t.Errorf("%q / %q: claimed %q accepted %v priority %s, want %q %v %s (%s)", c.subject, c.text,
				a.Claimed, a.ClaimAccepted, a.Priority, c.claimed, c.accepted, c.priority, strings.Join(a.Reasons, " | "))
		}
	}
}

func TestClaimNote(t *testing.T) {
	tr := newTriage(t)
	over := tr.Assess(triage.Input{Subject: "URGENT", Text: "There is a typo on the about page."})
	if n := tr.ClaimNote(over); !strings.Contains(n, "critical") || !strings.Contains(n, "low priority") {
		t.Errorf("over-stated note %q", n)
	}
	under := tr.Assess(triage.Input{Subject: "low priority", Text: "The website is down for everyone."})
	if n := tr.ClaimNote(under); !strings.Contains(n, "low") || !strings.Contains(n, "critical priority") {
		t.Errorf("under-stated note %q", n)
	}
	change := tr.Assess(triage.Input{Subject: "URGENT", Text: "Could you add a dark mode?"})
	if n := tr.ClaimNote(change); !strings.Contains(n, "a change request") {
		t.Errorf("change note %q", n)
	}
	for _, in := range []triage.Input{
		{Subject: "P1", Text: "The website is down for everyone."},
		{Text: "The website is down for everyone."},
	} {
		if n := tr.ClaimNote(tr.Assess(in)); n != "" {
			t.Errorf("%+v: note %q, want none", in, n)
		}
	}
	for _, n := range []string{tr.ClaimNote(over), tr.ClaimNote(under), tr.ClaimNote(change)} {
		if strings.Count(n, ". ") > 0 || !strings.HasSuffix(n, ".") {
			t.Errorf("note %q is not one sentence", n)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, c := range []struct {
		name string
		r    triage.Rules
		want string
	}{
		{"duplicate level", triage.Rules{Levels: helpdesk.Levels{Order: []helpdesk.Priority{"p1", "p1"}}}, `level "p1" listed twice`},
		{"change is a level", triage.Rules{Levels: helpdesk.Levels{Order: []helpdesk.Priority{"p1", "p2"}, Change: "p2"}}, "change category"},
		{"unknown default", triage.Rules{Default: "urgent"}, `default priority "urgent"`},
		{"phrases for unknown level", triage.Rules{Phrases: map[helpdesk.Priority][]string{"blocker": {"down"}}}, `unknown level "blocker"`},
		{"bad phrase", triage.Rules{WideScope: []string{"(all|every users"}}, "unclosed"},
		{"leading gap", triage.Rules{Workaround: []string{"* workaround"}}, "must start with a word"},
		{"short prefix", triage.Rules{Negation: []string{"no*"}}, "shorter than 3"},
	} {
		_, err := triage.New(c.r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Every problem is reported, not just the first.
	_, err := triage.New(triage.Rules{Default: "urgent", WideScope: []string{"(all"}})
	if err == nil || !strings.Contains(err.Error(), "default") || !strings.Contains(err.Error(), "unclosed") {
		t.Errorf("error %v, want both problems", err)
	}
}

// Levels come from the configuration: custom names map the default phrase
// lists by rank, and replacing one level's phrases changes only it.
func TestCustomLevels(t *testing.T) {
	tr, err := triage.New(triage.Rules{
		Levels:  helpdesk.Levels{Order: []helpdesk.Priority{"p1", "p2", "p3"}},
		Phrases: map[helpdesk.Priority][]string{"p2": {"sluggish", "(orders|invoices) * delayed"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text string
		want helpdesk.Priority
	}{
		{"The website is down for everyone.", "p1"},
		{"Invoices are delayed.", "p2"},
		{"The site is sluggish.", "p2"},
		{"The site is slow.", "p3"}, // "slow" is no longer a p2 phrase
		{"There is a typo.", "p3"},  // low folds into the last level
		{"Please add a dark mode.", "p3"},
		{"Please call me.", "p3"}, // default: the third level
		{"P2: please call me.", "p2"},
	} {
		a := tr.Assess(triage.Input{Text: c.text})
		if got, want := a.Priority, c.want; got != want {
			t.Errorf("%q: priority %s, want %s (%s)", c.text, got, want, strings.Join(a.Reasons, " | "))
		}
	}
	if got, want := tr.Levels().Order[0], helpdesk.Priority("p1"); got != want {
		t.Errorf("levels %v", tr.Levels())
	}
}

func TestDefaultRulesRoundTrip(t *testing.T) {
	r := triage.DefaultRules()
	for _, p := range r.Levels.All() {
		if len(r.Phrases[p]) == 0 {
			t.Errorf("no default phrases for %s", p)
		}
	}
	if _, err := triage.New(r); err != nil {
		t.Fatalf("default rules do not compile: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	tr := newTriage(t)
	in := triage.Input{Subject: "Checkout down", Text: typicalMail, Date: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	want := tr.Assess(in)
	done := make(chan helpdesk.Assessment)
	for range 8 {
		go func() { done <- tr.Assess(in) }()
	}
	for range 8 {
		got := <-done
		if got.Priority != want.Priority || got.Fields != want.Fields || strings.Join(got.Reasons, "|") != strings.Join(want.Reasons, "|") {
			t.Errorf("concurrent result %+v, want %+v", got, want)
		}
	}
}

// A confidentiality notice below a mail is not part of the report: its
// legal words ("unauthorised", "may be unlawful") must not read as legal
// liability or exposure, while a report that confidential data went to
// the wrong people stays critical.
func TestDisclaimerIgnored(t *testing.T) {
	const notice = "\n\nHale Marketing Group Ltd. Registered in England No. 00000000.\n" +
		"The information in this email is confidential and may be legally privileged. It is intended solely " +
		"for the addressee. Access to this email by anyone else is unauthorised. If you are not the intended " +
		"recipient, any disclosure, copying or distribution is prohibited and may be unlawful.\n"
	const wrapped = "\n\n--\nJane Smith\n\nThis e-mail and any attachments are CONFIDENTIAL and intended solely for the\n" +
		"addressee. If you have received it in error, please notify the sender and\n" +
		"delete it. Unauthorised use may be unlawful.\n"
	checkRubric(t, []rubricCase{
		{"Hello, what are your support hours over Christmas? Our office closes on 24 December." + notice, helpdesk.Low},
		{"Hi, a quick question: where do I change my notification settings?" + wrapped, helpdesk.Low},
		// the report itself keeps its words, notice or not
		{"Since this morning we can see other customers' confidential orders and addresses in our account." + wrapped, helpdesk.Critical},
		{"Confidential invoices of other customers are visible to anyone who logs in to our portal." + notice, helpdesk.Critical},
		// a report that names the addressee and confidential data is no notice
		{"Since this morning we can see other customers' confidential orders and addresses in our account; your system names the wrong addressee on each.", helpdesk.Critical},
	})
}
