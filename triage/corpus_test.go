package triage_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/triage"
)

// The development corpus of issue 15 (testdata/corpus, see its README):
// 4,600 mails by twenty-five writers who saw only the policies. It is split by a
// hash of "writer/filename" into a development part (three quarters),
// which triage may be tuned on, and a test part, which is only measured:
// nobody should read its mails or its misses, and no test gates on it.

// corpusPart is which parts TestCorpus scores: "dev", "test" or "both".
// Tuning runs use -corpus.part=dev so that the test part is not looked at.
var corpusPart = flag.String("corpus.part", "both", "parts of testdata/corpus TestCorpus scores: dev, test or both")

// corpusMisses, when set, logs every development-part miss.
var corpusMisses = flag.Bool("corpus.misses", false, "log the development part's misses")

// corpusLabel is one entry of a writer's labels.json.
type corpusLabel struct {
	Policy   string   `json:"policy"`
	Priority string   `json:"priority"`
	Claimed  *string  `json:"claimed"`
	Fields   []string `json:"fields"`
}

// corpusMail is one labelled mail of the corpus.
type corpusMail struct {
	dir  string // the set's folder under testdata: "corpus" or "blind"
	name string // "writer/filename"
	corpusLabel
	// second is the second labeller's label (labels2.json), when the set
	// has one
	second *corpusLabel
}

// corpusTestPart reports whether the mail named "writer/filename" belongs
// to the test part: FNV-1a 32 of the name, test when it is 0 modulo 4.
func corpusTestPart(name string) bool {
	h := fnv.New32a()
	h.Write([]byte(name))
	return h.Sum32()%4 == 0
}

// readLabels reads a labels file.
func readLabels(t testing.TB, path string) map[string]corpusLabel {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]corpusLabel
	if err := json.Unmarshal(raw, &labels); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return labels
}

