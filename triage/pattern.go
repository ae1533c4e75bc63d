package triage

import (
	"fmt"
	"strings"
)

// A phrase is written in a small pattern language over normalised words
// (lower case, contractions expanded: write "cannot", "is not"):
//
//	checkout is down        the words in this order
//	crash*                  a word starting with "crash" (at least 3 letters before *)
//	site * down             up to maxGap words in between ("site is completely down")
//	(site|web shop|store)   one of the alternatives, each one or more words
//	(the|our)?              an optional group
//	# of our users          # is any number ("15 of our users")
//
// A phrase never spans two sentences. Matching is by whole words, so
// "down" does not match "download".

// maxGap is how many words a * gap may skip.
const maxGap = 3

// wordm matches one token.
type wordm struct {
	w      string
	prefix bool // w is a prefix of the token
	number bool // any token of digits
}

func (m wordm) match(w string) bool {
	switch {
	case m.number:
		return w != "" && strings.Trim(w, "0123456789") == ""
	case m.prefix:
		return strings.HasPrefix(w, m.w)
	}
	return w == m.w
}

// elem is one position of a pattern: a gap, or a choice between
// sequences of words.
type elem struct {
	gap  bool
	opt  bool
	alts [][]wordm
}

// pattern is one compiled phrase.
type pattern struct {
	src      string
	elems    []elem
	unscoped bool // a narrow scope does not lower this phrase's level
	order    int  // position in the matcher
}

// compilePattern parses one phrase.
func compilePattern(src string) (*pattern, error) {
	p := &pattern{src: src}
	s := strings.ToLower(strings.TrimSpace(src))
	if s == "" {
		return nil, fmt.Errorf("empty phrase")
	}
	for s != "" {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		switch {
		case s[0] == '(':
			end := strings.IndexByte(s, ')')
			if end < 0 {
				return nil, fmt.Errorf("phrase %q: unclosed (", src)
			}
			e := elem{}
			if strings.Contains(s[1:end], "(") || strings.Contains(" "+s[1:end]+" ", " * ") {
				return nil, fmt.Errorf("phrase %q: no groups or gaps inside a group", src)
			}
			for _, alt := range strings.Split(s[1:end], "|") {
				words, err := compileWords(alt)
				if err != nil {
					return nil, fmt.Errorf("phrase %q: %w", src, err)
				}
				if len(words) == 0 {
					return nil, fmt.Errorf("phrase %q: empty alternative", src)
				}
				e.alts = append(e.alts, words)
			}
			s = s[end+1:]
			if strings.HasPrefix(s, "?") {
				e.opt = true
				s = s[1:]
			}
			p.elems = append(p.elems, e)
		case s[0] == '*' && (len(s) == 1 || s[1] == ' '):
			p.elems = append(p.elems, elem{gap: true})
			s = s[1:]
		default:
			// A run of plain words, up to the next group or gap.
			end := len(s)
			if k := strings.IndexByte(s, '('); k >= 0 {
				end = k
			}
			for k := 1; k < end; k++ {
				if s[k] == '*' && s[k-1] == ' ' && (k+1 == len(s) || s[k+1] == ' ') {
					end = k
					break
				}
			}
			words, err := compileWords(s[:end])
			if err != nil {
				return nil, fmt.Errorf("phrase %q: %w", src, err)
			}
			if len(words) > 0 {
				p.elems = append(p.elems, elem{alts: [][]wordm{words}})
			}
			s = s[end:]
		}
	}
	if len(p.elems) == 0 {
		return nil, fmt.Errorf("phrase %q: no words", src)
	}
	if first := p.elems[0]; first.gap || first.opt {
		return nil, fmt.Errorf("phrase %q: must start with a word", src)
	}
	if last := p.elems[len(p.elems)-1]; last.gap {
		return nil, fmt.Errorf("phrase %q: must end with a word", src)
	}
	return p, nil
}

