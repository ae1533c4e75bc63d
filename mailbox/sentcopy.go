package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/helpdeskd/helpdesk"
)

// SentFolderAuto as a Sent folder means the folder the server marks with
// the \Sent special-use attribute (RFC 6154), found by LIST.
const SentFolderAuto = "auto"

// SentCopyQueue is what capturing Sent copies needs of the store.
type SentCopyQueue interface {
	// SentCopyFor returns the mailbox of outbox row id's ticket when the
	// row is mail to the customer's side ("" otherwise), and the bytes
	// already queued as its copy (nil when none).
	SentCopyFor(ctx context.Context, id int64) (mailbox string, raw []byte, err error)
	// QueueSentCopy keeps raw as the copy of row id for mailbox; a row
	// keeps the first copy queued.
	QueueSentCopy(ctx context.Context, id int64, mailbox string, raw []byte) error
}

// SentCopies captures, for the mailboxes that keep Sent copies, the exact
// bytes of each mail to a ticket's customer side before the SMTP server is
// offered them (see Wrap). A SentCopier per mailbox then appends them.
type SentCopies struct {
	st    SentCopyQueue
	boxes map[string]bool
}

// NewSentCopies returns the capture of the copies of the named mailboxes'
// mail.
func NewSentCopies(st SentCopyQueue, mailboxes []string) *SentCopies {
	sc := &SentCopies{st: st, boxes: map[string]bool{}}
	for _, b := range mailboxes {
		sc.boxes[b] = true
	}
	return sc
}

// Wrap returns a Sender that sends through s, rendering each mail to a
// customer of a mailbox with a Sent folder once (RenderMessage), keeping
// the bytes in the store as its Sent copy before they are offered, and
// offering exactly those bytes at this and every later attempt (OutMail.Raw).
// The copy thus exists before the server can accept the mail, whenever
// the process dies, and holds what the recipients got. A store that
// cannot read or keep the copy fails the attempt as a temporary failure of
// the mail, the session left sound: nothing is offered without its copy.
func (sc *SentCopies) Wrap(s Sender) Sender { return copySender{Sender: s, sc: sc} }

type copySender struct {
	Sender
	sc *SentCopies
}

// Send implements Sender.
func (c copySender) Send(ctx context.Context, m helpdesk.OutMail) error {
	if !m.ToCustomer || m.TicketID == 0 || m.Raw != nil || len(c.sc.boxes) == 0 {
		return c.Sender.Send(ctx, m)
	}
	box, raw, err := c.sc.st.SentCopyFor(ctx, m.ID)
	if err != nil {
		return &SendError{Err: err}
	}
	if !c.sc.boxes[box] {
		return c.Sender.Send(ctx, m)
	}
	if raw == nil {
		if raw, err = RenderMessage(m); err != nil {
			return &SendError{Err: err, Permanent: true}
		}
		if err := c.sc.st.QueueSentCopy(ctx, m.ID, box, raw); err != nil {
			return &SendError{Err: err}
		}
	}
	m.Raw = raw
	return c.Sender.Send(ctx, m)
}

// SentCopyStore is what a SentCopier needs of the store.
type SentCopyStore interface {
	// DueSentCopies returns up to limit copies of mailbox due at or
	// before now whose mail went out, oldest first, without their bytes.
	DueSentCopies(ctx context.Context, mailbox string, now time.Time, limit int) ([]helpdesk.SentCopy, error)
	// SentCopyRaw returns the bytes of copy id.
	SentCopyRaw(ctx context.Context, id int64) ([]byte, error)
	// MarkSentCopyAppending records, before its APPEND, that copy id is
	// being appended.
	MarkSentCopyAppending(ctx context.Context, id int64, at time.Time) error
	// FinishSentCopy records copy id appended (skipped "") or never to be
	// appended (skipped says why), and forgets its bytes.
	FinishSentCopy(ctx context.Context, id int64, at time.Time, skipped string) error
	// RetrySentCopy records a failed attempt; inDoubt says the server may
	// have stored the copy anyway.
	RetrySentCopy(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, inDoubt bool) error
	// NextSentCopy returns when the next copy of mailbox whose mail went
	// out is due.
	NextSentCopy(ctx context.Context, mailbox string) (time.Time, bool, error)
	// DropUnsentCopies drops the copies of mail that reached nobody.
	DropUnsentCopies(ctx context.Context) (int, error)
}

