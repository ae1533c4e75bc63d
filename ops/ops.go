// Package ops serves what an operator watches: Prometheus metrics of the
// desk (mail fetched, tickets opened, replies relayed, outbox backlog and
// the sending limits holding it back, SMTP and IMAP errors, SLA warnings
// and breaches, open tickets at risk and breached, spam and other mail not
// taken at its word, ingest and ack latency) and a /healthz that is 200
// only while the store is writable, every mailbox's server takes its
// credentials and the outbox holds no sent mail it could not record.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the desk's Prometheus metrics, registered on their own
// registry (no global state).
type Metrics struct {
	Registry       *prometheus.Registry
	MailFetched    *prometheus.CounterVec // by mailbox
	TicketsOpened  *prometheus.CounterVec // by priority
	RepliesRelayed prometheus.Counter     // agent replies relayed to customers
	Quarantined    *prometheus.CounterVec // by mailbox
	IMAPErrors     *prometheus.CounterVec // by mailbox
	SMTPErrors     prometheus.Counter     // failed send attempts
	MailSent       *prometheus.CounterVec // by kind
	SLAWarnings    *prometheus.CounterVec // by priority
	SLABreaches    *prometheus.CounterVec // by priority
	Panics         *prometheus.CounterVec // recovered panics by component
	Trust          *prometheus.CounterVec // mail the desk did not take at its word, by kind (spam, suspicious, outsider, address-leak, cc-limit)
	IngestLatency  prometheus.Histogram   // mail arrival (IMAP INTERNALDATE) to commit
	AckLatency     prometheus.Histogram   // commit to the ack accepted by SMTP
	SentCopies     *prometheus.CounterVec // Sent copies by mailbox and outcome (appended, skipped)
	SentCopyErrors *prometheus.CounterVec // failed attempts to append Sent copies, by mailbox
	// OutboxThrottled is 1 while a limit holds due mail back in the
	// queue, by limit: rate, daily_recipients ([smtp]) or provider_quota
	// (the server answered that the account sent too much).
	OutboxThrottled *prometheus.GaugeVec
	outbox          func(ctx context.Context) (pending, failed int, err error)
}

// NewMetrics creates and registers the metrics. outbox reports the outbox
// backlog for the pending/failed gauges; it may be nil.
func NewMetrics(outbox func(ctx context.Context) (pending, failed int, err error)) *Metrics {
	reg := prometheus.NewRegistry()
	latency := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	m := &Metrics{
		Registry: reg,
		MailFetched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_mail_fetched_total",
			Help: "Mails fetched from IMAP and handed to the desk."}, []string{"mailbox"}),
		TicketsOpened: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_tickets_opened_total",
			Help: "Tickets opened, by priority."}, []string{"priority"}),
		RepliesRelayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "helpdesk_replies_relayed_total",
			Help: "Agent replies relayed to customers."}),
		Quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_mail_quarantined_total",
			Help: "Unreadable mails moved to quarantine."}, []string{"mailbox"}),
		IMAPErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_imap_errors_total",
			Help: "IMAP connection and command errors."}, []string{"mailbox"}),
		SMTPErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "helpdesk_smtp_errors_total",
			Help: "Failed SMTP send attempts (temporary and permanent)."}),
		MailSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_mail_sent_total",
			Help: "Mails accepted by the SMTP server, by kind."}, []string{"kind"}),
		SLAWarnings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_sla_warnings_total",
			Help: "Escalation steps fired before a target was missed, by priority."}, []string{"priority"}),
		SLABreaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_sla_breaches_total",
			Help: "SLA targets missed, by priority."}, []string{"priority"}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_panics_total",
			Help: "Recovered panics, by component."}, []string{"component"}),
		Trust: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_trust_events_total",
			Help: "Mail the desk did not take at its word, by kind: spam filed without an answer, suspicious (forged or unproven agent), outsider (not on the ticket), address-leak, cc-limit."}, []string{"kind"}),
		IngestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "helpdesk_ingest_seconds",
			Help: "Time from a mail's arrival in the mailbox to its commit.", Buckets: latency}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "helpdesk_ack_seconds",
			Help: "Time from a ticket's commit to its acknowledgement accepted by SMTP.", Buckets: latency}),
		SentCopies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_sent_copies_total",
			Help: "Copies of mail to customers put in a mailbox's Sent folder (appended), or never to be (skipped: larger than the server takes), by mailbox."}, []string{"mailbox", "outcome"}),
		SentCopyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "helpdesk_sent_copy_errors_total",
			Help: "Failed attempts to append Sent copies (connection, login, folder, or the server refusing a copy), by mailbox; each is retried."}, []string{"mailbox"}),
		OutboxThrottled: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "helpdesk_outbox_throttled",
			Help: "1 while a sending limit holds due mail back in the outbox, by limit: rate and daily_recipients ([smtp]), provider_quota (the SMTP server refuses more mail from the account for now)."}, []string{"limit"}),
		outbox: outbox,
	}
	reg.MustRegister(m.MailFetched, m.TicketsOpened, m.RepliesRelayed, m.Quarantined, m.IMAPErrors, m.SMTPErrors,
		m.MailSent, m.SLAWarnings, m.SLABreaches, m.Panics, m.Trust, m.IngestLatency, m.AckLatency, m.OutboxThrottled,
		m.SentCopies, m.SentCopyErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if outbox != nil {
		reg.MustRegister(&backlogCollector{m: m})
	}
	return m
}

