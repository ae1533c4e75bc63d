package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// Delivery is one mail read off a mailbox, handed to the Handler with its
// position, so that the desk can move the checkpoint in the transaction
// that commits the mail.
type Delivery struct {
	Mailbox      string // IMAPConfig.Name
	UIDValidity  uint32
	UID          uint32
	Raw          []byte    // the message exactly as the server returned it (BODY[]); only its header when Oversize is set
	InternalDate time.Time // when the server received it
	// Oversize is set for a mail larger than MaxMessageSize: Raw holds
	// only its header (BODY.PEEK[HEADER], at most MaxHeaderSize bytes)
	// and its body was never read. Once the Handler has committed (or
	// recognised) it, the fetcher moves it to the quarantine folder, where
	// the whole mail stays, instead of marking it processed.
	Oversize *helpdesk.Oversize
	// Unreadable is set, and Raw nil, for a mail the server could not
	// return (it answered NO or BAD, sent no body, or a body larger than
	// MaxMessageSize): it says why. The Handler records that and rejects
	// the mail with helpdesk.ErrUnreadable; the fetcher then moves it to
	// quarantine.
	Unreadable string
}

// Handler takes the mails a Fetcher reads. The desk implements it.
type Handler interface {
	// Deliver parses and commits a batch of mails of one mailbox, given in
	// ascending UID order, and returns one error per mail: len(errs) ==
	// len(ds), errs[i] being the fate of ds[i]. The checkpoint (UIDValidity,
	// UID) advances in the transaction that commits a mail.
	//
	// errs[i] is nil when ds[i] is safely committed (or was a duplicate);
	// it wraps helpdesk.ErrUnreadable when ds[i] must go to quarantine (the
	// rejection is already recorded and counts as committed); any other
	// error is a temporary failure, and the fetcher delivers ds[i] again
	// later. A temporary failure of ds[i] means that no mail after it was
	// committed either (their errors are non-nil too): the checkpoint never
	// passes a mail that is not committed. The fetcher marks on the server
	// only the mails before the first temporary failure. A mail with
	// Oversize set, once committed or rejected, is moved to quarantine
	// rather than marked.
	//
	// The same mail may be delivered again (committed before a crash that
	// came before its mark): the Handler must recognise it, by Message-ID,
	// and report it committed without doing its work twice.
	//
	// A panic fails the whole batch: the fetcher then delivers its mails
	// again one at a time (a mail the Handler did commit before panicking
	// comes back as a duplicate) and quarantines the one that panics.
	// Deliver must not panic on goroutines of its own: only its caller's
	// goroutine is covered.
	Deliver(ctx context.Context, ds []Delivery) []error
}

// Checkpoints reads the position up to which a mailbox is committed. The
// Handler moves it forward; the fetcher reads it, and moves it back only
// when the server reused UIDs under the same UIDVALIDITY.
type Checkpoints interface {
	Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error)
	// ResetCheckpoint sets the mailbox's checkpoint back to (uidValidity,
	// 0) if it still stands at (uidValidity, lastUID), so that every UID
	// the server hands out again counts as new. It reports whether it
	// did.
	ResetCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) (bool, error)
}

// FetcherStatus says what a Fetcher is doing.
type FetcherStatus string

// Fetcher statuses, as shown by /healthz.
const (
	FetcherConnecting FetcherStatus = "connecting"  // dialling, logging in
	FetcherConnected  FetcherStatus = "connected"   // selecting, searching, delivering
	FetcherIdle       FetcherStatus = "idle"        // waiting in IDLE
	FetcherPolling    FetcherStatus = "polling"     // waiting for the next poll
	FetcherBackingOff FetcherStatus = "backing-off" // waiting to reconnect after an error
	FetcherAuthFailed FetcherStatus = "auth-failed" // the server refused the credentials; waiting to try them again
	FetcherStopped    FetcherStatus = "stopped"     // Run returned or was never called
)

// FetcherState is a snapshot of a Fetcher for health checks.
type FetcherState struct {
	Mailbox     string
	Status      FetcherStatus
	Since       time.Time // when Status was entered
	LastError   string    // the error of the current outage; "" once a session succeeds
	LastErrorAt time.Time // when LastError happened; zero once a session succeeds
	LastSuccess time.Time // end of the last complete fetch cycle
	Failures    int       // consecutive failed sessions; 0 when healthy
}

