package mailbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// OutboxStore is what the outbox worker needs of the store. Rows are
// written by the desk in the transaction of the change that caused them.
type OutboxStore interface {
	// DueOutbox returns up to limit pending rows due at or before now,
	// oldest first, with their attachments.
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]helpdesk.OutMail, error)
	// MarkSending records, before the row is offered to the server, that
	// it is being sent; the outcome's record (MarkSent, MarkRetry,
	// MarkFailed) clears it. A row that still has it at the next start
	// (OutMail.SendingAt) was in flight when the last run ended.
	MarkSending(ctx context.Context, id int64, at time.Time) error
	// MarkSent records that the server accepted the row and, when next is
	// not 0, marks row next as being sent, in one write.
	MarkSent(ctx context.Context, id int64, at time.Time, next int64) error
	// MarkSentIf records that the server accepted row id if it is still
	// the mail messageID, and reports whether it was (a line of the sent
	// journal may be older than the database).
	MarkSentIf(ctx context.Context, id int64, messageID string, at time.Time) (bool, error)
	// MarkRetry records a temporary failure and when to try again.
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error
	// MarkFailed records a permanent failure for every recipient still
	// due; the store adds a delivery-failed event to the row's ticket.
	MarkFailed(ctx context.Context, id int64, at time.Time, reason string) error
	// MarkRecipients records an attempt whose recipients fared
	// differently (RecipientsError): each one's new state, and when the
	// recipients still due are tried again. The row is done once none is
	// due: sent when any recipient got it, failed otherwise.
	MarkRecipients(ctx context.Context, id int64, a helpdesk.DeliveryAttempt) error
	// NextOutboxAttempt returns the earliest next attempt of a pending row.
	NextOutboxAttempt(ctx context.Context) (time.Time, bool, error)
	// DueOutboxRanked is DueOutbox in the order mail goes when the
	// account's limits make it wait: acknowledgements of tickets at the
	// most urgent of levels first, then the other mail to customers by
	// their ticket's priority, then the mail to agents by priority, then
	// escalations and mail of no ticket; oldest first within each.
	DueOutboxRanked(ctx context.Context, now time.Time, limit int, levels helpdesk.Levels) ([]helpdesk.OutMail, error)
	// AcceptedRecipients returns when each recipient the server accepted
	// at or after since got the mail, oldest first.
	AcceptedRecipients(ctx context.Context, since time.Time) ([]time.Time, error)
}

// OutboxHooks are optional callbacks. They run on the worker's goroutines
// (one per connection sending at the time); each may be nil. Sent and
// Failed, for metrics, must not block.
type OutboxHooks struct {
	Sent   func(m helpdesk.OutMail, at time.Time)              // the server accepted the mail (at), and it is recorded
	Failed func(m helpdesk.OutMail, err error, permanent bool) // one attempt failed
	// LoginRefused is told of every login the server refused (or a token
	// the provider would not issue), after AuthFailure says so; it may
	// write to a store, and may enqueue mail.
	LoginRefused func(ctx context.Context, err *AuthError)
	// LoginAccepted is told of the first login of the Outbox that works
	// and of the first after a refusal; it may write to a store.
	LoginAccepted func(ctx context.Context)
	// Throttled says that a limit (LimitRate, LimitDailyRecipients,
	// LimitProviderQuota) began (true) or ceased (false) to hold due
	// mail back. It runs on Run's goroutine.
	Throttled func(limit string, on bool)
}

// Sender is one session with the submission server. The outbox opens one
// per lane (Outbox.Dial) when the lane has mail to send, sends the lane's
// mails over it one at a time, in order, from one goroutine, and closes it
// when the lane is idle or the session cannot be trusted any more. The
// default is an SMTP session of the outbox's SMTPConfig.
type Sender interface {
	// Send submits one mail to the recipients still due (m.Due). nil
	// means the server accepted it for all of them: the row is marked
	// sent and never offered again, even when the session fails right
	// after (the next Send then reports Stale). A *RecipientsError says
	// how each recipient fared when they fared differently. Any other
	// error is a temporary failure of the whole mail unless it says
	// otherwise: see SendError. Send need
	// not watch ctx: once ctx is done no further mail is offered, and a
	// send in flight had better finish so that its outcome is recorded.
	Send(ctx context.Context, m helpdesk.OutMail) error
	// Close ends the session: politely (SMTP QUIT) when it is sound, by
	// just closing the connection after a Send reported it broken or
	// stale. The outbox calls it once and ignores its error.
	Close() error
}

