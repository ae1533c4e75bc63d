package triage

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// Labelled lines ("Start time: ...") are always recognised; a label with
// nothing after it takes the lines below it up to a blank line.
var labelRes = []struct {
	field string
	re    *regexp.Regexp
	keys  []string // every label the expression takes holds one of these
}{
	{helpdesk.FieldStartTime, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:incident\s+|issue\s+|problem\s+|outage\s+)?(?:start(?:ed|ing)?(?:\s+(?:time|date|date/time|datetime|at|on))?|time\s+(?:of\s+(?:the\s+)?(?:incident|issue|problem|outage)|started|it\s+started)|when(?:\s+did\s+it\s+start)?|since|first\s+(?:noticed|seen|occurred|observed)|occurred(?:\s+(?:at|on))?|date/time|date\s+and\s+time|began)\s*[:\x{FF1A}]\s*(.*)$`),
		[]string{"start", "time", "when", "since", "first", "occurred", "date", "began"}},
	{helpdesk.FieldErrorText, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:[\p{L}/]+\s+){0,2}?(?:error|errors|exception|crash|warning|fault)(?:\s+(?:message|messages|text|code|codes|shown|displayed|details|output|log|received|reported|seen))?\s*[:\x{FF1A}]\s*(.*)$`),
		[]string{"error", "exception", "crash", "warning", "fault"}},
	{helpdesk.FieldReproSteps, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:steps(?:\s+to\s+(?:reproduce|repro|replicate|recreate))?|to\s+(?:reproduce|replicate|recreate)|how\s+to\s+(?:reproduce|replicate|recreate)|repro(?:duction)?(?:\s+steps)?|str)\s*[:\x{FF1A}]\s*(.*)$`),
		[]string{"step", "repro", "replicat", "recreat", "str"}},
	{helpdesk.FieldImpact, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:(?:business\s+)?impact(?:\s+on\s+(?:users|the\s+business|business))?|affected\s+(?:users|customers|people)|(?:users|customers|people)\s+affected|who\s+is\s+affected|number\s+of\s+(?:affected\s+)?users|scope)\s*[:\x{FF1A}]\s*(.*)$`),
		[]string{"impact", "affected", "number", "scope"}},
	{helpdesk.FieldService, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:(?:which|affected)\s+)?(?:services?|system|product|application|app|module|component|platform|store|site|website|url|environment)(?:\s+affected)?\s*[:\x{FF1A}]\s*(.*)$`),
		[]string{"service", "system", "product", "app", "module", "component", "platform", "store", "site", "url", "environment"}},
}

// placeholder values mean the customer did not know.
var placeholder = regexp.MustCompile(`(?i)^(?:n/?a|none|unknown|not sure|no idea|don'?t know|-+|\?+|tbc|tbd|\.+)$`)

// labelShape reports whether line starts with a short label and a colon,
// so that the label expressions run only on such lines.
func labelShape(line string) bool {
	line = trimMarks(line)
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

// trimMarks returns line without the blanks, quote marks and bullets
// that start it: strings.TrimLeft(line, " \t>*-\u2022"), without building
// the cut set on every line.
func trimMarks(line string) string {
	for len(line) > 0 {
		switch c := line[0]; {
		case c == ' ' || c == '\t' || c == '>' || c == '*' || c == '-':
			line = line[1:]
		case strings.HasPrefix(line, "\u2022"):
			line = line[len("\u2022"):]
		default:
			return line
		}
	}
	return line
}

// labelOf returns, lower-cased into buf, the part of line before its
// first colon, where the label expressions find their label; ascii is
// false when that part is not all ASCII (or too long for buf), and then
// label says nothing. In ASCII, lower-casing is all the case folding of
// (?i) expressions does.
func labelOf(line string, buf []byte) (label []byte, ascii bool) {
	end := len(line)
	if k := strings.IndexByte(line, ':'); k >= 0 {
		end = k
	}
	if k := strings.Index(line[:end], "\uff1a"); k >= 0 {
		end = k
	}
	if end > cap(buf) {
		return nil, false
	}
	for i := 0; i < end; i++ {
		c := line[i]
		if c >= utf8.RuneSelf {
			return nil, false
		}
		if c >= 'A' && c <= 'Z' { // the named result ascii hides the package here
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf, true
}

// containsAny reports whether s holds one of words.
func containsAny(s []byte, words []string) bool {
	for _, w := range words {
		if bytes.Contains(s, []byte(w)) {
			return true
		}
	}
	return false
}

// labelled returns the value of each labelled field in a text split
// into lines, and which fields have a labelled line at all (one with a
// placeholder such as "n/a" or "?" too).
func labelled(lines []string) (out map[string]string, stated map[string]bool) {
	out = map[string]string{}
	var buf [64]byte
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		if !labelShape(line) {
			continue
		}
		label, ascii := labelOf(line, buf[:0])
		for _, l := range labelRes {
			if _, done := out[l.field]; done {
				continue
			}
			if ascii && !containsAny(label, l.keys) {
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
			if stated == nil {
				stated = map[string]bool{}
			}
			stated[l.field] = true
			break
		}
	}
	return out, stated
}

// fields extracts the incident facts: labelled lines first, then free text.
func (t *Triage) fields(in Input, an *analysis) helpdesk.Fields {
	var f helpdesk.Fields
	lab, stated := labelled(an.textLines())
	base, ok := reference(in)

	if v := lab[helpdesk.FieldStartTime]; v != "" {
		f.StartTime = v
		if c, found := t.firstTime(v, base); found {
			f.StartInstant = c.at
		}
	} else if c, found := t.startTime(in.Text, an.textLower, base, ok); found {
		f.StartTime, f.StartInstant = c.text, c.at
	} else if c, found := t.startTime(an.subject, an.subjectLower, base, ok); found {
		f.StartTime, f.StartInstant = c.text, c.at
	} else if m := reEventStart.FindString(in.Text); m != "" {
		f.StartTime = collapseSpace(m) // "since the last release": a start, though no instant
	} else if m := reLooseStart.FindString(in.Text); m != "" {
		f.StartTime = collapseSpace(m) // "since the start of this month", "for about a week"
	} else if m := findClauseStart(in.Text); m != "" {
		f.StartTime = m // "since we uploaded the new logo", "nobody can log in this morning"
	}

	f.ErrorText = lab[helpdesk.FieldErrorText]
	if f.ErrorText == "" {
		f.ErrorText = findError(in.Text)
	}
	if f.ErrorText == "" {
		f.ErrorText = findError(an.subject)
	}

	f.ReproSteps = lab[helpdesk.FieldReproSteps]
	if f.ReproSteps == "" {
		f.ReproSteps = findRepro(in.Text, an.textLower, an.textLines())
	}

	f.Impact = lab[helpdesk.FieldImpact]
	if f.Impact == "" {
		f.Impact = t.findImpact(an, f.ErrorText)
	}

	f.Service = lab[helpdesk.FieldService]
	if f.Service == "" {
		f.Service = findService(an)
	}
	if stated != nil {
		an.stated = stated
	}
	return f
}

// reEventStart is a start told by an event rather than a time: "since the
// last release", "after yesterday's update", "ever since the migration".
var reEventStart = regexp.MustCompile(`(?i)\b(?:ever since|since|after|following|right after|straight after|started after|began after)\s+(?:the|your|our|their|last night's|yesterday's|this morning's|today's|the weekend's|this week's|last week's)?\s*(?:last|latest|recent|new|most recent|weekend|nightly|scheduled|planned|last night's|big|monthly|weekly|overnight|automatic)?\s*(?:[a-z0-9-]+\s+)?(?:release|update|upgrade|deploy|deployment|patch|maintenance|migration|go-?live|rollout|roll-out|restart|reboot|outage|version|switch ?over|cut ?over|cutover|import|installation|install|changeover|change ?over|daylight saving)\b`)

// reLooseStart is a start told without a time the resolver can place: a
// duration of the problem ("has been patchy for about a week", "since
// approximately 1 hour", non-native "from some days"; not "we waited for
// 2 hours"), a part of a period ("since the
// start of this month", "since the begin of November", "since about
// mid-September"), a part of a day ("since this night"), or "it started
// after ...".
var reLooseStart = regexp.MustCompile(`(?i)\b(?:(?:since|from|(?:been|is|are|was|were|has|have)\s+(?:[a-z']+\s+){0,3}for)\s+(?:(?:about|around|approx\.?|approximately|roughly|maybe|perhaps|nearly|almost|over|more than|at least|the last|the past|last|past|some|a few|few|several|a couple of|couple of|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|\d+)\s+){1,3}(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|nights?)\b(?:\s+now)?|since\s+(?:about\s+|around\s+)?(?:the\s+)?(?:start|beginning|begin|middle|end)\s+of\s+(?:the\s+|this\s+|last\s+)?[a-z]+|since\s+(?:about\s+|around\s+)?mid-?[a-z]+|since\s+(?:this|last|yesterday|today)\s+(?:night|morning|evening|afternoon|week|weekend|month)|(?:it|this|the problem|the issue|this issue|the error)\s+(?:started|began|first happened|first appeared)\s+(?:on|at|after|around|about|when|last|this|yesterday|today|in))\b`)

// The starts findClauseStart reads, each a regular expression over one
// sentence:
//   - reSinceClause: "since" and a clause in the past tense ("since we
//     uploaded the new logo", "since the survey closed on 16/3"), not a
//     cause ("since we need it by Friday");
//   - reSinceVague: "since March", "since late May", "since 10ish", "since
//     about a fortnight ago";
//   - rePastSpan: a span of the past the problem fills ("over the past
//     week", "for the last two Mondays", "in the last hour", "started this
//     month");
//   - reFailingNow: a failure told with the part of the day it is
//     happening in ("nobody can log in this morning", "this afternoon all
//     the notes are gone").
var (
	reSinceClause = regexp.MustCompile(`(?i)\bsince\s+(?:we|i|you|they|he|she|it|someone|somebody|(?:the|our|your|my|their|a|an)\s+[a-z0-9-]+(?:\s+[a-z0-9-]+)?)\s+(?:(?:have|has|had|just|first|last|all|both)\s+)?(?:[a-z]{2,}ed|went|came|began|made|put|ran|sent|took|got|did|was|were|brought|built|left|lost|switched|shut|broke|upgraded|logged|set up|moved|opened)\b[^.!?\n]{0,60}`)
	reSinceVague  = regexp.MustCompile(`(?i)\bsince\s+(?:(?:about|around|roughly|approximately|maybe)\s+)?(?:(?:early|late|mid-?)\s*)?(?:january|february|march|april|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b|\bsince\s+(?:(?:about|around|roughly|approximately)\s+)?(?:[01]?\d|2[0-3])\s?-?ish\b|\b(?:since|for)\s+(?:(?:about|around|roughly|over|almost|nearly)\s+)?(?:a|one|two|the\s+(?:last|past))\s+fortnights?(?:\s+ago)?\b`)
	rePastSpan    = regexp.MustCompile(`(?i)\b(?:over|during|for|in|throughout)\s+the\s+(?:past|last)\s+(?:(?:few|couple\s+of|several|\d+|two|three|four|five|six)\s+)?(?:minutes?|hours?|days?|weeks?|months?|nights?|mornings?|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|weekends?|shifts?)\b(?:\s+or\s+so)?|\b(?:started|began|begun|starting|beginning)\s+(?:(?:only|just|again)\s+)?(?:this|last|earlier\s+this)\s+(?:week|month|morning|afternoon|evening|year|weekend)\b`)
	reFailingNow  = regexp.MustCompile(`(?i)\b(?:can't|can\x{2019}t|cannot|can not|couldn't|unable to|won't|doesn't|don't|didn't|isn't|aren't|wasn't|weren't|no longer|nobody|no one|none of|stopped|fails?|failed|failing|broke|broken|down|gone|missing|crash(?:ed|es|ing)?|disappeared|wrong|errors?|blank|frozen|stuck|slow)\b[^.!?\n]{0,80}?\b(this morning|this afternoon|this evening|today|this week|tonight|overnight)\b|\b(this morning|this afternoon|this evening|today|this week|overnight)\b[^.!?\n]{0,80}?\b(?:can't|can\x{2019}t|cannot|can not|couldn't|unable to|won't|doesn't|didn't|isn't|aren't|wasn't|weren't|no longer|nobody|no one|none of|stopped|failed|failing|broke|broken|went down|is down|are down|gone|missing|crashed|crashing|disappeared|blank|frozen|stuck)\b`)
)

// findClauseStart returns the words of the first start of the problem
// that the expressions of times did not read (see reSinceClause and the
// others), up to a comma, or "". A span that asks or plans ("please",
// "by", "need") is none, and a part of the day counts only in a sentence
// that is not a request or a plan.
func findClauseStart(text string) string {
	for _, re := range []*regexp.Regexp{reSinceClause, reSinceVague, rePastSpan, reFailingNow} {
		for _, m := range re.FindAllStringSubmatchIndex(text, 4) {
			if reFailingFuture.MatchString(text[m[0]:m[1]]) {
				continue
			}
			if re == reFailingNow {
				// "since" and "over the past" are in the past by their
				// words; a part of the day needs a sentence that is not
				// a request or a plan
				words := strings.Fields(sentenceBefore(text, m[0]))
				before := strings.Join(words[max(0, len(words)-6):], " ")
				if futureCue(before) || reFailingFuture.MatchString(before) {
					continue
				}
			}
			a, b := m[0], m[1]
			for k := 2; k+1 < len(m); k += 2 {
				if m[k] >= 0 {
					a, b = m[k], m[k+1] // the part of the day alone
				}
			}
			v := text[a:b]
			if i := strings.IndexAny(v, ",;:"); i > 0 {
				v = v[:i]
			}
			return clipSentence(collapseSpace(strings.TrimSpace(v)))
		}
	}
	return ""
}

// reFailingFuture is a request or a plan inside a span findClauseStart
// found: "can't wait", "need it today", "by today", "until today".
var reFailingFuture = regexp.MustCompile(`(?i)\b(?:please|need|needs|needed|by|until|till|due|must|deadline|meeting|call|ring|before)\b`)

// reference is the instant relative times count from, in the customer's
// zone: the mail's Date in in.Location, or in the Date's own zone.
func reference(in Input) (time.Time, bool) {
	if in.Date.IsZero() {
		return time.Time{}, false
	}
	if in.Location != nil {
		return in.Date.In(in.Location), true
	}
	return in.Date, true
}

// Error text: a stack trace, an exception name, an HTTP or SMTP status, an
// error code, or a quoted message next to an error word.
var (
	reStack = regexp.MustCompile(`(?m)^[ \t]*(?:at\s+[\w$.<>]+\(.*\)|File "[^"]+", line \d+|Traceback \(most recent call last\)|goroutine \d+ \[|panic: |Caused by: )`)
	reExcep = regexp.MustCompile(`\b(?:[a-z_][\w]*\.)*[A-Z][A-Za-z0-9]+(?:Exception|Error)\b`)
	reHTTP  = regexp.MustCompile(`(?i)\bHTTP(?:/\d(?:\.\d)?)?\s*(?:error\s*|status\s*)?[1-5]\d\d(?:\.\d+)?\b|\b(?:error|status|code)\s*[:#]?\s*[45]\d\d\b|\b[45]\d\d\s+(?:bad gateway|service (?:temporarily )?unavailable|gateway time-?out|internal server error|not found|forbidden|unauthori[sz]ed|request time-?out|too many requests|errors?)\b|\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b`)
	reCode  = regexp.MustCompile(`\b(?:[A-Z][A-Z0-9]{0,7}(?:[-_][A-Z0-9]+)*[-_]\d{2,6}|ERR_[A-Z_]{3,}|0x[0-9A-Fa-f]{6,8}|[A-Z]{2,8}\d{3,6})\b`)
	reCue   = regexp.MustCompile(`(?i)\b(?:error|errors|code|fail\w*|exception|return(?:s|ed|ing)?|reports?|reported|message|ref|declin\w*|reject\w*|crash\w*|warning|says|shows?|showing|got|get|getting|see)\b`)
	reErrW  = regexp.MustCompile(`(?i)\b(?:error|errors|fail\w*|invalid|cannot|can't|can not|could not|unable|denied|declined|missing|exceeds?|wrong|unavailable|timed? ?-?out|timeout|expired|refused|locked|forbidden|unauthori[sz]ed|not (?:found|allowed|available|configured|set|reached|be reached|responding)|no \w+ available|exception|went wrong|try again|undefined|null|problem|unexpected|rejected|disconnect\w*|too long|too many|too large|too big)\b`)
	reErrQ  = regexp.MustCompile(`(?i)\b(?:error|errors|message|exception|warning|fails? with|failed with|crash\w*|returns?|returned|pop-?up|alert|prompt|dialog|notification says|get|gets|got|getting|receive|receives|received|screenshot shows|screenshot says|screen shows|screen says|message says|error says)\b`)
)

// reHTTPAt is reHTTP anchored at the start of its input, for findHTTP.
var reHTTPAt = regexp.MustCompile(`(?i)^(?:` + strings.TrimPrefix(reHTTP.String(), "(?i)") + `)`)

// findException returns where reExcep first matches in text, or -1. A
// match is made of ASCII letters, digits, '_' and '.' and ends in
// "Exception" or "Error", so the expression runs only on the runs of
// such bytes that hold one of the two words: the bytes around a run
// are not word characters, which makes the \b at its edges read the
// same there as in the whole text.
func findException(text string) int {
	for i := 0; i < len(text); {
		k := indexErrorWord(text[i:])
		if k < 0 {
			return -1
		}
		k += i
		a, b := k, k
		for a > 0 && isDottedNameByte(text[a-1]) {
			a--
		}
		for b < len(text) && isDottedNameByte(text[b]) {
			b++
		}
		if loc := reExcep.FindStringIndex(text[a:b]); loc != nil {
			return a + loc[0]
		}
		i = b
	}
	return -1
}

// indexErrorWord returns the index of the first "Error" or "Exception"
// in s, or -1.
func indexErrorWord(s string) int {
	e := strings.Index(s, "Error")
	x := strings.Index(s, "Exception")
	if e < 0 || x >= 0 && x < e {
		return x
	}
	return e
}

func isDottedNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// findHTTP returns where reHTTP first matches in text, or -1. Every
// match starts at a word boundary with "http", "error", "status", "code"
// (in any case) or a digit 4 or 5, so reHTTPAt runs only there. The
// expression folds case the Unicode way, where "\u017f" is an "s": a
// text that holds one is searched with reHTTP itself.
func findHTTP(text string) int {
	if strings.Contains(text, "\u017f") {
		if loc := reHTTP.FindStringIndex(text); loc != nil {
			return loc[0]
		}
		return -1
	}
	for i := 0; i < len(text); i++ {
		c := text[i] | 0x20
		if c != 'h' && c != 'e' && c != 's' && c != 'c' && text[i] != '4' && text[i] != '5' {
			continue
		}
		if i > 0 && isASCIIWordByte(text[i-1]) {
			continue
		}
		if !(ascii.HasPrefixFold(text[i:], "http") || ascii.HasPrefixFold(text[i:], "error") || ascii.HasPrefixFold(text[i:], "status") ||
			ascii.HasPrefixFold(text[i:], "code") || text[i] == '4' || text[i] == '5') {
			continue
		}
		if reHTTPAt.MatchString(text[i:]) {
			return i
		}
	}
	return -1
}

// isASCIIWordByte reports whether c is a word character as \b and \w
// of package regexp see it.
func isASCIIWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// findQuotes returns the double-quoted passages of text as index
// quadruples like FindAllStringSubmatchIndex: the passage with its quote
// marks, then without. A passage spans at most three lines.
func findQuotes(text string) [][]int {
	var out [][]int
	open := -1
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf && c != '"' {
			i++
			continue
		}
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

// findSingleQuotes returns the single-quoted passages of text ('...' and
// ‘...’) in findQuotes' form. An apostrophe is no quote mark: an
// opening mark follows white space, a bracket or a colon and is followed
// by a non-space, a closing one is preceded by a non-space and followed by
// white space, punctuation or the end ("don't" and "users' data" hold
// none). A passage stays on one line and is 2 to 120 bytes long.
func findSingleQuotes(text string) [][]int {
	var out [][]int
	open, body := -1, -1 // the opening mark and the passage after it
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\n' {
			open = -1
		}
		if c != '\'' && c != 0xe2 {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r != '\'' && r != '\u2018' && r != '\u2019' {
			i += n
			continue
		}
		prev, next := byte(' '), byte(' ')
		if i > 0 {
			prev = text[i-1]
		}
		if i+n < len(text) {
			next = text[i+n]
		}
		switch {
		case open >= 0 && r != '\u2018' && prev != ' ' && strings.IndexByte(" \t\r\n.,;:!?)]", next) >= 0 && i-body >= 2 && i-body <= 120:
			out = append(out, []int{open, i + n, body, i})
			open = -1
		case r != '\u2019' && strings.IndexByte(" \t\r\n([:", prev) >= 0 && next != ' ' && next != '\n':
			open, body = i, i+n
		}
		i += n
	}
	return out
}

// findCodes returns the spans of error codes in text: "PG-4001",
// "E-AUTH-17", "ERR_CONNECTION_REFUSED", "0x80070005". It looks for their
// shape by hand and checks each with reCode, which is slow to run over a
// whole mail.
func findCodes(text string) [][]int {
	var out [][]int
	for c := (codeScanner{text: text, last: -1}); c.next(); {
		out = append(out, []int{c.loc[0], c.loc[1]})
	}
	return out
}

// codeScanner finds the error codes of text one after the other, as
// findCodes lists them, so that a caller can stop at the first it takes.
type codeScanner struct {
	text string
	i    int    // where the scan goes on
	last int    // the end of the last code found, -1 at first
	loc  [2]int // the code found by the last call of next
}

// codeStart holds the bytes an error code can be found at.
var codeStart = func() (t [256]bool) {
	t['-'], t['_'], t['0'] = true, true, true
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	return t
}()

// next finds the next code and reports whether there was one.
func (c *codeScanner) next() bool {
	text := c.text
	if c.i == 0 {
		c.i = 1
	}
	check := func(start int) bool {
		if start <= c.last {
			return false
		}
		if m := reCode.FindStringIndex(text[start:min(len(text), start+48)]); m != nil && m[0] == 0 {
			c.loc = [2]int{start, start + m[1]}
			c.last = start + m[1]
			return true
		}
		return false
	}
	for ; c.i+2 < len(text); c.i++ {
		i := c.i
		if !codeStart[text[i]] {
			continue
		}
		found := false
		switch {
		case (text[i] == '-' || text[i] == '_') && isDigitByte(text[i+1]) && isDigitByte(text[i+2]):
			start := i
			for start > 0 && (text[start-1] >= 'A' && text[start-1] <= 'Z' || isDigitByte(text[start-1]) || text[start-1] == '-' || text[start-1] == '_') {
				start--
			}
			found = check(start)
		case text[i] == 'E' && strings.HasPrefix(text[i:], "ERR_") && (i == 0 || !isWordByte(text[i-1])):
			found = check(i)
		case text[i] == '0' && text[i+1] == 'x' && (i == 0 || !isWordByte(text[i-1])):
			found = check(i)
		case text[i] >= 'A' && text[i] <= 'Z' && (i == 0 || !isWordByte(text[i-1])):
			// letters then digits: "AADSTS50011"
			k := i
			for k < len(text) && k-i <= 8 && text[k] >= 'A' && text[k] <= 'Z' {
				k++
			}
			if k-i >= 2 && k+2 < len(text) && isDigitByte(text[k]) && isDigitByte(text[k+1]) && isDigitByte(text[k+2]) {
				found = check(i)
			}
		}
		if found {
			c.i++
			return true
		}
	}
	return false
}

// cueWords are the words reCue finds, and cuePrefixes the starts of
// words it finds.
var (
	cueWordSet = map[string]bool{
		"error": true, "errors": true, "code": true, "exception": true, "return": true, "returns": true, "returned": true,
		"returning": true, "report": true, "reports": true, "reported": true, "message": true, "ref": true, "warning": true,
		"says": true, "show": true, "shows": true, "showing": true, "got": true, "get": true, "getting": true, "see": true,
	}
	cuePrefixes = []string{"fail", "declin", "reject", "crash"}
)

// hasCue reports whether reCue matches s. Every word reCue finds is a
// whole run of \w, so on ASCII text it compares the runs, lower-cased,
// with cueWordSet and cuePrefixes; other text goes to reCue, whose case
// folding reaches beyond ASCII ("\u017f" is an "s").
func hasCue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return reCue.MatchString(s)
		}
	}
	var buf [16]byte
	for i := 0; i < len(s); {
		if !isASCIIWordByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isASCIIWordByte(s[j]) {
			j++
		}
		w := buf[:min(j-i, len(buf))]
		for k := range w {
			w[k] = s[i+k]
			if w[k] >= 'A' && w[k] <= 'Z' {
				w[k] += 'a' - 'A'
			}
		}
		if j-i <= len(buf) && cueWordSet[string(w)] {
			return true
		}
		for _, p := range cuePrefixes {
			if bytes.HasPrefix(w, []byte(p)) {
				return true
			}
		}
		i = j
	}
	return false
}

// stackLine returns the offset of the first line of a stack trace in text,
// or -1.
func stackLine(text string) int {
	for i := 0; i < len(text); {
		end := strings.IndexByte(text[i:], '\n')
		if end < 0 {
			end = len(text) - i
		}
		k := i
		for k < i+end && (text[k] == ' ' || text[k] == '\t') {
			k++
		}
		line := text[k : i+end]
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

// hasStatusCode reports whether text holds a three-digit number starting
// with 4 or 5 standing alone, as HTTP and SMTP statuses do.
func hasStatusCode(text string) bool {
	for i := 0; i+3 <= len(text); i++ {
		if (text[i] == '4' || text[i] == '5') && isDigitByte(text[i+1]) && isDigitByte(text[i+2]) &&
			(i == 0 || !isWordByte(text[i-1])) && (i+3 == len(text) || !isWordByte(text[i+3])) {
			return true
		}
	}
	return false
}

func findError(text string) string {
	if text == "" {
		return ""
	}
	quotes := append(findQuotes(text), findSingleQuotes(text)...)
	// show returns the quoted message holding byte i, or its sentence.
	show := func(i int) string {
		for _, q := range quotes {
			if q[2] <= i && i < q[3] {
				return collapseSpace(text[q[2]:q[3]])
			}
		}
		return sentenceAround(text, i)
	}
	// Cheap tests first: each expression runs only where it can match.
	if i := stackLine(text); i >= 0 {
		return block(text, i, 6)
	}
	if i := findException(text); i >= 0 {
		return show(i)
	}
	if hasStatusCode(text) {
		if i := findHTTP(text); i >= 0 {
			return show(i)
		}
	}
	for c := (codeScanner{text: text, last: -1}); c.next(); {
		code := text[c.loc[0]:c.loc[1]]
		if strings.HasPrefix(code, "ERR_") || strings.HasPrefix(code, "0x") ||
			hasCue(sentenceBefore(text, c.loc[0])+lineAt(text, c.loc[0])) {
			return show(c.loc[0])
		}
	}
	for _, q := range quotes {
		body := text[q[2]:q[3]]
		if strings.Count(body, " ")+1 > 40 {
			continue
		}
		if reErrW.MatchString(body) || reCode.MatchString(body) {
			return collapseSpace(body)
		}
		if strings.Count(strings.TrimSpace(body), " ") >= 2 && reErrQ.MatchString(sentenceBefore(text, q[0])) {
			return collapseSpace(body)
		}
	}
	return ""
}

// lineAt returns the line of text that holds byte i, trimmed.
func lineAt(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += i
	}
	return strings.TrimSpace(text[start:end])
}

// sentenceAround returns the sentence of text that holds byte i, at most
// 200 bytes, or its line when the line is shorter.
func sentenceAround(text string, i int) string {
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
	s := collapseSpace(text[start:end])
	if len(line) < len(s) && !strings.HasSuffix(strings.TrimSpace(line), ",") && lineIsWhole(text, i) {
		return line
	}
	return s
}

// lineIsWhole reports whether the line holding byte i stands alone: it
// is indented, or the lines around it are blank.
func lineIsWhole(text string, i int) bool {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	if start < len(text) && (text[start] == ' ' || text[start] == '\t') {
		return true
	}
	prevBlank := start == 0 || (start >= 2 && text[start-2] == '\n')
	end := strings.IndexByte(text[i:], '\n')
	nextBlank := end < 0 || (i+end+1 < len(text) && text[i+end+1] == '\n') || i+end+1 == len(text)
	return prevBlank && nextBlank
}

// block returns up to n lines from the line holding byte i, stopping at a
// blank line.
func block(text string, i, n int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	var lines []string
	for _, l := range strings.Split(text[start:], "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || len(lines) == n {
			break
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	return strings.Join(lines, "\n")
}

// sentenceBefore returns the text of the sentence before byte i: back to
// the end of the previous sentence or a blank line, at most 160 bytes.
func sentenceBefore(text string, i int) string {
	start := max(0, i-160)
	s := text[start:i]
	cut := -1
	for k := len(s) - 1; k >= 0; k-- {
		c := s[k]
		if (c == '.' || c == '!' || c == '?') && (k+1 == len(s) || s[k+1] == ' ' || s[k+1] == '\n' || s[k+1] == '\r') {
			cut = k + 1
			break
		}
		if c == '\n' {
			// a blank line ends a paragraph; a single line break does not
			j := k - 1
			for j >= 0 && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r') {
				j--
			}
			if j >= 0 && s[j] == '\n' {
				cut = k + 1
				break
			}
		}
	}
	if cut >= 0 {
		s = s[cut:]
	}
	return s
}

// Steps to reproduce: a list of actions, a "to reproduce" sentence, or a
// command line.
var (
	reListItem = regexp.MustCompile(`(?i)^\s*(?:\d{1,2}[.)]|[-*\x{2022}\x{2013}]|step\s+\d+\s*[:.)-]?|[a-h]\))\s+(.*)$`)
	reToRepro  = regexp.MustCompile(`(?i)\b(?:to reproduce|to replicate|steps to reproduce|how to reproduce|reproduc(?:e|ible) (?:it )?(?:by|with|as follows))\b[:,]?\s*(\S.*)`)
	reCommand  = regexp.MustCompile(`(?m)^[ \t]*(?:\$\s+)?(?:` + programs + `)\s+\S.*$|^[ \t]*\$\s+\S.*$|^[ \t]*\./\S+.*$`)
	rePath     = regexp.MustCompile(`\b\p{L}[\p{L} ]{0,25}\s(?:>|->|\x{2192}|»)\s\p{L}`)
)

// actionVerbs start the steps of a reproduction.
var actionVerbs = map[string]bool{
	"open": true, "click": true, "go": true, "log": true, "login": true, "select": true, "add": true,
	"choose": true, "enter": true, "type": true, "press": true, "tap": true, "fill": true, "navigate": true,
	"create": true, "save": true, "submit": true, "upload": true, "pick": true, "run": true, "try": true,
	"change": true, "set": true, "edit": true, "delete": true, "search": true, "export": true, "import": true,
	"send": true, "wait": true, "refresh": true, "reload": true, "sign": true, "visit": true, "use": true,
	"switch": true, "start": true, "close": true, "check": true, "scroll": true, "put": true, "paste": true,
	"attach": true, "drag": true, "install": true, "update": true, "remove": true, "print": true,
	"book": true, "approve": true, "place": true, "pay": true, "complete": true, "browse": true,
	"call": true, "generate": true, "launch": true, "access": true, "hover": true, "expand": true,
	"filter": true, "sort": true, "download": true, "apply": true, "confirm": true, "then": true,
	"checkout": true, "raise": true, "raised": true, "submitted": true, "clicked": true, "opened": true,
	"selected": true, "entered": true, "imported": true, "uploaded": true, "added": true, "tried": true,
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t\"'*_(")
	end := strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		end = len(s)
	}
	return strings.ToLower(s[:end])
}

