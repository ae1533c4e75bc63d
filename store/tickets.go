package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
)

const ticketColumns = `id, ref, token, subject, customer, customer_name, mailbox, policy, plan, team,
	assignee, priority, priority_source, claimed, reasons, status, fields, missing, linked_to,
	created_at, updated_at, first_response_at, resolved_at, closed_at, response_due, resolution_due,
	pauses, next_check_at, risk_at`

func scanTicket(r scanner) (*helpdesk.Ticket, error) {
	var t helpdesk.Ticket
	var prio, prioSrc, claimed, reasons, status, fields, missing, pauses string
	var created, updated, first, resolved, closed, respDue, resolDue, next, risk sql.NullString
	err := r.Scan(&t.ID, &t.Ref, &t.Token, &t.Subject, &t.Customer, &t.CustomerName, &t.Mailbox,
		&t.Policy, &t.Plan, &t.Team, &t.Assignee, &prio, &prioSrc, &claimed, &reasons, &status,
		&fields, &missing, &t.LinkedTo, &created, &updated, &first, &resolved, &closed, &respDue,
		&resolDue, &pauses, &next, &risk)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan ticket: %w", err)
	}
	t.Priority, t.PrioritySource, t.Claimed, t.Status = helpdesk.Priority(prio), prioSrc, helpdesk.Priority(claimed), helpdesk.Status(status)
	if err := unmarshalAll(
		[]string{reasons, fields, missing, pauses},
		[]any{&t.Reasons, &t.Fields, &t.Missing, &t.Pauses}); err != nil {
		return nil, fmt.Errorf("ticket %s: %w", t.Ref, err)
	}
	times := []*time.Time{&t.CreatedAt, &t.UpdatedAt, &t.FirstResponseAt, &t.ResolvedAt, &t.ClosedAt, &t.ResponseDue, &t.ResolutionDue, &t.NextCheckAt, &t.RiskAt}
	for i, v := range []sql.NullString{created, updated, first, resolved, closed, respDue, resolDue, next, risk} {
		if *times[i], err = parseTime(v); err != nil {
			return nil, fmt.Errorf("ticket %s: %w", t.Ref, err)
		}
	}
	return &t, nil
}

