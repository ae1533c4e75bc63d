package triage

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Start times are found in two steps. First, candidate expressions are
// located with the regular expressions below (absolute dates, clock times,
// "5 minutes ago", "since 2 days", "yesterday", "last Friday", "this
// morning", "the 21st"); adjacent ones merge ("yesterday at 3pm"). A
// candidate counts as the start of the incident when it is inherently in
// the past ("ago", "yesterday", "since ...") or when a start word precedes
// it in its sentence ("started", "noticed", "at", "from"), and no future
// word does ("until", "by", "next", "tomorrow"). Then it is resolved: a
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

var (
	reTimeAtom = regexp.MustCompile(`(?i)` + strings.Join([]string{
		// ISO date, optional time and zone
		`\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)?(?:\s?` + zoneAbbr + `\b)?`,
		// day-first numeric date, optional time
		`\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?)?)?`,
		// textual dates
		`\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthNames + `(?:\s+\d{4})?\b`,
		`\b` + monthNames + `\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b`,
		// clock times
		`\b(?:[01]?\d|2[0-3])[:.][0-5]\d(?:\s?[ap]\.?m\.?)?(?:\s?` + zoneAbbr + `\b)?`,
		`\b(?:1[0-2]|0?[1-9])\s?[ap]\.?m\.?(?:\s?` + zoneAbbr + `\b)?`,
		`\b(?:noon|midday|midnight)\b`,
		// durations
		`\b` + numWords + `\s+` + units + `\s+ago\b`,
		`\b(?:since|for)\s+(?:the\s+)?(?:(?:last|past)\s+)?` + numWords + `\s+` + units + `\b`,
		// days
		`\byesterday(?:'s)?(?:\s+(?:morning|afternoon|evening|night))?`,
		`\blast\s+night\b`,
		`\b(?:this|today|today's|this\s+past)?\s*(?:morning|afternoon|evening)(?:'s)?\b`,
		`\bearlier\s+today\b`,
		`\b(?:today|tonight|overnight)\b`,
		`\b(?:last|this\s+past|past)?\s*` + dayNames + `(?:'s)?(?:\s+(?:morning|afternoon|evening|night))?\b`,
		`\blast\s+(?:week|weekend|month)\b`,
		`\bthe\s+weekend\b`,
		`\bthe\s+\d{1,2}(?:st|nd|rd|th)\b`,
	}, "|"))
	// what may stand between two parts of one time expression
	reTimeGlue = regexp.MustCompile(`(?i)^[\s,]*(?:at|around|about|approx\.?|approximately|roughly|from|on|of|in the|,)?[\s,]*$`)
	// words before a candidate that make it a start time: anywhere in the
	// last few words, or right before it
	reStartCue = regexp.MustCompile(`(?i)\b(?:since|started|starting|start|began|begun|beginning|from|noticed|occurred|happened|happening|stopped|failed|failing|broke|crashed|went down|as of|after|first seen|first noticed|last seen)\b|\b(?:at|around|about|approx\.?|approximately|been)\s*$`)
	// words before a candidate that make it something else
	reFutureCue = regexp.MustCompile(`(?i)\b(?:until|till|by|within|next|tomorrow|later|call|ring|meeting|deadline|present|presenting|board|due|expect|expecting|reply|respond|book|schedule|scheduled|appointment|launch|go-?live|every)\b`)
	// the start word kept with the phrase: "since 07:40"
	reCueWord = regexp.MustCompile(`(?i)\b(?:since|from|started|starting|as of|at|around|about|approx\.?|approximately|on)(?:\s+(?:at|around|about|approx\.?|approximately))?\s*$`)
	// a phrase about the future
	reFutureWord = regexp.MustCompile(`(?i)\b(?:tomorrow|next)\b`)
	// inherently past phrases
	reInherent = regexp.MustCompile(`(?i)^(?:since\b|for\s+(?:the\s+)?(?:last|past)\b|.*\bago$|yesterday|last\s+(?:night|week|weekend|month|` + dayNames + `)|earlier\s+today|this\s+past|\d{4}-\d{2}-\d{2}[T ]\d)`)
)

// timeCandidate is one time expression found in text.
type timeCandidate struct {
	text string    // the customer's phrase, with the start word before it ("since 07:40")
	at   time.Time // the instant it resolves to; zero if it could not be
}

// startTime finds the start of the incident in free text.
func (t *Triage) startTime(text string, base time.Time, haveBase bool) (timeCandidate, bool) {
	if text == "" {
		return timeCandidate{}, false
	}
	for _, span := range mergeTimeAtoms(text) {
		phrase := text[span[0]:span[1]]
		before := sentenceBefore(text, span[0])
		if n := len(before); n > 80 {
			before = before[n-80:]
		}
		cueStart := span[0]
		if m := reCueWord.FindStringIndex(before); m != nil {
			cueStart = span[0] - (len(before) - m[0])
		}
		full := strings.TrimRight(collapseSpace(text[cueStart:span[1]]), ".,;:!?")
		inherent := reInherent.MatchString(full) || reInherent.MatchString(collapseSpace(phrase))
		if !inherent {
			words := strings.Fields(before)
			if len(words) > 8 {
				words = words[len(words)-8:]
			}
			if !reStartCue.MatchString(strings.Join(words, " ")) {
				continue
			}
		}
		if w := strings.Fields(before); len(w) > 0 {
			tail := strings.Join(w[max(0, len(w)-5):], " ")
			if reFutureCue.MatchString(tail) {
				continue
			}
		}
		if reFutureWord.MatchString(phrase) {
			continue
		}
		c := timeCandidate{text: full}
		if haveBase {
			at, ok := t.resolve(phrase, base)
			if !ok && !inherent && !strings.HasPrefix(strings.ToLower(full), "since") {
				// A bare time that cannot be placed before the mail is no start time.
				if _, future := t.resolveRaw(phrase, base); future {
					continue
				}
			}
			c.at = at
		}
		return c, true
	}
	return timeCandidate{}, false
}

// firstTime resolves the first time expression in s (a labelled value).
func (t *Triage) firstTime(s string, base time.Time, _ bool) (timeCandidate, bool) {
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
	for _, m := range reTimeAtom.FindAllStringIndex(text, -1) {
		a, b := m[0], m[1]
		for a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\n') {
			a++
		}
		if a == b {
			continue
		}
		if n := len(spans); n > 0 && reTimeGlue.MatchString(text[spans[n-1][1]:a]) && !strings.Contains(text[spans[n-1][1]:a], "\n\n") {
			spans[n-1][1] = b
			continue
		}
		spans = append(spans, [2]int{a, b})
	}
	return spans
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
	// An explicit zone: read the time there, unless that puts it after the
	// mail and the customer's own zone does not (a customer in Sydney
	// writing "AEST" in summer).
	if z, rest, ok := splitZone(s); ok {
		if at, future := t.resolveIn(rest, base.In(z), false); !at.IsZero() && !future {
			return at.In(base.Location()), false
		}
		s = rest
	}
	return t.resolveIn(s, base, true)
}