// findRepro finds steps to reproduce in text; lower is ascii.Lower(text)
// and lines are its lines.
func findRepro(text, lower string, lines []string) string {
	if text == "" {
		return ""
	}
	// A list of two or more items, most of them actions (or a menu path).
	for i := 0; i < len(lines); {
		var items []string
		j := i
		for ; j < len(lines); j++ {
			line := strings.TrimRight(lines[j], "\r")
			if !mayBeListItem(line) {
				break
			}
			m := reListItem.FindStringSubmatch(line)
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
	// Every match of reToRepro holds "reproduc" or "replicat" (no letter
	// of which folds to a non-ASCII one).
	if strings.Contains(lower, "reproduc") || strings.Contains(lower, "replicat") {
		if m := reToRepro.FindStringSubmatch(text); m != nil {
			if v := strings.TrimSpace(m[1]); !placeholder.MatchString(v) && strings.Contains(v, " ") {
				return v
			}
		}
	}
	if m := findCommand(text); m != "" {
		return strings.TrimSpace(m)
	}
	// "To see it: open the page, hover the second swatch."
	if m := reSeeIt.FindStringSubmatch(text); m != nil && countActions(m[1]) >= 1 {
		return collapseSpace(m[1])
	}
	// A sentence of three or more actions: "log in as X, open Y, click Z".
	ss := sentences(text)
	for _, s := range ss {
		if !mayBeSteps(s) {
			continue
		}
		if n := countActions(s); n >= 3 && (strings.Contains(s, ",") || strings.Contains(s, " then ")) {
			return collapseSpace(s)
		}
	}
	for _, s := range ss {
		if !mayBeSteps(s) {
			continue
		}
		low := strings.ToLower(s)
		switch {
		// a menu path in prose: "imports via Data > Import > Leads"
		case reMenuPath.MatchString(s):
			return collapseSpace(s)
		// a path walked with an action: "Open New order > Supplier to
		// see", "Reports > Sales Analysis > Run", "Steps: New order >
		// choose cost centre 4410 > Submit"
		case walksPath(s):
			return collapseSpace(s)
		// someone's actions in order: "They enter the code, hit Apply
		// and get ...", "I open the job, click Approve and ..."
		case reActorActs.MatchString(s) && countActions(s) >= 2 && (strings.Contains(s, ",") || strings.Contains(s, " and ")):
			return collapseSpace(s)
		// someone doing two things in a row, in any verb form and
		// anywhere in the sentence: "Customer types SPRING20, clicks
		// Apply and gets ...", "when she logs in and goes to My
		// Accounts ..."
		case actsTwice(low):
			return collapseSpace(s)
		// a condition made of actions: "when I open a job and click
		// Approve, the page goes white"
		case hasPrefixWord(low, stepConditions) && strings.Contains(s, ",") && countActions(s) >= 2:
			return collapseSpace(s)
		// actions listed after a colon: "I tested it: add to cart,
		// checkout, enter the address"
		case strings.Contains(s, ":") && countActions(s[strings.IndexByte(s, ':'):]) >= 2 && strings.Count(s[strings.IndexByte(s, ':'):], ",") >= 1:
			return collapseSpace(s)
		}
	}
	// Steps told as a story, over up to three sentences: "First I open the
	// job list, then I click a job." A first and a next, and two actions.
	for i := range ss {
		low := strings.ToLower(ss[i])
		if !hasWordIn(low, sequenceFirst) {
			continue
		}
		for j := i; j < len(ss) && j < i+3; j++ {
			story := strings.Join(ss[i:j+1], " ")
			if hasWordIn(strings.ToLower(story), sequenceNext) && countActions(story) >= 2 {
				return collapseSpace(story)
			}
		}
	}
	return ""
}

// reSeeIt is a line that says how to see the problem: "To see it: ...",
// "To test: ...", "How to trigger it: ...".
var reSeeIt = regexp.MustCompile(`(?im)^[\s>*-]*(?:to|how to|you can) (?:see|test|check|trigger|get|recreate|show|view|spot) (?:it|this|the (?:problem|issue|error|bug|fault))?(?: yourself)?\s*[:\x{2013}-]\s*(\S.*)$`)

// reMenuPath is a menu path of three or more items: "Data > Import >
// Leads", "Admin \u2192 Users \u2192 Roles".
var reMenuPath = regexp.MustCompile(`\b\p{Lu}[\p{L}\d]*(?: [\p{L}\d]+){0,2} (?:>|->|\x{2192}|\x{BB}) \p{Lu}[\p{L}\d]*(?: [\p{L}\d]+){0,2} (?:>|->|\x{2192}|\x{BB}) \p{Lu}`)

// reActorActs is a sentence that starts with someone doing something:
// "They enter the code", "I then click Save", "Users open the app".
var reActorActs = regexp.MustCompile(`(?i)^(?:so\s+|and\s+|then\s+)?(?:i|we|they|you|he|she|users?|customers?|staff|the user|the customer|our (?:users|staff|customers|team))\s+(?:then\s+|just\s+|first\s+)?(?:` + actorVerbs + `)\b`)

// actorVerbs are the action words reActorActs knows, as alternatives of
// a regular expression.
var actorVerbs = func() string {
	var verbs []string
	for v := range actionVerbs {
		if !uncounted[v] {
			verbs = append(verbs, v)
		}
	}
	slices.Sort(verbs)
	return strings.Join(verbs, "|")
}()

// walksPath reports whether sentence s goes along a path of screens
// with an action: two steps of a path and an action word anywhere, or one
// step after a sentence that starts with an action ("Open New order >
// Supplier").
func walksPath(s string) bool {
	steps := 0
	for _, sep := range []string{" > ", " -> ", " \u2192 ", " \u00bb "} {
		steps += strings.Count(s, sep)
	}
	if steps == 0 || !rePath.MatchString(s) {
		return false
	}
	first := firstWord(strings.TrimPrefix(strings.TrimSpace(s), "Steps:"))
	return steps >= 2 && countActions(s) >= 1 || isAction(first)
}

// reHeaderish is a mail header field's name: a text with two of them is a
// header block pasted or quoted, not a sentence.
var reHeaderish = regexp.MustCompile(`\b[A-Z][A-Za-z]+(?:-[A-Za-z]+)*: `)

// mayBeSteps reports whether a sentence can hold steps: not a header
// block pasted or quoted, nor a wall of text of more than 400 bytes.
func mayBeSteps(s string) bool {
	// two header names need two ": ", which most sentences lack
	return len(s) <= 400 && (strings.Count(s, ": ") < 2 || len(reHeaderish.FindAllStringIndex(s, 2)) < 2)
}

// stepConditions open a sentence whose actions are the steps: "when I
// open a job and click Approve, ...".
var stepConditions = []string{"when", "whenever", "every time", "each time", "if i", "if we", "if you", "as soon as", "once i", "once we"}

// hasPrefixWord reports whether lower starts with one of words as whole
// words.
func hasPrefixWord(lower string, words []string) bool {
	for _, w := range words {
		if strings.HasPrefix(lower, w) && (len(lower) == len(w) || !isASCIIWordByte(lower[len(w)])) {
			return true
		}
	}
	return false
}

// sequenceFirst and sequenceNext are the words that tell steps as a story:
// one opens it, the other carries it on.
var (
	sequenceFirst = []string{"first", "firstly", "first of all", "to start", "i start by", "we start by", "zuerst", "d'abord"}
	sequenceNext  = []string{"then", "after that", "afterwards", "next", "and when", "once", "finally", "dann", "puis", "ensuite"}
)

// hasWordIn reports whether lower holds one of words as whole words.
func hasWordIn(lower string, words []string) bool {
	for _, w := range words {
		for k := 0; ; {
			i := strings.Index(lower[k:], w)
			if i < 0 {
				break
			}
			i += k
			end := i + len(w)
			if (i == 0 || !isASCIIWordByte(lower[i-1])) && (end == len(lower) || !isASCIIWordByte(lower[end])) {
				return true
			}
			k = end
		}
	}
	return false
}

// countActions counts the words of s that start steps, not counting the
// words that start other sentences as often ("then", "check", "use",
// "try", "update", "change", "set"). Words are the runs of a-z of s
// lower-cased.
func countActions(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// strings.ToLower may turn some letters into ASCII ones (the
			// Kelvin sign into "k").
			for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
				return !(r >= 'a' && r <= 'z')
			}) {
				if isAction(w) {
					n++
				}
			}
			return n
		}
	}
	var buf [16]byte
	for i := 0; i < len(s); {
		if !isASCIILetter(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isASCIILetter(s[j]) {
			j++
		}
		// No action verb is longer than buf; a longer word is none.
		if j-i <= len(buf) {
			w := buf[:j-i]
			for k := range w {
				w[k] = s[i+k] | 0x20
			}
			if isAction(string(w)) {
				n++
			}
		}
		i = j
	}
	return n
}

