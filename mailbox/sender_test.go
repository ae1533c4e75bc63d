package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/store"
)

// These tests drive the outbox through a fake Sender: an in-memory
// recorder of our own interface, not a model of SMTP (the wire keeps its
// go-smtp tests in outbox_test.go). The store is the real one, SQLite in a
// temporary directory, and the outbox runs one round at a time (what Run
// does on each wake-up) on the injected clock: every step is synchronous,
// and no test waits for a timer.

// fakeWire records every Dial and Send and lets the test script their
// outcomes. Its cleanup checks what must hold in every test: no mail
// offered again once accepted, no Send on a closed Sender, every Sender
// closed exactly once.
type fakeWire struct {
	t *testing.T

	mu       sync.Mutex
	dialErr  error // every Dial fails with it while set
	dials    int
	outcome  func(s *fakeSender, m helpdesk.OutMail, n int) error
	senders  []*fakeSender
	offered  map[int64]int // row → Send calls
	accepted map[int64]int // row → accepted sends
}

// fakeSender is one session of the fake wire.
type fakeSender struct {
	w        *fakeWire
	n        int     // 1 for the first Sender dialled
	closed   int     // Close calls
	gone     bool    // the next Send reports Stale, as after a session died
	accepted []int64 // rows accepted over this session, in order
}

var errFakeGone = errors.New("fake: the session is gone")

func newFakeWire(t *testing.T) *fakeWire {
	w := &fakeWire{t: t, offered: map[int64]int{}, accepted: map[int64]int{}}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, s := range w.senders {
			if s.closed != 1 {
				t.Errorf("sender %d closed %d times, want 1", s.n, s.closed)
			}
		}
	})
	return w
}

// dial is the outbox's Dial.
func (w *fakeWire) dial(context.Context) (Sender, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dials++
	if w.dialErr != nil {
		return nil, w.dialErr
	}
	s := &fakeSender{w: w, n: len(w.senders) + 1}
	w.senders = append(w.senders, s)
	return s, nil
}

// script sets the outcome of each Send: f gets the Sender, the mail and
// how often the mail has been offered (1 the first time); nil accepts.
// f runs outside the wire's lock, on the lane's goroutine.
func (w *fakeWire) script(f func(s *fakeSender, m helpdesk.OutMail, n int) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outcome = f
}

func (w *fakeWire) setDialErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dialErr = err
}

// Send implements Sender.
func (s *fakeSender) Send(_ context.Context, m helpdesk.OutMail) error {
	w := s.w
	w.mu.Lock()
	if s.closed > 0 {
		w.t.Errorf("row %d offered to sender %d after its Close", m.ID, s.n)
	}
	if w.accepted[m.ID] > 0 {
		w.t.Errorf("row %d offered again after it was accepted", m.ID)
	}
	w.offered[m.ID]++
	n, outcome, gone := w.offered[m.ID], w.outcome, s.gone
	w.mu.Unlock()
	if gone {
		return &SendError{Err: errFakeGone, Stale: true}
	}
	var err error
	if outcome != nil {
		err = outcome(s, m, n)
	}
	if err == nil {
		w.mu.Lock()
		s.accepted = append(s.accepted, m.ID)
		w.accepted[m.ID]++
		w.mu.Unlock()
	}
	return err
}

// Close implements Sender.
func (s *fakeSender) Close() error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.closed++
	return nil
}

// goGone makes the session die after the mail being sent: the next Send
// reports Stale, as the SMTP Sender does after a failure that followed
// the server's acceptance.
func (s *fakeSender) goGone() {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.gone = true
}

// Accessors for the test goroutine.

func (w *fakeWire) dialCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dials
}

func (w *fakeWire) sessions() [][]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]int64
	for _, s := range w.senders {
		out = append(out, slices.Clone(s.accepted))
	}
	return out
}

func (w *fakeWire) offers(id int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.offered[id]
}

func (w *fakeWire) acceptedCount(id int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.accepted[id]
}

// countingStore is the real store counting the MarkSent that succeeded
// and the MarkSending calls per row. While full is set, the writes of a
// send (MarkSending, MarkSent) fail as SQLite's do on a full disk, without
// reaching the database; while fullSent is set, only MarkSent does (a
// small write may still fit where SQLite has room left in its WAL).
type countingStore struct {
	*store.Store
	full     atomic.Bool
	fullSent atomic.Bool
	mu       sync.Mutex
	sent     map[int64]int
	sending  map[int64]int
}

