package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
)

// jsonTime renders a time as RFC 3339 in UTC, or null when zero.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339))
}

// ticketJSON is the public JSON form of a ticket (`tickets --json`).
type ticketJSON struct {
	Ref             string          `json:"ref"`
	Subject         string          `json:"subject"`
	Customer        string          `json:"customer"`
	Priority        string          `json:"priority"`
	Claimed         *string         `json:"claimed"`
	Status          string          `json:"status"`
	Team            string          `json:"team"`
	Assignee        string          `json:"assignee"`
	Policy          string          `json:"policy"`
	Plan            string          `json:"plan"`
	CreatedAt       jsonTime        `json:"created_at"`
	FirstResponseAt jsonTime        `json:"first_response_at"`
	ResponseDue     jsonTime        `json:"response_due"`
	ResolutionDue   jsonTime        `json:"resolution_due"`
	ResolvedAt      jsonTime        `json:"resolved_at"`
	Missing         []string        `json:"missing"`
	Reasons         []string        `json:"reasons"`
	Fields          helpdesk.Fields `json:"fields"`
	LinkedTo        string          `json:"linked_to,omitempty"`
}

func toTicketJSON(t *helpdesk.Ticket) ticketJSON {
	j := ticketJSON{Ref: t.Ref, Subject: t.Subject, Customer: t.Customer, Priority: string(t.Priority),
		Status: string(t.Status), Team: t.Team, Assignee: t.Assignee, Policy: t.Policy, Plan: t.Plan,
		CreatedAt: jsonTime(t.CreatedAt), FirstResponseAt: jsonTime(t.FirstResponseAt),
		ResponseDue: jsonTime(t.ResponseDue), ResolutionDue: jsonTime(t.ResolutionDue),
		ResolvedAt: jsonTime(t.ResolvedAt), Missing: t.Missing, Reasons: t.Reasons, Fields: t.Fields, LinkedTo: t.LinkedTo}
	if t.Claimed != "" {
		c := string(t.Claimed)
		j.Claimed = &c
	}
	if j.Missing == nil {
		j.Missing = []string{}
	}
	if j.Reasons == nil {
		j.Reasons = []string{}
	}
	return j
}

// messageJSON is one message in `show --json`.
type messageJSON struct {
	Direction   string   `json:"direction"`
	Kind        string   `json:"kind"`
	From        string   `json:"from"`
	To          []string `json:"to"`
	Subject     string   `json:"subject"`
	MessageID   string   `json:"message_id"`
	Date        jsonTime `json:"date"`
	Text        string   `json:"text"`
	Attachments []string `json:"attachments,omitempty"`
}

// eventJSON is one audit-trail entry in `show --json`.
type eventJSON struct {
	At        jsonTime `json:"at"`
	Kind      string   `json:"kind"`
	Actor     string   `json:"actor"`
	Detail    string   `json:"detail"`
	MessageID string   `json:"message_id,omitempty"`
}

type showJSON struct {
	ticketJSON
	Messages []messageJSON `json:"messages"`
	Events   []eventJSON   `json:"events"`
	Outbox   []outMailJSON `json:"outbox"`
}