// actors are the words for someone who acts in a sentence of steps.
var actors = map[string]bool{
	"i": true, "we": true, "they": true, "you": true, "he": true, "she": true,
	"customer": true, "customers": true, "user": true, "users": true, "staff": true,
	"people": true, "everyone": true, "someone": true, "anyone": true,
}

// actsTwice reports whether the lower-cased sentence lower has someone
// (actors) doing an action (isActionForm: "clicks", "logged") and, after
// a comma or "and", another one within the next twelve words: "they
// enter the code, hit Apply and get ...", "she logs in and goes to My
// Accounts". A question is no such sentence: it asks how to act.
func actsTwice(lower string) bool {
	if strings.IndexByte(lower, '?') >= 0 {
		return false
	}
	type word struct {
		w     string
		comma bool // a comma follows the word, before the next one
	}
	var buf [48]word
	words := buf[:0]
	for i := 0; i < len(lower) && len(words) < cap(buf); {
		if !isASCIILetter(lower[i]) {
			if lower[i] == ',' && len(words) > 0 {
				words[len(words)-1].comma = true
			}
			i++
			continue
		}
		j := i
		for j < len(lower) && isASCIILetter(lower[j]) {
			j++
		}
		words = append(words, word{w: lower[i:j]})
		i = j
	}
	skip := func(i int) int {
		for i < len(words) && (words[i].w == "then" || words[i].w == "just" || words[i].w == "first") {
			i++
		}
		return i
	}
	for i, a := range words {
		if !actors[a.w] {
			continue
		}
		v := skip(i + 1)
		if v >= len(words) || !isActionForm(words[v].w) {
			continue
		}
		for k := v; k < len(words) && k <= v+12; k++ {
			next := -1
			switch {
			case words[k].comma:
				next = k + 1
				if next < len(words) && words[next].w == "and" {
					next++
				}
			case k > v && words[k].w == "and":
				next = k + 1
			}
			if next > 0 {
				if n := skip(next); n < len(words) && isActionForm(words[n].w) {
					return true
				}
			}
		}
	}
	return false
}

