package triage

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
)

// TestConcurrentAssess runs Assess on different mails from several
// goroutines at once, which share the pooled token buffers, and checks
// that each gets the Assessment it gets alone.
func TestConcurrentAssess(t *testing.T) {
	tr, err := New(Rules{})
	if err != nil {
		t.Fatal(err)
	}
	var ins []testInput
	all := corpusInputs(t)
	for i := 0; i < len(all); i += max(1, len(all)/300) {
		ins = append(ins, all[i])
	}
	ins = append(ins, generatedInputs(100)...)
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

// checkCueShortcuts checks on s the quick tests that stand in for
// regular expressions: hasCue and futureCue must answer as reCue and
// reFutureCue do, and mayEndWithCue may only rule out what reCueWord
// cannot match.
func checkCueShortcuts(t testing.TB, s string) bool {
	t.Helper()
	ok := true
	if got, want := hasCue(s), reCue.MatchString(s); got != want {
		t.Errorf("hasCue(%.200q) = %v, reCue matches: %v", s, got, want)
		ok = false
	}
	if got, want := futureCue(s), reFutureCue.MatchString(s); got != want {
		t.Errorf("futureCue(%.200q) = %v, reFutureCue matches: %v", s, got, want)
		ok = false
	}
	if reCueWord.MatchString(s) && !mayEndWithCue(s) {
		t.Errorf("mayEndWithCue(%.200q) = false, but reCueWord matches", s)
		ok = false
	}
	return ok
}

// TestCueShortcuts checks the quick tests against their expressions on
// the subject, every line and every sentence of the corpus mails and of
// generated ones (with -short or -race, of one in sampleEvery), and on
// every fragment.
func TestCueShortcuts(t *testing.T) {
	ins := append(corpusInputs(t), generatedInputs(1000)...)
	if testing.Short() || raceEnabled {
		sample := ins[:0]
		for i := 0; i < len(ins); i += sampleEvery {
			sample = append(sample, ins[i])
		}
		ins = sample
	}
	seen := map[string]bool{}
	fails := 0
	check := func(s string) {
		if seen[s] || fails >= 20 {
			return
		}
		seen[s] = true
		if !checkCueShortcuts(t, s) {
			fails++
		}
	}
	for _, s := range fragments {
		check(s)
	}
	for _, x := range ins {
		text := limit(x.in).Text
		check(x.in.Subject)
		for _, s := range strings.Split(text, "\n") {
			check(s)
		}
		for _, s := range sentences(text) {
			check(s)
		}
	}
	t.Logf("%d lines, sentences and subjects checked", len(seen))
}

// FuzzCueShortcuts checks the quick tests against their expressions on
// any text and each of its lines.
func FuzzCueShortcuts(f *testing.F) {
	for _, s := range generatedTexts(30) {
		f.Add(s)
	}
	for _, s := range fragments {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkCueShortcuts(t, s)
		for _, l := range strings.Split(s, "\n") {
			checkCueShortcuts(t, l)
		}
	})
}

// TestPossibleKeepsHits checks that the words-present filter of the
// matcher (pattern.possible) only skips patterns that could not match:
// every matcher finds the same hits in every mail with and without it.
func TestPossibleKeepsHits(t *testing.T) {
	tr, err := New(Rules{})
	if err != nil {
		t.Fatal(err)
	}
	ins := append(corpusInputs(t), generatedInputs(300)...)
	filtered := 0
	for _, x := range ins {
		a := tr.analyse(x.in)
		for name, m := range map[string]*matcher{"phrases": &tr.m, "negations": &tr.neg, "impact": &tr.impact} {
			with := m.find(&a.d)
			present := a.d.present
			a.d.present = nil
			without := m.find(&a.d)
			a.d.present = present
			if !reflect.DeepEqual(with, without) {
				t.Fatalf("%s, %s matcher: %d hits with the filter, %d without", x.name, name, len(with), len(without))
			}
			for _, p := range m.pats {
				if !p.possible(&a.d) {
					filtered++
				}
			}
		}
		a.release()
	}
	if filtered == 0 {
		t.Fatal("the filter never ruled a pattern out")
	}
}

// BenchmarkDropDisclaimers drops the confidentiality notice of a mail of
// about 2 KB (dropBoilerplate, which also looks for forwarded header
// blocks), the cost every such mail pays before triage reads it.
func BenchmarkDropDisclaimers(b *testing.B) {
	text := strings.Repeat("Since about 07:40 this morning the checkout keeps failing for a lot of our customers.\n", 18) +
		"\nMany thanks,\n\nJane Smith\nE-commerce Manager\n\n" +
		"This e-mail and any attachments are confidential and intended solely for the\n" +
		"addressee. If you have received it in error, please notify the sender and\n" +
		"delete it. Example Garden Supplies Ltd accepts no liability for any damage.\n"
	if dropBoilerplate(text) == text {
		b.Fatal("the notice was not dropped")
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		dropBoilerplate(text)
	}
}