// errDiskFull is what the store returns when the disk is full.
var errDiskFull = errors.New("disk full: commit: database or disk is full (13)")

func (c *countingStore) MarkSending(ctx context.Context, id int64, at time.Time) error {
	if c.full.Load() {
		return errDiskFull
	}
	c.mu.Lock()
	c.sending[id]++
	c.mu.Unlock()
	return c.Store.MarkSending(ctx, id, at)
}

func (c *countingStore) MarkSent(ctx context.Context, id int64, at time.Time, next int64) error {
	if c.full.Load() || c.fullSent.Load() {
		return errDiskFull
	}
	if err := c.Store.MarkSent(ctx, id, at, next); err != nil {
		return err
	}
	c.mu.Lock()
	c.sent[id]++
	c.mu.Unlock()
	return nil
}

// attempt is one call of the Failed hook.
type attempt struct {
	id        int64
	permanent bool
}

// senderTest is an outbox on the real store and the test clock, sending
// through a fake wire.
type senderTest struct {
	t      *testing.T
	clock  *testClock
	st     *countingStore
	w      *fakeWire
	o      *Outbox
	seq    int
	mu     sync.Mutex
	failed []attempt  // Failed hook calls, in order
	log    syncBuffer // the outbox's log, from level info
}

func newSenderTest(t *testing.T, cfg SMTPConfig) *senderTest {
	t.Helper()
	clock := newTestClock()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "helpdesk.db"), store.Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if cfg.Host == "" {
		cfg.Host = "smtp.invalid" // never dialled: Dial is the fake's
	}
	e := &senderTest{t: t, clock: clock, st: &countingStore{Store: st, sent: map[int64]int{}, sending: map[int64]int{}}, w: newFakeWire(t)}
	e.o = NewOutbox(cfg, e.st, clock.now, slog.New(slog.NewTextHandler(&e.log, &slog.HandlerOptions{Level: slog.LevelInfo})))
	e.o.Dial = e.w.dial
	e.o.Hooks.Failed = func(m helpdesk.OutMail, _ error, permanent bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.failed = append(e.failed, attempt{m.ID, permanent})
	}
	return e
}

// round runs one round of the worker and returns how long Run would sleep
// (-1: nothing pending).
func (e *senderTest) round() time.Duration {
	e.t.Helper()
	return e.o.round(context.Background())
}

