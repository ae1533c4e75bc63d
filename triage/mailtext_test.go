package triage

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/k3a/html2text"

	"github.com/helpdeskd/helpdesk/internal/loadmail"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// rawMail is a mail turned into triage input by a small best-effort
// reader built on the standard library only, so that the tests that use
// it do not depend on the project's parser (which changes independently).
type rawMail struct {
	subject string
	date    time.Time
	plain   string // the text/plain parts, joined
	html    string // the text/html parts turned into text, joined
}

// text is what a parser would hand to triage: the plain text, or the HTML
// as text when there is no plain part.
func (m rawMail) text() string {
	if strings.TrimSpace(m.plain) != "" {
		return m.plain
	}
	return m.html
}

// readRawMail reads raw as an RFC 5322 message. A message that does not
// parse is taken as text as it is.
func readRawMail(raw []byte) rawMail {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return rawMail{plain: string(raw)}
	}
	var m rawMail
	dec := new(mime.WordDecoder)
	m.subject = msg.Header.Get("Subject")
	if s, err := dec.DecodeHeader(m.subject); err == nil {
		m.subject = s
	}
	if d, err := msg.Header.Date(); err == nil {
		m.date = d
	}
	var plain, html []string
	walkPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0, &plain, &html)
	m.plain = strings.Join(plain, "\n")
	m.html = strings.Join(html, "\n")
	return m
}

// walkPart collects the text parts of one MIME entity.
func walkPart(ctype, cte string, body io.Reader, depth int, plain, html *[]string) {
	if depth > 8 {
		return
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || ctype == "" {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			if d, _, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); d == "attachment" {
				continue
			}
			walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1, plain, html)
		}
	}
	if mt != "text/plain" && mt != "text/html" {
		return
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	if mt == "text/html" {
		*html = append(*html, html2text.HTML2TextWithOptions(s, html2text.WithUnixLineBreaks()))
	} else {
		*plain = append(*plain, s)
	}
}

// newPart cuts a reply's text before its quoted history ("On ... wrote:"
// and the "> " lines), roughly as the parser does.
func newPart(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") || strings.HasPrefix(t, "On ") && strings.HasSuffix(t, "wrote:") {
			return strings.Join(lines[:i], "\n")
		}
	}
	return text
}

// testInput is one mail for the golden and concurrency tests, named for
// messages.
type testInput struct {
	name string
	in   Input
}

// labelledFiles returns the labelled mails of testdata/labelled, sorted.
func labelledFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "labelled", "*.eml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no labelled mails: %v", err)
	}
	sort.Strings(files)
	return files
}

// loadmailRaw returns load-test mail shape n as a raw mail. Its tag
// ("equiv", from the tests it was made for) is part of the text the
// golden files of the shapes pin.
func loadmailRaw(n int) []byte {
	return append([]byte("Subject: "+loadmail.Subject(n)+"\r\n"), loadmail.Body(n, "equiv")...)
}

// mailVariants returns the triage inputs made from one raw mail: the text
// as a parser gives it, its HTML part as text, its new part only, the raw
// file as text, upper-cased and with CRLF line ends. Each is named name
// and, but for the first, the variant in brackets.
func mailVariants(name string, raw []byte) []testInput {
	sydney := time.FixedZone("AEDT", 11*3600)
	fallback := time.Date(2026, 3, 11, 12, 5, 0, 0, time.UTC)
	var out []testInput
	add := func(name, subject, text string, date time.Time, loc *time.Location) {
		out = append(out, testInput{name: name, in: Input{Subject: subject, Text: text, Date: date, Location: loc}})
	}
	m := readRawMail(raw)
	date := m.date
	if date.IsZero() {
		date = fallback
	}
	text := m.text()
	add(name, m.subject, text, date, nil)
	if m.html != "" && m.html != text {
		add(name+" (html)", m.subject, m.html, date, sydney)
	}
	if n := newPart(text); n != text {
		add(name+" (new part)", m.subject, n, date, nil)
	}
	add(name+" (raw)", "", string(raw), time.Time{}, nil)
	add(name+" (upper)", strings.ToUpper(m.subject), strings.ToUpper(text), date, sydney)
	add(name+" (crlf)", "Fwd: "+m.subject, strings.ReplaceAll(text, "\n", "\r\n"), date, nil)
	return out
}

// corpusInputs returns the mailVariants of every labelled mail, every
// message and reply fixture of the shared corpus (testenv.CorpusFiles,
// when it is there) and the load-test mail shapes.
func corpusInputs(tb testing.TB) []testInput {
	tb.Helper()
	files := labelledFiles(tb)
	if dir, ok := testenv.CorpusDir(); ok {
		files = append(files, testenv.CorpusFiles(tb, "")...)
	} else {
		tb.Logf("no shared corpus at %s: labelled mails only", dir)
	}
	var out []testInput
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, mailVariants(f, raw)...)
	}
	for n := range loadmail.Shapes {
		out = append(out, mailVariants(fmt.Sprintf("loadmail shape %d", n), loadmailRaw(n))...)
	}
	return out
}
