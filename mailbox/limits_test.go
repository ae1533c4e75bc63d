package mailbox

import (
	"context"
	"fmt"
	"log/slog"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// The providers' answers, as they write them (Exchange Online's is in
// Microsoft's "Message storage and concurrent connection throttling for
// SMTP Authenticated Submission"; Gmail's in its bounces).
var (
	exchangeQuota = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 2, 0},
		Message: "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.[EndDiagnosticData]"}
	gmailDaily = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 4, 5},
		Message: "Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/mail/?p=DailyLimitExceeded - gsmtp"}
)

// quotaPeer is the provider's side of the tests: a go-smtp server that
// enforces a rate (mails per minute of the test clock) and a daily
// recipient quota, answering the providers' words, and counts what it
// refused.
type quotaPeer struct {
	clock    *testClock
	perMin   int             // 0: no rate
	daily    int             // 0: no daily quota
	dailyErr *smtp.SMTPError // the answer over the daily quota
	force    error           // when set, the answer to every mail

	accepted []time.Time // one per recipient accepted
	mails    []time.Time // one per mail accepted
	refused  []string    // the answers given
}

// data is testenv's DataErr hook (called one at a time).
func (p *quotaPeer) data(m testenv.Mail) error {
	now := p.clock.now()
	refuse := func(err error) error {
		p.refused = append(p.refused, err.Error())
		return err
	}
	if p.force != nil {
		return refuse(p.force)
	}
	if p.perMin > 0 {
		n := 0
		for _, at := range p.mails {
			if at.After(now.Add(-time.Minute)) {
				n++
			}
		}
		if n >= p.perMin {
			return refuse(&smtp.SMTPError{Code: 432, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Concurrent connections limit exceeded"})
		}
	}
	if p.daily > 0 {
		n := 0
		for _, at := range p.accepted {
			if at.After(now.Add(-24 * time.Hour)) {
				n++
			}
		}
		if n+len(m.To) > p.daily {
			return refuse(p.dailyErr)
		}
	}
	p.mails = append(p.mails, now)
	for range m.To {
		p.accepted = append(p.accepted, now)
	}
	return nil
}

// limitTest is an outbox with limits on the real store, sending to a
// quotaPeer through the real SMTP Sender; rounds run one at a time on
// the test clock.
type limitTest struct {
	t     *testing.T
	clock *testClock
	st    *store.Store
	srv   *testenv.SMTP
	peer  *quotaPeer
	cfg   SMTPConfig
	o     *Outbox
	log   *syncBuffer

	mu        sync.Mutex
	throttled []string // "limit on" / "limit off", in order
}

func newLimitTest(t *testing.T, peer *quotaPeer, tune func(*SMTPConfig)) *limitTest {
	t.Helper()
	clock := newTestClock()
	peer.clock = clock
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{DataErr: peer.data})
	if tune != nil {
		tune(&cfg)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "helpdesk.db"), store.Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &limitTest{t: t, clock: clock, st: st, srv: srv, peer: peer, cfg: cfg}
	e.restart()
	return e
}

// restart replaces the outbox by a new one on the same store, as a
// restart of the daemon does.
func (e *limitTest) restart() {
	if e.o != nil {
		e.o.closeConns()
	}
	e.log = &syncBuffer{}
	e.o = NewOutbox(e.cfg, e.st, e.clock.now, slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelInfo})))
	e.o.Hooks.Throttled = func(limit string, on bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.throttled = append(e.throttled, fmt.Sprintf("%s %v", limit, on))
	}
	e.t.Cleanup(e.o.closeConns)
}

func (e *limitTest) round() time.Duration { return e.o.round(context.Background()) }

