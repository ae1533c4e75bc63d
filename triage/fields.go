package triage

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
)

// Labelled lines ("Start time: ...") are always recognised; a label with
// nothing after it takes the lines below it up to a blank line.
var labelRes = []struct {
	field string
	re    *regexp.Regexp
}{
	{helpdesk.FieldStartTime, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:incident\s+|issue\s+|problem\s+|outage\s+)?(?:start(?:ed|ing)?(?:\s+(?:time|date|date/time|datetime|at|on))?|time\s+(?:of\s+(?:the\s+)?(?:incident|issue|problem|outage)|started|it\s+started)|when(?:\s+did\s+it\s+start)?|since|first\s+(?:noticed|seen|occurred|observed)|occurred(?:\s+(?:at|on))?|date/time|date\s+and\s+time|began)\s*[:\x{FF1A}]\s*(.*)$`)},
	{helpdesk.FieldErrorText, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:[\p{L}/]+\s+){0,2}?(?:error|errors|exception|crash|warning|fault)(?:\s+(?:message|messages|text|code|codes|shown|displayed|details|output|log|received|reported|seen))?\s*[:\x{FF1A}]\s*(.*)$`)},
	{helpdesk.FieldReproSteps, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:steps(?:\s+to\s+(?:reproduce|repro|replicate|recreate))?|to\s+(?:reproduce|replicate|recreate)|how\s+to\s+(?:reproduce|replicate|recreate)|repro(?:duction)?(?:\s+steps)?|str)\s*[:\x{FF1A}]\s*(.*)$`)},
	{helpdesk.FieldImpact, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:(?:business\s+)?impact(?:\s+on\s+(?:users|the\s+business|business))?|affected\s+(?:users|customers|people)|(?:users|customers|people)\s+affected|who\s+is\s+affected|number\s+of\s+(?:affected\s+)?users|scope)\s*[:\x{FF1A}]\s*(.*)$`)},
	{helpdesk.FieldService, regexp.MustCompile(`(?i)^[\s>*\x{2022}-]*(?:(?:which|affected)\s+)?(?:services?|system|product|application|app|module|component|platform|store|site|website|url|environment)(?:\s+affected)?\s*[:\x{FF1A}]\s*(.*)$`)},
}

// placeholder values mean the customer did not know.
var placeholder = regexp.MustCompile(`(?i)^(?:n/?a|none|unknown|not sure|no idea|don'?t know|-+|\?+|tbc|tbd|\.+)$`)

// labelShape reports whether line starts with a short label and a colon,
// so that the label expressions run only on such lines.
func labelShape(line string) bool {
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

// labelled returns the value of each labelled field in text.
func labelled(text string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		if !labelShape(line) {
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

// fields extracts the incident facts: labelled lines first, then free text.
func (t *Triage) fields(in Input, an *analysis) helpdesk.Fields {
	var f helpdesk.Fields
	lab := labelled(in.Text)
	base, ok := reference(in)

	if v := lab[helpdesk.FieldStartTime]; v != "" {
		f.StartTime = v
		if c, found := t.firstTime(v, base); found {
			f.StartInstant = c.at
		}
	} else if c, found := t.startTime(in.Text, base, ok); found {
		f.StartTime, f.StartInstant = c.text, c.at
	} else if c, found := t.startTime(an.subject, base, ok); found {
		f.StartTime, f.StartInstant = c.text, c.at
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
		f.ReproSteps = findRepro(in.Text)
	}

	f.Impact = lab[helpdesk.FieldImpact]
	if f.Impact == "" {
		f.Impact = t.findImpact(an, f.ErrorText)
	}

	f.Service = lab[helpdesk.FieldService]
	if f.Service == "" {
		f.Service = findService(an)
	}
	return f
}

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
	reErrW  = regexp.MustCompile(`(?i)\b(?:error|errors|fail\w*|invalid|cannot|can't|can not|could not|unable|denied|declined|missing|exceeds?|wrong|unavailable|timed? ?-?out|timeout|expired|refused|locked|forbidden|unauthori[sz]ed|not (?:found|allowed|available|configured|set|reached|be reached|responding)|no \w+ available|exception|went wrong|try again|undefined|null|problem|unexpected|rejected|disconnect\w*|too long|too many)\b`)
	reErrQ  = regexp.MustCompile(`(?i)\b(?:error|errors|message|exception|warning|fails? with|failed with|crash\w*|returns?|returned|pop-?up|alert|prompt|dialog|notification says|get|gets|got|getting|receive|receives|received)\b`)
)

// findQuotes returns the double-quoted passages of text as index
// quadruples like FindAllStringSubmatchIndex: the passage with its quote
// marks, then without. A passage spans at most three lines.
func findQuotes(text string) [][]int {
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

// findCodes returns the spans of error codes in text: "PG-4001",
// "E-AUTH-17", "ERR_CONNECTION_REFUSED", "0x80070005". It looks for their
// shape by hand and checks each with reCode, which is slow to run over a
// whole mail.
func findCodes(text string) [][]int {
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

// stackLine returns the offset of the first line of a stack trace in text,
// or -1.
func stackLine(text string) int {
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
	quotes := findQuotes(text)
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
	for _, loc := range findCodes(text) {
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
	reCommand  = regexp.MustCompile(`(?m)^[ \t]*(?:\$\s+)?(?:curl|wget|http|https|ssh|scp|psql|mysql|sqlcmd|kubectl|docker|git|npm|yarn|pip|python3?|go|java|php|node|ruby|telnet|nc|openssl|dig|nslookup|ping|traceroute|powershell|Invoke-WebRequest)\s+\S.*$|^[ \t]*\$\s+\S.*$|^[ \t]*\./\S+.*$`)
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
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t\"'*_(")
	end := strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		end = len(s)
	}
	return strings.ToLower(s[:end])
}

func findRepro(text string) string {
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
			return collapseSpace(s)
		}
	}
	return ""
}

// sentences splits text into sentences at . ! ? and blank lines.
func sentences(text string) []string {
	var out []string
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
			if s := strings.TrimSpace(text[start : i+1]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
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
	s := strings.Trim(d.quote(a, b+1), "[](){}\"'\u201c\u201d ")
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
