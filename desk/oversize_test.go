package desk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/message"
)

// oversize ingests the header of a mail too large to read, as the fetcher
// hands it in, under the given UID, and returns the result.
func (td *testDesk) oversize(uid uint32, header string) desk.Result {
	td.t.Helper()
	raw := []byte(strings.ReplaceAll(header, "\n", "\r\n") + "\r\n")
	msg, err := message.Parse(raw, message.ParseOptions{})
	if err != nil {
		td.t.Fatalf("parse: %v", err)
	}
	res, err := td.d.Ingest(context.Background(), desk.Incoming{Mailbox: "support", UIDValidity: 1, UID: uid, Message: msg, Raw: raw,
		Oversize: &helpdesk.Oversize{Size: 3 << 20, Limit: 1 << 20, Folder: "Quarantine"}})
	if err != nil {
		td.t.Fatalf("ingest: %v", err)
	}
	return res
}

func tooLargeNotices(ms []helpdesk.OutMail) int {
	n := 0
	for _, m := range ms {
		if strings.Contains(m.Text, "more than the 1 MB we can accept") {
			n++
		}
	}
	return n
}

// TestOversizeNoticeOnce: the sender of a mail too large to read is asked
// for it again once, however often the fetcher hands it in (a crash
// between the commit and the move to quarantine); automatic mail and mail
// that asks for no automatic reply get no notice, and the notices count
// against the automatic-reply limit like acknowledgements.
func TestOversizeNoticeOnce(t *testing.T) {
	td := newTestDesk(t)
	hdr := func(from, id, extra string) string {
		return fmt.Sprintf("From: %s\nTo: support@example.com\nSubject: Big logs\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 09:58:00 +0000\n%s", from, id, extra)
	}
	first := td.oversize(1, hdr("Carol <carol@shop.example>", "big-1@shop.example", ""))
	if first.Outcome != desk.Opened {
		t.Fatalf("first delivery: %+v, want a new ticket", first)
	}
	if again := td.oversize(1, hdr("Carol <carol@shop.example>", "big-1@shop.example", "")); again.Outcome != desk.Duplicate {
		t.Fatalf("second delivery of the same mail: %+v, want a duplicate", again)
	}
	if n := tooLargeNotices(td.mailsTo("carol@shop.example")); n != 1 {
		t.Errorf("carol got %d too-large notices, want 1", n)
	}
	if n := len(td.mailsTo("alice@example.com")); n != 1 {
		t.Errorf("alice was told %d times, want once", n)
	}
	_, evs := td.ticket(first.Ref)
	if d := detail(evs, helpdesk.EventOversize); !strings.Contains(d, "mail of 3 MB (3145728 bytes) is larger than the mailbox's max_message_size of 1 MB") ||
		!strings.Contains(d, `"Quarantine"`) {
		t.Errorf("oversize event %q", d)
	}

	for _, tc := range []struct{ name, from, extra string }{
		{"auto-submitted", "robot@shop.example", "Auto-Submitted: auto-generated\n"},
		{"suppress", "dave@shop.example", "X-Auto-Response-Suppress: All\n"},
		{"bulk", "news@lists.example", "Precedence: bulk\nList-Unsubscribe: <mailto:out@lists.example>\n"},
	} {
		td.seq++
		res := td.oversize(uint32(100+td.seq), hdr(tc.from, tc.name+"@x.example", tc.extra))
		if n := len(td.mailsTo(tc.from)); n != 0 {
			t.Errorf("%s: the sender got %d mails, want none", tc.name, n)
		}
		_, evs := td.ticket(res.Ref)
		if detail(evs, helpdesk.EventOversize) == "" || !strings.Contains(detail(evs, helpdesk.EventAckSuppressed), "no too-large notice") {
			t.Errorf("%s: events %+v, want oversize and ack-suppressed", tc.name, evs)
		}
	}

	// The limit: 10 automatic replies an hour to one mailbox, carol's
	// notice included.
	for i := 2; i <= 12; i++ {
		td.oversize(uint32(200+i), hdr("Carol <carol@shop.example>", fmt.Sprintf("big-%d@shop.example", i), ""))
	}
	if n := tooLargeNotices(td.mailsTo("carol@shop.example")); n != 10 {
		t.Errorf("carol got %d too-large notices in an hour, want 10 (the limit)", n)
	}
}
