package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "helpdesk.db")
	}
	s, err := Open(context.Background(), path, Options{BusyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newTicket(customer string) *helpdesk.Ticket {
	return &helpdesk.Ticket{Subject: "Checkout down", Customer: customer, Priority: helpdesk.Critical,
		Status: helpdesk.StatusOpen, Reasons: []string{"critical: \"down\""}, Missing: []string{"repro_steps"}}
}

func TestMigrateEmptyAndExisting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path)
	var v int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if got, want := v, SchemaVersion(); got != want {
		t.Fatalf("user_version = %d, want %d", got, want)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	// Opening again runs no migration and keeps the version.
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if err := s2.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("after reopen user_version = %d, %v", v, err)
	}
}

func TestMigrateUpgradesFrozenSchema(t *testing.T) {
	// A database left at version 0 with an unrelated table (as an older or
	// foreign tool might leave it) is upgraded in place, keeping its data.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("open old: %v", err)
	}
	defer s.Close()
	var body string
	if err := s.db.QueryRow(`SELECT body FROM notes`).Scan(&body); err != nil || body != "kept" {
		t.Fatalf("old data: %q, %v", body, err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateTicket(newTicket("a@example.com")) }); err != nil {
		t.Fatalf("create after upgrade: %v", err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), path, Options{}); err == nil {
		t.Fatal("open of a newer schema succeeded")
	}
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	s := openTest(t, path)
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	_, err = Open(context.Background(), path, Options{BusyTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("open of a locked database: err = %v, want ErrLocked", err)
	}
}

