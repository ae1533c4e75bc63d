package triage

// This file keeps the implementation of triage as it was before it was
// made faster (commit 6987b02): every function that changed since, and
// every function that calls one, copied as it was and renamed with a
// "ref" prefix, changed only where a type changed (token offsets are
// int32 now). equiv_test.go compares it with the live code: every
// Assessment, and every changed function on its own, must come out the
// same. The phrase lists, the regular expressions, the indexes the
// matchers had before and the functions that did not change are shared.
//
// When the behaviour is meant to change (a rule tuned, a case fixed),
// delete this reference and the equivalence tests and fuzz target that use
// it (and their line in .ci/fuzz) rather than editing both: they exist to
// show that the speed-ups of 2026-11-22 changed no result.

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
)

// from text.go
// refTokenize splits s into normalised tokens with clause and phrase indexes.
// Sentence ends (. ! ? ;), blank lines, list items and labelled lines
// ("Impact: ...") separate clauses; commas, colons, brackets, quotes and
// dashes separate phrases.
func refTokenize(s string) doc {
	d := doc{src: s, toks: make([]token, 0, len(s)/5)}
	var clause, phrase int32 // int before token offsets became int32
	newClause := func() {
		if n := len(d.toks); n > 0 && d.toks[n-1].clause == clause {
			clause++
			phrase++
		}
	}
	newPhrase := func() {
		if n := len(d.toks); n > 0 && d.toks[n-1].phrase == phrase {
			phrase++
		}
	}
	lineStart := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if refIsWordRune(r) {
			j := i + size
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if refIsWordRune(r2) {
					j += n2
					continue
				}
				// An apostrophe inside a word belongs to it (can't, customer's).
				if isApostrophe(r2) && j+n2 < len(s) {
					r3, _ := utf8.DecodeRuneInString(s[j+n2:])
					if unicode.IsLetter(r3) {
						j += n2
						continue
					}
				}
				break
			}
			if lineStart && refIsListItem(s[i:]) {
				newClause()
			}
			lineStart = false
			word := strings.ToLower(s[i:j])
			if isClauseWord(word) {
				newClause()
			}
			if !strings.HasSuffix(word, "nt") && !refHasApostrophe(word) {
				d.add(token{w: word, start: int32(i), end: int32(j), clause: clause, phrase: phrase})
			} else {
				for _, w := range expand(word) {
					d.add(token{w: w, start: int32(i), end: int32(j), clause: clause, phrase: phrase})
				}
			}
			i = j
			continue
		}
		switch {
		case r == '%':
			// "90%" reads "90 percent": a share, not a count of users.
			d.add(token{w: "percent", start: int32(i), end: int32(i + 1), clause: clause, phrase: phrase})
		case r == '\n':
			// A blank line, a list item or a labelled line ends the clause;
			// a single line break inside a wrapped paragraph does not.
			k := i + 1
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r') {
				k++
			}
			switch {
			case k >= len(s) || s[k] == '\n' || refIsListItem(s[k:]) || refIsLabelLine(s[k:]):
				newClause()
			case i-strings.LastIndexByte(s[:i], '\n') <= shortLine:
				// A short line is a line of its own ("Regards", a name).
				newPhrase()
			}
			lineStart = true
		case r == '.' || r == '!' || r == '?' || r == ';' || r == '\u2026':
			// A dot between two word characters (3.8.2, www.x.com) ends nothing.
			if r == '.' && i > 0 && i+1 < len(s) && isWordByte(s[i-1]) && isWordByte(s[i+1]) {
				break
			}
			newClause()
		case r == ',' || r == ':' || r == '(' || r == ')' || r == '[' || r == ']' || r == '"' ||
			r == '\u201c' || r == '\u201d' || r == '\u2013' || r == '\u2014' || r == '/' || r == '|' || r == '>' || r == '<':
			if r == ':' && i > 0 && i+1 < len(s) && isDigitByte(s[i-1]) && isDigitByte(s[i+1]) {
				break // 07:40
			}
			newPhrase()
		case r == '-':
			// A dash with spaces around it separates phrases; a hyphen does not.
			if i > 0 && i+1 < len(s) && s[i-1] == ' ' && s[i+1] == ' ' {
				newPhrase()
			}
		}
		if r != ' ' && r != '\t' && r != '\r' && r != '\n' {
			lineStart = false
		}
		i += size
	}
	return d
}

// from text.go
func refIsWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// from text.go
func refHasApostrophe(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] == '\'' || w[i] == 0xE2 && strings.HasPrefix(w[i:], "\u2019") {
			return true
		}
	}
	return false
}

// from text.go
// refIsListItem reports whether s (the rest of a line after its indentation)
// starts a list item: "1.", "2)", "-", "*", "•", "Step 3:".
func refIsListItem(s string) bool {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return false
	}
	switch {
	case strings.HasPrefix(s, "- "), strings.HasPrefix(s, "* "), strings.HasPrefix(s, "\u2022"), strings.HasPrefix(s, "\u2013 "):
		return true
	}
	i := 0
	for i < len(s) && i < 3 && isDigitByte(s[i]) {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') && i+1 < len(s) && s[i+1] == ' ' {
		return true
	}
	if len(s) > 5 && strings.EqualFold(s[:5], "step ") && isDigitByte(s[5]) {
		return true
	}
	return false
}

// from text.go
// refIsLabelLine reports whether s starts with a short label followed by a
// colon ("Start time: ...", "Impact:").
func refIsLabelLine(s string) bool {
	s = strings.TrimLeft(s, " \t")
	for i := 0; i < len(s) && i < 32; i++ {
		c := s[i]
		switch {
		case c == ':':
			return i > 0 && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t' || s[i+1] == '\r' || s[i+1] == '\n')
		case c == ' ' || c == '-' || c == '/' || c == '\'' || isWordByte(c):
		default:
			return false
		}
	}
	return false
}

// from text.go
// refCollapseSpace replaces every run of white space in s by one space and
// trims it.
func refCollapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// from pattern.go
func refIsNumber(w string) bool { return w != "" && strings.Trim(w, "0123456789") == "" }

