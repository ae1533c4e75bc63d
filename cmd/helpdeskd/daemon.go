package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/board"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/digest"
	"github.com/helpdeskd/helpdesk/intake"
	"github.com/helpdeskd/helpdesk/internal/runlock"
	"github.com/helpdeskd/helpdesk/mailbox"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/ops"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

// Main is the daemon: every component built from one configuration. Tests
// and the demo build it with their own clock and TLS settings and run it
// in-process.
type Main struct {
	Config *config.Config
	Log    *slog.Logger
	// Now is the clock of the desk, the SLA loop and the outbox; nil means
	// time.Now. The demo speeds it up.
	Now func() time.Time
	// TLSConfig, when set, is used for IMAP and SMTP client connections
	// (private CAs in tests).
	TLSConfig *tls.Config
	// Hooks are extra desk hooks (the demo prints events); metrics are
	// always fed.
	Hooks desk.Hooks
	// IMAPBackoff, when set, replaces the mailboxes' reconnection backoff
	// (tests shorten it).
	IMAPBackoff mailbox.Backoff

	Store    *store.Store
	Desk     *desk.Desk
	Outbox   *mailbox.Outbox
	Fetchers []*mailbox.Fetcher
	// SentCopiers append the Sent copies of the mailboxes with a
	// sent_folder, one each.
	SentCopiers []*mailbox.SentCopier
	Loop        *sla.Loop
	// Digest sends the managers' digest ([digest]); nil when it is off.
	Digest   *digest.Digester
	Metrics  *ops.Metrics
	HTTPAddr string // where /healthz and /metrics listen, once Open has bound it
	// BoardAddr is where the managers' board listens, once Open has bound
	// it ([http] board).
	BoardAddr string

	httpSrv  *http.Server
	httpLn   net.Listener
	boardSrv *http.Server
	boardLn  net.Listener
	board    *board.Board
	lock     *runlock.Lock // one daemon per database, for the life of the process
}