// enqueue queues one mail of kind on a new ticket of priority p, to
// customer-side or staff addresses as the kind goes, and returns its
// Message-ID.
func (e *limitTest) enqueue(name string, p helpdesk.Priority, kind helpdesk.MessageKind, to ...string) string {
	e.t.Helper()
	var id string
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		tk := &helpdesk.Ticket{Subject: name, Customer: "jane@example.com", Priority: p}
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		m := simpleOutMail(int(tk.ID), to[0])
		m.TicketID, m.Kind, m.MessageID = tk.ID, kind, name+"@support.example.com"
		m.ToCustomer = kind == helpdesk.KindAck || kind == helpdesk.KindRelay || kind == helpdesk.KindResolution
		for _, c := range to[1:] {
			m.Cc = append(m.Cc, helpdesk.Address{Email: c})
		}
		if err := tx.Enqueue(&m); err != nil {
			return err
		}
		id = m.MessageID
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// received returns the Message-IDs the server accepted, in order.
func (e *limitTest) received() []string {
	var ids []string
	for _, m := range e.srv.Mails() {
		ids = append(ids, m.MessageID())
	}
	return ids
}

// counts returns how many rows are pending and failed.
func (e *limitTest) counts() (pending, failed int) {
	e.t.Helper()
	p, f, err := e.st.OutboxCounts(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return p, f
}

func (e *limitTest) hooks() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.throttled)
}

// noDuplicates fails when the server accepted a mail twice.
func noDuplicates(t *testing.T, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("mail %s accepted twice", id)
		}
		seen[id] = true
	}
}

// TestRateSteps: 100 acknowledgements at 30/m go out in steps of 30 per
// minute of the test clock; the peer, which allows 30 a minute, never
// has to refuse one; none is lost, none goes twice; the waiting is told
// once (one log line, one hook on and off), not per mail.
func TestRateSteps(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{perMin: 30}, func(c *SMTPConfig) { c.Rate = Rate{N: 30, Per: time.Minute} })
	for i := range 100 {
		e.enqueue(fmt.Sprintf("ack-%03d", i), helpdesk.Medium, helpdesk.KindAck, fmt.Sprintf("c%03d@example.com", i))
	}
	for step, want := range []int{30, 60, 90, 100} {
		wait := e.round()
		if got := len(e.srv.Mails()); got != want {
			t.Fatalf("minute %d: the server has %d mails, want %d", step, got, want)
		}
		if want < 100 && wait != time.Minute {
			t.Errorf("minute %d: the outbox sleeps %v, want 1m (until the first tokens come back)", step, wait)
		}
		if e.round(); len(e.srv.Mails()) != want {
			t.Fatalf("minute %d: a second round within the minute sent more", step)
		}
		e.clock.advance(time.Minute)
	}
	if len(e.peer.refused) > 0 {
		t.Errorf("the peer refused %d mails: %v", len(e.peer.refused), e.peer.refused[0])
	}
	noDuplicates(t, e.received())
	if p, f := e.counts(); p != 0 || f != 0 {
		t.Errorf("%d pending, %d failed; want all sent", p, f)
	}
	if got, want := e.hooks(), []string{"rate true", "rate false"}; !slices.Equal(got, want) {
		t.Errorf("throttle hooks %v, want %v", got, want)
	}
	if n := e.log.count("outbox throttled by [smtp] rate"); n != 1 {
		t.Errorf("%d throttle lines, want one per episode:\n%s", n, e.log)
	}
	if n := e.log.count("outbox no longer held back"); n != 1 {
		t.Errorf("%d lines ending the episode, want 1:\n%s", n, e.log)
	}
}

// TestRateAcrossConnections: the rate is the account's, shared by its
// connections: four sessions at once still send 30 in a minute.
func TestRateAcrossConnections(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{perMin: 30}, func(c *SMTPConfig) {
		c.Rate, c.Connections = Rate{N: 30, Per: time.Minute}, 4
	})
	for i := range 70 {
		e.enqueue(fmt.Sprintf("ack-%03d", i), helpdesk.Medium, helpdesk.KindAck, fmt.Sprintf("c%03d@example.com", i))
	}
	for _, want := range []int{30, 60, 70} {
		e.round()
		if got := len(e.srv.Mails()); got != want {
			t.Fatalf("the server has %d mails, want %d", got, want)
		}
		e.clock.advance(time.Minute)
	}
	if len(e.peer.refused) > 0 {
		t.Errorf("the peer refused %v", e.peer.refused)
	}
	noDuplicates(t, e.received())
}