// SentCopyConfig is one mailbox's Sent folder. Zero fields take the
// defaults named on each.
type SentCopyConfig struct {
	IMAP   IMAPConfig // the mailbox: its login, and the folders a copy must never go to
	Folder string     // the Sent folder, or SentFolderAuto
	Batch  int        // copies read per round; default 20
	// Retry spaces the attempts after a failure: of the connection (the
	// copier waits) or of one copy (that copy waits). Default 30s doubling
	// to 1h, 20% jitter.
	Retry Backoff
}

// SentCopyHooks are optional callbacks for metrics; they run on the
// copier's goroutine and must not block.
type SentCopyHooks struct {
	Appended func()          // a copy was appended (or found in the folder already)
	Skipped  func()          // a copy will never be appended (too large for the server)
	Failed   func(err error) // an attempt failed; it is retried
}

// SentCopyState is what a SentCopier is doing, for /healthz.
type SentCopyState struct {
	Mailbox     string
	Folder      string    // as configured; the folder found when "auto"
	LastError   string    // the failure of the current episode; "" once copies go through
	LastErrorAt time.Time // when LastError happened
}

// SentCopier appends one mailbox's Sent copies to its Sent folder over a
// connection of its own, opened when copies are due and closed when none
// is left (never the fetcher's IDLE session). See Run.
type SentCopier struct {
	// Now is the clock of due times and backoff; nil means time.Now. Set
	// it before Run.
	Now func() time.Time
	// Hooks are called after each copy. Set them before Run.
	Hooks SentCopyHooks

	cfg  SentCopyConfig
	st   SentCopyStore
	log  *slog.Logger
	kick chan struct{}

	failures int       // consecutive rounds that failed before their copies (connection, folder)
	conn     *copyConn // kept between rounds for copyLinger; nil when closed

	mu    sync.Mutex
	state SentCopyState
}

// NewSentCopier returns the copier of cfg's mailbox.
func NewSentCopier(cfg SentCopyConfig, st SentCopyStore, log *slog.Logger) *SentCopier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.IMAP = cfg.IMAP.withDefaults()
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	cfg.Retry = cfg.Retry.orDefault(Backoff{Min: 30 * time.Second, Max: time.Hour})
	return &SentCopier{cfg: cfg, st: st, kick: make(chan struct{}, 1),
		log:   log.With("mailbox", cfg.IMAP.Name, "component", "sent-copies"),
		state: SentCopyState{Mailbox: cfg.IMAP.Name, Folder: cfg.Folder}}
}

// Kick wakes the copier at once, e.g. after the outbox sent mail. It never
// blocks.
func (c *SentCopier) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// State returns a snapshot of the copier for /healthz.
func (c *SentCopier) State() SentCopyState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *SentCopier) now() time.Time { return nowOf(c.Now) }

// Run appends due copies until ctx is done, then returns nil. Like the
// outbox it sleeps until the next copy is due or a Kick, then logs in (or
// reuses its connection, kept copyLinger after its last copy) and appends
// every due copy with the \Seen flag and the time it was sent (RFC 9051
// §6.3.12). A copy the server's APPENDLIMIT (RFC
// 7889) or a TOOBIG answer says is too large is skipped for good, with a
// warning. A copy whose APPEND outcome is unknown (the process died, or
// the connection broke, after the command went out) is first searched for
// by Message-ID and only appended when the folder does not hold it, so a
// restart appends it once. Failures are retried with capped exponential
// backoff, logged once per episode, never given up. Run returns an error
// only for a configuration that cannot work.
func (c *SentCopier) Run(ctx context.Context) error {
	if err := c.cfg.IMAP.Validate(); err != nil {
		return err
	}
	if c.cfg.Folder == "" {
		return fmt.Errorf("sent copies of %s: no folder", c.cfg.IMAP.Name)
	}
	defer c.closeConn(true)
	runRounds(ctx, c.kick, func(ctx context.Context) time.Duration { return c.linger(c.safeRound(ctx)) })
	return nil
}

