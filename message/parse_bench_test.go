package message

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/loadmail"
)

// benchTypicalMail is customer mail in loadmail's shapes with the header
// fields the desk benchmark gives it (trace, Authentication-Results,
// addresses, Message-ID), so that BenchmarkParse measures what the
// daemon's ingest benchmark parses.
func benchTypicalMail(seq int) []byte {
	var b bytes.Buffer
	from := fmt.Sprintf("customer%d@shop%d.example", seq, seq%97)
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", from)
	fmt.Fprintf(&b, "Received: from mail.shop%d.example (mail.shop%d.example [192.0.2.%d])\r\n\tby mx.example.com with ESMTPS id %08x\r\n\tfor <support@example.com>; Wed, 11 Mar 2026 11:58:%02d +0000\r\n", seq%97, seq%97, seq%250+1, seq, seq%60)
	b.WriteString("Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=shop.example; dkim=pass header.d=shop.example\r\n")
	fmt.Fprintf(&b, "From: Customer %d <%s>\r\n", seq, from)
	b.WriteString("To: Example Support <support@example.com>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", loadmail.Subject(seq))
	b.WriteString("Date: Wed, 11 Mar 2026 11:58:00 +0000\r\n")
	fmt.Fprintf(&b, "Message-ID: <bench.%d.%x@shop%d.example>\r\n", seq, seq*2654435761, seq%97)
	b.Write(loadmail.Body(seq, fmt.Sprint(seq)))
	return b.Bytes()
}

// benchShapeNames names loadmail's shapes in sub-benchmarks.
var benchShapeNames = [loadmail.Shapes]string{"plain", "alternative", "attachment", "html"}

// BenchmarkParse parses typical customer mail. "reply" is a Gmail reply of
// about 10 KB: multipart/alternative with quoted-printable text and HTML
// parts, quoted history, DKIM and Authentication-Results headers. The
// other sub-benchmarks are the four shapes the desk's ingest benchmark and
// hd-load send (internal/loadmail), and "typical" cycles through them as
// those do.
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
	b.Run("reply", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(raw, ParseOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	var mails [loadmail.Shapes][]byte
	total := 0
	for n := range loadmail.Shapes {
		mails[n] = benchTypicalMail(n)
		total += len(mails[n])
		m, err := Parse(mails[n], ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if m.NewText == "" || m.Bounce != nil || len(m.AuthResults) != 2 {
			b.Fatalf("shape %d parsed badly: new text %q, bounce %v, %d auth results", n, m.NewText, m.Bounce, len(m.AuthResults))
		}
	}
	for n := range loadmail.Shapes {
		b.Run(benchShapeNames[n], func(b *testing.B) {
			b.SetBytes(int64(len(mails[n])))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(mails[n], ParseOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("typical", func(b *testing.B) {
		b.SetBytes(int64(total / loadmail.Shapes))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := Parse(mails[i%loadmail.Shapes], ParseOptions{}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
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
