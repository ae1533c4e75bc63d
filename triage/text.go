package triage

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// token is one normalised word of a mail. Contractions are expanded
// ("can't" gives "cannot", "isn't" gives "is" and "not"), so a phrase list
// needs one spelling only; the expanded words share the span of the word
// they came from, which is what reasons quote.
type token struct {
	w          string // lower-case word
	id         int32  // the word's number in the phrase vocabulary, -1 if no phrase uses it
	start, end int32  // byte span in the source text (a mail's text is cut to maxText)
	clause     int32  // sentence index: phrases and gaps never cross it
	phrase     int32  // sub-clause index (commas, brackets, colons): negation never crosses it
}

// doc is a text split into tokens.
type doc struct {
	src  string
	toks []token
	// present is the set of the vocabulary numbers of toks, set with
	// them by vocab.ids; nil until then
	present []uint64
}

// expansions of contractions written without the apostrophe, and of the
// few that do not follow the "n't" rule.
var bareContractions = map[string][]string{
	"cant": {"cannot"}, "dont": {"do", "not"}, "doesnt": {"does", "not"}, "didnt": {"did", "not"},
	"isnt": {"is", "not"}, "arent": {"are", "not"}, "wasnt": {"was", "not"}, "werent": {"were", "not"},
	"couldnt": {"could", "not"}, "wouldnt": {"would", "not"}, "shouldnt": {"should", "not"},
	"havent": {"have", "not"}, "hasnt": {"has", "not"}, "hadnt": {"had", "not"}, "wont": {"will", "not"},
	"aint": {"is", "not"},
}

// shortLine is the length under which a line is taken as a line of its
// own rather than part of a paragraph wrapped at 72 or so characters.
const shortLine = 45

// idiomFirst reports whether w can start an idiom.
func idiomFirst(w string) bool {
	switch w {
	case "no", "not", "can", "slow", "slowed", "slows", "slowing", "drop", "scroll", "break", "work":
		return true
	}
	return false
}

// idioms are word pairs merged into one token so that their first word is
// not read as a negation ("no one can log in" is a scope, not a negation;
// "no longer works" reports a failure).
var idioms = map[[2]string]string{
	{"no", "one"}:    "nobody",
	{"no", "longer"}: "nolonger",
	{"not", "only"}:  "notonly",
	{"no", "matter"}: "nomatter",
	{"can", "not"}:   "cannot",
	// "slowed down" is slow, not down; a drop-down is a widget.
	{"slow", "down"}:    "slow",
	{"slowed", "down"}:  "slowed",
	{"slows", "down"}:   "slows",
	{"slowing", "down"}: "slowing",
	{"drop", "down"}:    "dropdown",
	{"scroll", "down"}:  "scroll",
	{"break", "down"}:   "breakdown",
	// "I cannot work out whether" is a question, not business blocked.
	{"work", "out"}: "workout",
}

// isClauseWord reports whether w starts a new sentence-level clause: what
// precedes "but" does not qualify what follows it.
func isClauseWord(w string) bool {
	switch w {
	case "but", "however", "although", "though", "whereas", "except":
		return true
	}
	return false
}

// tokenize splits s into normalised tokens with clause and phrase indexes.
// Sentence ends (. ! ? ;), blank lines, list items and labelled lines
// ("Impact: ...") separate clauses; commas, colons, brackets, quotes and
// dashes separate phrases.
func tokenize(s string) doc { return tokenizeLower(s, ascii.Lower(s), nil) }

