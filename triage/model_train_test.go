package triage

import (
	"math"
	"slices"

	"github.com/helpdeskd/helpdesk"
)

// modelExample is one labelled mail as the model sees it.
type modelExample struct {
	buckets []uint32
	want    []float64 // per class of modelClasses, the share of the labellers who chose it
}

// modelExampleOf turns a mail and its label into an example: the rubric's
// facts and the words, exactly as Assess computes them.
func (t *Triage) modelExampleOf(in Input, labels ...helpdesk.Priority) modelExample {
	in = limit(in)
	an := t.analyse(in)
	out, ev, dec := t.rubric(in, an)
	var fs featureSink
	t.modelFeatures(&fs, an, &ev, dec, out, in.Policy)
	an.release()
	want := make([]float64, len(modelClasses))
	for _, label := range labels {
		class := 2
		for c, p := range modelClasses {
			if p == label {
				class = c
			}
		}
		want[class] += 1 / float64(len(labels))
	}
	return modelExample{buckets: fs.buckets, want: want}
}

// The training settings: found by leave-one-writer-out cross-validation
// on the development part (TestModelHeldOutWriters), never on the test
// part or a blind set.
const (
	modelEpochs = 20
	modelL2     = 1e-4
	modelRate   = 0.1
)

// trainModel fits the weights by AdaGrad on the softmax loss with L2, in a
// fixed order, so that the same examples give the same model.
func trainModel(data []modelExample) *lrModel {
	k := len(modelClasses)
	w := make([][]float64, k)
	g := make([][]float64, k)
	for c := range w {
		w[c] = make([]float64, modelBuckets)
		g[c] = make([]float64, modelBuckets)
	}
	uniq := make([][]uint32, len(data))
	for i, d := range data {
		uniq[i] = uniqueBuckets(d.buckets)
	}
	p := make([]float64, k)
	for e := 0; e < modelEpochs && len(data) > 0; e++ {
		for n := range data {
			i := (n*7919 + e*31) % len(data)
			mx := math.Inf(-1)
			for c := 0; c < k; c++ {
				p[c] = 0
				for _, b := range uniq[i] {
					p[c] += w[c][b]
				}
				mx = math.Max(mx, p[c])
			}
			z := 0.0
			for c := range p {
				p[c] = math.Exp(p[c] - mx)
				z += p[c]
			}
			for c := range p {
				grad := p[c]/z - data[i].want[c]
				for _, b := range uniq[i] {
					gg := grad + modelL2*w[c][b]
					g[c][b] += gg * gg
					w[c][b] -= modelRate * gg / math.Sqrt(g[c][b]+1e-8)
				}
			}
		}
	}
	flat := make([]float64, k*modelBuckets)
	for c := range w {
		for b, v := range w[c] {
			flat[b*k+c] = v
		}
	}
	return quantize(k, flat)
}

// fieldExample is one labelled mail as the field detector sees it: its
// features, and which of learnedFields it gives.
type fieldExample struct {
	buckets []uint32
	want    []float64 // per field, the share of the labellers who say the mail gives it
}

// fieldExampleOf turns a mail and the fields its label names into an
// example, with the extractors' findings as Assess computes them before
// the detector.
func (t *Triage) fieldExampleOf(in Input, labels [][]string) fieldExample {
	buckets, _, _ := t.fieldFeaturesOf(in) // t has no field model: the extractors alone
	return fieldExample{buckets: buckets, want: shareOf(learnedFields, labels)}
}

// shareOf returns, for each name, the share of the labels (each a list
// of the fields one labeller names) that name it.
func shareOf(names []string, labels [][]string) []float64 {
	out := make([]float64, len(names))
	for c, name := range names {
		for _, fields := range labels {
			if slices.Contains(fields, name) {
				out[c]++
			}
		}
		out[c] /= float64(max(1, len(labels)))
	}
	return out
}

// fieldFeaturesOf returns what the field detector reads of a mail, the
// fields the extractors found and the fields it has labelled lines for.
func (t *Triage) fieldFeaturesOf(in Input) (buckets []uint32, f helpdesk.Fields, stated map[string]bool) {
	in = limit(in)
	an := t.analyse(in)
	f = t.fields(in, an)
	var fs featureSink // its own buffer: the mail's pooled words go back below
	fieldFeatures(&fs, an, &f, in.Policy)
	stated = an.stated
	an.release()
	return fs.buckets, f, stated
}

