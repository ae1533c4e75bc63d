package triage

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// The tests of this file check that triage, made faster, still decides
// exactly as it did: the live code against the implementation it had
// before (equiv_ref_test.go), on every labelled mail, every message and
// reply of the shared corpus, the load-test mails, variants of all of
// them and generated texts full of the cases the speed-ups have to get
// right.

// equivRules are the rule sets the tests run: the default one, and one
// with other level names (one beyond ASCII, which turns off a shortcut
// of the claim search), fewer levels and extra phrases, some of them
// prefixes of numbers.
func equivRules(tb testing.TB) map[string]*Triage {
	tb.Helper()
	out := map[string]*Triage{}
	for name, r := range map[string]Rules{
		"default": {},
		"custom": {
			Levels: helpdesk.Levels{Order: []helpdesk.Priority{"P1", "P2", "niedrig"}, Change: "\u00c4nderung"},
			Phrases: map[helpdesk.Priority][]string{
				"P1": {"500*", "site * down", "crash*", "(kasse|checkout) (kaputt|down)"},
				"P2": {"slow*", "# users", "(timeout|time out)"},
			},
			Services: []string{"(kasse|checkout|shop)", "api*"},
		},
	} {
		tr, err := New(r)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out[name] = tr
	}
	return out
}

// fragments are the pieces generatedTexts puts together: what the quick
// tests before the regular expressions, the shortcuts and the merged
// passes have to treat as the expressions do, case folding beyond ASCII
// ("\u017f" is an "s", "\u212a" a "k") included.
var fragments = []string{
	"Hi team,", "Our web shop is down", "checkout is not working for all users", "some users", "only me",
	"we can't log in", "It isn't down, it's slow", "no data was lost", "if the site goes down", "as a workaround",
	"sometimes", "back up now", "Priority: High", "Severity - 2", "Type: Change request", "P1", "[URGENT]", "(P2)",
	" - low priority", "URGENT!!!", "critical", "this is a feature request", "Start time: 2026-11-20 09:30 GMT",
	"Started: around 9", "Error message:", "Error: E-AUTH-17", "Steps to reproduce:", "To reproduce: open the app",
	"Impact: everyone", "Service: Checkout", "Affected users: 15", "n/a", "Exception: java.lang.IllegalStateException",
	"java.lang.NullPointerException", "at com.example.Foo.bar(Foo.java:42)", "Traceback (most recent call last):",
	"File \"x.py\", line 3", "goroutine 1 [running]:", "panic: boom", "Caused by: x", "TimeoutError",
	"MyError", "foo.BarError", "HTTP/1.1 503", "HTTP 502 Bad Gateway", "error 404", "Status: 500", "code #429",
	"502 bad gateway", "504 gateway time-out", "550 5.1.1", "Error 503: upstream unavailable", "ERR_CONNECTION_REFUSED",
	"0x80070005", "PG-4001", "AADSTS50011", "REPORT-17", "ref ABC-123", "the log shows \"query timeout after 600s\"",
	"we get \"Payment could not be processed\"", "\u201cSomething went wrong\u201d", "\u00abinvalid token\u00bb",
	"$ curl -v https://api.example.com", "  python3 run.py --x", "./deploy.sh now", "git push origin",
	"Invoke-WebRequest -Uri x", "curl", "1. Open the app", "2) Click Save", "- select a date", "* press Pay",
	"\u2022 choose Card", "\u2013 enter data", "a) log in", "Step 3: submit", "step 4 confirm", "Reports > Monthly > Export",
	"log in as admin, open settings, click save then export", "since 07:40 this morning", "since about 8:30 today",
	"yesterday at 3pm", "yesterday in the 10:30 slot", "at 11pm last night", "20th of November 2026", "Nov 21, 2026",
	"2026-11-24T07:40:00Z", "2026-11-24 07:40 +05:30", "24/11/2026 07:40", "24.11.2026", "07.40", "9.15 am", "6am",
	"6 AM EST", "12:30 pm", "5 minutes ago", "a few hours ago", "half an hour ago", "since 2 days", "for the last 30 minutes",
	"last Friday", "this past Monday", "Monday morning", "this morning", "earlier today", "overnight", "the weekend",
	"the 21st", "at lunchtime", "noon", "until tomorrow", "by next week", "go-live on Monday", "every morning",
	"each Monday", "around 10:45", "approx. 9", "as of 8 am", "from 7:00", "on 3 March", "tomorrow at 9", "next Friday",
	"Today at 10:45 our manager exported", "may 21", "in May", "you may see", "one of our users", "a couple of days ago",
	"\u017fince 07:40", "\u017ftatus 503", "Ba\u212a", "\u017fteps to reproduce:", "\u212aind regards", "St\u0130ll down",
	"caf\u00e9 \u00fcber Stra\u00dfe", "\u2019", "can\u2019t", "don't", "doesnt", "won't", "customer's", "it's",
	"90% of users", "3.8.2", "www.example.com", "07:40", "--", "> quoted line", ">> deeper", "\t", "\r\n", "\n\n",
	"...", "!!", "?", ";", ":", ",", "(", ")", "\"", "|", "/", "\u2026", "\u2014", " - ", "#", "_", "'", "`", "ca. 9",
	"roughly 10", "lunch time", "Sep 5", "sept", "Reports export slow since this morning", "Payment failing with error PG-4001",
	"Login page shows a typo", "Re: ", "Fwd: ", "AW: ", "Sev 1", "tier 3", "Prio: 2", "Urgency: low",
	"\xff\xfe", "\xe2\x80", "Kind regards,", "Jane", "+44 20 7946 0000", "700012", "1234", "12345678",
	"the 10:30", "in the 10:30", "since the last 5 minutes", "for 30 seconds", "took 20 seconds", "over 10 minutes",
}