// tokenizeLower is tokenize with ascii.Lower(s) given, so that a caller
// that needs the lower-cased text too makes it once, and with a buffer
// for the tokens (nil for a new one). An ASCII word's lower-case form is
// a slice of lower, which saves an allocation per word.
func tokenizeLower(s, lower string, buf []token) doc {
	if buf == nil || cap(buf) < len(s)/5 {
		buf = make([]token, 0, len(s)/5)
	}
	d := doc{src: s, toks: buf[:0]}
	var clause, phrase int32
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
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if r < utf8.RuneSelf && asciiWord[r] || r >= utf8.RuneSelf && isWordRune(r) {
			ascii, apostrophe := size == 1, false
			j := i + size
			for j < len(s) {
				if c := s[j]; c < utf8.RuneSelf && asciiWord[c] {
					j++
					continue
				}
				r2, n2 := rune(s[j]), 1
				if r2 >= utf8.RuneSelf {
					r2, n2 = utf8.DecodeRuneInString(s[j:])
				}
				if isWordRune(r2) {
					ascii = ascii && n2 == 1
					j += n2
					continue
				}
				// An apostrophe inside a word belongs to it (can't, customer's).
				if isApostrophe(r2) && j+n2 < len(s) {
					r3, _ := utf8.DecodeRuneInString(s[j+n2:])
					if unicode.IsLetter(r3) {
						ascii, apostrophe = ascii && n2 == 1, true
						j += n2
						continue
					}
				}
				break
			}
			if lineStart && isListItem(s[i:]) {
				newClause()
			}
			lineStart = false
			var word string
			if ascii {
				word = lower[i:j]
			} else {
				word = strings.ToLower(s[i:j])
			}
			if isClauseWord(word) {
				newClause()
			}
			// Apostrophes are in the word only where the loop above took
			// them, and lower-casing makes none.
			if !strings.HasSuffix(word, "nt") && !apostrophe {
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
			case k >= len(s) || s[k] == '\n' || isListItem(s[k:]) || isLabelLine(s[k:]):
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

// add appends t, merging it with the previous token into an idiom where
// one applies.
func (d *doc) add(t token) {
	if n := len(d.toks); n > 0 && idiomFirst(d.toks[n-1].w) {
		prev := &d.toks[n-1]
		if m, ok := idioms[[2]string{prev.w, t.w}]; ok && prev.clause == t.clause {
			prev.w, prev.end = m, t.end
			return
		}
	}
	d.toks = append(d.toks, t)
}

// expand normalises one lower-case word, expanding contractions.
func expand(w string) []string {
	if strings.ContainsAny(w, "'\u2019") {
		w = strings.ReplaceAll(w, "\u2019", "'")
		switch {
		case w == "can't":
			return []string{"cannot"}
		case w == "won't":
			return []string{"will", "not"}
		case w == "ain't":
			return []string{"is", "not"}
		case w == "shan't":
			return []string{"shall", "not"}
		case strings.HasSuffix(w, "n't"):
			return []string{w[:len(w)-3], "not"}
		case strings.HasSuffix(w, "'s"):
			stem := w[:len(w)-2]
			switch stem {
			case "it", "that", "there", "what", "here", "who", "he", "she", "where":
				return []string{stem, "is"}
			}
			return []string{stem}
		case strings.HasSuffix(w, "'re"):
			return []string{w[:len(w)-3], "are"}
		case strings.HasSuffix(w, "'ve"):
			return []string{w[:len(w)-3], "have"}
		case strings.HasSuffix(w, "'ll"):
			return []string{w[:len(w)-3], "will"}
		case strings.HasSuffix(w, "'d"):
			return []string{w[:len(w)-2], "would"}
		case strings.HasSuffix(w, "'m"):
			return []string{w[:len(w)-2], "am"}
		}
		return []string{strings.ReplaceAll(w, "'", "")}
	}
	if e, ok := bareContractions[w]; ok {
		return e
	}
	return []string{w}
}

// asciiWord holds the ASCII characters isWordRune takes.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
	}
	return t
}()

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isApostrophe(r rune) bool { return r == '\'' || r == '\u2019' }

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
}

func isDigitByte(b byte) bool { return b >= '0' && b <= '9' }

// trimBlanks returns s without the spaces and tabs that start it:
// strings.TrimLeft(s, " \t") without building the cut set at every line.
func trimBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// isListItem reports whether s (the rest of a line after its indentation)
// starts a list item: "1.", "2)", "-", "*", "•", "Step 3:".
func isListItem(s string) bool {
	s = trimBlanks(s)
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

// isLabelLine reports whether s starts with a short label followed by a
// colon ("Start time: ...", "Impact:").
func isLabelLine(s string) bool {
	s = trimBlanks(s)
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

// quote returns the source text of tokens [i, j) with runs of white space
// collapsed, for reasons.
func (d *doc) quote(i, j int) string {
	if i >= j || j > len(d.toks) {
		return ""
	}
	return collapseSpace(d.src[d.toks[i].start:d.toks[j-1].end])
}

// collapseSpace replaces every run of white space in s by one space and
// trims it.
func collapseSpace(s string) string {
	if isASCII(s) {
		return collapseASCIISpace(s)
	}
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

// collapseASCIISpace is collapseSpace for ASCII s, where unicode.IsSpace
// takes the six of isASCIISpace.
func collapseASCIISpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isASCIISpace(c) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