func (e *senderTest) update(fn func(tx *store.Tx) error) {
	e.t.Helper()
	if err := e.st.Update(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// ticket creates a ticket and returns its id.
func (e *senderTest) ticket() int64 {
	e.t.Helper()
	tk := &helpdesk.Ticket{Subject: "Checkout down", Customer: "c@example.org", Priority: helpdesk.Critical}
	e.update(func(tx *store.Tx) error { return tx.CreateTicket(tk) })
	return tk.ID
}

// enqueue queues a mail of the ticket, due now, as the desk does.
func (e *senderTest) enqueue(ticket int64) int64 {
	e.t.Helper()
	e.seq++
	m := simpleOutMail(e.seq, "c@example.org")
	m.TicketID = ticket
	e.update(func(tx *store.Tx) error { return tx.Enqueue(&m) })
	return m.ID
}

func (e *senderTest) row(id int64) helpdesk.OutMail {
	e.t.Helper()
	var m helpdesk.OutMail
	if err := e.st.View(context.Background(), func(tx *store.ReadTx) (err error) {
		m, err = tx.OutMail(id)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *senderTest) failures() []attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.failed)
}

func (e *senderTest) markedSent(id int64) int {
	e.st.mu.Lock()
	defer e.st.mu.Unlock()
	return e.st.sent[id]
}

func rowStatus(m helpdesk.OutMail) string {
	switch {
	case !m.SentAt.IsZero():
		return "sent"
	case !m.FailedAt.IsZero():
		return "failed"
	}
	return "pending"
}

// wantSent checks that the row is sent, at the first attempt when
// attempts is 0, accepted and recorded exactly once.
func (e *senderTest) wantSent(id int64, attempts int) {
	e.t.Helper()
	r := e.row(id)
	if rowStatus(r) != "sent" || r.Attempts != attempts || r.LastError != "" {
		e.t.Errorf("row %d: %s, %d attempts, last error %q; want sent after %d failed attempts",
			id, rowStatus(r), r.Attempts, r.LastError, attempts)
	}
	if a, s := e.w.acceptedCount(id), e.markedSent(id); a != 1 || s != 1 {
		e.t.Errorf("row %d accepted %d times, marked sent %d times; want once", id, a, s)
	}
}

// wantRetry checks that the row is pending after attempts temporary
// failures, due again after the backoff of its last one: Retry.Min·2ⁿ
// less at most 20% jitter, capped at Retry.Max.
func (e *senderTest) wantRetry(id int64, attempts int, errPart string) helpdesk.OutMail {
	e.t.Helper()
	r := e.row(id)
	if rowStatus(r) != "pending" || r.Attempts != attempts || !strings.Contains(r.LastError, errPart) {
		e.t.Errorf("row %d: %s, %d attempts, last error %q; want pending after %d attempts with %q",
			id, rowStatus(r), r.Attempts, r.LastError, attempts, errPart)
	}
	full := min(e.o.cfg.Retry.Min<<(attempts-1), e.o.cfg.Retry.Max)
	// The store keeps milliseconds: the stored time may be up to 1ms early.
	if d := r.NextAttemptAt.Sub(e.clock.now()); d < full*8/10-time.Millisecond || d > full {
		e.t.Errorf("row %d: next attempt in %v, want %v less at most 20%% jitter", id, d, full)
	}
	return r
}

// TestSenderTicketOrder: the mails of one ticket go out over one session,
// in the order they were enqueued, across the batches of a round;
// different tickets spread over every lane; one session per lane per
// round, closed when the round ends; each mail sent once.
func TestSenderTicketOrder(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 3, Batch: 4})
	var tickets []int64
	for range 5 {
		tickets = append(tickets, e.ticket())
	}
	byTicket := map[int64][]int64{}
	for range 4 { // interleaved: each batch of 4 holds mails of several tickets
		for _, tk := range tickets {
			byTicket[tk] = append(byTicket[tk], e.enqueue(tk))
		}
	}
	if wait := e.round(); wait != -1 {
		t.Errorf("round returned %v with everything sent, want -1", wait)
	}
	if got, want := e.w.dialCount(), 3; got != want {
		t.Errorf("%d sessions dialled for 5 batches over 3 lanes, want %d", got, want)
	}
	sessions := e.w.sessions()
	used := 0
	for _, s := range sessions {
		if len(s) > 0 {
			used++
		}
	}
	if used != 3 {
		t.Errorf("mails spread over %d sessions, want all 3: %v", used, sessions)
	}
	for tk, ids := range byTicket {
		var on []int
		for i, s := range sessions {
			var got []int64
			for _, id := range s {
				if slices.Contains(ids, id) {
					got = append(got, id)
				}
			}
			if len(got) > 0 {
				on = append(on, i+1)
				if !slices.Equal(got, ids) {
					t.Errorf("ticket %d: sender %d sent %v, want %v in this order", tk, i+1, got, ids)
				}
			}
		}
		if len(on) != 1 {
			t.Errorf("ticket %d went over senders %v, want exactly one", tk, on)
		}
		for _, id := range ids {
			e.wantSent(id, 0)
			if r := e.row(id); !r.SentAt.Equal(e.clock.now()) {
				t.Errorf("row %d: SentAt %v, want the clock's %v", id, r.SentAt, e.clock.now())
			}
		}
	}
	if f := e.failures(); len(f) != 0 {
		t.Errorf("Failed hook called: %v", f)
	}
}

// TestSenderLanesAtOnce: the lanes send at the same time: each of the
// three sessions waits in its first Send until all three are in one.
func TestSenderLanesAtOnce(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 3})
	var ids []int64
	for range 3 {
		tk := e.ticket()
		ids = append(ids, e.enqueue(tk), e.enqueue(tk))
	}
	all := make(chan struct{})
	var mu sync.Mutex
	in := map[int]bool{}
	e.w.script(func(s *fakeSender, _ helpdesk.OutMail, _ int) error {
		mu.Lock()
		if !in[s.n] {
			in[s.n] = true
			if len(in) == 3 {
				close(all)
			}
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second): // only when the lanes are not concurrent
			t.Errorf("sender %d: the three sessions never sent at once", s.n)
		}
		return nil
	})
	e.round()
	for i, s := range e.w.sessions() {
		if len(s) != 2 {
			t.Errorf("sender %d sent %v, want the 2 mails of one ticket", i+1, s)
		}
	}
	for _, id := range ids {
		e.wantSent(id, 0)
	}
}

