package mailbox

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/loadmail"
)

// equivMail is one mail of the equivalence tests: its name and raw bytes.
type equivMail struct {
	name string
	raw  []byte
}

var (
	equivMailsOnce sync.Once
	equivMailsList []equivMail
)

// equivMails returns every mail the equivalence tests compare old and new
// code on: the real-mail corpus (when present), the parse fixtures and
// loadmail's typical shapes.
func equivMails(t testing.TB) []equivMail {
	t.Helper()
	equivMailsOnce.Do(func() {
		var out []equivMail
		if paths, err := fuzzCorpusManifest(); err == nil {
			for _, p := range paths {
				if b, err := os.ReadFile(filepath.Join(corpusDir, p)); err == nil {
					out = append(out, equivMail{p, b})
				}
			}
		}
		files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, equivMail{f, b})
			}
		}
		for n := range 2 * loadmail.Shapes {
			out = append(out, equivMail{"loadmail shape " + benchShapeNames[n%loadmail.Shapes], benchTypicalMail(n)})
		}
		equivMailsList = out
	})
	if len(equivMailsList) < 20 {
		t.Fatalf("only %d mails to compare on", len(equivMailsList))
	}
	return equivMailsList
}

var (
	equivTextsOnce sync.Once
	equivTextsList []string
)

// equivTexts returns the plain texts reply stripping is compared on: the
// text and the HTML rendering of every equivMails mail, and every reply
// fixture of testdata and the corpus.
func equivTexts(t testing.TB) []string {
	t.Helper()
	mails := equivMails(t)
	equivTextsOnce.Do(func() {
		var out []string
		for _, m := range mails {
			msg, err := Parse(m.raw, ParseOptions{})
			if err != nil {
				continue
			}
			out = append(out, msg.Text)
			if msg.HTML != "" {
				out = append(out, HTMLToText(msg.HTML))
			}
		}
		add := func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".json") || strings.HasSuffix(p, "LICENSE") {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil {
				out = append(out, string(b))
				if strings.HasSuffix(p, ".html") {
					out = append(out, HTMLToText(string(b)))
				}
			}
			return nil
		}
		_ = filepath.WalkDir(filepath.Join("testdata", "replies"), add)
		_ = filepath.WalkDir(replyCorpusDir, add)
		equivTextsList = out
	})
	return equivTextsList
}