// from pattern.go
func refMatchElems(elems []elem, toks []token, i int, clause int32, gaps []int) (int, []int, bool) {
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
			if end, g2, ok := refMatchElems(elems[1:], toks, i+n, clause, g); ok {
				return end, g2, true
			}
		}
		return 0, gaps, false
	}
	if i < len(toks) && e.refMayStart(&toks[i]) {
		for _, alt := range e.alts {
			j, ok := refMatchWords(alt, toks, i, clause)
			if !ok {
				continue
			}
			if end, g, ok := refMatchElems(elems[1:], toks, j, clause, gaps); ok {
				return end, g, true
			}
		}
	}
	if e.opt {
		return refMatchElems(elems[1:], toks, i, clause, gaps)
	}
	return 0, gaps, false
}

// from pattern.go
func refMatchWords(ws []wordm, toks []token, i int, clause int32) (int, bool) {
	for k := range ws {
		if i >= len(toks) || toks[i].clause != clause || !ws[k].refMatch(&toks[i]) {
			return 0, false
		}
		i++
	}
	return i, true
}

// from fields.go
// refLabelShape reports whether line starts with a short label and a colon,
// so that the label expressions run only on such lines.
func refLabelShape(line string) bool {
	line = strings.TrimLeft(line, " \t>*-\u2022")
	for i, r := range line {
		switch {
		case r == ':' || r == '\uff1a':
			return i > 0
		case i > 40:
			return false
		case r == ' ' || r == '/' || r == '-' || r == '\'' || unicode.IsLetter(r):
		default:
			return false
		}
	}
	return false
}

// from fields.go
// refLabelled returns the value of each labelled field in text.
func refLabelled(text string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		if !refLabelShape(line) {
			continue
		}
		for _, l := range labelRes {
			if _, done := out[l.field]; done {
				continue
			}
			m := l.re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			v := strings.TrimSpace(m[1])
			if v == "" {
				var more []string
				for _, next := range lines[i+1:] {
					next = strings.TrimSpace(next)
					if next == "" {
						if len(more) == 0 {
							continue
						}
						break
					}
					more = append(more, next)
					if len(more) == 10 {
						break
					}
				}
				v = strings.Join(more, "\n")
			}
			if v != "" && !placeholder.MatchString(v) {
				out[l.field] = v
			}
			break
		}
	}
	return out
}

// from fields.go
// refFindQuotes returns the double-quoted passages of text as index
// quadruples like FindAllStringSubmatchIndex: the passage with its quote
// marks, then without. A passage spans at most three lines.
func refFindQuotes(text string) [][]int {
	var out [][]int
	open := -1
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '"', '\u201c', '\u201d', '\u00ab', '\u00bb':
			if open >= 0 && i-open-1 >= 2 && i-open <= 241 {
				body := text[open+1 : i]
				if !strings.Contains(body, "\n\n") && strings.Count(body, "\n") <= 2 {
					out = append(out, []int{open, i + n, open + 1, i})
					open = -1
					i += n
					continue
				}
			}
			open = i
		}
		i += n
	}
	return out
}

// from fields.go
// refFindCodes returns the spans of error codes in text: "PG-4001",
// "E-AUTH-17", "ERR_CONNECTION_REFUSED", "0x80070005". It looks for their
// shape by hand and checks each with reCode, which is slow to run over a
// whole mail.
func refFindCodes(text string) [][]int {
	var out [][]int
	last := -1
	check := func(start int) {
		if start <= last {
			return
		}
		if m := reCode.FindStringIndex(text[start:min(len(text), start+48)]); m != nil && m[0] == 0 {
			out = append(out, []int{start, start + m[1]})
			last = start + m[1]
		}
	}
	for i := 1; i+2 < len(text); i++ {
		switch {
		case (text[i] == '-' || text[i] == '_') && isDigitByte(text[i+1]) && isDigitByte(text[i+2]):
			start := i
			for start > 0 && (text[start-1] >= 'A' && text[start-1] <= 'Z' || isDigitByte(text[start-1]) || text[start-1] == '-' || text[start-1] == '_') {
				start--
			}
			check(start)
		case text[i] == 'E' && strings.HasPrefix(text[i:], "ERR_") && (i == 0 || !isWordByte(text[i-1])):
			check(i)
		case text[i] == '0' && text[i+1] == 'x' && (i == 0 || !isWordByte(text[i-1])):
			check(i)
		case text[i] >= 'A' && text[i] <= 'Z' && (i == 0 || !isWordByte(text[i-1])):
			// letters then digits: "AADSTS50011"
			k := i
			for k < len(text) && k-i <= 8 && text[k] >= 'A' && text[k] <= 'Z' {
				k++
			}
			if k-i >= 2 && k+2 < len(text) && isDigitByte(text[k]) && isDigitByte(text[k+1]) && isDigitByte(text[k+2]) {
				check(i)
			}
		}
	}
	return out
}

// from fields.go
// refStackLine returns the offset of the first line of a stack trace in text,
// or -1.
func refStackLine(text string) int {
	for i := 0; i < len(text); {
		end := strings.IndexByte(text[i:], '\n')
		if end < 0 {
			end = len(text) - i
		}
		line := strings.TrimLeft(text[i:i+end], " \t")
		if strings.HasPrefix(line, "at ") || strings.HasPrefix(line, "File \"") || strings.HasPrefix(line, "Traceback") ||
			strings.HasPrefix(line, "goroutine ") || strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "Caused by: ") {
			if reStack.MatchString(text[i : i+end]) {
				return i
			}
		}
		i += end + 1
	}
	return -1
}

