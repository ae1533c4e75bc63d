package message

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// subjectPrefixKind says whether a subject prefix marks a reply or a
// forward.
type subjectPrefixKind uint8

const (
	prefixReply subjectPrefixKind = iota + 1
	prefixForward
)

// subjectPrefixWords are the reply and forward prefixes mail clients write,
// in lower case (strings.ToLower folds "İLT" to "ilt"), by language. A word
// that means a reply in one language and a forward in another is a reply
// here ("VS": Finnish vastaus; Norwegian and Danish videresendt).
var subjectPrefixWords = map[string]subjectPrefixKind{
	// English and many others; Outlook in Spanish and Portuguese (RV, Enc).
	"re": prefixReply, "fw": prefixForward, "fwd": prefixForward, "rv": prefixForward,
	// German, Dutch.
	"aw": prefixReply, "antw": prefixReply, "wg": prefixForward, "doorst": prefixForward,
	// Scandinavian, Finnish.
	"sv": prefixReply, "vs": prefixReply, "vb": prefixForward, "vl": prefixForward,
	// French.
	"tr": prefixForward,
	// Italian: R (risposta), Rif (riferimento), I (inoltrato).
	"r": prefixReply, "rif": prefixReply, "i": prefixForward,
	// Polish.
	"odp": prefixReply, "pd": prefixForward,
	// Portuguese.
	"res": prefixReply, "enc": prefixForward,
	// Turkish.
	"ynt": prefixReply, "ilt": prefixForward,
	// Russian.
	"ответ": prefixReply, "отв": prefixReply,
	// Greek.
	"απ": prefixReply, "σχετ": prefixReply, "πρθ": prefixForward,
	// Chinese (simplified, traditional), Japanese, Korean.
	"回复": prefixReply, "答复": prefixReply, "回覆": prefixReply, "转发": prefixForward, "轉寄": prefixForward,
	"返信": prefixReply, "転送": prefixForward,
	"회신": prefixReply, "전달": prefixForward,
}

// maxSubjectPrefix is the longest word of subjectPrefixWords in bytes,
// which bounds how far a word is read before it is looked up.
const maxSubjectPrefix = 16

// BaseSubject returns s without the reply and forward prefixes at its start
// ("Re: ", "AW: ", "Antw: ", "Fwd: ", "WG: ", "TR: ", "I: ", "回复：",
// "Ответ: ", ...; see SubjectPrefixes), repeated and mixed, and without the
// white space around what is left. It strips nothing else: a "[HD-1042]"
// tag or a list's "[name]" stays where it is, and a prefix after one is
// kept. Two mails of one thread have the same BaseSubject.
func BaseSubject(s string) string {
	base, _, _ := SubjectPrefixes(s)
	return base
}

// SubjectPrefixes reads the reply and forward prefixes at the start of s
// and returns what follows them, trimmed of white space, and whether any
// of them marks a reply and any a forward. A prefix is one of the words
// mail clients write in the common languages (Re, Aw, Antw, Sv, Vs, R, Rif,
// Odp, Res, Ynt, İlt, Ответ, Отв, 回复, 答复, 返信 for a reply; Fw, Fwd, WG,
// TR, RV, I, PD, Enc, 转发, 転送 for a forward; in any case), optionally
// followed by a counter ("Re[2]:", "Re^2:"), then a colon (":" or the
// full-width "："), with any white space between.
func SubjectPrefixes(s string) (base string, reply, forward bool) {
	rest := strings.TrimLeftFunc(s, unicode.IsSpace)
	for {
		n, kind := subjectPrefixLen(rest)
		if n == 0 {
			return strings.TrimRightFunc(rest, unicode.IsSpace), reply, forward
		}
		reply = reply || kind == prefixReply
		forward = forward || kind == prefixForward
		rest = strings.TrimLeftFunc(rest[n:], unicode.IsSpace)
	}
}

// ForwardSubject reports whether the outermost prefix of s marks a
// forward ("FW: RE: ..." forwards; "RE: FW: ..." replies to a forward).
func ForwardSubject(s string) bool {
	n, kind := subjectPrefixLen(strings.TrimLeftFunc(s, unicode.IsSpace))
	return n > 0 && kind == prefixForward
}

// subjectPrefixLen returns the length of the prefix s starts with, through
// its colon, and its kind; 0 when s starts with none.
func subjectPrefixLen(s string) (int, subjectPrefixKind) {
	// The word: a run of letters.
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) {
			break
		}
		i += size
		if i > maxSubjectPrefix {
			return 0, 0
		}
	}
	if i == 0 {
		return 0, 0
	}
	kind := subjectPrefixWords[strings.ToLower(s[:i])]
	if kind == 0 {
		return 0, 0
	}
	i = skipSpace(s, i)
	// A counter: [2] or ^2.
	if i < len(s) && (s[i] == '[' || s[i] == '^') {
		open := s[i]
		j := skipSpace(s, i+1)
		d := j
		for d < len(s) && '0' <= s[d] && s[d] <= '9' {
			d++
		}
		if d == j {
			return 0, 0
		}
		j = skipSpace(s, d)
		if open == '[' {
			if j >= len(s) || s[j] != ']' {
				return 0, 0
			}
			j++
		}
		i = skipSpace(s, j)
	}
	switch {
	case strings.HasPrefix(s[i:], ":"):
		return i + 1, kind
	case strings.HasPrefix(s[i:], "："):
		return i + len("："), kind
	}
	return 0, 0
}

// skipSpace returns the index of the first rune of s at or after i that
// is not white space.
func skipSpace(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}