// Open builds every component: the store (migrations applied), templates,
// triage, the desk, the outbox, one fetcher per mailbox, the SLA loop and
// the HTTP listener. It fails fast and clearly on a locked or unwritable
// database, a broken template or a taken port.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	lock, err := runlock.Acquire(cfg.Store.Path)
	if err != nil {
		return err
	}
	m.lock = lock
	st, err := store.Open(ctx, cfg.Store.Path, store.Options{RefPrefix: cfg.Store.RefPrefix, RefStart: cfg.Store.RefStart, Now: m.Now})
	if err != nil {
		m.lock.Release()
		m.lock = nil
		return err
	}
	m.Store = st
	tmpl, err := templates.Load(cfg.Desk.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	tri, err := triage.New(triageRules(cfg))
	if err != nil {
		return fmt.Errorf("triage: %w", err)
	}
	m.Metrics = ops.NewMetrics(st.OutboxCounts)
	m.Metrics.Preset(metricLabels(cfg))

	ost := &outboxStore{Store: st}
	sc, err := smtpConfig(cfg, st, m.TLSConfig)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	m.Outbox = mailbox.NewOutbox(sc, ost, m.Now, m.Log.With("component", "outbox"))
	// Beside the database, like its -wal and .lock: the mails the SMTP
	// server accepted that the store may not have recorded yet.
	m.Outbox.Journal = st.Path() + ".sent"
	m.wireSentCopies(ost)
	m.Outbox.Hooks = mailbox.OutboxHooks{
		Sent: func(om helpdesk.OutMail, at time.Time) {
			if om.ToCustomer {
				for _, c := range m.SentCopiers {
					c.Kick() // its copy is due now
				}
			}
			m.Metrics.MailSent.WithLabelValues(string(om.Kind)).Inc()
			if om.Kind == helpdesk.KindAck {
				m.Metrics.AckLatency.Observe(at.Sub(om.CreatedAt).Seconds())
			}
		},
		Failed: func(helpdesk.OutMail, error, bool) { m.Metrics.SMTPErrors.Inc() },
		Throttled: func(limit string, on bool) {
			v := 0.0
			if on {
				v = 1
			}
			m.Metrics.OutboxThrottled.WithLabelValues(limit).Set(v)
		},
	}
	m.Outbox.Levels = cfg.Levels
	hooks := m.Hooks
	m.Desk, err = desk.New(deskConfig(cfg), desk.Options{
		Store: st, Triage: tri, Templates: tmpl, Log: m.Log.With("component", "desk"), Now: m.Now,
		Kick: m.Outbox.Kick,
		Hooks: desk.Hooks{
			TicketOpened: func(t helpdesk.Ticket, a helpdesk.Assessment) {
				m.Metrics.TicketsOpened.WithLabelValues(string(t.Priority)).Inc()
				if hooks.TicketOpened != nil {
					hooks.TicketOpened(t, a)
				}
			},
			Event: func(ref string, p helpdesk.Priority, e helpdesk.Event) {
				switch e.Kind {
				case helpdesk.EventRelayed, helpdesk.EventResolutionSent:
					m.Metrics.RepliesRelayed.Inc()
				case helpdesk.EventSLAWarning:
					m.Metrics.SLAWarnings.WithLabelValues(string(p)).Inc()
				case helpdesk.EventBreach:
					m.Metrics.SLABreaches.WithLabelValues(string(p)).Inc()
				default:
					if slices.Contains(trustKinds, e.Kind) {
						m.Metrics.Trust.WithLabelValues(string(e.Kind)).Inc()
					}
				}
				if hooks.Event != nil {
					hooks.Event(ref, p, e)
				}
			},
			Enqueued: hooks.Enqueued,
		},
	})
	if err != nil {
		return err
	}
	ost.desk = m.Desk
	m.Outbox.Hooks.LoginRefused, m.Outbox.Hooks.LoginAccepted = m.loginHooks(smtpAccount)
	parse := message.ParseOptions{MaxAttachmentSize: cfg.Desk.MaxAttachmentSize}
	h := intake.New(m.Desk, parse, intake.Hooks{
		Fetched: func(box string) { m.Metrics.MailFetched.WithLabelValues(box).Inc() },
		Committed: func(d mailbox.Delivery, _ desk.Result) {
			if !d.InternalDate.IsZero() {
				if lat := time.Since(d.InternalDate); lat >= 0 {
					m.Metrics.IngestLatency.Observe(lat.Seconds())
				}
			}
		},
	})
	for _, mb := range cfg.Mailboxes {
		ic, err := imapConfig(cfg, st, mb, m.TLSConfig)
		if err != nil {
			return fmt.Errorf("mailbox %s: %w", mb.Name, err)
		}
		if m.IMAPBackoff != (mailbox.Backoff{}) {
			ic.Backoff = m.IMAPBackoff
		}
		f := mailbox.NewFetcher(ic, h, st, m.Log)
		name := mb.Name
		f.Hooks = mailbox.FetcherHooks{
			Error:       func(error) { m.Metrics.IMAPErrors.WithLabelValues(name).Inc() },
			Quarantined: func(uint32, string) { m.Metrics.Quarantined.WithLabelValues(name).Inc() },
		}
		f.Hooks.LoginRefused, f.Hooks.LoginAccepted = m.loginHooks(name)
		m.Fetchers = append(m.Fetchers, f)
		if mb.SentFolder != "" {
			cc := mailbox.SentCopyConfig{IMAP: ic, Folder: mb.SentFolder, Retry: m.IMAPBackoff}
			c := mailbox.NewSentCopier(cc, st, m.Log)
			c.Now = m.Now
			c.Hooks = mailbox.SentCopyHooks{
				Appended: func() { m.Metrics.SentCopies.WithLabelValues(name, "appended").Inc() },
				Skipped:  func() { m.Metrics.SentCopies.WithLabelValues(name, "skipped").Inc() },
				Failed:   func(error) { m.Metrics.SentCopyErrors.WithLabelValues(name).Inc() },
			}
			m.SentCopiers = append(m.SentCopiers, c)
		}
	}
	if len(m.SentCopiers) > 0 {
		m.Metrics.WatchSentCopies(st.SentCopiesPending, sentMailboxes(cfg))
	}
	m.Loop, err = sla.NewLoop(st, m.Desk, cfg.SLA.Schedule, m.Now, m.Log.With("component", "sla"))
	if err != nil {
		return fmt.Errorf("sla loop: %w", err)
	}
	m.watchSLA()
	if cfg.Digest.Enabled {
		if m.Digest, err = newDigester(cfg, st, tmpl, m.Now, m.Log.With("component", "digest"), m.Outbox.Kick); err != nil {
			return fmt.Errorf("digest: %w", err)
		}
	}
	if cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
		m.httpLn, m.HTTPAddr = ln, ln.Addr().String()
		m.httpSrv = &http.Server{Handler: ops.Handler(m.Metrics, ops.Health{
			Ping: st.Ping, Mailboxes: m.mailboxStates, Outbox: st.OutboxCounts, Unrecorded: m.Outbox.Unrecorded,
			SMTPAuth: m.Outbox.AuthFailure, SentCopies: m.sentCopyStates,
		}, m.Log), ReadHeaderTimeout: 10 * time.Second}
	}
	if cfg.HTTP.Board {
		ln, err := net.Listen("tcp", cfg.HTTP.BoardListen)
		if err != nil {
			return fmt.Errorf("board listen %s: %w", cfg.HTTP.BoardListen, err)
		}
		m.boardLn, m.BoardAddr = ln, ln.Addr().String()
		m.board = newBoard(cfg, st, m.Now, m.Log.With("component", "board"))
		m.boardSrv = &http.Server{Handler: m.board,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
	}
	return nil
}

