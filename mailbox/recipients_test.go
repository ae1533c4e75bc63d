package mailbox

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// These tests send through the real SMTP Sender to testenv's go-smtp
// capture, with its per-recipient faults, and record in the real store;
// the outbox runs one round at a time on the injected clock, so each step
// is over when round returns.

// rcptTest is an outbox on the real store sending to an SMTP capture.
type rcptTest struct {
	t     *testing.T
	clock *testClock
	st    *store.Store
	srv   *testenv.SMTP
	o     *Outbox

	mu        sync.Mutex
	sentHooks int
	failHooks []bool // permanent, per Failed call
}

func newRcptTest(t *testing.T, opts testenv.SMTPOptions, tune func(*SMTPConfig)) *rcptTest {
	t.Helper()
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, opts)
	if tune != nil {
		tune(&cfg)
	}
	clock := newTestClock()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "helpdesk.db"), store.Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &rcptTest{t: t, clock: clock, st: st, srv: srv}
	e.o = NewOutbox(cfg, st, clock.now, nil)
	e.o.Hooks.Sent = func(helpdesk.OutMail, time.Time) {
		e.mu.Lock()
		e.sentHooks++
		e.mu.Unlock()
	}
	e.o.Hooks.Failed = func(_ helpdesk.OutMail, _ error, permanent bool) {
		e.mu.Lock()
		e.failHooks = append(e.failHooks, permanent)
		e.mu.Unlock()
	}
	t.Cleanup(e.o.closeConns)
	return e
}

// enqueue queues a relay of a new ticket to to (the first in To, the rest
// in Cc) and returns its row id and ticket id.
func (e *rcptTest) enqueue(to ...string) (id, ticket int64) {
	e.t.Helper()
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		tk := &helpdesk.Ticket{Subject: "Checkout down", Customer: to[0], Priority: helpdesk.High}
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		m := simpleOutMail(int(tk.ID), to[0])
		m.TicketID, m.Kind, m.ToCustomer = tk.ID, helpdesk.KindRelay, true
		for _, c := range to[1:] {
			m.Cc = append(m.Cc, helpdesk.Address{Email: c})
		}
		if err := tx.Enqueue(&m); err != nil {
			return err
		}
		id, ticket = m.ID, tk.ID
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id, ticket
}

func (e *rcptTest) round() { e.o.round(context.Background()) }

