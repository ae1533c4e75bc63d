package message

import (
	"net/mail"
	"regexp"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/helpdeskd/helpdesk"
)

// addrParseList parses an address list leniently; see addrParseListClean.
func addrParseList(v string) []helpdesk.Address {
	l, _ := addrParseListClean(v)
	return l
}

// addrParseListClean parses an RFC 5322 §3.4 address list with go-message
// (RFC 2047 names in any charset). When the strict parser refuses the
// list, each comma-separated piece is tried on its own and, failing that,
// the addr-spec is picked out of it, so a broken header still yields what
// can be read. clean is false when the fallback was needed. Addresses are
// lower-cased.
func addrParseListClean(v string) (out []helpdesk.Address, clean bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, true
	}
	if list, err := gomail.ParseAddressList(v); err == nil {
		for _, a := range list {
			if a.Address == "" {
				continue
			}
			out = append(out, helpdesk.Address{Name: addrCleanName(a.Name), Email: strings.ToLower(a.Address)})
		}
		return out, true
	}
	for _, piece := range addrSplit(v) {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		if a, err := gomail.ParseAddress(piece); err == nil && a.Address != "" {
			out = append(out, helpdesk.Address{Name: addrCleanName(a.Name), Email: strings.ToLower(a.Address)})
			continue
		}
		if a, ok := addrLenient(piece); ok {
			out = append(out, a)
		}
	}
	// An unbalanced quote or bracket can hide later addresses from the
	// split; pick up any addr-spec not read yet.
	for _, f := range addrSpecRe.FindAllString(v, -1) {
		f = strings.ToLower(strings.Trim(f, ".-"))
		seen := false
		for _, a := range out {
			seen = seen || a.Email == f
		}
		if !seen && addrLooksLike(f) {
			out = append(out, helpdesk.Address{Email: f})
		}
	}
	return out, false
}

// addrSpecRe finds addr-specs in text (dot-atom@domain).
var addrSpecRe = regexp.MustCompile(`[A-Za-z0-9!#$%&'*+/=?^_{|}~-][A-Za-z0-9.!#$%&'*+/=?^_{|}~-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*`)

// addrSplit splits an address list at commas and semicolons that are not
// inside quotes, angle brackets or comments.
func addrSplit(v string) []string {
	var parts []string
	depthParen, inQuote, inAngle := 0, false, false
	start := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depthParen++
		case c == ')' && depthParen > 0:
			depthParen--
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case (c == ',' || c == ';') && depthParen == 0 && !inAngle:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:])
}

// addrLenient picks an address out of a piece no parser accepts:
// `Name <user@host>`, `user@host (Name)`, `"Broken <user@host`...
func addrLenient(piece string) (helpdesk.Address, bool) {
	piece = parseValidUTF8(piece)
	if i := strings.IndexByte(piece, '<'); i >= 0 {
		inner := piece[i+1:]
		if j := strings.IndexByte(inner, '>'); j >= 0 {
			inner = inner[:j]
		}
		inner = strings.Trim(strings.TrimSpace(inner), "<>\"'")
		if addrLooksLike(inner) {
			name := strings.Trim(strings.TrimSpace(piece[:i]), "\"' ")
			return helpdesk.Address{Name: addrCleanName(hdrDecode(name)), Email: strings.ToLower(inner)}, true
		}
	}
	for _, f := range strings.FieldsFunc(piece, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '<' || r == '>' || r == '"' || r == '(' || r == ')' || r == '[' || r == ']'
	}) {
		f = strings.Trim(f, "'.,:;")
		if addrLooksLike(f) {
			name := ""
			if i := strings.IndexByte(piece, '('); i >= 0 {
				if j := strings.IndexByte(piece[i:], ')'); j > 0 {
					name = strings.TrimSpace(piece[i+1 : i+j])
				}
			}
			return helpdesk.Address{Name: addrCleanName(hdrDecode(name)), Email: strings.ToLower(f)}, true
		}
	}
	return helpdesk.Address{}, false
}

// addrLooksLike reports whether s is plausibly an addr-spec: one "@"
// with something on both sides and no white space.
func addrLooksLike(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>,;") && len(s) <= 320
}