// compileWords parses a space-separated sequence of words, normalising
// it the way the tokenizer normalises mail text.
func compileWords(s string) ([]wordm, error) {
	var b strings.Builder
	prefixEnds := map[int]bool{}
	numberAt := map[int]bool{}
	for i, f := range strings.Fields(s) {
		if f == "#" {
			if i > 0 {
				b.WriteByte(' ')
			}
			numberAt[b.Len()] = true
			b.WriteString("0")
			continue
		}
		prefix := strings.HasSuffix(f, "*")
		f = strings.TrimSuffix(f, "*")
		if strings.ContainsAny(f, "*()|?#") {
			return nil, fmt.Errorf("bad word %q", f)
		}
		if prefix && len(f) < 3 {
			return nil, fmt.Errorf("prefix %q* is shorter than 3 letters", f)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
		if prefix {
			prefixEnds[b.Len()] = true
		}
	}
	d := tokenize(b.String())
	if len(d.toks) == 0 {
		return nil, nil
	}
	if d.toks[0].clause != d.toks[len(d.toks)-1].clause {
		return nil, fmt.Errorf("%q spans two sentences", s)
	}
	out := make([]wordm, len(d.toks))
	for i, t := range d.toks {
		out[i] = wordm{w: t.w, prefix: prefixEnds[t.end] && (i == len(d.toks)-1 || d.toks[i+1].start != t.start), number: numberAt[t.start]}
	}
	return out, nil
}

// keys returns the index keys of the pattern's first words.
func (p *pattern) keys() []string {
	var ks []string
	for _, alt := range p.elems[0].alts {
		if alt[0].number {
			for _, d := range "0123456789" {
				ks = append(ks, string(d))
			}
			continue
		}
		ks = append(ks, indexKey(alt[0].w))
	}
	return ks
}

// indexKey is the key a word is indexed under: its first three bytes, or
// its first digit for a number.
func indexKey(w string) string {
	if w != "" && w[0] >= '0' && w[0] <= '9' && strings.Trim(w, "0123456789") == "" {
		return w[:1]
	}
	if len(w) > 3 {
		return w[:3]
	}
	return w
}

// matchAt tries to match p at token i. It returns the end (exclusive) and
// appends the indexes of tokens matched by gaps to gaps.
func (p *pattern) matchAt(toks []token, i int, gaps []int) (int, []int, bool) {
	return matchElems(p.elems, toks, i, toks[i].clause, gaps)
}

func matchElems(elems []elem, toks []token, i, clause int, gaps []int) (int, []int, bool) {
	if len(elems) == 0 {
		return i, gaps, true
	}
	e := elems[0]
	if e.gap {
		for n := 0; n <= maxGap; n++ {
			if n > 0 && (i+n-1 >= len(toks) || toks[i+n-1].clause != clause) {
				break
			}
			g := gaps
			for k := 0; k < n; k++ {
				g = append(g, i+k)
			}
			if end, g2, ok := matchElems(elems[1:], toks, i+n, clause, g); ok {
				return end, g2, true
			}
		}
		return 0, gaps, false
	}
	for _, alt := range e.alts {
		if j, ok := matchWords(alt, toks, i, clause); ok {
			if end, g, ok := matchElems(elems[1:], toks, j, clause, gaps); ok {
				return end, g, true
			}
		}
	}
	if e.opt {
		return matchElems(elems[1:], toks, i, clause, gaps)
	}
	return 0, gaps, false
}

func matchWords(ws []wordm, toks []token, i, clause int) (int, bool) {
	for _, w := range ws {
		if i >= len(toks) || toks[i].clause != clause || !w.match(toks[i].w) {
			return 0, false
		}
		i++
	}
	return i, true
}

// matcher finds the phrases of several lists in a doc at once.
type matcher struct {
	pats  []*pattern
	kind  []int // list each pattern belongs to
	index map[string][]int
}

func (m *matcher) add(kind int, phrases []string) error {
	if m.index == nil {
		m.index = make(map[string][]int)
	}
	var errs []string
	for _, ph := range phrases {
		p, err := compilePattern(ph)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		n := len(m.pats)
		p.order = n
		m.pats = append(m.pats, p)
		m.kind = append(m.kind, kind)
		seen := map[string]bool{}
		for _, k := range p.keys() {
			if !seen[k] {
				seen[k] = true
				m.index[k] = append(m.index[k], n)
			}
		}
	}
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// hit is one phrase found in a doc.
type hit struct {
	kind       int
	pat        *pattern
	start, end int   // token range
	gaps       []int // tokens matched by gaps
	negated    bool
}

// find returns every match of every pattern, in text order.
func (m *matcher) find(d *doc) []hit {
	var hits []hit
	var gaps []int
	for i := range d.toks {
		for _, n := range m.index[indexKey(d.toks[i].w)] {
			p := m.pats[n]
			end, g, ok := p.matchAt(d.toks, i, gaps[:0])
			gaps = g
			if !ok {
				continue
			}
			h := hit{kind: m.kind[n], pat: p, start: i, end: end}
			if len(g) > 0 {
				h.gaps = append([]int(nil), g...)
			}
			hits = append(hits, h)
		}
	}
	return hits
}

// negate marks the hits a negation cancels: a negation word in the same
// phrase shortly before the hit, or inside one of its gaps. A negation
// word that is itself part of another phrase ("not" in "is not responding
// for any visitor") negates nothing else.
func negate(d *doc, hits []hit, negAt []bool) {
	used := make([]bool, len(negAt))
	for _, h := range hits {
		for k := h.start; k < h.end; k++ {
			used[k] = negAt[k]
		}
		for _, g := range h.gaps {
			used[g] = false
		}
	}
	eff := make([]bool, len(negAt))
	for k := range negAt {
		eff[k] = negAt[k] && !used[k]
	}
	for i := range hits {
		hits[i].negated = negatedAt(d, eff, hits[i].start, hits[i].gaps)
	}
}

// negWindow is how many words before a match a negation reaches.
const negWindow = 3

func negatedAt(d *doc, negAt []bool, start int, gaps []int) bool {
	for _, g := range gaps {
		if negAt[g] {
			return true
		}
	}
	ph := d.toks[start].phrase
	for k := start - 1; k >= 0 && k >= start-negWindow; k-- {
		if d.toks[k].phrase != ph {
			break
		}
		if negAt[k] {
			return true
		}
	}
	return false
}