// FetcherHooks are optional callbacks. They run on the fetcher's
// goroutine; each may be nil. Error and Quarantined, for metrics, must not
// block.
type FetcherHooks struct {
	Error       func(err error)                 // a session ended with an error and will be retried
	Quarantined func(uid uint32, reason string) // a mail was put in quarantine
	// LoginRefused is told of every refused login, after it is logged and
	// before the wait for the next try; it may write to a store (the
	// fetcher waits for it).
	LoginRefused func(ctx context.Context, err *AuthError)
	// LoginAccepted is told of the first login of Run that works and of
	// the first after a refusal; it may write to a store.
	LoginAccepted func(ctx context.Context)
}

// Fetcher reads one mailbox: it hands the new mails to the Handler in
// batches and marks them processed on the server once committed. See Run.
type Fetcher struct {
	// Now is the clock of the state timestamps; nil means time.Now. Set it
	// before Run.
	Now func() time.Time
	// Hooks are called on errors and quarantines. Set them before Run.
	Hooks FetcherHooks

	cfg IMAPConfig
	h   Handler
	cp  Checkpoints
	log *slog.Logger

	loginOK bool // a login of this Run worked, and none was refused since (Run's goroutine only)

	mu    sync.Mutex
	state FetcherState
}

// NewFetcher returns a fetcher of the mailbox cfg that delivers to h and
// reads its checkpoint from cp. Zero fields of cfg take their defaults.
func NewFetcher(cfg IMAPConfig, h Handler, cp Checkpoints, log *slog.Logger) *Fetcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Fetcher{
		cfg:   cfg,
		h:     h,
		cp:    cp,
		log:   log.With("mailbox", cfg.Name),
		state: FetcherState{Mailbox: cfg.Name, Status: FetcherStopped},
	}
}

// State returns a snapshot of what the fetcher is doing. It is safe to
// call from any goroutine.
func (f *Fetcher) State() FetcherState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *Fetcher) now() time.Time { return nowOf(f.Now) }

// nowOf returns clock's time, or the wall clock's when clock is nil.
func nowOf(clock func() time.Time) time.Time {
	if clock != nil {
		return clock()
	}
	return time.Now()
}

func (f *Fetcher) setStatus(st FetcherStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state.Status != st {
		f.state.Status, f.state.Since = st, f.now()
	}
}

func (f *Fetcher) setFailure(err error, failures int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.LastError, f.state.LastErrorAt, f.state.Failures = err.Error(), f.now(), failures
}

func (f *Fetcher) loginRecovered() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Status, f.state.Since = FetcherConnected, f.now()
	f.state.LastError, f.state.LastErrorAt = "", time.Time{}
}

func (f *Fetcher) setSuccess() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.LastSuccess, f.state.Failures = f.now(), 0
	f.state.LastError, f.state.LastErrorAt = "", time.Time{}
}

// AuthError is a login the IMAP (or SMTP) server refused (it answered NO
// to the credentials), a password that could not be read, or an OAuth2
// token the provider would not issue. It is no outage:
// nothing gets better until someone fixes the credentials.
type AuthError struct {
	Server string // host:port
	Err    error  // the server's answer, or why the password could not be read
}

// Error says where authentication failed and why.
func (e *AuthError) Error() string {
	return "authentication failed at " + e.Server + ": " + e.Err.Error()
}

// Unwrap returns the server's answer or the password's read error.
func (e *AuthError) Unwrap() error { return e.Err }

// byeGap is how soon after a session the server ended another one it
// ends counts as a failure, with the backoff of one: a server that says
// BYE to every session must not have us log in again and again at once.
const byeGap = 30 * time.Second

// authBackoffSteps is how many doublings of the backoff an authentication
// failure skips: with the default backoff it is retried after 16 s, then
// 32 s, up to the 5 minute cap, where a network error starts at 1 s.
const authBackoffSteps = 4