// isAction reports whether the lower-case word w is an action verb that
// starts steps: in actionVerbs and not uncounted.
func isAction(w string) bool { return actionVerbs[w] && !uncounted[w] }

// isActionForm reports whether the lower-case word w is an action verb
// that starts steps (isAction) as it is or with an ending: "clicks",
// "presses", "typing", "tapping", "pressed", "logged". No action verb
// with an ending is longer than 16 letters.
func isActionForm(w string) bool {
	if len(w) > 16 {
		return false
	}
	if isAction(w) {
		return true
	}
	for _, end := range [...]string{"ing", "ed", "es", "s"} {
		stem, ok := strings.CutSuffix(w, end)
		if !ok || len(stem) < 2 {
			continue
		}
		if isAction(stem) {
			return true
		}
		// "typing", "saved"; "tapping", "logged" ("types" is "type"
		// with an "s")
		if end == "ing" || end == "ed" {
			if isAction(stem+"e") || len(stem) > 2 && stem[len(stem)-1] == stem[len(stem)-2] && isAction(stem[:len(stem)-1]) {
				return true
			}
		}
	}
	return false
}

// uncounted are the action verbs that start other sentences as often as
// steps.
var uncounted = map[string]bool{"then": true, "check": true, "use": true, "try": true, "update": true, "change": true, "set": true}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// mayBeListItem is a quick test of whether reListItem can match line: a
// list item starts, after white space, with a digit, a dash, a star, a
// letter from a to h, "step", or a character beyond ASCII.
func mayBeListItem(line string) bool {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\f' || line[i] == '\r') {
		i++
	}
	if i == len(line) {
		return false
	}
	c := line[i]
	switch {
	case c >= utf8.RuneSelf, isDigitByte(c), c == '-', c == '*':
		return true
	}
	c |= 0x20
	return c >= 'a' && c <= 'h' || c == 's'
}