// loginHooks tell the desk of account's refused and working logins
// (desk.Desk.LoginRefused, LoginWorks): the managers' mail.
func (m *Main) loginHooks(account string) (refused func(context.Context, *mailbox.AuthError), accepted func(context.Context)) {
	attr := []any{"mailbox", account}
	if account == smtpAccount {
		attr = []any{"account", account}
	}
	refused = func(ctx context.Context, err *mailbox.AuthError) {
		if err := m.Desk.LoginRefused(ctx, account, err.Error()); err != nil && ctx.Err() == nil {
			m.Log.Error("could not record the refused login or mail the managers about it", append(attr, "err", err)...)
		}
	}
	accepted = func(ctx context.Context) {
		if err := m.Desk.LoginWorks(ctx, account); err != nil && ctx.Err() == nil {
			m.Log.Warn("could not record the working login", append(attr, "err", err)...)
		}
	}
	return refused, accepted
}

// outboxStore is the outbox's store: the store itself, except that a
// refusal is recorded by the desk, which tells the agents who could not
// be reached in the same transaction.
type outboxStore struct {
	*store.Store
	desk *desk.Desk // set before the outbox runs
}

// MarkFailed records a permanent failure through the desk (desk.Desk.MarkFailed).
func (s *outboxStore) MarkFailed(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.desk.MarkFailed(ctx, id, at, reason)
}

// MarkRecipients records per-recipient results through the desk (desk.Desk.MarkRecipients).
func (s *outboxStore) MarkRecipients(ctx context.Context, id int64, a helpdesk.DeliveryAttempt) error {
	return s.desk.MarkRecipients(ctx, id, a)
}

// wireSentCopies has the outbox keep the Sent copy of each mail to a
// customer of a mailbox with a sent_folder before it is offered
// (mailbox.SentCopies), by wrapping the sessions it dials.
func (m *Main) wireSentCopies(st mailbox.SentCopyQueue) {
	boxes := sentMailboxes(m.Config)
	if len(boxes) == 0 {
		return
	}
	copies := mailbox.NewSentCopies(st, boxes)
	dial := m.Outbox.Dial
	m.Outbox.Dial = func(ctx context.Context) (mailbox.Sender, error) {
		s, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		return copies.Wrap(s), nil
	}
}