// TestSenderTemporaryBackoff: a temporary refusal (a 4xx) reschedules the
// mail with backoff, 30s then 1m by default, and leaves the session in
// use; the mail is not offered before it is due, and is sent once it is.
func TestSenderTemporaryBackoff(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 1})
	a := e.enqueue(e.ticket())
	b := e.enqueue(e.ticket())
	e.w.script(func(_ *fakeSender, m helpdesk.OutMail, n int) error {
		if m.ID == a && n <= 2 {
			return &SendError{Err: errors.New("451 4.3.0 try later")}
		}
		return nil
	})

	wait := e.round()
	r := e.wantRetry(a, 1, "451 4.3.0 try later")
	e.wantSent(b, 0)
	if got, want := e.w.sessions(), [][]int64{{b}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sessions %v, want %v: a 4xx for one mail keeps the session", got, want)
	}
	if want := r.NextAttemptAt.Sub(e.clock.now()); wait != want {
		t.Errorf("round returned %v, want the %v until the retry", wait, want)
	}

	// Not due yet: a round (a Kick) does not offer it.
	e.clock.advance(r.NextAttemptAt.Sub(e.clock.now()) - time.Millisecond)
	e.round()
	if got := e.w.offers(a); got != 1 {
		t.Errorf("row offered %d times before its next attempt, want 1", got)
	}

	e.clock.advance(time.Millisecond)
	e.round()
	r = e.wantRetry(a, 2, "451") // the delay doubles

	e.clock.advance(r.NextAttemptAt.Sub(e.clock.now()))
	if wait := e.round(); wait != -1 {
		t.Errorf("round returned %v with everything sent, want -1", wait)
	}
	e.wantSent(a, 2)
	if got := e.w.offers(a); got != 3 {
		t.Errorf("row offered %d times, want 3", got)
	}
	if got, want := e.failures(), []attempt{{a, false}, {a, false}}; !slices.Equal(got, want) {
		t.Errorf("Failed hook %v, want %v", got, want)
	}
	if got, want := e.w.dialCount(), 3; got != want {
		t.Errorf("%d sessions, want %d (one per round with mail due)", got, want)
	}
}

// TestSenderPermanent: a permanent refusal marks the mail failed at once
// with an event on its ticket, never retries it, and leaves the session
// to the mails after it.
func TestSenderPermanent(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 1})
	tk := e.ticket()
	r1, r2, r3 := e.enqueue(tk), e.enqueue(tk), e.enqueue(tk)
	const reason = "550 5.1.1 no such user"
	e.w.script(func(_ *fakeSender, m helpdesk.OutMail, _ int) error {
		if m.ID == r2 {
			return &SendError{Err: errors.New(reason), Permanent: true}
		}
		return nil
	})
	if wait := e.round(); wait != -1 {
		t.Errorf("round returned %v, want -1: nothing left to retry", wait)
	}
	e.wantSent(r1, 0)
	e.wantSent(r3, 0)
	r := e.row(r2)
	if rowStatus(r) != "failed" || r.Attempts != 1 || r.LastError != reason || !r.FailedAt.Equal(e.clock.now()) {
		t.Errorf("refused row: %s, %d attempts, %q, failed at %v; want failed now after 1 attempt with the reply",
			rowStatus(r), r.Attempts, r.LastError, r.FailedAt)
	}
	if got, want := e.w.sessions(), [][]int64{{r1, r3}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sessions %v, want %v", got, want)
	}
	var events []helpdesk.Event
	if err := e.st.View(context.Background(), func(tx *store.ReadTx) (err error) {
		events, err = tx.Events(tk)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != helpdesk.EventDeliveryFailed || events[0].MessageID != r.MessageID ||
		!strings.Contains(events[0].Detail, reason) {
		t.Errorf("ticket events %+v, want one delivery failure of %s with the reply", events, r.MessageID)
	}
	if got, want := e.failures(), []attempt{{r2, true}}; !slices.Equal(got, want) {
		t.Errorf("Failed hook %v, want %v", got, want)
	}

	e.clock.advance(100 * time.Hour)
	e.round()
	if got := e.w.offers(r2); got != 1 {
		t.Errorf("refused row offered %d times, want 1", got)
	}
}

// TestSenderDialFailure: when no session can be opened, each lane tries
// once per round and reschedules its rows with backoff, as an outage; once
// Dial works again every row goes out, once, each ticket over one session.
// The order within a ticket is not checked here: every row draws its own
// jitter, and the store returns due rows by due time, so after a retry the
// mails of one ticket can go out in another order than enqueued.
func TestSenderDialFailure(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 2})
	t1, t2 := e.ticket(), e.ticket()
	ids := []int64{e.enqueue(t1), e.enqueue(t2), e.enqueue(t1), e.enqueue(t2)}
	e.w.setDialErr(errors.New("dial tcp 192.0.2.1:587: connect: connection refused"))

	e.round()
	if got, want := e.w.dialCount(), 2; got != want {
		t.Errorf("%d dials, want %d: one per lane, not one per row", got, want)
	}
	for _, id := range ids {
		e.wantRetry(id, 1, "connection refused")
	}
	e.clock.advance(30 * time.Second) // the longest first delay: all due
	e.round()
	for _, id := range ids {
		e.wantRetry(id, 2, "connection refused")
	}
	if got := len(e.failures()); got != 8 {
		t.Errorf("Failed hook called %d times, want 8", got)
	}
	for _, f := range e.failures() {
		if f.permanent {
			t.Errorf("dial failure of row %d reported permanent", f.id)
		}
	}

	e.w.setDialErr(nil)
	e.clock.advance(time.Minute)
	if wait := e.round(); wait != -1 {
		t.Errorf("round returned %v with everything sent, want -1", wait)
	}
	if got, want := e.w.dialCount(), 6; got != want {
		t.Errorf("%d dials, want %d", got, want)
	}
	for _, id := range ids {
		e.wantSent(id, 2)
	}
	got := e.w.sessions()
	for _, s := range got {
		slices.Sort(s)
	}
	slices.SortFunc(got, slices.Compare)
	if want := [][]int64{{ids[0], ids[2]}, {ids[1], ids[3]}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sessions %v, want the mails of each ticket over one: %v", got, want)
	}
}

