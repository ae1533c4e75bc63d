package triage

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// Start times are found in two steps. First, candidate expressions are
// located with the regular expressions below (absolute dates, clock times,
// "5 minutes ago", "since 2 days", "yesterday", "last Friday", "this
// morning", "the 21st"); adjacent ones merge ("yesterday at 3pm"). A
// candidate counts as the start of the incident when it is inherently in
// the past ("ago", "yesterday", "since ..."), when a start word precedes
// it in its sentence ("started", "noticed", "at", "from"), or when a time
// of day opens its sentence ("Today at 10:45 ..."); and no future word
// precedes it ("until", "by", "next", "every"). Then it is resolved: a
// strict pass with time.ParseInLocation over ISO and day-first layouts,
// then github.com/olebedev/when for relative phrases, against the mail's
// Date in the customer's zone. A start time cannot lie in the future: a
// clock time later than the Date is taken as yesterday's, a weekday as
// last week's.

const (
	monthNames = `(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?`
	dayNames   = `(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`
	zoneAbbr   = `(?:UTC|GMT|BST|IST|CET|CEST|EET|EEST|WET|WEST|EST|EDT|CST|CDT|MST|MDT|PST|PDT|AEST|AEDT|ACST|ACDT|AWST|NZST|NZDT|JST|SGT|HKT|Z|[+-]\d{2}:?\d{2})`
	numWords   = `(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|forty-five|a few|few|a couple of|couple of|several|half an?)`
	units      = `(?:sec(?:ond)?s?|min(?:ute)?s?|mins|h|hrs?|hours?|days?|weeks?|months?)`
)

// The expressions of times that start with a number.
var (
	// ISO date, optional time and zone
	numISO = `\d{4}-\d{2}-\d{2}(?:[t ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)?(?:\s?` + zoneLower + `\b)?`
	// day-first numeric date, optional time
	numDate = `\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?)?)?`
	// "20 November 2026", "20th of Nov"
	numDayMonth = `\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthNames + `(?:\s+\d{4})?\b`
	// clock times
	numClock = `(?:[01]?\d|2[0-3])[:.][0-5]\d(?:\s?[ap]\.?m\.?)?(?:\s?` + zoneLower + `\b)?`
	numAmPm  = `(?:1[0-2]|0?[1-9])\s?[ap]\.?m\.?(?:\s?` + zoneLower + `\b)?`
	// "5 minutes ago"
	numAgo = numWords + `\s+` + units + `\s+ago\b`
)

var (
	// The time expressions, by the kind of word they start with. They are
	// tried at the start of such a word, on lower-cased text.
	reAtomNumber = anchored(numISO, numDate, numDayMonth, numClock, numAmPm, numAgo)
	// reAtomNumber's alternatives by what follows the digits they start
	// with, for atomNumber; each keeps the alternatives that can match
	// there, in their order.
	reNumDash      = anchored(numISO)
	reNumSlash     = anchored(numDate)
	reNumDot       = anchored(numDate, numClock)
	reNumColon     = anchored(numClock)
	reNumSpace     = anchored(numDayMonth, numAmPm, numAgo)
	reNumSuffix    = anchored(numDayMonth)
	reNumAmPm      = anchored(numAmPm)
	reAtomMonth    = anchored(monthNames + `\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b`)
	reAtomCount    = anchored(numWords + `\s+` + units + `\s+ago\b`)
	reAtomDuration = anchored(`(?:since|for)\s+(?:the\s+)?(?:(?:last|past)\s+)?` + numWords + `\s+` + units + `(?:\s+ago)?\b`)
	reAtomDay      = anchored(
		`yesterday(?:'s)?(?:\s+(?:morning|afternoon|evening|night))?`,
		`last\s+night\b`,
		`(?:this|today|today's|this\s+past)?\s*(?:morning|afternoon|evening)(?:'s)?\b`,
		`earlier\s+today\b`,
		`(?:today|tonight|overnight)\b`,
		`(?:last|this\s+past|past)?\s*`+dayNames+`(?:'s)?(?:\s+(?:morning|afternoon|evening|night))?\b`,
		`last\s+(?:week|weekend|month)\b`,
		`(?:noon|midday|midnight)\b`,
		`lunch\s?time\b`,
	)
	reAtomThe = anchored(`the\s+weekend\b`, `the\s+\d{1,2}(?:st|nd|rd|th)\b`)
	zoneLower = strings.ToLower(zoneAbbr)
	// what may stand between two parts of one time expression
	reTimeGlue = regexp.MustCompile(`(?i)^[\s,]*(?:at|around|about|approx\.?|approximately|roughly|from|on|of|in the|,)?[\s,]*$`)
	// words before a candidate that make it a start time: anywhere in the
	// last few words, or right before it
	reStartCue = regexp.MustCompile(`(?i)\b(?:since|started|starting|start|began|begun|beginning|from|noticed|occurred|happened|happening|stopped|failed|failing|broke|crashed|went down|as of|after|first seen|first noticed|last seen)\b|\b(?:at|around|about|approx\.?|approximately|been)\s*$`)
	// words before a candidate that make it something else
	reFutureCue = regexp.MustCompile(`(?i)\b(?:until|till|by|within|next|tomorrow|later|call|ring|meeting|deadline|present|presenting|board|due|expect|expecting|reply|respond|book|schedule|scheduled|appointment|launch|go-?live)\b|\b(?:every|each)\s*$`)
	// the start word kept with the phrase: "since 07:40"
	reCueWord = regexp.MustCompile(`(?i)\b(?:since|from|as of|at|around|about|approx\.?|approximately|on)(?:\s+(?:at|around|about|approx\.?|approximately))?\s*$`)
	// a phrase about the future
	reFutureWord = regexp.MustCompile(`(?i)\b(?:tomorrow|next)\b`)
	// inherently past phrases
	// a part of the day alone, as greetings write it: "Morning Sunil,"
	reGreeting = regexp.MustCompile(`(?i)^\s*(?:good\s+)?(?:morning|afternoon|evening)\s*$`)
	reInherent = regexp.MustCompile(`(?i)^(?:since\b|for\s+(?:the\s+)?(?:last|past)\b|.*\bago$|yesterday|last\s+(?:night|week|weekend|month|` + dayNames + `)|earlier\s+today|this\s+past|\d{4}-\d{2}-\d{2}[T ]\d)`)
)