// from fields.go
func refFindError(text string) string {
	if text == "" {
		return ""
	}
	quotes := refFindQuotes(text)
	// show returns the quoted message holding byte i, or its sentence.
	show := func(i int) string {
		for _, q := range quotes {
			if q[2] <= i && i < q[3] {
				return refCollapseSpace(text[q[2]:q[3]])
			}
		}
		return refSentenceAround(text, i)
	}
	// Cheap tests first: each expression runs only where it can match.
	if i := refStackLine(text); i >= 0 {
		return block(text, i, 6)
	}
	if strings.Contains(text, "Exception") || strings.Contains(text, "Error") {
		if loc := reExcep.FindStringIndex(text); loc != nil {
			return show(loc[0])
		}
	}
	if hasStatusCode(text) {
		if loc := reHTTP.FindStringIndex(text); loc != nil {
			return show(loc[0])
		}
	}
	for _, loc := range refFindCodes(text) {
		code := text[loc[0]:loc[1]]
		if strings.HasPrefix(code, "ERR_") || strings.HasPrefix(code, "0x") ||
			reCue.MatchString(sentenceBefore(text, loc[0])+lineAt(text, loc[0])) {
			return show(loc[0])
		}
	}
	for _, q := range quotes {
		body := text[q[2]:q[3]]
		if strings.Count(body, " ")+1 > 40 {
			continue
		}
		if reErrW.MatchString(body) || reCode.MatchString(body) {
			return refCollapseSpace(body)
		}
		if strings.Count(strings.TrimSpace(body), " ") >= 2 && reErrQ.MatchString(sentenceBefore(text, q[0])) {
			return refCollapseSpace(body)
		}
	}
	return ""
}

// from fields.go
func refFindRepro(text string) string {
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	// A list of two or more items, most of them actions (or a menu path).
	for i := 0; i < len(lines); {
		var items []string
		j := i
		for ; j < len(lines); j++ {
			m := reListItem.FindStringSubmatch(strings.TrimRight(lines[j], "\r"))
			if m == nil {
				break
			}
			items = append(items, strings.TrimSpace(m[1]))
		}
		if len(items) >= 2 {
			actions := 0
			for _, it := range items {
				if actionVerbs[firstWord(it)] || rePath.MatchString(it) {
					actions++
				}
			}
			if actions*2 >= len(items) {
				return strings.Join(items, "\n")
			}
		}
		if j == i {
			j++
		}
		i = j
	}
	if m := reToRepro.FindStringSubmatch(text); m != nil {
		if v := strings.TrimSpace(m[1]); !placeholder.MatchString(v) && strings.Contains(v, " ") {
			return v
		}
	}
	if m := reCommand.FindString(text); m != "" {
		return strings.TrimSpace(m)
	}
	// A sentence of three or more actions: "log in as X, open Y, click Z".
	for _, s := range sentences(text) {
		n := 0
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z')
		}) {
			if actionVerbs[w] && w != "then" && w != "check" && w != "use" && w != "try" && w != "update" && w != "change" && w != "set" {
				n++
			}
		}
		if n >= 3 && (strings.Contains(s, ",") || strings.Contains(s, " then ")) {
			return refCollapseSpace(s)
		}
	}
	return ""
}

// from fields.go
// refSentenceAround returns the sentence of text that holds byte i, at most
// 200 bytes, or its line when the line is shorter.
func refSentenceAround(text string, i int) string {
	line := lineAt(text, i)
	start := i
	for start > 0 && i-start < 160 {
		c := text[start-1]
		if (c == '.' || c == '!' || c == '?') && start < len(text) && (text[start] == ' ' || text[start] == '\n') {
			break
		}
		if c == '\n' && start >= 2 && text[start-2] == '\n' {
			break
		}
		start--
	}
	end := i
	for end < len(text) && end-i < 160 {
		c := text[end]
		end++
		if (c == '.' || c == '!' || c == '?') && (end == len(text) || text[end] == ' ' || text[end] == '\n') {
			break
		}
		if c == '\n' && end < len(text) && text[end] == '\n' {
			break
		}
	}
	s := refCollapseSpace(text[start:end])
	if len(line) < len(s) && !strings.HasSuffix(strings.TrimSpace(line), ",") && lineIsWhole(text, i) {
		return line
	}
	return s
}

// from fields.go
// refSentenceOf returns the source text of the sentence holding token i,
// at most 200 bytes.
func refSentenceOf(d *doc, i int) string {
	c := d.toks[i].clause
	a, b := i, i
	for a > 0 && d.toks[a-1].clause == c {
		a--
	}
	for b+1 < len(d.toks) && d.toks[b+1].clause == c {
		b++
	}
	s := strings.Trim(d.refQuote(a, b+1), "[](){}\"'\u201c\u201d ")
	if len(s) > 200 {
		s = s[:200]
		for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
			s = s[:len(s)-1]
		}
		if len(s) > 0 && s[len(s)-1] >= 0xC0 {
			s = s[:len(s)-1]
		}
		s += "\u2026"
	}
	return s
}

