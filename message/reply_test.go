package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStripReplyFixtures runs testdata/replies/NAME.txt through StripReply
// and compares with NAME.want: one reply per client style (Gmail in four
// languages, Outlook desktop, web and iOS, Apple Mail, Thunderbird) plus
// inline answers, forwards, bottom posting and text that only looks like
// a quote.
func TestStripReplyFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d reply fixtures", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".txt") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			if got := StripReply(string(in)); got != string(want) {
				t.Errorf("StripReply =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestStripReply(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"blank", " \n\t\n", ""},
		{"plain", "Hello\nworld", "Hello\nworld"},
		{"trailing spaces trimmed", "Hello  \nworld\t\n\n", "Hello\nworld"},
		{"dash signature", "Fixed, thanks.\n\n-- \nAlice\nACME", "Fixed, thanks."},
		{"dash signature without space", "Fixed, thanks.\n--\nAlice", "Fixed, thanks."},
		{"dashes in text are no signature", "Use the -- flag\nor --verbose.", "Use the -- flag\nor --verbose."},
		{"first line -- is no signature", "--\nonly this", "--\nonly this"},
		{"iphone", "Yes.\n\nSent from my iPhone", "Yes."},
		{"blackberry multi word", "Ok\n\nSent from my Verizon Wireless BlackBerry", "Ok"},
		{"german outlook android", "Ja.\n\nGesendet von Outlook für Android<https://aka.ms/x>", "Ja."},
		{"sent from in a sentence stays", "It was sent from my iPhone app, not the web.", "It was sent from my iPhone app, not the web."},
		{"short quote without header is text", "See:\n> rm -rf /tmp/x\nfails.", "See:\n> rm -rf /tmp/x\nfails."},
		{"three quote lines at the end go", "Agreed.\n\n> a\n> b\n> c", "Agreed."},
		{"on without wrote", "On Monday it broke.\nOn Tuesday too.", "On Monday it broke.\nOn Tuesday too."},
		{"attribution on one line with the reply", "Works now On Mon, Mar 4, 2024 at 9:02 AM, a@b.example wrote:\n> Does it?", "Works now"},
		{"android dashes", "Yes\n\n---- Bob wrote ----\n\n> q", "Yes"},
		{"original message german", "Ja\n\n-----Ursprüngliche Nachricht-----\nVon: x", "Ja"},
		{"header block with date first", "Done\n\nDate: Mon, 4 Mar 2024 09:02:00 +0000\nTo: a@b.example\n\nold", "Done"},
		{"date-like lines are text", "Date: 4 March\nTime: 10:00\nPlace: HQ", "Date: 4 March\nTime: 10:00\nPlace: HQ"},
		{"wrapped quote line is still quote", "Answer.\n\nOn Mon, Mar 4, 2024 at 9:02 AM X <x@y.example> wrote:\n> a very long quoted line that the client wrapped because it was far too long\ncontinued here\n> end", "Answer."},
		{"sign-off under the quote kept", "Reply\n\nOn 04/03/2024 09:02, Bob wrote:\n> q\n> q\n\nRegards, Alice", "Reply\n\nRegards, Alice"},
		{"CRLF", "Reply\r\n\r\nOn Mon, Mar 4, 2024 at 9:02 AM X <x@y.example> wrote:\r\n> q\r\n", "Reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StripReply(tt.in)
			if got != tt.want {
				t.Errorf("StripReply(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > len(tt.in) {
				t.Errorf("output longer than input")
			}
		})
	}
}

// A mail whose subject forwards another keeps the forwarded mail below
// an Outlook header block: it is the report.
func TestStripForward(t *testing.T) {
	const outlook = "Can you look at this please. Nick\n\n________________________________\nFrom: Sophie Grant <sophie@x.example>\nSent: Tuesday, 6 October 2026 1:58 PM\nTo: Nick <nick@x.example>\nSubject: orders late\n\nSince Friday the web orders are late.\n\nSophie"
	if got := StripForward(outlook); !strings.Contains(got, "Since Friday the web orders are late.") || !strings.Contains(got, "Can you look at this please.") {
		t.Errorf("StripForward dropped the forwarded mail: %q", got)
	}
	if got := StripReply(outlook); strings.Contains(got, "Since Friday") {
		t.Errorf("StripReply kept the history of a reply: %q", got)
	}
	// A reply quoted with ">" before any header is a reply all the same.
	const quoted = "Thanks.\n\n> a\n> b\n> c\n\nFrom: x@y.example\nSent: Monday\n\nold text"
	if got := StripForward(quoted); got != "Thanks." {
		t.Errorf("StripForward(quoted reply) = %q, want %q", got, "Thanks.")
	}
}

// A forward's report is its forwarded mail (ReportText), but its NewText,
// which is what gets relayed, keeps no history: the subject is the
// sender's to write.
func TestParseForwardNewText(t *testing.T) {
	raw := "From: nick@x.example\r\nTo: support@y.example\r\nSubject: FW: orders late\r\n\r\nSee below.\r\n\r\nFrom: Sophie <sophie@x.example>\r\nSent: Tuesday, 6 October 2026 1:58 PM\r\nTo: Nick <nick@x.example>\r\nSubject: orders late\r\n\r\nSince Friday the web orders are late.\r\n"
	m, err := Parse([]byte(raw), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ReportText(m.Subject, m.Text, m.NewText); !strings.Contains(got, "Since Friday") || !strings.Contains(got, "See below.") {
		t.Errorf("ReportText = %q, want the comment and the forwarded report", got)
	}
	if strings.Contains(m.NewText, "Since Friday") {
		t.Errorf("NewText = %q kept the forwarded history", m.NewText)
	}
	if got := ReportText("RE: orders late", m.Text, m.NewText); got != m.NewText {
		t.Errorf("ReportText of a reply = %q, want its NewText %q", got, m.NewText)
	}
}
