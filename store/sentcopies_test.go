package store

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// TestSentCopies follows copies from the queue to the folder: a copy is
// due only once its mail went out (to everyone, or to some recipients),
// keeps its bytes (in chunks when large) until done, and a copy of mail
// that reached nobody is dropped.
func TestSentCopies(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	var ids []int64
	err := s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("a@example.com")
		tk.Mailbox = "support"
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		for i, id := range []string{"ack@x", "relay@x", "note@x", "dead@x"} {
			m := &helpdesk.OutMail{TicketID: tk.ID, Kind: helpdesk.KindAck, MessageID: id, ToCustomer: i != 2,
				From: helpdesk.Address{Email: "s@x"}, To: []helpdesk.Address{{Email: "a@example.com"}, {Email: "b@example.com"}}}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	box, raw, err := s.SentCopyFor(ctx, ids[2])
	if err != nil || box != "" || raw != nil {
		t.Fatalf("copy of staff mail: %q %q %v; want none", box, raw, err)
	}
	box, raw, err = s.SentCopyFor(ctx, ids[0])
	if err != nil || box != "support" || raw != nil {
		t.Fatalf("copy of the ack before queueing: %q %q %v", box, raw, err)
	}
	small := []byte("Message-ID: <ack@x>\r\n\r\nhello\r\n")
	large := bytes.Repeat([]byte("0123456789abcdef"), (rawChunk*2+100)/16)
	for i, b := range [][]byte{small, large, nil, small} {
		if b == nil {
			continue
		}
		if err := s.QueueSentCopy(ctx, ids[i], "support", b); err != nil {
			t.Fatal(err)
		}
	}
	// A second queueing keeps the first bytes: every attempt sends them.
	if err := s.QueueSentCopy(ctx, ids[0], "support", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if _, raw, err := s.SentCopyFor(ctx, ids[1]); err != nil || !bytes.Equal(raw, large) {
		t.Fatalf("large copy read back: %d bytes, %v; want %d", len(raw), err, len(large))
	}
	if due, err := s.DueSentCopies(ctx, "support", now, 10); err != nil || len(due) != 0 {
		t.Fatalf("due before anything went out: %+v %v", due, err)
	}
	if err := s.MarkSent(ctx, ids[0], now, 0); err != nil {
		t.Fatal(err)
	}
	// The relay reached one of its two recipients: its copy is due too.
	if err := s.MarkRecipients(ctx, ids[1], helpdesk.DeliveryAttempt{At: now, Attempts: 1, Next: now.Add(time.Hour),
		Results: []helpdesk.Recipient{{Email: "a@example.com", State: helpdesk.RecipientDelivered},
			{Email: "b@example.com", State: helpdesk.RecipientDeferred, Reply: "451 later"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, ids[3], now, "550 no"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DropUnsentCopies(ctx); err != nil || n != 1 {
		t.Fatalf("dropped %d, %v; want 1", n, err)
	}
	due, err := s.DueSentCopies(ctx, "support", now, 10)
	if err != nil || len(due) != 2 || due[0].MessageID != "ack@x" || due[1].MessageID != "relay@x" {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if !due[0].SentAt.Equal(now) || due[0].Size != int64(len(small)) || due[0].Raw != nil {
		t.Errorf("due[0] = %+v", due[0])
	}
	if pend, err := s.SentCopiesPending(ctx); err != nil || pend["support"] != 2 {
		t.Fatalf("pending = %v, %v", pend, err)
	}
	if raw, err := s.SentCopyRaw(ctx, due[0].ID); err != nil || !bytes.Equal(raw, small) {
		t.Fatalf("raw = %q, %v", raw, err)
	}
	// An APPEND whose outcome was lost leaves the copy in doubt.
	if err := s.MarkSentCopyAppending(ctx, due[0].ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.RetrySentCopy(ctx, due[0].ID, 1, now.Add(time.Minute), "connection reset", true); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSentCopy(ctx, due[1].ID, now, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DueSentCopies(ctx, "support", now, 10); err != nil || len(got) != 0 {
		t.Fatalf("due after retry and finish: %+v %v", got, err)
	}
	next, ok, err := s.NextSentCopy(ctx, "support")
	if err != nil || !ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("next = %v %v %v", next, ok, err)
	}
	got, err := s.DueSentCopies(ctx, "support", now.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || !got[0].AppendingAt.Equal(now) || got[0].Attempts != 1 || got[0].LastError != "connection reset" {
		t.Fatalf("due in doubt = %+v %v", got, err)
	}
	if err := s.FinishSentCopy(ctx, got[0].ID, now, "larger than the server's APPENDLIMIT"); err != nil {
		t.Fatal(err)
	}
	var chunks, kept int
	if err := s.db.QueryRow(`SELECT (SELECT count(*) FROM sent_copy_chunks), (SELECT count(*) FROM sent_copies WHERE raw IS NOT NULL)`).Scan(&chunks, &kept); err != nil {
		t.Fatal(err)
	}
	if chunks != 0 || kept != 0 {
		t.Errorf("after every copy is done: %d chunks, %d rows with bytes; want none", chunks, kept)
	}
	if _, ok, err := s.NextSentCopy(ctx, "support"); err != nil || ok {
		t.Errorf("next after all done: %v %v", ok, err)
	}
}
