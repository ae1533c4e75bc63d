package mailbox

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// refMimeReadText and refMimeCanonicalText are the text reading of
// parser.readAll as it was before text parts were decoded without
// go-message's readers, kept verbatim as the reference that
// TestMimeDecodedTextMatchesReference holds the new code to. Do not
// change them to follow parse_mime.go.
//
// When the behaviour is meant to change, delete this reference and the
// tests that use it rather than editing both: they exist to show that the
// speed-ups of 2026-11-22 changed no result. Keep FuzzMimeDecodeQP, below,
// which holds mimeDecodeQP to mime/quotedprintable: move it to a file of
// its own first.
func refMimeReadText(r io.Reader, charsetKnown bool, sizeHint int) (string, []string) {
	var defects []string
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	b := buf.Bytes()
	if err != nil {
		defects = append(defects, "text truncated: "+err.Error())
	}
	if !utf8.Valid(b) {
		if d, derr := charmap.Windows1252.NewDecoder().Bytes(b); derr == nil {
			if charsetKnown {
				defects = append(defects, "text is not valid in its declared charset; read as windows-1252")
			}
			b = d
		} else {
			b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
		}
	}
	return string(b), defects
}

func refMimeCanonicalText(s string) string {
	if !strings.ContainsAny(s, "\r\x00") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\x00", "")
}

// refReadAll is parser.readAll's decoding before: text and defects.
func refReadAll(ctype string, params map[string]string, cte string, body []byte) (string, []string) {
	var defects []string
	r, d := mimeDecodedReader(ctype, params, cte, body)
	if d != "" {
		defects = append(defects, d)
	}
	s, ds := refMimeReadText(r, params["charset"] != "", len(body))
	return refMimeCanonicalText(s), append(defects, ds...)
}

// newReadAll is parser.readAll's decoding now.
func newReadAll(ctype string, params map[string]string, cte string, body []byte) (string, []string) {
	var defects []string
	b, d, err := mimeDecodedText(ctype, params, cte, body)
	if d != "" {
		defects = append(defects, d)
	}
	s, ds := mimeTextFromBytes(b, err, params["charset"] != "")
	return s, append(defects, ds...)
}

// equivPart is one leaf part of a mail.
type equivPart struct {
	ctype  string
	params map[string]string
	cte    string
	body   []byte
}

// equivParts walks a mail's MIME tree, returned messages included, and
// lists its leaf parts.
func equivParts(raw []byte, depth int, out []equivPart) []equivPart {
	h, body, _, _ := parseHeaderBlock(raw)
	ctype, params, _ := mimeMediaType(h.Get("Content-Type"))
	if ctype == "" {
		ctype = "text/plain"
	}
	if strings.HasPrefix(ctype, "multipart/") && params["boundary"] != "" && depth < 8 {
		parts, found, _ := mimeSplit(body, params["boundary"])
		if found {
			for _, p := range parts {
				out = equivParts(p, depth+1, out)
			}
			return out
		}
	}
	out = append(out, equivPart{ctype, params, h.Get("Content-Transfer-Encoding"), body})
	if strings.HasPrefix(ctype, "message/") && depth < 8 {
		out = equivParts(body, depth+1, out)
	}
	return out
}

// TestMimeDecodedTextMatchesReference decodes every part of every mail
// the new way and through go-message as before, as declared and under
// other transfer encodings and charsets, and compares text and defects.
func TestMimeDecodedTextMatchesReference(t *testing.T) {
	var parts []equivPart
	for _, m := range equivMails(t) {
		parts = equivParts(m.raw, 0, parts)
	}
	ctes := []string{"", "8BIT", "binary", "Quoted-Printable", "qp", "base64", "x-uuencode"}
	charsets := []string{"", "UTF8", "us-ascii", "iso-8859-1", "x-unknown"}
	compared, fast := 0, 0
	for _, p := range parts {
		type variant struct {
			ctype  string
			params map[string]string
			cte    string
		}
		variants := []variant{{p.ctype, p.params, p.cte}, {p.ctype, nil, p.cte}, {"text/html", p.params, p.cte}}
		for _, cte := range ctes {
			for _, cs := range charsets {
				variants = append(variants, variant{"text/plain", map[string]string{"charset": cs}, cte})
			}
		}
		for _, v := range variants {
			in := slices.Clone(p.body)
			gotText, gotDefects := newReadAll(v.ctype, v.params, v.cte, p.body)
			wantText, wantDefects := refReadAll(v.ctype, v.params, v.cte, p.body)
			if !bytes.Equal(in, p.body) {
				t.Fatalf("%s %v %q: the part body was modified", v.ctype, v.params, v.cte)
			}
			compared++
			if mimeIdentityCharset(v.ctype, v.params) {
				fast++
			}
			if gotText != wantText || !slices.Equal(gotDefects, wantDefects) {
				t.Errorf("%s %v %q: decoded %q %q, reference %q %q", v.ctype, v.params, v.cte,
					corpusClip(gotText), gotDefects, corpusClip(wantText), wantDefects)
			}
		}
	}
	t.Logf("%d parts, %d decodings compared, %d on the direct path", len(parts), compared, fast)
}