// Labels are the label values a fresh daemon exports at zero, so that a
// dashboard or an alert sees every series from the start rather than
// after the first event.
type Labels struct {
	Mailboxes  []string // mail fetched, quarantined, IMAP errors
	Priorities []string // tickets opened, SLA warnings and breaches
	Kinds      []string // mails sent
	Trust      []string // trust events
	Components []string // recovered panics
	Limits     []string // outbox throttled
	SentCopies []string // mailboxes with a Sent folder: copies appended, skipped, errors
}

// Preset creates every series of l at zero.
func (m *Metrics) Preset(l Labels) {
	for _, mb := range l.Mailboxes {
		m.MailFetched.WithLabelValues(mb)
		m.Quarantined.WithLabelValues(mb)
		m.IMAPErrors.WithLabelValues(mb)
	}
	for _, p := range l.Priorities {
		m.TicketsOpened.WithLabelValues(p)
		m.SLAWarnings.WithLabelValues(p)
		m.SLABreaches.WithLabelValues(p)
	}
	for _, k := range l.Kinds {
		m.MailSent.WithLabelValues(k)
	}
	for _, k := range l.Trust {
		m.Trust.WithLabelValues(k)
	}
	for _, c := range l.Components {
		m.Panics.WithLabelValues(c)
	}
	for _, n := range l.Limits {
		m.OutboxThrottled.WithLabelValues(n)
	}
	for _, mb := range l.SentCopies {
		m.SentCopies.WithLabelValues(mb, "appended")
		m.SentCopies.WithLabelValues(mb, "skipped")
		m.SentCopyErrors.WithLabelValues(mb)
	}
}

var sentPendingDesc = prometheus.NewDesc("helpdesk_sent_copies_pending",
	"Copies of mail that went out waiting to be appended to the mailbox's Sent folder.", []string{"mailbox"}, nil)

// WatchSentCopies registers helpdesk_sent_copies_pending, read at scrape
// time from pending (copies waiting, per mailbox); every mailbox of boxes
// is exported, at zero when pending does not name it. Call it once.
func (m *Metrics) WatchSentCopies(pending func(ctx context.Context) (map[string]int, error), boxes []string) {
	m.Registry.MustRegister(&sentCollector{pending: pending, boxes: boxes})
}

// sentCollector reads the Sent copies waiting at scrape time.
type sentCollector struct {
	pending func(ctx context.Context) (map[string]int, error)
	boxes   []string
}

// Describe implements prometheus.Collector.
func (c *sentCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sentPendingDesc }

