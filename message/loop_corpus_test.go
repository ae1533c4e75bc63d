package message

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestCorpusLoopHumanBodies runs the content rules over every person's
// text of the reply corpora (crisp's 90 bodies in 11 languages with their
// false-positive traps, github's, talon's): none may read as automatic.
func TestCorpusLoopHumanBodies(t *testing.T) {
	testenv.Corpus(t) // skips without the corpus
	dirs := []string{
		"replies/crisp-oss-email-reply-parser/test/fixtures",
		"replies/github-email_reply_parser/test/emails",
		"replies/mailgun-talon/tests/fixtures/signature/emails/P",
		"replies/mailgun-talon/tests/fixtures/signature/emails/stripped",
	}
	n := 0
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(corpusDir, d, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n++
			text := string(b)
			m := &helpdesk.Message{Text: text, NewText: StripReply(text)}
			if r := loopContent(m); r != "" {
				rel, _ := filepath.Rel(corpusDir, f)
				t.Errorf("%s: a person's text read as automatic: %s", rel, r)
			}
		}
	}
	t.Logf("%d human bodies checked", n)
	if n < 100 {
		t.Errorf("only %d human bodies found", n)
	}
}