// timeCandidate is one time expression found in text.
type timeCandidate struct {
	text string    // the customer's phrase, with the start word before it ("since 07:40")
	at   time.Time // the instant it resolves to; zero if it could not be
}

// startTime finds the start of the incident in free text; lower is
// ascii.Lower(text).
func (t *Triage) startTime(text, lower string, base time.Time, haveBase bool) (timeCandidate, bool) {
	if text == "" {
		return timeCandidate{}, false
	}
	var found timeCandidate
	ok := false
	eachTimeSpan(text, lower, func(a, b int) bool {
		c, accepted := t.startCandidate(text, a, b, base, haveBase)
		if accepted {
			found, ok = c, true
		}
		return !accepted
	})
	return found, ok
}

// startCandidate decides whether the time expression text[a:b] is the
// start of the incident, and resolves it.
func (t *Triage) startCandidate(text string, a, b int, base time.Time, haveBase bool) (timeCandidate, bool) {
	phrase := text[a:b]
	before := sentenceBefore(text, a)
	if n := len(before); n > 80 {
		before = before[n-80:]
	}
	// Keep the start word with the phrase: "since 07:40".
	cueStart := a
	if mayEndWithCue(before) {
		if m := reCueWord.FindStringIndex(before); m != nil {
			cueStart = a - (len(before) - m[0])
		}
	}
	full := strings.TrimRight(collapseSpace(text[cueStart:b]), ".,;:!?")
	inherent := reInherent.MatchString(full) || reInherent.MatchString(collapseSpace(phrase)) || ongoingFor(text, a, b, before)
	words := strings.Fields(before)
	// A time of day that opens its sentence tells when something happened:
	// "Today at 10:45 our manager exported ...".
	opens := len(words) == 0 && reHasClock.MatchString(ascii.Lower(phrase)) && !reGreeting.MatchString(phrase)
	if !inherent && !opens && !reStartCue.MatchString(strings.Join(words[max(0, len(words)-8):], " ")) {
		return timeCandidate{}, false
	}
	if futureCue(strings.Join(words[max(0, len(words)-5):], " ")) || reFutureWord.MatchString(phrase) {
		return timeCandidate{}, false
	}
	// What resolve does, keeping future for the test below.
	at, future := t.resolveRaw(phrase, base)
	if h, ok := bareHour(phrase); ok && haveBase {
		at = time.Date(base.Year(), base.Month(), base.Day(), h, 0, 0, 0, base.Location())
		if at.After(base.Add(skew)) {
			at = at.AddDate(0, 0, -1)
		}
		future = false
	}
	if dm, ok := dayMonth(phrase, base); ok && haveBase {
		at, future = dm, false
	}
	ok := !at.IsZero() && !future
	if !ok {
		at = time.Time{}
	}
	if haveBase && !ok && !inherent && !strings.HasPrefix(strings.ToLower(full), "since") {
		// A bare time that cannot be placed before the mail is no start time.
		if future {
			return timeCandidate{}, false
		}
	}
	return timeCandidate{text: full, at: at}, true
}

