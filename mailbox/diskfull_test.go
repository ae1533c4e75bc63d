package mailbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// The outbox when the store cannot write (issue 16, a full disk): a mail
// the server accepted is never offered again by the process, nothing else
// is offered until the store writes again, and then the mail is recorded
// as sent. The store is the real one; its writes of a send fail while the
// test says the disk is full (countingStore.full). The daemon's test on a
// real full file system is cmd/helpdeskd's TestDiskFull.

// TestSenderDiskFullMidSend: the disk fills while the server takes a mail.
// Over 40 rounds of retry_min (the 34 copies a minute of the issue) the
// mail is not offered again and no other is offered; once the disk has
// room, the mail is recorded as sent, logged, and the rest go out, each
// once. Also when only the record of a sent mail fails and the mark
// before a send still fits.
func TestSenderDiskFullMidSend(t *testing.T) {
	t.Run("every write fails", func(t *testing.T) { testDiskFullMidSend(t, false) })
	t.Run("only the record of a sent mail fails", func(t *testing.T) { testDiskFullMidSend(t, true) })
}

func testDiskFullMidSend(t *testing.T, onlySent bool) {
	e := newSenderTest(t, SMTPConfig{Connections: 2, Batch: 10})
	full := &e.st.full
	if onlySent {
		full = &e.st.fullSent
	}
	t1, t2 := e.ticket(), e.ticket()
	var ids []int64
	for range 4 {
		ids = append(ids, e.enqueue(t1), e.enqueue(t2))
	}
	// The disk fills while the second mail of the first ticket is taken.
	e.w.script(func(_ *fakeSender, m helpdesk.OutMail, _ int) error {
		if m.ID == ids[2] {
			full.Store(true)
		}
		return nil
	})
	wait := e.round()
	if wait != e.o.cfg.Retry.Min {
		t.Errorf("round with a full disk sleeps %v, want retry_min %v", wait, e.o.cfg.Retry.Min)
	}
	if got := e.o.Unrecorded(); got < 1 || got > 2 {
		t.Fatalf("unrecorded = %d, want the mail in flight on each lane (1 or 2)", got)
	}
	if got := e.w.acceptedCount(ids[2]); got != 1 {
		t.Fatalf("the mail taken when the disk filled was accepted %d times, want 1", got)
	}
	offered := map[int64]int{}
	for _, id := range ids {
		offered[id] = e.w.offers(id)
	}
	for range 40 {
		e.clock.advance(e.o.cfg.Retry.Min)
		if wait := e.round(); wait != e.o.cfg.Retry.Min {
			t.Fatalf("round with a full disk sleeps %v, want retry_min", wait)
		}
	}
	for _, id := range ids {
		if got := e.w.offers(id); got != offered[id] {
			t.Errorf("row %d offered %d times while the disk was full, %d before", id, got, offered[id])
		}
		if got := e.w.acceptedCount(id); got > 1 {
			t.Errorf("row %d accepted %d times", id, got)
		}
	}
	if r := e.row(ids[2]); rowStatus(r) != "pending" {
		t.Errorf("row %d is %s while the disk is full: the store wrote?", ids[2], rowStatus(r))
	}
	if n := strings.Count(e.log.String(), "outbox cannot write to the store"); n != 1 {
		t.Errorf("the outage is logged %d times, want once:\n%s", n, e.log.String())
	}

	full.Store(false) // room again
	e.clock.advance(e.o.cfg.Retry.Min)
	for wait := e.round(); wait != -1; wait = e.round() {
		t.Fatalf("outbox not empty after the first round with room (sleep %v)", wait)
	}
	if got := e.o.Unrecorded(); got != 0 {
		t.Errorf("unrecorded = %d after the disk had room", got)
	}
	for _, id := range ids {
		e.wantSent(id, 0)
	}
	if !strings.Contains(e.log.String(), "the store writes again: recorded as sent the mails the SMTP server accepted meanwhile") ||
		!strings.Contains(e.log.String(), fmt.Sprintf("ack-%d@support.example.com", ids[2])) {
		t.Errorf("no log line naming the mail recorded after the disk had room:\n%s", e.log.String())
	}
}

