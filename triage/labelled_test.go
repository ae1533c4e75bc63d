package triage_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/triage"
)

// label is what a person decided about one mail of testdata/labelled.
type label struct {
	Set      string   `json:"set"`      // "tuning", "heldout", "heldout2" or "heldout3": see testdata/labelled/README.md
	Priority string   `json:"priority"` // the expected final priority
	Claimed  *string  `json:"claimed"`  // the expected claimed level, null for none
	Fields   []string `json:"fields"`   // the fields the mail gives
}

// score is what the labelled test measures on one set of mails.
type score struct {
	mails, exact, claimed, criticalBelowHigh int
	fieldRight                               map[string]int
	misses                                   []string
}

func (s *score) percent(n int) float64 { return 100 * float64(n) / float64(s.mails) }

// runLabelled triages every labelled mail, parsed with the project's real
// parser, and scores it.
func runLabelled(t *testing.T) map[string]*score {
	t.Helper()
	dir := filepath.Join("testdata", "labelled")
	raw, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]label
	if err := json.Unmarshal(raw, &labels); err != nil {
		t.Fatalf("labels.json: %v", err)
	}
	// The rubric alone: this set holds the project's own reading of the
	// policies, which the rubric was written to; the learned model follows
	// the independent writers of testdata/corpus (see model_test.go).
	tr, err := triage.New(triage.Rules{NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	levels := helpdesk.DefaultLevels()
	scores := map[string]*score{}
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l := labels[name]
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := message.Parse(raw, message.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := message.ReportText(msg.Subject, msg.Text, msg.NewText)
		in := triage.Input{Subject: msg.Subject, Text: text, Date: msg.Date}
		a := tr.Assess(in)
		s := scores[l.Set]
		if s == nil {
			s = &score{fieldRight: map[string]int{}}
			scores[l.Set] = s
		}
		s.mails++
		var miss []string
		if string(a.Priority) == l.Priority {
			s.exact++
		} else {
			miss = append(miss, fmt.Sprintf("priority %s, want %s", a.Priority, l.Priority))
		}
		if want, _ := levels.Rank(helpdesk.Priority(l.Priority)); want == 0 {
			if got, _ := levels.Rank(a.Priority); got > 1 {
				s.criticalBelowHigh++
			}
		}
		wantClaim := ""
		if l.Claimed != nil {
			wantClaim = *l.Claimed
		}
		if string(a.Claimed) == wantClaim {
			s.claimed++
		} else {
			miss = append(miss, fmt.Sprintf("claimed %q, want %q", a.Claimed, wantClaim))
		}
		for _, f := range helpdesk.FieldNames {
			want := false
			for _, g := range l.Fields {
				want = want || g == f
			}
			got := strings.TrimSpace(a.Fields.Get(f)) != ""
			if got == want {
				s.fieldRight[f]++
			} else {
				miss = append(miss, fmt.Sprintf("%s found=%v %q", f, got, a.Fields.Get(f)))
			}
		}
		if miss != nil {
			s.misses = append(s.misses, fmt.Sprintf("%s: %s\n\treasons: %s", name, strings.Join(miss, "; "), strings.Join(a.Reasons, " | ")))
		}
	}
	return scores
}

// TestLabelled checks triage against the labelled mails in testdata/labelled,
// written from the examples of the five support policies. The tuning set was
// written before the phrase lists existed and they were tuned on it; the
// held-out set was written after that and measured blind once, then used
// for a second round of fixes; heldout2 was written after the second round
// and never tuned on. Each set must reach the thresholds of the issue:
// priority exact match >= 90%, no critical incident ranked below high, each
// field detected (present or absent as labelled) in >= 95% of mails.
func TestLabelled(t *testing.T) {
	scores := runLabelled(t)
	if len(scores) == 0 {
		t.Fatal("no labelled mails")
	}
	total := 0
	for _, set := range []string{"tuning", "heldout", "heldout2", "heldout3"} {
		s := scores[set]
		if s == nil {
			continue
		}
		total += s.mails
		t.Logf("%s: %d mails, priority exact %.1f%%, claim %.1f%%, critical below high %d", set, s.mails, s.percent(s.exact), s.percent(s.claimed), s.criticalBelowHigh)
		for _, f := range helpdesk.FieldNames {
			t.Logf("%s: field %s %.1f%%", set, f, s.percent(s.fieldRight[f]))
		}
		for _, m := range s.misses {
			t.Logf("%s miss %s", set, m)
		}
		if got := s.percent(s.exact); got < 90 {
			t.Errorf("%s: priority exact match %.1f%%, want >= 90%%", set, got)
		}
		if s.criticalBelowHigh != 0 {
			t.Errorf("%s: %d critical incidents ranked below high, want 0", set, s.criticalBelowHigh)
		}
		for _, f := range helpdesk.FieldNames {
			if got := s.percent(s.fieldRight[f]); got < 95 {
				t.Errorf("%s: field %s detected in %.1f%% of mails, want >= 95%%", set, f, got)
			}
		}
	}
	if total < 80 {
		t.Errorf("%d labelled mails, want at least 80", total)
	}
}
