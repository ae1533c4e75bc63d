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
// A word of four letters or more also matches its plural: "problem"
// matches "problems", "entry" matches "entries".
//
// A phrase never spans two sentences. Matching is by whole words, so
// "down" does not match "download".

// maxGap is how many words a * gap may skip.
const maxGap = 4

// wordm matches one token.
type wordm struct {
	w      string
	id     int32 // w's number in the vocabulary, for exact words
	plural int32 // the number of w's plural, or -1
	prefix bool  // w is a prefix of the token
	number bool  // any token of digits
}

func (m *wordm) match(t *token) bool {
	switch {
	case m.number:
		return isNumber(t.w)
	case m.prefix:
		return strings.HasPrefix(t.w, m.w)
	}
	return t.id == m.id || t.id == m.plural && t.id >= 0
}

// plural returns the plural of an English noun of four letters or more,
// or "" for shorter words and words that already end in s.
func plural(w string) string {
	n := len(w)
	switch {
	case n < 4 || strings.HasSuffix(w, "s") || isNumber(w):
		return ""
	case strings.HasSuffix(w, "y") && !strings.ContainsRune("aeiou", rune(w[n-2])):
		return w[:n-1] + "ies"
	case strings.HasSuffix(w, "x") || strings.HasSuffix(w, "ch") || strings.HasSuffix(w, "sh"):
		return w + "es"
	}
	return w + "s"
}

// isNumber reports whether w is a run of ASCII digits.
func isNumber(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// elem is one position of a pattern: a gap, or a choice between
// sequences of words.
type elem struct {
	gap  bool
	opt  bool
	alts [][]wordm
	// what the first word of an alternative can be, to reject a token
	// without trying every alternative
	startIDs []int32
	prefixes []string
	number   bool
	// set by build: startIDs as a set over the vocabulary, and the first
	// word of each alternative, to skip the alternatives a token cannot
	// start without trying them
	startSet []uint64
	first    []altStart
}

// altStart is what the first word of an alternative can be: a word
// (id) or its plural, or, when other, a prefix or a number.
type altStart struct {
	id, plural int32
	other      bool
}

// mayStartAlt reports whether alternative k of e can start with a token
// of vocabulary number id. It is only a quick test: it passes every
// alternative whose first word is a prefix or a number.
func (e *elem) mayStartAlt(k int, id int32) bool {
	a := &e.first[k]
	return a.other || id >= 0 && (id == a.id || id == a.plural)
}

// setStarts fills startSet and first from startIDs and the alternatives;
// n is the vocabulary size.
func (e *elem) setStarts(n int) {
	if e.gap {
		return
	}
	e.startSet = make([]uint64, (n+63)/64)
	for _, id := range e.startIDs {
		e.startSet[id>>6] |= 1 << (id & 63)
	}
	e.first = make([]altStart, len(e.alts))
	for k, alt := range e.alts {
		w := alt[0]
		e.first[k] = altStart{id: w.id, plural: w.plural, other: w.prefix || w.number}
	}
}

// index fills e's first-word sets; the words must have their ids.
func (e *elem) index() {
	e.startIDs, e.prefixes, e.number = nil, nil, false
	for _, alt := range e.alts {
		switch w := alt[0]; {
		case w.number:
			e.number = true
		case w.prefix:
			e.prefixes = append(e.prefixes, w.w)
		default:
			e.startIDs = append(e.startIDs, w.id)
			if w.plural >= 0 {
				e.startIDs = append(e.startIDs, w.plural)
			}
		}
	}
}

// mayStart reports whether an alternative of e can start with t.
func (e *elem) mayStart(t *token) bool {
	if t.id >= 0 && int(t.id>>6) < len(e.startSet) && e.startSet[t.id>>6]&(1<<(t.id&63)) != 0 {
		return true
	}
	for _, p := range e.prefixes {
		if strings.HasPrefix(t.w, p) {
			return true
		}
	}
	return e.number && isNumber(t.w)
}

// pattern is one compiled phrase.
type pattern struct {
	src      string
	elems    []elem
	unscoped bool // a narrow scope does not lower this phrase's level
	question bool // the phrase says what kind of mail this is (a question), not how bad a failure is
	contrast bool // a scope phrase saying the others are fine: the mail is about a part
	degraded bool // the phrase says the service works, but slowly or late
	order    int  // position in the matcher
	// need lists, for the words after the first, sets of vocabulary
	// numbers of which the doc must hold at least one each for p to
	// match anywhere in it; filled by intern (see possible)
	need [][]int32
	// modelHash is the hash of the model's feature for this phrase
	// ("phrase:" and its source), computed once (model.go)
	modelHash uint32
}

// compilePattern parses one phrase.
func compilePattern(src string) (*pattern, error) {
	p := &pattern{src: src, modelHash: factHash("phrase:", src)}
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
		out[i] = wordm{w: t.w, prefix: prefixEnds[int(t.end)] && (i == len(d.toks)-1 || d.toks[i+1].start != t.start), number: numberAt[int(t.start)]}
	}
	return out, nil
}

