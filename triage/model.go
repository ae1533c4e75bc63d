package triage

import (
	"bytes"
	"cmp"
	"compress/gzip"
	_ "embed" // the trained weights
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/helpdeskd/helpdesk"
)

// The learned part of triage: a multinomial logistic regression that
// weighs what the rubric found (its level, the scope, workaround,
// intermittency and claim facts, the policy) together with the words and
// word pairs of the mail, and names the level. It was trained on the
// development part of testdata/corpus only (see modelClasses for the
// levels it knows) and is embedded in the binary: nothing is fetched,
// nothing learns at run time. `go test ./triage -run TestTrainModel
// -update-model` trains it again, deterministically, after the rubric or
// the corpus changed; TestModelUpToDate fails until then.
//
// The rubric keeps the last word where the policies are absolute: a
// critical it found in security, data loss, wrong prices or legal
// liability, or with everyone hit, stays critical, and no critical of the
// rubric falls below high. Every decision the model changes says so in the reasons, with the
// words that weighed most.

//go:embed model.bin.gz
var modelFile []byte

// modelBuckets is the number of hashed feature slots.
const modelBuckets = 1 << 18

// modelClasses are the levels the model ranks, in its output order: the
// default levels and change category. A desk with other levels uses the
// rubric alone.
var modelClasses = []helpdesk.Priority{helpdesk.Critical, helpdesk.High, helpdesk.Medium, helpdesk.Low, helpdesk.Change}

// modelMinWords and modelMargin keep the model to what it knows: it reads
// mails of 20 words or more (it learned from whole mails; a line or two
// is the rubric's, whose table tests are such lines), and changes the
// rubric's level when it gives its own level a higher probability than
// the rubric's by modelMargin. Both were chosen by leave-one-writer-out
// cross-validation on the development part: with three writers a margin
// of 0.3 served best; with sixteen the model is right more often than the
// rubric wherever the two differ (84.4% exact with no margin, 83.7% with
// 0.3; 85.1% if it also read mails of 10 to 19 words, which would leave
// the rubric's own one-line tests to the model).
const (
	modelMinWords = 20
	modelMargin   = 0
)

// modelCriticalAt and modelHighAt weigh the cost of ranking a critical
// too low: the model ranks a mail critical when it gives it at least
// modelCriticalAt of being critical, and at least high when it gives it
// modelHighAt of being critical or high. Chosen by leave-one-writer-out
// on the development part (sixteen writers): criticals ranked critical
// 95.7% -> 97.3%, at least high 98.1% -> 99.0%, exact unchanged (84.4%);
// confirmed with twenty-three (TestSweep: 96.5% and 98.6% against 95.7%
// and 98.4% without the rule, exact unchanged at 86.5%).
const (
	modelCriticalAt = 0.25
	modelHighAt     = 0.4
)

// modelMaxWords bounds how many words of a mail the model reads; the
// incident is told at the top.
const modelMaxWords = 400

// lrModel is a trained model: one weight per class and feature bucket,
// the classes of a bucket side by side (w[b*k+c], k classes), so that
// scoring a feature reads one cache line. The weights are kept as the
// file stores them, int16 steps of scale, which halves the memory of
// float32 (the three models hold 3.7 million weights).
type lrModel struct {
	k     int
	scale float32
	w     []int16
}

func newModel(k int) *lrModel { return &lrModel{k: k, scale: 1, w: make([]int16, k*modelBuckets)} }

// quantize returns the model of k classes whose weights w (w[b*k+c])
// are rounded to int16 steps of the largest weight's 32767th part.
func quantize(k int, w []float64) *lrModel {
	var maxW float64
	for _, v := range w {
		maxW = math.Max(maxW, math.Abs(v))
	}
	m := newModel(k)
	if maxW > 0 {
		m.scale = float32(maxW / 32767)
	}
	for j, v := range w {
		m.w[j] = int16(math.Round(v / float64(m.scale)))
	}
	return m
}

// at returns the weight of class c for bucket b.
func (m *lrModel) at(c int, b uint32) float32 { return float32(m.w[int(b)*m.k+c]) * m.scale }