// resolveIn resolves s against base in base's zone. With back, a time of
// day after base is taken as the day before's, a weekday as last week's.
func (t *Triage) resolveIn(s string, base time.Time, back bool) (time.Time, bool) {
	loc := base.Location()
	lower := strings.ToLower(s)
	if at, ok := strictParse(s, loc); ok {
		return at, at.After(base.Add(skew))
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
	clean = strings.ReplaceAll(clean, "this past ", "last ")
	clean = strings.TrimSpace(clean)
	r, err := t.when.Parse(clean, base)
	if err != nil || r == nil {
		return time.Time{}, false
	}
	at := r.Time
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
	reDuration   = regexp.MustCompile(`^(?:since|for)\s+(?:the\s+)?(?:(?:last|past)\s+)?(` + numWords + `)\s+(` + units + `)$`)
	reOrdinalDay = regexp.MustCompile(`^the\s+(\d{1,2})(?:st|nd|rd|th)$`)
	reFiller     = regexp.MustCompile(`\b(?:around|about|approx\.?|approximately|roughly|circa|ca\.)\s*`)
	reDotClock   = regexp.MustCompile(`\b(\d{1,2})\.(\d{2})\b`)
	reHasClock   = regexp.MustCompile(`\d[:.]\d\d|\d\s?[ap]\.?m\b|morning|afternoon|evening|night|noon|midday|midnight|tonight`)
	reWeekday    = regexp.MustCompile(`(?i)` + dayNames)
	reHasDate    = regexp.MustCompile(`(?i)\d{4}|` + monthNames + `|yesterday|` + dayNames)
	reZone       = regexp.MustCompile(`^(.*\S)\s+(` + zoneAbbr + `)$`)
	reZoneGlued  = regexp.MustCompile(`^(.*\d)(Z|[+-]\d{2}:?\d{2})$`)
)

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
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