// TestExchangeQuotaAnswer: Exchange's 554 5.2.0 SubmissionQuotaExceeded
// is not a refusal of the mail: it stays queued, no attempt counted,
// nothing is given up or put on the ticket; the account backs off until
// the oldest recipient of the last 24 hours leaves the window (read from
// the store: no daily budget is configured), the operator gets one
// warning, and the mail goes after the back-off, once.
func TestExchangeQuotaAnswer(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{daily: 3, dailyErr: exchangeQuota}, nil)
	for i := range 3 {
		e.enqueue(fmt.Sprintf("early-%d", i), helpdesk.Medium, helpdesk.KindAck, fmt.Sprintf("e%d@example.com", i))
	}
	first := e.clock.now()
	e.round()
	e.clock.advance(2 * time.Hour)
	e.enqueue("late-0", helpdesk.Medium, helpdesk.KindAck, "l0@example.com")
	e.enqueue("late-1", helpdesk.Medium, helpdesk.KindAck, "l1@example.com")
	wait := e.round()

	if got := len(e.srv.Mails()); got != 3 {
		t.Fatalf("the server has %d mails, want the 3 early ones", got)
	}
	if n := len(e.peer.refused); n < 1 || n > e.o.cfg.Connections {
		// The connections sending at once may each meet the answer.
		t.Fatalf("the peer refused %d mails, want 1 to %d (the account backs off after the answer)", n, e.o.cfg.Connections)
	}
	refusals := len(e.peer.refused)
	until := first.Add(24 * time.Hour)
	if want := until.Sub(e.clock.now()); wait != want {
		t.Errorf("the outbox sleeps %v, want %v (until the first early mail is 24 hours old)", wait, want)
	}
	if p, f := e.counts(); p != 2 || f != 0 {
		t.Errorf("%d pending, %d failed; want 2 pending, none failed", p, f)
	}
	var refusedRow helpdesk.OutMail
	if err := e.st.View(context.Background(), func(tx *store.ReadTx) error {
		for id := int64(1); id <= 5; id++ {
			m, err := tx.OutMail(id)
			if err != nil {
				return err
			}
			if m.LastError != "" {
				refusedRow = m
			}
			evs, err := tx.Events(m.TicketID)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if ev.Kind == helpdesk.EventDeliveryFailed {
					t.Errorf("ticket %d: delivery-failed event %q", m.TicketID, ev.Detail)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if refusedRow.Attempts != 0 || !strings.Contains(refusedRow.LastError, "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException") ||
		!refusedRow.NextAttemptAt.Equal(until) {
		t.Errorf("row %d: %d attempts, next %v, error %q; want no attempt counted, due at %v, the server's words",
			refusedRow.ID, refusedRow.Attempts, refusedRow.NextAttemptAt, refusedRow.LastError, until)
	}
	if n := e.log.count("the SMTP server refuses more mail from this account for now"); n != 1 {
		t.Errorf("%d quota warnings, want 1:\n%s", n, e.log)
	}
	if n := e.log.count("mail not delivered"); n != 0 {
		t.Errorf("a quota answer was logged as an undelivered mail:\n%s", e.log)
	}

	// Kicks during the back-off offer nothing.
	e.clock.advance(wait - time.Second)
	e.round()
	if len(e.peer.refused) != refusals || len(e.srv.Mails()) != 3 {
		t.Fatalf("during the back-off: %d refused, %d accepted; want nothing offered", len(e.peer.refused), len(e.srv.Mails()))
	}
	e.clock.advance(time.Second)
	e.round()
	if got := e.received(); len(got) != 5 || !slices.Contains(got, "late-0@support.example.com") || !slices.Contains(got, "late-1@support.example.com") {
		t.Errorf("after the back-off the server has %v, want the late mails too", got)
	}
	noDuplicates(t, e.received())
	if p, f := e.counts(); p != 0 || f != 0 {
		t.Errorf("%d pending, %d failed; want all sent", p, f)
	}
	if got, want := e.hooks(), []string{"provider_quota true", "provider_quota false"}; !slices.Equal(got, want) {
		t.Errorf("throttle hooks %v, want %v", got, want)
	}
	if n := e.log.count("the SMTP server refuses more mail"); n != 1 {
		t.Errorf("%d quota warnings after the back-off, want still 1", n)
	}
}

// TestGenuine554StaysPermanent: a 554 about the mail itself, without
// quota words, fails the mail as before; so does a 550 5.1.1 at RCPT.
func TestGenuine554StaysPermanent(t *testing.T) {
	peer := &quotaPeer{force: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message content rejected"}}
	e := newLimitTest(t, peer, nil)
	e.enqueue("bad", helpdesk.Medium, helpdesk.KindAck, "jane@example.com")
	e.round()
	if p, f := e.counts(); p != 0 || f != 1 {
		t.Errorf("%d pending, %d failed; want the mail failed", p, f)
	}
	if e.log.count("refuses more mail") != 0 {
		t.Errorf("a content refusal was read as a quota:\n%s", e.log)
	}
}

// TestGmailDailyAnswer: Gmail's 550 5.4.5 is read as the daily quota too.
// With a budget configured, the back-off ends when the budget's oldest
// recipient leaves the window.
func TestGmailDailyAnswer(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{daily: 2, dailyErr: gmailDaily}, func(c *SMTPConfig) { c.DailyRecipients = 100 })
	e.enqueue("a", helpdesk.Medium, helpdesk.KindAck, "a@example.com", "b@example.com")
	first := e.clock.now()
	e.round()
	e.clock.advance(time.Hour)
	e.enqueue("c", helpdesk.Medium, helpdesk.KindAck, "c@example.com")
	wait := e.round()
	if len(e.peer.refused) != 1 || !strings.Contains(e.peer.refused[0], "Daily user sending limit exceeded") {
		t.Fatalf("the peer refused %v, want one daily answer", e.peer.refused)
	}
	if want := first.Add(24 * time.Hour).Sub(e.clock.now()); wait != want {
		t.Errorf("sleeps %v, want %v", wait, want)
	}
	if p, f := e.counts(); p != 1 || f != 0 {
		t.Errorf("%d pending, %d failed; want 1 pending", p, f)
	}
	e.clock.advance(wait)
	e.round()
	if got := e.received(); !slices.Equal(got, []string{"a@support.example.com", "c@support.example.com"}) {
		t.Errorf("server has %v", got)
	}
}

// TestCriticalAckFirst: under the rate, a critical ticket's
// acknowledgement queued behind many other mails goes first; then the
// other customer mail by priority, then the agents' notifications by
// priority, then escalations.
func TestCriticalAckFirst(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{}, func(c *SMTPConfig) {
		c.Rate, c.Connections = Rate{N: 5, Per: time.Minute}, 1
	})
	e.enqueue("escalation-critical", helpdesk.Critical, helpdesk.KindEscalation, "boss@example.com")
	for i := range 20 {
		e.enqueue(fmt.Sprintf("note-low-%02d", i), helpdesk.Low, helpdesk.KindNotification, "agent@example.com")
	}
	e.enqueue("note-critical", helpdesk.Critical, helpdesk.KindNotification, "agent@example.com")
	e.enqueue("relay-low", helpdesk.Low, helpdesk.KindRelay, "bob@example.org")
	e.enqueue("ack-high", helpdesk.High, helpdesk.KindAck, "carol@example.org")
	e.enqueue("relay-critical", helpdesk.Critical, helpdesk.KindRelay, "dan@example.org")
	e.enqueue("ack-critical", helpdesk.Critical, helpdesk.KindAck, "erin@example.org")

	e.round()
	want := []string{"ack-critical", "relay-critical", "ack-high", "relay-low", "note-critical"}
	for i := range want {
		want[i] += "@support.example.com"
	}
	if got := e.received(); !slices.Equal(got, want) {
		t.Fatalf("first minute: %v, want %v", got, want)
	}
	for range 5 {
		e.clock.advance(time.Minute)
		e.round()
	}
	got := e.received()
	if len(got) != 26 || got[5] != "note-low-00@support.example.com" || got[25] != "escalation-critical@support.example.com" {
		t.Errorf("after 5 minutes: %d mails, 6th %q, last %q; want the low notifications oldest first, the escalation last",
			len(got), got[min(5, len(got)-1)], got[len(got)-1])
	}
}

// TestDailyBudget: with the budget short, the most urgent mail takes it;
// the rest waits until recipients of the last 24 hours age out. The
// budget is read from the store, so a restart does not reset it.
func TestDailyBudget(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{}, func(c *SMTPConfig) { c.DailyRecipients, c.Connections = 4, 1 })
	e.enqueue("note-1", helpdesk.Low, helpdesk.KindNotification, "agent@example.com", "agent2@example.com")
	e.enqueue("note-2", helpdesk.Low, helpdesk.KindNotification, "agent@example.com")
	e.enqueue("note-3", helpdesk.Low, helpdesk.KindNotification, "agent@example.com")
	e.enqueue("ack-critical", helpdesk.Critical, helpdesk.KindAck, "erin@example.org")
	start := e.clock.now()
	wait := e.round()
	if got, want := e.received(), []string{"ack-critical@support.example.com", "note-1@support.example.com", "note-2@support.example.com"}; !slices.Equal(got, want) {
		t.Fatalf("first day: %v, want %v (4 recipients)", got, want)
	}
	if wait != 24*time.Hour {
		t.Errorf("sleeps %v, want 24h", wait)
	}
	if n := e.log.count("[smtp] daily_recipients reached"); n != 1 {
		t.Errorf("%d budget warnings, want 1:\n%s", n, e.log)
	}

	// A restart reads the 4 recipients from the store: nothing more goes.
	e.clock.advance(time.Hour)
	e.restart()
	e.round()
	if n := len(e.srv.Mails()); n != 3 {
		t.Fatalf("after a restart %d mails, want still 3", n)
	}
	if !strings.Contains(e.log.String(), "accepted_last_24h=4") {
		t.Errorf("the restart did not read the budget used:\n%s", e.log)
	}
	e.clock.advance(start.Add(24 * time.Hour).Sub(e.clock.now()))
	e.round()
	if n := len(e.srv.Mails()); n != 4 {
		t.Errorf("after 24 hours %d mails, want 4", n)
	}
	noDuplicates(t, e.received())
}

// TestQuotaReplies: which answers are a provider's sending limit.
func TestQuotaReplies(t *testing.T) {
	tests := []struct {
		code int
		msg  string
		none bool // no recipient of the transaction accepted yet
		want QuotaKind
	}{
		{554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception", true, QuotaDaily},
		{550, "5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/mail/?p=DailyLimitExceeded", true, QuotaDaily},
		{550, "5.4.5 Daily user sending quota exceeded.", true, QuotaDaily},
		{550, "5.4.5 Daily SMTP relay limit exceeded for user.", true, QuotaDaily},
		{454, "Throttling failure: Daily message quota exceeded.", true, QuotaDaily},
		{554, "5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", true, QuotaMailboxFull},
		{421, "4.7.0 Try again later, closing connection.", true, QuotaRate},
		{421, "Too many concurrent SMTP connections", true, QuotaRate},
		{432, "4.3.2 Concurrent connections limit exceeded.", true, QuotaRate},
		{452, "4.4.2 Message submission rate for this client has exceeded the configured limit", true, QuotaRate},
		{454, "Throttling failure: Maximum sending rate exceeded.", true, QuotaRate},
		{452, "4.5.3 Too many recipients", true, QuotaRate},
		// After some recipients: the server's recipients per mail (split).
		{452, "4.5.3 Too many recipients", false, QuotaNone},
		// The recipient's mailbox, not the account.
		{452, "4.2.2 The email account that you tried to reach is over quota.", true, QuotaNone},
		{552, "5.2.2 The email account that you tried to reach is over quota.", true, QuotaNone},
		{554, "5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", true, QuotaNone},
		{450, "4.2.1 The user you are trying to contact is receiving mail too quickly.", true, QuotaNone},
		// Genuine refusals.
		{554, "5.1.1 <x@example.com>: Recipient address rejected: User unknown", true, QuotaNone},
		{554, "5.7.1 Relay access denied", true, QuotaNone},
		{550, "5.7.60 SMTP; Client does not have permissions to send as this sender", true, QuotaNone},
		{451, "4.3.0 Temporary server error. Please try again later", true, QuotaNone},
		{421, "4.3.2 Service shutting down", true, QuotaNone},
	}
	for _, tt := range tests {
		r := smtpReply(&textproto.Error{Code: tt.code, Msg: tt.msg})
		if got := r.quota(tt.none); got != tt.want {
			t.Errorf("%d %s (none %v): %v, want %v", tt.code, tt.msg, tt.none, got, tt.want)
		}
	}
}

// TestWindow: the rolling window behind the rate and the budget.
func TestWindow(t *testing.T) {
	t0 := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	w := newWindow(3, time.Minute)
	w.add(t0, 1)
	w.add(t0.Add(10*time.Second), 1)
	w.reserve(7, 1)
	if w.fits(t0.Add(20*time.Second), 1) {
		t.Error("a fourth fits a window of 3")
	}
	w.release(7)
	if !w.fits(t0.Add(20*time.Second), 1) {
		t.Error("a released reservation still counts")
	}
	w.reserve(8, 1)
	w.settle(8, t0.Add(20*time.Second), 1)
	if got, want := w.freeAt(t0.Add(30*time.Second), 1), t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("freeAt %v, want %v (the first comes back)", got, want)
	}
	if got, want := w.freeAt(t0.Add(30*time.Second), 2), t0.Add(70*time.Second); !got.Equal(want) {
		t.Errorf("freeAt for 2: %v, want %v", got, want)
	}
	if w.used(t0.Add(time.Minute)) != 2 {
		t.Errorf("at a minute the first still counts (%d used)", w.used(t0.Add(time.Minute)))
	}
	// More than the whole limit fits an empty window, and only that: it
	// waits until the window empties.
	if got, want := w.freeAt(t0.Add(30*time.Second), 5), t0.Add(80*time.Second); !got.Equal(want) {
		t.Errorf("freeAt for 5: %v, want %v (when the window empties)", got, want)
	}
	if w.fits(t0.Add(70*time.Second), 5) || !w.fits(t0.Add(80*time.Second), 5) {
		t.Error("a mail larger than the limit: want it to fit an empty window only")
	}
}

// TestProviderRateAnswer: without a rate of our own, a provider that
// takes 5 mails a minute answers the sixth "432 4.3.2 Concurrent
// connections limit exceeded": the account backs off (retry_min, less
// jitter), nothing is counted or given up, and the rest goes once the
// provider's minute is over.
func TestProviderRateAnswer(t *testing.T) {
	e := newLimitTest(t, &quotaPeer{perMin: 5}, func(c *SMTPConfig) { c.Connections = 1 })
	for i := range 8 {
		e.enqueue(fmt.Sprintf("ack-%d", i), helpdesk.Medium, helpdesk.KindAck, fmt.Sprintf("c%d@example.com", i))
	}
	wait := e.round()
	if len(e.srv.Mails()) != 5 || len(e.peer.refused) != 1 {
		t.Fatalf("%d accepted, %d refused; want 5 and 1", len(e.srv.Mails()), len(e.peer.refused))
	}
	if wait < 24*time.Second || wait > 30*time.Second {
		t.Errorf("backs off %v, want retry_min (30s less jitter)", wait)
	}
	if p, f := e.counts(); p != 3 || f != 0 {
		t.Errorf("%d pending, %d failed; want 3 pending", p, f)
	}
	e.clock.advance(time.Minute)
	e.round()
	if got := len(e.srv.Mails()); got != 8 {
		t.Errorf("after a minute %d mails, want 8", got)
	}
	noDuplicates(t, e.received())
	if n := e.log.count("the SMTP server refuses more mail from this account for now"); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}