func addrCleanName(s string) string {
	s = parseValidUTF8(s)
	return strings.Join(strings.Fields(s), " ")
}

// addrReturnPath reads a Return-Path value (RFC 5321 §4.4): "<>" for the
// null reverse-path, else the lower-cased address.
func addrReturnPath(v string) string {
	v = strings.TrimSpace(v)
	inner := parseStripBrackets(v)
	if inner == "" {
		return "<>"
	}
	if a, ok := addrLenient(v); ok {
		return a.Email
	}
	return strings.ToLower(inner)
}

// parseDate reads a Date field with net/mail (RFC 5322 §3.3 and its
// obsolete forms) and, failing that, after removing comments and the
// common junk (doubled spaces, "GMT+0200", trailing text) with a few
// layouts seen in the wild. It reports false when nothing fits.
func parseDate(v string) (time.Time, bool) {
	if t, ok := parseDateCanonical(v); ok {
		return t, true
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	s := v
	for {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			s = s[:i]
			break
		}
		s = s[:i] + " " + s[i+j+1:]
	}
	s = strings.ReplaceAll(s, ",", ", ")
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Replace(s, "GMT+", "+", 1)
	s = strings.Replace(s, "GMT-", "-", 1)
	s = strings.Replace(s, "UTC+", "+", 1)
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	layouts := []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon, 2 January 2006 15:04:05 -0700",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"Monday, January 2, 2006 3:04 PM",
		"Mon, 2 Jan 2006 15:04:05",
		"2 Jan 2006 15:04:05",
		"2006-01-02 15:04:05 -0700",
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02 15:04:05",
		"Mon, Jan 2 2006 15:04:05 -0700",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	// Trailing junk after the zone ("+0200 (CEST) foo", "-0700 -0700").
	f := strings.Fields(s)
	for n := len(f) - 1; n >= 4; n-- {
		if t, err := mail.ParseDate(strings.Join(f[:n], " ")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseDateLayout is the layout of a Date field as nearly every mail
// program writes it (RFC 5322 §3.3 with the day of the week).
const parseDateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDateCanonical reads a Date field written exactly in
// parseDateLayout, "Wed, 11 Mar 2026 11:58:00 +0000" with nothing before
// or after it, and reports false for anything else. It gives what
// mail.ParseDate gives: that keeps such a value whole (no line break,
// leading space or text after the zone to cut) and parses it with the
// first of its layouts that succeeds, where those without a day of the
// week fail on the letter the value starts with and parseDateLayout
// comes first of the others. mail.ParseDate gets there only after two
// dozen failed attempts, each allocating its error.
func parseDateCanonical(v string) (time.Time, bool) {
	// "Www, " then a day of 1 or 2 digits.
	if len(v) < len("Mon, 2 Jan 2006 15:04:05 -0700") || v[3] != ',' || v[4] != ' ' {
		return time.Time{}, false
	}
	for i := 0; i < 3; i++ {
		if !parseIsLetter(v[i]) {
			return time.Time{}, false
		}
	}
	rest := v[5:]
	switch {
	case len(rest) > 1 && parseIsDigit(rest[0]) && rest[1] == ' ':
		rest = rest[2:]
	case len(rest) > 2 && parseIsDigit(rest[0]) && parseIsDigit(rest[1]) && rest[2] == ' ':
		rest = rest[3:]
	default:
		return time.Time{}, false
	}
	// "Mmm YYYY HH:MM:SS +ZZZZ", letters and digits where the shape says.
	const shape = "aaa dddd dd:dd:dd sdddd"
	if len(rest) != len(shape) {
		return time.Time{}, false
	}
	for i := 0; i < len(shape); i++ {
		c := rest[i]
		var ok bool
		switch shape[i] {
		case 'a':
			ok = parseIsLetter(c)
		case 'd':
			ok = parseIsDigit(c)
		case 's':
			ok = c == '+' || c == '-'
		default:
			ok = c == shape[i]
		}
		if !ok {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(parseDateLayout, v)
	return t, err == nil
}

func parseIsLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func parseIsDigit(c byte) bool { return '0' <= c && c <= '9' }