// linger closes the kept connection once it has idled copyLinger, and
// otherwise shortens wait (-1: until a Kick) to wake when it has.
func (c *SentCopier) linger(wait time.Duration) time.Duration {
	if c.conn == nil {
		return wait
	}
	left := copyLinger - time.Since(c.conn.used)
	if left <= 0 {
		c.closeConn(true)
		return wait
	}
	if wait < 0 || left < wait {
		return left
	}
	return wait
}

// safeRound runs one round and turns a panic into a logged error.
func (c *SentCopier) safeRound(ctx context.Context) (wait time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in sent copies", "panic", v, "stack", string(debug.Stack()))
			c.closeConn(false)
			wait = c.cfg.Retry.Min
		}
	}()
	return c.round(ctx)
}

// round appends what is due and returns how long to sleep (-1: until a
// Kick).
func (c *SentCopier) round(ctx context.Context) time.Duration {
	if n, err := c.st.DropUnsentCopies(ctx); err != nil {
		c.failed(fmt.Errorf("store: %w", err), false)
		return c.cfg.Retry.Min
	} else if n > 0 {
		c.log.Info("sent copies dropped: their mail reached nobody", "dropped", n)
	}
	due, err := c.st.DueSentCopies(ctx, c.cfg.IMAP.Name, c.now(), c.cfg.Batch)
	if err != nil {
		c.failed(fmt.Errorf("store: %w", err), false)
		return c.cfg.Retry.Min
	}
	if len(due) > 0 {
		if err := c.session(ctx, due); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			var auth *AuthError
			var fe *folderError
			isAuth := errors.As(err, &auth)
			c.failed(err, isAuth || errors.As(err, &fe))
			step := c.failures - 1
			if isAuth {
				step += authBackoffSteps
			}
			return c.cfg.Retry.Delay(step, rand.Float64())
		}
		if len(due) == c.cfg.Batch {
			return 0 // more may be due
		}
	}
	next, ok, err := c.st.NextSentCopy(ctx, c.cfg.IMAP.Name)
	if err != nil {
		c.failed(fmt.Errorf("store: %w", err), false)
		return c.cfg.Retry.Min
	}
	if !ok {
		return -1
	}
	return max(0, next.Sub(c.now()))
}

// failed notes a round that could not append: logged once per episode,
// an error when someone must act (refused login, a folder that cannot be
// used), a warning otherwise.
func (c *SentCopier) failed(err error, act bool) {
	c.failures++
	c.mu.Lock()
	first := c.state.LastError == ""
	c.state.LastError, c.state.LastErrorAt = err.Error(), c.now()
	c.mu.Unlock()
	if c.Hooks.Failed != nil {
		c.Hooks.Failed(err)
	}
	switch {
	case !first:
		c.log.Debug("sent copies still cannot be appended", "err", err, "attempt", c.failures)
	case act:
		c.log.Error("sent copies cannot be appended: the mail went out, its copies wait in the database and are retried with backoff", "folder", c.cfg.Folder, "err", err)
	default:
		c.log.Warn("sent copies cannot be appended now: the mail went out, its copies wait in the database and are retried with backoff", "folder", c.cfg.Folder, "err", err)
	}
}

// recovered notes a round that appended again.
func (c *SentCopier) recovered() {
	c.mu.Lock()
	was := c.state.LastError
	c.state.LastError, c.state.LastErrorAt = "", time.Time{}
	c.mu.Unlock()
	if was != "" {
		c.log.Info("sent copies are appended again", "after_failures", c.failures)
	}
	c.failures = 0
}

