package triage

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// A claim is the priority a customer declares. Ranks count from the most
// urgent level: "P1", "Tier 1", "Sev 1", "urgent", "critical", "business
// critical" and "emergency" claim the first level; "P2", "Tier 2",
// "major" and "high" the second; "P3", "Tier 3", "minor", "medium" and
// "normal" the third; "P4" and "low" the fourth. "Change request" claims
// the change category.
type claim struct {
	rank int    // 0 is the most urgent level; rankChange for the change category
	text string // what the customer wrote
}

// claimPhrases find claims in running text. "Major" and "minor" are
// claims only in a label or a subject tag: in prose they describe.
var claimPhrases = []struct {
	rank    int
	phrases []string
}{
	{0, []string{
		"(urgent|urgently|emergency)",
		"business critical",
		"(top|highest|maximum|max|critical|urgent) priority",
		"(this is|it is|this|it) (very|really|extremely|absolutely|so|truly)? critical",
		"critical (issue|incident|problem|situation|outage|bug|case|matter|failure)",
		"(p1|sev1|tier1|prio1|priority1)",
		"(p|sev|severity|tier|priority|prio) 1",
	}},
	{1, []string{
		"(high|higher) priority",
		"(p2|sev2|tier2|prio2|priority2)",
		"(p|sev|severity|tier|priority|prio) 2",
	}},
	{2, []string{
		"(medium|normal|moderate|standard) priority",
		"(p3|sev3|tier3|prio3|priority3)",
		"(p|sev|severity|tier|priority|prio) 3",
	}},
	{3, []string{
		"(low|lowest|lower) priority",
		"(p4|sev4|tier4|prio4|priority4)",
		"(p|sev|severity|tier|priority|prio) 4",
	}},
	{rankChange, []string{
		"(treat|log|raise|consider|classify|mark|handle|file|raising|logging|treating) (this|it) as (a|an)? (change|enhancement|feature) request",
		"this is (a|an) (change|enhancement|feature) request",
	}},
}

// claimLabel finds "Priority: High", "Severity - 2", "Type: Change request".
var claimLabel = regexp.MustCompile(`(?im)^[ \t>*\x{2022}-]*(priority|severity|sev|urgency|prio|tier|priority level|severity level|type|request type|issue type|ticket type|category)[ \t]*[:=][ \t]*([^\r\n]{1,60})`)

// claimLabelStart reports whether line starts with a word claimLabel
// looks for, so that the expression runs only on such lines.
func claimLabelStart(line string) bool {
	line = trimMarks(line)
	if len(line) < 3 {
		return false
	}
	// Only ASCII lower-cases to three ASCII letters.
	var w [3]byte
	for i := range w {
		w[i] = line[i]
		if w[i] >= 'A' && w[i] <= 'Z' {
			w[i] += 'a' - 'A'
		}
	}
	switch string(w[:]) {
	case "pri", "sev", "urg", "tie", "typ", "req", "iss", "tic", "cat":
		return true
	}
	return false
}

// subjectTag finds a bracketed tag anywhere in a subject: "[URGENT]", "(P2)".
var subjectTag = regexp.MustCompile(`[\[(]\s*([^\])]{1,30}?)\s*[\])]`)

// subjectEdge finds a leading or trailing segment of a subject set off by
// a separator: "URGENT!!! ...", "P1 - ...", "... - low priority".
var (
	subjectLead  = regexp.MustCompile(`^\W*([\p{L}0-9][\p{L}0-9 ]{0,24}?)\s*(?:[:!|\x{2013}\x{2014}]|\s-\s|$)`)
	subjectTrail = regexp.MustCompile(`(?:[:!|\x{2013}\x{2014}(]|\s-\s)\s*([\p{L}0-9][\p{L}0-9 ]{0,24}?)\W*$`)
)