// TestSenderDialCancelled: a Dial cut short by shutdown records nothing:
// the rows stay due, without an attempt, for the next start.
func TestSenderDialCancelled(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 1})
	tk := e.ticket()
	ids := []int64{e.enqueue(tk), e.enqueue(tk)}
	ctx, cancel := context.WithCancel(context.Background())
	e.o.Dial = func(ctx context.Context) (Sender, error) {
		cancel()
		return nil, ctx.Err()
	}
	e.o.round(ctx)
	for _, id := range ids {
		if r := e.row(id); rowStatus(r) != "pending" || r.Attempts != 0 || r.LastError != "" {
			t.Errorf("row %d: %s, %d attempts, %q; want untouched", id, rowStatus(r), r.Attempts, r.LastError)
		}
	}
	if f := e.failures(); len(f) != 0 {
		t.Errorf("Failed hook called: %v", f)
	}
}

// TestSenderStaleReplaced: a session that died after its last mail says
// Stale at the next Send; the outbox closes it, dials a new one and sends
// the same mail at once, without counting an attempt. A mail that finds
// the new session stale too counts as a temporary failure, and the next
// mail goes over a fresh session.
func TestSenderStaleReplaced(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 1})
	tk := e.ticket()
	r1, r2, r3 := e.enqueue(tk), e.enqueue(tk), e.enqueue(tk)
	r4 := e.enqueue(e.ticket())
	e.w.script(func(s *fakeSender, m helpdesk.OutMail, n int) error {
		switch {
		case m.ID == r1:
			s.goGone() // accepted; the session dies right after
		case m.ID == r3 && n <= 2:
			return &SendError{Err: errors.New("smtp: MAIL FROM: EOF"), Stale: true}
		}
		return nil
	})
	e.round()
	e.wantSent(r1, 0)
	e.wantSent(r2, 0)
	r := e.wantRetry(r3, 1, "EOF")
	e.wantSent(r4, 0)
	if got, want := e.w.sessions(), [][]int64{{r1}, {r2}, {}, {r4}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sessions %v, want %v", got, want)
	}
	if got, want := e.w.offers(r2), 2; got != want { // once to the dead session
		t.Errorf("row %d offered %d times, want %d", r2, got, want)
	}
	if got, want := e.failures(), []attempt{{r3, false}}; !slices.Equal(got, want) {
		t.Errorf("Failed hook %v, want %v", got, want)
	}

	e.clock.advance(r.NextAttemptAt.Sub(e.clock.now()))
	e.round()
	e.wantSent(r3, 1)
}

