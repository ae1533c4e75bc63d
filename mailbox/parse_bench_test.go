package mailbox

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses a typical customer reply: about 10 KB, Gmail's
// multipart/alternative with quoted-printable text and HTML parts, quoted
// history, DKIM and Authentication-Results headers.
func BenchmarkParse(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", "bench_reply.eml"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := Parse(raw, ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if m.NewText == "" || m.HTML == "" || len(m.AuthResults) != 3 {
		b.Fatalf("benchmark mail parsed badly: new text %q, %d auth results", m.NewText, len(m.AuthResults))
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw, ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStripReply measures reply stripping alone on the same mail's
// plain text.
func BenchmarkStripReply(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", "bench_reply.eml"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := Parse(raw, ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(m.Text)))
	b.ReportAllocs()
	for b.Loop() {
		StripReply(m.Text)
	}
}

// BenchmarkHTMLToText measures the HTML conversion of the same mail.
func BenchmarkHTMLToText(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", "bench_reply.eml"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := Parse(raw, ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(m.HTML)))
	b.ReportAllocs()
	for b.Loop() {
		HTMLToText(m.HTML)
	}
}