// sentMailboxes names the mailboxes with a sent_folder.
func sentMailboxes(cfg *config.Config) []string {
	var out []string
	for _, mb := range cfg.Mailboxes {
		if mb.SentFolder != "" {
			out = append(out, mb.Name)
		}
	}
	return out
}

// sentCopyStates reports the Sent copies of each mailbox that keeps them.
func (m *Main) sentCopyStates(ctx context.Context) []ops.SentCopyState {
	if len(m.SentCopiers) == 0 {
		return nil
	}
	pending, _ := m.Store.SentCopiesPending(ctx) // nil on error: the store's state is reported apart
	var out []ops.SentCopyState
	for _, c := range m.SentCopiers {
		s := c.State()
		out = append(out, ops.SentCopyState{Mailbox: s.Mailbox, Folder: s.Folder, Pending: pending[s.Mailbox],
			LastError: s.LastError, LastErrorAt: s.LastErrorAt})
	}
	return out
}

func (m *Main) mailboxStates() []ops.MailboxState {
	var out []ops.MailboxState
	for _, f := range m.Fetchers {
		s := f.State()
		state := string(s.Status)
		if s.Status == mailbox.FetcherAuthFailed {
			state = ops.AuthFailed
		}
		out = append(out, ops.MailboxState{Name: s.Mailbox, State: state, LastError: s.LastError, LastSuccess: s.LastSuccess})
	}
	return out
}

// metricLabels are the series the daemon exports at zero from its start:
// its mailboxes, levels, kinds of mail sent, trust events and components.
func metricLabels(cfg *config.Config) ops.Labels {
	l := ops.Labels{Components: []string{"outbox", "sla", "fetch", "digest", "sent-copies"}, Limits: mailbox.Limits,
		SentCopies: sentMailboxes(cfg)}
	for _, mb := range cfg.Mailboxes {
		l.Mailboxes = append(l.Mailboxes, mb.Name)
	}
	for _, p := range cfg.Levels.Order {
		l.Priorities = append(l.Priorities, string(p))
	}
	if cfg.Levels.Change != "" {
		l.Priorities = append(l.Priorities, string(cfg.Levels.Change))
	}
	for _, k := range []helpdesk.MessageKind{helpdesk.KindAck, helpdesk.KindNotification, helpdesk.KindRelay,
		helpdesk.KindEscalation, helpdesk.KindResolution, helpdesk.KindSystem, helpdesk.KindDigest} {
		l.Kinds = append(l.Kinds, string(k))
	}
	for _, k := range trustKinds {
		l.Trust = append(l.Trust, string(k))
	}
	return l
}

// trustKinds are the events counted by helpdesk_trust_events_total.
var trustKinds = []helpdesk.EventKind{helpdesk.EventSpam, helpdesk.EventSuspicious, helpdesk.EventOutsider,
	helpdesk.EventAddressLeak, helpdesk.EventCcLimit, helpdesk.EventCcNotAdded}

