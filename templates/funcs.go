package templates

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk"
)

// funcs are the functions every template may call, besides Go's builtins.
// They only format; none marks anything as safe HTML, so html/template
// escapes their results like any other value.
//
//	title s          "critical" -> "Critical"
//	upper s, lower s
//	join list sep    strings.Join
//	indent n s       every non-empty line of s indented by n spaces
//	count n word     "1 ticket", "2 tickets": n and word, with an s unless n is 1
//	paragraphs s     s split at blank lines into paragraphs of lines, for
//	                 HTML: {{range paragraphs .Text}}<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>{{end}}
func funcs() map[string]any {
	return map[string]any{
		"title":      title,
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"join":       strings.Join,
		"indent":     indent,
		"paragraphs": paragraphs,
		"count":      count,
	}
}

// count writes n and word, plural unless n is 1.
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func title(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

func paragraphs(s string) [][]string {
	var out [][]string
	var cur []string
	for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

// tidyText lets templates be written readably: it drops trailing blanks on
// each line (except in the signature separator "-- ", RFC 3676 §4.3),
// collapses runs of blank lines into one, trims blank lines at both ends
// and ends the text with one newline.
func tidyText(s string) string {
	var b strings.Builder
	blank := false
	for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l != "-- " {
			l = strings.TrimRightFunc(l, unicode.IsSpace)
		}
		if l == "" {
			blank = b.Len() > 0
			continue
		}
		if blank {
			b.WriteByte('\n')
			blank = false
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// FieldLabel returns the human label of an incident field (one of the
// helpdesk.Field* names) and one line on why it matters, as the
// acknowledgement lists it when the field is missing. An unknown name gets
// a label made from the name and no reason.
func FieldLabel(name string) (label, why string) {
	switch name {
	case helpdesk.FieldStartTime:
		return "When it started", "The date and time it began lets us match it against our logs and any changes made around then."
	case helpdesk.FieldErrorText:
		return "The exact error message", "The exact wording (copied, or a screenshot) usually points straight at the cause."
	case helpdesk.FieldReproSteps:
		return "Steps to reproduce", "The steps that lead to the problem let us see it for ourselves and confirm the fix."
	case helpdesk.FieldImpact:
		return "Who is affected", "How many users, or which part of your business, is affected tells us how urgently to act."
	case helpdesk.FieldService:
		return "Which service", "Naming the service or part of the product affected gets it to the right people."
	}
	return title(strings.ReplaceAll(name, "_", " ")), ""
}