// loadCorpus returns the corpus mails of one part (test or development),
// sorted by name.
func loadCorpus(t testing.TB, test bool) []corpusMail {
	t.Helper()
	dir := filepath.Join("testdata", "corpus")
	// w*: the corpus writers; b*: blind sets written to the same brief
	// that were scored once and then joined the corpus
	writers, err := filepath.Glob(filepath.Join(dir, "[wb]*"))
	if err != nil || len(writers) == 0 {
		t.Fatalf("no writers in %s: %v", dir, err)
	}
	var out []corpusMail
	for _, w := range writers {
		var second map[string]corpusLabel
		if _, err := os.Stat(filepath.Join(w, "labels2.json")); err == nil {
			second = readLabels(t, filepath.Join(w, "labels2.json"))
		}
		for file, l := range readLabels(t, filepath.Join(w, "labels.json")) {
			name := filepath.Base(w) + "/" + file
			if corpusTestPart(name) == test {
				m := corpusMail{dir: "corpus", name: name, corpusLabel: l}
				if l2, ok := second[file]; ok {
					m.second = &l2
				}
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// corpusScore is what TestCorpus measures on one part.
type corpusScore struct {
	mails, exact, claimed int
	critical, critCrit    int // criticals, and of them ranked critical
	critHigh              int // criticals ranked critical or high
	fieldRight            map[string]int
	confusion             map[string]map[string]int // label -> got -> count
	misses                []string
}

func (s *corpusScore) pct(n int) float64 { return 100 * float64(n) / float64(max(1, s.mails)) }
func (s *corpusScore) critPct(n int) float64 {
	return 100 * float64(n) / float64(max(1, s.critical))
}

// scoreCorpus triages mails, parsed with the project's real parser and
// with their policy given, and scores them.
func scoreCorpus(t testing.TB, tr *triage.Triage, mails []corpusMail) *corpusScore {
	t.Helper()
	levels := helpdesk.DefaultLevels()
	s := &corpusScore{fieldRight: map[string]int{}, confusion: map[string]map[string]int{}}
	for _, m := range mails {
		raw, err := os.ReadFile(filepath.Join("testdata", m.dir, m.name))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := message.Parse(raw, message.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		text := message.ReportText(msg.Subject, msg.Text, msg.NewText)
		a := tr.Assess(triage.Input{Subject: msg.Subject, Text: text, Date: msg.Date, Policy: m.Policy})
		s.mails++
		got := string(a.Priority)
		if s.confusion[m.Priority] == nil {
			s.confusion[m.Priority] = map[string]int{}
		}
		s.confusion[m.Priority][got]++
		var miss []string
		if got == m.Priority {
			s.exact++
		} else {
			miss = append(miss, fmt.Sprintf("priority %s, want %s", got, m.Priority))
		}
		if m.Priority == string(helpdesk.Critical) {
			s.critical++
			if r, ok := levels.Rank(a.Priority); ok && r == 0 {
				s.critCrit++
			}
			if r, ok := levels.Rank(a.Priority); ok && r <= 1 && a.Priority != levels.Change {
				s.critHigh++
			}
		}
		wantClaim := ""
		if m.Claimed != nil {
			wantClaim = *m.Claimed
		}
		if string(a.Claimed) == wantClaim {
			s.claimed++
		}
		for _, f := range helpdesk.FieldNames {
			want := false
			for _, g := range m.Fields {
				want = want || g == f
			}
			found := strings.TrimSpace(a.Fields.Get(f)) != ""
			if found == want {
				s.fieldRight[f]++
			} else {
				miss = append(miss, fmt.Sprintf("%s found=%v %q", f, found, shortText(a.Fields.Get(f))))
			}
		}
		if miss != nil {
			s.misses = append(s.misses, fmt.Sprintf("%s (%s): %s\n\treasons: %s", m.name, m.Policy, strings.Join(miss, "; "), strings.Join(a.Reasons, " | ")))
		}
	}
	return s
}

func shortText(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// logCorpus writes a part's figures and confusion matrix to the test log.
func logCorpus(t *testing.T, part string, s *corpusScore) {
	t.Logf("%s: %d mails, priority exact %.1f%%, claim %.1f%%, critical->critical %.1f%%, critical->at least high %.1f%% (%d criticals)",
		part, s.mails, s.pct(s.exact), s.pct(s.claimed), s.critPct(s.critCrit), s.critPct(s.critHigh), s.critical)
	var fs []string
	for _, f := range helpdesk.FieldNames {
		fs = append(fs, fmt.Sprintf("%s %.1f%%", f, s.pct(s.fieldRight[f])))
	}
	t.Logf("%s: fields %s", part, strings.Join(fs, ", "))
	order := []string{"critical", "high", "medium", "low", "change"}
	t.Logf("%s: confusion (label -> got: %s)", part, strings.Join(order, " "))
	for _, want := range order {
		row := make([]string, len(order))
		for i, got := range order {
			row[i] = fmt.Sprintf("%4d", s.confusion[want][got])
		}
		t.Logf("%s:   %-8s %s", part, want, strings.Join(row, " "))
	}
}

// The development part's ratchet: TestCorpus fails when the development
// part scores below these figures (reached figures minus a small margin).
// Raise them when triage gets better; never lower them to let a change in.
// Set again on 2026-12-06 (sixth session) when writers w17-w20 and the
// scored blind sets b3-b5 joined the corpus (the part grew from 2,369
// mails of sixteen writers to 3,263 of twenty-three, so the figures are
// of another set, not a regression): the rubric alone reached exact
// 62.9%, critical->critical 79.4%, critical->at least high 87.3%, fields
// start_time 93.5%, error_text 92.3%, repro_steps 90.1%, impact 78.8%,
// service 96.0% (the extractors alone; the learned field detector is
// measured by TestFieldModelHeldOutWriters). The margins are a few mails.
// With b6 and b7 joined as well (3,445 mails of twenty-five writers) the
// rubric reaches 63.0%, 80.1%, 87.9% and fields 93.5 / 92.3 / 90.0 / 79.1 /
// 96.1%, above every figure here. Set again in the eighth session, when
// b11 and b12 joined (3,912 mails of thirty writers; the rubric itself did
// not change): it reaches 63.1%, 80.3%, 88.2% and fields 92.9 / 92.3 / 89.7
// / 78.7 / 96.4%; b12's start times, which the extractors read less well
// than the others', moved the start_time ratchet from 93.0 to 92.6%. With
// b13 too (4,007 mails of thirty-one writers) it reaches 63.3%, 80.7%,
// 88.2% and fields 92.9 / 92.3 / 89.5 / 78.8 / 96.4%, and b13's steps
// moved the repro_steps ratchet from 89.6 to 89.3%; b14's (a writer who
// counts one action as steps; 4,092 mails of thirty-two writers: 63.2%,
// 80.9%, 88.2%, fields 93.0 / 92.4 / 89.3 / 78.8 / 96.4%) to 89.0%.
// Tenth session: with b16-b24 too (4,908 mails of forty-one writers) it
// reaches 63.0%, 80.7%, 88.2% and fields 92.8 / 91.9 / 89.6 / 78.3 /
// 96.7%; actsTwice (someone doing two things in a row) raised steps from
// 89.1 to 89.6%, so the repro_steps ratchet moved from 89.0 to 89.3%.
// With b25-b32 as well (5,602 mails of forty-nine writers; the tenth
// session's final sets, joined after their single scoring) it reaches
// 63.4%, 81.1%, 88.4% and fields 92.9 / 91.5 / 89.3 / 78.1 / 96.8%: the
// new writers' errors, steps and who is affected are read less well by
// the extractors than the others', so those ratchets moved to 91.2, 89.0
// and 77.8% (another set, not a regression; the rubric and extractors
// did not change but for one security phrase). Eleventh session: with
// b33-b36 (5,961 mails of fifty-three writers) it reaches 63.4%, 81.2%,
// 88.5% and fields 93.0 / 91.6 / 89.4 / 77.9 / 97.0% before, 78.2% after
// the extractors learned "the only one affected", "half our studio" and
// "only me" in a mail no rubric phrase calls a failure; the impact
// ratchet moved from 77.8 to 78.1%. With b37-b40 too (6,340 mails of
// fifty-seven writers) it reaches 63.4%, 81.1%, 88.4% and fields 92.9 /
// 91.7 / 89.4 / 78.2 / 97.0%; with b41-b44 (6,693 mails of sixty-one
// writers) 63.5%, 81.0%, 88.2% and 92.9 / 91.7 / 89.4 / 78.1 / 97.1%;
// with b45-b48 (7,056 mails of sixty-five writers) 63.6%, 81.5%, 88.6%
// and 92.9 / 91.9 / 89.4 / 78.2 / 97.1%.
const (
	ratchetExact    = 62.4
	ratchetCritCrit = 78.9
	ratchetCritHigh = 86.8
)

var ratchetField = map[string]float64{
	"start_time":  92.6,
	"error_text":  91.2,
	"repro_steps": 89.0,
	"impact":      78.1,
	"service":     95.5,
}

// TestCorpus scores triage on the development corpus, both parts, and
// holds the development part to the ratchet. The test part is reported,
// never gated on.
//
// The development part is scored with the rubric alone: the learned model
// was trained on it, so its figure there says nothing (its honest one is
// TestModelHeldOutWriters'). The test part is scored with the model, as
// the desk runs triage.
func TestCorpus(t *testing.T) {
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	rubric, err := triage.New(triage.Rules{NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	part := *corpusPart
	if part != "dev" && part != "test" && part != "both" {
		t.Fatalf("-corpus.part=%q, want dev, test or both", part)
	}
	if part != "test" {
		t.Run("dev", func(t *testing.T) {
			s := scoreCorpus(t, rubric, loadCorpus(t, false))
			if s.mails < 400 {
				t.Fatalf("development part has %d mails, want about 450", s.mails)
			}
			logCorpus(t, "dev", s)
			if *corpusMisses {
				for _, m := range s.misses {
					t.Logf("dev miss %s", m)
				}
			}
			if got := s.pct(s.exact); got < ratchetExact {
				t.Errorf("dev: priority exact %.1f%%, ratchet %.1f%%", got, ratchetExact)
			}
			if got := s.critPct(s.critCrit); got < ratchetCritCrit {
				t.Errorf("dev: critical->critical %.1f%%, ratchet %.1f%%", got, ratchetCritCrit)
			}
			if got := s.critPct(s.critHigh); got < ratchetCritHigh {
				t.Errorf("dev: critical->at least high %.1f%%, ratchet %.1f%%", got, ratchetCritHigh)
			}
			for _, f := range helpdesk.FieldNames {
				if got := s.pct(s.fieldRight[f]); got < ratchetField[f] {
					t.Errorf("dev: field %s %.1f%%, ratchet %.1f%%", f, got, ratchetField[f])
				}
			}
		})
	}
	if part != "dev" {
		// Measured, not gated: a gate on the test part would be tuned on it.
		t.Run("test", func(t *testing.T) {
			s := scoreCorpus(t, tr, loadCorpus(t, true))
			logCorpus(t, "test", s)
		})
	}
}
