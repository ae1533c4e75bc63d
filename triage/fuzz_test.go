package triage_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk/triage"
)

// FuzzAssess checks that triage never panics and always returns a valid
// level, whatever the subject and text.
func FuzzAssess(f *testing.F) {
	f.Add("Checkout down", typicalMail, int64(1795424400))
	f.Add("[URGENT] P1", "Priority: Critical\nStart time: 2026-11-20 09:30 GMT\nsince 07:40, 5 minutes ago, last Friday", int64(0))
	f.Add("Re: x", "not not no no one can't can not (a|b) * # 1. 2. - \u2022 \"quoted\" HTTP 503 PG-4001", int64(-1))
	files, _ := filepath.Glob(filepath.Join("testdata", "labelled", "*.eml"))
	for _, name := range files[:min(len(files), 20)] {
		raw, err := os.ReadFile(name)
		if err == nil {
			f.Add("", string(raw), int64(1795424400))
		}
	}
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		f.Fatal(err)
	}
	levels := tr.Levels()
	f.Fuzz(func(t *testing.T, subject, text string, unix int64) {
		in := triage.Input{Subject: subject, Text: text}
		if unix != 0 {
			in.Date = time.Unix(unix%(1<<40), 0).UTC()
		}
		a := tr.Assess(in)
		if !levels.Valid(a.Priority) || !levels.Valid(a.Assessed) {
			t.Fatalf("priority %q assessed %q: not a level", a.Priority, a.Assessed)
		}
		if a.Claimed != "" && !levels.Valid(a.Claimed) {
			t.Fatalf("claimed %q: not a level", a.Claimed)
		}
		if len(a.Reasons) == 0 {
			t.Fatal("no reasons")
		}
		for _, r := range a.Reasons {
			if !utf8.ValidString(r) && utf8.ValidString(subject) && utf8.ValidString(text) {
				t.Fatalf("reason %q is not valid UTF-8", r)
			}
		}
		_ = tr.ClaimNote(a)
		_ = tr.Fields(in)
	})
}
