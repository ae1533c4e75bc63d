package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// TestAcceptedRecipients: the daily budget's record, from the outbox
// alone: every recipient of a mail sent whole at its sent_at, recipients
// delivered apart at their own time (on a mail still pending for others
// and on one that failed for the rest), nothing refused, nothing older
// than since.
func TestAcceptedRecipients(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	now := t0
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	enqueue := func(mid string, to ...string) int64 {
		t.Helper()
		m := &helpdesk.OutMail{Kind: helpdesk.KindAck, MessageID: mid, From: helpdesk.Address{Email: "s@x"}}
		for _, a := range to {
			m.To = append(m.To, helpdesk.Address{Email: a})
		}
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Enqueue(m) }); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	old := enqueue("old@x", "a@x", "b@x")
	if err := s.MarkSent(ctx, old, t0, 0); err != nil { // before since: not counted
		t.Fatal(err)
	}
	now = t0.Add(time.Hour)
	whole := enqueue("whole@x", "a@x", "b@x", "A@x") // A@x is a@x again: one envelope recipient
	if err := s.MarkSent(ctx, whole, now, 0); err != nil {
		t.Fatal(err)
	}
	partial := enqueue("partial@x", "c@x", "d@x", "e@x")
	if err := s.MarkRecipients(ctx, partial, helpdesk.DeliveryAttempt{At: now.Add(time.Minute), Attempts: 1, Next: now.Add(time.Hour),
		Results: []helpdesk.Recipient{{Email: "c@x", State: helpdesk.RecipientDelivered},
			{Email: "d@x", State: helpdesk.RecipientRefused, Reply: "550 gone"},
			{Email: "e@x", State: helpdesk.RecipientDeferred, Reply: "452 full"}}}); err != nil {
		t.Fatal(err)
	}
	gaveUp := enqueue("gaveup@x", "f@x", "g@x")
	if err := s.MarkRecipients(ctx, gaveUp, helpdesk.DeliveryAttempt{At: now.Add(2 * time.Minute), Attempts: 1, Next: now.Add(time.Hour),
		Results: []helpdesk.Recipient{{Email: "f@x", State: helpdesk.RecipientDelivered},
			{Email: "g@x", State: helpdesk.RecipientDeferred, Reply: "452 full"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, gaveUp, now.Add(3*time.Minute), "gave up"); err != nil {
		t.Fatal(err)
	}
	failed := enqueue("failed@x", "h@x")
	if err := s.MarkFailed(ctx, failed, now, "554 refused"); err != nil {
		t.Fatal(err)
	}
	enqueue("pending@x", "i@x")

	got, err := s.AcceptedRecipients(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{now, now, now.Add(time.Minute), now.Add(2 * time.Minute)}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("accepted %v, want %v", got, want)
	}
}

// TestDueOutboxRanked: the order mail goes in under the account's
// limits, with the configured levels: critical acks, customer mail by
// priority, agents' mail by priority, escalations and mail of no ticket;
// oldest first within each (the change category ranks like the last
// level). Mail not due is left out, and so is the
// rest beyond the limit.
func TestDueOutboxRanked(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	levels := helpdesk.Levels{Order: []helpdesk.Priority{"p1", "p2", "p3"}, Change: "chg"}
	add := func(mid string, p helpdesk.Priority, kind helpdesk.MessageKind, customer bool, next time.Time) {
		t.Helper()
		err := s.Update(ctx, func(tx *Tx) error {
			m := &helpdesk.OutMail{Kind: kind, MessageID: mid, From: helpdesk.Address{Email: "s@x"},
				To: []helpdesk.Address{{Email: "a@x"}}, ToCustomer: customer, NextAttemptAt: next}
			if p != "" {
				tk := &helpdesk.Ticket{Subject: mid, Customer: "a@x", Priority: p}
				if err := tx.CreateTicket(tk); err != nil {
					return err
				}
				m.TicketID = tk.ID
			}
			return tx.Enqueue(m)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("digest", "", helpdesk.KindSystem, false, now)
	add("esc-p1", "p1", helpdesk.KindEscalation, false, now)
	add("note-chg", "chg", helpdesk.KindNotification, false, now)
	add("note-p3", "p3", helpdesk.KindNotification, false, now)
	add("note-p1", "p1", helpdesk.KindNotification, false, now)
	add("relay-unknown", "gone", helpdesk.KindRelay, true, now)
	add("relay-p3", "p3", helpdesk.KindRelay, true, now)
	add("ack-p2", "p2", helpdesk.KindAck, true, now)
	add("relay-p1", "p1", helpdesk.KindRelay, true, now)
	add("ack-p1-later", "p1", helpdesk.KindAck, true, now.Add(time.Hour))
	add("ack-p1", "p1", helpdesk.KindAck, true, now)
	add("ack-p1-b", "p1", helpdesk.KindAck, true, now)

	rows, err := s.DueOutboxRanked(ctx, now, 100, levels)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.MessageID)
	}
	want := []string{"ack-p1", "ack-p1-b", "relay-p1", "ack-p2", "relay-p3", "relay-unknown",
		"note-p1", "note-chg", "note-p3", "esc-p1", "digest"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if rows[0].ID == 0 || rows[0].From.Email != "s@x" || len(rows[0].To) != 1 {
		t.Errorf("rows not read whole: %+v", rows[0])
	}
	rows, err = s.DueOutboxRanked(ctx, now, 2, levels)
	if err != nil || len(rows) != 2 || rows[1].MessageID != "ack-p1-b" {
		t.Errorf("limit 2: %d rows, %v", len(rows), err)
	}
}