// programs are the programs whose command lines reCommand finds, as
// alternatives of a regular expression.
const programs = `curl|wget|http|https|ssh|scp|psql|mysql|sqlcmd|kubectl|docker|git|npm|yarn|pip|python3?|go|java|php|node|ruby|telnet|nc|openssl|dig|nslookup|ping|traceroute|powershell|Invoke-WebRequest`

// reCommandAt is reCommand anchored at the start of its input, for
// findCommand.
var reCommandAt = regexp.MustCompile(`(?m)\A(?:` + strings.TrimPrefix(reCommand.String(), "(?m)") + `)`)

// commandWords are the names programs matches.
var commandWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Split(programs, "|") {
		if base, ok := strings.CutSuffix(w, "3?"); ok {
			m[base], m[base+"3"] = true, true
			continue
		}
		m[w] = true
	}
	return m
}()

// findCommand returns what reCommand.FindString(text) does. Every match
// starts a line, with a program's name, "$" or "./" after blanks, so
// reCommandAt runs only on such lines.
func findCommand(text string) string {
	for p := 0; p < len(text); {
		q := p
		for q < len(text) && (text[q] == ' ' || text[q] == '\t') {
			q++
		}
		if q < len(text) && mayStartCommand(text[q:]) {
			if m := reCommandAt.FindString(text[p:]); m != "" {
				return m
			}
		}
		nl := strings.IndexByte(text[p:], '\n')
		if nl < 0 {
			break
		}
		p += nl + 1
	}
	return ""
}