// hasSeparator reports whether s holds a separator subjectLead and
// subjectTrail know: one of ":!|", an en or em dash, or a "-" with white
// space on both sides.
func hasSeparator(s string) bool {
	if strings.ContainsAny(s, ":!|\u2013\u2014") {
		return true
	}
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '-' && isRegexpSpace(s[i-1]) && isRegexpSpace(s[i+1]) {
			return true
		}
	}
	return false
}

// shortLead reports whether subjectLead may match s without a separator,
// that is up to its end: then s, from its first letter or digit and but
// for white space at its end, is at most 25 bytes long. Beyond ASCII,
// where \W takes letters too, it always reports true.
func shortLead(s string) bool {
	if !isASCII(s) {
		return true
	}
	first := 0
	for first < len(s) && !isASCIIAlnum(s[first]) {
		first++
	}
	return first < len(s) && len(strings.TrimRight(s, " \t\n\f\r"))-first <= 25
}

// claimValue reads a whole value as a claim: "critical", "P1", "Tier 3",
// "high priority", "1", "Sev 2", "change request" or a configured level
// name.
var (
	claimNumber = regexp.MustCompile(`^(?:(?:p|sev|severity|tier|priority|prio|level)\s*[-.:]?\s*)?([1-4])$`)
	claimWord   = regexp.MustCompile(`^(?:(?:priority|severity|urgency|tier|sev)\s*[-:]?\s*)?(business[ -]critical|critical|urgent|emergency|blocker|showstopper|highest|top|high|major|serious|medium|normal|moderate|minor|standard|low|lowest|trivial|change request|change)(?:\s+(?:priority|issue|severity|request))?$`)
)

var claimWordRank = map[string]int{
	"business critical": 0, "business-critical": 0, "critical": 0, "urgent": 0, "emergency": 0,
	"blocker": 0, "showstopper": 0, "highest": 0, "top": 0,
	"high": 1, "major": 1, "serious": 1,
	"medium": 2, "normal": 2, "moderate": 2, "minor": 2, "standard": 2,
	"low": 3, "lowest": 3, "trivial": 3,
	"change request": rankChange, "change": rankChange,
}