func (e *rcptTest) row(id int64) helpdesk.OutMail {
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

func (e *rcptTest) events(ticket int64) []helpdesk.Event {
	e.t.Helper()
	var evs []helpdesk.Event
	if err := e.st.View(context.Background(), func(tx *store.ReadTx) (err error) {
		evs, err = tx.Events(ticket)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// states returns "email state" per recipient of the row.
func (e *rcptTest) states(id int64) []string {
	var out []string
	for _, r := range e.row(id).Envelope() {
		out = append(out, r.Email+" "+string(r.State))
	}
	return out
}

// rcpts returns the RCPT TO list of each mail the server accepted.
func (e *rcptTest) rcpts() [][]string {
	var out [][]string
	for _, m := range e.srv.Mails() {
		out = append(out, m.To)
	}
	return out
}

func refuse(addrs map[string]*smtp.SMTPError) func(string) *smtp.SMTPError {
	return func(rcpt string) *smtp.SMTPError { return addrs[rcpt] }
}

var noSuchUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}

// TestRecipientRefusedAlone: a 550 for one Cc refuses that one; the
// customer and the other Cc get the mail in the same transaction, the row
// is sent, and the ticket says who was refused, in the server's words.
func TestRecipientRefusedAlone(t *testing.T) {
	e := newRcptTest(t, testenv.SMTPOptions{RcptErr: refuse(map[string]*smtp.SMTPError{"gone@example.org": noSuchUser})}, nil)
	id, ticket := e.enqueue("jane@example.com", "gone@example.org", "ops@example.org")
	e.round()

	if got, want := e.rcpts(), [][]string{{"jane@example.com", "ops@example.org"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("server received %v, want %v", got, want)
	}
	r := e.row(id)
	if rowStatus(r) != "sent" || r.LastError != "" {
		t.Errorf("row %s, error %q; want sent", rowStatus(r), r.LastError)
	}
	want := []string{"jane@example.com delivered", "gone@example.org refused", "ops@example.org delivered"}
	if got := e.states(id); !slices.Equal(got, want) {
		t.Errorf("recipients %v, want %v", got, want)
	}
	if got := r.Envelope()[1].Reply; got != "550 5.1.1 no such user" {
		t.Errorf("refusal kept as %q, want the server's words", got)
	}
	var failed []string
	for _, ev := range e.events(ticket) {
		if ev.Kind == helpdesk.EventDeliveryFailed {
			failed = append(failed, ev.Detail)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "gone@example.org") || !strings.Contains(failed[0], "550 5.1.1 no such user") ||
		strings.Contains(failed[0], "jane@") {
		t.Errorf("delivery-failed events %q, want one naming gone@example.org and the 550", failed)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sentHooks != 1 || !slices.Equal(e.failHooks, []bool{true}) {
		t.Errorf("hooks: %d sent, failed %v; want 1 sent and one permanent failure", e.sentHooks, e.failHooks)
	}
}

// TestRecipientsAllRefused: every recipient refused, each in its own
// words: the row fails and each keeps its reply.
func TestRecipientsAllRefused(t *testing.T) {
	e := newRcptTest(t, testenv.SMTPOptions{RcptErr: refuse(map[string]*smtp.SMTPError{
		"a@example.org": noSuchUser,
		"b@example.org": {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay access denied"},
	})}, nil)
	id, _ := e.enqueue("a@example.org", "b@example.org")
	e.round()
	if n := len(e.srv.Mails()); n != 0 {
		t.Errorf("server received %d mails, want none", n)
	}
	r := e.row(id)
	if rowStatus(r) != "failed" {
		t.Errorf("row %s, want failed", rowStatus(r))
	}
	rs := r.Envelope()
	if rs[0].Reply != "550 5.1.1 no such user" || rs[1].Reply != "554 5.7.1 relay access denied" ||
		rs[0].State != helpdesk.RecipientRefused || rs[1].State != helpdesk.RecipientRefused {
		t.Errorf("recipients %+v, want both refused in their own words", rs)
	}
}

// TestRecipientsSplitAtLimit: a server taking 2 recipients per
// transaction answers the third RCPT with 452 4.5.3: the mail goes to the
// first two, then to the next two, then to the last, in three
// transactions of one session within one attempt, each recipient once,
// the same mail (Message-ID) each time; nothing is retried.
func TestRecipientsSplitAtLimit(t *testing.T) {
	e := newRcptTest(t, testenv.SMTPOptions{MaxRecipients: 2}, nil)
	to := []string{"jane@example.com", "c1@example.org", "c2@example.org", "c3@example.org", "c4@example.org"}
	id, _ := e.enqueue(to...)
	e.round()
	want := [][]string{to[:2], to[2:4], to[4:]}
	if got := e.rcpts(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("server received %v, want %v", got, want)
	}
	ids := messageIDs(t, e.srv.Mails())
	if len(slices.Compact(ids)) != 1 {
		t.Errorf("message-ids %v, want one mail", ids)
	}
	r := e.row(id)
	if rowStatus(r) != "sent" || r.Attempts != 0 || r.LastError != "" {
		t.Errorf("row %s after %d failed attempts (%q), want sent at the first", rowStatus(r), r.Attempts, r.LastError)
	}
	for _, s := range e.states(id) {
		if !strings.HasSuffix(s, " delivered") {
			t.Errorf("recipient %s, want delivered", s)
		}
	}
	if n := e.srv.Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestRecipientsSplitAndRefused: a refusal and the limit in one mail:
// the refused one does not count towards the limit, the rest is carried.
func TestRecipientsSplitAndRefused(t *testing.T) {
	e := newRcptTest(t, testenv.SMTPOptions{MaxRecipients: 2,
		RcptErr: refuse(map[string]*smtp.SMTPError{"gone@example.org": noSuchUser})}, nil)
	id, _ := e.enqueue("jane@example.com", "gone@example.org", "c1@example.org", "c2@example.org")
	e.round()
	want := [][]string{{"jane@example.com", "c1@example.org"}, {"c2@example.org"}}
	if got := e.rcpts(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("server received %v, want %v", got, want)
	}
	wantStates := []string{"jane@example.com delivered", "gone@example.org refused", "c1@example.org delivered", "c2@example.org delivered"}
	if got := e.states(id); !slices.Equal(got, wantStates) {
		t.Errorf("recipients %v, want %v", got, wantStates)
	}
	if r := e.row(id); rowStatus(r) != "sent" {
		t.Errorf("row %s, want sent", rowStatus(r))
	}
}

// TestRecipientDeferred: a 4xx for one recipient defers that one alone:
// the others get the mail now, and the next attempt, after the backoff,
// goes to the deferred one only.
func TestRecipientDeferred(t *testing.T) {
	deferrals := 1
	e := newRcptTest(t, testenv.SMTPOptions{RcptErr: func(rcpt string) *smtp.SMTPError {
		if rcpt == "full@example.org" && deferrals > 0 {
			deferrals--
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	}}, nil)
	// The deferred one is first: a 452 before any acceptance cannot be
	// the recipient limit.
	id, _ := e.enqueue("full@example.org", "jane@example.com", "ops@example.org")
	e.round()
	if got, want := e.rcpts(), [][]string{{"jane@example.com", "ops@example.org"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("first attempt: server received %v, want %v", got, want)
	}
	r := e.row(id)
	if rowStatus(r) != "pending" || r.Attempts != 1 || !strings.Contains(r.LastError, "452 4.2.2 mailbox full") {
		t.Errorf("row %s after %d attempts (%q), want pending after 1 with the 452", rowStatus(r), r.Attempts, r.LastError)
	}
	if d := r.NextAttemptAt.Sub(e.clock.now()); d < 23*time.Second || d > 30*time.Second {
		t.Errorf("next attempt in %v, want the first backoff (30s less jitter)", d)
	}
	want := []string{"full@example.org deferred", "jane@example.com delivered", "ops@example.org delivered"}
	if got := e.states(id); !slices.Equal(got, want) {
		t.Errorf("recipients %v, want %v", got, want)
	}
	e.round() // not due yet: nothing happens
	if n := len(e.srv.Mails()); n != 1 {
		t.Fatalf("%d mails before the retry is due, want 1", n)
	}
	e.clock.advance(31 * time.Second)
	e.round()
	if got, want := e.rcpts(), [][]string{{"jane@example.com", "ops@example.org"}, {"full@example.org"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("after the retry: server received %v, want %v", got, want)
	}
	if r := e.row(id); rowStatus(r) != "sent" || r.LastError != "" {
		t.Errorf("row %s (%q), want sent", rowStatus(r), r.LastError)
	}
	for _, s := range e.states(id) {
		if !strings.HasSuffix(s, " delivered") {
			t.Errorf("recipient %s, want delivered", s)
		}
	}
}

// TestRecipientDeferredGivesUp: a recipient deferred until the mail has
// tried long enough is refused ("gave up"), with the server's last words,
// while the others got the mail at the first attempt.
func TestRecipientDeferredGivesUp(t *testing.T) {
	e := newRcptTest(t, testenv.SMTPOptions{RcptErr: refuse(map[string]*smtp.SMTPError{
		"full@example.org": {Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "try again later"},
	})}, func(c *SMTPConfig) { c.MaxAttempts = 2 })
	id, ticket := e.enqueue("jane@example.com", "full@example.org")
	e.round()
	e.clock.advance(time.Minute)
	e.round()
	rs := e.row(id).Envelope()
	if rs[0].State != helpdesk.RecipientDelivered || rs[1].State != helpdesk.RecipientRefused ||
		!strings.Contains(rs[1].Reply, "gave up after 2 attempts") || !strings.Contains(rs[1].Reply, "450 4.2.1 try again later") {
		t.Errorf("recipients %+v, want jane delivered, full@ given up with the 450", rs)
	}
	if got := len(e.srv.Mails()); got != 1 {
		t.Errorf("server received %d mails, want 1 (jane, once)", got)
	}
	found := false
	for _, ev := range e.events(ticket) {
		found = found || ev.Kind == helpdesk.EventDeliveryFailed && strings.Contains(ev.Detail, "full@example.org")
	}
	if !found {
		t.Error("no delivery-failed event names full@example.org")
	}
}

// TestRecipientsSessionLostInSplit: the server drops the session right
// after accepting the first part of a split mail: the recipients that got
// it are recorded and never sent it again; the rest go at the next
// attempt, over a new session.
func TestRecipientsSessionLostInSplit(t *testing.T) {
	dropped := false
	e := newRcptTest(t, testenv.SMTPOptions{MaxRecipients: 2, CloseAfter: func(testenv.Mail) bool {
		if dropped {
			return false
		}
		dropped = true
		return true
	}}, nil)
	to := []string{"jane@example.com", "c1@example.org", "c2@example.org"}
	id, _ := e.enqueue(to...)
	e.round()
	r := e.row(id)
	want := []string{"jane@example.com delivered", "c1@example.org delivered", "c2@example.org pending"}
	if got := e.states(id); !slices.Equal(got, want) || rowStatus(r) != "pending" || r.Attempts != 1 {
		t.Errorf("row %s after %d attempts, recipients %v; want pending after 1, recipients %v", rowStatus(r), r.Attempts, got, want)
	}
	e.clock.advance(time.Minute)
	e.round()
	if got, want := e.rcpts(), [][]string{to[:2], to[2:]}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("server received %v, want %v", got, want)
	}
	if r := e.row(id); rowStatus(r) != "sent" {
		t.Errorf("row %s, want sent", rowStatus(r))
	}
	if n := e.srv.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestReplyWords: the server's words are kept on one line, without
// control characters, and bounded.
func TestReplyWords(t *testing.T) {
	long := strings.Repeat("x", 1000)
	for _, c := range []struct {
		err  error
		want string
	}{
		{&textproto.Error{Code: 550, Msg: "5.1.1 <a@b>: no such user\n5.1.1 here\x07"}, "550 5.1.1 <a@b>: no such user 5.1.1 here"},
		{fmt.Errorf("rcpt: %w", &textproto.Error{Code: 452, Msg: long}), "452 " + long[:maxReplyWords-4] + "…"},
	} {
		r := smtpReply(c.err)
		if r == nil || r.words() != c.want {
			t.Errorf("words of %q = %q, want %q", c.err, r.words(), c.want)
		}
	}
	if !(&reply{code: 452}).tooManyRecipients() || (&reply{code: 452, enhanced: "4.2.2"}).tooManyRecipients() ||
		!(&reply{code: 552, enhanced: "5.5.3"}).tooManyRecipients() || (&reply{code: 552}).tooManyRecipients() {
		t.Error("tooManyRecipients: want 452 (bare or 4.5.3) and 552 5.5.3 only")
	}
}

// failingRecipients is the real store, except that while fail is set it
// cannot record an attempt whose recipients fared differently (a full
// disk).
type failingRecipients struct {
	*store.Store
	fail atomic.Bool
}

func (f *failingRecipients) MarkRecipients(ctx context.Context, id int64, a helpdesk.DeliveryAttempt) error {
	if f.fail.Load() {
		return errors.New("disk full: commit: database or disk is full (13)")
	}
	return f.Store.MarkRecipients(ctx, id, a)
}

// TestRecipientsApartUnrecorded: a mail that reached some recipients but
// whose record fails is kept in memory like a mail sent whole: this process
// never offers it to them again, however many rounds pass, and records it
// once the store writes again.
func TestRecipientsApartUnrecorded(t *testing.T) {
	e := newRcptTest(t, testenv.SMTPOptions{RcptErr: refuse(map[string]*smtp.SMTPError{"gone@example.org": noSuchUser})}, nil)
	fs := &failingRecipients{Store: e.st}
	fs.fail.Store(true)
	e.o = NewOutbox(e.o.cfg, fs, e.clock.now, nil)
	t.Cleanup(e.o.closeConns)
	id, _ := e.enqueue("jane@example.com", "gone@example.org")
	e.round()
	if got := e.o.Unrecorded(); got != 1 {
		t.Fatalf("unrecorded = %d, want the mail that reached jane", got)
	}
	for range 10 {
		e.clock.advance(time.Hour)
		e.round()
	}
	if got := len(e.rcpts()); got != 1 {
		t.Fatalf("the mail went out %d times while its record failed, want once: %v", got, e.rcpts())
	}
	fs.fail.Store(false)
	e.clock.advance(time.Hour)
	e.round()
	if got := e.o.Unrecorded(); got != 0 {
		t.Errorf("unrecorded = %d after the store writes again", got)
	}
	if r := e.row(id); rowStatus(r) != "sent" {
		t.Errorf("row %s, want sent", rowStatus(r))
	}
	if want, got := []string{"jane@example.com delivered", "gone@example.org refused"}, e.states(id); !slices.Equal(got, want) {
		t.Errorf("recipients %v, want %v", got, want)
	}
	if got := len(e.rcpts()); got != 1 {
		t.Errorf("the mail went out %d times, want once", got)
	}
}