// refDecodeQP reads body through mime/quotedprintable as go-message does.
func refDecodeQP(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(quotedprintable.NewReader(bytes.NewReader(body)))
	return buf.Bytes(), err
}

// equivCompareQP compares mimeDecodeQP with mime/quotedprintable on body.
func equivCompareQP(t testing.TB, body []byte) {
	got, gotErr := mimeDecodeQP(body)
	want, wantErr := refDecodeQP(body)
	if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("mimeDecodeQP(%q) = %q, %v; quotedprintable gives %q, %v", corpusClip(string(body)), corpusClip(string(got)), gotErr, corpusClip(string(want)), wantErr)
	}
	if errors.Is(wantErr, io.EOF) {
		t.Fatal("io.EOF leaked")
	}
}

// TestMimeDecodeQPMatchesQuotedPrintable compares the quoted-printable
// decoder with mime/quotedprintable on generated bodies made of the bytes
// and sequences that steer it, with lines around its buffer size.
func TestMimeDecodeQPMatchesQuotedPrintable(t *testing.T) {
	atoms := []string{"=", "=\r\n", "=\n", "= \r\n", "=\t\n", "= x\n", "=3D", "=3d", "=C3=A9", "=G1", "=4", "=\r", "\r\n", "\n", "\r",
		" ", "\t", " \r\n", "\t\n", "a", "Hello world", "~", "\x7f", "\x01", "\x00", "\xc3\xa9", "\xff", "=\x80", "=="}
	r := rand.New(rand.NewPCG(1, 2))
	for range 30000 {
		var b bytes.Buffer
		for range r.IntN(24) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		equivCompareQP(t, b.Bytes())
	}
	for _, n := range []int{4094, 4095, 4096, 4097, 8191, 8192, 9000} {
		for _, tail := range []string{"", "\n", "\r\n", "=", "=\r\n", " ", "  \n", "abc\n"} {
			for _, fill := range []string{"a", "=3D", " "} {
				body := []byte(strings.Repeat(fill, n/len(fill)) + tail)
				equivCompareQP(t, body)
				equivCompareQP(t, append([]byte("first line\r\n"), body...))
				equivCompareQP(t, append(slices.Clone(body), "\nlast=\n"...))
			}
		}
	}
}

// FuzzMimeDecodeQP compares the quoted-printable decoder with
// mime/quotedprintable.
func FuzzMimeDecodeQP(f *testing.F) {
	f.Add([]byte("Caf=C3=A9 =\r\nsoft break, a literal = sign, tab\t\r\n=3D\n"))
	f.Add([]byte("trailing soft break="))
	f.Add([]byte("bad =ZZ and = \r\n=\r \n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		equivCompareQP(t, body)
	})
}

// TestMimeCanonicalTextMatchesReference compares the one-pass line ending
// and NUL clean-up with the three replacements it replaced.
func TestMimeCanonicalTextMatchesReference(t *testing.T) {
	atoms := []string{"\r", "\n", "\r\n", "\x00", "a", "é", " ", "\r\x00\n", "\n\r"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		in := []byte(b.String())
		if got, want := mimeCanonicalText(in), refMimeCanonicalText(string(in)); got != want {
			t.Fatalf("mimeCanonicalText(%q) = %q, reference %q", in, got, want)
		}
	}
}