// from fields.go
// refFindService returns the first service or feature the mail names (or,
// failing that, the first part of a screen), with up to two capitalised
// words before it ("Prospect 365 CRM", "BambooHR integration").
func refFindService(an *analysis) string {
	best := -1
	for i, h := range an.hits {
		if catOf(h.kind) != catService {
			continue
		}
		if best < 0 || rankOf(h.kind) < rankOf(an.hits[best].kind) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	h := an.hits[best]
	a := h.start
	for k := 0; k < 2 && a > 0; k++ {
		p := an.d.toks[a-1]
		if p.clause != an.d.toks[h.start].clause || p.phrase != an.d.toks[h.start].phrase || refInLevelHit(an, a-1) {
			break
		}
		w := an.d.src[p.start:p.end]
		if !(w[0] >= 'A' && w[0] <= 'Z' || w[0] >= '0' && w[0] <= '9') || stopCaps[strings.ToLower(w)] {
			break
		}
		a--
	}
	return an.d.refQuote(a, h.end)
}

// from fields.go
// refInLevelHit reports whether token i is part of a rubric phrase ("Slow"
// in "Slow report generation" describes, it does not name).
func refInLevelHit(an *analysis, i int) bool {
	for _, h := range an.hits {
		if (catOf(h.kind) == catLevel || catOf(h.kind) == catChange) && h.start <= i && i < h.end {
			return true
		}
	}
	return false
}

// from starttime.go
// refEachTimeSpan calls f with each time expression of text, adjacent atoms
// merged, until f returns false. The expressions are large, so they are
// tried only at the start of words that can begin a time (a number,
// "since", "yesterday", "Monday", ...), on a short lower-cased slice.
func refEachTimeSpan(text string, f func(a, b int) bool) {
	var lower []byte
	cur := [2]int{-1, -1}
	for i := 0; i < len(text); {
		c := text[i]
		if !isASCIIAlnum(c) || (i > 0 && isWordByte(text[i-1])) {
			i++
			continue
		}
		j := i
		for j < len(text) && isASCIIAlnum(text[j]) {
			j++
		}
		if !(isDigitByte(c) || j-i <= 9 && timeStarts[asciiLower(text[i:j])]) || !mayBeTime(text, i, j) {
			i = j
			continue
		}
		if lower == nil {
			lower = []byte(asciiLower(text))
		}
		end := min(len(text), i+80)
		for end < len(text) && text[end] != ' ' && text[end] != '\n' {
			end++
		}
		re := reAtomDay
		switch w := asciiLower(text[i:j]); {
		case isDigitByte(c):
			re = reAtomNumber
		case monthWords[w]:
			re = reAtomMonth
		case w == "since" || w == "for":
			re = reAtomDuration
		case w == "the":
			re = reAtomThe
		case countWords[w]:
			re = reAtomCount
		}
		m := re.FindIndex(lower[i:end])
		if m == nil || m[1] == 0 {
			i = j
			continue
		}
		a, b := i, i+m[1]
		switch {
		case cur[0] >= 0 && reTimeGlue.MatchString(text[cur[1]:a]) && !strings.Contains(text[cur[1]:a], "\n\n"):
			cur[1] = b
		case cur[0] >= 0:
			if !f(cur[0], cur[1]) {
				return
			}
			cur = [2]int{a, b}
		default:
			cur = [2]int{a, b}
		}
		i = b
	}
	if cur[0] >= 0 {
		f(cur[0], cur[1])
	}
}

// from starttime.go
// refMergeTimeAtoms returns the spans of time expressions in text, adjacent
// atoms merged.
func refMergeTimeAtoms(text string) [][2]int {
	var spans [][2]int
	refEachTimeSpan(text, func(a, b int) bool {
		spans = append(spans, [2]int{a, b})
		return true
	})
	return spans
}

// from starttime.go
// refSplitZone splits a trailing zone off s.
func refSplitZone(s string) (*time.Location, string, bool) {
	m := reZone.FindStringSubmatch(s)
	if m == nil {
		m = reZoneGlued.FindStringSubmatch(s)
	}
	if m == nil {
		return nil, s, false
	}
	z := strings.ToUpper(m[2])
	if h, ok := zoneOffsets[z]; ok {
		return time.FixedZone(z, int(h*3600)), m[1], true
	}
	if z[0] == '+' || z[0] == '-' {
		digits := strings.ReplaceAll(z[1:], ":", "")
		hh, _ := strconv.Atoi(digits[:2])
		mm, _ := strconv.Atoi(digits[2:])
		off := hh*3600 + mm*60
		if z[0] == '-' {
			off = -off
		}
		return time.FixedZone(z, off), m[1], true
	}
	return nil, s, false
}

// from starttime.go
func refStrictParse(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range strictLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// from claim.go
// refClaimLabelStart reports whether line starts with a word claimLabel
// looks for, so that the expression runs only on such lines.
func refClaimLabelStart(line string) bool {
	line = strings.TrimLeft(line, " \t>*-\u2022")
	if len(line) < 3 {
		return false
	}
	switch strings.ToLower(line[:3]) {
	case "pri", "sev", "urg", "tie", "typ", "req", "iss", "tic", "cat":
		return true
	}
	return false
}

// from decide.go
// refLongestFirst keeps, of overlapping hits, the longest (ties broken by
// the lower order value), and returns the kept hits in text order.
func refLongestFirst(hits []hit, order func(hit) int) []hit {
	if len(hits) < 2 {
		return hits
	}
	s := append([]hit(nil), hits...)
	sort.SliceStable(s, func(i, j int) bool {
		li, lj := s[i].end-s[i].start, s[j].end-s[j].start
		if li != lj {
			return li > lj
		}
		return order(s[i]) < order(s[j])
	})
	var kept []hit
	for _, h := range s {
		overlaps := false
		for _, k := range kept {
			if h.start < k.end && k.start < h.end {
				overlaps = true
				break
			}
		}
		if !overlaps {
			kept = append(kept, h)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].start < kept[j].start })
	return kept
}

// from decide.go
// refQuoteHits quotes the source text of up to max distinct hits.
func refQuoteHits(d *doc, hs []hit, max int) string {
	var out []string
	seen := map[string]bool{}
	for _, h := range hs {
		q := d.refQuote(h.start, h.end)
		k := strings.ToLower(q)
		if q == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, fmt.Sprintf("%q", q))
		if len(out) == max {
			break
		}
	}
	return strings.Join(out, ", ")
}

// from decide.go
// refShorten cuts s to at most n bytes at a word boundary, marking the cut.
func refShorten(s string, n int) string {
	s = refCollapseSpace(s)
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
	}
	return s[:cut] + "\u2026"
}

// from triage.go
func (t *Triage) refAnalyse(in Input) *analysis {
	a := &analysis{subject: subjectText(in.Subject)}
	src := in.Text
	if a.subject != "" {
		src = a.subject + "\n\n" + in.Text
	}
	a.d = refTokenize(src)
	t.vocab.ids(&a.d)
	negAt := make([]bool, len(a.d.toks))
	for _, h := range t.neg.refFind(&a.d) {
		for k := h.start; k < h.end; k++ {
			negAt[k] = true
		}
	}
	a.hits = t.m.refFind(&a.d)
	negate(&a.d, a.hits, negAt)
	return a
}