// generatedTexts returns n texts of fragments joined by spaces, line
// breaks and punctuation, some of them upper-cased, the same every run.
func generatedTexts(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	seps := []string{" ", " ", " ", "\n", "\n\n", ". ", ", ", ": ", " - ", "\r\n", "\t", "  "}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for k := 3 + rng.IntN(25); k > 0; k-- {
			f := fragments[rng.IntN(len(fragments))]
			switch rng.IntN(8) {
			case 0:
				f = strings.ToUpper(f)
			case 1:
				f = strings.ToLower(f)
			}
			b.WriteString(f)
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		out[i] = b.String()
	}
	return out
}

// equivInputs are corpusInputs and generated mails, with and without a
// date, some with a zone, a subject from the fragments and a mailbox
// default. With -short or the race detector it keeps one mail in eight.
func equivInputs(tb testing.TB, generated int) []testInput {
	ins := corpusInputs(tb)
	if testing.Short() || raceEnabled {
		generated /= 8
	}
	sydney := time.FixedZone("AEDT", 11*3600)
	date := time.Date(2026, 11, 23, 9, 12, 0, 0, time.UTC)
	texts := generatedTexts(generated)
	for i, text := range texts {
		in := Input{Text: text, Subject: texts[(i+1)%len(texts)][:min(len(texts[(i+1)%len(texts)]), 15+i%60)]}
		switch i % 4 {
		case 0:
			in.Date = date
		case 1:
			in.Date, in.Location = date, sydney
		case 2:
			in.Default = helpdesk.Low
		}
		ins = append(ins, testInput{name: fmt.Sprintf("generated %d", i), in: in})
	}
	if testing.Short() || raceEnabled {
		sample := ins[:0]
		for i := 0; i < len(ins); i += 8 {
			sample = append(sample, ins[i])
		}
		ins = sample
	}
	return ins
}

