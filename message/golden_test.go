package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/loadmail"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// The golden tests hold Parse and StripReply to what they gave when the
// files under testdata/golden/ were last written: one JSON summary per
// input, at the input's path below testdata/golden/ plus ".json":
//
//	testdata/golden/parse/NAME.eml.json       Parse of testdata/parse/NAME.eml
//	testdata/golden/corpus/messages/….json    Parse of ../shared/corpus/messages/…
//	testdata/golden/corpus/replies/….json     StripReply of ../shared/corpus/replies/…
//
// A summary has every header-derived field of the Message, the
// attachments (no content, a hash of it) and, for Text, NewText and HTML,
// their length, a SHA-256 prefix and their first goldenHead characters, so
// that a change of behaviour shows up as a small diff to review. After a
// change that is meant, `go test ./message -update` rewrites the files
// (and deletes those whose input is gone).
var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden from the current code")

const (
	goldenDir  = "testdata/golden"
	goldenHead = 200 // characters of a text kept in its summary
	goldenHash = 16  // hex digits of a SHA-256 kept
	goldenDiff = 20  // golden differences shown in full; the rest are named
)

// goldenText summarises a text: its length in bytes, a hash and its start.
type goldenText struct {
	Len    int    `json:"len"`
	SHA256 string `json:"sha256"`
	Head   string `json:"head"`
}

func summariseText(s string) *goldenText {
	if s == "" {
		return nil
	}
	head, n := s, 0
	for i := range s {
		if n == goldenHead {
			head = s[:i]
			break
		}
		n++
	}
	return &goldenText{Len: len(s), SHA256: goldenSum([]byte(s)), Head: head}
}

func goldenSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:goldenHash]
}

// goldenAttachment is an attachment without its content.
type goldenAttachment struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	ContentID string `json:"content_id,omitempty"`
	Inline    bool   `json:"inline,omitempty"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256,omitempty"` // of Data; "" when dropped
	Dropped   string `json:"dropped,omitempty"`
}

// goldenField is one key of a summary; the summary is written one key a
// line (and one element a line for lists of objects), so that diffs are
// readable.
type goldenField struct {
	key   string
	value any
}

// summariseParse is the summary of Parse(raw), in the order of
// helpdesk.Message's fields; empty fields are left out.
func summariseParse(raw []byte) []goldenField {
	m, err := Parse(raw, ParseOptions{})
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return []goldenField{{"parse_error", pe.Reason}}
		}
		return []goldenField{{"error", err.Error()}}
	}
	var out []goldenField
	add := func(key string, v any, empty bool) {
		if !empty {
			out = append(out, goldenField{key, v})
		}
	}
	add("message_id", m.MessageID, m.MessageID == "")
	add("in_reply_to", m.InReplyTo, len(m.InReplyTo) == 0)
	add("references", m.References, len(m.References) == 0)
	add("from", m.From, m.From == helpdesk.Address{})
	add("reply_to", m.ReplyTo, len(m.ReplyTo) == 0)
	add("to", m.To, len(m.To) == 0)
	add("cc", m.Cc, len(m.Cc) == 0)
	add("recipients", m.Recipients, len(m.Recipients) == 0)
	add("return_path", m.ReturnPath, m.ReturnPath == "")
	add("subject", m.Subject, m.Subject == "")
	add("date", m.Date.Format(time.RFC3339), m.Date.IsZero())
	add("text", summariseText(m.Text), m.Text == "")
	add("new_text", summariseText(m.NewText), m.NewText == "")
	add("html", summariseText(m.HTML), m.HTML == "")
	var atts []goldenAttachment
	for _, a := range m.Attachments {
		g := goldenAttachment{Name: a.Filename, Type: a.ContentType, ContentID: a.ContentID, Inline: a.Inline, Size: a.Size, Dropped: a.Dropped}
		if a.Data != nil {
			g.SHA256 = goldenSum(a.Data)
		}
		atts = append(atts, g)
	}
	add("attachments", atts, len(atts) == 0)
	add("auto_reason", m.AutoReason, m.AutoReason == "")
	add("suppress", m.Suppress, !m.Suppress)
	add("spam", m.Spam, m.Spam == "")
	add("bounce", m.Bounce, m.Bounce == nil)
	add("auth_results", m.AuthResults, len(m.AuthResults) == 0)
	add("received", m.Received, len(m.Received) == 0)
	add("defects", m.Defects, len(m.Defects) == 0)
	return out
}

// summariseReply is the summary of StripReply over a reply fixture; an
// HTML fixture is also converted with HTMLToText, and that stripped.
func summariseReply(name string, in []byte) []goldenField {
	out := []goldenField{
		{"input", summariseText(string(in))},
		{"strip_reply", summariseText(StripReply(string(in)))},
	}
	if strings.HasSuffix(name, ".html") {
		text := HTMLToText(string(in))
		out = append(out, goldenField{"html_to_text", summariseText(text)}, goldenField{"html_strip_reply", summariseText(StripReply(text))})
	}
	return out
}

