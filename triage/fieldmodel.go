package triage

import (
	_ "embed" // the trained weights
	"strings"
	"sync"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// The learned field detector: a logistic regression per field decides,
// with the extractors, whether the mail gives the fact. It weighs what the
// extractors found (all five fields), the phrases that matched, the
// policy, and the words and word pairs of the mail. It was trained on the
// development part of testdata/corpus only, like the level model, and is
// embedded.
//
// The extractors read most fields well, the detector reads who is
// affected far better (leave-one-writer-out on the development part), so
// they decide together: an extractor's value stands unless the detector
// is sure it is no such fact, and a fact the extractors missed is added
// when the detector is sure enough of it (fieldBounds);
// the value added is the sentence whose words weigh most for the field
// (for the service, the subject). A labelled line ("Impact: ...") always
// stands, and mails of fewer than modelMinWords words stay with the
// extractors. Rules.NoModel turns the detector off with the level model.

//go:embed fields.bin.gz
var fieldModelFile []byte

// learnedFields are the fields the detector decides, in the order of its
// weights.
var learnedFields = helpdesk.FieldNames

// fieldBounds are, per learned field, the detector's scores (log-odds)
// below which it drops an extractor's value and above which it adds a
// fact the extractors missed. Chosen by leave-one-writer-out on the
// development part (TestSweep, both bounds per field), never on a blind
// set: the extractors read errors and steps well, so the detector
// overrules them only when sure (-3: a probability under 5%; -6 for
// steps); for start times and the service, whose wording varies more
// between writers, it drops a value it gives less than 27% (-1). Who is
// affected is dropped below -0.5 (38%) and added from 0 (50%) when the
// detector decides alone (no sentence detector); with one, the two decide
// it together (settleImpact). The fifty-three writers' sweep of the
// eleventh session found no bound of any field better than these by more
// than 16 of 5,961 mails.
var fieldBounds = map[string]detectorBounds{
	helpdesk.FieldStartTime:  {-1, 1},
	helpdesk.FieldErrorText:  {-3, 0},
	helpdesk.FieldReproSteps: {-6, 0},
	helpdesk.FieldImpact:     {-0.5, 0},
	helpdesk.FieldService:    {-1, 1},
}

// detectorBounds are a detector's bounds for one field: below drop it
// drops the value found, above add it adds a fact that was missed.
type detectorBounds struct{ drop, add float64 }

var (
	loadFieldModelOnce sync.Once
	theFieldModel      *lrModel
	fieldModelErr      error
)

// embeddedFieldModel decodes the embedded field weights once.
func embeddedFieldModel() (*lrModel, error) {
	loadFieldModelOnce.Do(func() { theFieldModel, fieldModelErr = decodeModelOf(fieldModelFile, len(learnedFields)) })
	return theFieldModel, fieldModelErr
}

// fieldFeatures adds what the detector reads: the rubric's findings, the
// matched phrases, the policy and the words.
func fieldFeatures(s *featureSink, an *analysis, f *helpdesk.Fields, policy string) {
	s.fact("bias")
	s.fact("policy=", policy)
	for _, name := range helpdesk.FieldNames {
		if f.Get(name) != "" {
			s.fact("found=", name)
		}
	}
	for _, h := range an.hits {
		if !h.negated && h.pat != nil {
			s.buckets = append(s.buckets, h.pat.modelHash%modelBuckets)
		}
	}
	s.mailWords(an)
}

// applyFieldModel lets the detector decide the fields the extractors
// found in f. It leaves alone the fields the mail has a labelled line for
// (an.stated), and mails of fewer than modelMinWords words (it learned
// from whole mails). With a sentence detector, who is affected is left
// to the two together: applyFieldModel returns its score for it (ok
// false when it did not read the mail) for applySentenceModel.
func (t *Triage) applyFieldModel(an *analysis, f *helpdesk.Fields, policy string) (impact float64, ok bool) {
	m := t.fieldModel
	if m == nil || len(an.d.toks) < t.modelMinWords {
		return 0, false
	}
	fs := featureSink{buckets: getBuckets()}
	fieldFeatures(&fs, an, f, policy)
	s := m.scores(fs.buckets)
	putBuckets(fs.buckets)
	for c, name := range learnedFields {
		if name == helpdesk.FieldImpact && t.sentenceModel != nil {
			impact, ok = s[c], true
			continue
		}
		settleField(an, f, name, s[c], fieldBounds[name], func() string { return bestSentence(m, c, an) })
	}
	return impact, ok
}

// settleField gives a detector's verdict on the named field of f: the
// value found is dropped when the detector's score is below bounds.drop;
// a missing fact is added when it is above bounds.add, quoting the
// subject for the service and quote() for the others. A field the mail
// has a labelled line for stands.
func settleField(an *analysis, f *helpdesk.Fields, name string, score float64, bounds detectorBounds, quote func() string) {
	if an.stated[name] {
		return
	}
	v := fieldPtr(f, name)
	switch {
	case *v != "":
		if score < bounds.drop {
			*v = ""
			if name == helpdesk.FieldStartTime {
				f.StartInstant = time.Time{}
			}
		}
	case score <= bounds.add:
	case name == helpdesk.FieldService && an.subject != "":
		// the thing concerned is what a subject names
		*v = clipSentence(collapseSpace(strings.TrimSpace(an.subject)))
	default:
		*v = quote()
	}
}

// fieldPtr returns the address of the named field of f.
func fieldPtr(f *helpdesk.Fields, name string) *string {
	switch name {
	case helpdesk.FieldImpact:
		return &f.Impact
	case helpdesk.FieldService:
		return &f.Service
	case helpdesk.FieldStartTime:
		return &f.StartTime
	case helpdesk.FieldErrorText:
		return &f.ErrorText
	}
	return &f.ReproSteps
}

// bestSentence returns the sentence of the subject or a line of the text
// (at most 200 bytes) whose words and word pairs weigh most for class c, or "" when
// none weighs for it. Steps are never a pasted header block. For who is
// affected, a sentence that names people, a group or a cost (mayBeImpact)
// is preferred to one that weighs more but names none of them, and the
// writer's name, title and company (signOff) are never quoted: the
// detector judges the whole mail, and the quote should show the agent
// who is hit.
func bestSentence(m *lrModel, c int, an *analysis) string {
	impact := learnedFields[c] == helpdesk.FieldImpact
	best, bestScore := "", float32(0)
	named, namedScore := "", float32(0)
	consider := func(sentence string) {
		if learnedFields[c] == helpdesk.FieldReproSteps && !mayBeSteps(sentence) {
			return
		}
		var s featureSink
		s.words(ascii.Lower(sentence))
		var score float32
		seen := map[uint32]bool{}
		for _, b := range s.buckets {
			if !seen[b] {
				seen[b] = true
				score += m.at(c, b)
			}
		}
		if score > bestScore {
			best, bestScore = sentence, score
		}
		if impact && score > namedScore && mayBeImpact(sentence) {
			named, namedScore = sentence, score
		}
	}
	if an.subject != "" {
		consider(an.subject)
	}
	lines := an.textLines()
	if impact {
		lines = lines[:signOff(lines)]
	}
	for _, line := range lines {
		for _, sentence := range sentences(line) {
			consider(sentence)
		}
	}
	if named != "" {
		best = named
	}
	return clipSentence(collapseSpace(strings.TrimSpace(best)))
}

// mayBeImpact reports whether a sentence names who can be affected or
// what a failure costs: people or a group (peopleWords), the writer's
// firm or a cost (impactWords).
func mayBeImpact(sentence string) bool {
	for _, w := range strings.FieldsFunc(ascii.Lower(sentence), func(r rune) bool { return (r < 'a' || r > 'z') && r != '\'' }) {
		if peopleWords[w] || impactWords[w] {
			return true
		}
	}
	return false
}

// impactWords name the writer's firm ("we", "our") or what a failure can
// cost it.
var impactWords = map[string]bool{"we": true, "our": true, "sales": true, "orders": true, "revenue": true, "money": true,
	"bookings": true, "income": true, "deadline": true, "payroll": true, "busiest": true, "peak": true, "idle": true,
	"blocked": true, "losing": true, "lost": true}

// clipSentence cuts s to at most 200 bytes, at a character boundary,
// and marks the cut with an ellipsis.
func clipSentence(s string) string {
	if len(s) <= 200 {
		return s
	}
	s = s[:200]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s + "\u2026"
}