// TestSenderBrokenSession: a temporary failure that broke the session (a
// Broken SendError, or any error that is not a SendError, like a network
// error) reschedules the mail and closes the session; the next mail goes
// over a new one.
func TestSenderBrokenSession(t *testing.T) {
	for _, fail := range []error{
		&SendError{Err: errors.New("smtp: DATA: connection reset"), Broken: true},
		fmt.Errorf("write tcp: %w", errors.New("broken pipe")),
	} {
		t.Run(fail.Error(), func(t *testing.T) {
			e := newSenderTest(t, SMTPConfig{Connections: 1})
			a, b := e.enqueue(e.ticket()), e.enqueue(e.ticket())
			e.w.script(func(_ *fakeSender, m helpdesk.OutMail, n int) error {
				if m.ID == a && n == 1 {
					return fail
				}
				return nil
			})
			e.round()
			r := e.wantRetry(a, 1, fail.Error())
			e.wantSent(b, 0)
			if got, want := e.w.sessions(), [][]int64{{}, {b}}; !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("sessions %v, want %v", got, want)
			}
			e.clock.advance(r.NextAttemptAt.Sub(e.clock.now()))
			e.round()
			e.wantSent(a, 1)
		})
	}
}

// TestSenderNoDoubleSend mixes every outcome over three lanes and many
// rounds until the outbox is empty: each mail is accepted once and
// recorded sent once, whatever failed before or after it.
func TestSenderNoDoubleSend(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 3, Batch: 7})
	var ids []int64
	var tickets []int64
	for range 8 {
		tickets = append(tickets, e.ticket())
	}
	for range 5 {
		for _, tk := range tickets {
			ids = append(ids, e.enqueue(tk))
		}
	}
	e.w.script(func(s *fakeSender, m helpdesk.OutMail, n int) error {
		switch {
		case m.ID%5 == 0 && n == 1:
			return &SendError{Err: errors.New("451 try later")}
		case m.ID%7 == 0 && n == 1:
			s.goGone() // accepted, then the session died
		case m.ID%11 == 0 && n == 1:
			return errors.New("read tcp: connection reset by peer")
		case m.ID%13 == 0 && n <= 2:
			return &SendError{Err: errors.New("stale"), Stale: true}
		case m.ID%17 == 0: // whenever offered: the first offer may be the stale one
			return &SendError{Err: errors.New("550 no such user"), Permanent: true}
		}
		return nil
	})
	rounds := 0
	for wait := e.round(); wait != -1; wait = e.round() {
		if rounds++; rounds > 20 {
			t.Fatalf("outbox not empty after %d rounds", rounds)
		}
		e.clock.advance(max(wait, time.Second))
	}
	for _, id := range ids {
		r := e.row(id)
		if id%17 == 0 {
			if rowStatus(r) != "failed" || e.w.acceptedCount(id) != 0 || e.markedSent(id) != 0 {
				t.Errorf("row %d: %s, accepted %d times; want failed, never sent", id, rowStatus(r), e.w.acceptedCount(id))
			}
			continue
		}
		if rowStatus(r) != "sent" || e.w.acceptedCount(id) != 1 || e.markedSent(id) != 1 {
			t.Errorf("row %d: %s, accepted %d times, marked sent %d times; want sent once",
				id, rowStatus(r), e.w.acceptedCount(id), e.markedSent(id))
		}
	}
	t.Logf("%d rounds, %d sessions", rounds+1, e.w.dialCount())
}

// TestSenderRun: Run sends through Dial: a Kick wakes it, the mails go
// out, and the sessions are closed when the round ends.
func TestSenderRun(t *testing.T) {
	e := newSenderTest(t, SMTPConfig{Connections: 2})
	sent := make(chan int64, 10)
	e.o.Hooks.Sent = func(m helpdesk.OutMail, _ time.Time) { sent <- m.ID }
	runOutbox(t, e.o)
	t1, t2 := e.ticket(), e.ticket()
	ids := []int64{e.enqueue(t1), e.enqueue(t2), e.enqueue(t1)}
	e.o.Kick()
	var got []int64
	for range ids {
		select {
		case id := <-sent:
			got = append(got, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("sent %v, want %v", got, ids)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Errorf("sent %v, want %v", got, ids)
	}
	for _, id := range ids {
		e.wantSent(id, 0)
	}
}