// equivLines returns the distinct lines of texts, also with their white
// space trimmed.
func equivLines(texts []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, text := range texts {
		for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
			for _, v := range []string{l, strings.TrimSpace(l)} {
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// equivRandomLines makes lines from the characters the hand-written
// matchers look at, so that their corners (digit runs, separators, word
// boundaries, multi-byte and invalid UTF-8 around them) are all met.
func equivRandomLines(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	atoms := []string{
		"0", "1", "2", "4", "5", "9", "19", "20", "2024", "550", "5.1.1", "4.7.0", "12", "123", "1234",
		".", ":", "/", "-", " ", "\t", "_", "a", "Z", "x", "<", ">", "é", "\xff", "\xc3", "Kelvin \u212a",
		"On ", "Am ", "wrote:", "@", "--", "Original Message", "ORIGINAL MESSAGE", "ſ", "—", "*", "=", "\r", "\f",
	}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range r.IntN(14) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		out[i] = b.String()
	}
	return out
}

// TestReplyHasDateMatchesRegexp holds replyHasDate to the regexp it
// replaced, on every line of the texts and on generated lines.
func TestReplyHasDateMatchesRegexp(t *testing.T) {
	lines := append(equivLines(equivTexts(t)), equivRandomLines(40000, 7)...)
	lines = append(lines, "", "1", "1:2", "1:23", "x1.23", "12/3/4", "12/34/5", "1-2", "1-2-", "1-2-3", "1999", "a1999",
		"19999", "1999a", "_2000", "2000_", "é2000é", "2000.", "20-1", "20.1.", "123.456", "9:0", "9.00")
	n := 0
	for _, l := range lines {
		want := refReplyDateRe.MatchString(l)
		if got := replyHasDate(l); got != want {
			t.Errorf("replyHasDate(%q) = %v, regexp says %v", l, got, want)
		}
		if want {
			n++
		}
	}
	t.Logf("%d lines, %d with a date", len(lines), n)
}

// TestReplyLineTestsMatchReference holds replyHasLead and replyHeaderKey
// to the regexp and code they replaced, on every line of the texts (as
// they are and trimmed) and on generated lines.
func TestReplyLineTestsMatchReference(t *testing.T) {
	lines := append(equivLines(equivTexts(t)), equivRandomLines(30000, 19)...)
	for _, w := range replyLeadWords {
		lines = append(lines, w, w+" ", w+"  x", w+" x", w+" \tx", w+" é", w+" \xff", w+"x y", "x"+w+" y", strings.ToLower(w)+" y")
	}
	for k := range replyHeaderKeys {
		lines = append(lines, k+":", "*"+k+":* x", " ** "+k+" ** : x", k+" 1:", strings.ToUpper(k)+": x", "\f"+k+"\t:")
	}
	leads, keys := 0, 0
	for _, l := range lines {
		want := refReplyLeadRe.MatchString(l)
		if got := replyHasLead(l); got != want {
			t.Errorf("replyHasLead(%q) = %v, regexp %v", l, got, want)
		}
		if want {
			leads++
		}
		wantKey := refReplyHeaderKey(l)
		if got := replyHeaderKey(l); got != wantKey {
			t.Errorf("replyHeaderKey(%q) = %q, reference %q", l, got, wantKey)
		}
		if wantKey != 0 {
			keys++
		}
	}
	t.Logf("%d lines: %d open like an attribution, %d header keys", len(lines), leads, keys)
}

// TestReplyPrefiltersAdmitEveryMatch checks that the cheap tests run
// before replyOriginalRe, replyForwardRe and replySharedRe never turn
// away a line the regexp would match.
func TestReplyPrefiltersAdmitEveryMatch(t *testing.T) {
	lines := append(equivLines(equivTexts(t)), equivRandomLines(30000, 11)...)
	lines = append(lines, "-----Original Message-----", "  ***ORIGINAL MESSAGE*** :", "\fOriginal message", "Reply Message",
		"-- Исходное сообщение --", "ИСХОДНОЕ СООБЩЕНИЕ", "原始邮件", "元のメッセージ", "Původní zpráva", "---------- Forwarded message ---------",
		"Begin forwarded message:", "DÉBUT DU MESSAGE RÉEXPÉDIÉ :", "\u212aelvin", "ſ message",
		"Works now On Mon, Mar 4, 2024 at 9:02 AM, a@b.example wrote:", "x -- On Tue, 1 Jan 2019 X sent:", "\xffOn Wed, 2 Jan 2019 wrote:",
		" On Mon, 4 Mar 2024 Y wrote:", "On On Mon, 4 Mar 2024 Y wrote:")
	for _, p := range replyOriginalPhrases {
		lines = append(lines, p, strings.ToUpper(p), "--"+p+"--", " _= "+strings.ToTitle(p)+" :", "-- "+p+" :-", p+": x", "x "+p)
	}
	for _, p := range replyForwardDashed {
		lines = append(lines, "-- "+p+" --", "---------- "+strings.ToUpper(p)+" ---------\t", " --"+p, "- "+p+" -", p)
	}
	for _, p := range replyForwardBegin {
		lines = append(lines, p+":", " "+strings.ToTitle(p)+" :\r", p, p+": x", "x "+p+":")
	}
	lines = append(lines, "__", " ___ ", "_", "__x", "\f__\t")
	var orig, fwd, shared int
	for _, l := range lines {
		if refReplyOriginalRe.MatchString(l) {
			orig++
			if !replyMayBeOriginal(l) {
				t.Errorf("replyMayBeOriginal(%q) = false, but the regexp matches", l)
			}
		}
		if replyOriginalRe.MatchString(l) != refReplyOriginalRe.MatchString(l) {
			t.Errorf("replyOriginalRe and the original regexp disagree on %q", l)
		}
		if refReplySharedRe.MatchString(l) {
			shared++
			if !replyMayShare(l) {
				t.Errorf("replyMayShare(%q) = false, but the regexp matches", l)
			}
		}
		if refReplyUnderscoreRe.MatchString(l) && !strings.Contains(l, "__") {
			t.Errorf("%q matches the underscore regexp without holding two underscores", l)
		}
		if replyForwardRe.MatchString(l) != refReplyForwardRe.MatchString(l) {
			t.Errorf("replyForwardRe and the original regexp disagree on %q", l)
		}
		if refReplyForwardRe.MatchString(l) {
			fwd++
			if !replyMayBeForward(l) {
				t.Errorf("replyMayBeForward(%q) = false, but the regexp matches", l)
			}
		}
	}
	if orig < 3*len(replyOriginalPhrases) || fwd < 3*len(replyForwardDashed) || shared < 3 {
		t.Errorf("only %d separator, %d forward and %d shared attribution lines met", orig, fwd, shared)
	}
}

// TestStripReplyMatchesReference compares StripReply with the reference
// copy of the code before optimisation (reply_ref_test.go) on every text,
// and on windows of 1 to 12 lines of each, which put each line at the
// start, middle and end of a body.
func TestStripReplyMatchesReference(t *testing.T) {
	texts := equivTexts(t)
	compared := 0
	check := func(in, what string) {
		compared++
		if got, want := StripReply(in), refStripReply(in); got != want {
			t.Errorf("%s: StripReply differs from the reference\ninput %q\ngot  %q\nwant %q", what, corpusClip(in), got, want)
		}
	}
	for i, text := range texts {
		check(text, "text")
		lines := strings.Split(text, "\n")
		step := 3
		if testing.Short() {
			step = 7
		}
		for from := 0; from < len(lines) && from < 400; from += step {
			for _, n := range []int{1, 3, 12} {
				check(strings.Join(lines[from:min(from+n, len(lines))], "\n"), "window")
			}
		}
		if t.Failed() {
			t.Fatalf("stopped at text %d", i)
		}
	}
	for _, l := range equivRandomLines(5000, 3) {
		check(l, "generated")
		check("Reply\n\n"+l+"\n> quoted\n> quoted\n> quoted", "generated")
	}
	t.Logf("%d texts, %d inputs compared", len(texts), compared)
}

// FuzzStripReplyReference checks StripReply and the line tests it is made
// of, and the text tests of dsn.go, against the code and regexps they
// replaced.
func FuzzStripReplyReference(f *testing.F) {
	f.Add("Hi\n\nOn Tue, 10 Mar 2026 at 16:02, X <x@example.com> wrote:\n> q\n")
	f.Add("-----Original Message-----\nFrom: a@b.example\nSent: 4.3.2024 9:02\nTo: c@d.example\n\nold")
	f.Add("550 5.1.1 <a@b.example>: Recipient address rejected")
	f.Add("2024-03-04 12:00 4.4.7 Delivery delayed")
	f.Fuzz(func(t *testing.T, in string) {
		if got, want := StripReply(in), refStripReply(in); got != want {
			t.Fatalf("StripReply(%q) = %q, reference %q", in, got, want)
		}
		if got, want := replyHasDate(in), refReplyDateRe.MatchString(in); got != want {
			t.Fatalf("replyHasDate(%q) = %v, regexp %v", in, got, want)
		}
		if got, want := dsnHasStatusCode(in), refDsnStatusRe.MatchString(in); got != want {
			t.Fatalf("dsnHasStatusCode(%q) = %v, regexp %v", in, got, want)
		}
		if got, want := dsnHasSMTPCode(in), refDsnSMTPCodeRe.MatchString(in); got != want {
			t.Fatalf("dsnHasSMTPCode(%q) = %v, regexp %v", in, got, want)
		}
		if refReplyOriginalRe.MatchString(in) && !replyMayBeOriginal(in) {
			t.Fatalf("replyMayBeOriginal(%q) = false, but the regexp matches", in)
		}
		if refReplyForwardRe.MatchString(in) && !replyMayBeForward(in) {
			t.Fatalf("replyMayBeForward(%q) = false, but the regexp matches", in)
		}
		if refReplySharedRe.MatchString(in) && !replyMayShare(in) {
			t.Fatalf("replyMayShare(%q) = false, but the regexp matches", in)
		}
		if want := refDsnHasBounceWording(strings.ToLower(in)); dsnHasBounceWording(in) != want {
			t.Fatalf("dsnHasBounceWording(%q) = %v, reference %v", in, !want, want)
		}
		if got, want := dsnBounceSubject(in), refDsnBounceSubjectRe.MatchString(in); got != want {
			t.Fatalf("dsnBounceSubject(%q) = %v, regexp %v", in, got, want)
		}
		if got, want := dsnDaemonName(in), refDsnDaemonNameRe.MatchString(in); got != want {
			t.Fatalf("dsnDaemonName(%q) = %v, regexp %v", in, got, want)
		}
		if got, want := replyHasLead(in), refReplyLeadRe.MatchString(in); got != want {
			t.Fatalf("replyHasLead(%q) = %v, regexp %v", in, got, want)
		}
		if got, want := replyHeaderKey(in), refReplyHeaderKey(in); got != want {
			t.Fatalf("replyHeaderKey(%q) = %q, reference %q", in, got, want)
		}
	})
}