// folderError is a Sent folder that cannot be used (none marked \Sent,
// the intake folder): someone must act.
type folderError struct{ err error }

func (e *folderError) Error() string { return e.err.Error() }
func (e *folderError) Unwrap() error { return e.err }

// copyLinger is how long the copier keeps its connection after its last
// copy: mail to customers comes in bursts, and a login per copy would
// cost the server a login per mail sent.
const copyLinger = time.Minute

// copyConn is the copier's connection, kept for copyLinger after use;
// only the Run goroutine touches it.
type copyConn struct {
	ic      *imapConn
	folder  string
	limit   int64 // the server's APPENDLIMIT for folder; 0: none said
	created bool  // the folder was created in this session (TRYCREATE)
	used    time.Time
}

// do runs one command bounded by the command timeout; a command without
// an answer closes the connection.
func (cc *copyConn) do(timeout time.Duration) func(string, func() error) error {
	return func(what string, fn func() error) error {
		return withDeadline(timeout, func() { cc.ic.c.Close() }, what, fn)
	}
}

// open returns the copier's connection: the one kept from the last round
// when it still answers a NOOP, or a new one, logged in, its Sent folder
// and APPENDLIMIT found.
func (c *SentCopier) open(ctx context.Context) (*copyConn, error) {
	if cc := c.conn; cc != nil {
		switch {
		case !cc.ic.relogin.IsZero() && !time.Now().Before(cc.ic.relogin):
			c.closeConn(true) // its OAuth2 token is about to expire: a new login
		case cc.do(c.cfg.IMAP.CommandTimeout)("noop", func() error { return cc.ic.c.Noop().Wait() }) == nil:
			return cc, nil
		default:
			c.closeConn(false) // gone while it waited: a new one
		}
	}
	ic, err := dialIMAP(ctx, c.cfg.IMAP, c.log, nil)
	if err != nil {
		return nil, err
	}
	cc := &copyConn{ic: ic}
	do := cc.do(c.cfg.IMAP.CommandTimeout)
	if cc.folder, err = c.folder(ic, do); err == nil {
		cc.limit, err = c.appendLimit(ic, do, cc.folder)
	}
	if err != nil {
		ic.c.Close()
		return nil, err
	}
	c.conn = cc
	return cc, nil
}

// closeConn ends the kept connection, logging out when it is sound.
func (c *SentCopier) closeConn(logout bool) {
	cc := c.conn
	if cc == nil {
		return
	}
	c.conn = nil
	if logout {
		withDeadline(5*time.Second, func() { cc.ic.c.Close() }, "logout", func() error { return cc.ic.c.Logout().Wait() })
	}
	cc.ic.c.Close()
}

// session appends the due copies over the copier's connection. It
// returns an error that ends the round (the connection, the folder, the
// store), the connection then closed; a copy the server refuses waits
// alone.
func (c *SentCopier) session(ctx context.Context, due []helpdesk.SentCopy) error {
	cc, err := c.open(ctx)
	if err != nil {
		return err
	}
	do := cc.do(c.cfg.IMAP.CommandTimeout)
	refused := false
	for _, cp := range due {
		if ctx.Err() != nil {
			break
		}
		ok, err := c.copy(ctx, cc.ic, do, cc.folder, cc.limit, cp, &cc.created)
		if err != nil {
			c.closeConn(false)
			return err
		}
		refused = refused || !ok
	}
	cc.used = time.Now() // the connection's idle time is wall time, whatever the desk's clock
	if !refused {
		c.recovered()
	}
	return nil
}