// cueWords are the last words reCueWord can match.
var cueWords = map[string]bool{"since": true, "from": true, "of": true, "at": true, "around": true, "about": true, "approx": true, "approximately": true, "on": true}

// mayEndWithCue is a quick test of whether reCueWord can match s: s must
// end, but for white space and a dot, with one of cueWords. A word with
// bytes beyond ASCII before it passes, as "\u017f" folds to "s".
func mayEndWithCue(s string) bool {
	s = strings.TrimRight(s, " \t\n\f\r")
	s = strings.TrimSuffix(s, ".")
	k := len(s)
	for k > 0 && isASCIIWordByte(s[k-1]) {
		k--
	}
	if k > 0 && s[k-1] >= utf8.RuneSelf {
		return true
	}
	if len(s)-k > len("approximately") {
		return false
	}
	var buf [16]byte
	w := buf[:len(s)-k]
	for i := range w {
		w[i] = s[k+i]
		if w[i] >= 'A' && w[i] <= 'Z' {
			w[i] += 'a' - 'A'
		}
	}
	return cueWords[string(w)]
}

// futureWords are the words reFutureCue finds anywhere.
var futureWords = map[string]bool{
	"until": true, "till": true, "by": true, "within": true, "next": true, "tomorrow": true, "later": true, "call": true,
	"ring": true, "meeting": true, "deadline": true, "present": true, "presenting": true, "board": true, "due": true,
	"expect": true, "expecting": true, "reply": true, "respond": true, "book": true, "schedule": true, "scheduled": true,
	"appointment": true, "launch": true, "golive": true,
}

// futureCue reports whether reFutureCue matches s. On ASCII text it
// compares the words of s (runs of \w) with futureWords, "go-live" and,
// at the end, "every" and "each"; other text goes to reFutureCue, whose
// case folding reaches beyond ASCII ("\u212a" is a "k").
func futureCue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return reFutureCue.MatchString(s)
		}
	}
	var buf [16]byte
	last, lastEnd := "", 0
	prev, prevEnd := "", -1
	for i := 0; i < len(s); {
		if !isASCIIWordByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isASCIIWordByte(s[j]) {
			j++
		}
		w := ""
		if j-i <= len(buf) {
			b := buf[:j-i]
			for k := range b {
				b[k] = s[i+k]
				if b[k] >= 'A' && b[k] <= 'Z' {
					b[k] += 'a' - 'A'
				}
			}
			w = string(b)
		}
		if futureWords[w] || w == "live" && prev == "go" && prevEnd == i-1 && s[i-1] == '-' {
			return true
		}
		prev, prevEnd = w, j
		last, lastEnd = w, j
		i = j
	}
	if last == "every" || last == "each" {
		return strings.TrimRight(s[lastEnd:], " \t\n\f\r") == ""
	}
	return false
}

// firstTime resolves the first time expression in s (a labelled value).
func (t *Triage) firstTime(s string, base time.Time) (timeCandidate, bool) {
	for _, span := range mergeTimeAtoms(s) {
		phrase := s[span[0]:span[1]]
		if at, ok := t.resolve(phrase, base); ok {
			return timeCandidate{text: phrase, at: at}, true
		}
	}
	return timeCandidate{}, false
}

// mergeTimeAtoms returns the spans of time expressions in text, adjacent
// atoms merged.
func mergeTimeAtoms(text string) [][2]int {
	var spans [][2]int
	eachTimeSpan(text, ascii.Lower(text), func(a, b int) bool {
		spans = append(spans, [2]int{a, b})
		return true
	})
	return spans
}