// Run reads the mailbox until ctx is done, then finishes the batch in
// hand, leaves IDLE, logs out and returns nil. It returns an error only
// when the configuration cannot work (see IMAPConfig.Validate).
//
// Each cycle reads the checkpoint and takes the mails above it in UID
// order. The first cycle of a session, and every cycle after a poll or an
// IDLE refresh, first selects the folder, checks that the server did not
// hand out UIDs at or below the checkpoint again under the same
// UIDVALIDITY (UIDNEXT at or below it: logged as an error, the checkpoint
// moved back, the folder rescanned), and takes the unmarked mail at or
// below the checkpoint too (a crash between commit and flag, or reused
// UIDs), for the Handler to recognise by Message-ID; a cycle woken by the
// server's announcement of new mail in IDLE skips all that, so that a busy
// mailbox costs one search per cycle. The mails are taken in batches of up
// to Batch mails and BatchBytes bytes: one FETCH reads a batch's bodies,
// one Deliver commits them, one STORE (or MOVE) marks the committed ones.
// A mail above MaxMessageSize goes alone, its header only, and is moved to
// quarantine once committed. Only mails the Handler committed or
// recognised in this session are flagged or moved, so a crash at any
// moment loses nothing and duplicates nothing. Between cycles it waits in
// IDLE (leaving it every IdleRefresh to catch up, which also proves the
// connection alive) or polls. Any network, server or temporary Deliver
// error ends the session; Run then reconnects after a capped exponential
// backoff with jitter, logging the outage once when it starts and once when
// it ends.
func (f *Fetcher) Run(ctx context.Context) error {
	if err := f.cfg.Validate(); err != nil {
		return err
	}
	defer f.setStatus(FetcherStopped)
	failures := 0
	var outageStart time.Time
	lastAuth := ""        // the last authentication failure, logged once
	var lastBye time.Time // when the server last ended a session, taken as no failure
	recovered := func() {
		// Logged before the state shows the recovery, so that whoever sees
		// Failures back at 0 also finds the line.
		if failures > 0 {
			f.log.Info("imap mailbox reachable again", "outage", f.now().Sub(outageStart).Round(time.Millisecond), "attempts", failures)
			failures = 0
		}
		f.setSuccess()
	}
	for {
		err := f.safeSession(ctx, recovered)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil { // cannot happen: a session ends on an error or ctx
			err = errors.New("session ended")
		}
		if errors.Is(err, errRelogin) {
			f.log.Info("imap session ended before its access token expires; logging in again with a fresh one")
			continue
		}
		if bye, ok := isServerBye(err); ok && (lastBye.IsZero() || f.now().Sub(lastBye) >= byeGap) {
			// RFC 9051 §7.1.5: the server ends the session. Whatever came
			// meanwhile is read by the next session's full cycle.
			lastBye = f.now()
			f.log.Info("imap server ended the session; logging in again", "server_said", bye.said, "err", bye.err)
			continue
		}
		var auth *AuthError
		isAuth := errors.As(err, &auth)
		switch {
		case isAuth && (failures == 0 || err.Error() != lastAuth):
			// Once per outage and per answer: an error, not a warning,
			// since it needs someone to act.
			if failures == 0 {
				outageStart = f.now()
			}
			msg := "imap login refused: check the mailbox's username and password (a password_file is read again at each retry)"
			if f.cfg.TokenFunc != nil {
				msg = "imap login refused: check the mailbox's OAuth2 app registration, its permission on this mailbox and the client secret (a fresh token is asked for at each retry)"
			}
			f.log.Error(msg, "server", auth.Server, "user", f.cfg.Username, "err", auth.Err)
		case failures == 0:
			outageStart = f.now()
			f.log.Warn("imap mailbox unavailable; retrying with backoff", "err", err)
		default:
			f.log.Debug("imap retry failed", "attempt", failures+1, "err", err)
		}
		lastAuth = ""
		if isAuth {
			lastAuth = err.Error()
			f.loginOK = false
			if f.Hooks.LoginRefused != nil {
				f.Hooks.LoginRefused(ctx, auth)
			}
		}
		failures++
		f.setFailure(err, failures)
		if f.Hooks.Error != nil {
			f.Hooks.Error(err)
		}
		step := failures - 1
		if isAuth {
			f.setStatus(FetcherAuthFailed)
			step += authBackoffSteps
		} else {
			f.setStatus(FetcherBackingOff)
		}
		t := time.NewTimer(f.cfg.Backoff.Delay(step, rand.Float64()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// safeSession runs one session and turns a panic into an error.
func (f *Fetcher) safeSession(ctx context.Context, ok func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in imap session: %v\n%s", v, debug.Stack())
		}
	}()
	return f.session(ctx, ok)
}

// session connects and runs cycles until an error or until ctx is done
// (then it returns nil).
func (f *Fetcher) session(ctx context.Context, ok func()) (err error) {
	// A mailbox whose credentials were refused stays auth-failed while it
	// tries them again: /healthz must not answer 200 for the length of a
	// login (with OAuth2, a token request and the server's refusal delay).
	refused := f.State().Status == FetcherAuthFailed
	if !refused {
		f.setStatus(FetcherConnecting)
	}
	s, err := f.connect(ctx)
	if err != nil {
		return err
	}
	if refused {
		// The login works again: the auth-failed state and the refusal
		// /healthz showed go together, at once, not the state now and the
		// error only when the first cycle has succeeded.
		f.loginRecovered()
	}
	if !f.loginOK {
		f.loginOK = true
		if f.Hooks.LoginAccepted != nil {
			f.Hooks.LoginAccepted(ctx)
		}
	}
	defer func() {
		if err != nil && !errors.Is(err, errRelogin) {
			// A command failed because the server ended the session
			// (Exchange answers any command with a BYE once the token
			// expired).
			if said, ok := s.bye.said(); ok {
				if _, already := isServerBye(err); !already {
					err = &serverBye{said: said, err: err}
				}
			}
		}
		s.close(err == nil || errors.Is(err, errRelogin))
	}()
	for full := true; ; {
		if err := s.cycle(ctx, full); err != nil {
			return err
		}
		ok()
		if ctx.Err() != nil {
			return nil
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if !s.relogin.IsZero() {
			left := time.Until(s.relogin)
			if left <= 0 {
				return errRelogin
			}
			wctx, cancel = context.WithTimeout(ctx, left)
		}
		announced, err := s.wait(wctx)
		cancel()
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if wctx.Err() != nil {
			return errRelogin
		}
		// New mail announced in IDLE: a light cycle. A poll or an IDLE
		// refresh: a full one, which also proves the folder unchanged.
		full = !announced
	}
}

// deliver calls the Handler with a context that survives the cancellation
// of ctx (the batch in hand is finished at shutdown) but is bounded by
// DeliverTimeout. It returns one error per mail of ds, whatever the
// Handler does: a panic gives errHandlerPanic for every mail, and a result
// of the wrong length a temporary error for every mail (logged: it is a
// bug of the Handler).
func (f *Fetcher) deliver(ctx context.Context, ds []Delivery) (errs []error) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.DeliverTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			f.log.Error("panic in deliver", append(batchAttrs(ds), "panic", v, "stack", string(debug.Stack()))...)
			errs = sameErr(len(ds), fmt.Errorf("%w: %v", errHandlerPanic, v))
		}
	}()
	errs = f.h.Deliver(dctx, ds)
	if len(errs) != len(ds) {
		err := fmt.Errorf("handler returned %d results for %d mails", len(errs), len(ds))
		f.log.Error("deliver broke its contract; the batch will be retried", append(batchAttrs(ds), "err", err)...)
		errs = sameErr(len(ds), err)
	}
	return errs
}

// sameErr returns n times err.
func sameErr(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// batchAttrs are the log attributes of a batch: its uid when it holds one
// mail, else its first and last UIDs and its length.
func batchAttrs(ds []Delivery) []any {
	if len(ds) == 1 {
		return []any{"uid", ds[0].UID}
	}
	return []any{"first_uid", ds[0].UID, "last_uid", ds[len(ds)-1].UID, "count", len(ds)}
}

// errHandlerPanic marks a Deliver that panicked: the mail goes to
// quarantine rather than stopping the mailbox for ever.
var errHandlerPanic = errors.New("deliver panicked")