// TestEquivalentAssessments compares Assess and Fields with the
// implementation before the speed-ups on every mail of equivInputs:
// Priority, Assessed, Claimed, ClaimAccepted, every reason and every
// field must be the same.
func TestEquivalentAssessments(t *testing.T) {
	ins := equivInputs(t, 2000)
	for name, tr := range equivRules(t) {
		diffs := 0
		for _, x := range ins {
			got, want := tr.Assess(x.in), tr.refAssess(x.in)
			if !reflect.DeepEqual(got, want) {
				diffs++
				if diffs <= 5 {
					t.Errorf("%s rules, %s: Assess\n got  %+v\n want %+v", name, x.name, got, want)
				}
			}
			if got, want := tr.Fields(x.in), tr.refFields(limit(x.in), tr.refAnalyse(limit(x.in))); !reflect.DeepEqual(got, want) {
				diffs++
				if diffs <= 5 {
					t.Errorf("%s rules, %s: Fields\n got  %+v\n want %+v", name, x.name, got, want)
				}
			}
		}
		if diffs > 0 {
			t.Errorf("%s rules: %d of %d mails differ", name, diffs, len(ins))
		}
		t.Logf("%s rules: %d mails compared", name, len(ins))
	}
}

// TestEquivalentFunctions compares each changed function with its
// former self, on the texts of equivInputs, on the time expressions in
// them and, for the functions that read lines or short strings, on each
// of their lines and sentences, so that a difference shows where it is,
// and the cases an Assessment does not reach (a later field found first,
// a phrase after the answer) are compared too.
func TestEquivalentFunctions(t *testing.T) {
	c := &comparer{t: t, rules: equivRules(t)}
	seen := map[string]bool{}
	var texts, pieces []string
	for _, x := range equivInputs(t, 1000) {
		text := limit(x.in).Text
		if seen[text] {
			continue
		}
		seen[text] = true
		texts = append(texts, text)
		pieces = append(pieces, x.in.Subject)
		pieces = append(pieces, strings.Split(text, "\n")...)
		pieces = append(pieces, sentences(text)...)
	}
	for _, s := range texts {
		c.text(s)
	}
	for _, s := range pieces {
		if !seen[s] {
			seen[s] = true
			c.piece(s)
		}
	}
	if c.fails > 0 {
		t.Errorf("%d differences", c.fails)
	}
	t.Logf("%d texts and %d lines and sentences compared", len(texts), len(seen)-len(texts))
}

// FuzzFunctionsEquivalent compares the changed functions with their
// former selves on any text, as TestEquivalentFunctions does on mails.
func FuzzFunctionsEquivalent(f *testing.F) {
	for _, s := range generatedTexts(30) {
		f.Add(s)
	}
	for _, s := range fragments {
		f.Add(s)
	}
	rules := equivRules(f)
	f.Fuzz(func(t *testing.T, s string) {
		c := &comparer{t: t, rules: rules}
		s = limit(Input{Text: s}).Text
		c.text(s)
		c.piece(s)
	})
}

// comparer compares the live functions with the reference ones and
// counts the differences, reporting the first few.
type comparer struct {
	t     testing.TB
	rules map[string]*Triage
	fails int
}

func (c *comparer) check(what, in string, got, want any) {
	c.t.Helper()
	if !reflect.DeepEqual(got, want) {
		c.fails++
		if c.fails <= 20 {
			c.t.Errorf("%s(%.200q):\n got  %#v\n want %#v", what, in, got, want)
		}
	}
}