// from triage.go
// refAssess ranks one mail and extracts its fields.
//
// The content is ranked first. Phrases of the two most urgent levels win
// over everything else, the more urgent first; failing those, a change
// request is the change category; failing that, of the less urgent levels
// the least urgent with a phrase wins, because "typo" is more telling
// than the "wrong" that comes with it. A quoted error message alone counts
// as the third level; with no evidence at all the mailbox's or the rules'
// default applies. Then the level moves by one step: a part of the users
// or one user affected lowers the most urgent level (except for data loss,
// security, prices and legal phrases); one user lowers the second; a
// workaround lowers either; a failure that comes and goes caps at the
// second; everyone affected, a part of the users or intermittency raise
// the third to the second. Negations ("not down", "no data was lost") and
// hypotheticals ("if the site goes down") cancel the phrase they precede.
//
// Then the customer's claim, if any, is judged: it is taken when it is at
// most one level from the content, except that content at the most urgent
// level is never lowered.
func (t *Triage) refAssess(in Input) helpdesk.Assessment {
	in = limit(in)
	an := t.refAnalyse(in)
	fields := t.refFields(in, an)
	dec := t.refDecide(an, in.Default, fields.ErrorText)
	out := helpdesk.Assessment{Assessed: dec.level, Priority: dec.level}
	reasons := dec.reasons
	if c, ok := t.refFindClaim(in, an); ok {
		claimReason := t.judgeClaim(&out, c, dec)
		if out.ClaimAccepted && out.Priority != out.Assessed {
			reasons = append([]string{claimReason}, reasons...)
		} else {
			reasons = append(reasons, claimReason)
		}
	}
	out.Reasons = reasons
	out.Fields = fields
	return out
}

// from fields.go
// refFields extracts the incident facts: labelled lines first, then free text.
func (t *Triage) refFields(in Input, an *analysis) helpdesk.Fields {
	var f helpdesk.Fields
	lab := refLabelled(in.Text)
	base, ok := reference(in)

	if v := lab[helpdesk.FieldStartTime]; v != "" {
		f.StartTime = v
		if c, found := t.refFirstTime(v, base); found {
			f.StartInstant = c.at
		}
	} else if c, found := t.refStartTime(in.Text, base, ok); found {
		f.StartTime, f.StartInstant = c.text, c.at
	} else if c, found := t.refStartTime(an.subject, base, ok); found {
		f.StartTime, f.StartInstant = c.text, c.at
	}

	f.ErrorText = lab[helpdesk.FieldErrorText]
	if f.ErrorText == "" {
		f.ErrorText = refFindError(in.Text)
	}
	if f.ErrorText == "" {
		f.ErrorText = refFindError(an.subject)
	}

	f.ReproSteps = lab[helpdesk.FieldReproSteps]
	if f.ReproSteps == "" {
		f.ReproSteps = refFindRepro(in.Text)
	}

	f.Impact = lab[helpdesk.FieldImpact]
	if f.Impact == "" {
		f.Impact = t.refFindImpact(an, f.ErrorText)
	}

	f.Service = lab[helpdesk.FieldService]
	if f.Service == "" {
		f.Service = refFindService(an)
	}
	return f
}

// from fields.go
func (t *Triage) refFindImpact(an *analysis, errorText string) string {
	// A scope says who is affected only in a mail that reports a problem:
	// "send an SMS to all members" in a feature request names no one.
	problem := errorText != ""
	for _, h := range an.hits {
		problem = problem || (catOf(h.kind) == catLevel && rankOf(h.kind) <= 2 || catOf(h.kind) == catIntermittent) && !h.negated
	}
	for _, h := range an.hits {
		switch catOf(h.kind) {
		case catWide, catNarrow, catSingle:
			if h.negated || !problem {
				continue
			}
			// "some of our consultants": whoever follows "of our" is meant,
			// unless it is data ("half of our contact records").
			if w := an.d.toks[h.end-1].w; (w == "our" || w == "my") && h.end < len(an.d.toks) && !dataWords[an.d.toks[h.end].w] {
				return refSentenceOf(&an.d, h.start)
			}
			for k := h.start; k < h.end; k++ {
				if peopleWords[an.d.toks[k].w] {
					return refSentenceOf(&an.d, h.start)
				}
			}
		}
	}
	hs := t.impact.refFind(&an.d)
	for _, h := range hs {
		if h.kind == 0 {
			return refSentenceOf(&an.d, h.start)
		}
	}
	// "for our customers" in a sentence that reports a problem.
	for _, h := range hs {
		c := an.d.toks[h.start].clause
		for _, e := range an.hits {
			if catOf(e.kind) == catLevel && rankOf(e.kind) <= 1 && !e.negated && an.d.toks[e.start].clause == c {
				return refSentenceOf(&an.d, h.start)
			}
		}
	}
	return ""
}

// from starttime.go
// refStartTime finds the start of the incident in free text.
func (t *Triage) refStartTime(text string, base time.Time, haveBase bool) (timeCandidate, bool) {
	if text == "" {
		return timeCandidate{}, false
	}
	var found timeCandidate
	ok := false
	refEachTimeSpan(text, func(a, b int) bool {
		c, accepted := t.refStartCandidate(text, a, b, base, haveBase)
		if accepted {
			found, ok = c, true
		}
		return !accepted
	})
	return found, ok
}

