// Package digest sends the managers' SLA digest: a scheduled mail (daily,
// weekly or on a cron spec) with the compliance of the period and of the
// last 30 days, the breached and at-risk open tickets, the weekly trend
// as an inline PNG chart and, for a manager, their personal board link.
//
// The figures are sla.NewReport's, the computation of `helpdeskd sla`,
// computed once per digest and shared by every reader's mail; the mails
// are rendered through templates ("digest") and written to the outbox, a
// mail per reader (the board link is personal), in the transaction that
// records the period (store.RecordDigest), so that no period is sent
// twice, across restarts too. A period missed while the daemon was down
// is sent once at the next start; older missed ones are not.
package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/board"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// Template is the name of the digest's template.
const Template = "digest"

// MaxUrgent bounds the breached and at-risk tickets a digest lists; the
// rest are counted.
const MaxUrgent = 50

// CompareDays is the longer compliance window each digest shows beside
// its period: the default period of `helpdeskd sla`.
const CompareDays = 30

// TrendWeeks is how many weeks the chart covers: the board's 13.
const TrendWeeks = 13

// maxRefs bounds the References of a digest: the thread's root and the
// latest ones.
const maxRefs = 10

// Config is what a Digester needs of the configuration.
type Config struct {
	Schedule *Schedule
	To       []string // the readers, lower case
	// IsManager says who may see the board: only they get a link.
	IsManager func(email string) bool
	// BoardURL is the board's public address; "" when the board is off
	// (no links).
	BoardURL string
	BoardTTL time.Duration // how long a digest's board link is valid
	Desk     string        // the desk's name
	From     helpdesk.Address
	Policy   func(name string) *sla.Policy // nil for an unknown name
	Levels   helpdesk.Levels
}

// Digester sends the digests. It is safe for one Run (or Tick) at a time.
type Digester struct {
	c    Config
	st   *store.Store
	tmpl *templates.Set
	now  func() time.Time
	log  *slog.Logger
	kick func()
}

// New returns a Digester over the store; kick (may be nil) wakes the
// outbox after mails are queued.
func New(c Config, st *store.Store, tmpl *templates.Set, now func() time.Time, log *slog.Logger, kick func()) *Digester {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if kick == nil {
		kick = func() {}
	}
	if c.BoardTTL <= 0 {
		c.BoardTTL = board.DefaultLinkTTL
	}
	return &Digester{c: c, st: st, tmpl: tmpl, now: now, log: log, kick: kick}
}

// maxSleep is the longest Run sleeps before looking again: a clock that
// jumped (a suspended machine, a corrected clock) is noticed within it.
const maxSleep = 10 * time.Minute

// Run sends the digest of the latest period at once when it is due and
// was not sent (the catch-up after downtime), then each at its time,
// until ctx is done. A failure is logged and retried after a minute,
// doubling up to half an hour; a panic is a failure. Run returns nil once
// ctx is done.
func (d *Digester) Run(ctx context.Context) error {
	d.log.Info("digest loop started", "schedule", d.c.Schedule.String(), "recipients", len(d.c.To),
		"next", d.c.Schedule.Next(d.now()).UTC())
	var delay, retry time.Duration
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		t.Reset(delay)
		select {
		case <-ctx.Done():
			d.log.Info("digest loop stopped")
			return nil
		case <-t.C:
		}
		if _, err := d.safeTick(ctx); err != nil {
			if ctx.Err() != nil {
				continue
			}
			retry = min(max(2*retry, time.Minute), 30*time.Minute)
			d.log.Error("digest", "err", err, "retry_in", retry)
			delay = retry
			continue
		}
		retry = 0
		now := d.now()
		delay = max(min(d.c.Schedule.Next(now).Sub(now), maxSleep), time.Second)
	}
}

func (d *Digester) safeTick(ctx context.Context) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("digest panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("digest: panic: %v", r)
		}
	}()
	return d.Tick(ctx)
}

// Tick sends the digest of the latest period due at the Digester's now,
// unless it was sent (or skipped) before, and returns how many mails it
// queued. On a database that never recorded a digest (the first start
// with the digest on), it records the latest period as skipped and sends
// nothing: the first digest comes at the schedule's next instant, not at
// an upgrade's restart.
func (d *Digester) Tick(ctx context.Context) (int, error) {
	now := d.now()
	fire := d.c.Schedule.Latest(now)
	if fire.IsZero() {
		return 0, nil
	}
	p, err := d.c.Schedule.Period(fire)
	if err != nil {
		return 0, fmt.Errorf("digest at %s: %w", fire.UTC().Format(time.RFC3339), err)
	}
	var recorded, anyRecorded bool
	if err := d.st.View(ctx, func(tx *store.ReadTx) (err error) {
		recorded, anyRecorded, err = tx.DigestRecorded(p.Key)
		return err
	}); err != nil {
		return 0, fmt.Errorf("digest %s: %w", p.Key, err)
	}
	if recorded {
		return 0, nil
	}
	if !anyRecorded {
		err := d.st.Update(ctx, func(tx *store.Tx) error {
			return tx.RecordDigest(store.Digest{Period: p.Key, Thread: p.Thread, DueAt: p.To, Skipped: true})
		})
		if err != nil && !errors.Is(err, store.ErrDigestRecorded) {
			return 0, err
		}
		d.log.Info("digest: first start; the first digest goes out at its next time", "skipped", p.Key,
			"next", d.c.Schedule.Next(now).UTC())
		return 0, nil
	}
	return d.Send(ctx, p)
}