// trainFieldModel fits one logistic regression per learned field by
// AdaGrad with L2, in a fixed order, with the level model's settings.
func trainFieldModel(data []fieldExample) *lrModel {
	k := len(learnedFields)
	w := make([]float64, k*modelBuckets)
	g := make([]float64, k*modelBuckets)
	uniq := make([][]uint32, len(data))
	for i, d := range data {
		uniq[i] = uniqueBuckets(d.buckets)
	}
	for e := 0; e < modelEpochs && len(data) > 0; e++ {
		for n := range data {
			i := (n*7919 + e*31) % len(data)
			for c := 0; c < k; c++ {
				s := 0.0
				for _, b := range uniq[i] {
					s += w[int(b)*k+c]
				}
				grad := 1/(1+math.Exp(-s)) - data[i].want[c]
				for _, b := range uniq[i] {
					j := int(b)*k + c
					gg := grad + modelL2*w[j]
					g[j] += gg * gg
					w[j] -= modelRate * gg / math.Sqrt(g[j]+1e-8)
				}
			}
		}
	}
	return quantize(k, w)
}

// sentenceExample is one labelled mail as the sentence detector sees it:
// each sentence's features, the fields each may give (sentenceMayHold),
// and which of sentenceFields the mail gives.
type sentenceExample struct {
	sentences [][]uint32
	mayHold   [][]bool
	want      []float64 // per field, the share of the labellers who say the mail gives it
}

// sentenceExampleOf turns a mail and the fields its label names into an
// example, its sentences read as Assess reads them.
func (t *Triage) sentenceExampleOf(in Input, labels [][]string) sentenceExample {
	in = limit(in)
	an := t.analyse(in)
	var ex sentenceExample
	an.eachSentence(func(sentence, lower string, at int) {
		var fs featureSink
		an.sentenceFeatures(&fs, sentence, lower, at) // an has no word hashes: each sentence hashed afresh
		ex.sentences = append(ex.sentences, uniqueBuckets(fs.buckets))
		may := make([]bool, len(sentenceFields))
		for c := range may {
			may[c] = sentenceMayHold(c, sentence)
		}
		ex.mayHold = append(ex.mayHold, may)
	})
	an.release()
	ex.want = shareOf(sentenceFields, labels)
	return ex
}

// uniqueBuckets returns the buckets once each, in order of first use.
func uniqueBuckets(buckets []uint32) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, b := range buckets {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// sentenceEpochs is how many passes the sentence detector's training makes
// (leave-one-writer-out: 5, 10 and 20 score alike; 10 a little best).
const sentenceEpochs = 10

// trainSentenceModel fits one logistic regression per field of
// sentenceFields as
// multiple instances: a mail's score is its best sentence's, so each step
// of AdaGrad (with L2, the level model's settings) moves the weights of
// that sentence alone, towards the mail's label.
func trainSentenceModel(data []sentenceExample) *lrModel {
	k := len(sentenceFields)
	w := make([]float64, k*modelBuckets)
	g := make([]float64, k*modelBuckets)
	for e := 0; e < sentenceEpochs && len(data) > 0; e++ {
		for n := range data {
			d := &data[(n*7919+e*31)%len(data)]
			for c := 0; c < k; c++ {
				best, at := math.Inf(-1), -1
				for i, sentence := range d.sentences {
					if !d.mayHold[i][c] {
						continue
					}
					s := 0.0
					for _, b := range sentence {
						s += w[int(b)*k+c]
					}
					if s > best {
						best, at = s, i
					}
				}
				if at < 0 {
					continue
				}
				grad := 1/(1+math.Exp(-best)) - d.want[c]
				for _, b := range d.sentences[at] {
					j := int(b)*k + c
					gg := grad + modelL2*w[j]
					g[j] += gg * gg
					w[j] -= modelRate * gg / math.Sqrt(g[j]+1e-8)
				}
			}
		}
	}
	return quantize(k, w)
}