// from starttime.go
// refStartCandidate decides whether the time expression text[a:b] is the
// start of the incident, and resolves it.
func (t *Triage) refStartCandidate(text string, a, b int, base time.Time, haveBase bool) (timeCandidate, bool) {
	phrase := text[a:b]
	before := sentenceBefore(text, a)
	if n := len(before); n > 80 {
		before = before[n-80:]
	}
	// Keep the start word with the phrase: "since 07:40".
	cueStart := a
	if m := reCueWord.FindStringIndex(before); m != nil {
		cueStart = a - (len(before) - m[0])
	}
	full := strings.TrimRight(refCollapseSpace(text[cueStart:b]), ".,;:!?")
	inherent := reInherent.MatchString(full) || reInherent.MatchString(refCollapseSpace(phrase))
	words := strings.Fields(before)
	// A time of day that opens its sentence tells when something happened:
	// "Today at 10:45 our manager exported ...".
	opens := len(words) == 0 && reHasClock.MatchString(asciiLower(phrase))
	if !inherent && !opens && !reStartCue.MatchString(strings.Join(words[max(0, len(words)-8):], " ")) {
		return timeCandidate{}, false
	}
	if reFutureCue.MatchString(strings.Join(words[max(0, len(words)-5):], " ")) || reFutureWord.MatchString(phrase) {
		return timeCandidate{}, false
	}
	at, ok := t.refResolve(phrase, base)
	if haveBase && !ok && !inherent && !strings.HasPrefix(strings.ToLower(full), "since") {
		// A bare time that cannot be placed before the mail is no start time.
		if _, future := t.refResolveRaw(phrase, base); future {
			return timeCandidate{}, false
		}
	}
	return timeCandidate{text: full, at: at}, true
}

// from starttime.go
// refFirstTime resolves the first time expression in s (a labelled value).
func (t *Triage) refFirstTime(s string, base time.Time) (timeCandidate, bool) {
	for _, span := range refMergeTimeAtoms(s) {
		phrase := s[span[0]:span[1]]
		if at, ok := t.refResolve(phrase, base); ok {
			return timeCandidate{text: phrase, at: at}, true
		}
	}
	return timeCandidate{}, false
}

// from starttime.go
// refResolve turns a time phrase into an instant not after base (plus a few
// minutes of clock skew).
func (t *Triage) refResolve(phrase string, base time.Time) (time.Time, bool) {
	at, future := t.refResolveRaw(phrase, base)
	if at.IsZero() || future {
		return time.Time{}, false
	}
	return at, true
}

// from starttime.go
// refResolveRaw resolves phrase against base; future reports a result that
// could only be read as lying after base.
func (t *Triage) refResolveRaw(phrase string, base time.Time) (time.Time, bool) {
	s := strings.TrimRight(refCollapseSpace(phrase), ".,;:!?)")
	// An explicit zone: read the time there. If that puts it after the mail
	// but the customer's own clock does not, the customer meant their own
	// clock (a customer in Sydney writing "AEST" in summer); otherwise a
	// time of day after the mail is the day before's, in the zone given.
	if z, rest, ok := refSplitZone(s); ok {
		if at, future := t.refResolveIn(rest, base.In(z), false); !at.IsZero() && !future {
			return at.In(base.Location()), false
		}
		if at, future := t.refResolveIn(rest, base, false); !at.IsZero() && !future {
			return at, false
		}
		at, future := t.refResolveIn(rest, base.In(z), true)
		return at.In(base.Location()), future
	}
	return t.refResolveIn(s, base, true)
}

// from starttime.go
// refResolveIn resolves s against base in base's zone. With back, a time of
// day after base is taken as the day before's, a weekday as last week's.
// A zero base places absolute dates only, in UTC unless s gives a zone.
func (t *Triage) refResolveIn(s string, base time.Time, back bool) (time.Time, bool) {
	loc := base.Location()
	lower := strings.ToLower(s)
	if at, ok := refStrictParse(reDateTimeGlue.ReplaceAllString(s, "$1 $2"), loc); ok {
		return at, !base.IsZero() && at.After(base.Add(skew))
	}
	if base.IsZero() {
		return time.Time{}, false
	}
	// "since 2 days", "for the last 30 minutes"
	if m := reDuration.FindStringSubmatch(lower); m != nil {
		if d, ok := durationOf(m[1], m[2]); ok {
			return base.Add(-d), false
		}
	}
	// "the 21st"
	if m := reOrdinalDay.FindStringSubmatch(lower); m != nil {
		day, _ := strconv.Atoi(m[1])
		at := time.Date(base.Year(), base.Month(), day, 0, 0, 0, 0, loc)
		if at.Day() != day || at.After(base) {
			at = time.Date(base.Year(), base.Month()-1, day, 0, 0, 0, 0, loc)
		}
		return at, false
	}
	switch {
	case strings.Contains(lower, "last week"):
		return midnight(base.AddDate(0, 0, -7)), false
	case strings.Contains(lower, "last month"):
		return midnight(base.AddDate(0, -1, 0)), false
	case strings.Contains(lower, "weekend"):
		d := base
		for d.Weekday() != time.Saturday || !d.Before(midnight(base)) {
			d = d.AddDate(0, 0, -1)
		}
		return midnight(d), false
	case lower == "overnight":
		return midnight(base), false
	}
	clean := reFiller.ReplaceAllString(lower, "")
	clean = reDotClock.ReplaceAllString(clean, "$1:$2")
	clean = strings.ReplaceAll(clean, "'s", "")
	clean = strings.ReplaceAll(clean, "today morning", "this morning")
	clean = reLunch.ReplaceAllString(clean, "noon")
	clean = strings.ReplaceAll(clean, "this past ", "last ")
	clean = strings.TrimSpace(clean)
	var at time.Time
	if day, h, m, ok := clockOnDay(clean); ok {
		// The common cases, without the cost of the full parser.
		at = time.Date(base.Year(), base.Month(), base.Day()+day, h, m, 0, 0, loc)
	} else {
		r, err := t.when.Parse(clean, base)
		if err != nil || r == nil {
			return time.Time{}, false
		}
		at = r.Time
	}
	hasClock := reHasClock.MatchString(clean)
	if !hasClock && !strings.Contains(clean, "ago") {
		at = midnight(at)
	}
	if back && at.After(base.Add(skew)) {
		switch {
		case strings.Contains(clean, "tomorrow") || strings.Contains(clean, "next"):
			return at, true
		case reWeekday.MatchString(clean):
			at = at.AddDate(0, 0, -7)
		case !reHasDate.MatchString(clean):
			at = at.AddDate(0, 0, -1)
		default:
			return at, true
		}
	}
	return at, at.After(base.Add(skew))
}

