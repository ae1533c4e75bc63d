package message

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// closingRe matches a sign-off at the start of a line ("Regards,", "Best
// wishes", "Mit freundlichen Grüßen"), in the languages of the corpus.
var closingRe = regexp.MustCompile(`(?i)^(?:(?:best|kind|warm|warmest|many|with)?\s*(?:regards|wishes|thanks)|thank you|best|cheers|sincerely|yours(?: truly| sincerely)?|all the best|take care|` +
	`mit freundlichen grüßen|freundliche grüße|viele grüße|beste grüße|liebe grüße|grüße|gruß|cordialement|bien à vous|bien cordialement|` +
	`saludos|un saludo|atentamente|cordiali saluti|distinti saluti|met vriendelijke groet|groeten)\b[\s,.!:;]*`)

// Closing reports whether line (trimmed of spaces) starts with a
// sign-off ("Kind regards,", "Thanks, Pat", "Viele Grüße"), and returns
// what follows it on the line ("Pat"; "" when nothing does). Both the
// desk, which adds no signature under an agent's own, and triage, which
// never quotes a writer's signature as a fact of the incident, read mail
// endings with it. "Thanks for the quick fix" also starts with one: the
// caller judges the rest.
func Closing(line string) (rest string, ok bool) {
	m := closingRe.FindStringIndex(line)
	if m == nil {
		return "", false
	}
	return strings.TrimSpace(line[m[1]:]), true
}

// NameLike reports whether a line under a closing reads as a signature's
// name line: one to four capitalised words, no digits, no sentence end
// ("The Support Team", "Pat O'Neill").
func NameLike(s string) bool {
	words := strings.Fields(s)
	if len(words) == 0 || len(words) > 4 || len(s) > 40 || strings.ContainsAny(s, ".?!:0123456789@") {
		return false
	}
	for _, w := range words {
		if r, _ := utf8.DecodeRuneInString(w); !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}