// text compares the functions that read a whole text on s.
func (c *comparer) text(s string) {
	c.t.Helper()
	check := c.check
	tr := c.rules["default"]
	base := time.Date(2026, 11, 23, 9, 12, 0, 0, time.UTC)
	lower := asciiLower(s)
	lines := strings.Split(s, "\n")
	check("tokenize", s, tokenize(s), refTokenize(s))
	check("findError", s, findError(s), refFindError(s))
	check("findCodes", s, findCodes(s), refFindCodes(s))
	check("findQuotes", s, findQuotes(s), refFindQuotes(s))
	check("stackLine", s, stackLine(s), refStackLine(s))
	check("findRepro", s, findRepro(s, lower, lines), refFindRepro(s))
	check("labelled", s, labelled(lines), refLabelled(s))
	check("mergeTimeAtoms", s, mergeTimeAtoms(s), refMergeTimeAtoms(s))
	for _, haveBase := range []bool{true, false} {
		got, gotOK := tr.startTime(s, lower, base, haveBase)
		want, wantOK := tr.refStartTime(s, base, haveBase)
		check("startTime", s, []any{got, gotOK}, []any{want, wantOK})
	}
	// Every span, also when the caller stops after the k-th.
	for k := 1; k <= 3; k++ {
		var got, want [][2]int
		eachTimeSpan(s, lower, func(a, b int) bool { got = append(got, [2]int{a, b}); return len(got) < k })
		refEachTimeSpan(s, func(a, b int) bool { want = append(want, [2]int{a, b}); return len(want) < k })
		check(fmt.Sprintf("eachTimeSpan(stop at %d)", k), s, got, want)
	}
	for _, span := range refMergeTimeAtoms(s) {
		phrase := s[span[0]:span[1]]
		check("strictParse", phrase, fmt.Sprint(strictParse(phrase, time.UTC)), fmt.Sprint(refStrictParse(phrase, time.UTC)))
		got, gotFuture := tr.resolveRaw(phrase, base)
		want, wantFuture := tr.refResolveRaw(phrase, base)
		check("resolveRaw", phrase, fmt.Sprint(got, gotFuture), fmt.Sprint(want, wantFuture))
		gz, gr, gok := splitZone(phrase)
		wz, wr, wok := refSplitZone(phrase)
		check("splitZone", phrase, fmt.Sprint(gz, gr, gok), fmt.Sprint(wz, wr, wok))
		for _, a := range []int{span[0], span[0] + 1} {
			if a >= span[1] {
				continue
			}
			got, gotOK := tr.startCandidate(s, a, span[1], base, true)
			want, wantOK := tr.refStartCandidate(s, a, span[1], base, true)
			check("startCandidate", s[a:span[1]], []any{got, gotOK}, []any{want, wantOK})
		}
	}
	for _, w := range strings.Fields(s) {
		check("isNumber", w, isNumber(w), refIsNumber(w))
	}
	for _, r := range s {
		check("isWordRune", string(r), isWordRune(r), refIsWordRune(r))
	}
	for name, rt := range c.rules {
		in := Input{Subject: s[:min(len(s), 120)], Text: s}
		an, ref := rt.analyse(in), rt.refAnalyse(in)
		check(name+" analyse", s, []any{an.d, an.hits}, []any{ref.d, ref.hits})
		gotClaim, gotOK := rt.findClaim(in, an)
		wantClaim, wantOK := rt.refFindClaim(in, ref)
		check(name+" findClaim", s, []any{gotClaim, gotOK}, []any{wantClaim, wantOK})
		check(name+" findImpact", s, rt.findImpact(an, ""), rt.refFindImpact(ref, ""))
		check(name+" findService", s, findService(an), refFindService(ref))
		check(name+" decide", s, rt.decide(an, "", ""), rt.refDecide(ref, "", ""))
		an.release()
	}
}

// piece compares the functions that read a line, a subject or a short
// string on s.
func (c *comparer) piece(s string) {
	c.t.Helper()
	check := c.check
	lower := asciiLower(s)
	lines := strings.Split(s, "\n")
	check("collapseSpace", s, collapseSpace(s), refCollapseSpace(s))
	check("labelShape", s, labelShape(s), refLabelShape(s))
	check("claimLabelStart", s, claimLabelStart(s), refClaimLabelStart(s))
	check("isListItem", s, isListItem(s), refIsListItem(s))
	check("isLabelLine", s, isLabelLine(s), refIsLabelLine(s))
	check("labelled", s, labelled(lines), refLabelled(s))
	check("findError", s, findError(s), refFindError(s))
	check("findRepro", s, findRepro(s, lower, lines), refFindRepro(s))
	// The expressions that became code: the same answers.
	check("hasCue", s, hasCue(s), reCue.MatchString(s))
	check("futureCue", s, futureCue(s), reFutureCue.MatchString(s))
	// A quick test only skips what its expression cannot match.
	if reCueWord.MatchString(s) && !mayEndWithCue(s) {
		check("mayEndWithCue", s, false, true)
	}
	// s as a subject, and as a claim's label.
	for name, rt := range c.rules {
		for _, in := range []Input{{Subject: s}, {Text: s}} {
			an := &analysis{subject: subjectText(in.Subject), text: in.Text}
			gotClaim, gotOK := rt.findClaim(in, an)
			wantClaim, wantOK := rt.refFindClaim(in, an)
			check(name+" findClaim", s, []any{gotClaim, gotOK}, []any{wantClaim, wantOK})
		}
	}
}