// SendError is how a Sender says what a failed Send means for the mail
// and the session. An error that is not a *SendError (a network or TLS
// error) is a temporary failure that broke the session, like Broken.
type SendError struct {
	Err error
	// Permanent: the mail was refused for good (SMTP 5xx) or cannot be
	// sent at all: the row is marked failed, with an event on its ticket,
	// and never retried. Otherwise the failure is temporary (SMTP 4xx,
	// network): the row is retried with capped exponential backoff
	// (SMTPConfig.Retry) until MaxAttempts or GiveUpAfter.
	Permanent bool
	// Broken: the session cannot send the next mail (connection lost, no
	// reply; a reply refusing one mail leaves it usable). The outbox
	// closes the Sender and the lane's next mail goes over a new one; the
	// failure counts as an outage, logged once until a mail goes through.
	Broken bool
	// Stale: nothing was sent because the session was already gone (the
	// server closed it while it was idle, or it failed after the previous
	// mail). The outbox closes the Sender, dials a new one and sends the
	// mail again at once, without counting an attempt; a second Stale for
	// the same mail counts as a temporary failure of a broken session.
	Stale bool
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// sendFailure reads a Send error as SendError documents it.
func sendFailure(err error) (permanent, broken, stale bool) {
	var se *SendError
	if !errors.As(err, &se) {
		return false, true, false
	}
	return se.Permanent, se.Broken || se.Stale, se.Stale
}

// Outbox is the worker that sends the outbox through Senders, SMTP
// sessions by default. See Run.
type Outbox struct {
	// Hooks are called after each attempt. Set them before Run.
	Hooks OutboxHooks
	// Dial opens the Sender of one lane. NewOutbox sets it to dial the
	// SMTP server of its configuration; replace it before Run. Its errors
	// are temporary: the rows of the lane's batch are rescheduled with
	// backoff, as an outage.
	Dial func(ctx context.Context) (Sender, error)
	// Journal is the file of the sent journal: each mail the server
	// accepts is appended to it in one write before the store records
	// the send, and Run records what an earlier process left in it, so
	// that a kill in between does not send the mail again (see
	// sentJournal). "" means none. Set it before Run.
	Journal string
	// Levels rank the tickets' priorities for the order mail goes in
	// when the account's limits make it wait (DueOutboxRanked); default
	// helpdesk.DefaultLevels. Set it before Run.
	Levels helpdesk.Levels

	cfg  SMTPConfig
	lim  *limiter
	st   OutboxStore
	now  func() time.Time
	log  *slog.Logger
	kick chan struct{}

	journal *sentJournal // nil without Journal
	lanes   []*lane      // one per connection; each owned by the goroutine sending on it
	failing atomic.Bool  // in an outage (server unreachable, connections breaking): logged once
	blocked atomic.Bool  // the store failed a write the outbox needs: logged once until flush succeeds
	started time.Time    // when this worker was made: a row marked sending before was in flight in an earlier run

	mu sync.Mutex
	// authErr is the server's refusal of the last login ("" once one
	// succeeds): the credentials or token need fixing.
	authErr string
	// loginOK: a login worked, and none was refused since.
	loginOK bool
	// unrecorded holds the mails the server accepted whose MarkSent failed
	// (the disk is full): they are never offered again by this process,
	// and are recorded as soon as the store can write. While any is held
	// no other mail is offered, so there are at most Connections of them
	// (plus, at start, the sent journal's lines the store could not take).
	unrecorded map[int64]accepted
}

// accepted is a mail the server accepted, kept until it is recorded as
// sent: its row without the body and attachments, and when.
type accepted struct {
	m  helpdesk.OutMail
	at time.Time
	// journal: a line of an earlier process's sent journal (only the id
	// and Message-ID are known): recorded only if the row is still that
	// mail, and never shown to the hooks.
	journal bool
	// attempt: the mail reached some recipients only; what to record is
	// this attempt (MarkRecipients), not the whole mail as sent.
	attempt *helpdesk.DeliveryAttempt
}

// lane is one session of the outbox and the rows sent over it.
type lane struct {
	s Sender // nil until the lane has mail to send
}

// markTimeout bounds the store writes that record an attempt; they use a
// context that outlives shutdown, so that a mail handed to the server is
// never left marked pending.
const markTimeout = 30 * time.Second

// NewOutbox returns a worker sending the rows of st through the server
// cfg. now is the clock of due times and backoff (nil means time.Now).
func NewOutbox(cfg SMTPConfig, st OutboxStore, now func() time.Time, log *slog.Logger) *Outbox {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Outbox{cfg: cfg.withDefaults(), st: st, now: now, log: log, kick: make(chan struct{}, 1),
		started: now(), unrecorded: map[int64]accepted{}, Levels: helpdesk.DefaultLevels()}
	o.lim = newLimiter(o.cfg)
	o.Dial = func(ctx context.Context) (Sender, error) {
		c, err := dialSMTP(ctx, o.cfg, o.log)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	for range o.cfg.Connections {
		o.lanes = append(o.lanes, &lane{})
	}
	return o
}

// Kick wakes the worker at once, e.g. after the desk enqueued mail. It
// never blocks; kicks while the worker is busy merge into one.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Run sends due rows until ctx is done. Like mox's queue, it sleeps until
// the earliest next attempt or a Kick, then sends every due row, Batch rows
// at a time over up to Connections reused connections at once (the rows of
// one ticket always over the same one, in order), and quits the connections
// when nothing is left. A temporary failure (4xx, network) reschedules the
// row with capped exponential backoff; a permanent refusal (5xx) or a mail
// that cannot be built marks it failed, and so does a temporary failure
// once MaxAttempts or GiveUpAfter is reached. Recipients the server
// answers apart are recorded apart (RecipientsError): a refused one does
// not fail the mail for the others, and a deferred one is retried alone.
// When ctx is done the sends
// in flight finish and are recorded, then Run returns nil. A restart resumes
// from the store, after recording what the sent journal holds (Journal).
// While the store cannot write (a full disk), nothing is offered: a mail
// the server accepted that cannot be recorded is held in memory, never
// offered again, and recorded once a write succeeds. Run returns an error
// only for a configuration that cannot work or a sent journal it cannot
// open.
func (o *Outbox) Run(ctx context.Context) error {
	if err := o.cfg.Validate(); err != nil {
		return err
	}
	if o.Journal != "" {
		j, entries, bad, err := openJournal(o.Journal)
		if err != nil {
			return err
		}
		o.journal = j
		defer j.close()
		if bad > 0 {
			o.log.Warn("sent journal: unreadable lines skipped", "file", o.Journal, "lines", bad)
		}
		o.replay(ctx, entries)
	}
	defer o.closeConns()
	defer o.lastFlush(ctx)
	runRounds(ctx, o.kick, o.safeRound)
	return nil
}

// runRounds calls round until ctx ends, waiting after each call for a
// kick or for the wait it returned (negative: for a kick alone).
func runRounds(ctx context.Context, kick <-chan struct{}, round func(context.Context) time.Duration) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		wait := round(ctx)
		if ctx.Err() != nil {
			return
		}
		var tc <-chan time.Time
		if wait >= 0 {
			t.Reset(wait)
			tc = t.C
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-kick:
		case <-tc:
		}
		t.Stop()
	}
}

