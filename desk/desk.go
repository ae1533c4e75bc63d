// Package desk is the workflow of helpdeskd: it applies parsed mail to the
// desk (dedupe, threading, agent proof and #commands, triage, SLA
// deadlines, and every mail that must go out), a batch of mails in one
// store transaction with each mail in a savepoint of its own, and runs the
// per-ticket SLA check the loop asks for. Nothing here speaks IMAP
// or SMTP: mail comes in as a helpdesk.Message and leaves as outbox rows.
package desk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
	"github.com/helpdeskd/helpdesk/trust"
)

// Mailbox is what the desk needs to know of one configured support mailbox.
type Mailbox struct {
	Name            string
	Address         string   // support@example.com
	Aliases         []string // other addresses that deliver here
	Policy          string
	Team            string
	DefaultPriority helpdesk.Priority
	CriticalOnly    bool   // out-of-hours mailbox: only critical incidents are taken now
	QueuePolicy     string // policy of non-critical mail in a critical-only mailbox
}

// Agent is a member of the support team.
type Agent struct {
	Email   string
	Name    string
	Team    string
	Manager bool
}

// Team is a group of agents; Address, when set, receives the team's
// notifications instead of each member.
type Team struct {
	Name    string
	Address string
}

// Config is the desk's part of the configuration, already validated.
type Config struct {
	Name            string           // desk name, e.g. "Example Support"
	From            helpdesk.Address // sender of every mail
	Mailboxes       []Mailbox
	Agents          []Agent
	Teams           []Team
	Levels          helpdesk.Levels
	Policies        map[string]*sla.Policy
	DefaultPolicy   string
	Customer        func(addr string) (plan, policy string) // plan and policy override of a sender; may be nil
	ReopenWindow    time.Duration
	AutoReplyLimit  int
	AutoReplyWindow time.Duration
	Trust           trust.Policy // which Authentication-Results our own servers wrote
	MaxCc           int          // people in Cc a ticket takes from mail (default 10); a relayed mail goes to no more
	EscalateKeyword string
	// Managers are mailed when a login keeps being refused (LoginRefused).
	Managers []helpdesk.Address
	// Logins describe the daemon's accounts for that mail, by the name
	// LoginRefused is given: a mailbox's name, or the SMTP account's.
	Logins map[string]templates.LoginFailure
}

// Hooks are optional callbacks for metrics and the demo's event lines. Each
// is called after the transaction that caused it committed.
type Hooks struct {
	TicketOpened func(t helpdesk.Ticket, a helpdesk.Assessment)
	Event        func(ref string, priority helpdesk.Priority, e helpdesk.Event)
	Enqueued     func(m helpdesk.OutMail)
}

// Desk applies mail to the store. It is safe for concurrent use.
type Desk struct {
	cfg    Config
	st     *store.Store
	tri    *triage.Triage
	tmpl   *templates.Set
	log    *slog.Logger
	now    func() time.Time
	kick   func()
	hooks  Hooks
	ours   map[string]bool // our own addresses, lower case
	staff  map[string]bool // escalation recipients who are not agents (managers, a COO), lower case
	boxes  map[string]*Mailbox
	agents map[string]*Agent

	secrets    sync.Map     // agent email -> secret token, once committed (see work.agentSecret)
	secretsGen atomic.Int64 // the store's agent token generation the cache was read under
}

// Options are the desk's collaborators besides its configuration.
type Options struct {
	Store     *store.Store
	Triage    *triage.Triage
	Templates *templates.Set
	Log       *slog.Logger
	Now       func() time.Time // defaults to time.Now
	Kick      func()           // wakes the outbox worker after a commit that enqueued mail
	Hooks     Hooks
}