// folder returns the Sent folder: the configured one, or the one LIST
// marks \Sent. It refuses the folder the desk reads (its own copies
// would come back as new mail) and the quarantine folder.
func (c *SentCopier) folder(ic *imapConn, do func(string, func() error) error) (string, error) {
	folder := c.cfg.Folder
	if strings.EqualFold(folder, SentFolderAuto) {
		opts := &imap.ListOptions{}
		if ic.caps.Has(imap.CapSpecialUse) && ic.caps.Has(imap.CapListExtended) {
			opts.ReturnSpecialUse = true // RFC 6154 §5.1; else the attributes come unasked, as Dovecot sends them
		}
		var list []*imap.ListData
		if err := do("list", func() (err error) { list, err = ic.c.List("", "*", opts).Collect(); return err }); err != nil {
			return "", err
		}
		folder = ""
		for _, d := range list {
			if slices.Contains(d.Attrs, imap.MailboxAttrSent) && !slices.Contains(d.Attrs, imap.MailboxAttrNoSelect) {
				folder = d.Mailbox
				break
			}
		}
		if folder == "" {
			return "", &folderError{fmt.Errorf("sent_folder = %q: no folder of the server has the \\Sent attribute (RFC 6154); name the folder in sent_folder", SentFolderAuto)}
		}
		c.mu.Lock()
		c.state.Folder = folder
		c.mu.Unlock()
	}
	for _, other := range []struct{ what, name string }{{"the folder the desk reads", c.cfg.IMAP.Folder}, {"the quarantine folder", c.cfg.IMAP.QuarantineFolder}} {
		if strings.EqualFold(folder, other.name) {
			return "", &folderError{fmt.Errorf("the Sent folder %q is %s: refusing to append copies of our own mail there", folder, other.what)}
		}
	}
	if err := ic.checkFolderName(folder); err != nil {
		return "", &folderError{err}
	}
	return folder, nil
}

// appendLimit returns the largest mail the server takes into folder
// (RFC 7889 APPENDLIMIT, for all folders or, by STATUS, for this one); 0
// when it does not say.
func (c *SentCopier) appendLimit(ic *imapConn, do func(string, func() error) error, folder string) (int64, error) {
	limit, ok := ic.caps.AppendLimit()
	if !ok {
		return 0, nil
	}
	if limit == nil {
		var data *imap.StatusData
		err := do("status appendlimit", func() (err error) {
			data, err = ic.c.Status(folder, &imap.StatusOptions{AppendLimit: true}).Wait()
			return err
		})
		var ierr *imap.Error
		if errors.As(err, &ierr) {
			return 0, nil // the folder may not exist yet: APPEND will say
		}
		if err != nil {
			return 0, err
		}
		limit = data.AppendLimit
	}
	if limit == nil {
		return 0, nil
	}
	return int64(*limit), nil
}

// copy appends one copy, or skips it for good. A copy the server refuses
// waits alone (its retry recorded) and ok is false; an error ends the
// session.
func (c *SentCopier) copy(ctx context.Context, ic *imapConn, do func(string, func() error) error, folder string, limit int64, cp helpdesk.SentCopy, created *bool) (ok bool, err error) {
	attrs := []any{"outbox", cp.OutboxID, "message_id", cp.MessageID, "ticket_id", cp.TicketID, "folder", folder}
	if limit > 0 && cp.Size > limit {
		return true, c.skip(ctx, cp, fmt.Sprintf("%d bytes, larger than the server's APPENDLIMIT of %d", cp.Size, limit), attrs)
	}
	if !cp.AppendingAt.IsZero() {
		// An earlier APPEND went out without its outcome recorded.
		found, err := c.holds(ic, do, folder, cp.MessageID)
		if err != nil {
			return false, err
		}
		if found {
			c.log.Info("sent copy found in the folder already (its APPEND's outcome was lost): not appended again", attrs...)
			if c.Hooks.Appended != nil {
				c.Hooks.Appended()
			}
			return true, c.finish(ctx, cp, "")
		}
	}
	raw, err := c.st.SentCopyRaw(ctx, cp.ID)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if err := c.st.MarkSentCopyAppending(ctx, cp.ID, c.now()); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	err = c.append(ic, folder, raw, cp.SentAt)
	var ierr *imap.Error
	if errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeTryCreate && !*created && !strings.EqualFold(c.cfg.Folder, SentFolderAuto) {
		// RFC 9051 §6.3.12: TRYCREATE, the folder is missing; ours to
		// create, once per session.
		*created = true
		if cerr := do("create", func() error { return ic.c.Create(folder, nil).Wait() }); cerr != nil {
			err = errors.Join(err, cerr)
		} else {
			c.log.Info("sent folder created", "folder", folder)
			err = c.append(ic, folder, raw, cp.SentAt)
		}
	}
	switch {
	case err == nil:
		c.log.Debug("sent copy appended", attrs...)
		if c.Hooks.Appended != nil {
			c.Hooks.Appended()
		}
		return true, c.finish(ctx, cp, "")
	case errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeTooBig:
		return true, c.skip(ctx, cp, "the server refused it as too large: "+ierr.Error(), attrs)
	case errors.As(err, &ierr) && ierr.Type == imap.StatusResponseTypeNo:
		// The server refused this copy and stored nothing: it waits.
		return false, c.retry(ctx, cp, err, false, attrs)
	default:
		// The connection failed mid-APPEND: the server may hold it.
		if rerr := c.retry(ctx, cp, err, true, attrs); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		return false, err
	}
}