// from claim.go
func (t *Triage) refClaimValue(v string) (int, bool) {
	v = strings.ToLower(refCollapseSpace(strings.Trim(v, " \t*_!.,;:\"'[]()")))
	if v == "" {
		return 0, false
	}
	for i, p := range t.levels.Order {
		if strings.EqualFold(v, string(p)) {
			return i, true
		}
	}
	if t.levels.Change != "" && strings.EqualFold(v, string(t.levels.Change)) {
		return rankChange, true
	}
	if m := claimNumber.FindStringSubmatch(v); m != nil {
		return int(m[1][0] - '1'), true
	}
	if m := claimWord.FindStringSubmatch(v); m != nil {
		r, ok := claimWordRank[m[1]]
		return r, ok
	}
	return 0, false
}

// from claim.go
// refFindClaim returns the customer's declared priority: a labelled line
// first, then a subject tag, then a phrase in the text.
func (t *Triage) refFindClaim(in Input, an *analysis) (claim, bool) {
	for _, line := range strings.Split(in.Text, "\n") {
		if !strings.ContainsAny(line, ":=") || !refClaimLabelStart(line) {
			continue
		}
		m := claimLabel.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		label, value := strings.ToLower(m[1]), m[2]
		// Only the head of the value: "Critical (store down)", "1 - urgent".
		head := value
		if i := strings.IndexAny(head, ",;(/\u2013\u2014"); i > 0 {
			head = head[:i]
		}
		if i := strings.Index(head, " - "); i > 0 {
			head = head[:i]
		}
		r, ok := t.refClaimValue(head)
		if !ok {
			continue
		}
		if strings.Contains(label, "type") || label == "category" {
			if r != rankChange {
				continue
			}
		}
		return claim{rank: r, text: strings.TrimSpace(m[0][strings.Index(m[0], m[1]):])}, true
	}
	if s := an.subject; s != "" {
		for _, m := range subjectTag.FindAllStringSubmatch(s, -1) {
			if r, ok := t.refClaimValue(m[1]); ok {
				return claim{rank: r, text: m[1]}, true
			}
		}
		for _, re := range []*regexp.Regexp{subjectLead, subjectTrail} {
			if m := re.FindStringSubmatch(s); m != nil {
				if r, ok := t.refClaimValue(m[1]); ok {
					return claim{rank: r, text: strings.TrimSpace(m[1])}, true
				}
			}
		}
	}
	for _, h := range an.hits {
		if catOf(h.kind) == catClaim && !h.negated {
			return claim{rank: rankOf(h.kind), text: an.d.refQuote(h.start, h.end)}, true
		}
	}
	return claim{}, false
}

// from decide.go
func (t *Triage) refGather(an *analysis) evidence {
	n := len(t.levels.Order)
	ev := evidence{byRank: make([][]hit, n)}
	var levelHits, scopeHits []hit
	for _, h := range an.hits {
		cat := catOf(h.kind)
		if cat == catWorkaround && h.negated {
			ev.noWorkaround = append(ev.noWorkaround, h)
		}
		if h.negated {
			continue
		}
		switch cat {
		case catLevel, catChange:
			levelHits = append(levelHits, h)
		case catWide, catNarrow, catSingle:
			scopeHits = append(scopeHits, h)
		case catWorkaround:
			ev.workaround = append(ev.workaround, h)
		case catIntermittent:
			ev.intermittent = append(ev.intermittent, h)
		}
	}
	// Where phrases of different levels overlap, the longer one is the more
	// specific and wins: "partial outage" is high although "outage" alone
	// is critical. On a tie the more urgent level wins.
	urgency := func(h hit) int {
		if catOf(h.kind) == catChange {
			return n
		}
		return rankOf(h.kind)
	}
	for _, h := range refLongestFirst(levelHits, urgency) {
		if catOf(h.kind) == catChange {
			ev.change = append(ev.change, h)
		} else {
			ev.byRank[rankOf(h.kind)] = append(ev.byRank[rankOf(h.kind)], h)
		}
	}
	// Scope phrases overlap too: "one of our users" is a single user even
	// though "of our users" alone reads as a part of them.
	for _, h := range refLongestFirst(scopeHits, func(h hit) int { return catOf(h.kind) }) {
		switch catOf(h.kind) {
		case catWide:
			ev.wide = append(ev.wide, h)
		case catNarrow:
			ev.narrow = append(ev.narrow, h)
		case catSingle:
			ev.single = append(ev.single, h)
		}
	}
	return ev
}

