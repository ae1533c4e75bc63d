package desk_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/message"
)

// maxMachineAnswered is how many of the 241 machine-generated corpus mails
// still get an automatic reply; it may only go down. The one is
// flufl.bounce's groupwise_03, which flufl keeps as a non-bounce case: a
// person's Outlook reply with a document attached, which a helpdesk should
// acknowledge. No rule is written for any one file.
const maxMachineAnswered = 1

// TestCorpusAutoReplies feeds the corpus's machine-generated mails (bounces,
// vacation mails, challenge-response, from the flufl.bounce and
// perl-Mail-DeliveryStatus-BounceParser sets) and the human replies of
// mailgun-talon through the parser and the desk, and counts the automatic
// replies the desk would send: none to a machine, one to every person.
// Request Tracker 5.0.3 auto-replies to 17 of the 241 machine mails.
func TestCorpusAutoReplies(t *testing.T) {
	corpus := testenv.Corpus(t)                                              // skips the test without the corpus
	td := newTestDesk(t, func(c *desk.Config) { c.AutoReplyLimit = 100000 }) // count decisions, not the rate limit
	answered := func(files []string) (got []string) {
		for i, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, before := td.enqueuedSince(0)
			in := desk.Incoming{Mailbox: "support", UIDValidity: 1, UID: uint32(10000 + td.seq + i), Raw: raw}
			msg, perr := message.Parse(raw, message.ParseOptions{})
			in.Message, in.ParseError = msg, perr
			if _, err := td.d.Ingest(context.Background(), in); err != nil && perr == nil {
				t.Fatalf("%s: %v", f, err)
			}
			caused, _ := td.enqueuedSince(before)
			for _, m := range caused {
				if m.Kind == helpdesk.KindAck || (m.Auto && m.Kind != helpdesk.KindNotification) {
					got = append(got, strings.TrimPrefix(f, corpus+"/"))
					break
				}
			}
		}
		td.seq += len(files)
		return got
	}
	machine := append(testenv.CorpusFiles(t, "messages/flufl.bounce"), testenv.CorpusFiles(t, "messages/perl-Mail-DeliveryStatus-BounceParser")...)
	if len(machine) != 241 {
		t.Errorf("found %d machine-generated mails, want the corpus's 241", len(machine))
	}
	machineGot := answered(machine)
	t.Logf("answered:\n  %s", strings.Join(machineGot, "\n  "))
	if len(machineGot) > maxMachineAnswered {
		t.Errorf("automatic replies to %d of %d machine-generated mails, more than the %d of before (RT 5.0.3: 17):\n  %s",
			len(machineGot), len(machine), maxMachineAnswered, strings.Join(machineGot, "\n  "))
	}
	human := testenv.CorpusFiles(t, "replies/mailgun-talon/tests/fixtures/standard_replies")
	var emls []string
	for _, f := range human {
		if strings.HasSuffix(f, ".eml") {
			emls = append(emls, f)
		}
	}
	got := answered(emls)
	if len(emls) != 12 || len(got) != 12 {
		t.Errorf("acknowledged %d of %d human replies of mailgun-talon, want 12 of 12: %v", len(got), len(emls), got)
	}
	t.Logf("machine-generated: %d mails, answered %d; talon human replies: %d of %d acknowledged", len(machine), len(machineGot), len(got), len(emls))
}