// Collect implements prometheus.Collector: it asks the store at scrape time.
func (c *sentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.pending(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sentPendingDesc, err)
		return
	}
	for _, b := range c.boxes {
		ch <- prometheus.MustNewConstMetric(sentPendingDesc, prometheus.GaugeValue, float64(n[b]), b)
	}
}

var (
	pendingDesc = prometheus.NewDesc("helpdesk_outbox_pending", "Outbox mails waiting to be sent.", nil, nil)
	failedDesc  = prometheus.NewDesc("helpdesk_outbox_failed", "Outbox mails permanently refused.", nil, nil)
)

// backlogCollector reads the outbox backlog at scrape time.
type backlogCollector struct{ m *Metrics }

// Describe implements prometheus.Collector.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pendingDesc; ch <- failedDesc }

// Collect implements prometheus.Collector: it asks the store at scrape time.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, failed, err := c.m.outbox(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(failed))
}

// SLACount is how many open tickets of one policy and priority are at
// risk of missing an SLA target and how many have missed one.
type SLACount struct {
	Policy, Priority string
	AtRisk, Breached int
}

var (
	atRiskDesc = prometheus.NewDesc("helpdesk_open_tickets_at_risk",
		"Open tickets at risk of missing an SLA target, not yet breached: a running clock past the policy's first warning step for it (or within an hour of its deadline when the ladder has none), by policy and priority.",
		[]string{"policy", "priority"}, nil)
	breachedDesc = prometheus.NewDesc("helpdesk_open_tickets_breached",
		"Open tickets with a running SLA clock past its deadline, by policy and priority.",
		[]string{"policy", "priority"}, nil)
)

// WatchSLA registers the gauges helpdesk_open_tickets_at_risk and
// helpdesk_open_tickets_breached, which count reads at scrape time (the
// store, at the daemon's clock). Every policy and priority pair of preset
// is exported, at zero when count does not name it, so that an alert sees
// every series from the start. Call it once.
func (m *Metrics) WatchSLA(count func(ctx context.Context) ([]SLACount, error), preset []SLACount) {
	m.Registry.MustRegister(&slaCollector{count: count, preset: preset})
}

// slaCollector reads the open tickets at risk and breached at scrape time.
type slaCollector struct {
	count  func(ctx context.Context) ([]SLACount, error)
	preset []SLACount
}

// Describe implements prometheus.Collector.
func (c *slaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- atRiskDesc; ch <- breachedDesc }

// Collect implements prometheus.Collector: it asks the store at scrape time.
func (c *slaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(atRiskDesc, err)
		ch <- prometheus.NewInvalidMetric(breachedDesc, err)
		return
	}
	type key struct{ policy, priority string }
	seen := map[key]bool{}
	for _, n := range counts {
		k := key{n.Policy, n.Priority}
		if seen[k] {
			continue // one series per pair; the store groups by it
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(atRiskDesc, prometheus.GaugeValue, float64(n.AtRisk), n.Policy, n.Priority)
		ch <- prometheus.MustNewConstMetric(breachedDesc, prometheus.GaugeValue, float64(n.Breached), n.Policy, n.Priority)
	}
	for _, n := range c.preset {
		if k := (key{n.Policy, n.Priority}); !seen[k] {
			seen[k] = true
			ch <- prometheus.MustNewConstMetric(atRiskDesc, prometheus.GaugeValue, 0, n.Policy, n.Priority)
			ch <- prometheus.MustNewConstMetric(breachedDesc, prometheus.GaugeValue, 0, n.Policy, n.Priority)
		}
	}
}

// AuthFailed is the MailboxState.State of a mailbox whose server refused
// the credentials: /healthz answers 503 and names it.
const AuthFailed = "auth-failed"

