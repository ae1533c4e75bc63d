package triage_test

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/helpdeskd/helpdesk/triage"
)

// TestBlind scores triage on the blind sets of testdata/blind: mails
// written, after the triage design was frozen, by writers who saw only the
// policies, and scored once. It reports; it gates nothing, and nothing may
// be tuned on these mails (see testdata/blind/README.md). Run with -v to
// see the figures.
func TestBlind(t *testing.T) {
	sets, err := filepath.Glob(filepath.Join("testdata", "blind", "b*"))
	if err != nil || len(sets) == 0 {
		t.Skip("no blind sets in testdata/blind")
	}
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range sets {
		var mails []corpusMail
		for file, l := range readLabels(t, filepath.Join(set, "labels.json")) {
			mails = append(mails, corpusMail{dir: "blind", name: filepath.Base(set) + "/" + file, corpusLabel: l})
		}
		sort.Slice(mails, func(i, j int) bool { return mails[i].name < mails[j].name })
		s := scoreCorpus(t, tr, mails)
		logCorpus(t, filepath.Base(set), s)
		if *corpusMisses {
			for _, m := range s.misses {
				t.Logf("%s miss %s", filepath.Base(set), m)
			}
		}
	}
}
