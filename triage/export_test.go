package triage

import (
	"slices"

	"github.com/helpdeskd/helpdesk"
)

// ModelSet is a labelled set for training the model in tests.
type ModelSet struct {
	t  *Triage
	ex []modelExample
}

// NewModelSet starts an empty training set read by t's rubric.
func NewModelSet(t *Triage) *ModelSet { return &ModelSet{t: t} }

// Add adds one mail and its labels, one per labeller: the model learns
// the share of them that chose each level.
func (s *ModelSet) Add(in Input, labels ...helpdesk.Priority) {
	s.ex = append(s.ex, s.t.modelExampleOf(in, labels...))
}

// TrainModelFile trains on the set and returns the model file's bytes.
func (s *ModelSet) TrainModelFile() ([]byte, error) { return encodeModel(trainModel(s.ex)) }

// EmbeddedModelFile returns the model file the package embeds.
func EmbeddedModelFile() []byte { return modelFile }

// ModelFilesClose reports whether two model files hold the same weights,
// up to two steps of their quantisation (floating point may round a
// little differently on another machine).
func ModelFilesClose(a, b []byte) (bool, error) {
	ma, err := decodeModelOf(a, 0)
	if err != nil {
		return false, err
	}
	mb, err := decodeModelOf(b, 0)
	if err != nil {
		return false, err
	}
	if ma.k != mb.k {
		return false, nil
	}
	// two steps of the larger scale
	tol := 2 * max(ma.scale, mb.scale)
	for i := range ma.w {
		if d := float32(ma.w[i])*ma.scale - float32(mb.w[i])*mb.scale; d > tol || -d > tol {
			return false, nil
		}
	}
	return true, nil
}

// WithModelFile returns a copy of t that ranks with the model in file.
func (t *Triage) WithModelFile(file []byte) (*Triage, error) {
	m, err := decodeModel(file)
	if err != nil {
		return nil, err
	}
	c := *t
	c.model, c.useModel = m, true
	return &c, nil
}

// WithModelMargin returns a copy of t whose model changes the rubric's
// level only when it is surer by margin (a probability difference).
func (t *Triage) WithModelMargin(margin float64) *Triage {
	c := *t
	c.modelMargin = margin
	return &c
}

// WithModelMinWords returns a copy of t whose model leaves mails of
// fewer words to the rubric.
func (t *Triage) WithModelMinWords(n int) *Triage {
	c := *t
	c.modelMinWords = n
	return &c
}

// FieldSet is a labelled set for training the two field detectors (the
// field detector and the sentence detector) in tests.
type FieldSet struct {
	t         *Triage
	fields    []fieldExample
	sentences []sentenceExample
}

// NewFieldSet starts an empty training set read by t's extractors (t
// must have no learned models).
func NewFieldSet(t *Triage) *FieldSet { return &FieldSet{t: t} }

// Add adds one mail and the fields its labels name: one list per
// labeller, the detectors learning the share that names each field.
func (s *FieldSet) Add(in Input, labels ...[]string) {
	s.fields = append(s.fields, s.t.fieldExampleOf(in, labels))
	s.sentences = append(s.sentences, s.t.sentenceExampleOf(in, labels))
}

// TrainFieldModelFile trains the field detector on the set and returns
// the file's bytes.
func (s *FieldSet) TrainFieldModelFile() ([]byte, error) {
	return encodeModel(trainFieldModel(s.fields))
}

// TrainSentenceModelFile trains the sentence detector on the set and
// returns the file's bytes.
func (s *FieldSet) TrainSentenceModelFile() ([]byte, error) {
	return encodeModel(trainSentenceModel(s.sentences))
}

// EmbeddedFieldModelFile returns the field model file the package embeds.
func EmbeddedFieldModelFile() []byte { return fieldModelFile }

// WithFieldModelFile returns a copy of t whose field detector is the one
// in file.
func (t *Triage) WithFieldModelFile(file []byte) (*Triage, error) {
	m, err := decodeModelOf(file, len(learnedFields))
	if err != nil {
		return nil, err
	}
	c := *t
	c.fieldModel = m
	return &c, nil
}

// RaceEnabled reports whether the tests run under the race detector.
const RaceEnabled = raceEnabled

// FieldScores returns, per learned field, whether the extractors found it,
// whether a labelled line states it, and the detector's score (log-odds):
// what applyFieldModel decides from, for choosing fieldBounds.
func (t *Triage) FieldScores(in Input) (found, stated []bool, scores []float64) {
	buckets, f, labelled := t.fieldFeaturesOf(in)
	scores = t.fieldModel.scores(buckets)
	for _, name := range learnedFields {
		found = append(found, *fieldPtr(&f, name) != "")
		stated = append(stated, labelled[name])
	}
	return found, stated, scores
}

// WithModelCosts returns a copy of t whose model ranks critical from
// criticalAt and at least high from highAt (the cost rule), for choosing
// them in tests.
func (t *Triage) WithModelCosts(criticalAt, highAt float64) *Triage {
	c := *t
	c.modelCriticalAt, c.modelHighAt = criticalAt, highAt
	return &c
}

// EmbeddedSentenceModelFile returns the sentence model file the package
// embeds.
func EmbeddedSentenceModelFile() []byte { return sentenceModelFile }

// WithSentenceModelFile returns a copy of t whose sentence detector is
// the one in file (nil: none).
func (t *Triage) WithSentenceModelFile(file []byte) (*Triage, error) {
	c := *t
	if file == nil {
		c.sentenceModel = nil
		return &c, nil
	}
	m, err := decodeModelOf(file, len(sentenceFields))
	if err != nil {
		return nil, err
	}
	c.sentenceModel = m
	return &c, nil
}

// SentenceScores returns, per learned field, whether the extractors and
// the field detector found it, whether the sentence detector leaves it
// alone (a labelled line states it, the mail is too short for the
// detector, or the detector does not decide that field), and the
// detector's best score: what applySentenceModel decides from, for
// choosing sentenceBounds.
func (t *Triage) SentenceScores(in Input) (found, kept []bool, best []float64) {
	in = limit(in)
	an := t.analyse(in)
	f := t.fields(in, an)
	t.applyFieldModel(an, &f, in.Policy)
	scores, _ := sentenceScores(t.sentenceModel, an)
	short := len(an.d.toks) < t.modelMinWords
	for _, name := range learnedFields {
		found = append(found, *fieldPtr(&f, name) != "")
		c := slices.Index(sentenceFields, name)
		kept = append(kept, an.stated[name] || short || c < 0)
		if c < 0 {
			best = append(best, 0)
		} else {
			best = append(best, scores[c])
		}
	}
	an.release()
	return found, kept, best
}

// SentenceWordsDiffer returns how many of the text's sentences the
// sentence detector read from the mail's word hashes, and the first whose
// words and pairs read so differ from the sentence hashed afresh ("" when
// none does).
func (t *Triage) SentenceWordsDiffer(in Input) (read int, differs string) {
	in = limit(in)
	an := t.analyse(in)
	defer an.release()
	an.hashWords()
	an.eachSentence(func(sentence, lower string, at int) {
		if at < 0 || differs != "" {
			return
		}
		var cached, fresh featureSink
		if !an.sentenceWords(&cached, at, at+len(sentence)) {
			return
		}
		read++
		fresh.words(lower)
		if !slices.Equal(cached.buckets, fresh.buckets) {
			differs = sentence
		}
	})
	return read, differs
}

// MayBeImpact is mayBeImpact, for its table test.
var MayBeImpact = mayBeImpact

// SignOff is signOff, for its table test.
var SignOff = signOff