// Run runs every component until ctx is cancelled, then shuts down in two
// phases (STYLE rule 6): first nothing new is fetched and the batch of mail in hand
// is finished, then the SLA loop and the outbox stop after the send in
// flight, then HTTP; all within the configured shutdown timeout.
func (m *Main) Run(ctx context.Context) error {
	var fetchWG, workWG sync.WaitGroup
	fetchCtx, stopFetch := context.WithCancel(context.WithoutCancel(ctx))
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFetch()
	defer stopWork()
	errs := make(chan error, len(m.Fetchers)+len(m.SentCopiers)+4)
	goSafe := func(wg *sync.WaitGroup, name string, run func(context.Context) error, c context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					m.Metrics.Panics.WithLabelValues(name).Inc()
					m.Log.Error("panic", "component", name, "panic", r)
					errs <- fmt.Errorf("%s: panic: %v", name, r)
				}
			}()
			if err := run(c); err != nil && !errors.Is(err, context.Canceled) {
				m.Log.Error("component stopped", "component", name, "err", err)
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goSafe(&workWG, "outbox", m.Outbox.Run, workCtx)
	goSafe(&workWG, "sla", m.Loop.Run, workCtx)
	for _, c := range m.SentCopiers {
		goSafe(&workWG, "sent-copies", c.Run, workCtx)
	}
	if m.Digest != nil {
		goSafe(&workWG, "digest", m.Digest.Run, workCtx)
	}
	for _, f := range m.Fetchers {
		// One mailbox failing (it reconnects forever) never stops the others.
		goSafe(&fetchWG, "fetch", f.Run, fetchCtx)
	}
	serve := func(name string, srv *http.Server, ln net.Listener) {
		if srv == nil {
			return
		}
		workWG.Add(1)
		go func() {
			defer workWG.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	serve("http", m.httpSrv, m.httpLn)
	serve("board", m.boardSrv, m.boardLn)
	m.Log.Info("helpdeskd running", "mailboxes", len(m.Fetchers), "http", m.HTTPAddr, "board", m.BoardAddr, "database", m.Store.Path())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	timeout := m.Config.Desk.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.After(timeout)
	m.Log.Info("shutting down", "timeout", timeout)
	stopFetch()
	if !waitUntil(&fetchWG, deadline) {
		return errors.Join(runErr, errors.New("shutdown: mailboxes did not stop in time"))
	}
	stopWork()
	if m.httpSrv != nil {
		shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m.httpSrv.Shutdown(shutCtx)
		cancel()
	}
	if m.boardSrv != nil {
		shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m.boardSrv.Shutdown(shutCtx)
		cancel()
		m.board.Close() // a computation of its figures in flight ends before the store closes
	}
	if !waitUntil(&workWG, deadline) {
		return errors.Join(runErr, errors.New("shutdown: outbox or SLA loop did not stop in time"))
	}
	m.Log.Info("stopped")
	return runErr
}

func waitUntil(wg *sync.WaitGroup, deadline <-chan time.Time) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-deadline:
		return false
	}
}

