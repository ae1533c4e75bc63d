package triage

import (
	_ "embed" // the trained weights
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/helpdeskd/helpdesk"
)

// The sentence detector reads the fields one sentence at a time, where
// the field detector reads the whole mail: for each of start times,
// errors, steps and who is affected, a logistic regression over one
// sentence's words, word pairs and shape (its first word, a quotation, a
// menu arrow). It was trained as multiple instances (a mail gives a field
// when its best sentence does: the labels name fields per mail, not the
// sentence) on the development part of testdata/corpus only, and is
// embedded.
//
// It decides last, after the extractors and the field detector: a value
// stands unless no sentence of the mail scores above the field's drop
// bound, and a fact still missing is added, quoting the best sentence,
// when that sentence scores above the add bound (sentenceBounds). Steps
// are never a pasted header block (mayBeSteps). Who is affected is
// decided by both detectors' scores together (settleImpact). A labelled
// line always stands, mails of fewer than modelMinWords words keep what
// the others found, and Rules.NoModel turns it off with the other
// models.

//go:embed sentences.bin.gz
var sentenceModelFile []byte

// sentenceFields are the fields the sentence detector decides, in the
// order of its weights. For the service no bound read it better than the
// field detector does (TestSweep, sixth and seventh sessions), so it has
// no weights for it. Who is affected it decides together with the field
// detector (settleImpact): alone it reads it worse, together better
// (eleventh session).
var sentenceFields = []string{helpdesk.FieldStartTime, helpdesk.FieldErrorText, helpdesk.FieldReproSteps, helpdesk.FieldImpact}

// sentenceBounds are, per field of sentenceFields, the best sentence's
// scores (log-odds) below which the detector drops the value the others
// found and above which it adds a fact they missed. Chosen by leave-one-
// writer-out on the development part (TestSweep, with fieldBounds as they
// are; thirty writers in the eighth session), never on a blind set: it
// drops a start time when no sentence scores above -1.5 (a probability
// under 18%), errors and steps below -2 (12%), and adds steps from 0,
// errors from 0.5 and start times from 1. Errors are dropped only that
// low because the extractors find them by their codes and quotes, which
// the detector reads as words: with thirty writers the sweep found that
// bound better than never dropping (+13 of 3,912 mails).
var sentenceBounds = map[string]detectorBounds{
	helpdesk.FieldStartTime:  {-1.5, 1},
	helpdesk.FieldErrorText:  {-2, 0.5},
	helpdesk.FieldReproSteps: {-2, 0},
}

// impactBlend and impactAt decide who is affected (settleImpact): the
// field detector's score plus impactBlend times the best sentence's, a
// fact above impactAt. Chosen by leave-one-writer-out on the development
// part (TestSweep), never on a blind set: with fifty-three writers (5,961
// mails) it reads 94.2% right, against 93.9% for the field detector's
// bounds alone.
const (
	impactBlend = 0.5
	impactAt    = 0.25
)

var (
	loadSentenceModelOnce sync.Once
	theSentenceModel      *lrModel
	sentenceModelErr      error
)

// embeddedSentenceModel decodes the embedded sentence weights once.
func embeddedSentenceModel() (*lrModel, error) {
	loadSentenceModelOnce.Do(func() {
		theSentenceModel, sentenceModelErr = decodeModelOf(sentenceModelFile, len(sentenceFields))
	})
	return theSentenceModel, sentenceModelErr
}

// sentenceFeatures adds what the sentence detector reads of one sentence
// (lower its lower-cased copy, at where it starts in the text, -1 for the
// subject): its words and pairs and its shape. The words of the text's
// sentences come from the hashes the models made of the whole text, when
// it has them.
func (an *analysis) sentenceFeatures(s *featureSink, sentence, lower string, at int) {
	s.fact("sbias")
	if at < 0 {
		s.fact("subject")
	}
	if at < 0 || an.textWords == nil || !an.sentenceWords(s, at, at+len(sentence)) {
		s.words(lower)
	}
	first, _, _ := strings.Cut(strings.TrimLeft(lower, " -*>\u20220123456789.)("), " ")
	s.fact("first=", first)
	if strings.IndexByte(sentence, '"') >= 0 || strings.IndexByte(sentence, '\'') >= 0 ||
		strings.Contains(sentence, "\u201c") || strings.Contains(sentence, "\u2018") {
		s.fact("quote")
	}
	if strings.Contains(sentence, ">") || strings.Contains(sentence, "\u2192") {
		s.fact("arrow")
	}
}