// New checks cfg and returns a Desk.
func New(cfg Config, o Options) (*Desk, error) {
	if o.Store == nil || o.Triage == nil || o.Templates == nil {
		return nil, errors.New("desk: store, triage and templates are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Kick == nil {
		o.Kick = func() {}
	}
	if cfg.Name == "" {
		cfg.Name = "Support"
	}
	if cfg.EscalateKeyword == "" {
		cfg.EscalateKeyword = "escalate"
	}
	if cfg.AutoReplyWindow <= 0 {
		cfg.AutoReplyWindow = time.Hour
	}
	if cfg.AutoReplyLimit <= 0 {
		cfg.AutoReplyLimit = 10
	}
	if cfg.MaxCc <= 0 {
		cfg.MaxCc = 10
	}
	if cfg.ReopenWindow <= 0 {
		cfg.ReopenWindow = 7 * 24 * time.Hour
	}
	if _, ok := cfg.Policies[cfg.DefaultPolicy]; !ok {
		return nil, fmt.Errorf("desk: default policy %q is not defined", cfg.DefaultPolicy)
	}
	d := &Desk{cfg: cfg, st: o.Store, tri: o.Triage, tmpl: o.Templates, log: o.Log, now: o.Now, kick: o.Kick,
		hooks: o.Hooks, ours: map[string]bool{}, staff: map[string]bool{}, boxes: map[string]*Mailbox{}, agents: map[string]*Agent{}}
	if cfg.From.Email != "" {
		d.ours[strings.ToLower(cfg.From.Email)] = true
	}
	for i := range d.cfg.Mailboxes {
		mb := &d.cfg.Mailboxes[i]
		d.boxes[mb.Name] = mb
		d.ours[strings.ToLower(mb.Address)] = true
		for _, a := range mb.Aliases {
			d.ours[strings.ToLower(a)] = true
		}
		for _, p := range []string{mb.Policy, mb.QueuePolicy} {
			if _, ok := cfg.Policies[p]; p != "" && !ok {
				return nil, fmt.Errorf("desk: mailbox %s names undefined policy %q", mb.Name, p)
			}
		}
	}
	for i := range d.cfg.Agents {
		a := &d.cfg.Agents[i]
		a.Email = strings.ToLower(a.Email)
		d.agents[a.Email] = a
	}
	for _, p := range cfg.Policies {
		notify := append([]string(nil), p.EscalateTo...)
		for _, s := range p.Ladder {
			notify = append(notify, s.Notify...)
		}
		for _, n := range notify {
			if strings.Contains(n, "@") && d.agents[strings.ToLower(n)] == nil {
				d.staff[strings.ToLower(n)] = true
			}
		}
	}
	return d, nil
}

// Incoming is one mail handed to the desk by a mailbox.
type Incoming struct {
	Mailbox     string // configured mailbox name
	UIDValidity uint32 // IMAP position, for the checkpoint; 0 when not from IMAP
	UID         uint32
	Message     *helpdesk.Message // nil when the mail could not be read at all
	Raw         []byte
	ParseError  error // why Message is nil
	// Oversize is set for a mail larger than its mailbox's
	// max_message_size: Raw is only its header and the body was never
	// read. The desk records it on a ticket with an oversize event, asks
	// a human sender to send it again in a form it can take, and tells
	// the agents; it runs no command and relays nothing.
	Oversize *helpdesk.Oversize

	assessment *helpdesk.Assessment // triage done ahead by Prepare; nil if not
}

// Outcome says what Ingest did with a mail.
type Outcome string

// Ingest outcomes.
const (
	Opened      Outcome = "opened"      // a new ticket
	Joined      Outcome = "joined"      // added to an existing ticket
	Duplicate   Outcome = "duplicate"   // seen before; nothing done
	Bounced     Outcome = "bounce"      // a delivery report, recorded
	Ignored     Outcome = "ignored"     // kept, on no ticket (e.g. our own mail come back)
	Quarantined Outcome = "quarantined" // unreadable; kept in quarantine
)

// Result is Ingest's account of one mail.
type Result struct {
	Outcome Outcome
	Ref     string // ticket reference, if any
}

// ErrUnreadable marks a mail that could not be read and was quarantined.
// It is helpdesk.ErrUnreadable, which the mailbox fetcher acts on.
var ErrUnreadable = helpdesk.ErrUnreadable

// ErrNotAttempted is the error of the mails of a batch after one that
// failed: they were not applied, and must be handed in again.
var ErrNotAttempted = errors.New("not attempted: an earlier mail of the batch failed")

// Ingest applies one mail in one transaction, checkpoint included, and
// wakes the outbox when mail was enqueued. For an unreadable mail it
// records the quarantine and returns an error wrapping ErrUnreadable.
func (d *Desk) Ingest(ctx context.Context, in Incoming) (Result, error) {
	res, errs := d.IngestBatch(ctx, []Incoming{in})
	return res[0], errs[0]
}

// Prepare does the part of in's work that needs no database, the triage
// of a mail that looks like the start of a new ticket, so that a caller
// can run it for many mails in parallel before IngestBatch. A mail that
// turns out to thread into a ticket wastes its triage; one that opens a
// ticket unprepared is triaged in the transaction. Prepare only reads the
// desk and writes in, so it is safe to call concurrently for different
// mails.
func (d *Desk) Prepare(in *Incoming) {
	m := in.Message
	if m == nil || in.assessment != nil || m.Bounce != nil || len(m.InReplyTo) > 0 || len(m.References) > 0 ||
		refTag.MatchString(m.Subject) || d.isOurs(m.From.Email) || d.agents[strings.ToLower(m.From.Email)] != nil {
		return
	}
	a := d.assess(in.Mailbox, m)
	in.assessment = &a
}

// assess triages m as mail to the named mailbox.
func (d *Desk) assess(mailbox string, m *helpdesk.Message) helpdesk.Assessment {
	var def helpdesk.Priority
	var policy string
	if mb := d.boxes[mailbox]; mb != nil {
		def, policy = mb.DefaultPriority, mb.Policy
	}
	return d.tri.Assess(triage.Input{Subject: m.Subject, Text: reportText(m), Date: m.Date, Default: def, Policy: policy})
}

// IngestBatch applies mails of one mailbox, in order, in one transaction
// (group commit; in several when it would hold the database longer than
// maxTxTime): each mail in a savepoint of its own, the checkpoint moved to
// the last, so that the batch costs one commit instead of one each. It
// returns one Result and one error per mail. errs[i] is nil when ins[i] is
// committed, wraps ErrUnreadable when ins[i] was quarantined (unreadable,
// or the desk failed on it with a panic: the raw mail is kept), and is
// any other error for a temporary failure: then the mails before i are
// committed with the checkpoint at the last of them, ins[i] is not, and
// the mails after it are not attempted (ErrNotAttempted). When a
// transaction itself fails, every mail from its first on has the error.
// The outbox is woken after each commit that enqueued mail.
func (d *Desk) IngestBatch(ctx context.Context, ins []Incoming) ([]Result, []error) {
	return d.IngestAsReady(ctx, ins, nil)
}

// IngestAsReady is IngestBatch for a batch that is still being parsed:
// before it reads ins[i] beyond Mailbox, UIDValidity and UID, it calls
// ready(i), which must block until the caller's goroutines have finished
// filling ins[i] (Message, ParseError, Prepare). A caller thus parses
// later mails while the desk applies earlier ones. ready may be nil.
func (d *Desk) IngestAsReady(ctx context.Context, ins []Incoming, ready func(i int)) ([]Result, []error) {
	res := make([]Result, len(ins))
	errs := make([]error, len(ins))
	// The checkpoint of each mailbox moves once per transaction, to its
	// last mail done.
	var last map[string]*Incoming
	done := func(in *Incoming) {
		if in.UIDValidity != 0 {
			last[in.Mailbox] = in
		}
	}
	d.runBatch(ctx, batchJob{
		n: len(ins),
		begin: func(_ *store.Tx, start int) {
			clear(res[start:])
			clear(errs[start:])
			last = map[string]*Incoming{}
		},
		work: func(tx *store.Tx, i int) *work {
			if ready != nil {
				ready(i)
			}
			return &work{d: d, tx: tx, now: tx.Now(), in: ins[i]}
		},
		item: func(w *work, i int) error {
			r, err := w.ingest()
			if err != nil {
				return err
			}
			in := &ins[i]
			done(in)
			res[i] = r
			if r.Outcome == Quarantined {
				errs[i] = fmt.Errorf("%s uid %d: %w: %v", in.Mailbox, in.UID, ErrUnreadable, in.ParseError)
			}
			return nil
		},
		failed: func(tx *store.Tx, i int, err error) (bool, error) {
			in := &ins[i]
			var p *panicError
			if errors.As(err, &p) {
				// A bug of ours met this mail: keep it in quarantine rather
				// than stop the mailbox on it for ever.
				d.log.Error("desk failed on a mail; quarantining it", "mailbox", in.Mailbox, "uid", in.UID,
					"panic", p.value, "stack", p.stack)
				reason := fmt.Sprintf("internal error: %v", p.value)
				if err := tx.Quarantine(in.Mailbox, in.UIDValidity, in.UID, reason, in.Raw); err != nil {
					return true, err
				}
				done(in)
				res[i] = Result{Outcome: Quarantined}
				errs[i] = fmt.Errorf("%s uid %d: %w: %s", in.Mailbox, in.UID, ErrUnreadable, reason)
				return false, nil
			}
			// A temporary failure: commit the mails before i and hand the
			// rest back.
			errs[i] = fmt.Errorf("ingest %s uid %d: %w", in.Mailbox, in.UID, err)
			for j := i + 1; j < len(ins); j++ {
				errs[j] = fmt.Errorf("ingest %s uid %d: %w", ins[j].Mailbox, ins[j].UID, ErrNotAttempted)
			}
			return true, nil
		},
		commit: func(tx *store.Tx) error {
			for _, in := range last {
				if err := tx.SetCheckpoint(in.Mailbox, in.UIDValidity, in.UID); err != nil {
					return err
				}
			}
			return nil
		},
		txFailed: func(start int, err error) {
			for i := start; i < len(ins); i++ {
				res[i] = Result{}
				errs[i] = fmt.Errorf("ingest %s uid %d: %w", ins[i].Mailbox, ins[i].UID, err)
			}
		},
	})
	return res, errs
}

// work is the state of one transaction.
type work struct {
	d        *Desk
	tx       *store.Tx
	now      time.Time
	in       Incoming
	after    []func() // hooks to call after commit
	enqueued bool
	// secretsChecked: the desk's cache of agent secrets was checked
	// against the store's rotation generation in this transaction.
	secretsChecked bool
	// fromFails says why our own server found the mail's From not
	// authentic (a DMARC failure of its domain); "" when it did not.
	fromFails string
	// threads are the Message-IDs of the staff mails about ticket
	// threadsOf, by reader (store.ReadTx.StaffThreads), kept up to date
	// by enqueue while the work lasts.
	threads   map[string][]string
	threadsOf int64
	opened    struct { // the ticket this mail opened and the mail, until the ack is out
		ticket    int64
		messageID string
	}
}

// policy returns the named policy, or the default one.
func (d *Desk) policy(name string) *sla.Policy {
	if p, ok := d.cfg.Policies[name]; ok {
		return p
	}
	return d.cfg.Policies[d.cfg.DefaultPolicy]
}

// event records e on the transaction and reports it to the hook after commit.
func (w *work) event(t *helpdesk.Ticket, kind helpdesk.EventKind, actor, detail, messageID string) error {
	e := helpdesk.Event{TicketID: t.ID, At: w.now, Kind: kind, Actor: actor, Detail: detail, MessageID: messageID}
	if err := w.tx.AddEvent(e); err != nil {
		return err
	}
	ref, prio, log, h := t.Ref, t.Priority, w.d.log, w.d.hooks.Event
	w.after = append(w.after, func() {
		if kind == helpdesk.EventNote {
			// A note's detail is its body, which agents wrote for each
			// other: only its size at info, the text at debug.
			log.Info("ticket event", "ticket", ref, "event", kind, "actor", actor, "detail_bytes", len(detail), "message_id", messageID)
			log.Debug("note body", "ticket", ref, "detail", detail)
		} else {
			log.Info("ticket event", "ticket", ref, "event", kind, "actor", actor, "detail", detail, "message_id", messageID)
		}
		if h != nil {
			h(ref, prio, e)
		}
	})
	return nil
}

// keep stores an incoming mail on ticket t and, when the mail had more
// attachments, parts or text than a mail keeps, says so on the ticket (the
// raw mail still has them all); of a mail too large to read, it says where
// the whole mail is.
func (w *work) keep(t *helpdesk.Ticket, mailbox string, m *helpdesk.Message) (int64, error) {
	id, err := w.tx.AddMessage(t.ID, mailbox, m)
	if err == nil && w.in.Oversize != nil {
		err = w.oversizeEvent(t, m)
	}
	if err != nil {
		return id, err
	}
	if m.AttachmentsOmitted > 0 {
		err = w.event(t, helpdesk.EventAttachmentsOmitted, senderOf(m).Email,
			fmt.Sprintf("%d attachments beyond the first %d were not kept; the raw mail has them (helpdeskd show %s)",
				m.AttachmentsOmitted, len(m.Attachments), t.Ref), m.MessageID)
	}
	if err == nil && m.PartsOmitted > 0 {
		err = w.event(t, helpdesk.EventPartsOmitted, senderOf(m).Email,
			fmt.Sprintf("%d MIME parts beyond the first %d were not read; the raw mail has them (helpdeskd show %s)",
				m.PartsOmitted, message.MaxParts, t.Ref), m.MessageID)
	}
	if err == nil && m.TextOmitted > 0 {
		err = w.event(t, helpdesk.EventTextCut, senderOf(m).Email,
			fmt.Sprintf("the text was cut after %d KiB; %d KiB more are in the raw mail (helpdeskd show -full %s)",
				len(m.Text)/1024, (m.TextOmitted+1023)/1024, t.Ref), m.MessageID)
	}
	return id, err
}
