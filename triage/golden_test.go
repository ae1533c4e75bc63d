package triage

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/loadmail"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/message"
)

// The golden tests pin what triage decides on several thousand mails:
// every labelled mail, parsed by the project's parser and in the
// variants of mailVariants, every message and reply of the shared corpus
// (when it is there), the load-test mails and generated texts full of
// the cases the matchers have to get right, under the default rules and
// (but for the shared corpus) under goldenRules' custom ones. Each
// Assessment is written as JSON (priority, assessed, claimed,
// claim_accepted, reasons, the fields found with their values and the
// fields missing) to testdata/golden/, one file per mail and one per rule
// set for the generated texts; the inputs of a mail that get the same
// Assessment share a line. They replaced the equivalence tests against a
// frozen copy of triage as it was before the speed-ups of 2026-11-22, and
// were written from the code that passed those tests.
//
// A difference fails with the input's name and its changed lines. When
// the change is meant (a rule tuned, a case fixed), run
//
//	go test ./triage -run Golden -update
//
// (the package before the flag) and review the golden files' diff with
// the change.

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from the current code")

// goldenDir holds the golden files.
var goldenDir = filepath.Join("testdata", "golden")

// goldenRules are the rule sets every input is assessed under: the
// default one, and one with other level names (one beyond ASCII, which
// turns off a shortcut of the claim search), fewer levels and extra
// phrases, some of them prefixes of numbers.
func goldenRules(tb testing.TB) []namedRules {
	tb.Helper()
	var out []namedRules
	for _, r := range []struct {
		name  string
		rules Rules
	}{
		{"default", Rules{}},
		{"custom", Rules{
			Levels: helpdesk.Levels{Order: []helpdesk.Priority{"P1", "P2", "niedrig"}, Change: "\u00c4nderung"},
			Phrases: map[helpdesk.Priority][]string{
				"P1": {"500*", "site * down", "crash*", "(kasse|checkout) (kaputt|down)"},
				"P2": {"slow*", "# users", "(timeout|time out)"},
			},
			Services: []string{"(kasse|checkout|shop)", "api*"},
		}},
	} {
		tr, err := New(r.rules)
		if err != nil {
			tb.Fatalf("%s rules: %v", r.name, err)
		}
		out = append(out, namedRules{r.name, tr})
	}
	return out
}

