package message

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzStripReply checks that StripReply never panics, never returns more
// than it was given and keeps valid UTF-8 valid.
func FuzzStripReply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	more, _ := filepath.Glob(filepath.Join(replyCorpusDir, "*", "test", "*", "*.txt"))
	for _, name := range append(files, more...) {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi")
	f.Add("On Tue, Apr 11, 2017 at 10:07 PM John Smith\n\n<\nmailto:John Smith <johnsmith@gmail.com>\n> wrote:\nTest quoted data\n")
	f.Fuzz(func(t *testing.T, in string) {
		out := StripReply(in)
		if len(out) > len(in) {
			t.Fatalf("output (%d bytes) longer than input (%d bytes)", len(out), len(in))
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("valid input gave invalid UTF-8 %q", out)
		}
	})
}