// safeRound runs one round and turns a panic into a logged error.
func (o *Outbox) safeRound(ctx context.Context) (wait time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			o.log.Error("panic in outbox", "panic", v, "stack", string(debug.Stack()))
			for _, l := range o.lanes {
				l.drop()
			}
			wait = o.cfg.Retry.Min
		}
	}()
	return o.round(ctx)
}

// round sends everything due that the account's limits let go, and
// returns how long to sleep before the next due row or the moment the
// limits let more go (-1: none pending).
func (o *Outbox) round(ctx context.Context) time.Duration {
	storeRetry := o.cfg.Retry.Min
	if !o.flush(ctx) {
		return storeRetry // nothing is offered while accepted mail is unrecorded
	}
	if o.lim.needsSeed() {
		if err := o.seedBudget(ctx); err != nil {
			if ctx.Err() == nil {
				o.log.Error("read the recipients of the last 24 hours ([smtp] daily_recipients); nothing is sent until it can", "err", err)
			}
			return storeRetry
		}
	}
	held := map[string]time.Time{} // the limits that hold due mail back, and until when
	seen := map[int64]bool{}
	stuck := false // due rows came back unchanged after an attempt
	blocked := 0   // the recipients of the mail the daily budget holds back
	for ctx.Err() == nil {
		now := o.now()
		if until, paused := o.lim.paused(now); paused {
			held[LimitProviderQuota] = until
			o.lim.keepEpisodes(held) // not looked at while paused: as they were
			break
		}
		n, free := o.lim.tokens(now, o.cfg.Batch)
		if n == 0 {
			if o.anyDue(ctx, now) {
				held[LimitRate] = free
			}
			break
		}
		rows, err := o.due(ctx, now, n)
		if err != nil {
			if ctx.Err() == nil {
				o.log.Error("read outbox", "err", err)
			}
			return storeRetry
		}
		var fresh []helpdesk.OutMail
		for _, r := range rows {
			if !seen[r.ID] {
				fresh = append(fresh, r)
			}
		}
		if len(fresh) == 0 {
			stuck = len(rows) > 0
			break
		}
		// In order, as long as the daily budget takes them: a mail that
		// does not fit holds back those after it, so that the budget
		// goes to the most urgent mail first.
		var admitted []helpdesk.OutMail
		for _, r := range fresh {
			if !o.lim.admit(r.ID, max(1, len(r.Due())), now) {
				blocked = max(1, len(r.Due()))
				break
			}
			seen[r.ID] = true
			admitted = append(admitted, r)
		}
		if len(admitted) > 0 {
			err := o.sendLanes(ctx, admitted)
			o.lim.release(rowIDs(admitted)) // what was not sent, nor settled
			if err != nil {
				o.storeFailed(err)
				o.closeConns() // no session idles while the store cannot write
				return storeRetry
			}
			o.resetJournal()
		}
		if blocked > 0 {
			// When it fits, now that this round's sends are settled.
			held[LimitDailyRecipients] = o.lim.budgetFreeAt(o.now(), blocked)
			break
		}
	}
	o.closeConns()
	if ctx.Err() != nil {
		return 0
	}
	o.noteEpisodes(o.now(), held)
	if len(held) > 0 {
		var first time.Time
		for _, at := range held {
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
		return max(0, first.Sub(o.now()))
	}
	next, ok, err := o.st.NextOutboxAttempt(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.log.Error("read next outbox attempt", "err", err)
		}
		return storeRetry
	}
	if !ok {
		return -1
	}
	wait := max(0, next.Sub(o.now()))
	if stuck {
		// The store did not move rows it was told to move: do not spin.
		o.log.Error("outbox rows stay due after an attempt", "retry_in", storeRetry)
		wait = max(wait, storeRetry)
	}
	return wait
}