// eachTimeSpan calls f with each time expression of text, adjacent atoms
// merged, until f returns false; lower is ascii.Lower(text). The
// expressions are large, so they are tried only at the start of words
// that can begin a time (a number, "since", "yesterday", "Monday", ...),
// on a short lower-cased slice.
func eachTimeSpan(text, lower string, f func(a, b int) bool) {
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
		// mayBeTime reads the same on lower as on text.
		if !(isDigitByte(c) || j-i <= 9 && timeStarts[lower[i:j]]) || !mayBeTime(lower, i, j) {
			i = j
			continue
		}
		// Only the glue between two atoms joins them, and no word that
		// starts a time is glue but "the" ("yesterday in the 10:30"):
		// unless this word is "the" or the text up to it is glue, no atom
		// from here on joins cur, and cur can go to f before the
		// expressions run, which f may make needless.
		if cur[0] >= 0 && lower[i:j] != "the" && !isTimeGlue(text[cur[1]:i]) {
			if !f(cur[0], cur[1]) {
				return
			}
			cur = [2]int{-1, -1}
		}
		end := min(len(text), i+80)
		for end < len(text) && text[end] != ' ' && text[end] != '\n' {
			end++
		}
		if !mayBeWordAtom(lower, i, j, end) {
			i = j
			continue
		}
		re := reAtomDay
		switch w := lower[i:j]; {
		case isDigitByte(c):
			re = atomNumber(lower[i:end])
		case monthWords[w]:
			re = reAtomMonth
		case w == "since" || w == "for":
			re = reAtomDuration
		case w == "the":
			re = reAtomThe
		case countWords[w]:
			re = reAtomCount
		}
		var m []int
		if n := dayMonthDot(text, i); n > 0 {
			m = []int{0, n}
		} else if re != nil {
			m = re.FindStringIndex(lower[i:end])
		}
		if m == nil && lower[i:j] == "since" {
			m = sinceHour(lower, i, end)
		}
		if m == nil || m[1] == 0 {
			i = j
			continue
		}
		a, b := i, i+m[1]
		switch {
		case cur[0] >= 0 && isTimeGlue(text[cur[1]:a]):
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

// dayMonthDot returns the length of a day-first date without a year at
// text[i:] ("04.11." in "since 04.11. every night"), or 0. Written so, the
// date ends in a dot; a clock time ("since 09.10.") ends a sentence with
// one. So it is a date only when the text goes on after the dot in the
// same sentence, with a lower-case word or a number.
func dayMonthDot(text string, i int) int {
	d, m, n := 0, 0, i
	for ; n < len(text) && n-i < 2 && isDigitByte(text[n]); n++ {
		d = d*10 + int(text[n]-'0')
	}
	if n == i || n >= len(text) || text[n] != '.' {
		return 0
	}
	k := n + 1
	for ; k < len(text) && k-n-1 < 2 && isDigitByte(text[k]); k++ {
		m = m*10 + int(text[k]-'0')
	}
	if k == n+1 || k >= len(text) || text[k] != '.' || d < 1 || d > 31 || m < 1 || m > 12 {
		return 0
	}
	k++ // the closing dot
	if k+1 >= len(text) || text[k] != ' ' {
		return 0
	}
	if c := text[k+1]; c >= 'a' && c <= 'z' || isDigitByte(c) {
		return k - i
	}
	return 0
}

// reDayMonth is a day-first date without a year, as dayMonthDot finds
// it, with the clock time that may follow: "04.11.", "02.08. 7:31".
var reDayMonth = regexp.MustCompile(`^(\d{1,2})\.(\d{1,2})\.(?:,?\s*(?:at\s+|um\s+)?([01]?\d|2[0-3])[:.]([0-5]\d))?$`)

// dayMonth places a reDayMonth phrase before base: this year's, or last
// year's when this year's lies after base.
func dayMonth(phrase string, base time.Time) (time.Time, bool) {
	m := reDayMonth.FindStringSubmatch(strings.TrimSpace(phrase))
	if m == nil {
		return time.Time{}, false
	}
	day, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	hour, _ := strconv.Atoi(m[3])
	minute, _ := strconv.Atoi(m[4])
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	at := time.Date(base.Year(), time.Month(month), day, hour, minute, 0, 0, base.Location())
	if at.After(base.Add(skew)) {
		at = at.AddDate(-1, 0, 0)
	}
	return at, true
}

// bareHour reads the hour of a phrase sinceHour found ("since around
// 11").
func bareHour(phrase string) (int, bool) {
	lower := ascii.Lower(phrase)
	if m := reSinceHour.FindStringIndex(lower); m == nil || m[1] != len(lower) {
		return 0, false
	}
	f := strings.Fields(lower)
	h, err := strconv.Atoi(f[len(f)-1])
	return h, err == nil
}

// reOngoing is a state just before "for 2 hours": "down for 2 hours",
// "has been failing for 3 days".
var reOngoing = regexp.MustCompile(`(?i)\b(?:been|down|offline|broken|stuck|unavailable|unusable|failing|erroring|frozen|hanging|not working|not loading|not responding|locked out|out|dead)\s*$`)

// ongoingFor reports whether the duration text[a:b] ("for 2 hours") says
// how long a failure has lasted, which places its start: a state stands
// right before it, or "now" or "already" right after it ("FOR 2 HOURS
// NOW"). "We waited for 2 hours" says no such thing.
func ongoingFor(text string, a, b int, before string) bool {
	if !strings.HasPrefix(ascii.Lower(text[a:min(b, a+4)]), "for ") {
		return false
	}
	switch nextWord(text, b) {
	case "now", "already", "straight", "solid":
		return true
	}
	return reOngoing.MatchString(before)
}

// fillerWords may stand between "since" and an hour ("since around 11").
var fillerWords = map[string]bool{"around": true, "about": true, "approx": true, "approximately": true, "roughly": true}

// reSinceHour is "since 11" and "since around 11": an hour of the clock
// standing alone.
var reSinceHour = anchored(`since\s+(?:(?:around|about|approx\.?|approximately|roughly)\s+)?(?:[01]?\d|2[0-3])\b`)

// sinceHour returns the span, relative to i, of a bare hour after "since"
// in lower[i:end], or nil: "since 11" but not "since 11 days", "since 11
// November", "since 11 users" or "since 11.30" (a clock the number atoms
// read).
func sinceHour(lower string, i, end int) []int {
	m := reSinceHour.FindStringIndex(lower[i:end])
	if m == nil {
		return nil
	}
	b := i + m[1]
	if b < len(lower) && (lower[b] == ':' || lower[b] == '.' && b+1 < len(lower) && isDigitByte(lower[b+1]) || lower[b] == '%') {
		return nil
	}
	next := nextWord(lower, b)
	switch {
	case timeWords[next], next == "am", next == "pm", next == "a", next == "p", next == "of", next == "out", next == "percent",
		len(next) > 3 && strings.HasSuffix(next, "s"):
		return nil
	}
	return m
}

// mayBeWordAtom is a quick test of whether the expression for the word
// lower[i:j] can match lower[i:end]: after a month name, white space and
// a digit must follow ("may 21"); a count ("a", "two", "several") starts
// a time only in "... ago". Other words pass.
func mayBeWordAtom(lower string, i, j, end int) bool {
	w := lower[i:j]
	switch {
	case isDigitByte(w[0]):
		return true
	case monthWords[w]:
		k := j
		if k < end && lower[k] == '.' {
			k++
		}
		if k >= end || !isRegexpSpace(lower[k]) {
			return false
		}
		for k < end && isRegexpSpace(lower[k]) {
			k++
		}
		return k < end && isDigitByte(lower[k])
	case w == "since" || w == "for" || w == "the":
		return true
	case countWords[w]:
		return strings.Contains(lower[j:end], "ago")
	}
	return true
}

// isRegexpSpace reports whether c is white space as \s of package regexp
// sees it.
func isRegexpSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// atomNumber returns the part of reAtomNumber that can match w, a
// lower-cased text that starts with a digit, or nil if none can. Which
// alternatives can match follows from what comes after the digits: white
// space ("20 november", "3 pm", "5 minutes ago"), a dash after four
// digits (2026-11-24), or after one or two digits a date or clock
// separator and a digit (24/11, 07:40) or the letter of a suffix (21st,
// 6am). With the others left out, the first alternative that matches,
// and how it matches, stay the same.
func atomNumber(w string) *regexp.Regexp {
	n := 0
	for n < len(w) && isDigitByte(w[n]) {
		n++
	}
	if n == len(w) {
		return nil
	}
	switch c := w[n]; {
	case isRegexpSpace(c):
		return reNumSpace
	case n == 4 && c == '-':
		return reNumDash
	case n > 2:
		return nil
	case c == '/' || c == '.' || c == ':':
		if n+1 == len(w) || !isDigitByte(w[n+1]) {
			return nil
		}
		switch c {
		case '/':
			return reNumSlash
		case '.':
			return reNumDot
		}
		return reNumColon
	case c == 's' || c == 'n' || c == 'r' || c == 't':
		return reNumSuffix
	case c == 'a' || c == 'p':
		return reNumAmPm
	}
	return nil
}

// isTimeGlue reports whether s, the text between two time atoms, joins
// them into one expression.
func isTimeGlue(s string) bool {
	return reTimeGlue.MatchString(s) && !strings.Contains(s, "\n\n")
}

// anchored compiles alternatives that must match at the start.
func anchored(alts ...string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + strings.Join(alts, "|") + `)`)
}

var monthWords = map[string]bool{
	"jan": true, "january": true, "feb": true, "february": true, "mar": true, "march": true, "apr": true, "april": true,
	"may": true, "jun": true, "june": true, "jul": true, "july": true, "aug": true, "august": true, "sep": true,
	"sept": true, "september": true, "oct": true, "october": true, "nov": true, "november": true, "dec": true, "december": true,
}

var countWords = map[string]bool{
	"a": true, "an": true, "one": true, "two": true, "three": true, "four": true, "five": true, "six": true, "seven": true,
	"eight": true, "nine": true, "ten": true, "eleven": true, "twelve": true, "fifteen": true, "twenty": true,
	"thirty": true, "forty": true, "few": true, "several": true, "couple": true, "half": true,
}

// mayBeTime is a quick test of whether the word text[i:j] can start a
// time expression, by the character or word that follows it: most numbers
// and most "a"s and "the"s in a mail start none.
func mayBeTime(text string, i, j int) bool {
	w := ascii.Lower(text[i:j])
	next := nextWord(text, j)
	switch {
	case isDigitByte(w[0]):
		if j < len(text) && strings.IndexByte(":./-", text[j]) >= 0 || !isNumber(w) {
			return true // 07:40, 24/11, 2026-11-24, 6am, 21st
		}
		return timeWords[next] || next == "am" || next == "pm" || next == "a" || next == "p" || next == "of" || next == "at"
	case countWords[w]:
		return timeWords[next] || countWords[next] || next == "of"
	case w == "the":
		return next == "weekend" || next != "" && isDigitByte(next[0]) || next == "last" || next == "past"
	case w == "since" || w == "for":
		return next != "" && (isDigitByte(next[0]) || countWords[next] || next == "the" || next == "last" || next == "past" || fillerWords[next])
	case w == "this" || w == "last" || w == "past" || w == "earlier":
		return timeWords[next] || next == "past" || next == "today"
	}
	return true
}

// timeWords can follow a number or "a", "this", "last" in a time
// expression.
var timeWords = map[string]bool{
	"yesterday": true, "today": true, "tonight": true, "night": true, "morning": true, "afternoon": true,
	"evening": true, "ago": true, "week": true, "weekend": true, "month": true, "sec": true, "secs": true,
	"second": true, "seconds": true, "min": true, "mins": true, "minute": true, "minutes": true, "h": true,
	"hr": true, "hrs": true, "hour": true, "hours": true, "day": true, "days": true, "weeks": true, "months": true,
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true,
	"jan": true, "january": true, "feb": true, "february": true, "mar": true, "march": true, "apr": true, "april": true,
	"may": true, "jun": true, "june": true, "jul": true, "july": true, "aug": true, "august": true, "sep": true,
	"sept": true, "september": true, "oct": true, "october": true, "nov": true, "november": true, "dec": true, "december": true,
	"st": true, "nd": true, "rd": true, "th": true, "utc": true, "gmt": true,
}

// nextWord returns the lower-cased ASCII word after offset j, skipping
// spaces and one comma.
func nextWord(text string, j int) string {
	for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == ',') {
		j++
	}
	k := j
	for k < len(text) && isASCIIAlnum(text[k]) {
		k++
	}
	if k-j > 12 {
		return ""
	}
	return ascii.Lower(text[j:k])
}