// TestSenderDiskFullBeforeSend: with the disk full before anything is sent,
// no mail is offered (none could be marked as being sent) and no session
// is opened; with room, everything goes out once.
func TestSenderDiskFullBeforeSend(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 2})
	ids := []int64{e.enqueue(e.ticket()), e.enqueue(e.ticket())}
	e.st.full.Store(true)
	for range 5 {
		if wait := e.round(); wait != e.o.cfg.Retry.Min {
			t.Fatalf("round with a full disk sleeps %v, want retry_min", wait)
		}
		e.clock.advance(e.o.cfg.Retry.Min)
	}
	if d := e.w.dialCount(); d != 0 {
		t.Errorf("%d sessions opened with a full disk, want none", d)
	}
	e.st.full.Store(false)
	if wait := e.round(); wait != -1 {
		t.Fatalf("round with room sleeps %v, want nothing pending", wait)
	}
	for _, id := range ids {
		e.wantSent(id, 0)
	}
	if !strings.Contains(e.log.String(), "outbox writes to the store again; sending resumes") {
		t.Errorf("the end of the outage is not logged:\n%s", e.log.String())
	}
}

// TestSenderMarksBeforeData: each mail is marked as being sent before it
// is offered, and the mark is written with the record of the mail before
// it: one write per mail, plus one per session's batch. A row left marked
// by an earlier run (killed between the server's 250 and the record) is
// logged as a possible repeat when it is sent again; no other is.
func TestSenderMarksBeforeData(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 1, Batch: 10})
	tk := e.ticket()
	var ids []int64
	for range 5 {
		ids = append(ids, e.enqueue(tk))
	}
	// The run before this one marked ids[0] and was killed.
	if err := e.st.Store.MarkSending(context.Background(), ids[0], e.clock.now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	var seen []time.Time
	e.w.script(func(_ *fakeSender, m helpdesk.OutMail, _ int) error {
		seen = append(seen, e.row(m.ID).SendingAt)
		return nil
	})
	if wait := e.round(); wait != -1 {
		t.Fatalf("round sleeps %v, want nothing pending", wait)
	}
	for i, at := range seen {
		if at.IsZero() {
			t.Errorf("mail %d offered without being marked as being sent", i+1)
		}
	}
	calls := 0
	for _, id := range ids {
		e.wantSent(id, 0)
		if r := e.row(id); !r.SendingAt.IsZero() {
			t.Errorf("row %d still marked sending after it was recorded sent", id)
		}
		e.st.mu.Lock()
		calls += e.st.sending[id]
		e.st.mu.Unlock()
	}
	if calls != 1 {
		t.Errorf("%d MarkSending writes for one session's batch of 5, want 1 (the others ride on MarkSent)", calls)
	}
	log := e.log.String()
	if n := strings.Count(log, "may reach its recipients twice"); n != 1 || !strings.Contains(log, fmt.Sprintf("ack-%d@support.example.com", ids[0])) {
		t.Errorf("want one warning, naming ack-%d, of a possible repeat:\n%s", ids[0], log)
	}
}

// TestSenderDiskFullRestart: the process stops while a mail the server
// accepted is still unrecorded. It says so, naming the mail; the next
// process (a new worker on the same store) sends that mail again (the row
// is pending, marked as being sent) and names it as a possible repeat.
func TestSenderDiskFullRestart(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 1})
	id := e.enqueue(e.ticket())
	e.w.script(func(*fakeSender, helpdesk.OutMail, int) error {
		e.st.full.Store(true)
		return nil
	})
	e.round()
	if got := e.o.Unrecorded(); got != 1 {
		t.Fatalf("unrecorded = %d, want 1", got)
	}
	e.o.lastFlush(context.Background())
	id1 := fmt.Sprintf("ack-%d@support.example.com", id)
	if log := e.log.String(); !strings.Contains(log, "the next start sends them again") || !strings.Contains(log, id1) {
		t.Errorf("stopping with an unrecorded mail is not logged with its Message-ID:\n%s", log)
	}

	e.st.full.Store(false)
	e.clock.advance(time.Minute)
	next := newSenderTest(t, SMTPConfig{Connections: 1})
	next.st.Store, next.clock = e.st.Store, e.clock
	next.o = NewOutbox(SMTPConfig{Host: "smtp.invalid", Connections: 1}, next.st, e.clock.now, next.o.log)
	next.o.Dial = next.w.dial
	if wait := next.o.round(context.Background()); wait != -1 {
		t.Fatalf("the next process's round sleeps %v, want nothing pending", wait)
	}
	if got := next.w.acceptedCount(id); got != 1 {
		t.Errorf("the next process sent the unrecorded mail %d times, want once", got)
	}
	if r := next.row(id); rowStatus(r) != "sent" {
		t.Errorf("row %d is %s after the next process sent it", id, rowStatus(r))
	}
	if log := next.log.String(); !strings.Contains(log, "may reach its recipients twice") || !strings.Contains(log, id1) {
		t.Errorf("the next process does not name the repeat:\n%s", log)
	}
}