var (
	loadModelOnce sync.Once
	theModel      *lrModel
	modelErr      error
)

// embeddedModel decodes the embedded weights once.
func embeddedModel() (*lrModel, error) {
	loadModelOnce.Do(func() { theModel, modelErr = decodeModel(modelFile) })
	return theModel, modelErr
}

// The file: gzip of "HDM1", the class count (uint8), the scale (float32),
// then per used bucket its index as a delta (uvarint) and one int16 per
// class, weight = int16 * scale.
const modelMagic = "HDM1"

func encodeModel(m *lrModel) ([]byte, error) {
	var raw bytes.Buffer
	raw.WriteString(modelMagic)
	raw.WriteByte(byte(m.k))
	binary.Write(&raw, binary.LittleEndian, m.scale)
	prev := 0
	var vb [binary.MaxVarintLen64]byte
	for b := 0; b < modelBuckets; b++ {
		q := m.w[b*m.k : b*m.k+m.k]
		if !slices.ContainsFunc(q, func(v int16) bool { return v != 0 }) {
			continue
		}
		raw.Write(vb[:binary.PutUvarint(vb[:], uint64(b-prev))])
		binary.Write(&raw, binary.LittleEndian, q)
		prev = b
	}
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func decodeModel(file []byte) (*lrModel, error) { return decodeModelOf(file, len(modelClasses)) }

// decodeModelOf decodes a model file of k classes (k 0: as many as the
// file has).
func decodeModelOf(file []byte, k int) (*lrModel, error) {
	zr, err := gzip.NewReader(bytes.NewReader(file))
	if err != nil {
		return nil, fmt.Errorf("triage model: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("triage model: %w", err)
	}
	if len(raw) < 9 || string(raw[:4]) != modelMagic || k > 0 && int(raw[4]) != k || raw[4] == 0 {
		return nil, errors.New("triage model: not a model file of this version")
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(raw[5:9]))
	k = int(raw[4])
	m := newModel(k)
	m.scale = scale
	r := bytes.NewReader(raw[9:])
	b := 0
	for r.Len() > 0 {
		d, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, fmt.Errorf("triage model: %w", err)
		}
		b += int(d)
		if b >= modelBuckets {
			return nil, errors.New("triage model: bucket out of range")
		}
		if err := binary.Read(r, binary.LittleEndian, m.w[b*m.k:b*m.k+m.k]); err != nil {
			return nil, fmt.Errorf("triage model: %w", err)
		}
	}
	return m, nil
}

// featureSink collects the features of one mail: their buckets, and
// their names when a reason needs them (named).
type featureSink struct {
	buckets []uint32
	names   []string
	named   bool
}

// fnv1a continues the FNV-1a hash h over s (start with fnvOffset).
func fnv1a(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

const fnvOffset = 2166136261

// fact adds the fact whose name is the parts joined.
func (s *featureSink) fact(parts ...string) {
	s.buckets = append(s.buckets, factHash(parts...)%modelBuckets)
	if s.named {
		s.names = append(s.names, strings.Join(parts, ""))
	}
}

// factHash is the hash of the fact whose name is the parts joined.
func factHash(parts ...string) uint32 {
	h := fnv1a(fnvOffset, "f:")
	for _, p := range parts {
		h = fnv1a(h, p)
	}
	return h
}

// word adds a word, and the pair it makes with the word before (prev, ""
// at the start of the subject and of the text; prevHash its hash). It
// returns the word's hash, for the next pair.
func (s *featureSink) word(prev string, prevHash uint32, w string) uint32 {
	h := fnv1a(wordOffset, w)
	s.buckets = append(s.buckets, h%modelBuckets)
	if s.named {
		s.names = append(s.names, w)
	}
	if prev == "" {
		return h
	}
	s.buckets = append(s.buckets, pairHash(prevHash, h)%modelBuckets)
	if s.named {
		s.names = append(s.names, prev+" "+w)
	}
	return h
}

// pairHash is the hash of the pair of words whose hashes are prev and h:
// no string is hashed twice.
func pairHash(prev, h uint32) uint32 { return ((prev^pairSeed)*16777619 ^ h) * 16777619 }

var (
	wordOffset = fnv1a(fnvOffset, "w:")
	pairSeed   = fnv1a(fnvOffset, "b:")
)

// modelFeatures adds what the rubric found (its levels, the claim, the
// policy, the facts behind the level and the phrases that matched) and the
// words of the mail.
func (t *Triage) modelFeatures(s *featureSink, an *analysis, ev *evidence, dec decision, out helpdesk.Assessment, policy string) {
	rule := string(dec.level)
	s.fact("bias")
	s.fact("rule=", rule)
	s.fact("claimed=", string(out.Claimed))
	s.fact("policy=", policy)
	s.fact("policy=", policy, "|rule=", rule)
	if out.ClaimAccepted {
		s.fact("claim-accepted")
		s.fact("final=", string(out.Priority))
	}
	// which of the rubric's phrases matched: the model learns how far
	// each one can be trusted
	for _, h := range an.hits {
		if !h.negated && h.pat != nil {
			// the hash was taken when the phrase was compiled: a phrase's
			// source can be hundreds of bytes
			s.buckets = append(s.buckets, h.pat.modelHash%modelBuckets)
			if s.named {
				s.names = append(s.names, "phrase:"+h.pat.src)
			}
		}
	}
	_, counted := partialCount(&an.d)
	for _, f := range [...]struct {
		name string
		on   bool
	}{
		{"wide", len(ev.wide) > 0}, {"narrow", len(ev.narrow) > 0}, {"single", len(ev.single) > 0},
		{"counted", counted}, {"workaround", len(ev.workaround) > 0}, {"no-workaround", len(ev.noWorkaround) > 0},
		{"intermittent", len(ev.intermittent) > 0}, {"degraded", dec.degraded}, {"question", len(ev.question) > 0},
		{"change-words", len(ev.change) > 0}, {"unscoped", dec.unscoped}, {"raised", dec.raised},
		{"any-critical", len(ev.byRank) > 0 && len(ev.byRank[0]) > 0}, {"any-high", len(ev.byRank) > 1 && len(ev.byRank[1]) > 0},
	} {
		if f.on {
			s.fact(f.name)
			s.fact(f.name, "|rule=", rule)
			s.fact(f.name, "|policy=", policy)
		}
	}
	s.mailWords(an)
}

// mailWords adds the words and word pairs of the mail's subject and
// text, hashed once per mail for both learned models.
func (s *featureSink) mailWords(an *analysis) {
	if s.named {
		s.words(an.subjectLower, an.textLower)
		return
	}
	an.hashWords()
	s.buckets = append(s.buckets, an.wordBuckets...)
}

// hashWords hashes the words and pairs of the subject and the text once
// per mail (wordBuckets), and keeps where each word of the text starts
// and its hash (textWords), for the sentence detector.
func (an *analysis) hashWords() {
	if an.wordBuckets != nil {
		return
	}
	w := featureSink{buckets: getBuckets()}
	n := w.wordsOf(an.subjectLower, 0, nil)
	an.textWords = getWordsAt()
	n = w.wordsOf(an.textLower, n, &an.textWords)
	an.textWordsAll = n < modelMaxWords
	an.wordBuckets = w.buckets
}

// wordAt is a word of a mail's text as hashWords hashed it: where it
// starts and its hash.
type wordAt struct {
	off int32
	h   uint32
}

// wordsAtPool keeps the textWords buffers between mails.
var wordsAtPool = sync.Pool{New: func() any { b := make([]wordAt, 0, modelMaxWords); return &b }}

// getWordsAt returns an empty textWords buffer.
func getWordsAt() []wordAt { return (*wordsAtPool.Get().(*[]wordAt))[:0] }

// sentenceWords adds the words and pairs of the text's bytes a to b (a
// sentence), from textWords, as words(lower[a:b]) would, and reports
// whether it could: not when the mail's words stopped at modelMaxWords
// before the sentence's end.
func (an *analysis) sentenceWords(s *featureSink, a, b int) bool {
	ws := an.textWords
	if !an.textWordsAll && (len(ws) == 0 || b > int(ws[len(ws)-1].off)) {
		return false
	}
	k, _ := slices.BinarySearchFunc(ws, a, func(w wordAt, a int) int { return cmp.Compare(int(w.off), a) })
	var prev uint32
	for n := 0; k < len(ws) && int(ws[k].off) < b && n < modelMaxWords; k, n = k+1, n+1 {
		h := ws[k].h
		s.buckets = append(s.buckets, h%modelBuckets)
		if n > 0 {
			s.buckets = append(s.buckets, pairHash(prev, h)%modelBuckets)
		}
		prev = h
	}
	return true
}

// bucketPool keeps the feature buffers of the learned models between
// mails: a mail's features are built, scored and dropped.
var bucketPool = sync.Pool{New: func() any { b := make([]uint32, 0, 2*modelMaxWords+256); return &b }}

// getBuckets returns an empty feature buffer.
func getBuckets() []uint32 { return (*bucketPool.Get().(*[]uint32))[:0] }

// putBuckets hands a feature buffer back; nothing may use it afterwards.
func putBuckets(b []uint32) {
	if b != nil {
		bucketPool.Put(&b)
	}
}

// words adds the words and word pairs of the texts, at most modelMaxWords
// words in all, each text's pairs starting afresh.
func (s *featureSink) words(texts ...string) {
	n := 0
	for _, text := range texts {
		n = s.wordsOf(text, n, nil)
	}
}

// wordsOf adds the words and word pairs of text, counting on from n words
// up to modelMaxWords, and returns the count; with at, it also records
// where each word starts and its hash.
func (s *featureSink) wordsOf(text string, n int, at *[]wordAt) int {
	prev, prevHash := "", uint32(0)
	for i := 0; i < len(text) && n < modelMaxWords; {
		if !isModelLetter(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && (isModelLetter(text[j]) || text[j] == '\'') {
			j++
		}
		w := text[i:j]
		n++
		prevHash = s.word(prev, prevHash, w)
		if at != nil {
			*at = append(*at, wordAt{int32(i), prevHash})
		}
		prev = w
		i = j
	}
	return n
}

// isModelLetter reports whether c belongs to a word: an ASCII letter or a
// byte of a multi-byte character.
func isModelLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

// seenPool keeps the bit sets scores marks buckets in.
var seenPool = sync.Pool{New: func() any { return new([modelBuckets / 64]uint64) }}

// scores returns the model's score of each class; a bucket counts once
// however often its features occur.
func (m *lrModel) scores(buckets []uint32) []float64 {
	seen := seenPool.Get().(*[modelBuckets / 64]uint64)
	s := m.scoresInto(make([]float64, m.k), buckets, seen)
	seenPool.Put(seen)
	return s
}

// scoresInto is scores writing into s (of m.k classes), with seen a
// cleared bit set, which it leaves cleared.
func (m *lrModel) scoresInto(s []float64, buckets []uint32, seen *[modelBuckets / 64]uint64) []float64 {
	clear(s)
	for _, b := range buckets {
		if seen[b/64]&(1<<(b%64)) != 0 {
			continue
		}
		seen[b/64] |= 1 << (b % 64)
		ws := m.w[int(b)*m.k : int(b)*m.k+m.k]
		for c, v := range ws {
			s[c] += float64(v)
		}
	}
	for _, b := range buckets {
		seen[b/64] = 0
	}
	for c := range s {
		s[c] *= float64(m.scale)
	}
	return s
}

// softmax returns the probability the scores s give class c.
func softmax(s []float64, c int) float64 {
	mx := slices.Max(s)
	z := 0.0
	for _, v := range s {
		z += math.Exp(v - mx)
	}
	return math.Exp(s[c]-mx) / z
}

// why names the words that weighed most for class c over class r; s
// holds the names.
func (m *lrModel) why(s *featureSink, c, r int, n int) []string {
	type contrib struct {
		name string
		v    float32
	}
	var cs []contrib
	seen := map[uint32]bool{}
	for i, b := range s.buckets {
		if seen[b] || !telling(s.names[i]) {
			continue
		}
		seen[b] = true
		if v := m.at(c, b) - m.at(r, b); v > 0 {
			cs = append(cs, contrib{s.names[i], v})
		}
	}
	slices.SortStableFunc(cs, func(a, b contrib) int {
		switch {
		case a.v > b.v:
			return -1
		case a.v < b.v:
			return 1
		}
		return 0
	})
	var out []string
	for _, x := range cs[:min(n, len(cs))] {
		out = append(out, strconv.Quote(x.name))
	}
	return out
}

// telling reports whether a feature's name says something to a reader:
// a word or word pair with a word of four letters or more that is no
// filler. The rubric's facts are told by its own reasons.
func telling(name string) bool {
	if strings.ContainsAny(name, ":=|") || name == "bias" {
		return false
	}
	for _, w := range strings.Fields(name) {
		if len(w) >= 4 && !fillerWord[w] {
			return true
		}
	}
	return false
}

// fillerWord are words of four letters or more that tell nothing.
var fillerWord = map[string]bool{
	"this": true, "that": true, "with": true, "have": true, "from": true, "they": true, "there": true, "their": true,
	"what": true, "when": true, "were": true, "been": true, "will": true, "would": true, "could": true, "should": true,
	"your": true, "some": true, "just": true, "also": true, "then": true, "than": true, "into": true, "only": true,
	"about": true, "which": true, "these": true, "those": true, "because": true, "please": true, "thanks": true,
	"thank": true, "hello": true, "regards": true, "kind": true, "best": true, "dear": true, "team": true,
}

// applyModel lets the model name the level of out, within the rubric's
// bounds, and says why when it changes it.
func (t *Triage) applyModel(an *analysis, ev *evidence, dec decision, out *helpdesk.Assessment, policy string) {
	m := t.model
	if !t.useModel || m == nil {
		return
	}
	if len(an.d.toks) < t.modelMinWords {
		return // a line or two: the rubric reads it better than a model trained on whole mails
	}
	fs := featureSink{buckets: getBuckets()}
	t.modelFeatures(&fs, an, ev, dec, *out, policy)
	s := m.scores(fs.buckets)
	putBuckets(fs.buckets)
	best := 0
	for c := range s {
		if s[c] > s[best] {
			best = c
		}
	}
	// Ranking a critical low costs far more than ranking a high
	// critical: a mail the model gives one chance in four of being
	// critical is ranked critical, and one it gives 40% of being
	// critical or high is at least high.
	switch p0 := softmax(s, 0); {
	case p0 >= t.modelCriticalAt:
		best = 0
	case best > 1 && p0+softmax(s, 1) >= t.modelHighAt:
		best = 1
	}
	got := modelClasses[best]
	ruleIdx := slices.Index(modelClasses, out.Priority)
	switch {
	case got == out.Priority || ruleIdx < 0:
		return
	case best > 1 && softmax(s, best)-softmax(s, ruleIdx) < t.modelMargin:
		return // the model is not surer than the rubric by the margin
	case out.Priority == helpdesk.Critical && (dec.unscoped || len(ev.wide) > 0 && !dec.raised):
		// security, data, prices, legal: critical whatever the words; and
		// a critical failure that hits everyone is what every policy's
		// first level describes. A failure the rubric ranked high and
		// raised for its scope is the model's to weigh: whether the
		// function is core enough to make it critical is what writers
		// disagree on most (high read as critical was the largest error
		// on writers the model had not seen).
		return
	case out.Priority == helpdesk.Critical && got != helpdesk.High:
		got, best = helpdesk.High, 1 // a critical of the rubric stays at least high
		if got == out.Priority {
			return
		}
	}
	named := featureSink{named: true}
	t.modelFeatures(&named, an, ev, dec, *out, policy)
	words := m.why(&named, best, ruleIdx, 3)
	reason := fmt.Sprintf("%s: the learned model, over the rubric's %s", got, out.Priority)
	if len(words) > 0 {
		reason += " (" + strings.Join(words, ", ") + ")"
	}
	out.Priority = got
	out.ClaimAccepted = out.Claimed != "" && out.Claimed == got
	out.Reasons = append([]string{reason}, out.Reasons...)
}
