package intake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/intake"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/mailbox"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

func newDeliverer(t *testing.T, hooks intake.Hooks) (*intake.Deliverer, *store.Store) {
	t.Helper()
	// One mailbox and one agent, Alice, in no team.
	cfg := testenv.Config{Agents: []testenv.Agent{{Email: "alice@example.com", Name: "Alice"}}}.Load(t)
	now := func() time.Time { return time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC) }
	st, err := store.Open(context.Background(), cfg.Store.Path, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tri, err := triage.New(triage.Rules{Levels: cfg.Levels})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	d, err := desk.New(desk.Config{Name: "Example Support", From: cfg.SMTP.From, Levels: cfg.Levels, Policies: cfg.Policies,
		DefaultPolicy: cfg.SLA.DefaultPolicy, Mailboxes: []desk.Mailbox{{Name: "support", Address: "support@example.com"}},
		Agents: []desk.Agent{{Email: "alice@example.com", Name: "Alice"}}},
		desk.Options{Store: st, Triage: tri, Templates: tmpl, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return intake.New(d, message.ParseOptions{}, hooks), st
}

func mail(id, from, subject, body string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf("From: %s\nTo: support@example.com\nSubject: %s\nMessage-ID: <%s>\nDate: Wed, 18 Nov 2026 09:58:00 +0000\n\n%s\n",
		from, subject, id, body), "\n", "\r\n"))
}

// TestDeliverBatch: a batch parsed while the desk applies it gives each
// mail its outcome in order: new tickets, a reply threading into a ticket
// opened earlier in the batch, a duplicate, and an unparseable mail that
// is quarantined (helpdesk.ErrUnreadable). Committed mails reach the hook;
// the checkpoint ends at the last mail.
func TestDeliverBatch(t *testing.T) {
	var committed []uint32
	h, st := newDeliverer(t, intake.Hooks{Committed: func(d mailbox.Delivery, _ desk.Result) { committed = append(committed, d.UID) }})
	raws := [][]byte{
		mail("m1@x", "Carol <carol@shop.example>", "Checkout down", "Checkout fails with HTTP 503 since 09:40 for everyone."),
		mail("m2@x", "Dan <dan@other.example>", "Invoice", "Where is my invoice?"),
		[]byte(strings.ReplaceAll("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Re: Checkout down\nMessage-ID: <m3@x>\nIn-Reply-To: <m1@x>\n\nStill down.\n", "\n", "\r\n")),
		mail("m2@x", "Dan <dan@other.example>", "Invoice", "Where is my invoice?"),
		[]byte("\x00\x01 not a mail at all"),
	}
	for i := range 40 { // enough for the workers to run ahead of the desk
		raws = append(raws, mail(fmt.Sprintf("n%d@x", i), fmt.Sprintf("c%d@shop.example", i), "Login broken", "I cannot log in since 9:00."))
	}
	var ds []mailbox.Delivery
	for i, raw := range raws {
		ds = append(ds, mailbox.Delivery{Mailbox: "support", UIDValidity: 3, UID: uint32(i + 1), Raw: raw})
	}
	errs := h.Deliver(context.Background(), ds)
	if len(errs) != len(ds) {
		t.Fatalf("%d errors for %d mails", len(errs), len(ds))
	}
	for i, err := range errs {
		if (i == 4) != errors.Is(err, helpdesk.ErrUnreadable) || (i != 4 && err != nil) {
			t.Errorf("mail %d: err %v", i+1, err)
		}
	}
	if len(committed) != len(ds)-1 || committed[3] != 4 || committed[4] != 6 {
		t.Errorf("committed hook saw %v", committed)
	}
	if _, last, err := st.Checkpoint(context.Background(), "support"); err != nil || int(last) != len(ds) {
		t.Errorf("checkpoint %d (%v), want %d", last, err, len(ds))
	}
	err := st.View(context.Background(), func(tx *store.ReadTx) error {
		ts, err := tx.Tickets(store.TicketFilter{})
		if err != nil {
			return err
		}
		if want := 2 + 40; len(ts) != want {
			t.Errorf("%d tickets, want %d", len(ts), want)
		}
		carol, err := tx.Tickets(store.TicketFilter{Customer: "carol@shop.example"})
		if err != nil || len(carol) != 1 {
			t.Fatalf("carol's tickets: %d (%v)", len(carol), err)
		}
		ms, err := tx.Messages(carol[0].ID)
		if err != nil {
			return err
		}
		inbound := 0
		for _, m := range ms {
			if m.Direction == "in" {
				inbound++
			}
		}
		if inbound != 2 {
			t.Errorf("carol's ticket has %d inbound messages, want 2 (the reply threads)", inbound)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeliverUnreadableAndOversize: a mail the server could not return is
// rejected with its reason, unparsed, and counts as committed (the
// checkpoint passes it); a mail too large to read, given as its header,
// opens a ticket.
func TestDeliverUnreadableAndOversize(t *testing.T) {
	h, st := newDeliverer(t, intake.Hooks{})
	hdr := []byte(strings.ReplaceAll("From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Big logs\nMessage-ID: <big@x>\n\n", "\n", "\r\n"))
	errs := h.Deliver(context.Background(), []mailbox.Delivery{
		{Mailbox: "support", UIDValidity: 3, UID: 1, Unreadable: "server could not return it: NO [UNAVAILABLE]"},
		{Mailbox: "support", UIDValidity: 3, UID: 2, Raw: hdr, Oversize: &helpdesk.Oversize{Size: 60 << 20, Limit: 50 << 20, Folder: "Quarantine"}},
	})
	if !errors.Is(errs[0], helpdesk.ErrUnreadable) || !strings.Contains(errs[0].Error(), "server could not return it") {
		t.Errorf("the unreadable mail: err %v, want ErrUnreadable with the server's reason", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("the oversize mail: err %v", errs[1])
	}
	if _, last, err := st.Checkpoint(context.Background(), "support"); err != nil || last != 2 {
		t.Errorf("checkpoint %d (%v), want 2", last, err)
	}
	if err := st.View(context.Background(), func(tx *store.ReadTx) error {
		ts, err := tx.Tickets(store.TicketFilter{Customer: "carol@shop.example"})
		if err != nil || len(ts) != 1 {
			t.Fatalf("carol's tickets: %d (%v)", len(ts), err)
		}
		evs, err := tx.Events(ts[0].ID)
		for _, e := range evs {
			if e.Kind == helpdesk.EventOversize {
				return err
			}
		}
		t.Errorf("carol's ticket has no oversize event: %+v", evs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