// due reads up to n due rows: in the order of urgency while the account
// has limits (DueOutboxRanked), oldest first otherwise (cheaper: every due
// row is sent in this round anyway).
func (o *Outbox) due(ctx context.Context, now time.Time, n int) ([]helpdesk.OutMail, error) {
	if o.lim.limited() {
		return o.st.DueOutboxRanked(ctx, now, n, o.Levels)
	}
	return o.st.DueOutbox(ctx, now, n)
}

// anyDue reports whether a row is due at now; an error reads as none (the
// next read reports it).
func (o *Outbox) anyDue(ctx context.Context, now time.Time) bool {
	next, ok, err := o.st.NextOutboxAttempt(ctx)
	return err == nil && ok && !next.After(now)
}

func rowIDs(rows []helpdesk.OutMail) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// seedBudget gives the daily budget the recipients the server accepted in
// the last 24 hours, as the store recorded them (by this process or an
// earlier one).
func (o *Outbox) seedBudget(ctx context.Context) error {
	times, err := o.st.AcceptedRecipients(ctx, o.now().Add(-DailyWindow))
	if err != nil {
		return err
	}
	o.lim.seed(times)
	o.log.Info("daily recipient budget", "daily_recipients", o.cfg.DailyRecipients, "accepted_last_24h", len(times))
	return nil
}

// noteEpisodes logs and hooks the limits that began or ceased to hold due
// mail back in a round: once per episode, not per mail. A provider's
// quota answer is logged when it comes (quotaBackOff).
func (o *Outbox) noteEpisodes(now time.Time, held map[string]time.Time) {
	began, ended := o.lim.episodes(now, held)
	for _, name := range began {
		switch name {
		case LimitRate:
			o.log.Info("outbox throttled by [smtp] rate: due mail waits in the queue, most urgent first", "rate", o.cfg.Rate.String(), "next", held[name])
		case LimitDailyRecipients:
			o.log.Warn("[smtp] daily_recipients reached: due mail waits in the queue, most urgent first, until recipients of the last 24 hours age out",
				"daily_recipients", o.cfg.DailyRecipients, "until", held[name])
		}
		if o.Hooks.Throttled != nil {
			o.Hooks.Throttled(name, true)
		}
	}
	for _, name := range Limits {
		since, ok := ended[name]
		if !ok {
			continue
		}
		o.log.Info("outbox no longer held back", "limit", name, "held_for", now.Sub(since))
		if o.Hooks.Throttled != nil {
			o.Hooks.Throttled(name, false)
		}
	}
}

