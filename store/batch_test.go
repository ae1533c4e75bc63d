package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestSavepointRollsBackOneItem: a failing item of a batch leaves nothing
// behind, the items around it commit.
func TestSavepointRollsBackOneItem(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx *Tx) error {
		for i, c := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			err := tx.Savepoint(func() error {
				tk := newTicket(c)
				if err := tx.CreateTicket(tk); err != nil {
					return err
				}
				if _, err := tx.AddMessage(tk.ID, "support", &helpdesk.Message{MessageID: c, Direction: helpdesk.Inbound,
					Kind: helpdesk.KindCustomer, Text: "hello"}); err != nil {
					return err
				}
				if i == 1 {
					return boom
				}
				return nil
			})
			if (i == 1) != errors.Is(err, boom) || errors.Is(err, ErrSavepoint) {
				t.Fatalf("item %d: err %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx *ReadTx) error {
		for i, c := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			ts, err := tx.Tickets(TicketFilter{Customer: c})
			if err != nil {
				return err
			}
			if want := map[bool]int{true: 0, false: 1}[i == 1]; len(ts) != want {
				t.Errorf("item %d: %d tickets, want %d", i, len(ts), want)
			}
		}
		for i, c := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			seen, err := tx.MessageExists(c)
			if err != nil || seen != (i != 1) {
				t.Errorf("message of item %d: seen %v, err %v", i, seen, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutboundTextStoredOnce: an outbound message stored without text reads
// back the body of its outbox row; a new text equal to the full text is
// stored once and reads back the same.
func TestOutboundTextStoredOnce(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	body := "Thanks, we have your report.\n"
	var tid int64
	err := s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("a@example.com")
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		tid = tk.ID
		if _, err := tx.AddMessage(tid, "support", &helpdesk.Message{MessageID: "in@x", Direction: helpdesk.Inbound,
			Kind: helpdesk.KindCustomer, Text: "Checkout is down", NewText: "Checkout is down", Raw: []byte("raw")}); err != nil {
			return err
		}
		m := &helpdesk.OutMail{TicketID: tid, Kind: helpdesk.KindAck, MessageID: "ack@x",
			From: helpdesk.Address{Email: "support@example.com"}, To: []helpdesk.Address{{Email: "a@example.com"}}, Text: body}
		if err := tx.Enqueue(m); err != nil {
			return err
		}
		_, err := tx.AddMessage(tid, "support", &helpdesk.Message{MessageID: "ack@x", Direction: helpdesk.Outbound, Kind: helpdesk.KindAck})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx *ReadTx) error {
		ms, err := tx.Messages(tid)
		if err != nil {
			return err
		}
		if len(ms) != 2 {
			t.Fatalf("%d messages, want 2", len(ms))
		}
		if ms[0].Text != "Checkout is down" || ms[0].NewText != "Checkout is down" {
			t.Errorf("inbound: text %q new %q", ms[0].Text, ms[0].NewText)
		}
		if ms[1].Text != body || ms[1].NewText != body {
			t.Errorf("outbound: text %q new %q, want the outbox body", ms[1].Text, ms[1].NewText)
		}
		if last, err := tx.LastText(tid, helpdesk.KindAck); err != nil || last != body {
			t.Errorf("LastText = %q, %v", last, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBackgroundCheckpoint: commits are copied back into the database file
// by the checkpointer, long before the writer's own backstop would.
func TestBackgroundCheckpoint(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	text := strings.Repeat("x", 4000)
	for i := range 100 { // ~800 KiB of WAL, far below the backstop
		err := s.Update(ctx, func(tx *Tx) error {
			for j := range 2 {
				tk := newTicket("a@example.com")
				if err := tx.CreateTicket(tk); err != nil {
					return err
				}
				if _, err := tx.AddMessage(tk.ID, "support", &helpdesk.Message{MessageID: string(rune('a'+j)) + strings.Repeat("i", i+1),
					Direction: helpdesk.Inbound, Kind: helpdesk.KindCustomer, Text: text}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitForState(t, "the WAL copied back into the database file", 20*time.Second, func() (bool, string) {
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size() > 700<<10, fmt.Sprintf("the file is %d bytes after 100 commits and %d checkpoints", fi.Size(), s.ckpt.runs.Load())
	})
}