// mayStartCommand reports whether s starts with "$", "./" or the name of
// a program of reCommand followed by something other than a letter,
// digit or dash.
func mayStartCommand(s string) bool {
	if s[0] == '$' || strings.HasPrefix(s, "./") {
		return true
	}
	k := 0
	for k < len(s) && (isASCIIAlnum(s[k]) || s[k] == '-') {
		k++
	}
	return k > 0 && commandWords[s[:k]]
}

// sentences splits text into sentences at . ! ? and blank lines.
func sentences(text string) []string {
	var out []string
	for _, sp := range sentenceSpans(text, nil) {
		out = append(out, text[sp[0]:sp[1]])
	}
	return out
}

// sentenceSpans appends to out the byte spans of text's sentences (as
// sentences splits them, without the spaces around), so that the same
// sentence can be read from a lower-cased copy of text.
func sentenceSpans(text string, out [][2]int) [][2]int {
	add := func(a, b int) {
		s := text[a:b]
		if trimmed := strings.TrimSpace(s); trimmed != "" {
			// it starts at s's first character that is no space
			a += strings.Index(s, trimmed)
			out = append(out, [2]int{a, a + len(trimmed)})
		}
	}
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		end := false
		switch {
		case c == '.' || c == '!' || c == '?':
			end = i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\n' || text[i+1] == '\r'
		case c == '\n':
			end = i+1 < len(text) && (text[i+1] == '\n' || text[i+1] == '\r')
		}
		if end {
			add(start, i+1)
			start = i + 1
		}
	}
	add(start, len(text))
	return out
}