// quotaBackOff starts or extends the account's back-off after the
// server's quota answer qe at now, and returns when it ends: for a rate,
// the retry backoff (retry_min doubling with each answer of the episode,
// up to retry_max); for a daily quota, the moment the oldest
// recipient accepted in the last 24 hours leaves the rolling window, when
// capacity comes back (retry_max when none is known: the account's quota
// was spent by others); for a full sending mailbox, retry_max. The first
// answer of an episode is logged as a warning, the others at debug level.
func (o *Outbox) quotaBackOff(ctx context.Context, now time.Time, qe *QuotaError) time.Time {
	o.lim.mu.Lock()
	streak := o.lim.streak
	o.lim.mu.Unlock()
	var until time.Time
	switch qe.Kind {
	case QuotaDaily:
		end, ok := o.lim.budgetOldest(now)
		if !ok {
			if times, err := o.st.AcceptedRecipients(ctx, now.Add(-DailyWindow)); err == nil && len(times) > 0 {
				end, ok = times[0].Add(DailyWindow), true
			}
		}
		if ok {
			until = maxTime(end, now.Add(o.cfg.Retry.Min))
		} else {
			until = now.Add(o.cfg.Retry.Max)
		}
	case QuotaMailboxFull:
		until = now.Add(o.cfg.Retry.Max)
	default:
		until = now.Add(o.cfg.Retry.Delay(streak, rand.Float64()))
	}
	words := qe.Err.Error()
	if r := smtpReply(qe.Err); r != nil {
		words = r.words()
	}
	first, _ := o.lim.backOff(until, qe.Kind, words)
	attrs := []any{"quota", qe.Kind.String(), "reply", words, "until", until, "server", o.cfg.Host}
	if first {
		o.log.Warn("the SMTP server refuses more mail from this account for now (a sending quota): mail waits in the queue and goes after the back-off; nothing is given up", attrs...)
	} else {
		o.log.Debug("sending quota answered again", attrs...)
	}
	return until
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// deferQuota records the quota answer to mail m: it waits until the
// back-off ends, with the server's words, without counting an attempt.
func (o *Outbox) deferQuota(ctx context.Context, m helpdesk.OutMail, qe *QuotaError) error {
	until := o.quotaBackOff(ctx, o.now(), qe)
	mctx, cancel := markCtx(ctx)
	defer cancel()
	words := qe.Err.Error()
	if r := smtpReply(qe.Err); r != nil {
		words = r.words()
	}
	if err := o.st.MarkRetry(mctx, m.ID, m.Attempts, until, words); err != nil {
		return fmt.Errorf("mark %d for retry: %w", m.ID, err)
	}
	o.log.Debug("mail waits for the sending quota", append(rowAttrs(m), "until", until)...)
	if o.Hooks.Failed != nil {
		o.Hooks.Failed(m, qe, false)
	}
	return nil
}

// dialError is a failure to reach the server: no row of the batch can be
// sent now.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// sendLanes shares rows among the lanes by ticket, so that the mails of
// one ticket go over one connection in order, and sends the lanes at once.
// It returns the first store error; send failures are recorded on the
// rows. A panic on a lane is logged, drops that lane's connection and
// leaves its rows due.
func (o *Outbox) sendLanes(ctx context.Context, rows []helpdesk.OutMail) error {
	if len(o.lanes) == 1 || len(rows) == 1 {
		return o.sendBatch(ctx, o.lanes[0], rows)
	}
	parts := make([][]helpdesk.OutMail, len(o.lanes))
	for _, r := range rows {
		i := int(uint64(r.TicketID) % uint64(len(o.lanes)))
		parts[i] = append(parts[i], r)
	}
	errs := make([]error, len(o.lanes))
	var wg sync.WaitGroup
	for i, l := range o.lanes {
		if len(parts[i]) == 0 {
			continue
		}
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					o.log.Error("panic in outbox", "panic", v, "stack", string(debug.Stack()))
					l.drop()
				}
			}()
			errs[i] = o.sendBatch(ctx, l, parts[i])
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendBatch sends rows in order over the lane's session. Each mail is
// marked as being sent before it is offered (with the record of the mail
// before it, one write per mail), so that a crash can repeat only a mail
// the server accepted in the moment before its outcome was written, and
// the next run names it. Nothing is offered that could not be marked. It
// returns only store errors; send failures are recorded on the rows.
func (o *Outbox) sendBatch(ctx context.Context, l *lane, rows []helpdesk.OutMail) error {
	var marked int64 // the row marked as being sent with the previous mail's record
	for i, row := range rows {
		if ctx.Err() != nil {
			return nil // shutting down: the rest stays due for the next start
		}
		if _, paused := o.lim.paused(o.now()); paused {
			// The server answered that the account sent too much (here
			// or on another lane): the rest waits for the back-off.
			if marked == row.ID {
				return o.unmark(ctx, row)
			}
			return nil
		}
		if l.s == nil {
			// A mail that cannot be built fails without a session: it
			// neither waits for the server nor opens a session of its own.
			if _, err := BuildMessage(row); err != nil {
				if err := o.fail(ctx, row, err); err != nil {
					return err
				}
				continue
			}
		}
		if marked != row.ID {
			if err := o.st.MarkSending(ctx, row.ID, o.now()); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("mark %d sending: %w", row.ID, err)
			}
			o.wroteAgain()
		}
		marked = 0
		if !row.SendingAt.IsZero() && row.SendingAt.Before(o.started) {
			// RFC 1047: a client that loses the reply to the end of DATA
			// cannot know whether the server took the mail.
			o.log.Warn("the last run ended while this mail was being sent: it may reach its recipients twice, with the same Message-ID",
				append(rowAttrs(row), "sending_since", row.SendingAt)...)
		}
		err := o.submit(ctx, l, row)
		var de *dialError
		if errors.As(err, &de) {
			if ctx.Err() != nil {
				return nil // cancelled while dialling: nothing was sent
			}
			if qe := quotaOf(de.err); qe != nil {
				// Refused before any mail (too many connections or logins):
				// this row waits for the back-off, the rest stays due.
				return o.deferQuota(ctx, row, qe)
			}
			for _, r := range rows[i:] {
				if err := o.retry(ctx, r, de.err, true); err != nil {
					return err
				}
			}
			return nil
		}
		if err == nil {
			at := o.now()
			o.lim.settle(row.ID, at, true, len(row.Due()))
			if o.journal != nil {
				if err := o.journal.add(row.ID, row.MessageID, at); err != nil {
					o.log.Debug("mail accepted; the sent journal cannot take it", append(rowAttrs(row), "err", err)...)
				}
			}
			var next int64
			if i+1 < len(rows) && ctx.Err() == nil {
				next = rows[i+1].ID
			}
			if err := o.sent(ctx, row, at, next); err != nil {
				return err
			}
			marked = next
			continue
		}
		var re *RecipientsError
		if errors.As(err, &re) {
			if re.Broken {
				l.drop()
			}
			o.lim.settle(row.ID, o.now(), true, countDelivered(re.Results))
			if err := o.sentApart(ctx, row, re); err != nil {
				return err
			}
			continue
		}
		o.lim.settle(row.ID, o.now(), true, 0)
		permanent, broken, _ := sendFailure(err)
		if broken {
			l.drop()
		}
		if qe := quotaOf(err); qe != nil {
			if err := o.deferQuota(ctx, row, qe); err != nil {
				return err
			}
			continue // the next row sees the back-off and stops the lane
		}
		if permanent {
			err = o.fail(ctx, row, err)
		} else {
			err = o.retry(ctx, row, err, broken)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unmark clears the sending mark of a row that was marked with the
// record of the mail before it but is not offered after all: it stays
// due as it was.
func (o *Outbox) unmark(ctx context.Context, m helpdesk.OutMail) error {
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := o.st.MarkRetry(mctx, m.ID, m.Attempts, m.NextAttemptAt, m.LastError); err != nil {
		return fmt.Errorf("mark %d not sending: %w", m.ID, err)
	}
	return nil
}

// submit sends one mail, dialling when the lane has no session. A reused
// session that turns out stale (the server closed it while idle) has sent
// nothing: redial once and send again.
func (o *Outbox) submit(ctx context.Context, l *lane, row helpdesk.OutMail) error {
	for try := 0; ; try++ {
		if l.s == nil {
			s, err := o.Dial(ctx)
			o.noteLogin(ctx, err)
			if err == nil && s == nil {
				err = errors.New("outbox: Dial returned no Sender")
			}
			if err != nil {
				return &dialError{err}
			}
			l.s = s
		}
		err := l.s.Send(ctx, row)
		if _, _, stale := sendFailure(err); try == 0 && err != nil && stale {
			o.log.Debug("smtp connection went stale; redialling", "err", err)
			l.drop()
			continue
		}
		return err
	}
}

// closeConns ends the sessions of the lanes.
func (o *Outbox) closeConns() {
	for _, l := range o.lanes {
		l.drop()
	}
}

// drop closes the lane's session, if any; the next mail dials a new one.
func (l *lane) drop() {
	if l.s != nil {
		l.s.Close()
		l.s = nil
	}
}

// markCtx returns a context for recording an attempt that survives the
// cancellation of ctx.
func markCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
}

func rowAttrs(m helpdesk.OutMail) []any {
	return []any{"outbox", m.ID, "message_id", m.MessageID, "ticket_id", m.TicketID, "kind", string(m.Kind)}
}

// sent records an accepted mail and marks the lane's next row, if any, as
// being sent. When the store cannot write (a full disk), the mail is kept
// in memory (remember) and recorded by a later round; the error stops the
// lane, and nothing more is offered until the store writes again.
func (o *Outbox) sent(ctx context.Context, m helpdesk.OutMail, at time.Time, next int64) error {
	if o.failing.CompareAndSwap(true, false) {
		o.log.Info("smtp server reachable again")
	}
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := o.st.MarkSent(mctx, m.ID, at, next); err != nil {
		o.remember(accepted{m: m, at: at}, err)
		return fmt.Errorf("mark %d sent: %w", m.ID, err)
	}
	o.wroteAgain()
	o.log.Debug("mail sent", rowAttrs(m)...)
	if o.Hooks.Sent != nil {
		o.Hooks.Sent(m, at)
	}
	return nil
}

// wroteAgain notes a successful write: after storeFailed, it is logged.
func (o *Outbox) wroteAgain() {
	if o.blocked.Load() && o.blocked.CompareAndSwap(true, false) {
		o.log.Info("outbox writes to the store again; sending resumes")
	}
}

// remember keeps a mail the server accepted whose record failed, so that
// this process never offers it again.
func (o *Outbox) remember(a accepted, err error) {
	a.m.Text, a.m.HTML, a.m.Attachments, a.m.Headers = "", "", nil, nil
	o.mu.Lock()
	o.unrecorded[a.m.ID] = a
	n := len(o.unrecorded)
	o.mu.Unlock()
	o.log.Warn("mail accepted by the SMTP server, but the store cannot record it: kept in memory until it can, never sent again by this process; a restart before then sends it again unless the sent journal holds it",
		append(rowAttrs(a.m), "unrecorded", n, "err", err)...)
}

// AuthFailure is the SMTP server's refusal of the last login (an
// AuthError: a 53x answer to AUTH, or a token the provider would not
// issue), or "" once a login succeeds. /healthz reports it.
func (o *Outbox) AuthFailure() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.authErr
}

// noteLogin keeps the outcome of a dial for AuthFailure: a refused login
// is logged once as an error, the first success after it once; and tells
// the hooks.
func (o *Outbox) noteLogin(ctx context.Context, err error) {
	var ae *AuthError
	refused := errors.As(err, &ae)
	if !refused && err != nil {
		return // a network fault says nothing of the credentials
	}
	o.mu.Lock()
	before, told := o.authErr, o.loginOK
	o.authErr, o.loginOK = "", !refused
	if refused {
		o.authErr = ae.Error()
	}
	o.mu.Unlock()
	switch {
	case refused && o.Hooks.LoginRefused != nil:
		defer o.Hooks.LoginRefused(ctx, ae)
	case !refused && !told && o.Hooks.LoginAccepted != nil:
		defer o.Hooks.LoginAccepted(ctx)
	}
	switch {
	case refused && before == "":
		o.log.Error("smtp login refused: check [smtp]'s username and password or OAuth2 settings; mail waits and is retried", "server", ae.Server, "user", o.cfg.Username, "err", ae.Err)
	case !refused && before != "":
		o.log.Info("smtp login accepted again", "server", o.cfg.Host, "port", o.cfg.Port)
	}
}

// Unrecorded returns how many mails the server accepted that the store
// could not record as sent yet (the disk is full). /healthz reports them.
func (o *Outbox) Unrecorded() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.unrecorded)
}

