package triage

import (
	"fmt"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/loadmail"
)

// BenchmarkAssessLoadmail triages the four typical mail shapes of
// internal/loadmail (5-20 KB): "full" is the whole text with its quoted
// history and signature, as triage sees it when reply stripping finds
// nothing to strip; "new" is the new part only, as it usually sees it.
func BenchmarkAssessLoadmail(b *testing.B) {
	tr, err := New(Rules{})
	if err != nil {
		b.Fatal(err)
	}
	date := time.Date(2026, 3, 11, 12, 5, 0, 0, time.UTC)
	for _, part := range []string{"full", "new"} {
		for n := range loadmail.Shapes {
			m := readRawMail(append([]byte("Subject: "+loadmail.Subject(n)+"\r\n"), loadmail.Body(n, "bench")...))
			text := m.text()
			if part == "new" {
				text = newPart(text)
			}
			in := Input{Subject: m.subject, Text: text, Date: date}
			b.Run(fmt.Sprintf("%s/shape%d", part, n), func(b *testing.B) {
				b.SetBytes(int64(len(in.Subject) + len(in.Text)))
				b.ReportAllocs()
				for b.Loop() {
					tr.Assess(in)
				}
			})
		}
	}
}

// BenchmarkAssessCorpus triages every mail of corpusInputs
// (labelled mails, the shared corpus and variants) once per iteration.
func BenchmarkAssessCorpus(b *testing.B) {
	tr, err := New(Rules{})
	if err != nil {
		b.Fatal(err)
	}
	ins := corpusInputs(b)
	size := 0
	for _, x := range ins {
		size += len(x.in.Subject) + len(x.in.Text)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, x := range ins {
			tr.Assess(x.in)
		}
	}
}