// CreateTicket allocates the next reference (HD-1000, HD-1001, ...) and a
// random reply token, and inserts t. It sets t.ID, t.Ref, t.Token and the
// creation times when they are unset.
func (tx *Tx) CreateTicket(t *helpdesk.Ticket) error {
	var n int64
	err := tx.queryRow(`INSERT INTO counters (name, value) VALUES ('ticket', ?)
		ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`, tx.s.RefStart).Scan(&n)
	if err != nil {
		return fmt.Errorf("allocate ticket number: %w", err)
	}
	t.Ref = fmt.Sprintf("%s-%d", tx.s.RefPrefix, n)
	if t.Token == "" {
		t.Token = newToken(10)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = tx.now
	}
	t.UpdatedAt = tx.now
	if t.Status == "" {
		t.Status = helpdesk.StatusOpen
	}
	if err := t.Validate(); err != nil {
		return err
	}
	res, err := tx.exec(`INSERT INTO tickets (number, ref, token, subject, customer, customer_name,
		mailbox, policy, plan, team, assignee, priority, priority_source, claimed, reasons, status,
		fields, missing, linked_to, created_at, updated_at, first_response_at, resolved_at, closed_at,
		response_due, resolution_due, pauses, next_check_at, risk_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n, t.Ref, t.Token, t.Subject, strings.ToLower(t.Customer), t.CustomerName, t.Mailbox, t.Policy,
		t.Plan, t.Team, t.Assignee, string(t.Priority), t.PrioritySource, string(t.Claimed),
		mustJSON(nonNil(t.Reasons)), string(t.Status), mustJSON(t.Fields), mustJSON(nonNil(t.Missing)), t.LinkedTo,
		fmtTime(t.CreatedAt), fmtTime(t.UpdatedAt), fmtTime(t.FirstResponseAt), fmtTime(t.ResolvedAt),
		fmtTime(t.ClosedAt), fmtTime(t.ResponseDue), fmtTime(t.ResolutionDue), mustJSON(nonNilPauses(t.Pauses)),
		fmtTime(t.NextCheckAt), fmtTime(t.RiskAt))
	if err != nil {
		return fmt.Errorf("insert ticket %s: %w", t.Ref, err)
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("insert ticket %s: %w", t.Ref, err)
	}
	return nil
}

func nonNilPauses(p []helpdesk.Pause) []helpdesk.Pause {
	if p == nil {
		return []helpdesk.Pause{}
	}
	return p
}

// UpdateTicket writes every mutable column of t and sets t.UpdatedAt.
func (tx *Tx) UpdateTicket(t *helpdesk.Ticket) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.UpdatedAt = tx.now
	res, err := tx.exec(`UPDATE tickets SET subject = ?, customer = ?, customer_name = ?, mailbox = ?,
		policy = ?, plan = ?, team = ?, assignee = ?, priority = ?, priority_source = ?, claimed = ?,
		reasons = ?, status = ?, fields = ?, missing = ?, linked_to = ?, updated_at = ?,
		first_response_at = ?, resolved_at = ?, closed_at = ?, response_due = ?, resolution_due = ?,
		pauses = ?, next_check_at = ?, risk_at = ? WHERE id = ?`,
		t.Subject, strings.ToLower(t.Customer), t.CustomerName, t.Mailbox, t.Policy, t.Plan, t.Team,
		t.Assignee, string(t.Priority), t.PrioritySource, string(t.Claimed), mustJSON(nonNil(t.Reasons)),
		string(t.Status), mustJSON(t.Fields), mustJSON(nonNil(t.Missing)), t.LinkedTo, fmtTime(t.UpdatedAt),
		fmtTime(t.FirstResponseAt), fmtTime(t.ResolvedAt), fmtTime(t.ClosedAt), fmtTime(t.ResponseDue),
		fmtTime(t.ResolutionDue), mustJSON(nonNilPauses(t.Pauses)), fmtTime(t.NextCheckAt), fmtTime(t.RiskAt), t.ID)
	if err != nil {
		return fmt.Errorf("update ticket %s: %w", t.Ref, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update ticket %s: %w", t.Ref, ErrNotFound)
	}
	return nil
}

// TicketByID returns the ticket with the given id.
func (tx *ReadTx) TicketByID(id int64) (*helpdesk.Ticket, error) {
	return scanTicket(tx.queryRow(`SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
}

// TicketByRef returns the ticket with the given reference (case-insensitive).
func (tx *ReadTx) TicketByRef(ref string) (*helpdesk.Ticket, error) {
	return scanTicket(tx.queryRow(`SELECT `+ticketColumns+` FROM tickets WHERE ref = ? COLLATE NOCASE`, ref))
}

// TicketByMessageID returns the ticket a stored message (sent or received)
// with any of the given Message-IDs belongs to; the last id that matches
// wins, so pass References oldest first.
func (tx *ReadTx) TicketByMessageID(ids ...string) (*helpdesk.Ticket, error) {
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] == "" {
			continue
		}
		var tid sql.NullInt64
		err := tx.queryRow(`SELECT ticket_id FROM messages WHERE message_id = ?`, ids[i]).Scan(&tid)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !tid.Valid) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("thread by message-id: %w", err)
		}
		return tx.TicketByID(tid.Int64)
	}
	return nil, ErrNotFound
}

// TicketFilter selects tickets for listing.
type TicketFilter struct {
	Status   []helpdesk.Status // empty: any
	Customer string
	Since    time.Time // created at or after
	Until    time.Time // created before
	Limit    int       // 0: no limit
}

// Tickets lists tickets matching f, newest first.
func (tx *ReadTx) Tickets(f TicketFilter) ([]*helpdesk.Ticket, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(f.Status)), ", ")
		where = append(where, "status IN ("+ph+")")
		for _, s := range f.Status {
			args = append(args, string(s))
		}
	}
	if f.Customer != "" {
		where = append(where, "customer = ?")
		args = append(args, strings.ToLower(f.Customer))
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, fmtTime(f.Until))
	}
	q := `SELECT ` + ticketColumns + ` FROM tickets`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	var out []*helpdesk.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DueTickets returns the ids of tickets whose next SLA check is at or before