// TestConcurrentAssess runs Assess on different mails from several
// goroutines at once, which share the pooled token buffers, and checks
// that each gets the Assessment it gets alone.
func TestConcurrentAssess(t *testing.T) {
	tr := equivRules(t)["default"]
	ins := equivInputs(t, 200)
	if len(ins) > 400 {
		ins = ins[:400]
	}
	want := make([]helpdesk.Assessment, len(ins))
	for i, x := range ins {
		want[i] = tr.Assess(x.in)
	}
	const workers = 4
	errs := make(chan string, workers)
	for w := range workers {
		go func() {
			bad := ""
			for k := range ins {
				i := (k*7 + w*101) % len(ins) // each worker its own order
				if got := tr.Assess(ins[i].in); bad == "" && !reflect.DeepEqual(got, want[i]) {
					bad = fmt.Sprintf("%s: got %+v, want %+v", ins[i].name, got, want[i])
				}
			}
			errs <- bad
		}()
	}
	for range workers {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// TestRegexpSources checks that the expressions now built from named
// parts read exactly as they did.
func TestRegexpSources(t *testing.T) {
	for _, c := range []struct {
		re   *regexp.Regexp
		want string
	}{
		{reAtomNumber, `^(?:\d{4}-\d{2}-\d{2}(?:[t ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)?(?:\s?` + zoneLower + `\b)?|` +
			`\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?)?)?|` +
			`\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthNames + `(?:\s+\d{4})?\b|` +
			`(?:[01]?\d|2[0-3])[:.][0-5]\d(?:\s?[ap]\.?m\.?)?(?:\s?` + zoneLower + `\b)?|` +
			`(?:1[0-2]|0?[1-9])\s?[ap]\.?m\.?(?:\s?` + zoneLower + `\b)?|` +
			numWords + `\s+` + units + `\s+ago\b)`},
		{reCommand, `(?m)^[ \t]*(?:\$\s+)?(?:curl|wget|http|https|ssh|scp|psql|mysql|sqlcmd|kubectl|docker|git|npm|yarn|pip|python3?|go|java|php|node|ruby|telnet|nc|openssl|dig|nslookup|ping|traceroute|powershell|Invoke-WebRequest)\s+\S.*$|^[ \t]*\$\s+\S.*$|^[ \t]*\./\S+.*$`},
	} {
		if got := c.re.String(); got != c.want {
			t.Errorf("expression changed:\n got  %s\n want %s", got, c.want)
		}
	}
}

// FuzzAssessEquivalent checks that Assess decides as the implementation
// before the speed-ups did, whatever the subject and text.
func FuzzAssessEquivalent(f *testing.F) {
	for _, s := range generatedTexts(30) {
		f.Add(s[:len(s)/3], s, int64(1795424400))
	}
	f.Add("Re: x", "\u017fince 07:40 \u017ftatus 503 Ba\u212a \u017fteps to reproduce: open it, click it then save it", int64(0))
	tr := equivRules(f)["default"]
	f.Fuzz(func(t *testing.T, subject, text string, unix int64) {
		in := Input{Subject: subject, Text: text}
		if unix != 0 {
			in.Date = time.Unix(unix%(1<<40), 0).UTC()
		}
		if got, want := tr.Assess(in), tr.refAssess(in); !reflect.DeepEqual(got, want) {
			t.Fatalf("Assess\n got  %+v\n want %+v", got, want)
		}
	})
}
