package mailbox

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// equivHTMLs returns the HTML bodies of every mail the equivalence tests
// use and the HTML reply fixtures.
func equivHTMLs(t testing.TB) []string {
	var out []string
	for _, m := range equivMails(t) {
		for _, p := range equivParts(m.raw, 0, nil) {
			if p.ctype == "text/html" {
				text, _ := newReadAll(p.ctype, p.params, p.cte, p.body)
				out = append(out, text)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(replyCorpusDir, "*", "test", "*", "*.html"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

// equivRandomHTML makes HTML from the pieces htmlNormalize and
// htmlFinish treat specially.
func equivRandomHTML(r *rand.Rand) string {
	atoms := []string{
		"<p>", "</p>", "<P class=MsoNormal>", "<br>", "<BR/>", "<div>", "</div>", "<blockquote type=cite>", "</blockquote>",
		"<pre>", "</pre>", "<ul>", "<li>", "</ul>", "<ol>", "</ol>", "<td>", "<tr>", "<a href=\"https://x.example/?a=1&amp;b=2\">",
		"<a href='http://y.example/<z>'>", "<a href=mailto:q@x.example>", "</a>", "<style>p>b{}</style>", "<script>if(a<b){}</script>",
		"<!-- c -->", "<!--[if mso]>x<![endif]-->", "<!DOCTYPE html>", "<?xml?>", "<head><title>t</title></head>", "<h1>", "</h2>",
		"<span>", "<o:p>", "< b", "a<b", "x>y", "&amp;", "&lt;", "&gt;", "&nbsp;", "&#32;", "&#x41;", "&bogus;", "&", "\u00a0",
		"\ue000", "\ue001", "text", "two words", " ", "  ", "\t", "\n", "\r\n", "é", "\u2028", "\xff", "\"", "'",
	}
	var b strings.Builder
	for range r.IntN(40) {
		b.WriteString(atoms[r.IntN(len(atoms))])
	}
	return b.String()
}

// TestHTMLToTextMatchesReference compares HTMLToText with the reference
// copy of the code before optimisation (html_ref_test.go) on every HTML
// body of the corpus and fixtures and on generated HTML.
func TestHTMLToTextMatchesReference(t *testing.T) {
	htmls := equivHTMLs(t)
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		htmls = append(htmls, equivRandomHTML(r))
	}
	for _, h := range htmls {
		if got, want := HTMLToText(h), refHTMLToText(h); got != want {
			t.Fatalf("HTMLToText(%q) =\n%q\nreference\n%q", corpusClip(h), got, want)
		}
	}
	t.Logf("%d HTML bodies compared", len(htmls))
}

// TestHTMLFinishMatchesReference compares htmlFinish with the reference
// copy on generated converter output: markers, no-break spaces, white
// space and broken UTF-8 around them.
func TestHTMLFinishMatchesReference(t *testing.T) {
	atoms := []string{"\ue000", "\ue001", "\u00a0", " ", "\t", "\n", "\n\n", "a", "b c", "é", "\xee\x80", "\xee", "\ue002", "\u2028"}
	r := rand.New(rand.NewPCG(9, 10))
	for range 30000 {
		var b strings.Builder
		for range r.IntN(16) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		if got, want := htmlFinish(b.String()), refHTMLFinish(b.String()); got != want {
			t.Fatalf("htmlFinish(%q) = %q, reference %q", b.String(), got, want)
		}
	}
}

// FuzzHTMLToTextReference compares HTMLToText with the reference copy.
func FuzzHTMLToTextReference(f *testing.F) {
	f.Add("<p>Hello <b>world</b></p><blockquote>quoted<br>line</blockquote>")
	f.Add("<pre>  a\n\tb</pre><a href=\"https://x.example\">link</a> a > b")
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := HTMLToText(h), refHTMLToText(h); got != want {
			t.Fatalf("HTMLToText(%q) = %q, reference %q", h, got, want)
		}
	})
}