// Close releases what Open acquired, the database last.
func (m *Main) Close() error {
	var errs []error
	// Serve may never have run, and then the server does not know its
	// listener: close the listeners themselves (closing twice only errs).
	for _, ln := range []net.Listener{m.httpLn, m.boardLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if m.httpSrv != nil {
		errs = append(errs, m.httpSrv.Close())
	}
	if m.boardSrv != nil {
		errs = append(errs, m.boardSrv.Close())
		m.board.Close()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.lock != nil {
		errs = append(errs, m.lock.Release())
		m.lock = nil
	}
	return errors.Join(errs...)
}

// deskConfig maps the configuration onto the desk's.
func deskConfig(cfg *config.Config) desk.Config {
	dc := desk.Config{
		Name: cfg.Desk.Name, From: cfg.SMTP.From, Levels: cfg.Levels, Policies: cfg.Policies,
		DefaultPolicy: cfg.SLA.DefaultPolicy, Customer: cfg.Customer, ReopenWindow: cfg.Desk.ReopenWindow,
		AutoReplyLimit: cfg.Desk.AutoReplyLimit, AutoReplyWindow: cfg.Desk.AutoReplyWindow,
		Trust: cfg.Desk.Trust, MaxCc: cfg.Desk.MaxCc, EscalateKeyword: cfg.Desk.EscalateKeyword,
	}
	for _, mb := range cfg.Mailboxes {
		dc.Mailboxes = append(dc.Mailboxes, desk.Mailbox{Name: mb.Name, Address: mb.Address, Aliases: mb.Aliases,
			Policy: mb.Policy, Team: mb.Team, DefaultPriority: mb.DefaultPriority, CriticalOnly: mb.CriticalOnly,
			QueuePolicy: mb.QueuePolicy})
	}
	for _, a := range cfg.Agents {
		dc.Agents = append(dc.Agents, desk.Agent{Email: a.Email, Name: a.Name, Team: a.Team, Manager: a.Manager})
	}
	for _, t := range cfg.Teams {
		dc.Teams = append(dc.Teams, desk.Team{Name: t.Name, Address: t.Address})
	}
	names := map[string]string{}
	for _, a := range cfg.Agents {
		names[strings.ToLower(a.Email)] = a.Name
	}
	for _, email := range slices.Sorted(maps.Keys(cfg.Managers())) {
		dc.Managers = append(dc.Managers, helpdesk.Address{Name: names[email], Email: email})
	}
	dc.Logins = loginAccounts(cfg)
	return dc
}

func imapConfig(cfg *config.Config, st *store.Store, mb config.Mailbox, tlsCfg *tls.Config) (mailbox.IMAPConfig, error) {
	tf, expiry, err := tokenFunc(cfg, st, mb.Name, mb.Auth, mb.OAuth2, mb.Username)
	if err != nil {
		return mailbox.IMAPConfig{}, err
	}
	ic := mailbox.IMAPConfig{Name: mb.Name, Host: mb.Host, Port: mb.Port, Security: string(mb.Security),
		Username: mb.Username, PasswordFunc: mb.Password.Current, Folder: mb.Folder, IDLE: mb.IDLE,
		PollInterval: mb.PollInterval, IdleRefresh: mb.PollInterval, Processed: mb.Processed, ProcessedFlag: mb.ProcessedFlag,
		ProcessedFolder: mb.ProcessedFolder, QuarantineFolder: mb.QuarantineFolder, MaxMessageSize: mb.MaxMessageSize,
		IMAP4rev2: mb.IMAP4rev2, TLSConfig: tlsCfg}
	if tf != nil {
		ic.PasswordFunc, ic.TokenFunc, ic.TokenExpiry, ic.Mechanism = nil, tf, expiry, mb.OAuth2.Mechanism
	}
	return ic, nil
}

func smtpConfig(cfg *config.Config, st *store.Store, tlsCfg *tls.Config) (mailbox.SMTPConfig, error) {
	s := cfg.SMTP
	tf, _, err := tokenFunc(cfg, st, smtpAccount, s.Auth, s.OAuth2, s.Username)
	if err != nil {
		return mailbox.SMTPConfig{}, err
	}
	return mailbox.SMTPConfig{TokenFunc: tf, Host: s.Host, Port: s.Port, Security: string(s.Security), Username: s.Username,
		Password: s.Password.Value, HELO: s.HELO, Timeout: s.Timeout, Batch: s.Batch, Connections: s.Connections,
		Retry: mailbox.Backoff{Min: s.RetryMin, Max: s.RetryMax}, TLSConfig: tlsCfg,
		Rate: mailbox.Rate{N: s.Rate.N, Per: s.Rate.Per}, DailyRecipients: s.DailyRecipients}, nil
}

// readableAttr writes durations as durations ("1.5s", never nanoseconds in
// JSON) and drops attributes whose value is empty, so that a line carries
// only what it knows.
func readableAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Resolve(); v.Kind() {
	case slog.KindDuration:
		return slog.String(a.Key, v.Duration().String())
	case slog.KindString:
		if v.String() == "" {
			return slog.Attr{}
		}
	case slog.KindAny:
		if v.Any() == nil {
			return slog.Attr{}
		}
	}
	return a
}

// newLogger builds the daemon's structured logger from the [log] section.
func newLogger(w io.Writer, cfg config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level, ReplaceAttr: readableAttr}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run -config FILE [-log-level LEVEL]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	level := fs.String("log-level", "", "override [log] level (debug, info, warn, error)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := checkedConfig(*path, false, stderr)
	if err != nil {
		return err
	}
	if *level != "" {
		if err := cfg.Log.Level.UnmarshalText([]byte(*level)); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("-log-level: %w", err)}
		}
	}
	m := &Main{Config: cfg, Log: newLogger(stderr, cfg.Log)}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	return m.Run(ctx)
}