// TestSenderJournal: a process is killed after the server accepted a mail
// and before the store recorded it (here: its record fails and the
// process ends without flushing, as a kill would end it). The next process
// finds the mail in the sent journal, records it as sent and does not
// send it again; a mail that was only marked as being sent (killed before
// the server's answer) is sent again and named, even though a stale
// journal line (another Message-ID under its id) names it. The journal is
// empty once everything in it is recorded.
func TestSenderJournal(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "helpdesk.db.sent")
	e := newSenderTest(t, SMTPConfig{Connections: 1, Batch: 10})
	e.o.Journal = journal
	tk := e.ticket()
	ids := []int64{e.enqueue(tk), e.enqueue(tk), e.enqueue(tk)}
	j, entries, _, err := openJournal(journal)
	if err != nil || len(entries) != 0 {
		t.Fatalf("new journal: %v entries, %v", entries, err)
	}
	e.o.journal = j
	defer j.close()
	e.w.script(func(_ *fakeSender, m helpdesk.OutMail, _ int) error {
		if m.ID == ids[1] {
			e.st.fullSent.Store(true) // its record will not reach the store
		}
		return nil
	})
	e.round()
	if got := e.o.Unrecorded(); got != 1 {
		t.Fatalf("unrecorded = %d, want the second mail", got)
	}
	// The record of the second mail would have marked the third as being
	// sent; a killed run leaves that mark.
	if err := e.st.Store.MarkSending(context.Background(), ids[2], e.clock.now()); err != nil {
		t.Fatal(err)
	}
	// A line naming the third mail's id under another Message-ID, as a
	// journal older than a restored database would: ignored.
	stale := fmt.Sprintf("%d %d old-mail@support.example.com\n", ids[2], e.clock.now().UnixNano())
	if f, err := os.OpenFile(journal, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		t.Fatal(err)
	} else if _, err := f.WriteString(stale); err != nil || f.Close() != nil {
		t.Fatal(err)
	}
	// Killed: no flush, no shutdown. The next process.
	e.st.fullSent.Store(false)
	e.clock.advance(time.Minute)
	next := newSenderTest(t, SMTPConfig{Connections: 1})
	next.st.Store, next.clock = e.st.Store, e.clock
	next.o = NewOutbox(SMTPConfig{Host: "smtp.invalid", Connections: 1}, next.st, e.clock.now, next.o.log)
	next.o.Dial = next.w.dial
	next.o.Journal = journal
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- next.o.Run(ctx) }()
	testenv.WaitFor(t, "the next process to send the third mail", 10*time.Second, func() bool {
		return rowStatus(next.row(ids[2])) == "sent"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := next.w.offers(ids[1]); got != 0 {
		t.Errorf("the mail in the journal was offered %d times by the next process, want 0", got)
	}
	if r := next.row(ids[1]); rowStatus(r) != "sent" || !r.SendingAt.IsZero() {
		t.Errorf("the mail in the journal is %s (sending at %v), want sent", rowStatus(r), r.SendingAt)
	}
	if got := next.w.acceptedCount(ids[2]); got != 1 {
		t.Errorf("the mail marked as being sent was sent %d times by the next process, want once", got)
	}
	log := next.log.String()
	_, replayed, _ := strings.Cut(log, "(sent journal): they are not sent again")
	replayed, _, _ = strings.Cut(replayed, "\n")
	_, list, _ := strings.Cut(replayed, "outbox_ids=")
	if !slices.Contains(strings.Fields(strings.Trim(list, `"[]`)), fmt.Sprint(ids[1])) {
		t.Errorf("the replay of the journal is not logged with the mail's id %d:\n%s", ids[1], log)
	}
	if strings.Count(log, "may reach its recipients twice") != 1 || !strings.Contains(log, fmt.Sprintf("ack-%d@", ids[2])) {
		t.Errorf("want the third mail, and only it, named as a possible repeat:\n%s", log)
	}
	if !strings.Contains(log, "sent journal names a mail the database does not hold under that id") || !strings.Contains(log, "old-mail@support.example.com") {
		t.Errorf("the stale journal line is not reported:\n%s", log)
	}
	if b, err := os.ReadFile(journal); err != nil || len(b) != 0 {
		t.Errorf("journal after everything is recorded: %q, %v; want empty", b, err)
	}
}