// now, earliest first, at most limit of them. The index on next_check_at
// keeps this proportional to the due tickets, not to all open ones.
func (tx *ReadTx) DueTickets(now time.Time, limit int) ([]int64, error) {
	rows, err := tx.query(`SELECT id FROM tickets WHERE next_check_at IS NOT NULL AND next_check_at <= ?
		ORDER BY next_check_at, id LIMIT ?`, fmtTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due tickets: %w", err)
	}
	return column[int64](rows)
}

// DueTickets returns the ids of tickets whose next SLA check is due at now,
// at most limit of them: the SLA loop's source.
func (s *Store) DueTickets(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	var ids []int64
	err := s.View(ctx, func(tx *ReadTx) error {
		var err error
		ids, err = tx.DueTickets(now, limit)
		return err
	})
	return ids, err
}

// slaOpenCountsQuery counts at risk and breached per policy and priority.
// The unary + keeps SQLite from choosing the status index, which would
// read every open ticket, over tickets_risk.
const slaOpenCountsQuery = `SELECT policy, priority, COUNT(*) - SUM(breached), SUM(breached) FROM (
		SELECT policy, priority, CASE WHEN (first_response_at IS NULL AND response_due <= ?1)
			OR resolution_due <= ?2 THEN 1 ELSE 0 END AS breached
		FROM tickets WHERE risk_at <= ?3 AND +status IN ('open', 'pending'))
	GROUP BY policy, priority ORDER BY policy, priority`

// SLAOpenCount is how many open tickets of one policy and priority have
// missed an SLA target (a running clock past its deadline) and how many,
// not breached, are at risk of missing one (their Ticket.RiskAt has come).
type SLAOpenCount struct {
	Policy   string
	Priority helpdesk.Priority
	AtRisk   int
	Breached int
}

// SLAOpenCounts counts the open and pending tickets at risk and breached
// at now, per policy and priority, in that order; pairs with none are left
// out. It reads only the tickets whose risk instant has come, through the
// tickets_risk index, so that a /metrics scrape costs the tickets at risk
// or breached, not every open ticket.
func (s *Store) SLAOpenCounts(ctx context.Context, now time.Time) ([]SLAOpenCount, error) {
	var out []SLAOpenCount
	err := s.View(ctx, func(tx *ReadTx) error {
		at := fmtTime(now)
		rows, err := tx.query(slaOpenCountsQuery, at, at, at)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c SLAOpenCount
			var prio string
			if err := rows.Scan(&c.Policy, &prio, &c.AtRisk, &c.Breached); err != nil {
				return err
			}
			c.Priority = helpdesk.Priority(prio)
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sla open counts: %w", err)
	}
	return out, nil
}

// TicketClocks lists the tickets created in [since, until) with only what
// SLA compliance and the triage counts read: ID, Policy, Plan, Priority,
// Status and the times CreatedAt, FirstResponseAt, ResolvedAt,
// ResponseDue and ResolutionDue (every other field is zero). The board
// reads its 90 days with it: a tenth of the cost of Tickets, which
// decodes every column.
func (tx *ReadTx) TicketClocks(since, until time.Time) ([]*helpdesk.Ticket, error) {
	rows, err := tx.query(`SELECT id, policy, plan, priority, status, created_at, first_response_at, resolved_at,
		response_due, resolution_due FROM tickets WHERE created_at >= ? AND created_at < ? ORDER BY id`, fmtTime(since), fmtTime(until))
	if err != nil {
		return nil, fmt.Errorf("ticket clocks: %w", err)
	}
	defer rows.Close()
	var out []*helpdesk.Ticket
	var prio, status string
	var times [5]sql.NullString
	for rows.Next() {
		t := &helpdesk.Ticket{}
		if err := rows.Scan(&t.ID, &t.Policy, &t.Plan, &prio, &status, &times[0], &times[1], &times[2], &times[3], &times[4]); err != nil {
			return nil, fmt.Errorf("ticket clocks: %w", err)
		}
		t.Priority, t.Status = helpdesk.Priority(prio), helpdesk.Status(status)
		for i, dst := range []*time.Time{&t.CreatedAt, &t.FirstResponseAt, &t.ResolvedAt, &t.ResponseDue, &t.ResolutionDue} {
			if *dst, err = parseTime(times[i]); err != nil {
				return nil, fmt.Errorf("ticket clocks %d: %w", t.ID, err)
			}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
