package mailbox

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// testClock is the injected clock of the outbox tests: time moves only
// when the test says so.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// outRow is a row of the test outbox.
type outRow struct {
	m      helpdesk.OutMail
	status string // pending, sent, failed
}

// testOutbox is a map-backed OutboxStore with the semantics of the real
// store: due rows oldest first, retries only on pending rows, a failure
// recorded as an event on the ticket.
type testOutbox struct {
	mu     sync.Mutex
	clock  *testClock
	rows   map[int64]*outRow
	nextID int64
	events []string // "ticket: reason" of delivery failures
	sent   map[int64]int
}

func newTestOutbox(clock *testClock) *testOutbox {
	return &testOutbox{clock: clock, rows: map[int64]*outRow{}, sent: map[int64]int{}}
}

// enqueue adds a row due now, as the desk's Enqueue does.
func (s *testOutbox) enqueue(m helpdesk.OutMail) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	m.ID = s.nextID
	m.CreatedAt = s.clock.now()
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	s.rows[m.ID] = &outRow{m: m, status: "pending"}
	return m.ID
}

func (s *testOutbox) DueOutbox(_ context.Context, now time.Time, limit int) ([]helpdesk.OutMail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []helpdesk.OutMail
	for _, r := range s.rows {
		if r.status == "pending" && !r.m.NextAttemptAt.After(now) {
			out = append(out, r.m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAttemptAt.Equal(out[j].NextAttemptAt) {
			return out[i].NextAttemptAt.Before(out[j].NextAttemptAt)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *testOutbox) MarkSending(_ context.Context, id int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rows[id]; r.status == "pending" {
		r.m.SendingAt = at
	}
	return nil
}

func (s *testOutbox) MarkSent(_ context.Context, id int64, at time.Time, next int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rows[id]
	r.status, r.m.SentAt, r.m.LastError, r.m.SendingAt = "sent", at, "", time.Time{}
	s.sent[id]++
	if n := s.rows[next]; next != 0 && n.status == "pending" {
		n.m.SendingAt = at
	}
	return nil
}

func (s *testOutbox) MarkSentIf(ctx context.Context, id int64, messageID string, at time.Time) (bool, error) {
	s.mu.Lock()
	r := s.rows[id]
	s.mu.Unlock()
	if r == nil || r.m.MessageID != messageID {
		return false, nil
	}
	return true, s.MarkSent(ctx, id, at, 0)
}

func (s *testOutbox) MarkRetry(_ context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rows[id]; r.status == "pending" {
		r.m.Attempts, r.m.NextAttemptAt, r.m.LastError, r.m.SendingAt = attempts, next, lastErr, time.Time{}
	}
	return nil
}

func (s *testOutbox) MarkFailed(_ context.Context, id int64, at time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rows[id]
	r.status, r.m.FailedAt, r.m.LastError, r.m.SendingAt = "failed", at, reason, time.Time{}
	r.m.Attempts++
	s.events = append(s.events, fmt.Sprintf("%d: %s", r.m.TicketID, reason))
	return nil
}

func (s *testOutbox) MarkRecipients(_ context.Context, id int64, a helpdesk.DeliveryAttempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rows[id]
	rs := r.m.Envelope()
	due, delivered := 0, 0
	for i := range rs {
		for _, res := range a.Results {
			if strings.EqualFold(rs[i].Email, res.Email) && rs[i].State.Due() {
				rs[i].State, rs[i].Reply, rs[i].At = res.State, res.Reply, a.At
				if res.State == helpdesk.RecipientRefused {
					s.events = append(s.events, fmt.Sprintf("%d: %s %s", r.m.TicketID, res.Email, res.Reply))
				}
			}
		}
		switch {
		case rs[i].State.Due():
			due++
		case rs[i].State == helpdesk.RecipientDelivered:
			delivered++
		}
	}
	r.m.Recipients = rs
	switch {
	case due > 0:
		r.m.Attempts, r.m.NextAttemptAt, r.m.LastError = a.Attempts, a.Next, a.LastError
	case delivered > 0:
		r.status, r.m.SentAt = "sent", a.At
		r.m.Attempts++
		s.sent[id]++
	default:
		r.status, r.m.FailedAt, r.m.LastError = "failed", a.At, rs[0].Reply
		r.m.Attempts++
	}
	return nil
}

// DueOutboxRanked is DueOutbox: these tests set no limits, whose order
// the real store's tests check.
func (s *testOutbox) DueOutboxRanked(ctx context.Context, now time.Time, limit int, _ helpdesk.Levels) ([]helpdesk.OutMail, error) {
	return s.DueOutbox(ctx, now, limit)
}

// AcceptedRecipients counts every recipient of a sent row at its SentAt.
func (s *testOutbox) AcceptedRecipients(_ context.Context, since time.Time) ([]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	for _, r := range s.rows {
		if r.status == "sent" && !r.m.SentAt.Before(since) {
			for range r.m.Envelope() {
				out = append(out, r.m.SentAt)
			}
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out, nil
}

func (s *testOutbox) NextOutboxAttempt(context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, r := range s.rows {
		if r.status == "pending" && (next.IsZero() || r.m.NextAttemptAt.Before(next)) {
			next = r.m.NextAttemptAt
		}
	}
	return next, !next.IsZero(), nil
}

func (s *testOutbox) row(id int64) outRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.rows[id]
}

// count returns how many rows have the status.
func (s *testOutbox) count(status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.rows {
		if r.status == status {
			n++
		}
	}
	return n
}

// simpleOutMail is a plain acknowledgement to one customer.
func simpleOutMail(i int, to string) helpdesk.OutMail {
	return helpdesk.OutMail{
		TicketID:  int64(1000 + i),
		Kind:      helpdesk.KindAck,
		MessageID: fmt.Sprintf("ack-%d@support.example.com", i),
		From:      helpdesk.Address{Name: "Support", Email: "support@example.com"},
		To:        []helpdesk.Address{{Email: to}},
		Subject:   fmt.Sprintf("[HD-%d] received", i),
		Text:      fmt.Sprintf("Ticket %d received.\n", i),
		Auto:      true,
	}
}

// runOutbox starts o.Run and returns a stop function that cancels it and
// waits for Run to return nil.
func runOutbox(t *testing.T, o *Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// messageIDs returns the Message-IDs of received mails, in order.
func messageIDs(t *testing.T, mails []testenv.Mail) []string {
	t.Helper()
	var ids []string
	for _, m := range mails {
		ids = append(ids, parseReceived(t, m.Raw).Header.Get("Message-Id"))
	}
	return ids
}

func TestOutboxDelivers(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("starttls=%v", withTLS), func(t *testing.T) {
			wireLeakCheck(t)
			srv, cfg := startSMTPPeer(t, withTLS, testenv.SMTPOptions{})
			clock := newTestClock()
			st := newTestOutbox(clock)
			id := st.enqueue(fullOutMail())
			o := NewOutbox(cfg, st, clock.now, nil)
			var hooked []int64
			var mu sync.Mutex
			o.Hooks.Sent = func(m helpdesk.OutMail, at time.Time) {
				mu.Lock()
				hooked = append(hooked, m.ID)
				mu.Unlock()
			}
			runOutbox(t, o)
			got := srv.WaitWithin(t, deliveryTimeout, "the mail", testenv.To("zoe@example.org"))
			if got.From != "support@example.com" {
				t.Errorf("MAIL FROM %q, want support@example.com", got.From)
			}
			if want := []string{"zoe@example.org", "ops@example.org"}; !slices.Equal(got.To, want) {
				t.Errorf("RCPT TO %v, want %v", got.To, want)
			}
			checkFullMail(t, got.Raw, st.row(id).m.CreatedAt)
			waitUntil(t, deliveryTimeout, "row marked sent", func() bool { return st.row(id).status == "sent" })
			if r := st.row(id); !r.m.SentAt.Equal(clock.now()) {
				t.Errorf("SentAt = %v, want %v", r.m.SentAt, clock.now())
			}
			mu.Lock()
			if !slices.Equal(hooked, []int64{id}) {
				t.Errorf("Sent hook for %v, want [%d]", hooked, id)
			}
			mu.Unlock()
			if withTLS {
				if n := len(srv.Logins()); n != 1 {
					t.Errorf("authenticated %d times, want 1", n)
				}
			}
		})
	}
}

// TestOutboxServerDown sends while the server is down: the rows are
// rescheduled with backoff, and once it is back and the (injected) clock
// has passed the next attempt, each is delivered exactly once.
func TestOutboxServerDown(t *testing.T) {
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	srv.Down()
	clock := newTestClock()
	st := newTestOutbox(clock)
	logger, logs := testLogger()
	o := NewOutbox(cfg, st, clock.now, logger)
	const n = 5
	var ids []int64
	for i := range n {
		ids = append(ids, st.enqueue(simpleOutMail(i, "c@example.org")))
	}
	runOutbox(t, o)
	waitUntil(t, deliveryTimeout, "first attempt recorded", func() bool {
		for _, id := range ids {
			if st.row(id).m.Attempts != 1 {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		r := st.row(id)
		if d := r.m.NextAttemptAt.Sub(clock.now()); d < 24*time.Second || d > 30*time.Second {
			t.Errorf("row %d: next attempt in %v, want 30s less at most 20%% jitter", id, d)
		}
		if r.m.LastError == "" || r.status != "pending" {
			t.Errorf("row %d = %+v, want pending with the error", id, r)
		}
	}
	// A second failed round: the delay doubles.
	clock.advance(31 * time.Second)
	o.Kick()
	// Every row, not just the last: the lanes record their retries apart,
	// and one recorded after the clock moves on would not be due below.
	waitUntil(t, deliveryTimeout, "second attempt recorded", func() bool {
		for _, id := range ids {
			if st.row(id).m.Attempts != 2 {
				return false
			}
		}
		return true
	})
	if d := st.row(ids[0]).m.NextAttemptAt.Sub(clock.now()); d < 48*time.Second || d > time.Minute {
		t.Errorf("second delay %v, want about 1m", d)
	}

	srv.Up(t)
	clock.advance(2 * time.Minute)
	o.Kick()
	waitUntil(t, deliveryTimeout, "all sent", func() bool { return st.count("sent") == n })
	if got := len(srv.Mails()); got != n {
		t.Errorf("server received %d mails, want %d (exactly once each)", got, n)
	}
	ids2 := messageIDs(t, srv.Mails())
	slices.Sort(ids2)
	if got := len(slices.Compact(ids2)); got != n {
		t.Errorf("%d distinct Message-IDs received, want %d", got, n)
	}
	if got, want := logs.count("smtp server unavailable"), 1; got != want {
		t.Errorf("outage logged %d times, want %d", got, want)
	}
	if got, want := logs.count("smtp server reachable again"), 1; got != want {
		t.Errorf("recovery logged %d times, want %d", got, want)
	}
	if got := logs.count("smtp session opened"); got < 1 || !strings.Contains(logs.String(), "server="+srv.Addr()) {
		t.Errorf("no line says which SMTP server was reached\n%s", logs)
	}
}

// TestOutboxPermanentRefusal: a 5xx marks the row failed at once, with an
// event on its ticket, and the other rows go on.
func TestOutboxPermanentRefusal(t *testing.T) {
	wireLeakCheck(t)
	_, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{RcptErr: func(rcpt string) *smtp.SMTPError {
		if rcpt == "gone@example.org" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	clock := newTestClock()
	st := newTestOutbox(clock)
	bad := st.enqueue(simpleOutMail(1, "gone@example.org"))
	good := st.enqueue(simpleOutMail(2, "here@example.org"))
	o := NewOutbox(cfg, st, clock.now, nil)
	var permanent []int64
	var mu sync.Mutex
	o.Hooks.Failed = func(m helpdesk.OutMail, err error, perm bool) {
		mu.Lock()
		defer mu.Unlock()
		if perm {
			permanent = append(permanent, m.ID)
		}
	}
	runOutbox(t, o)
	// The hook runs after the row is recorded: wait for both.
	waitUntil(t, deliveryTimeout, "both rows settled and the refusal hooked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return st.count("pending") == 0 && len(permanent) > 0
	})
	if r := st.row(bad); r.status != "failed" || !strings.Contains(r.m.LastError, "550") {
		t.Errorf("refused row = %+v, want failed with the 550", r)
	}
	if r := st.row(good); r.status != "sent" {
		t.Errorf("other row = %+v, want sent", r)
	}
	st.mu.Lock()
	if len(st.events) != 1 || !strings.HasPrefix(st.events[0], "1001: ") {
		t.Errorf("events %v, want one on ticket 1001", st.events)
	}
	st.mu.Unlock()
	mu.Lock()
	if !slices.Equal(permanent, []int64{bad}) {
		t.Errorf("permanent failures hooked %v, want [%d]", permanent, bad)
	}
	mu.Unlock()
}

// TestOutboxTemporaryRefusal: a 4xx reschedules; the next attempt after
// the backoff delivers.
func TestOutboxTemporaryRefusal(t *testing.T) {
	wireLeakCheck(t)
	refusals := 1
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{DataErr: func(testenv.Mail) error {
		if refusals > 0 {
			refusals--
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}})
	clock := newTestClock()
	st := newTestOutbox(clock)
	id := st.enqueue(simpleOutMail(1, "c@example.org"))
	logger, logs := testLogger()
	o := NewOutbox(cfg, st, clock.now, logger)
	runOutbox(t, o)
	waitUntil(t, deliveryTimeout, "first attempt", func() bool { return st.row(id).m.Attempts == 1 })
	// The retry is logged after it is recorded: wait for the line too.
	waitUntil(t, deliveryTimeout, "deferral logged", func() bool { return logs.count("mail deferred") > 0 })
	if !strings.Contains(logs.String(), "mail deferred by the server") || logs.count("smtp server unavailable") != 0 {
		t.Errorf("a 4xx for one mail must be logged with the mail, not as an outage:\n%s", logs)
	}
	if r := st.row(id); r.status != "pending" || !strings.Contains(r.m.LastError, "451") {
		t.Errorf("row after 451 = %+v, want pending", r)
	}
	clock.advance(30 * time.Second)
	o.Kick()
	waitUntil(t, deliveryTimeout, "sent", func() bool { return st.row(id).status == "sent" })
	if got := len(srv.Mails()); got != 1 {
		t.Errorf("received %d mails, want 1", got)
	}
}

// TestOutboxGiveUp: temporary failures end as failed after MaxAttempts,
// or once the mail is older than GiveUpAfter.
func TestOutboxGiveUp(t *testing.T) {
	wireLeakCheck(t)
	_, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{DataErr: func(testenv.Mail) error {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
	}})
	clock := newTestClock()
	st := newTestOutbox(clock)
	cfg.MaxAttempts = 3
	id := st.enqueue(simpleOutMail(1, "c@example.org"))
	o := NewOutbox(cfg, st, clock.now, nil)
	runOutbox(t, o)
	for attempt := 1; attempt < 3; attempt++ {
		waitUntil(t, deliveryTimeout, fmt.Sprintf("attempt %d", attempt), func() bool { return st.row(id).m.Attempts == attempt })
		clock.advance(time.Hour)
		o.Kick()
	}
	waitUntil(t, deliveryTimeout, "given up", func() bool { return st.row(id).status == "failed" })
	if r := st.row(id); !strings.Contains(r.m.LastError, "gave up after 3 attempts") {
		t.Errorf("reason %q, want the give-up", r.m.LastError)
	}

	// A mail older than GiveUpAfter fails at its first temporary error.
	old := st.enqueue(simpleOutMail(2, "c@example.org"))
	st.mu.Lock()
	st.rows[old].m.CreatedAt = clock.now().Add(-73 * time.Hour)
	st.mu.Unlock()
	o.Kick()
	waitUntil(t, deliveryTimeout, "old mail given up", func() bool { return st.row(old).status == "failed" })
	if r := st.row(old); r.m.Attempts != 1 || !strings.Contains(r.m.LastError, "gave up after 1 attempts in 73h") {
		t.Errorf("old row = %+v", r.m)
	}
}

// TestOutboxRestart: rows left pending by one worker are sent by the next
// one at its start, without a Kick.
func TestOutboxRestart(t *testing.T) {
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	srv.Down()
	clock := newTestClock()
	st := newTestOutbox(clock)
	for i := range 3 {
		st.enqueue(simpleOutMail(i, "c@example.org"))
	}
	o1 := NewOutbox(cfg, st, clock.now, nil)
	stop1 := runOutbox(t, o1)
	waitUntil(t, deliveryTimeout, "attempts recorded", func() bool {
		return st.row(3).m.Attempts == 1
	})
	stop1()
	st.enqueue(simpleOutMail(3, "c@example.org")) // enqueued while no worker runs

	srv.Up(t)
	clock.advance(time.Minute)
	o2 := NewOutbox(cfg, st, clock.now, nil)
	runOutbox(t, o2)
	waitUntil(t, deliveryTimeout, "all sent by the new worker", func() bool { return st.count("sent") == 4 })
	if got := len(srv.Mails()); got != 4 {
		t.Errorf("received %d, want 4", got)
	}
}

// TestOutboxConnectionReuse: with one connection, a batch goes over one
// connection, and so do several batches sent in one round. The rows are
// due before each worker starts, so that each round sees all of them.
func TestOutboxConnectionReuse(t *testing.T) {
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	clock := newTestClock()
	st := newTestOutbox(clock)
	cfg.Connections = 1
	for i := range 50 {
		st.enqueue(simpleOutMail(i, "c@example.org"))
	}
	stop := runOutbox(t, NewOutbox(cfg, st, clock.now, nil))
	waitUntil(t, deliveryTimeout, "50 sent", func() bool { return st.count("sent") == 50 })
	stop()
	if got, want := srv.Connections(), 1; got != want {
		t.Errorf("%d connections for a batch of 50, want %d", got, want)
	}
	for i := 50; i < 170; i++ {
		st.enqueue(simpleOutMail(i, "c@example.org"))
	}
	runOutbox(t, NewOutbox(cfg, st, clock.now, nil))
	waitUntil(t, deliveryTimeout, "170 sent", func() bool { return st.count("sent") == 170 })
	if got, want := srv.Connections(), 2; got != want {
		t.Errorf("%d connections after a round of 3 batches, want %d", got, want)
	}
	// Order is kept: oldest first.
	ids := messageIDs(t, srv.Mails())
	for i, id := range ids {
		if want := fmt.Sprintf("<ack-%d@support.example.com>", i); id != want {
			t.Fatalf("mail %d is %s, want %s", i, id, want)
		}
	}
}

// TestOutboxKick: with nothing pending the worker sleeps without a timer;
// only the Kick can wake it, and it does at once.
func TestOutboxKick(t *testing.T) {
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	clock := newTestClock()
	st := newTestOutbox(clock)
	o := NewOutbox(cfg, st, clock.now, nil)
	runOutbox(t, o)
	o.Kick() // a kick with nothing due is harmless
	st.enqueue(simpleOutMail(1, "c@example.org"))
	start := time.Now()
	o.Kick()
	srv.WaitWithin(t, deliveryTimeout, "the kicked row", testenv.To("c@example.org"))
	t.Logf("kick to DATA: %v", time.Since(start))
	if d := time.Since(start); d > time.Second {
		t.Errorf("kick took %v, want at once", d)
	}
}

// TestOutboxStaleConnection: the server drops the connection between two
// mails of a batch; the next send fails at MAIL FROM (no NOOP first), and
// the worker redials and sends it, without sending anything twice.
func TestOutboxStaleConnection(t *testing.T) {
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	clock := newTestClock()
	st := newTestOutbox(clock)
	first := st.enqueue(simpleOutMail(1, "c@example.org"))
	st.enqueue(simpleOutMail(2, "c@example.org"))
	cfg.Connections = 1 // both mails over one session, which the server drops between them
	o := NewOutbox(cfg, st, clock.now, nil)
	o.Hooks.Sent = func(m helpdesk.OutMail, _ time.Time) {
		if m.ID == first {
			srv.CloseLastConn() // the server forgets the idle connection
		}
	}
	runOutbox(t, o)
	waitUntil(t, deliveryTimeout, "both sent", func() bool { return st.count("sent") == 2 })
	if got := len(srv.Mails()); got != 2 {
		t.Errorf("received %d, want 2", got)
	}
	if got, want := srv.Connections(), 2; got != want {
		t.Errorf("%d connections, want %d", got, want)
	}
	st.mu.Lock()
	for id, n := range st.sent {
		if n != 1 {
			t.Errorf("row %d marked sent %d times", id, n)
		}
	}
	st.mu.Unlock()
}

// TestOutboxConnectionLost: the connection breaks in the middle of a
// mail, before the server answers its DATA: the mail is retried with
// backoff as an outage, and the next one goes over a new connection, not
// over the broken one.
func TestOutboxConnectionLost(t *testing.T) {
	wireLeakCheck(t)
	var srv *testenv.SMTP
	broke := false
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{DataErr: func(testenv.Mail) error {
		if broke {
			return nil
		}
		broke = true
		srv.CloseLastConn() // cut off before the answer to DATA
		return &smtp.SMTPError{Code: 451, Message: "never heard"}
	}})
	clock := newTestClock()
	st := newTestOutbox(clock)
	a := st.enqueue(simpleOutMail(1, "c@example.org"))
	b := st.enqueue(simpleOutMail(2, "c@example.org"))
	cfg.Connections = 1
	logger, logs := testLogger()
	o := NewOutbox(cfg, st, clock.now, logger)
	runOutbox(t, o)
	waitUntil(t, deliveryTimeout, "second mail sent", func() bool { return st.row(b).status == "sent" })
	if r := st.row(a); r.status != "pending" || r.m.Attempts != 1 || r.m.LastError == "" {
		t.Errorf("row cut off = %+v, want pending after 1 attempt", r)
	}
	if got := logs.count("smtp server unavailable"); got != 1 {
		t.Errorf("outage logged %d times, want 1:\n%s", got, logs)
	}
	if logs.count("went stale") != 0 {
		t.Errorf("the broken connection was used again:\n%s", logs)
	}
	if got, want := srv.Connections(), 2; got != want {
		t.Errorf("%d connections, want %d", got, want)
	}
	clock.advance(30 * time.Second)
	o.Kick()
	waitUntil(t, deliveryTimeout, "retried mail sent", func() bool { return st.row(a).status == "sent" })
	if got := len(srv.Mails()); got != 2 {
		t.Errorf("received %d mails, want 2", got)
	}
}

// TestOutboxDroppedAfterAccept: the server accepts a mail and drops the
// connection before answering the client's next command (the next mail's
// MAIL FROM; no RSET follows an accepted mail): the mail counts as sent
// (never sent twice), the next one goes over a new connection.
func TestOutboxDroppedAfterAccept(t *testing.T) {
	wireLeakCheck(t)
	dropped := false
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{CloseAfter: func(testenv.Mail) bool {
		if !dropped {
			dropped = true
			return true
		}
		return false
	}})
	clock := newTestClock()
	st := newTestOutbox(clock)
	a := st.enqueue(simpleOutMail(1, "c@example.org"))
	b := st.enqueue(simpleOutMail(2, "c@example.org"))
	cfg.Connections = 1 // the second mail must need a new session
	o := NewOutbox(cfg, st, clock.now, nil)
	runOutbox(t, o)
	waitUntil(t, deliveryTimeout, "both settled", func() bool { return st.count("pending") == 0 })
	if ra, rb := st.row(a), st.row(b); ra.status != "sent" || rb.status != "sent" || ra.m.Attempts != 0 {
		t.Errorf("rows = %+v / %+v, want both sent at the first attempt", ra, rb)
	}
	if got := len(srv.Mails()); got != 2 {
		t.Errorf("received %d, want 2", got)
	}
}

// TestOutboxShutdownFinishesSend cancels the worker from the Sent hook of
// the first mail: that mail is recorded, the rest stays pending.
func TestOutboxShutdownFinishesSend(t *testing.T) {
	wireLeakCheck(t)
	_, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	clock := newTestClock()
	st := newTestOutbox(clock)
	for i := range 3 {
		st.enqueue(simpleOutMail(i, "c@example.org"))
	}
	cfg.Connections = 1
	o := NewOutbox(cfg, st, clock.now, nil)
	ctx, cancel := context.WithCancel(context.Background())
	o.Hooks.Sent = func(helpdesk.OutMail, time.Time) { cancel() }
	if err := o.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got, want := st.count("sent"), 1; got != want {
		t.Errorf("%d sent, want %d", got, want)
	}
	if got, want := st.count("pending"), 2; got != want {
		t.Errorf("%d pending, want %d", got, want)
	}
}

// TestOutboxLanes: with three connections, many due mails go out over
// three sessions at once, each mail once, and the mails of one ticket in
// the order they were enqueued.
func TestOutboxLanes(t *testing.T) {
	wireLeakCheck(t)
	srv, cfg := startSMTPPeer(t, false, testenv.SMTPOptions{})
	clock := newTestClock()
	st := newTestOutbox(clock)
	cfg.Connections, cfg.Batch = 3, 60
	o := NewOutbox(cfg, st, clock.now, nil)
	for i := range 150 {
		m := simpleOutMail(i, fmt.Sprintf("c%d@example.org", i%10))
		m.TicketID = int64(2000 + i%10)
		st.enqueue(m)
	}
	runOutbox(t, o)
	waitUntil(t, deliveryTimeout, "150 sent", func() bool { return st.count("sent") == 150 })
	if got := srv.Connections(); got != 3 {
		t.Errorf("%d connections, want 3 (one per lane)", got)
	}
	last := map[string]int{}
	seen := map[string]bool{}
	for _, id := range messageIDs(t, srv.Mails()) {
		if seen[id] {
			t.Errorf("%s received twice", id)
		}
		seen[id] = true
		var i int
		if _, err := fmt.Sscanf(id, "<ack-%d@support.example.com>", &i); err != nil {
			t.Fatalf("message-id %s: %v", id, err)
		}
		ticket := fmt.Sprint(i % 10)
		if prev, ok := last[ticket]; ok && prev > i {
			t.Errorf("ticket %s: mail %d after mail %d", ticket, i, prev)
		}
		last[ticket] = i
	}
	if len(seen) != 150 {
		t.Errorf("%d distinct mails received, want 150", len(seen))
	}
}

func TestClassifySend(t *testing.T) {
	if got := classifySend(nil); got != sendOK {
		t.Errorf("classifySend(nil) = %v", got)
	}
	if got := classifySend(fmt.Errorf("dial: %w", context.DeadlineExceeded)); got != sendTemporary {
		t.Errorf("a network error is %v, want temporary", got)
	}
}

// BenchmarkOutbox sends b.N mails through a loopback go-smtp server,
// batch by batch over one connection per round.
func BenchmarkOutbox(b *testing.B) {
	srv, cfg := startSMTPPeer(b, false, testenv.SMTPOptions{})
	clock := newTestClock()
	st := newTestOutbox(clock)
	o := NewOutbox(cfg, st, clock.now, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	defer func() { cancel(); <-done }()
	b.ResetTimer()
	for i := range b.N {
		st.enqueue(simpleOutMail(i, "c@example.org"))
	}
	o.Kick()
	// A row is marked sent after the server's 250, which the capture
	// writes once it has recorded the mail: all sent is all received.
	for st.count("sent") < b.N {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
	b.ReportMetric(float64(srv.Connections()), "conns")
}
