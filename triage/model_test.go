package triage_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/triage"
)

var updateModel = flag.Bool("update-model", false, "train the model on the development part of testdata/corpus and write model.bin.gz")

// corpusInput parses a corpus mail the way the desk does and returns what
// triage reads of it.
func corpusInput(t testing.TB, m corpusMail) triage.Input {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", m.dir, m.name))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := message.Parse(raw, message.ParseOptions{})
	if err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
	text := message.ReportText(msg.Subject, msg.Text, msg.NewText)
	return triage.Input{Subject: msg.Subject, Text: text, Date: msg.Date, Policy: m.Policy}
}

// rubricOnly is the triage whose facts the model learns from.
func rubricOnly(t testing.TB) *triage.Triage {
	t.Helper()
	tr, err := triage.New(triage.Rules{NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// trainOn trains a model file on the given mails; where a second
// labeller labelled a mail too, the model learns the share of the two
// that chose each level.
func trainOn(t testing.TB, mails []corpusMail) []byte {
	t.Helper()
	set := triage.NewModelSet(rubricOnly(t))
	for _, m := range mails {
		if m.second != nil {
			set.Add(corpusInput(t, m), helpdesk.Priority(m.Priority), helpdesk.Priority(m.second.Priority))
		} else {
			set.Add(corpusInput(t, m), helpdesk.Priority(m.Priority))
		}
	}
	file, err := set.TrainModelFile()
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// TestModelUpToDate trains the model on the development part and checks
// that the embedded one is the same: the rubric and the corpus it learned
// from have not changed since. -update-model writes the new one.
func TestModelUpToDate(t *testing.T) {
	if triage.RaceEnabled {
		t.Skip("trains models on one goroutine, which the race detector only slows down; .ci/run runs it without -race")
	}
	dev := loadCorpus(t, false)
	fieldsFile, sentencesFile := trainDetectorsOn(t, dev)
	for _, c := range []struct {
		file     string
		trained  []byte
		embedded []byte
	}{
		{"model.bin.gz", trainOn(t, dev), triage.EmbeddedModelFile()},
		{"fields.bin.gz", fieldsFile, triage.EmbeddedFieldModelFile()},
		{"sentences.bin.gz", sentencesFile, triage.EmbeddedSentenceModelFile()},
	} {
		if *updateModel {
			if err := os.WriteFile(c.file, c.trained, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s written (%d bytes)", c.file, len(c.trained))
			continue
		}
		same, err := triage.ModelFilesClose(c.trained, c.embedded)
		if err != nil {
			t.Fatalf("the embedded %s does not decode: %v", c.file, err)
		}
		if !same {
			t.Errorf("the embedded %s is not what the development corpus and the rubric train now; run go test ./triage -run TestModelUpToDate -update-model and commit it", c.file)
		}
	}
}

// trainDetectorsOn trains the field detector's and the sentence
// detector's files on the given mails, from both labellers' fields where
// a set has a second labeller.
func trainDetectorsOn(t testing.TB, mails []corpusMail) (fields, sentences []byte) {
	t.Helper()
	set := triage.NewFieldSet(rubricOnly(t))
	for _, m := range mails {
		if m.second != nil {
			set.Add(corpusInput(t, m), m.Fields, m.second.Fields)
		} else {
			set.Add(corpusInput(t, m), m.Fields)
		}
	}
	fields, err := set.TrainFieldModelFile()
	if err != nil {
		t.Fatal(err)
	}
	if sentences, err = set.TrainSentenceModelFile(); err != nil {
		t.Fatal(err)
	}
	return fields, sentences
}

// heldOutFieldTriage returns the triage that reads fields as shipped,
// with both detectors trained on the given mails only, and the triage
// with the field detector alone.
func heldOutFieldTriage(t testing.TB, train []corpusMail) (both, fieldsOnly *triage.Triage) {
	t.Helper()
	fieldsFile, sentencesFile := trainDetectorsOn(t, train)
	fieldsOnly, err := rubricOnly(t).WithFieldModelFile(fieldsFile)
	if err != nil {
		t.Fatal(err)
	}
	if both, err = fieldsOnly.WithSentenceModelFile(sentencesFile); err != nil {
		t.Fatal(err)
	}
	return both, fieldsOnly
}

// TestFieldModelHeldOutWriters is the honest figure of the field
// detector inside the development part, as TestModelHeldOutWriters is the
// level model's: per writer, a detector trained on the others' mails
// against the extractors alone (which were tuned on every writer).
func TestFieldModelHeldOutWriters(t *testing.T) {
	if triage.RaceEnabled {
		t.Skip("trains models on one goroutine, which the race detector only slows down; .ci/run runs it without -race")
	}
	dev := loadCorpus(t, false)
	rub := rubricOnly(t)
	right := map[string]int{}
	rubric := map[string]int{}
	n := 0
	for _, w := range corpusWriters(dev) {
		train, held := splitWriter(dev, w)
		tr, _ := heldOutFieldTriage(t, train)
		for _, m := range held {
			in := corpusInput(t, m)
			got, base := tr.Assess(in).Fields, rub.Assess(in).Fields
			n++
			for _, f := range helpdesk.FieldNames {
				want := slices.Contains(m.Fields, f)
				if (got.Get(f) != "") == want {
					right[f]++
				} else if *corpusMisses {
					t.Logf("held-out miss %s %s: want %v, got %q", m.name, f, want, shortText(got.Get(f)))
				}
				if (base.Get(f) != "") == want {
					rubric[f]++
				}
			}
		}
	}
	var parts []string
	for _, f := range helpdesk.FieldNames {
		parts = append(parts, fmt.Sprintf("%s %.1f%% (extractors %.1f%%)", f, 100*float64(right[f])/float64(n), 100*float64(rubric[f])/float64(n)))
	}
	t.Logf("held-out writers, %d mails: %s", n, strings.Join(parts, ", "))
	for _, f := range helpdesk.FieldNames {
		if right[f] < rubric[f] {
			t.Errorf("the detector reads %s worse than the extractors on writers it has not seen (%d against %d)", f, right[f], rubric[f])
		}
	}
}

// splitWriter splits mails into the other writers' and writer w's.
func splitWriter(mails []corpusMail, w string) (others, writers []corpusMail) {
	for _, m := range mails {
		if strings.HasPrefix(m.name, w+"/") {
			writers = append(writers, m)
		} else {
			others = append(others, m)
		}
	}
	return others, writers
}

// corpusWriters returns the writers of the mails, in order.
func corpusWriters(mails []corpusMail) []string {
	var out []string
	for _, m := range mails {
		w, _, _ := strings.Cut(m.name, "/")
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// TestModelHeldOutWriters is the honest figure of the model inside the
// development part: for each writer, a model trained on the other
// writers' mails ranks this writer's, whose style it has never seen. The
// rubric's figure beside it was tuned on the same development part.
func TestModelHeldOutWriters(t *testing.T) {
	if triage.RaceEnabled {
		t.Skip("trains models on one goroutine, which the race detector only slows down; .ci/run runs it without -race")
	}
	dev := loadCorpus(t, false)
	rub := rubricOnly(t)
	var model, rubric levelScore
	for _, w := range corpusWriters(dev) {
		train, held := splitWriter(dev, w)
		tr, err := rubricOnly(t).WithModelFile(trainOn(t, train))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range held {
			in := corpusInput(t, m)
			model.add(tr.Assess(in).Priority, m.Priority)
			rubric.add(rub.Assess(in).Priority, m.Priority)
		}
	}
	t.Logf("held-out writers, %d mails: model %s; rubric alone %s", model.n, model, rubric)
	if model.exactPct() < 82 {
		t.Errorf("held-out-writer accuracy %.1f%%, below the 82%% the model reached when it was built", model.exactPct())
	}
}

// levelScore tallies ranked levels against labels.
type levelScore struct {
	n, exact           int
	crit               int // labelled critical
	critCrit, critHigh int // of those, ranked critical; ranked critical or high
}

func (s *levelScore) add(got helpdesk.Priority, want string) {
	s.n++
	if string(got) == want {
		s.exact++
	}
	if want == string(helpdesk.Critical) {
		s.crit++
		if got == helpdesk.Critical {
			s.critCrit++
		}
		if got == helpdesk.Critical || got == helpdesk.High {
			s.critHigh++
		}
	}
}

func (s *levelScore) exactPct() float64 { return 100 * float64(s.exact) / float64(max(s.n, 1)) }

func (s levelScore) String() string {
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }
	return fmt.Sprintf("exact %.1f%%, critical->critical %.1f%%, critical->at least high %.1f%%",
		s.exactPct(), pct(s.critCrit, s.crit), pct(s.critHigh, s.crit))
}

// TestModelBounds: whatever the model says, a critical the rubric found
// in security or data, or with everyone hit, stays critical, and no
// critical of the rubric falls below high. The model here is trained to say "low" to everything.
func TestModelBounds(t *testing.T) {
	set := triage.NewModelSet(rubricOnly(t))
	for i := 0; i < 50; i++ {
		set.Add(triage.Input{Subject: fmt.Sprintf("note %d", i), Text: "The website is down. Other customers' invoices are visible. Please add a user."}, helpdesk.Low)
	}
	file, err := set.TrainModelFile()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := rubricOnly(t).WithModelFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tr = tr.WithModelMinWords(0) // these one-liners are the rubric's otherwise
	for _, c := range []struct {
		text string
		want helpdesk.Priority
	}{
		{"We can see the invoices of other customers in our account.", helpdesk.Critical},
		{"All our customer records are gone since the import.", helpdesk.Critical},
		{"The website is down for everyone.", helpdesk.Critical}, // everyone hit: the rubric's critical stands
		{"The website is down.", helpdesk.High},
		{"Please add a user for our new starter.", helpdesk.Low},
	} {
		a := tr.Assess(triage.Input{Text: c.text})
		if a.Priority != c.want {
			t.Errorf("%q: %s, want %s (%s)", c.text, a.Priority, c.want, strings.Join(a.Reasons, " | "))
		}
	}
	// A level the model changes says so, with its words.
	a := tr.Assess(triage.Input{Text: "The website is down."})
	if len(a.Reasons) == 0 || !strings.Contains(a.Reasons[0], "learned model") {
		t.Errorf("reasons %q do not name the model", a.Reasons)
	}
}

// TestModelDecodes: the embedded models are models of this version.
func TestModelDecodes(t *testing.T) {
	if _, err := rubricOnly(t).WithModelFile(triage.EmbeddedModelFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := rubricOnly(t).WithFieldModelFile(triage.EmbeddedFieldModelFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := rubricOnly(t).WithSentenceModelFile(triage.EmbeddedSentenceModelFile()); err != nil {
		t.Fatal(err)
	}
}

// TestSentenceWordsFromMailHashes checks, on every corpus mail, that the
// sentence detector's words read from the hashes of the whole text are
// the words of the sentence hashed afresh, as it was trained.
func TestSentenceWordsFromMailHashes(t *testing.T) {
	tr := rubricOnly(t)
	read := 0
	for _, part := range []bool{false, true} {
		for _, m := range loadCorpus(t, part) {
			n, differs := tr.SentenceWordsDiffer(corpusInput(t, m))
			if differs != "" {
				t.Fatalf("%s: the sentence %q reads other words from the mail's hashes than hashed afresh", m.name, differs)
			}
			read += n
		}
	}
	if read == 0 {
		t.Fatal("no sentence was read from the mail's hashes")
	}
	t.Logf("%d sentences read from the mails' hashes, all as hashed afresh", read)
}