// Impact: a scope phrase ("all our users", "only me"), or people named as
// the ones a failure hits ("customers cannot pay", "annoying for the
// teams").
// impactPhrases name people as the ones a failure hits. A "for" or "to"
// phrase counts only in a sentence that reports a problem.
var impactPhrases = []string{
	gPeople + " * (cannot|could not|unable|get|gets|got|receive|received|see|sees|complain*|report*|lose|losing|experienc*|affected|impacted|locked|stopped|are unable|have been logged|are being logged|are getting|keep getting)",
	"(affect|affects|affected|affecting|impact|impacts|impacted|impacting|concerns|annoying for|frustrating for|confusing for|problem for|difficult for|hard for|impossible for|issue for|idle for|blocking) (only)? (our|the|all|every|some|most|many)? * " + gPeople,
	gPeople + " (data|details|emails|email addresses|addresses|information|records|passwords|personal data|phone numbers|account|accounts|card|cards|money|orders|bookings)",
	// "no customer can place an order", "not one of our drivers"
	"(no|not one|not a single|not one of our|none of the) " + gPeople,
	// "the three designers have switched", "all 18 persons", "the whole studio"
	"# " + gPeople,
	"(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|dozen|dozens of|hundreds of) " + gPeople,
	"(all|whole|entire) (the|our)? (studio|company|office|team|shop|firm|school|practice|warehouse|department|branch|staff|organisation|organization|business|agency|clinic|store|site)",
	gPeople + " * (are|is|seem|seems|remain|remains) (unaffected|not affected|fine|ok|okay|working normally)",
	// "he's the only one affected", "half our studio uses dark mode"
	"(the|is the) only (one|person|user) (affected|impacted|having|with|who|that)",
	"half (of)? (our|my|the) (studio|company|office|team|shop|firm|school|practice|warehouse|department|branch|staff|crew|workforce|kitchen|floor|users|customers|people|members|employees|colleagues)",
}