// flush records the mails remember kept, oldest first, and reports whether
// none is left. The first success after a failed write is logged.
func (o *Outbox) flush(ctx context.Context) bool {
	o.mu.Lock()
	held := make([]accepted, 0, len(o.unrecorded))
	for _, a := range o.unrecorded {
		held = append(held, a)
	}
	o.mu.Unlock()
	if len(held) == 0 {
		return true
	}
	slices.SortFunc(held, func(a, b accepted) int { return cmp.Compare(a.m.ID, b.m.ID) })
	mctx, cancel := markCtx(ctx)
	defer cancel()
	for _, a := range held {
		var err error
		switch {
		case a.attempt != nil:
			err = o.st.MarkRecipients(mctx, a.m.ID, *a.attempt)
		case a.journal:
			_, err = o.st.MarkSentIf(mctx, a.m.ID, a.m.MessageID, a.at)
		default:
			err = o.st.MarkSent(mctx, a.m.ID, a.at, 0)
		}
		if err != nil {
			o.storeFailed(fmt.Errorf("record mail %d as sent: %w", a.m.ID, err))
			return false
		}
		o.mu.Lock()
		delete(o.unrecorded, a.m.ID)
		o.mu.Unlock()
		o.log.Debug("mail recorded as sent", rowAttrs(a.m)...)
		if o.Hooks.Sent != nil && !a.journal {
			o.Hooks.Sent(a.m, a.at)
		}
	}
	o.blocked.Store(false)
	o.resetJournal()
	ids := make([]string, len(held))
	for i, a := range held {
		ids[i] = a.m.MessageID
	}
	o.log.Info("the store writes again: recorded as sent the mails the SMTP server accepted meanwhile; sending resumes",
		"recorded", len(held), "message_ids", ids)
	return true
}

