package triage_test

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/triage"
)

var sweep = flag.Bool("triage.sweep", false, "TestSweep: score the learned models' settings by leave-one-writer-out on the development part")

// sweepBounds are the scores TestSweep tries as the detectors' bounds
// (-99: never drop, 99: never add).
var sweepBounds = []float64{-99, -8, -6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 99}

// fieldRec is one held-out mail's field as a detector decides it: found
// before the detector, stated by a labelled line, labelled, and the
// detector's score.
type fieldRec struct {
	found, stated, want bool
	score               float64
}

// sweepFieldBounds logs, per field, how many mails every pair of bounds
// gets right, and the best pair.
func sweepFieldBounds(t *testing.T, detector string, recs [][]fieldRec) {
	for c, f := range helpdesk.FieldNames {
		var cells []string
		best, bestDrop, bestAdd := -1, 0.0, 0.0
		for _, drop := range sweepBounds {
			for _, add := range sweepBounds {
				if add < drop {
					continue
				}
				right := 0
				for _, r := range recs[c] {
					got := r.found
					if !r.stated && r.found && r.score < drop {
						got = false
					}
					if !r.stated && !r.found && r.score > add {
						got = true
					}
					if got == r.want {
						right++
					}
				}
				if right > best {
					best, bestDrop, bestAdd = right, drop, add
				}
				cells = append(cells, fmt.Sprintf("(%g,%g) %d", drop, add, right))
			}
		}
		t.Logf("%s: %s, %d mails: best (%g,%g) %.1f%%; %s", detector, f, len(recs[c]), bestDrop, bestAdd, 100*float64(best)/float64(len(recs[c])), strings.Join(cells, ", "))
	}
}

// TestSweep is how fieldBounds, sentenceBounds (with fieldBounds as they
// are), modelCriticalAt and modelHighAt were chosen: per writer of the development part, models trained on the
// other writers' mails read this writer's, and every setting is scored on
// all of them. It only logs; run it with -triage.sweep -v (a minute or
// two). The test part is not read.
func TestSweep(t *testing.T) {
	if !*sweep {
		t.Skip("run with -triage.sweep to score the models' settings")
	}
	dev := loadCorpus(t, false)
	recs := make([][]fieldRec, len(helpdesk.FieldNames))
	sentRecs := make([][]fieldRec, len(helpdesk.FieldNames))
	type levelRec struct {
		tr   *triage.Triage
		in   triage.Input
		want string
	}
	var levels []levelRec
	for _, w := range corpusWriters(dev) {
		train, held := splitWriter(dev, w)
		st, ft := heldOutFieldTriage(t, train)
		lt, err := rubricOnly(t).WithModelFile(trainOn(t, train))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range held {
			in := corpusInput(t, m)
			found, stated, scores := ft.FieldScores(in)
			sfound, sstated, best := st.SentenceScores(in)
			for c, f := range helpdesk.FieldNames {
				recs[c] = append(recs[c], fieldRec{found[c], stated[c], slices.Contains(m.Fields, f), scores[c]})
				sentRecs[c] = append(sentRecs[c], fieldRec{sfound[c], sstated[c], slices.Contains(m.Fields, f), best[c]})
			}
			levels = append(levels, levelRec{lt, in, m.Priority})
		}
	}
	// The detectors' bounds: a value found dropped below drop, a missed
	// fact added above add.
	sweepFieldBounds(t, "field detector", recs)
	sweepFieldBounds(t, "sentence detector", sentRecs)
	sweepImpact(t, recs, sentRecs)
	// The level model's costs.
	for _, critAt := range []float64{0.2, 0.25, 0.3, 0.35, 0.4, 1.1} {
		for _, highAt := range []float64{0.3, 0.4, 0.5, 1.1} {
			var s levelScore
			for _, r := range levels {
				s.add(r.tr.WithModelCosts(critAt, highAt).Assess(r.in).Priority, r.want)
			}
			t.Logf("critical at %.2f, high at %.2f: %s", critAt, highAt, s)
		}
	}
}

// sweepImpact logs how many mails each blend and bound of who is
// affected (impactBlend, impactAt) gets right: the field detector's score
// plus blend times the best sentence's, above the bound, for a mail with
// no labelled line and enough words (the sentence detector's kept).
func sweepImpact(t *testing.T, recs, sentRecs [][]fieldRec) {
	c := slices.Index(helpdesk.FieldNames, helpdesk.FieldImpact)
	var cells []string
	best, bestBlend, bestAt := -1, 0.0, 0.0
	for _, blend := range []float64{0, 0.25, 0.5, 0.75, 1, 1.5} {
		for _, at := range []float64{-1, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.5} {
			right := 0
			for i, r := range recs[c] {
				got := r.found
				if !sentRecs[c][i].stated {
					got = r.score+blend*sentRecs[c][i].score > at
				}
				if got == r.want {
					right++
				}
			}
			if right > best {
				best, bestBlend, bestAt = right, blend, at
			}
			cells = append(cells, fmt.Sprintf("(%g,%g) %d", blend, at, right))
		}
	}
	t.Logf("who is affected, both detectors, %d mails: best blend %g at %g, %.1f%%; %s", len(recs[c]), bestBlend, bestAt, 100*float64(best)/float64(len(recs[c])), strings.Join(cells, ", "))
}