// from decide.go
// refDecide ranks the content: the most urgent of the two top levels with
// evidence wins; otherwise a change request; otherwise, of the less urgent
// levels, the least urgent with evidence (a typo report also says
// "wrong", and the specific word wins over the generic one). Scope,
// workarounds and intermittency then move the level by one step.
//
// A quoted error message with no rubric phrase around it still reports a
// malfunction, and counts as evidence for the third level.
func (t *Triage) refDecide(an *analysis, mailboxDefault helpdesk.Priority, errorText string) decision {
	ev := t.refGather(an)
	n := len(t.levels.Order)
	last := n - 1
	base := -1
	switch {
	case len(ev.byRank[0]) > 0:
		base = 0
	case n > 1 && len(ev.byRank[1]) > 0:
		base = 1
	case len(ev.change) > 0:
		q := refQuoteHits(&an.d, ev.change, 3)
		return decision{level: t.levels.Change, rank: last, change: true, evidence: q,
			reasons: []string{fmt.Sprintf("%s: %s", t.levels.Change, q)}}
	default:
		for r := last; r >= 2; r-- {
			if len(ev.byRank[r]) > 0 {
				base = r
				break
			}
		}
	}
	level := func(r int) helpdesk.Priority { return t.levels.Order[max(0, min(r, last))] }
	q := ""
	if base < 0 && errorText != "" {
		base = min(2, last)
		q = fmt.Sprintf("error text %q", refShorten(errorText, 60))
	}
	if base < 0 {
		if len(ev.intermittent) > 0 && n > 1 {
			q := refQuoteHits(&an.d, ev.intermittent, 2)
			return decision{level: level(1), rank: min(1, last), evidence: q,
				reasons: []string{fmt.Sprintf("%s: intermittent %s", level(1), q)}}
		}
		def, why := t.def, "default"
		if mailboxDefault != "" {
			if t.levels.Valid(mailboxDefault) {
				def, why = mailboxDefault, "mailbox default"
			} else {
				why = fmt.Sprintf("default (unknown mailbox default %q ignored)", mailboxDefault)
			}
		}
		r, _ := t.levels.Rank(def)
		return decision{level: def, rank: r, change: def == t.levels.Change && def != "",
			reasons: []string{fmt.Sprintf("no rubric phrase matched: %s %s", why, def)}}
	}

	if q == "" {
		q = refQuoteHits(&an.d, ev.byRank[base], 3)
	}
	first := fmt.Sprintf("%s: %s", level(base), q)
	if base <= 1 && len(ev.wide) > 0 {
		first += " + scope " + refQuoteHits(&an.d, ev.wide, 1)
	}
	if base == 0 && len(ev.noWorkaround) > 0 {
		h := ev.noWorkaround[0]
		first += fmt.Sprintf(" + %q", an.d.refQuote(min(h.neg, h.start), h.end))
	}
	dec := decision{evidence: q, reasons: []string{first}}
	r := base
	move := func(to int, why string) {
		to = max(0, min(to, last))
		if to == r {
			return
		}
		verb := "lowered"
		if to < r {
			verb = "raised"
		}
		dec.reasons = append(dec.reasons, fmt.Sprintf("%s to %s: %s", verb, level(to), why))
		r = to
	}
	scope := func(hs []hit) string { return "scope " + refQuoteHits(&an.d, hs, 1) }
	wide := len(ev.wide) > 0
	single := !wide && len(ev.single) > 0
	narrow := !wide && !single && len(ev.narrow) > 0
	switch base {
	case 0:
		unscoped := false
		for _, h := range ev.byRank[0] {
			unscoped = unscoped || h.pat.unscoped
		}
		switch {
		case len(ev.intermittent) > 0:
			move(1, "intermittent "+refQuoteHits(&an.d, ev.intermittent, 1))
		case single && !unscoped:
			move(1, scope(ev.single))
		case narrow && !unscoped:
			move(1, scope(ev.narrow))
		}
		if len(ev.workaround) > 0 {
			move(r+1, "workaround "+refQuoteHits(&an.d, ev.workaround, 1))
		}
	case 1:
		switch {
		case single:
			move(2, scope(ev.single))
		case len(ev.workaround) > 0:
			move(2, "workaround "+refQuoteHits(&an.d, ev.workaround, 1))
		}
	case 2:
		switch {
		case wide:
			move(1, scope(ev.wide))
		case narrow:
			move(1, scope(ev.narrow))
		case len(ev.intermittent) > 0:
			move(1, "intermittent "+refQuoteHits(&an.d, ev.intermittent, 1))
		}
	}
	dec.rank, dec.level = r, level(r)
	return dec
}

// from text.go
// refQuote returns the source text of tokens [i, j) with runs of white space
// collapsed, for reasons.
func (d *doc) refQuote(i, j int) string {
	if i >= j || j > len(d.toks) {
		return ""
	}
	return refCollapseSpace(d.src[d.toks[i].start:d.toks[j-1].end])
}

// from pattern.go
// refFind returns every match of every pattern, in text order. The doc's
// tokens must carry the ids of the vocabulary m was built with.
func (m *matcher) refFind(d *doc) []hit {
	var hits []hit
	var gaps []int
	var cands []int
	for i := range d.toks {
		cands = m.refCandidates(&d.toks[i], cands)
		for _, n := range cands {
			p := m.pats[n]
			end, g, ok := p.refMatchAt(d.toks, i, gaps[:0])
			gaps = g
			if !ok {
				continue
			}
			h := hit{kind: m.kind[n], pat: p, start: i, end: end, neg: -1}
			if len(g) > 0 {
				h.gaps = append([]int(nil), g...)
			}
			hits = append(hits, h)
		}
	}
	return hits
}

// from pattern.go
// refCandidates appends to buf the patterns that may start at token t, each
// once.
func (m *matcher) refCandidates(t *token, buf []int) []int {
	buf = buf[:0]
	add := func(l []int) {
	next:
		for _, n := range l {
			for _, have := range buf {
				if have == n {
					continue next
				}
			}
			buf = append(buf, n)
		}
	}
	if t.id >= 0 && int(t.id) < len(m.byID) {
		buf = append(buf, m.byID[t.id]...)
	}
	if len(t.w) >= 3 && len(m.byPrefix) > 0 {
		add(m.byPrefix[t.w[:3]])
	}
	if len(m.byNumber) > 0 && refIsNumber(t.w) {
		add(m.byNumber)
	}
	return buf
}

// from pattern.go
// refMatchAt tries to match p at token i. It returns the end (exclusive) and
// appends the indexes of tokens matched by gaps to gaps.
func (p *pattern) refMatchAt(toks []token, i int, gaps []int) (int, []int, bool) {
	return refMatchElems(p.elems, toks, i, toks[i].clause, gaps)
}

// from pattern.go
// refMayStart reports whether an alternative of e can start with t.
func (e *elem) refMayStart(t *token) bool {
	if t.id >= 0 {
		for _, id := range e.startIDs {
			if id == t.id {
				return true
			}
		}
	}
	for _, p := range e.prefixes {
		if strings.HasPrefix(t.w, p) {
			return true
		}
	}
	return e.number && refIsNumber(t.w)
}

// from pattern.go
func (m *wordm) refMatch(t *token) bool {
	switch {
	case m.number:
		return refIsNumber(t.w)
	case m.prefix:
		return strings.HasPrefix(t.w, m.w)
	}
	return t.id == m.id || t.id == m.plural && t.id >= 0
}