// MailboxState is one mailbox's connection state for /healthz.
type MailboxState struct {
	Name        string    `json:"name"`
	State       string    `json:"state"`
	LastError   string    `json:"last_error,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

// Health is what /healthz needs to know.
type Health struct {
	Ping      func(ctx context.Context) error                            // store writable
	Mailboxes func() []MailboxState                                      // may be nil
	Outbox    func(ctx context.Context) (pending, failed int, err error) // may be nil
	// Unrecorded counts the mails the SMTP server accepted that the store
	// could not record as sent yet (the outbox's, a full disk); while any
	// is held the store is not writable for the desk. May be nil.
	Unrecorded func() int
	// SMTPAuth is the SMTP server's refusal of the outbox's login, "" when
	// none; while set /healthz answers 503. May be nil.
	SMTPAuth func() string
	// SentCopies are the mailboxes' Sent copies. A copy that waits is
	// reported (sent_copies, and a warning while appending fails) but
	// never makes /healthz 503: the mail itself went out. May be nil.
	SentCopies func(ctx context.Context) []SentCopyState
}

// SentCopyState is one mailbox's Sent copies on /healthz.
type SentCopyState struct {
	Mailbox     string    `json:"mailbox"`
	Folder      string    `json:"folder"`
	Pending     int       `json:"pending"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Handler serves /healthz and /metrics.
func Handler(m *Metrics, h Health, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	var lastStoreErr lastString // the store error /healthz last logged
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		body := struct {
			Status     string          `json:"status"`
			Problems   []string        `json:"problems,omitempty"`
			Store      string          `json:"store"`
			Mailboxes  []MailboxState  `json:"mailboxes"`
			Outbox     map[string]int  `json:"outbox,omitempty"`
			SentCopies []SentCopyState `json:"sent_copies,omitempty"`
			Warnings   []string        `json:"warnings,omitempty"`
		}{Status: "ok", Store: "writable", Mailboxes: []MailboxState{}}
		code := http.StatusOK
		unrecorded := 0
		if h.Unrecorded != nil {
			unrecorded = h.Unrecorded()
		}
		if err := h.Ping(ctx); err != nil {
			code, body.Status, body.Store = http.StatusServiceUnavailable, "unhealthy", err.Error()
			// Once per change, not per request: whoever polls /healthz
			// must not fill the log.
			if lastStoreErr.swap(err.Error()) != err.Error() {
				log.Warn("healthz: store not writable", "err", err)
			}
		} else if lastStoreErr.swap("") != "" {
			log.Info("healthz: store writable again")
		}
		if code == http.StatusOK && unrecorded > 0 {
			// The outbox logs this itself (storeFailed), once.
			code, body.Status = http.StatusServiceUnavailable, "unhealthy"
			body.Store = fmt.Sprintf("cannot record %d mails the SMTP server accepted", unrecorded)
		}
		if h.Mailboxes != nil {
			body.Mailboxes = h.Mailboxes()
		}
		for _, mb := range body.Mailboxes {
			// A refused login is no outage that passes: someone must fix
			// the credentials, so the daemon is unhealthy until then.
			if mb.State == AuthFailed {
				code, body.Status = http.StatusServiceUnavailable, "unhealthy"
				body.Problems = append(body.Problems, "mailbox "+mb.Name+": "+mb.LastError)
			}
		}
		if h.SMTPAuth != nil {
			if e := h.SMTPAuth(); e != "" {
				code, body.Status = http.StatusServiceUnavailable, "unhealthy"
				body.Problems = append(body.Problems, "smtp: "+e)
			}
		}
		if h.Outbox != nil {
			if p, f, err := h.Outbox(ctx); err == nil {
				body.Outbox = map[string]int{"pending": p, "failed": f, "unrecorded": unrecorded}
			}
		}
		if h.SentCopies != nil {
			body.SentCopies = h.SentCopies(ctx)
			for _, sc := range body.SentCopies {
				if sc.LastError != "" {
					body.Warnings = append(body.Warnings, fmt.Sprintf("mailbox %s: %d Sent copies wait: %s", sc.Mailbox, sc.Pending, sc.LastError))
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	})
	return mux
}

// lastString is a string that goroutines swap.
type lastString struct {
	mu sync.Mutex
	s  string
}

// swap sets the string and returns the one before.
func (l *lastString) swap(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.s
	l.s = s
	return old
}