// timeStarts are the words a time expression can start with, besides
// numbers.
var timeStarts = map[string]bool{
	"since": true, "for": true, "yesterday": true, "last": true, "this": true, "today": true, "tonight": true,
	"overnight": true, "earlier": true, "past": true, "the": true, "noon": true, "midday": true, "midnight": true,
	"lunchtime": true, "lunch": true,
	"morning": true, "afternoon": true, "evening": true,
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true,
	"jan": true, "january": true, "feb": true, "february": true, "mar": true, "march": true, "apr": true, "april": true,
	"may": true, "jun": true, "june": true, "jul": true, "july": true, "aug": true, "august": true, "sep": true,
	"sept": true, "september": true, "oct": true, "october": true, "nov": true, "november": true, "dec": true, "december": true,
	"a": true, "an": true, "one": true, "two": true, "three": true, "four": true, "five": true, "six": true, "seven": true,
	"eight": true, "nine": true, "ten": true, "eleven": true, "twelve": true, "fifteen": true, "twenty": true,
	"thirty": true, "forty": true, "few": true, "several": true, "couple": true, "half": true,
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// resolve turns a time phrase into an instant not after base (plus a few
// minutes of clock skew).
func (t *Triage) resolve(phrase string, base time.Time) (time.Time, bool) {
	at, future := t.resolveRaw(phrase, base)
	if at.IsZero() || future {
		return time.Time{}, false
	}
	return at, true
}

// skew is how far after the mail's Date a start time may lie, for clocks
// that are a little off.
const skew = 5 * time.Minute

// resolveRaw resolves phrase against base; future reports a result that
// could only be read as lying after base.
func (t *Triage) resolveRaw(phrase string, base time.Time) (time.Time, bool) {
	s := strings.TrimRight(collapseSpace(phrase), ".,;:!?)")
	// An explicit zone: read the time there. If that puts it after the mail
	// but the customer's own clock does not, the customer meant their own
	// clock (a customer in Sydney writing "AEST" in summer); otherwise a
	// time of day after the mail is the day before's, in the zone given.
	if z, rest, ok := splitZone(s); ok {
		if at, future := t.resolveIn(rest, base.In(z), false); !at.IsZero() && !future {
			return at.In(base.Location()), false
		}
		if at, future := t.resolveIn(rest, base, false); !at.IsZero() && !future {
			return at, false
		}
		at, future := t.resolveIn(rest, base.In(z), true)
		return at.In(base.Location()), future
	}
	return t.resolveIn(s, base, true)
}

// resolveIn resolves s against base in base's zone. With back, a time of
// day after base is taken as the day before's, a weekday as last week's.
// A zero base places absolute dates only, in UTC unless s gives a zone.
func (t *Triage) resolveIn(s string, base time.Time, back bool) (time.Time, bool) {
	loc := base.Location()
	lower := strings.ToLower(s)
	glued := s
	// Every match of reDateTimeGlue holds ",", "@" or "at".
	if strings.ContainsAny(s, ",@") || strings.Contains(lower, "at") {
		glued = reDateTimeGlue.ReplaceAllString(s, "$1 $2")
	}
	if at, ok := strictParse(glued, loc); ok {
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
	// Each expression runs only on text that holds a word it needs.
	clean := lower
	if mayHoldFiller(clean) {
		clean = reFiller.ReplaceAllString(clean, "")
	}
	if strings.IndexByte(clean, '.') >= 0 {
		clean = reDotClock.ReplaceAllString(clean, "$1:$2")
	}
	clean = strings.ReplaceAll(clean, "'s", "")
	clean = strings.ReplaceAll(clean, "today morning", "this morning")
	if strings.Contains(clean, "lunch") {
		clean = reLunch.ReplaceAllString(clean, "noon")
	}
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

var (
	reLunch        = regexp.MustCompile(`lunch\s?time`)
	reClockOnly    = regexp.MustCompile(`^(\d{1,2})(?:[:.](\d{2}))?\s?(?:([ap])\.?m\.?)?$`)
	reDuration     = regexp.MustCompile(`^(?:since|for)\s+(?:the\s+)?(?:(?:last|past)\s+)?(` + numWords + `)\s+(` + units + `)$`)
	reOrdinalDay   = regexp.MustCompile(`^the\s+(\d{1,2})(?:st|nd|rd|th)$`)
	reFiller       = regexp.MustCompile(`\b(?:around|about|approx\.?|approximately|roughly|circa|ca\.)\s*`)
	reDotClock     = regexp.MustCompile(`\b(\d{1,2})\.(\d{2})\b`)
	reHasClock     = regexp.MustCompile(`\d[:.]\d\d|\d\s?[ap]\.?m\b|morning|afternoon|evening|night|noon|midday|midnight|tonight|lunch`)
	reWeekday      = regexp.MustCompile(`(?i)` + dayNames)
	reHasDate      = regexp.MustCompile(`(?i)\d{4}|` + monthNames + `|yesterday|` + dayNames)
	reDateTimeGlue = regexp.MustCompile(`(?i)(\d)\s*(?:,|\bat\b|@)\s*(\d)`)
	reZone         = regexp.MustCompile(`^(.*\S)\s+(` + zoneAbbr + `)$`)
	reZoneGlued    = regexp.MustCompile(`^(.*\d)(Z|[+-]\d{2}:?\d{2})$`)
)

// mayHoldFiller reports whether s holds a word reFiller removes.
func mayHoldFiller(s string) bool {
	for _, w := range []string{"around", "about", "approx", "roughly", "circa", "ca."} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// clockOnDay reads a clock time alone or with the day it falls on:
// "07:40", "07:40 this morning", "yesterday at 3pm", "11pm last night".
// day is 0 for today and -1 for yesterday.
func clockOnDay(s string) (day, hour, minute int, ok bool) {
	s = strings.TrimSpace(s)
	for _, w := range []struct {
		word string
		day  int
	}{{"this morning", 0}, {"this afternoon", 0}, {"this evening", 0}, {"today", 0}, {"tonight", 0}, {"yesterday", -1}, {"last night", -1}} {
		switch {
		case strings.HasSuffix(s, " "+w.word):
			day, s = w.day, strings.TrimSpace(strings.TrimSuffix(s, w.word))
		case strings.HasPrefix(s, w.word+" "):
			day, s = w.day, strings.TrimSpace(strings.TrimPrefix(s, w.word))
		default:
			continue
		}
		s = strings.TrimSpace(strings.TrimPrefix(s, "at "))
		s = strings.TrimSpace(strings.TrimSuffix(s, " at"))
		break
	}
	hour, minute, ok = clockOnly(s)
	return day, hour, minute, ok
}

// clockOnly reads "07:40", "9.15", "3pm", "11:10 pm".
func clockOnly(s string) (hour, minute int, ok bool) {
	m := reClockOnly.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	hour, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		minute, _ = strconv.Atoi(m[2])
	}
	switch {
	case m[3] == "" && m[2] == "":
		return 0, 0, false
	case m[3] != "" && (hour < 1 || hour > 12):
		return 0, 0, false
	case m[3] != "" && m[3][0] == 'p' && hour < 12:
		hour += 12
	case m[3] != "" && m[3][0] == 'a' && hour == 12:
		hour = 0
	}
	if hour > 23 || minute > 59 {
		return 0, 0, false
	}
	return hour, minute, true
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// durationOf reads "2 days", "a few minutes", "half an hour".
func durationOf(num, unit string) (time.Duration, bool) {
	var n float64
	switch num = strings.TrimSpace(num); num {
	case "a", "an", "one":
		n = 1
	case "two", "a couple of", "couple of":
		n = 2
	case "three", "a few", "few", "several":
		n = 3
	case "four":
		n = 4
	case "five":
		n = 5
	case "six":
		n = 6
	case "seven":
		n = 7
	case "eight":
		n = 8
	case "nine":
		n = 9
	case "ten":
		n = 10
	case "eleven":
		n = 11
	case "twelve":
		n = 12
	case "fifteen":
		n = 15
	case "twenty":
		n = 20
	case "thirty":
		n = 30
	case "forty":
		n = 40
	case "forty-five":
		n = 45
	case "half a", "half an":
		n = 0.5
	default:
		v, err := strconv.Atoi(num)
		if err != nil {
			return 0, false
		}
		n = float64(v)
	}
	var u time.Duration
	switch {
	case strings.HasPrefix(unit, "s"):
		u = time.Second
	case strings.HasPrefix(unit, "mi"):
		u = time.Minute
	case strings.HasPrefix(unit, "h"):
		u = time.Hour
	case strings.HasPrefix(unit, "d"):
		u = 24 * time.Hour
	case strings.HasPrefix(unit, "w"):
		u = 7 * 24 * time.Hour
	case strings.HasPrefix(unit, "mo"):
		u = 30 * 24 * time.Hour
	default:
		return 0, false
	}
	return time.Duration(n * float64(u)), true
}

// zoneOffsets are the zone abbreviations customers write, with their UTC
// offsets in hours. IST is read as Irish summer time, which is what a UK
// support desk's customers mean by it more often than India's.
var zoneOffsets = map[string]float64{
	"UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "IST": 1, "WEST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
	"AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5, "AWST": 8, "NZST": 12, "NZDT": 13, "JST": 9, "SGT": 8, "HKT": 8,
}

// splitZone splits a trailing zone off s.
func splitZone(s string) (*time.Location, string, bool) {
	// Both expressions need s to end with a capital (a zone's name) or a
	// digit (an offset).
	if s == "" || !(s[len(s)-1] >= 'A' && s[len(s)-1] <= 'Z' || isDigitByte(s[len(s)-1])) {
		return nil, s, false
	}
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

// strictLayouts are tried in order; day-first comes before month-first.
var strictLayouts = []string{
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	"02/01/2006 15:04", "2/1/2006 15:04", "02/01/2006, 15:04", "02/01/2006 at 15:04", "2/1/2006 at 15:04", "02/01/2006", "2/1/2006", "02/01/06",
	"02.01.2006 15:04", "2.1.2006 15:04", "02.01.2006", "2.1.2006",
	"01/02/2006 15:04", "1/2/2006 15:04", "01/02/2006", "1/2/2006",
	"2 January 2006 15:04", "2 January 2006", "2 Jan 2006 15:04", "2 Jan 2006", "January 2, 2006 15:04", "January 2, 2006", "January 2 2006", "Jan 2, 2006", "Jan 2 2006",
	"02/01/2006 3:04pm", "02/01/2006 3:04 pm", "2006-01-02 3:04pm", "2006-01-02 3:04 pm",
}

func strictParse(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range strictLayouts {
		if !mayFitLayout(layout, s) {
			continue
		}
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// mayFitLayout is a quick test of whether time.Parse can read s with
// layout, one of strictLayouts, by how s starts. Each layout starts with
// a year of four digits, a day or month of exactly two digits ("02",
// "01") or of one or two ("2", "1"), followed by a separator, or with a
// month name, which time.Parse reads in any ASCII case.
func mayFitLayout(layout, s string) bool {
	d := 0
	for d < len(s) && isDigitByte(s[d]) {
		d++
	}
	switch {
	case strings.HasPrefix(layout, "2006"):
		return d == 4 && len(s) > 4 && s[4] == layout[4]
	case strings.HasPrefix(layout, "02"), strings.HasPrefix(layout, "01"):
		return d == 2 && len(s) > 2 && s[2] == layout[2]
	case layout[0] == '2' || layout[0] == '1':
		return (d == 1 || d == 2) && len(s) > d && s[d] == layout[1]
	}
	return len(s) >= 3 && monthAbbrevs[ascii.Lower(s[:3])]
}

// monthAbbrevs are the three-letter month names time.Parse reads.
var monthAbbrevs = map[string]bool{
	"jan": true, "feb": true, "mar": true, "apr": true, "may": true, "jun": true,
	"jul": true, "aug": true, "sep": true, "oct": true, "nov": true, "dec": true,
}
