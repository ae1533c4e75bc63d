package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// logText is size bytes of numbered log lines of 100-odd characters each,
// LF-terminated, and its last line.
func logText(size int) (string, string) {
	var b strings.Builder
	b.Grow(size + 200)
	var last string
	for i := 0; b.Len() < size; i++ {
		last = fmt.Sprintf("02:%02d:%02d worker-%d import: row %08d rejected: constraint violation on orders.customer_id ü", i/60%60, i%60, i%8, i)
		b.WriteString(last)
		b.WriteByte('\n')
	}
	return b.String(), last
}

func largeMail(ctype, cte, body string) []byte {
	return []byte("From: Erin <erin@logs.example>\nTo: support@example.com\nSubject: Import log\n" +
		"Message-ID: <log@logs.example>\nMIME-Version: 1.0\nContent-Type: " + ctype + "\n" +
		"Content-Transfer-Encoding: " + cte + "\n\n" + body)
}

// A text longer than MaxText is cut at the end of a line within MaxText,
// whatever its transfer encoding and charset, and the rest is counted.
func TestParseLongTextCut(t *testing.T) {
	text, last := logText(3 << 20)
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	w.Write([]byte(text))
	w.Close()
	latin1 := strings.ReplaceAll(text, "ü", "\xfc")
	b64 := base64.StdEncoding.EncodeToString([]byte(text))
	var b64lines strings.Builder
	for i := 0; i < len(b64); i += 76 {
		b64lines.WriteString(b64[i:min(i+76, len(b64))] + "\n")
	}
	html := "<html><body><pre>" + text + "</pre></body></html>\n"
	cases := []struct {
		name, ctype, cte, body string
		decoded                int // the bytes of text the part holds
	}{
		{"8bit utf-8", "text/plain; charset=utf-8", "8bit", text, len(text)},
		// The quoted-printable writer encodes line ends as CRLF.
		{"quoted-printable", "text/plain; charset=utf-8", "quoted-printable", qp.String(), len(text) + strings.Count(text, "\n")},
		{"base64", "text/plain; charset=utf-8", "base64", b64lines.String(), len(text)},
		{"latin-1", "text/plain; charset=iso-8859-1", "8bit", latin1, len(text)},
		{"html only", "text/html; charset=utf-8", "8bit", html, len(html)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(largeMail(c.ctype, c.cte, c.body), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Text) > MaxText || len(m.Text) < MaxText-(64<<10) {
				t.Errorf("len(Text) = %d, want at most %d and near it", len(m.Text), MaxText)
			}
			if !utf8.ValidString(m.Text) || !strings.HasPrefix(m.Text, "02:00:00 worker-0 import: row 00000000 rejected") {
				t.Errorf("Text does not start with the first line in valid UTF-8: %q", m.Text[:min(80, len(m.Text))])
			}
			if !strings.HasSuffix(m.Text, "orders.customer_id ü") {
				t.Errorf("Text is not cut at the end of a line: ends %q", m.Text[max(0, len(m.Text)-80):])
			}
			if strings.Contains(m.Text, last) {
				t.Errorf("Text holds the last line")
			}
			// What was kept and what was counted make the whole, give or
			// take the line end and the markup of the HTML.
			if got, want := int64(len(m.Text))+m.TextOmitted, int64(c.decoded); got < want-(want/10) || got > want+1 {
				t.Errorf("len(Text) %d + TextOmitted %d = %d, want about %d", len(m.Text), m.TextOmitted, got, want)
			}
			if !strings.Contains(strings.Join(m.Defects, "\n"), "text cut after") {
				t.Errorf("no defect says the text was cut: %q", m.Defects)
			}
		})
	}
}

// A text within MaxText is kept whole and nothing is counted.
func TestParseTextWithinLimitWhole(t *testing.T) {
	text, last := logText(MaxText - 4096)
	m, err := Parse(largeMail("text/plain; charset=utf-8", "8bit", text), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.TextOmitted != 0 || !strings.HasSuffix(m.Text, last) {
		t.Errorf("TextOmitted = %d, Text ends %q; want 0 and the last line", m.TextOmitted, m.Text[max(0, len(m.Text)-80):])
	}
}

// Several text parts share the limit: the second gets what the first
// left.
func TestParseTextPartsShareLimit(t *testing.T) {
	text, _ := logText(MaxText * 3 / 4)
	raw := "From: Erin <erin@logs.example>\nTo: support@example.com\nSubject: logs\nMessage-ID: <two@logs.example>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n" +
		"--B\nContent-Type: text/plain\n\n" + text + "\n--B\nContent-Type: text/plain\n\n" + text + "\n--B--\n"
	m, err := Parse([]byte(raw), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Text) > MaxText || m.TextOmitted < int64(len(text)/2) {
		t.Errorf("len(Text) = %d, TextOmitted = %d; want at most %d kept and over %d counted", len(m.Text), m.TextOmitted, MaxText, len(text)/2)
	}
}

// manyParts is a mail of n tiny parts after its text.
func manyParts(n int, ctype string) []byte {
	var b bytes.Buffer
	b.WriteString("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Store down\nMessage-ID: <parts@x>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nThe store is down for all customers.\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--B\nContent-Type: %s\n\nx%d\n", ctype, i)
	}
	b.WriteString("--B--\n")
	return b.Bytes()
}