// matchAt tries to match p at token i. It returns the end (exclusive) and
// appends the indexes of tokens matched by gaps to gaps.
func (p *pattern) matchAt(toks []token, i int, gaps []int) (int, []int, bool) {
	return matchElems(p.elems, toks, i, toks[i].clause, gaps)
}

func matchElems(elems []elem, toks []token, i int, clause int32, gaps []int) (int, []int, bool) {
	if len(elems) == 0 {
		return i, gaps, true
	}
	e := &elems[0]
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
	if i < len(toks) && e.mayStart(&toks[i]) {
		id := toks[i].id
		for k, alt := range e.alts {
			if !e.mayStartAlt(k, id) {
				continue
			}
			j, ok := matchWords(alt, toks, i, clause)
			if !ok {
				continue
			}
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

func matchWords(ws []wordm, toks []token, i int, clause int32) (int, bool) {
	for k := range ws {
		if i >= len(toks) || toks[i].clause != clause || !ws[k].match(&toks[i]) {
			return 0, false
		}
		i++
	}
	return i, true
}

// vocab numbers the words of the phrase lists, so that matching compares
// integers. A word of a mail that no phrase uses gets -1.
type vocab map[string]int32

func (v vocab) intern(w string) int32 {
	id, ok := v[w]
	if !ok {
		id = int32(len(v))
		v[w] = id
	}
	return id
}

// ids sets the vocabulary number of every token of d, and the set of
// the numbers d holds.
func (v vocab) ids(d *doc) {
	d.present = make([]uint64, (len(v)+63)/64)
	for i := range d.toks {
		if id, ok := v[d.toks[i].w]; ok {
			d.toks[i].id = id
			d.present[id>>6] |= 1 << (id & 63)
		} else {
			d.toks[i].id = -1
		}
	}
}

// setNeed fills p.need from its words, which must have their ids: for
// each word after the first that every match contains, the word and its
// plural; for each later choice whose alternatives all start with a
// plain word, those first words.
func (p *pattern) setNeed() {
	p.need = p.need[:0]
	for i := range p.elems {
		e := &p.elems[i]
		if e.gap || e.opt {
			continue
		}
		if len(e.alts) == 1 {
			for k, w := range e.alts[0] {
				if (i > 0 || k > 0) && !w.prefix && !w.number {
					p.need = append(p.need, idAndPlural(w))
				}
			}
			continue
		}
		if i == 0 {
			continue
		}
		var set []int32
		for _, alt := range e.alts {
			if alt[0].prefix || alt[0].number {
				set = nil
				break
			}
			set = append(set, idAndPlural(alt[0])...)
		}
		if set != nil {
			p.need = append(p.need, set)
		}
	}
}

// idAndPlural returns the vocabulary numbers of w and of its plural.
func idAndPlural(w wordm) []int32 {
	if w.plural >= 0 {
		return []int32{w.id, w.plural}
	}
	return []int32{w.id}
}

// possible reports whether d holds, for each of p's needed sets, one of
// its words: a quick test that rules p out of most mails before it is
// tried at any token. A doc without the set of its words passes.
func (p *pattern) possible(d *doc) bool {
	if d.present == nil {
		return true
	}
next:
	for _, set := range p.need {
		for _, id := range set {
			if d.present[id>>6]&(1<<(id&63)) != 0 {
				continue next
			}
		}
		return false
	}
	return true
}

// matcher finds the phrases of several lists in a doc at once. After the
// lists are added, intern numbers their words and build indexes them by
// their first word.
type matcher struct {
	pats     []*pattern
	kind     []int   // list each pattern belongs to
	byID     [][]int // patterns by the id of a first word
	byPrefix map[string][]int
	byNumber []int
	// What candidates returns for a token of each vocabulary word,
	// computed once by build: the patterns of word id are
	// cands[candAt[id]:candAt[id+1]]. prefixKeys are byPrefix's keys.
	candAt     []int32
	cands      []int32
	prefixKeys []string
	// prefixFirst holds the first bytes of prefixKeys; numberCands is
	// what candidates returns for a number no phrase names.
	prefixFirst [256]bool
	numberCands []int32
	// tokensPerHit is roughly how many tokens of a mail there are for
	// each hit, to make room for the hits at once; 0 lets them grow.
	tokensPerHit int
}

func (m *matcher) add(kind int, phrases []string) error {
	var errs []string
	for _, ph := range phrases {
		p, err := compilePattern(ph)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		p.order = len(m.pats)
		m.pats = append(m.pats, p)
		m.kind = append(m.kind, kind)
	}
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// intern numbers the exact words of m's patterns in v.
func (m *matcher) intern(v vocab) {
	for _, p := range m.pats {
		for i := range p.elems {
			for _, alt := range p.elems[i].alts {
				for k := range alt {
					alt[k].plural = -1
					if !alt[k].prefix && !alt[k].number {
						alt[k].id = v.intern(alt[k].w)
						if pl := plural(alt[k].w); pl != "" {
							alt[k].plural = v.intern(pl)
						}
					}
				}
			}
			p.elems[i].index()
		}
		p.setNeed()
	}
}

// build indexes m's patterns by their first word; v is the vocabulary,
// complete.
func (m *matcher) build(v vocab) {
	n := len(v)
	m.byID = make([][]int, n)
	m.byPrefix = map[string][]int{}
	m.byNumber = nil
	for i, p := range m.pats {
		e := &p.elems[0]
		for _, id := range e.startIDs {
			if l := m.byID[id]; len(l) == 0 || l[len(l)-1] != i {
				m.byID[id] = append(l, i)
			}
		}
		for _, pre := range e.prefixes {
			if l := m.byPrefix[pre[:3]]; len(l) == 0 || l[len(l)-1] != i {
				m.byPrefix[pre[:3]] = append(l, i)
			}
		}
		if e.number {
			m.byNumber = append(m.byNumber, i)
		}
	}
	for _, p := range m.pats {
		for i := range p.elems {
			p.elems[i].setStarts(n)
		}
	}
	m.prefixKeys = m.prefixKeys[:0]
	m.prefixFirst = [256]bool{}
	for pre := range m.byPrefix {
		m.prefixKeys = append(m.prefixKeys, pre)
		m.prefixFirst[pre[0]] = true
	}
	m.numberCands = m.lookup(&token{w: "0", id: -1}, nil)
	words := make([]string, n)
	for w, id := range v {
		words[id] = w
	}
	m.candAt = make([]int32, n+1)
	m.cands = m.cands[:0]
	var buf []int32
	for id, w := range words {
		buf = m.lookup(&token{w: w, id: int32(id)}, buf[:0])
		m.cands = append(m.cands, buf...)
		m.candAt[id+1] = int32(len(m.cands))
	}
}

// candidates returns the patterns that may start at token t, each once,
// in the order lookup gives them. The result may be m's own (read only)
// or *buf.
func (m *matcher) candidates(t *token, buf *[]int32) []int32 {
	if t.id >= 0 && int(t.id) < len(m.candAt)-1 {
		return m.cands[m.candAt[t.id]:m.candAt[t.id+1]]
	}
	switch pk := m.hasPrefixKey(t.w); {
	case pk:
	case len(m.byNumber) == 0 || !isNumber(t.w):
		return nil
	default:
		// A number with no prefix key: only the number patterns, as
		// lookup lists them for any such number.
		return m.numberCands
	}
	*buf = m.lookup(t, (*buf)[:0])
	return *buf
}

// hasPrefixKey reports whether byPrefix has patterns for w's first three
// bytes; comparing with its few keys is quicker than the map.
func (m *matcher) hasPrefixKey(w string) bool {
	if len(w) < 3 || !m.prefixFirst[w[0]] {
		return false
	}
	for _, k := range m.prefixKeys {
		if w[:3] == k {
			return true
		}
	}
	return false
}

// lookup appends to buf the patterns that may start at token t, each
// once: those of its word, then those of its prefix, then those of a
// number.
func (m *matcher) lookup(t *token, buf []int32) []int32 {
	add := func(l []int) {
	next:
		for _, n := range l {
			for _, have := range buf {
				if int(have) == n {
					continue next
				}
			}
			buf = append(buf, int32(n))
		}
	}
	if t.id >= 0 && int(t.id) < len(m.byID) {
		for _, n := range m.byID[t.id] {
			buf = append(buf, int32(n))
		}
	}
	if len(t.w) >= 3 && len(m.byPrefix) > 0 {
		add(m.byPrefix[t.w[:3]])
	}
	if len(m.byNumber) > 0 && isNumber(t.w) {
		add(m.byNumber)
	}
	return buf
}

// hit is one phrase found in a doc.
type hit struct {
	kind       int
	pat        *pattern
	start, end int   // token range
	gaps       []int // tokens matched by gaps
	negated    bool
	neg        int // the negation token, when negated
}

// find returns every match of every pattern, in text order. The doc's
// tokens must carry the ids of the vocabulary m was built with.
func (m *matcher) find(d *doc) []hit {
	var hits []hit
	gaps := make([]int, 0, 16)
	var scratch []int32
	// whether each pattern is possible in d: 0 not asked yet, 1 yes, 2 no
	verdict := make([]uint8, len(m.pats))
	for i := range d.toks {
		for _, n := range m.candidates(&d.toks[i], &scratch) {
			p := m.pats[n]
			switch verdict[n] {
			case 0:
				verdict[n] = 2
				if !p.possible(d) {
					continue
				}
				verdict[n] = 1
			case 2:
				continue
			}
			end, g, ok := p.matchAt(d.toks, i, gaps[:0])
			gaps = g
			if !ok {
				continue
			}
			h := hit{kind: m.kind[n], pat: p, start: i, end: end, neg: -1}
			if len(g) > 0 {
				h.gaps = append([]int(nil), g...)
			}
			if hits == nil && m.tokensPerHit > 0 {
				hits = make([]hit, 0, len(d.toks)/m.tokensPerHit+1)
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
		hits[i].neg = negatedAt(d, eff, hits[i].start, hits[i].gaps)
		hits[i].negated = hits[i].neg >= 0
	}
}

// negWindow is how many words before a match a negation reaches.
const negWindow = 3

// negatedAt returns the index of the token that negates a hit at start
// with the given gaps, or -1.
func negatedAt(d *doc, negAt []bool, start int, gaps []int) int {
	for _, g := range gaps {
		if negAt[g] {
			return g
		}
	}
	ph := d.toks[start].phrase
	for k := start - 1; k >= 0 && k >= start-negWindow; k-- {
		if d.toks[k].phrase != ph {
			break
		}
		if negAt[k] {
			return k
		}
	}
	return -1
}