type namedRules struct {
	name string
	tr   *Triage
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

// generatedInputs returns n generated mails: a text of generatedTexts,
// the start of the next one as subject, a date on one mail in two (in
// the customer's zone on one in four) and a mailbox default on one in
// four. The same every run.
func generatedInputs(n int) []testInput {
	sydney := time.FixedZone("AEDT", 11*3600)
	date := time.Date(2026, 11, 23, 9, 12, 0, 0, time.UTC)
	texts := generatedTexts(n)
	out := make([]testInput, len(texts))
	for i, text := range texts {
		next := texts[(i+1)%len(texts)]
		in := Input{Text: text, Subject: next[:min(len(next), 15+i%60)]}
		switch i % 4 {
		case 0:
			in.Date = date
		case 1:
			in.Date, in.Location = date, sydney
		case 2:
			in.Default = helpdesk.Low
		}
		out[i] = testInput{name: fmt.Sprintf("generated %d", i), in: in}
	}
	return out
}

// goldenGenerated is how many generated mails the golden files hold.
const goldenGenerated = 1000

// goldenAssessment is one Assessment as the golden files hold it.
type goldenAssessment struct {
	Rules         string            `json:"rules"`
	Priority      helpdesk.Priority `json:"priority"`
	Assessed      helpdesk.Priority `json:"assessed"`
	Claimed       helpdesk.Priority `json:"claimed"`
	ClaimAccepted bool              `json:"claim_accepted"`
	Reasons       []string          `json:"reasons"`
	Fields        helpdesk.Fields   `json:"fields"`  // the fields found, with their values
	Missing       []string          `json:"missing"` // the fields of helpdesk.FieldNames not found
}

// goldenResult is the Assessment of one input.
type goldenResult struct {
	Input string `json:"input"`
	goldenAssessment
}

func (r goldenResult) key() string { return r.Input + "\x00" + r.Rules }

// goldenEntry is one line of a golden file: the inputs that get the same
// Assessment under the same rules, which most variants of a mail do.
type goldenEntry struct {
	Inputs []string `json:"inputs"`
	goldenAssessment
}

// encodeJSON renders v on one line, or indented for a failure message,
// without escaping <, > and &.
func encodeJSON(v any, indent bool) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// assessAll assesses every input under every rule set, in that order,
// and checks that Fields finds what Assess does.
func assessAll(t *testing.T, rules []namedRules, ins []testInput) []goldenResult {
	t.Helper()
	var out []goldenResult
	for _, x := range ins {
		for _, r := range rules {
			a := r.tr.Assess(x.in)
			if f := r.tr.Fields(x.in); !reflect.DeepEqual(f, a.Fields) {
				t.Errorf("%s, %s rules: Fields differs from Assess's fields:\n Fields %+v\n Assess %+v", x.name, r.name, f, a.Fields)
			}
			fields := a.Fields
			for _, f := range []*string{&fields.StartTime, &fields.ErrorText, &fields.ReproSteps, &fields.Impact, &fields.Service} {
				*f = showInvalid(*f)
			}
			reasons := make([]string, len(a.Reasons))
			for i, r := range a.Reasons {
				reasons[i] = showInvalid(r)
			}
			out = append(out, goldenResult{x.name, goldenAssessment{
				Rules:         r.name,
				Priority:      a.Priority,
				Assessed:      a.Assessed,
				Claimed:       a.Claimed,
				ClaimAccepted: a.ClaimAccepted,
				Reasons:       reasons,
				Fields:        fields,
				Missing:       a.Fields.Missing(helpdesk.FieldNames),
			}})
		}
	}
	return out
}

// showInvalid writes each byte of s that is not valid UTF-8 as \xHH, as
// JSON would turn them all into U+FFFD.
func showInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "\\x%02x", s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// encodeGolden renders results as a golden file: a JSON array of
// goldenEntry, one a line, in the order of each entry's first input.
func encodeGolden(results []goldenResult) []byte {
	var entries []goldenEntry
	at := map[string]int{}
	for _, r := range results {
		k := string(encodeJSON(r.goldenAssessment, false))
		if i, ok := at[k]; ok {
			entries[i].Inputs = append(entries[i].Inputs, r.Input)
			continue
		}
		at[k] = len(entries)
		entries = append(entries, goldenEntry{[]string{r.Input}, r.goldenAssessment})
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range entries {
		b.Write(encodeJSON(e, false))
		if i < len(entries)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// decodeGolden reads a golden file back into one result per input and
// rule set.
func decodeGolden(raw []byte) ([]goldenResult, error) {
	var entries []goldenEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, err
	}
	var out []goldenResult
	for _, e := range entries {
		for _, in := range e.Inputs {
			out = append(out, goldenResult{in, e.goldenAssessment})
		}
	}
	return out, nil
}

// goldenSet is the golden files of one set of inputs, under
// goldenDir/dir.
type goldenSet struct {
	t      *testing.T
	dir    string
	sample bool            // check one input in sampleEvery (see sampled)
	seen   map[string]bool // the golden files checked, skipped or written
	diffs  int             // the differences found
	files  int             // the golden files with a difference
	wrote  int             // the golden files -update rewrote
}

// maxShown is how many differences a set shows; a change that reaches
// more mails is summed up.
const maxShown = 20

func newGoldenSet(t *testing.T, dir string) *goldenSet {
	return &goldenSet{t: t, dir: dir, sample: sampled(), seen: map[string]bool{}}
}

// sampleEvery is the share of the inputs a sampled run checks.
const sampleEvery = 8

// sampled reports whether the golden tests check only one input in
// sampleEvery: with -short, and with the race detector, which makes them
// many times slower and has nothing to find in one goroutine. -update
// always writes every input.
func sampled() bool { return (testing.Short() || raceEnabled) && !*update }

// skip reports whether a sampled run skips the i-th golden file of the
// set, named name; the file counts as seen.
func (g *goldenSet) skip(i int, name string) bool {
	if !g.sample || i%sampleEvery == 0 {
		return false
	}
	g.seen[filepath.Join(goldenDir, g.dir, filepath.FromSlash(name))] = true
	return true
}

// sampleInputs returns the inputs a run checks of ins: every one, or one
// in sampleEvery in a sampled run.
func (g *goldenSet) sampleInputs(ins []testInput) []testInput {
	if !g.sample {
		return ins
	}
	var out []testInput
	for i := 0; i < len(ins); i += sampleEvery {
		out = append(out, ins[i])
	}
	return out
}

// check compares results with the golden file name, or with -update
// writes them there.
func (g *goldenSet) check(name string, results []goldenResult) {
	t := g.t
	t.Helper()
	path := filepath.Join(goldenDir, g.dir, filepath.FromSlash(name))
	g.seen[path] = true
	if *update {
		b := encodeGolden(results)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			return
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		g.wrote++
		return
	}
	before := g.diffs
	defer func() {
		if g.diffs > before {
			g.files++
		}
	}()
	report := func(format string, args ...any) {
		t.Helper()
		g.diffs++
		if g.diffs <= maxShown {
			t.Errorf(format, args...)
		}
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		report("%s: no golden file %s (go test ./triage -run Golden -update writes it)", results[0].Input, path)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	golden, err := decodeGolden(raw)
	if err != nil {
		report("%s: %v (go test ./triage -run Golden -update rewrites it)", path, err)
		return
	}
	want := map[string]goldenResult{}
	for _, w := range golden {
		want[w.key()] = w
	}
	for _, r := range results {
		w, ok := want[r.key()]
		if !ok {
			report("%s, %s rules: not in %s (go test ./triage -run Golden -update adds it):\n%s", r.Input, r.Rules, path, encodeJSON(r, true))
			continue
		}
		delete(want, r.key())
		if now, old := encodeJSON(r, true), encodeJSON(w, true); !bytes.Equal(now, old) {
			report("%s, %s rules: the Assessment differs from %s (-) now (+):\n%s", r.Input, r.Rules, path, testenv.LineDiff(string(old), string(now)))
		}
	}
	for _, w := range golden {
		if _, ok := want[w.key()]; ok && !g.sample {
			report("%s, %s rules: in %s but no longer assessed (go test ./triage -run Golden -update removes it)", w.Input, w.Rules, path)
		}
	}
}

// finish reports the golden files of the set that no input has (with
// -update it removes them) and sums up the differences.
func (g *goldenSet) finish() {
	t := g.t
	t.Helper()
	root := filepath.Join(goldenDir, g.dir)
	removed := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return nil
		}
		if err != nil || d.IsDir() || g.seen[path] {
			return err
		}
		if *update {
			removed++
			return os.Remove(path)
		}
		g.diffs++
		g.files++
		if g.diffs <= maxShown {
			t.Errorf("%s: golden file of an input that is gone (go test ./triage -run Golden -update removes it)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		t.Logf("%s: %d golden files, %d rewritten, %d removed", root, len(g.seen), g.wrote, removed)
		return
	}
	if g.sample {
		t.Logf("%s: sampled run (-short or -race), one input in %d checked", root, sampleEvery)
	}
	if g.diffs > 0 {
		t.Errorf("%s: %d differences in %d of %d golden files, the first %d shown; "+
			"if the change is meant, go test ./triage -run Golden -update rewrites them (review their diff)",
			root, g.diffs, g.files, len(g.seen), min(g.diffs, maxShown))
	}
}

// TestGoldenLabelled assesses every labelled mail, parsed by the
// project's parser as TestLabelled does ("NAME (parsed)") and in its
// mailVariants, under every rule set, and compares with
// testdata/golden/labelled/NAME.json.
func TestGoldenLabelled(t *testing.T) {
	rules := goldenRules(t)
	set := newGoldenSet(t, "labelled")
	for i, f := range labelledFiles(t) {
		name := filepath.Base(f)
		if set.skip(i, name+".json") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := message.Parse(raw, message.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		text := message.ReportText(msg.Subject, msg.Text, msg.NewText)
		ins := []testInput{{name: name + " (parsed)", in: Input{Subject: msg.Subject, Text: text, Date: msg.Date}}}
		ins = append(ins, mailVariants(name, raw)...)
		set.check(name+".json", assessAll(t, rules, ins))
	}
	set.finish()
}

// TestGoldenCorpus assesses the mailVariants of every message and reply
// of the shared corpus under the default rules (the custom ones find
// next to nothing more in bounces and library fixtures, and would double
// the files) and compares with testdata/golden/corpus/PATH.json, PATH
// being the mail's path in the corpus.
func TestGoldenCorpus(t *testing.T) {
	corpusDir := testenv.Corpus(t) // skips the test, whose golden files are then not checked
	files := testenv.CorpusFiles(t, "")
	rules := goldenRules(t)[:1]
	set := newGoldenSet(t, "corpus")
	for i, f := range files {
		rel, err := filepath.Rel(corpusDir, f)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		if set.skip(i, rel+".json") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		set.check(rel+".json", assessAll(t, rules, mailVariants(path.Base(rel), raw)))
	}
	set.finish()
}

// TestGoldenLoadmail assesses the mailVariants of the load-test mail
// shapes under every rule set and compares with
// testdata/golden/loadmail/shapeN.json.
func TestGoldenLoadmail(t *testing.T) {
	rules := goldenRules(t)
	set := newGoldenSet(t, "loadmail")
	for n := range loadmail.Shapes {
		name := fmt.Sprintf("shape%d", n)
		set.check(name+".json", assessAll(t, rules, mailVariants(name, loadmailRaw(n))))
	}
	set.finish()
}

// TestGoldenGenerated assesses the generated mails and compares with
// testdata/golden/generated/RULES.json, one file per rule set.
func TestGoldenGenerated(t *testing.T) {
	set := newGoldenSet(t, "generated")
	ins := set.sampleInputs(generatedInputs(goldenGenerated))
	for _, r := range goldenRules(t) {
		set.check(r.name+".json", assessAll(t, []namedRules{r}, ins))
	}
	set.finish()
}

// TestGoldenFormat checks that a golden file reads back as written,
// showInvalid and the failure message's line diff.
func TestGoldenFormat(t *testing.T) {
	a := goldenAssessment{Rules: "default", Priority: "high", Assessed: "high", Reasons: []string{"a", "b", "c", "d", "e", "f"}}
	b := a
	b.Rules = "custom"
	results := []goldenResult{{"x", a}, {"x", b}, {"x (raw)", a}}
	back, err := decodeGolden(encodeGolden(results))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(back, func(i, j int) bool { return back[i].key() < back[j].key() })
	sort.Slice(results, func(i, j int) bool { return results[i].key() < results[j].key() })
	if !reflect.DeepEqual(back, results) {
		t.Errorf("golden file read back as\n %+v\nwant\n %+v", back, results)
	}
	if got, want := showInvalid("a\xffb\u017f\xe2\x80"), "a\\xffb\u017f\\xe2\\x80"; got != want {
		t.Errorf("showInvalid = %q, want %q", got, want)
	}
	now := results[0]
	now.Reasons = slices.Clone(now.Reasons)
	now.Reasons[3] = "D"
	got := testenv.LineDiff(string(encodeJSON(results[0], true)), string(encodeJSON(now, true)))
	want := `      "b",
      "c",
-     "d",
+     "D",
      "e",
      "f"
`
	if got != want {
		t.Errorf("LineDiff:\n%s\nwant\n%s", got, want)
	}
}