// Send queues the digest of period p to every reader now, unless p was
// recorded before (then it queues nothing and returns 0).
func (d *Digester) Send(ctx context.Context, p Period) (int, error) {
	if len(d.c.To) == 0 {
		return 0, nil
	}
	now := d.now()
	start := time.Now()
	f, err := d.Figures(ctx, p, now)
	if err != nil {
		return 0, err
	}
	n := 0
	err = d.st.Update(ctx, func(tx *store.Tx) error {
		if err := tx.RecordDigest(store.Digest{Period: p.Key, Thread: p.Thread, DueAt: p.To, Recipients: len(d.c.To)}); err != nil {
			return err
		}
		earlier, err := tx.DigestThread(p.Thread)
		if err != nil {
			return err
		}
		for _, to := range d.c.To {
			secret := ""
			if d.c.BoardURL != "" && d.c.IsManager != nil && d.c.IsManager(to) {
				if secret, err = tx.BoardSecret(to); err != nil {
					return err
				}
			}
			m, err := d.Mail(f, p, earlier, to, secret, now)
			if err != nil {
				return err
			}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if errors.Is(err, store.ErrDigestRecorded) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("digest %s: %w", p.Key, err)
	}
	d.kick()
	d.log.Info("digest queued", "period", p.Key, "recipients", n, "open", f.Open, "breached", f.Breached,
		"at_risk", f.AtRisk, "took", time.Since(start))
	return n, nil
}

// Figures are a digest's figures, computed once and shared by every
// reader's mail: the text the template shows (less the reader's board
// link and the chart's Content-ID) and the chart.
type Figures struct {
	templates.Digest
	PNG []byte // the chart; nil when no week decided a clock
	// Reports are the computations behind them: the period's and the
	// last CompareDays days' (sla.NewReport, as `helpdeskd sla` makes them).
	Period, Recent sla.Report
}

// Figures computes the digest of period p as of now: one read of the open
// tickets and of the clocks of the tickets filed since the earliest of
// the period, the compared window and the trend.
func (d *Digester) Figures(ctx context.Context, p Period, now time.Time) (*Figures, error) {
	recentFrom := now.AddDate(0, 0, -CompareDays)
	since := now.Add(-TrendWeeks * 7 * 24 * time.Hour)
	for _, t := range []time.Time{recentFrom, p.From} {
		if t.Before(since) {
			since = t
		}
	}
	var open, filed []*helpdesk.Ticket
	err := d.st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		if open, err = tx.Tickets(store.TicketFilter{Status: []helpdesk.Status{helpdesk.StatusOpen, helpdesk.StatusPending}}); err != nil {
			return err
		}
		filed, err = tx.TicketClocks(since, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("digest %s: reading the desk: %w", p.Key, err)
	}
	loc := d.c.Schedule.Location()
	f := &Figures{
		Period: sla.NewReport(open, filed, d.c.Policy, d.c.Levels, now, p.From, p.To),
		Recent: sla.NewReport(nil, filed, d.c.Policy, d.c.Levels, now, recentFrom, now),
	}
	f.Digest = templates.Digest{
		Period: "from " + desk.FormatTime(p.From, loc) + " to " + desk.FormatTime(p.To, loc),
		Thread: p.ThreadName,
		AsOf:   desk.FormatTime(now, loc),
		Windows: []templates.DigestWindow{
			window("the period", f.Period.Compliance),
			window(fmt.Sprintf("the last %d days", CompareDays), f.Recent.Compliance),
		},
	}
	tally := sla.TallyOpen(f.Period.Open, now, MaxUrgent)
	f.Open, f.Breached, f.AtRisk, f.Paused, f.More = tally.Open, tally.Breached, tally.AtRisk, tally.Paused, tally.More
	for _, st := range tally.Urgent {
		t := st.Ticket
		owner := desk.Owner(t)
		if owner == "" {
			owner = "unassigned"
		}
		state := st.State(now)
		if state == sla.StateBreached {
			state = "BREACHED"
		}
		// Outsiders' text is made printable: a line break in a subject
		// must not start a line of its own in the text part.
		f.Urgent = append(f.Urgent, templates.DigestTicket{Ref: t.Ref, Subject: clip(desk.Printable(t.Subject), 80),
			Priority: string(t.Priority), Policy: t.Policy, State: state, Clock: string(st.Clock),
			Due: desk.FormatTime(st.Due, desk.Location(d.policy(t.Policy), t)), Left: desk.TimeLeft(st.Left),
			Owner: desk.Printable(owner)})
	}
	weeks := sla.Weekly(filed, d.c.Policy, now, TrendWeeks)
	for _, w := range weeks {
		f.Trend = append(f.Trend, templates.DigestWeek{Start: w.Start.In(loc).Format("2 Jan"),
			Response: rate(w.ResponseMet, w.ResponseBreached), Resolution: rate(w.ResolutionMet, w.ResolutionBreached)})
	}
	if decided(weeks) {
		if f.PNG, err = Chart(weeks); err != nil {
			return nil, fmt.Errorf("digest %s: %w", p.Key, err)
		}
	}
	return f, nil
}

func (d *Digester) policy(name string) *sla.Policy {
	if d.c.Policy == nil {
		return nil
	}
	return d.c.Policy(name)
}

// window turns compliance rows into the template's: a row per clock.
func window(name string, rows []sla.Compliance) templates.DigestWindow {
	w := templates.DigestWindow{Name: name}
	for _, r := range rows {
		w.Tickets += r.Tickets
		w.Rows = append(w.Rows,
			row(r, "response", r.ResponseMet, r.ResponseBreached, r.ResponseOpen, r.Responded, r.ResponseP50, r.ResponseP90),
			row(r, "resolution", r.ResolutionMet, r.ResolutionBreached, r.ResolutionOpen, r.Resolved, r.ResolutionP50, r.ResolutionP90))
	}
	return w
}

// row is one clock of a compliance row, in the words of `helpdeskd sla`.
func row(r sla.Compliance, clock string, met, breached, running, samples int, p50, p90 time.Duration) templates.DigestRow {
	out := templates.DigestRow{Policy: r.Policy, Priority: string(r.Priority), Clock: clock, Tickets: r.Tickets,
		Rate: desk.MetRate(met, breached), Met: met, Breached: breached, Running: running, Median: "-", P90: "-"}
	if met+breached+running == 0 {
		out.Rate = "no target"
	}
	if samples > 0 {
		out.Median, out.P90 = desk.HumanDuration(p50), desk.HumanDuration(p90)
	}
	return out
}

func rate(met, breached int) string {
	if met+breached == 0 {
		return "-"
	}
	return desk.MetRate(met, breached)
}

// clip cuts s to n characters, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// MessageID is the stable Message-ID of the digest of period key to
// reader: the same across restarts, so that later digests can refer to it.
func (d *Digester) MessageID(key, reader string) string {
	sum := sha256.Sum256([]byte("helpdeskd digest\x00" + strings.ToLower(reader)))
	token := strings.NewReplacer(" ", ".", ":", "").Replace(key)
	return "digest." + token + "." + hex.EncodeToString(sum[:6]) + "@" + domain(d.c.From.Email)
}

func domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "helpdeskd.invalid"
}

// Mail renders the digest of period p with figures f for reader to: the
// reader's board link when secret is set (their board secret), threaded
// under the digests of the earlier periods of p's thread (earlier: as
// recorded).
func (d *Digester) Mail(f *Figures, p Period, earlier []store.Digest, to, secret string, now time.Time) (*helpdesk.OutMail, error) {
	id := d.MessageID(p.Key, to)
	data := f.Digest
	if f.PNG != nil {
		data.Chart = "chart." + id
	}
	if secret != "" {
		expiry := now.Add(d.c.BoardTTL).Truncate(time.Second)
		data.Board = board.Link(d.c.BoardURL, to, expiry, secret)
		data.BoardUntil = desk.FormatTime(expiry, d.c.Schedule.Location())
	}
	r, err := d.tmpl.Render(Template, templates.Data{Desk: d.c.Desk, Digest: &data})
	if err != nil {
		return nil, fmt.Errorf("digest %s for %s: %w", p.Key, to, err)
	}
	subject := r.Subject
	if subject == "" {
		subject = d.c.Desk + ": SLA digest, " + p.ThreadName
	}
	var refs []string
	for _, e := range earlier {
		if e.Period != p.Key && e.DueAt.Before(p.To) {
			refs = append(refs, d.MessageID(e.Period, to))
		}
	}
	if len(refs) > maxRefs {
		refs = append(refs[:1:1], refs[len(refs)-(maxRefs-1):]...)
	}
	m := &helpdesk.OutMail{Kind: helpdesk.KindDigest, MessageID: id, From: d.c.From,
		To: []helpdesk.Address{{Email: to}}, Subject: clip(subject, 200), Text: r.Text, HTML: r.HTML,
		// RFC 3834 §5: sent by a program, answering no mail.
		Headers: map[string]string{"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All",
			"Thread-Topic": clip(subject, 200)}}
	if len(refs) > 0 {
		m.References, m.InReplyTo = refs, refs[len(refs)-1]
	}
	if f.PNG != nil {
		m.Attachments = []helpdesk.Attachment{{Filename: "sla-trend.png", ContentType: "image/png", ContentID: data.Chart,
			Inline: true, Size: int64(len(f.PNG)), Data: f.PNG}}
	}
	return m, nil
}
