package message

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// FuzzParse checks that Parse never panics and that what it returns keeps
// its invariants. It is seeded from the fixtures and every fifth message
// of the real-mail corpus (when present).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	if _, ok := testenv.CorpusDir(); ok {
		for i, e := range testenv.CorpusManifest(f) {
			if i%5 != 0 {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(corpusDir, e.Path)); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		m, err := Parse(raw, ParseOptions{MaxAttachmentSize: 4096})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if strings.HasPrefix(pe.Reason, errParserPanic) {
				t.Fatalf("parser panic: %v", err)
			}
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		if !bytes.Equal(raw, in) {
			t.Fatal("Parse modified its input")
		}
		if !bytes.Equal(m.Raw, in) {
			t.Fatal("Raw is not the input")
		}
		if m.MessageID == "" {
			t.Fatal("empty MessageID")
		}
		for _, s := range []string{m.Subject, m.Text, m.NewText, m.HTML, m.From.Name, m.From.Email} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
		}
		if len(m.NewText) > len(m.Text) {
			t.Fatal("NewText longer than Text")
		}
		for _, a := range m.Attachments {
			if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\") || strings.HasPrefix(a.Filename, ".") || len(a.Filename) > maxFilenameBytes+32 {
				t.Fatalf("unsafe file name %q", a.Filename)
			}
			if a.Data != nil && int64(len(a.Data)) > 4096 {
				t.Fatalf("attachment of %d bytes kept over the limit", len(a.Data))
			}
			if a.Data == nil && a.Dropped == "" {
				t.Fatalf("attachment %q without data or reason", a.Filename)
			}
		}
		// The text limit, small enough that the fuzzer's mails meet it:
		// the kept text within it, valid, and what an unlimited read
		// keeps when that fits (plain text in one part: HTML is read to
		// 8 times the limit before it becomes text).
		const limit = 64
		cut, err := Parse(raw, ParseOptions{MaxAttachmentSize: 4096, TextLimit: limit})
		if err != nil {
			t.Fatalf("Parse with TextLimit %d: %v (without: ok)", limit, err)
		}
		if len(cut.Text) > limit || !utf8.ValidString(cut.Text) || cut.TextOmitted < 0 {
			t.Fatalf("TextLimit %d: Text %q (%d bytes), TextOmitted %d", limit, cut.Text, len(cut.Text), cut.TextOmitted)
		}
		// The limit counts the text as read, before trailing white space
		// is trimmed, so a text that fits once trimmed may still be cut;
		// a cut says so, and keeps whole lines of the text.
		if m.TextOmitted == 0 && len(m.Text) <= limit && cut.Text != m.Text && !strings.Contains(m.Text, "\n\n") && m.HTML == "" &&
			(cut.TextOmitted == 0 || !strings.HasPrefix(m.Text, cut.Text)) {
			t.Fatalf("TextLimit %d cut a text of %d bytes: %q (%d bytes said omitted), want %q or a line-cut prefix of it", limit, len(m.Text), cut.Text, cut.TextOmitted, m.Text)
		}
	})
}