// eachSentence calls fn with every sentence of the mail's subject and
// text, its lower-cased copy and, for the text's, where it starts in the
// text (-1 for the subject). Quoted lines are read too: a forwarded report
// counts.
func (an *analysis) eachSentence(fn func(sentence, lower string, at int)) {
	if an.subject != "" {
		fn(an.subject, an.subjectLower, -1)
	}
	var spans [][2]int
	off := 0
	for _, line := range an.textLines() {
		lower := an.textLower[off : off+len(line)]
		spans = sentenceSpans(line, spans[:0])
		for _, sp := range spans {
			fn(line[sp[0]:sp[1]], lower[sp[0]:sp[1]], off+sp[0])
		}
		off += len(line) + 1
	}
}

// sentenceMayHold reports whether sentence may give field c (of
// sentenceFields): steps are
// never a pasted header block nor a wall of text (mayBeSteps).
func sentenceMayHold(c int, sentence string) bool {
	return sentenceFields[c] != helpdesk.FieldReproSteps || mayBeSteps(sentence)
}

// sentenceScores returns, per field of sentenceFields, the best sentence's score
// and the sentence (-Inf and "" when the mail has none that may hold the
// field).
func sentenceScores(m *lrModel, an *analysis) (best []float64, text []string) {
	best, text = make([]float64, len(sentenceFields)), make([]string, len(sentenceFields))
	for c := range best {
		best[c] = math.Inf(-1)
	}
	an.hashWords()
	fs := featureSink{buckets: getBuckets()}
	seen := seenPool.Get().(*[modelBuckets / 64]uint64)
	s := make([]float64, m.k)
	an.eachSentence(func(sentence, lower string, at int) {
		fs.buckets = fs.buckets[:0]
		an.sentenceFeatures(&fs, sentence, lower, at)
		m.scoresInto(s, fs.buckets, seen)
		for c := range sentenceFields {
			if s[c] > best[c] && sentenceMayHold(c, sentence) {
				best[c], text[c] = s[c], sentence
			}
		}
	})
	seenPool.Put(seen)
	putBuckets(fs.buckets)
	return best, text
}

// applySentenceModel lets the sentence detector have the last word on
// the fields in f, except those the mail has a labelled line for; impact
// is the field detector's score for who is affected (impactOK: it read
// the mail), which settleImpact joins to the sentence detector's.
func (t *Triage) applySentenceModel(an *analysis, f *helpdesk.Fields, impact float64, impactOK bool) {
	m := t.sentenceModel
	if m == nil || len(an.d.toks) < t.modelMinWords {
		return
	}
	best, text := sentenceScores(m, an)
	for c, name := range sentenceFields {
		if name == helpdesk.FieldImpact {
			if impactOK {
				t.settleImpact(an, f, impact, best[c])
			}
			continue
		}
		settleField(an, f, name, best[c], sentenceBounds[name], func() string {
			return clipSentence(collapseSpace(strings.TrimSpace(text[c])))
		})
	}
}

// settleImpact decides who is affected from both detectors' scores: the
// field detector's for the mail (mail) plus impactBlend times the best
// sentence's (sentence), against impactAt, both ways. The value added is
// the field detector's best sentence (bestSentence), as before.
func (t *Triage) settleImpact(an *analysis, f *helpdesk.Fields, mail, sentence float64) {
	c := slices.Index(learnedFields, helpdesk.FieldImpact)
	settleField(an, f, helpdesk.FieldImpact, mail+impactBlend*sentence, detectorBounds{impactAt, impactAt},
		func() string { return bestSentence(t.fieldModel, c, an) })
}