// A mail reads at most MaxParts MIME entities, whatever the parts are:
// text parts too (which are not attachments) are bounded, and the rest
// counted.
func TestParsePartsBounded(t *testing.T) {
	for _, ctype := range []string{"text/plain", "application/octet-stream"} {
		t.Run(ctype, func(t *testing.T) {
			const n = 5000
			m, err := Parse(manyParts(n, ctype), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The mail itself is one entity, its first part another.
			read := MaxParts - 2
			if got, want := m.PartsOmitted, n-read; got != want {
				t.Errorf("PartsOmitted = %d, want %d", got, want)
			}
			if !strings.HasPrefix(m.Text, "The store is down") {
				t.Errorf("Text = %q…, want the first part", m.Text[:min(40, len(m.Text))])
			}
			if strings.Contains(m.Text, fmt.Sprintf("x%d", read)) {
				t.Errorf("Text holds a part beyond the limit")
			}
			if !strings.Contains(strings.Join(m.Defects, "\n"), "MIME parts not read") {
				t.Errorf("no defect says parts were not read: %q", m.Defects)
			}
		})
	}
}

// Parsing a 30 MB text mail allocates a small multiple of MaxText, not of
// the mail: the text beyond the limit is never copied. (The reply
// stripper's line index of the kept text is most of it.)
func TestParseLargeTextAllocates(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 30 MB mail")
	}
	text, _ := logText(30 << 20)
	raw := largeMail("text/plain; charset=utf-8", "8bit", strings.ReplaceAll(text, "\n", "\r\n"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Parse(raw, ParseOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d-byte mail: %d bytes allocated, %d bytes of text kept", len(raw), allocated, len(m.Text))
	if limit := uint64(12 * MaxText); allocated > limit {
		t.Errorf("Parse allocated %d bytes, want at most %d", allocated, limit)
	}
}

// TextLimit < 0 keeps the whole text, for helpdeskd show -full.
func TestParseTextLimitNone(t *testing.T) {
	text, last := logText(3 << 20)
	m, err := Parse(largeMail("text/plain; charset=utf-8", "8bit", text), ParseOptions{TextLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if m.TextOmitted != 0 || !strings.HasSuffix(m.Text, last) || len(m.Text) != len(text)-1 {
		t.Errorf("TextOmitted = %d, len(Text) = %d of %d; want the whole text", m.TextOmitted, len(m.Text), len(text))
	}
}

// A delivery report whose status part is 5 MiB is read to MaxText: the
// report is still understood, its bulk never decoded.
func TestParseLargeDeliveryStatusBounded(t *testing.T) {
	pad := strings.Repeat("X-Padding: "+strings.Repeat("p", 80)+"\n", (5<<20)/92)
	raw := "From: MAILER-DAEMON@mx.example\nTo: support@example.com\nSubject: Undelivered Mail\nMessage-ID: <dsn-big@mx.example>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=R\n\n" +
		"--R\nContent-Type: text/plain\n\nDelivery failed.\n" +
		"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; gone@shop.example\nAction: failed\nStatus: 5.1.1\n" + pad +
		"--R--\n"
	b := []byte(raw)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Parse(b, ParseOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bounce == nil || m.Bounce.Status != "5.1.1" {
		t.Fatalf("Bounce = %+v, want status 5.1.1", m.Bounce)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 8*MaxText {
		t.Errorf("Parse allocated %d bytes for a 5 MiB status part, want at most %d", allocated, 8*MaxText)
	}
}

// An HTML-only mail whose text comes after 3 MB of markup (a picture
// inlined as a data: URI) still has its text: HTML is read to 8 MiB.
func TestParseHTMLTextAfterLargeMarkup(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, (3<<20)/4))
	html := `<html><body><img src="data:image/png;base64,` + img + `"><p>The checkout is down for all customers since 09:40.</p></body></html>`
	m, err := Parse(largeMail("text/html; charset=utf-8", "8bit", html), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "The checkout is down for all customers") || m.TextOmitted != 0 {
		t.Errorf("Text = %q (TextOmitted %d), want the paragraph after the picture", m.Text[:min(200, len(m.Text))], m.TextOmitted)
	}
}