func TestConcurrentReferenceAllocation(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	refs := make(chan string, writers*each)
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := s.Update(ctx, func(tx *Tx) error {
					t := newTicket("c@example.com")
					if err := tx.CreateTicket(t); err != nil {
						return err
					}
					refs <- t.Ref
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(refs)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent create: %v", err)
	}
	seen := map[string]bool{}
	for r := range refs {
		if seen[r] {
			t.Fatalf("reference %s allocated twice", r)
		}
		seen[r] = true
	}
	if got, want := len(seen), writers*each; got != want {
		t.Fatalf("%d references, want %d", got, want)
	}
	for n := 1000; n < 1000+writers*each; n++ {
		if !seen["HD-"+strconv.Itoa(n)] {
			t.Fatalf("reference HD-%d missing: numbering has a gap", n)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keep.db")
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	s, err := Open(ctx, path, Options{RefPrefix: "SUP", RefStart: 42, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	err = s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("Carol@Example.com")
		tk.ResponseDue = now.Add(2 * time.Hour)
		tk.Pauses = []helpdesk.Pause{{From: now.Add(time.Minute)}}
		tk.Fields = helpdesk.Fields{ErrorText: "HTTP 502", StartInstant: now.Add(-time.Hour), StartTime: "an hour ago"}
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		ref = tk.Ref
		m := &helpdesk.Message{MessageID: "m1@example.com", Direction: helpdesk.Inbound, Kind: helpdesk.KindCustomer,
			From: helpdesk.Address{Name: "Carol", Email: "carol@example.com"}, Subject: "Checkout down",
			Text: "full", NewText: "new", Raw: []byte("raw bytes"),
			Attachments: []helpdesk.Attachment{{Filename: "log.txt", ContentType: "text/plain", Size: 3, Data: []byte("abc")}}}
		if _, err := tx.AddMessage(tk.ID, "support", m); err != nil {
			return err
		}
		if _, err := tx.AddParticipant(tk.ID, m.From, RoleCustomer); err != nil {
			return err
		}
		if err := tx.AddEvent(helpdesk.Event{TicketID: tk.ID, Kind: "created", Actor: "carol@example.com", Detail: "x"}); err != nil {
			return err
		}
		if err := tx.SetCheckpoint("support", 7, 12); err != nil {
			return err
		}
		return tx.Enqueue(&helpdesk.OutMail{TicketID: tk.ID, Kind: helpdesk.KindAck, MessageID: "ack1@example.com",
			From: helpdesk.Address{Email: "support@example.com"}, To: []helpdesk.Address{m.From}, Subject: "Re: x", Auto: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openTest(t, path)
	s.Now = func() time.Time { return now }
	if uv, uid, err := s.Checkpoint(ctx, "support"); err != nil || uv != 7 || uid != 12 {
		t.Fatalf("checkpoint = %d %d %v", uv, uid, err)
	}
	err = s.View(ctx, func(tx *ReadTx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		if got, want := tk.Ref, "SUP-42"; got != want {
			t.Errorf("ref = %q, want %q", got, want)
		}
		if got, want := tk.Customer, "carol@example.com"; got != want {
			t.Errorf("customer = %q, want %q", got, want)
		}
		if !tk.ResponseDue.Equal(now.Add(2*time.Hour)) || !tk.Paused() || tk.Fields.ErrorText != "HTTP 502" || !tk.Fields.StartInstant.Equal(now.Add(-time.Hour)) {
			t.Errorf("ticket not kept: %+v", tk)
		}
		byMsg, err := tx.TicketByMessageID("nope", "m1@example.com")
		if err != nil || byMsg.ID != tk.ID {
			t.Errorf("TicketByMessageID = %v, %v", byMsg, err)
		}
		ms, err := tx.Messages(tk.ID)
		if err != nil || len(ms) != 1 || ms[0].NewText != "new" || len(ms[0].Attachments) != 1 {
			t.Errorf("messages = %+v, %v", ms, err)
		}
		if raw, err := tx.Raw("m1@example.com"); err != nil || string(raw) != "raw bytes" {
			t.Errorf("raw = %q, %v", raw, err)
		}
		evs, err := tx.Events(tk.ID)
		if err != nil || len(evs) != 1 || evs[0].Kind != "created" {
			t.Errorf("events = %+v, %v", evs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	due, err := s.DueOutbox(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].MessageID != "ack1@example.com" || !due[0].Auto {
		t.Fatalf("due outbox = %+v, %v", due, err)
	}
}

func TestOutboxLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	var tid int64
	err := s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("a@example.com")
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		tid = tk.ID
		for _, id := range []string{"o1@x", "o2@x"} {
			if err := tx.Enqueue(&helpdesk.OutMail{TicketID: tk.ID, Kind: helpdesk.KindAck, MessageID: id,
				From: helpdesk.Address{Email: "s@x"}, To: []helpdesk.Address{{Email: "a@example.com"}},
				Attachments: []helpdesk.Attachment{{Filename: "f.txt", Data: []byte("hi")}}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	due, err := s.DueOutbox(ctx, now, 10)
	if err != nil || len(due) != 2 || len(due[0].Attachments) != 1 {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if err := s.MarkSent(ctx, due[0].ID, now, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRetry(ctx, due[1].ID, 1, now.Add(time.Minute), "421 try later"); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(ctx, now, 10); len(due) != 0 {
		t.Fatalf("rows due after sent+retry: %d", len(due))
	}
	next, ok, err := s.NextOutboxAttempt(ctx)
	if err != nil || !ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("next attempt = %v %v %v", next, ok, err)
	}
	if err := s.MarkFailed(ctx, due[1].ID, now.Add(time.Minute), "550 no such user"); err != nil {
		t.Fatal(err)
	}
	pending, failed, err := s.OutboxCounts(ctx)
	if err != nil || pending != 0 || failed != 1 {
		t.Fatalf("counts = %d %d %v", pending, failed, err)
	}
	err = s.View(ctx, func(tx *ReadTx) error {
		evs, err := tx.Events(tid)
		if err != nil {
			return err
		}
		if len(evs) != 1 || evs[0].Kind != "delivery-failed" {
			t.Errorf("events = %+v", evs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDueTicketsAndSteps(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	err := s.Update(ctx, func(tx *Tx) error {
		for i, off := range []time.Duration{-time.Minute, time.Hour, 0} {
			tk := newTicket("a@example.com")
			tk.NextCheckAt = now.Add(off)
			if i == 2 {
				tk.NextCheckAt = time.Time{}
			}
			if err := tx.CreateTicket(tk); err != nil {
				return err
			}
		}
		ids, err := tx.DueTickets(now, 10)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			t.Errorf("due = %v, want one", ids)
		}
		first, err := tx.RecordStep(ids[0], "response", 0, "2 business hours")
		if err != nil || !first {
			t.Errorf("first RecordStep = %v %v", first, err)
		}
		again, err := tx.RecordStep(ids[0], "response", 0, "2 business hours")
		if err != nil || again {
			t.Errorf("second RecordStep = %v %v, want false", again, err)
		}
		if fired, _ := tx.StepFired(ids[0], "response", 0, "2 business hours"); !fired {
			t.Error("StepFired = false after RecordStep")
		}
		if ok, _ := tx.RecordBreach(ids[0], "response", now); !ok {
			t.Error("first breach not recorded")
		}
		if ok, _ := tx.RecordBreach(ids[0], "response", now); ok {
			t.Error("breach recorded twice")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAgentTokensAndAutoReplies(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	err := s.Update(ctx, func(tx *Tx) error {
		tok, err := tx.AgentToken("Alice@Example.com")
		if err != nil || len(tok) < 16 {
			t.Errorf("token = %q, %v", tok, err)
		}
		tok2, _ := tx.AgentToken("alice@example.com")
		if tok2 != tok {
			t.Errorf("token changed: %q then %q", tok, tok2)
		}
		for i := 0; i < 3; i++ {
			if err := tx.RecordAutoReply("c@example.com", now.Add(-time.Hour)); err != nil {
				return err
			}
		}
		n, err := tx.AutoRepliesSince("C@example.com", now.Add(-time.Hour))
		if err != nil || n != 3 {
			t.Errorf("auto replies = %d, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentOpenOfNewDatabase(t *testing.T) {
	// Two processes starting on the same new file (the daemon and a CLI
	// command): both must open it, one migrating, the other waiting.
	for i := 0; i < 10; i++ {
		path := filepath.Join(t.TempDir(), "race.db")
		errs := make(chan error, 2)
		for j := 0; j < 2; j++ {
			go func() {
				s, err := Open(context.Background(), path, Options{BusyTimeout: 10 * time.Second})
				if err == nil {
					s.Close()
				}
				errs <- err
			}()
		}
		for j := 0; j < 2; j++ {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: concurrent open: %v", i, err)
			}
		}
	}
}

// TestOutboxRecipients: each recipient keeps its own delivery state; a
// settled recipient is never offered again nor changed by a later
// result; the row stays due while any recipient is, and ends sent when
// any got the mail, failed when none did; each refusal is named once in
// a delivery-failed event, in the server's words.
func TestOutboxRecipients(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	var tid, id, id2 int64
	err := s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("a@example.com")
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		tid = tk.ID
		m := &helpdesk.OutMail{TicketID: tk.ID, Kind: helpdesk.KindRelay, MessageID: "r1@x", From: helpdesk.Address{Email: "s@x"},
			To: []helpdesk.Address{{Email: "a@example.com"}}, ToCustomer: true, Author: "alice@x",
			Cc: []helpdesk.Address{{Email: "b@example.com"}, {Email: "A@example.com"}, {Email: "c@example.com"}, {Email: "d@example.com"}}}
		if err := tx.Enqueue(m); err != nil {
			return err
		}
		id = m.ID
		m2 := &helpdesk.OutMail{TicketID: tk.ID, Kind: helpdesk.KindAck, MessageID: "r2@x", From: helpdesk.Address{Email: "s@x"},
			To: []helpdesk.Address{{Email: "a@example.com"}}, Cc: []helpdesk.Address{{Email: "b@example.com"}}}
		if err := tx.Enqueue(m2); err != nil {
			return err
		}
		id2 = m2.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	row := func(id int64) helpdesk.OutMail {
		t.Helper()
		var m helpdesk.OutMail
		if err := s.View(ctx, func(tx *ReadTx) (err error) { m, err = tx.OutMail(id); return err }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	states := func(m helpdesk.OutMail) string {
		var out []string
		for _, r := range m.Envelope() {
			out = append(out, r.Email+"="+string(r.State))
		}
		return strings.Join(out, " ")
	}
	failedEvents := func() []string {
		t.Helper()
		var out []string
		if err := s.View(ctx, func(tx *ReadTx) error {
			evs, err := tx.Events(tid)
			for _, e := range evs {
				if e.Kind == helpdesk.EventDeliveryFailed {
					out = append(out, e.Detail)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if m := row(id); !m.ToCustomer || m.Author != "alice@x" ||
		states(m) != "a@example.com=pending b@example.com=pending c@example.com=pending d@example.com=pending" {
		t.Fatalf("new row: to customer %v, author %q, recipients %s", m.ToCustomer, m.Author, states(m))
	}

	next := now.Add(time.Minute)
	if err := s.MarkRecipients(ctx, id, helpdesk.DeliveryAttempt{At: now, Attempts: 1, Next: next, LastError: "c@example.com: 450 busy",
		Results: []helpdesk.Recipient{
			{Email: "a@example.com", State: helpdesk.RecipientDelivered},
			{Email: "b@example.com", State: helpdesk.RecipientRefused, Reply: "550 5.1.1 no such user"},
			{Email: "c@example.com", State: helpdesk.RecipientDeferred, Reply: "450 busy"},
			{Email: "d@example.com", State: helpdesk.RecipientPending},
		}}); err != nil {
		t.Fatal(err)
	}
	m := row(id)
	if got, want := states(m), "a@example.com=delivered b@example.com=refused c@example.com=deferred d@example.com=pending"; got != want {
		t.Errorf("after the first attempt: %s, want %s", got, want)
	}
	if !m.SentAt.IsZero() || !m.FailedAt.IsZero() || m.Attempts != 1 || !m.NextAttemptAt.Equal(next) || m.LastError != "c@example.com: 450 busy" {
		t.Errorf("row after the first attempt = %+v, want pending, attempt 1, next %v", m, next)
	}
	if got := failedEvents(); len(got) != 1 || got[0] != "relay mail to b@example.com was refused: 550 5.1.1 no such user" {
		t.Errorf("events %q", got)
	}
	due, err := s.DueOutbox(ctx, next, 10)
	if err != nil || len(due) != 2 || due[0].ID != id2 && due[1].ID != id {
		t.Fatalf("due = %v, %v", due, err)
	}
	for _, d := range due {
		if d.ID == id && strings.Join(d.Due(), " ") != "c@example.com d@example.com" {
			t.Errorf("due recipients %v, want c and d", d.Due())
		}
	}

	// A later result never undoes a settled recipient.
	if err := s.MarkRecipients(ctx, id, helpdesk.DeliveryAttempt{At: next, Results: []helpdesk.Recipient{
		{Email: "a@example.com", State: helpdesk.RecipientRefused, Reply: "550 no"},
		{Email: "c@example.com", State: helpdesk.RecipientDelivered},
		{Email: "d@example.com", State: helpdesk.RecipientRefused, Reply: "gave up after 2 attempts in 1m0s: 451 later"},
	}}); err != nil {
		t.Fatal(err)
	}
	m = row(id)
	if got, want := states(m), "a@example.com=delivered b@example.com=refused c@example.com=delivered d@example.com=refused"; got != want {
		t.Errorf("after the second attempt: %s, want %s", got, want)
	}
	if !m.SentAt.Equal(next) || m.LastError != "" || m.Attempts != 2 {
		t.Errorf("row = sent %v, error %q, attempts %d; want sent at %v", m.SentAt, m.LastError, m.Attempts, next)
	}
	if got := failedEvents(); len(got) != 2 || !strings.Contains(got[1], "d@example.com was refused: gave up") || strings.Contains(got[1], "a@example.com") {
		t.Errorf("events %q", got)
	}

	// Refused by every recipient: failed, each in its own words.
	if err := s.MarkRecipients(ctx, id2, helpdesk.DeliveryAttempt{At: next, Results: []helpdesk.Recipient{
		{Email: "a@example.com", State: helpdesk.RecipientRefused, Reply: "550 no such user"},
		{Email: "b@example.com", State: helpdesk.RecipientRefused, Reply: "554 relay denied"},
	}}); err != nil {
		t.Fatal(err)
	}
	m2 := row(id2)
	if m2.FailedAt.IsZero() || m2.LastError != "550 no such user" || m2.Envelope()[1].Reply != "554 relay denied" {
		t.Errorf("row refused by all = %+v", m2)
	}
	if got := failedEvents(); len(got) != 3 || got[2] != "ack mail to a@example.com was refused: 550 no such user; ack mail to b@example.com was refused: 554 relay denied" {
		t.Errorf("events %q", got)
	}
}

// TestOutboxMarkSentAndFailedPerRecipient: MarkSent and MarkFailed settle
// the recipients still due and leave the others as they were.
func TestOutboxMarkSentAndFailedPerRecipient(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := openTest(t, "")
	s.Now = func() time.Time { return now }
	var ids []int64
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, mid := range []string{"s1@x", "s2@x"} {
			m := &helpdesk.OutMail{Kind: helpdesk.KindAck, MessageID: mid, From: helpdesk.Address{Email: "s@x"},
				To: []helpdesk.Address{{Email: "a@x"}}, Cc: []helpdesk.Address{{Email: "b@x"}}}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := s.MarkRecipients(ctx, id, helpdesk.DeliveryAttempt{At: now, Attempts: 1, Next: now,
			Results: []helpdesk.Recipient{{Email: "a@x", State: helpdesk.RecipientRefused, Reply: "550 gone"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkSent(ctx, ids[0], now, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, ids[1], now, "554 message refused"); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.View(ctx, func(tx *ReadTx) error {
		for _, id := range ids {
			m, err := tx.OutMail(id)
			if err != nil {
				return err
			}
			for _, r := range m.Envelope() {
				got = append(got, r.Email+"="+string(r.State)+":"+r.Reply)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a@x=refused:550 gone", "b@x=delivered:", "a@x=refused:550 gone", "b@x=refused:554 message refused"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("recipients %v, want %v", got, want)
	}
}

// TestOutboxRecipientsUpgrade: rows written before per-recipient state
// (schema 2) read as their row's outcome after the upgrade: a sent row's
// recipients delivered, a failed row's refused with its error, a pending
// row's all due.
func TestOutboxRecipientsUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 2`); err != nil {
		t.Fatal(err)
	}
	for i, status := range []string{"sent", "failed", "pending"} {
		if _, err := db.Exec(`INSERT INTO outbox (kind, message_id, from_addr, to_addrs, cc_addrs, status, last_error,
			next_attempt_at, created_at, sent_at, failed_at) VALUES ('ack', ?, '{"email":"s@x"}',
			'[{"email":"a@x"}]', '[{"email":"b@x"}]', ?, ?, '2026-11-20T09:00:00.000Z', '2026-11-20T09:00:00.000Z', ?, ?)`,
			fmt.Sprintf("m%d@x", i), status, map[string]string{"failed": "550 no such user"}[status],
			map[string]any{"sent": "2026-11-20T09:01:00.000Z"}[status], map[string]any{"failed": "2026-11-20T09:02:00.000Z"}[status]); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openTest(t, path)
	var got []string
	if err := s.View(ctx, func(tx *ReadTx) error {
		for id := int64(1); id <= 3; id++ {
			m, err := tx.OutMail(id)
			if err != nil {
				return err
			}
			for _, r := range m.Envelope() {
				got = append(got, r.Email+"="+string(r.State)+":"+r.Reply)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "a@x=delivered: b@x=delivered: a@x=refused:550 no such user b@x=refused:550 no such user a@x=pending: b@x=pending:"
	if strings.Join(got, " ") != want {
		t.Errorf("recipients after the upgrade %q, want %q", strings.Join(got, " "), want)
	}
}

// TestResetCheckpoint: SetCheckpoint never moves a checkpoint back under
// the same UIDVALIDITY; ResetCheckpoint does, to 0, but only from the
// position the caller saw.
func TestResetCheckpoint(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	set := func(uv, uid uint32) {
		t.Helper()
		if err := s.Update(ctx, func(tx *Tx) error { return tx.SetCheckpoint("support", uv, uid) }); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantUV, wantUID uint32) {
		t.Helper()
		if uv, uid, err := s.Checkpoint(ctx, "support"); err != nil || uv != wantUV || uid != wantUID {
			t.Fatalf("checkpoint = (%d, %d, %v), want (%d, %d)", uv, uid, err, wantUV, wantUID)
		}
	}
	set(7, 12)
	set(7, 3)
	check(7, 12)
	for _, tc := range []struct{ uv, last uint32 }{{7, 11}, {8, 12}} {
		if ok, err := s.ResetCheckpoint(ctx, "support", tc.uv, tc.last); err != nil || ok {
			t.Fatalf("ResetCheckpoint(%d, %d) = %v, %v on (7, 12); want false", tc.uv, tc.last, ok, err)
		}
	}
	check(7, 12)
	if ok, err := s.ResetCheckpoint(ctx, "support", 7, 12); err != nil || !ok {
		t.Fatalf("ResetCheckpoint(7, 12) = %v, %v; want true", ok, err)
	}
	check(7, 0)
	set(7, 2)
	check(7, 2)
	if ok, err := s.ResetCheckpoint(ctx, "other", 7, 12); err != nil || ok {
		t.Fatalf("ResetCheckpoint of a mailbox never read = %v, %v; want false", ok, err)
	}
}

// TestStaffThreads: the mails to staff about a ticket, by reader, oldest
// first, whatever became of them, and without the customer's side or
// other tickets.
func TestStaffThreads(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	var tid int64
	err := s.Update(ctx, func(tx *Tx) error {
		tk, other := newTicket("c@example.com"), newTicket("d@example.com")
		for _, x := range []*helpdesk.Ticket{tk, other} {
			if err := tx.CreateTicket(x); err != nil {
				return err
			}
		}
		tid = tk.ID
		for _, m := range []helpdesk.OutMail{
			{TicketID: tk.ID, Kind: helpdesk.KindAck, MessageID: "ack@x", To: []helpdesk.Address{{Email: "c@example.com"}}, ToCustomer: true},
			{TicketID: tk.ID, Kind: helpdesk.KindNotification, MessageID: "n1@x", To: []helpdesk.Address{{Name: "Alice", Email: "Alice@Example.com"}}},
			{TicketID: tk.ID, Kind: helpdesk.KindNotification, MessageID: "n2@x", To: []helpdesk.Address{{Email: "maria@example.com"}}},
			{TicketID: other.ID, Kind: helpdesk.KindNotification, MessageID: "other@x", To: []helpdesk.Address{{Email: "alice@example.com"}}},
			{TicketID: tk.ID, Kind: helpdesk.KindRelay, MessageID: "relay@x", To: []helpdesk.Address{{Email: "c@example.com"}},
				Cc: []helpdesk.Address{{Email: "alice@example.com"}}, ToCustomer: true},
			{TicketID: tk.ID, Kind: helpdesk.KindEscalation, MessageID: "e1@x", To: []helpdesk.Address{{Email: "alice@example.com"}}},
			{TicketID: tk.ID, Kind: helpdesk.KindEscalation, MessageID: "e2@x", To: []helpdesk.Address{{Email: "coo@example.com"}}},
		} {
			m.From = helpdesk.Address{Email: "support@example.com"}
			if err := tx.Enqueue(&m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	due, err := s.DueOutbox(ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range due {
		if m.MessageID == "n1@x" {
			if err := s.MarkFailed(ctx, m.ID, time.Now(), "550 no such user"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got map[string][]string
	if err := s.View(ctx, func(tx *ReadTx) error {
		got, err = tx.StaffThreads(tid)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"alice@example.com": {"n1@x", "e1@x"}, "maria@example.com": {"n2@x"}, "coo@example.com": {"e2@x"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("StaffThreads = %v, want %v", got, want)
	}
}