// replay records as sent the mails an earlier process wrote to the sent
// journal: the server accepted them, and the process may have been killed
// before the store recorded it. What the store cannot record now is held
// as unrecorded, and the journal kept until it is.
func (o *Outbox) replay(ctx context.Context, entries []journalEntry) {
	if len(entries) == 0 {
		o.resetJournal()
		return
	}
	mctx, cancel := markCtx(ctx)
	defer cancel()
	ids := make([]int64, 0, len(entries))
	for _, e := range entries {
		found, err := o.st.MarkSentIf(mctx, e.id, e.messageID, e.at)
		if err != nil {
			// Only the id is known; the hooks never see it (the earlier
			// process accepted it).
			o.remember(accepted{m: helpdesk.OutMail{ID: e.id, MessageID: e.messageID}, at: e.at, journal: true}, err)
			continue
		}
		if !found {
			o.log.Warn("sent journal names a mail the database does not hold under that id (a database restored from a backup?): line ignored",
				"outbox", e.id, "message_id", e.messageID)
			continue
		}
		ids = append(ids, e.id)
	}
	o.log.Info("recorded as sent the mails the SMTP server had accepted when the last run ended (sent journal): they are not sent again",
		"recorded", len(ids), "outbox_ids", ids)
	o.resetJournal()
}

// resetJournal empties the sent journal once the store holds every send
// in it: no lane is sending and nothing is held unrecorded.
func (o *Outbox) resetJournal() {
	if o.journal == nil || o.Unrecorded() > 0 {
		return
	}
	if err := o.journal.reset(); err != nil {
		o.log.Warn("cannot empty the sent journal; it grows until it can", "file", o.Journal, "err", err)
	}
}

// lastFlush records, at shutdown, what flush could not; what is still
// unrecorded then is named, since the next start sends it again.
func (o *Outbox) lastFlush(ctx context.Context) {
	if o.flush(ctx) {
		return
	}
	o.mu.Lock()
	var ids []string
	for _, a := range o.unrecorded {
		ids = append(ids, a.m.MessageID)
	}
	o.mu.Unlock()
	slices.Sort(ids)
	o.log.Error("stopping with mails the SMTP server accepted that the store could not record: the next start sends them again unless the sent journal holds them",
		"mails", len(ids), "message_ids", ids)
}

// storeFailed logs that the outbox could not write what it must (once,
// until a write succeeds): nothing more is offered until it can.
func (o *Outbox) storeFailed(err error) {
	if o.blocked.CompareAndSwap(false, true) {
		o.log.Error("outbox cannot write to the store: no mail is sent until it can", "err", err,
			"unrecorded", o.Unrecorded(), "retry_in", o.cfg.Retry.Min)
		return
	}
	o.log.Debug("outbox still cannot write to the store", "err", err)
}

// fail records a permanent failure; the store adds the event to the
// ticket.
func (o *Outbox) fail(ctx context.Context, m helpdesk.OutMail, cause error) error {
	return o.markFailed(ctx, m, cause.Error(), cause)
}

func (o *Outbox) markFailed(ctx context.Context, m helpdesk.OutMail, reason string, cause error) error {
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := o.st.MarkFailed(mctx, m.ID, o.now(), reason); err != nil {
		return fmt.Errorf("mark %d failed: %w", m.ID, err)
	}
	o.log.Warn("mail not delivered", append(rowAttrs(m), "reason", reason)...)
	if o.Hooks.Failed != nil {
		o.Hooks.Failed(m, cause, true)
	}
	return nil
}

