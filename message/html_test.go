package message

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"paragraphs", "<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"attributes on p and div", `<div class="x"><p class=MsoNormal>One<o:p></o:p></p></div><div>Two</div>`, "One\n\nTwo"},
		{"br", "a<br>b<br/>c<BR />d", "a\nb\nc\nd"},
		{"entities", "5 &lt; 6 &amp;&amp; caf&eacute; &#8364;1 &nbsp;x", "5 < 6 && café €1  x"}, // the no-break space is kept as a space
		{"head style script dropped", "<html><head><title>T</title><style>a > b {}</style></head><body><script>if (a > b) {}</script>Body</body></html>", "Body"},
		{"comments dropped", "a<!-- <p>hidden</p> -->b<!--[if mso]>x<![endif]-->", "ab"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "* one\n* two"},
		{"link", `<a href="https://example.com/x?a=1&amp;b=2">docs</a>`, "docs <https://example.com/x?a=1&b=2>"},
		{"link text is the url", `<a href="https://example.com">https://example.com</a>`, "https://example.com"},
		{"mailto link", `<a href="mailto:a@example.com">a@example.com</a>`, "a@example.com"},
		{"blockquote", "<p>Yes</p><blockquote><p>Is it down?</p><blockquote>older</blockquote></blockquote>", "Yes\n\n> Is it down?\n\n> > older"},
		{"table rows", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\n\nc"},
		{"pre keeps spacing", "<pre>  x  y\n z</pre>", "x  y\nz"},
		{"stray lt", "a < b and c>d", "a < b and c>d"},
		{"unclosed tag", "text <b", "text"},
		{"private use markers in input", "a\ue000b\ue001c", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLToText(tt.in); got != tt.want {
				t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzHTMLToText checks that HTMLToText never panics and returns valid
// UTF-8 without the blockquote markers it uses internally.
func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<blockquote><blockquote>x</blockquote>", "<a href='http://x'>y", "<!--", "<pre>\n x</pre>", "a > b < c", "<style>", "<a href=\"https://x\">https://x</a>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := HTMLToText(in)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		if strings.ContainsAny(out, string(htmlQuoteOpen)+string(htmlQuoteClose)) {
			t.Fatalf("internal marker leaked: %q", out)
		}
	})
}