// outMailJSON is one outgoing mail of a ticket and how each of its
// recipients fared, in `show --json`.
type outMailJSON struct {
	Kind        string          `json:"kind"`
	MessageID   string          `json:"message_id"`
	Created     jsonTime        `json:"created"`
	Status      string          `json:"status"` // pending, sent, failed
	Attempts    int             `json:"attempts"`
	NextAttempt jsonTime        `json:"next_attempt,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	Recipients  []recipientJSON `json:"recipients"`
	subject     string          // for the text form
}

// recipientJSON is one recipient's delivery state (helpdesk.Recipient).
type recipientJSON struct {
	Email string   `json:"email"`
	State string   `json:"state"` // pending, delivered, refused, deferred
	Reply string   `json:"reply,omitempty"`
	At    jsonTime `json:"at,omitempty"`
}

func toOutMailJSON(m helpdesk.OutMail) outMailJSON {
	o := outMailJSON{Kind: string(m.Kind), MessageID: m.MessageID, Created: jsonTime(m.CreatedAt), Status: "pending",
		Attempts: m.Attempts, LastError: m.LastError, Recipients: []recipientJSON{}, subject: m.Subject}
	switch {
	case !m.SentAt.IsZero():
		o.Status = "sent"
	case !m.FailedAt.IsZero():
		o.Status = "failed"
	default:
		o.NextAttempt = jsonTime(m.NextAttemptAt)
	}
	for _, r := range m.Envelope() {
		o.Recipients = append(o.Recipients, recipientJSON{Email: r.Email, State: string(r.State), Reply: r.Reply, At: jsonTime(r.At)})
	}
	return o
}

// listTickets prints tickets as a table or a JSON array.
func listTickets(ctx context.Context, st *store.Store, w io.Writer, status string, asJSON bool) error {
	var f store.TicketFilter
	if status != "" {
		for _, s := range strings.Split(status, ",") {
			st, err := helpdesk.ParseStatus(s)
			if err != nil {
				return err
			}
			f.Status = append(f.Status, st)
		}
	}
	var ts []*helpdesk.Ticket
	if err := st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		ts, err = tx.Tickets(f)
		return err
	}); err != nil {
		return err
	}
	if asJSON {
		out := make([]ticketJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, toTicketJSON(t))
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REF\tPRIORITY\tSTATUS\tCUSTOMER\tCREATED\tRESPONSE DUE\tMISSING\tSUBJECT")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Ref, t.Priority, t.Status, t.Customer,
			fmtLocal(t.CreatedAt), fmtLocal(t.ResponseDue), strings.Join(t.Missing, ","), truncate(t.Subject, 50))
	}
	return tw.Flush()
}

func fmtLocal(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// showTicket prints one ticket with its messages and audit trail. The text
// of each message is cut to 2,000 characters unless full, which prints the
// whole text of every message: for a mail received, read again from its
// raw mail, since the ticket keeps at most message.MaxText of it.
func showTicket(ctx context.Context, st *store.Store, w io.Writer, ref string, asJSON, full bool) error {
	var t *helpdesk.Ticket
	var msgs []store.StoredMessage
	var evs []helpdesk.Event
	var outs []helpdesk.OutMail
	if err := st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		if t, err = tx.TicketByRef(ref); err != nil {
			return fmt.Errorf("ticket %s: %w", ref, err)
		}
		if msgs, err = tx.Messages(t.ID); err != nil {
			return err
		}
		if outs, err = tx.TicketOutbox(t.ID); err != nil {
			return err
		}
		evs, err = tx.Events(t.ID)
		return err
	}); err != nil {
		return err
	}
	out := showJSON{ticketJSON: toTicketJSON(t), Messages: []messageJSON{}, Events: []eventJSON{}, Outbox: []outMailJSON{}}
	for _, m := range outs {
		out.Outbox = append(out.Outbox, toOutMailJSON(m))
	}
	for _, m := range msgs {
		mj := messageJSON{Direction: string(m.Direction), Kind: string(m.Kind), From: m.From.Email, To: []string{},
			Subject: m.Subject, MessageID: m.MessageID, Date: jsonTime(m.Date), Text: m.NewText}
		if mj.Date == jsonTime(time.Time{}) {
			mj.Date = jsonTime(m.ReceivedAt)
		}
		if strings.TrimSpace(mj.Text) == "" || full {
			mj.Text = m.Text
		}
		if full && m.Direction == helpdesk.Inbound {
			text, err := fullText(ctx, st, m.MessageID)
			if err != nil {
				return err
			}
			mj.Text = text
		}
		for _, a := range append(m.To, m.Cc...) {
			mj.To = append(mj.To, a.Email)
		}
		for _, a := range m.Attachments {
			mj.Attachments = append(mj.Attachments, a.Filename)
		}
		out.Messages = append(out.Messages, mj)
	}
	for _, e := range evs {
		out.Events = append(out.Events, eventJSON{At: jsonTime(e.At), Kind: string(e.Kind), Actor: e.Actor, Detail: e.Detail, MessageID: e.MessageID})
	}
	if asJSON {
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "%s  %s\n", t.Ref, t.Subject)
	fmt.Fprintf(w, "customer  %s\npriority  %s (%s)\nstatus    %s\npolicy    %s %s\nteam      %s  assignee %s\n",
		t.Customer, t.Priority, strings.Join(t.Reasons, "; "), t.Status, t.Policy, t.Plan, dash(t.Team), dash(t.Assignee))
	fmt.Fprintf(w, "created   %s\nresponse  due %s, first %s\nresolve   due %s\n", fmtLocal(t.CreatedAt),
		fmtLocal(t.ResponseDue), fmtLocal(t.FirstResponseAt), fmtLocal(t.ResolutionDue))
	if len(t.Missing) > 0 {
		fmt.Fprintf(w, "missing   %s\n", strings.Join(t.Missing, ", "))
	}
	for _, name := range helpdesk.FieldNames {
		if v := t.Fields.Get(name); v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", name, truncate(strings.ReplaceAll(v, "\n", " / "), 100))
		}
	}
	text := func(s string) string { return truncate(s, 2000) }
	if full {
		text = func(s string) string { return s }
	}
	fmt.Fprintln(w, "\nMessages:")
	for _, m := range out.Messages {
		fmt.Fprintf(w, "--- %s %s %s from %s to %s\n%s\n", time.Time(m.Date).Local().Format("2006-01-02 15:04"),
			m.Direction, m.Kind, m.From, strings.Join(m.To, ", "), indent(text(m.Text)))
	}
	fmt.Fprintln(w, "\nEvents:")
	for _, e := range evs {
		fmt.Fprintf(w, "  %s  %-18s %-28s %s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Kind, e.Actor, e.Detail)
	}
	fmt.Fprintln(w, "\nOutgoing mail (delivery per recipient):")
	for _, o := range out.Outbox {
		line := fmt.Sprintf("  %s  %-12s %-7s %s", time.Time(o.Created).Local().Format("2006-01-02 15:04:05"), o.Kind, o.Status,
			truncate(o.subject, 80))
		if o.Status == "pending" {
			line += fmt.Sprintf(" (attempts %d, next %s)", o.Attempts, fmtLocal(time.Time(o.NextAttempt)))
		}
		fmt.Fprintln(w, line)
		for _, r := range o.Recipients {
			fmt.Fprintf(w, "      %-9s %s", r.State, r.Email)
			if r.Reply != "" {
				fmt.Fprintf(w, ": %s", r.Reply)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// fullText reads the whole text of the received mail with Message-ID id
// from its raw mail, its attachments left out.
func fullText(ctx context.Context, st *store.Store, id string) (string, error) {
	var raw []byte
	if err := st.View(ctx, func(tx *store.ReadTx) (err error) {
		raw, err = tx.Raw(id)
		return err
	}); err != nil {
		return "", fmt.Errorf("raw mail of %s: %w", id, err)
	}
	m, err := message.Parse(raw, message.ParseOptions{TextLimit: -1, MaxAttachmentSize: -1})
	if err != nil {
		return "", fmt.Errorf("read raw mail of %s: %w", id, err)
	}
	return m.Text, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