// retry reschedules a row after a temporary failure, or gives it up when
// it has tried long enough. outage says the server could not be reached or
// the connection broke (logged once until a mail goes through again), as
// opposed to a 4xx about this one mail (logged with the mail).
func (o *Outbox) retry(ctx context.Context, m helpdesk.OutMail, cause error, outage bool) error {
	now := o.now()
	attempts := m.Attempts + 1
	if o.exhausted(m, attempts, now) {
		return o.markFailed(ctx, m, o.giveUpReason(m, attempts, now, cause.Error()), cause)
	}
	next := now.Add(o.cfg.Retry.Delay(attempts-1, rand.Float64()))
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := o.st.MarkRetry(mctx, m.ID, attempts, next, cause.Error()); err != nil {
		return fmt.Errorf("mark %d for retry: %w", m.ID, err)
	}
	attrs := append(rowAttrs(m), "attempts", attempts, "next", next, "err", cause)
	switch {
	case !outage:
		o.log.Info("mail deferred by the server", attrs...)
	case o.failing.CompareAndSwap(false, true):
		o.log.Warn("smtp server unavailable; retrying with backoff", "err", cause)
		fallthrough
	default:
		o.log.Debug("mail deferred", attrs...)
	}
	if o.Hooks.Failed != nil {
		o.Hooks.Failed(m, cause, false)
	}
	return nil
}

// exhausted reports whether a mail whose attempt number attempts failed
// temporarily has tried long enough (MaxAttempts, GiveUpAfter).
func (o *Outbox) exhausted(m helpdesk.OutMail, attempts int, now time.Time) bool {
	return (o.cfg.MaxAttempts > 0 && attempts >= o.cfg.MaxAttempts) ||
		(o.cfg.GiveUpAfter > 0 && !m.CreatedAt.IsZero() && now.Sub(m.CreatedAt) >= o.cfg.GiveUpAfter)
}

func (o *Outbox) giveUpReason(m helpdesk.OutMail, attempts int, now time.Time, last string) string {
	return fmt.Sprintf("gave up after %d attempts in %v: %s", attempts, now.Sub(m.CreatedAt).Round(time.Second), last)
}

// sentApart records an attempt whose recipients fared differently: those
// that got the mail never get it again, those refused are named on the
// ticket, and those deferred (or left unanswered by a broken session) are
// tried again with backoff, alone, until the mail gives up on them as
// refused.
func (o *Outbox) sentApart(ctx context.Context, m helpdesk.OutMail, re *RecipientsError) error {
	now := o.now()
	var quotaUntil time.Time // the server's quota answer ended the attempt: the rest waits for the back-off
	var qe *QuotaError
	if errors.As(re.Err, &qe) {
		quotaUntil = o.quotaBackOff(ctx, now, qe)
	}
	a := helpdesk.DeliveryAttempt{At: now, Results: append([]helpdesk.Recipient(nil), re.Results...)}
	var delivered, refused, due []string
	var why []string // the words of the deferrals, for the row's error
	for i := range a.Results {
		r := &a.Results[i]
		switch r.State {
		case helpdesk.RecipientDelivered:
			delivered = append(delivered, r.Email)
		case helpdesk.RecipientRefused:
			refused = append(refused, r.Email+" ("+r.Reply+")")
		default:
			due = append(due, r.Email)
			if r.Reply != "" {
				why = append(why, r.Email+": "+r.Reply)
			}
		}
	}
	lastErr := strings.Join(why, "; ")
	if re.Err != nil && re.Broken {
		lastErr = strings.TrimPrefix(lastErr+"; "+re.Err.Error(), "; ")
	}
	if len(due) > 0 && qe != nil {
		// Not the recipients' fault: no attempt counted, nothing given up.
		a.Attempts, a.LastError, a.Next = m.Attempts, lastErr, quotaUntil
		if r := smtpReply(qe.Err); r != nil {
			a.LastError = r.words()
		}
	} else if len(due) > 0 {
		attempts := m.Attempts + 1
		if o.exhausted(m, attempts, now) {
			for i := range a.Results {
				if r := &a.Results[i]; r.State.Due() {
					last := r.Reply
					if last == "" {
						last = lastErr
					}
					r.State, r.Reply = helpdesk.RecipientRefused, o.giveUpReason(m, attempts, now, last)
					refused = append(refused, r.Email+" ("+r.Reply+")")
				}
			}
			due = nil
		} else {
			a.Attempts, a.LastError = attempts, lastErr
			a.Next = now.Add(o.cfg.Retry.Delay(attempts-1, rand.Float64()))
		}
	}
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := o.st.MarkRecipients(mctx, m.ID, a); err != nil {
		if len(delivered) > 0 {
			// Some got it: as for a mail sent whole, this process must
			// never offer it to them again (remember).
			o.remember(accepted{m: m, at: now, attempt: &a}, err)
		}
		return fmt.Errorf("mark %d recipients: %w", m.ID, err)
	}
	attrs := append(rowAttrs(m), "delivered", delivered)
	if len(refused) > 0 {
		o.log.Warn("mail not delivered to some recipients", append(attrs, "refused", refused)...)
	}
	if len(due) > 0 {
		o.log.Info("mail deferred for some recipients", append(attrs, "deferred", due, "attempts", a.Attempts, "next", a.Next, "err", lastErr)...)
	}
	if len(delivered) > 0 {
		if o.failing.CompareAndSwap(true, false) {
			o.log.Info("smtp server reachable again")
		}
		if o.Hooks.Sent != nil {
			o.Hooks.Sent(m, now)
		}
	}
	if o.Hooks.Failed != nil {
		if len(refused) > 0 {
			o.Hooks.Failed(m, re, true)
		}
		if len(due) > 0 {
			o.Hooks.Failed(m, re, false)
		}
	}
	return nil
}