func (t *Triage) claimValue(v string) (int, bool) {
	v = strings.ToLower(collapseSpace(strings.Trim(v, " \t*_!.,;:\"'[]()")))
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

// claimKeys are words one of which every value claimValue takes holds
// (besides a level's name and a digit from 1 to 4): the words of
// claimWord.
var claimKeys = []string{"critical", "urgent", "emergency", "blocker", "showstopper", "top", "high", "major", "serious",
	"medium", "normal", "moderate", "minor", "standard", "low", "trivial", "change"}

// mayClaim is a quick test of whether a part of the subject s can be a
// claim, before the subject expressions run: claimValue takes a value
// only if it holds a digit from 1 to 4, a word of claimKeys or a level's
// name, and every value the expressions find is a part of s. A subject
// beyond ASCII, or levels named beyond ASCII, always pass, for case
// folding beyond ASCII ("\u017f" is an "s").
func (t *Triage) mayClaim(s string) bool {
	if !t.asciiLevels {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c >= '1' && c <= '4' {
			return true
		}
	}
	// claimValue collapses white space, so a level's name is looked for
	// in the subject with its white space collapsed.
	lower := ascii.Lower(collapseSpace(s))
	for _, k := range claimKeys {
		if strings.Contains(lower, k) {
			return true
		}
	}
	for _, p := range t.levels.Order {
		if strings.Contains(lower, ascii.Lower(string(p))) {
			return true
		}
	}
	return t.levels.Change != "" && strings.Contains(lower, ascii.Lower(string(t.levels.Change)))
}

// findClaim returns the customer's declared priority: a labelled line
// first, then a subject tag, then a phrase in the text.
func (t *Triage) findClaim(in Input, an *analysis) (claim, bool) {
	for _, line := range an.textLines() { // the lines of in.Text
		if !claimLabelStart(line) || !strings.ContainsAny(line, ":=") {
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
		r, ok := t.claimValue(head)
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
	if s := an.subject; s != "" && t.mayClaim(s) {
		// Each expression runs only on a subject it can match.
		if strings.ContainsAny(s, "[(") {
			for _, m := range subjectTag.FindAllStringSubmatch(s, -1) {
				if r, ok := t.claimValue(m[1]); ok {
					return claim{rank: r, text: m[1]}, true
				}
			}
		}
		sep := hasSeparator(s)
		for _, e := range []struct {
			re       *regexp.Regexp
			mayMatch bool
		}{
			{subjectLead, sep || shortLead(s)},
			{subjectTrail, sep || strings.ContainsRune(s, '(')},
		} {
			if !e.mayMatch {
				continue
			}
			if m := e.re.FindStringSubmatch(s); m != nil {
				if r, ok := t.claimValue(m[1]); ok {
					return claim{rank: r, text: strings.TrimSpace(m[1])}, true
				}
			}
		}
	}
	for _, h := range an.hits {
		if catOf(h.kind) == catClaim && !h.negated {
			return claim{rank: rankOf(h.kind), text: an.d.quote(h.start, h.end)}, true
		}
	}
	return claim{}, false
}

// judgeClaim decides whether the claim is taken, sets the assessment's
// Claimed, ClaimAccepted and Priority, and returns the reason. A claim is
// taken when it is at most one level from the content's, except that a
// critical content is never lowered; a claim on a change request maps to
// the change category unless it asks for one of the two most urgent
// levels.
func (t *Triage) judgeClaim(a *helpdesk.Assessment, c claim, dec decision) string {
	n := len(t.levels.Order)
	last := n - 1
	if dec.change {
		if c.rank == rankChange || c.rank >= 2 {
			a.Claimed, a.ClaimAccepted, a.Priority = t.levels.Change, true, t.levels.Change
			return fmt.Sprintf("claim %q read as %s and accepted", c.text, t.levels.Change)
		}
		a.Claimed = t.levels.Order[min(c.rank, last)]
		a.Priority = dec.level
		return fmt.Sprintf("claim %q not supported by the content (assessed %s: %s)", c.text, dec.level, dec.evidence)
	}
	cr := c.rank
	if cr == rankChange {
		cr = last
	}
	cr = min(cr, last)
	a.Claimed = t.levels.Order[cr]
	diff := cr - dec.rank
	evidence := dec.evidence
	if evidence == "" {
		evidence = "no rubric phrase"
	}
	switch {
	case diff == 0:
		a.ClaimAccepted, a.Priority = true, a.Claimed
		return fmt.Sprintf("claim %q accepted", c.text)
	case diff == -1 && !dec.degraded:
		a.ClaimAccepted, a.Priority = true, a.Claimed
		return fmt.Sprintf("claim %q accepted (assessed %s, one level apart)", c.text, dec.level)
	case diff < 0:
		// The policies take a declared level only when the issue meets
		// its definition; one level up is given the benefit of the doubt,
		// except for a service that works but slowly or late, which every
		// policy defines as its second level (ProspectSoft: "performance
		// is degraded"; Prosper EX: "performance slowdowns"), never the
		// first.
		a.Priority = dec.level
		return fmt.Sprintf("claim %q not supported by the content (assessed %s: %s)", c.text, dec.level, evidence)
	case dec.rank == 0:
		a.Priority = dec.level
		return fmt.Sprintf("claim %q under-states the content (assessed %s: %s)", c.text, dec.level, evidence)
	case diff == 1:
		a.ClaimAccepted, a.Priority = true, a.Claimed
		return fmt.Sprintf("claim %q accepted (assessed %s, one level apart)", c.text, dec.level)
	default:
		a.Priority = dec.level
		return fmt.Sprintf("claim %q under-states the content (assessed %s: %s)", c.text, dec.level, evidence)
	}
}