// append APPENDs raw to folder, \Seen, dated when the mail was sent, in a
// bounded time for its size.
func (c *SentCopier) append(ic *imapConn, folder string, raw []byte, sent time.Time) error {
	timeout := c.cfg.IMAP.CommandTimeout + time.Duration(len(raw)>>20)*10*time.Second
	return withDeadline(timeout, func() { ic.c.Close() }, "append", func() error {
		cmd := ic.c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: sent})
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	})
}

// holds reports whether folder holds a mail with Message-ID id.
func (c *SentCopier) holds(ic *imapConn, do func(string, func() error) error, folder, id string) (bool, error) {
	if err := do("examine", func() error {
		_, err := ic.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	}); err != nil {
		var ierr *imap.Error
		if errors.As(err, &ierr) && ierr.Type == imap.StatusResponseTypeNo {
			return false, nil // no folder yet: no copy in it
		}
		return false, err
	}
	var data *imap.SearchData
	err := do("search", func() (err error) {
		data, err = ic.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + id + ">"}}}, nil).Wait()
		return err
	})
	if err != nil {
		return false, err
	}
	return len(data.AllUIDs()) > 0, nil
}

// finish records cp done, also when ctx is done: the copy is in the
// folder (or never to be) whatever happens next.
func (c *SentCopier) finish(ctx context.Context, cp helpdesk.SentCopy, skipped string) error {
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := c.st.FinishSentCopy(mctx, cp.ID, c.now(), skipped); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (c *SentCopier) skip(ctx context.Context, cp helpdesk.SentCopy, reason string, attrs []any) error {
	c.log.Warn("sent copy not appended: the mail went out, but its copy will not be in the Sent folder", append(attrs, "reason", reason)...)
	if c.Hooks.Skipped != nil {
		c.Hooks.Skipped()
	}
	return c.finish(ctx, cp, reason)
}

// retry records a failed APPEND of cp and when to try it again.
func (c *SentCopier) retry(ctx context.Context, cp helpdesk.SentCopy, cause error, inDoubt bool, attrs []any) error {
	attempts := cp.Attempts + 1
	next := c.now().Add(c.cfg.Retry.Delay(attempts-1, rand.Float64()))
	mctx, cancel := markCtx(ctx)
	defer cancel()
	if err := c.st.RetrySentCopy(mctx, cp.ID, attempts, next, cause.Error(), inDoubt); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !inDoubt {
		c.mu.Lock()
		c.state.LastError, c.state.LastErrorAt = fmt.Sprintf("%s: %v", cp.MessageID, cause), c.now()
		c.mu.Unlock()
		if c.Hooks.Failed != nil {
			c.Hooks.Failed(cause)
		}
		level := slog.LevelDebug
		if attempts == 1 {
			level = slog.LevelWarn // once per copy
		}
		c.log.Log(ctx, level, "server refused a sent copy; retrying with backoff", append(attrs, "attempts", attempts, "next", next, "err", cause)...)
	}
	return nil
}