// renderGolden writes fields as a JSON object, one key a line.
func renderGolden(fields []goldenField) []byte {
	var b bytes.Buffer
	compact := func(v any) string {
		var e bytes.Buffer
		enc := json.NewEncoder(&e)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
		return strings.TrimSuffix(e.String(), "\n")
	}
	b.WriteString("{\n")
	for i, f := range fields {
		fmt.Fprintf(&b, "  %s: ", compact(f.key))
		if items := goldenObjects(f.value); items != nil {
			b.WriteString("[\n")
			for j, it := range items {
				b.WriteString("    " + compact(it))
				if j < len(items)-1 {
					b.WriteByte(',')
				}
				b.WriteByte('\n')
			}
			b.WriteString("  ]")
		} else {
			b.WriteString(compact(f.value))
		}
		if i < len(fields)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// goldenObjects returns the elements of a list of objects, which are
// written one a line; nil for any other value.
func goldenObjects(v any) []any {
	var out []any
	switch v := v.(type) {
	case []helpdesk.Address:
		for _, x := range v {
			out = append(out, x)
		}
	case []helpdesk.AuthResult:
		for _, x := range v {
			out = append(out, x)
		}
	case []goldenAttachment:
		for _, x := range v {
			out = append(out, x)
		}
	}
	return out
}

// goldenInput is one input of a golden test: the golden file it is held
// to (relative to goldenDir, slash-separated) and how to summarise it.
type goldenInput struct {
	golden string
	input  string // the input's path, for messages
	run    func() []goldenField
}

// checkGolden compares the summary of every input with its golden file
// (or writes them with -update). Golden files under goldenDir/sub that
// belong to no input fail the test (or are deleted with -update).
func checkGolden(t *testing.T, sub string, inputs []goldenInput) {
	t.Helper()
	want := map[string]bool{}
	shown := 0
	var failed []string
	for _, in := range inputs {
		want[in.golden] = true
		got := renderGolden(in.run())
		path := filepath.Join(goldenDir, filepath.FromSlash(in.golden))
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: no golden file %s (go test ./message -update writes it)", in.input, path)
			failed = append(failed, in.input)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(old, got) {
			continue
		}
		failed = append(failed, in.input)
		if shown < goldenDiff {
			shown++
			t.Errorf("%s differs from %s (- golden, + now):\n%s", in.input, path, testenv.LineDiff(string(old), string(got)))
		}
	}
	if len(failed) > shown {
		t.Errorf("%d more inputs differ from their golden files: %s", len(failed)-shown, strings.Join(failed[shown:], ", "))
	}
	root := filepath.Join(goldenDir, filepath.FromSlash(sub))
	var stale []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(goldenDir, p)
		if !want[filepath.ToSlash(rel)] {
			stale = append(stale, p)
		}
		return nil
	})
	for _, p := range stale {
		if *update {
			if err := os.Remove(p); err != nil {
				t.Error(err)
			}
		} else {
			t.Errorf("%s: golden file of no input (go test ./message -update deletes it)", p)
		}
	}
	if len(failed) > 0 {
		t.Logf("if the change is meant, review the diffs and run: go test ./message -update")
	}
	t.Logf("%d inputs under %s", len(inputs), root)
}

// fixtureMails are the mails of testdata/parse, by path.
func fixtureMails(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/parse: %v", err)
	}
	return files
}

// TestGoldenParseFixtures holds Parse to testdata/golden/parse.
func TestGoldenParseFixtures(t *testing.T) {
	var inputs []goldenInput
	for _, f := range fixtureMails(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel("testdata", f)
		inputs = append(inputs, goldenInput{
			golden: filepath.ToSlash(rel) + ".json",
			input:  f,
			run:    func() []goldenField { return summariseParse(raw) },
		})
	}
	checkGolden(t, "parse", inputs)
}

// TestGoldenParseCorpus holds Parse to testdata/golden/corpus/messages on
// every mail of the real-mail corpus (skipped when it is absent).
func TestGoldenParseCorpus(t *testing.T) {
	var inputs []goldenInput
	for _, e := range testenv.CorpusManifest(t) {
		raw, err := os.ReadFile(filepath.Join(corpusDir, e.Path))
		if errors.Is(err, fs.ErrNotExist) {
			continue // mikel-mail's .gitattributes, listed but absent
		}
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, goldenInput{
			golden: "corpus/" + e.Path + ".json",
			input:  filepath.Join(corpusDir, e.Path),
			run:    func() []goldenField { return summariseParse(raw) },
		})
	}
	if len(inputs) < 500 {
		t.Fatalf("only %d corpus mails read", len(inputs))
	}
	checkGolden(t, "corpus/messages", inputs)
}

// TestGoldenStripReplyCorpus holds StripReply (and HTMLToText, for the
// HTML fixtures) to testdata/golden/corpus/replies on every fixture of the
// reply corpus (skipped when it is absent). testdata/replies has exact
// expectations of its own (TestStripReplyFixtures).
func TestGoldenStripReplyCorpus(t *testing.T) {
	testenv.Corpus(t) // skips the test without the corpus
	var inputs []goldenInput
	err := filepath.WalkDir(replyCorpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".json") || d.Name() == "LICENSE" {
			return err
		}
		in, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, p)
		inputs = append(inputs, goldenInput{
			golden: "corpus/" + filepath.ToSlash(rel) + ".json",
			input:  p,
			run:    func() []goldenField { return summariseReply(p, in) },
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) < 100 {
		t.Fatalf("only %d reply fixtures read", len(inputs))
	}
	checkGolden(t, "corpus/replies", inputs)
}

// sampleMails are the mails the tests that compare a part of the parser
// with the standard library read: the fixtures, the corpus (when present)
// and loadmail's shapes.
func sampleMails(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range fixtureMails(t) {
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, b)
		}
	}
	if _, ok := testenv.CorpusDir(); ok {
		for _, e := range testenv.CorpusManifest(t) {
			if b, err := os.ReadFile(filepath.Join(corpusDir, e.Path)); err == nil {
				out = append(out, b)
			}
		}
	}
	for n := range 2 * loadmail.Shapes {
		out = append(out, benchTypicalMail(n))
	}
	return out
}