// impactBusiness names what a failure costs the business: "we are losing
// sales", "our busiest evening", "payroll is due". It counts only in a
// mail that reports a problem.
var impactBusiness = []string{
	"(losing|lost|lose|loses|costing|cost|costs|missing out on|miss) (us)? * (sales|orders|revenue|money|customers|business|bookings|income|deals|leads|time|hours)",
	"(abandoned|lost) (carts|baskets|orders|sales|bookings)",
	"(busiest|peak|critical|key|important) (day|days|evening|night|week|weekend|period|season|time|hour|hours|trading)",
	"(month end|month-end|year end|year-end|payroll|payday|pay day|go live|go-live|launch|deadline|audit|inspection|board meeting) (is|are|was|tomorrow|today|on|this|next|due|coming|looming)?",
	"(cannot|could not|can not|unable to|not able to) (work|invoice|ship|dispatch|sell|trade|serve|bill|pay our|process)",
	"(sitting|standing) (idle|around)",
	"(complaining|complain|complaints|angry|upset|frustrated) (customers|clients|users|members|guests)?",
}

// impactFor names people after "for" or "to": "slow for our customers".
var impactFor = []string{
	"(for|to) (our|all|the|every|some|most|many|all our|all of our|any of our|some of our|our own)? * " + gPeople,
}

// dataWords are things, not people, that a scope can count.
var dataWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Split(strings.Trim(gData, "()"), "|") {
		m[w] = true
		m[plural(w)] = true
	}
	return m
}()

// peopleWords are the words that make a scope phrase say who is affected.
var peopleWords = func() map[string]bool {
	m := map[string]bool{"everyone": true, "everybody": true, "nobody": true, "me": true, "us": true, "anyone": true, "anybody": true,
		"office": true, "company": true, "organisation": true, "organization": true, "business": true, "workforce": true}
	for _, w := range strings.Split(strings.Trim(gPeople, "()"), "|") {
		m[w] = true
	}
	return m
}()

func (t *Triage) findImpact(an *analysis, errorText string) string {
	// A scope says who is affected only in a mail that reports a problem:
	// "send an SMS to all members" in a feature request names no one.
	problem := errorText != ""
	request := false
	for _, h := range an.hits {
		problem = problem || (catOf(h.kind) == catLevel && rankOf(h.kind) <= 2 || catOf(h.kind) == catIntermittent) && !h.negated
		request = request || catOf(h.kind) == catChange && !h.negated
	}
	for _, h := range an.hits {
		switch catOf(h.kind) {
		case catWide, catNarrow, catSingle:
			// ("only me" says who is hit in any mail but a request)
			if h.negated || !problem && (request || !onlyMe(an, h)) {
				continue
			}
			// "some of our consultants": whoever follows "of our" is meant,
			// unless it is data ("half of our contact records").
			if w := an.d.toks[h.end-1].w; (w == "our" || w == "my") && h.end < len(an.d.toks) && !dataWords[an.d.toks[h.end].w] {
				return sentenceOf(&an.d, h.start)
			}
			for k := h.start; k < h.end; k++ {
				if peopleWords[an.d.toks[k].w] {
					return sentenceOf(&an.d, h.start)
				}
			}
		}
	}
	hs := t.impact.find(&an.d)
	for _, h := range hs {
		if h.kind == 0 {
			return sentenceOf(&an.d, h.start)
		}
	}
	// what the failure costs, in a mail that reports one
	if problem {
		for _, h := range hs {
			if h.kind == 2 && !h.negated {
				return sentenceOf(&an.d, h.start)
			}
		}
	}
	// "for our customers" in a sentence that reports a problem.
	for _, h := range hs {
		c := an.d.toks[h.start].clause
		for _, e := range an.hits {
			if catOf(e.kind) == catLevel && rankOf(e.kind) <= 1 && !e.negated && an.d.toks[e.start].clause == c {
				return sentenceOf(&an.d, h.start)
			}
		}
	}
	return ""
}

// onlyMe reports whether scope hit h is the writer alone: a single
// scope that names "me" ("only me", "just for me").
func onlyMe(an *analysis, h hit) bool {
	if catOf(h.kind) != catSingle {
		return false
	}
	for k := h.start; k < h.end; k++ {
		if an.d.toks[k].w == "me" {
			return true
		}
	}
	return false
}

// sentenceOf returns the source text of the sentence holding token i,
// at most 200 bytes.
func sentenceOf(d *doc, i int) string {
	c := d.toks[i].clause
	a, b := i, i
	for a > 0 && d.toks[a-1].clause == c {
		a--
	}
	for b+1 < len(d.toks) && d.toks[b+1].clause == c {
		b++
	}
	return clipSentence(strings.Trim(d.quote(a, b+1), "[](){}\"'\u201c\u201d "))
}

// findService returns the first service or feature the mail names (or,
// failing that, the first part of a screen), with up to two capitalised
// words before it ("Prospect 365 CRM", "BambooHR integration").
func findService(an *analysis) string {
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
		if p.clause != an.d.toks[h.start].clause || p.phrase != an.d.toks[h.start].phrase || inLevelHit(an, a-1) {
			break
		}
		w := an.d.src[p.start:p.end]
		if !(w[0] >= 'A' && w[0] <= 'Z' || w[0] >= '0' && w[0] <= '9') || stopCaps[strings.ToLower(w)] {
			break
		}
		a--
	}
	return an.d.quote(a, h.end)
}

// inLevelHit reports whether token i is part of a rubric phrase ("Slow"
// in "Slow report generation" describes, it does not name).
func inLevelHit(an *analysis, i int) bool {
	for _, h := range an.hits {
		if (catOf(h.kind) == catLevel || catOf(h.kind) == catChange) && h.start <= i && i < h.end {
			return true
		}
	}
	return false
}

// stopCaps are capitalised words that start sentences rather than names.
var stopCaps = map[string]bool{"the": true, "our": true, "my": true, "your": true, "a": true, "an": true, "i": true, "we": true, "on": true, "in": true, "since": true, "when": true, "hi": true, "hello": true, "this": true, "that": true, "it": true, "all": true, "every": true, "no": true, "some": true}
