package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// Enqueue writes m to the outbox in the transaction of the change that
// caused it, due at once. It sets m.ID and m.CreatedAt. m.MessageID must be
// set: it is fixed now, so a retried send is the same mail.
func (tx *Tx) Enqueue(m *helpdesk.OutMail) error {
	if m.MessageID == "" || len(m.To) == 0 {
		return fmt.Errorf("enqueue %s: message-id and recipients are required", m.Kind)
	}
	m.CreatedAt = tx.now
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = tx.now
	}
	var tid any
	if m.TicketID != 0 {
		tid = m.TicketID
	}
	headers := m.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	res, err := tx.exec(`INSERT INTO outbox (ticket_id, kind, message_id, from_addr, to_addrs, cc_addrs,
		reply_to, subject, in_reply_to, refs, text, html, auto, headers, next_attempt_at, created_at,
		to_customer, author)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tid, string(m.Kind), m.MessageID, mustJSON(m.From), mustJSON(m.To), mustJSON(addrList(m.Cc)),
		mustJSON(addrList(m.ReplyTo)), m.Subject, m.InReplyTo, mustJSON(nonNil(m.References)), m.Text, m.HTML,
		m.Auto, mustJSON(headers), fmtTime(m.NextAttemptAt), fmtTime(m.CreatedAt), m.ToCustomer, m.Author)
	if err != nil {
		return fmt.Errorf("enqueue %s %s: %w", m.Kind, m.MessageID, err)
	}
	if m.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("enqueue %s: %w", m.MessageID, err)
	}
	for _, a := range m.Attachments {
		if a.Data == nil {
			continue
		}
		if _, err := tx.exec(`INSERT INTO outbox_attachments (outbox_id, filename, content_type, content_id, inline, data)
			VALUES (?, ?, ?, ?, ?, ?)`, m.ID, a.Filename, a.ContentType, a.ContentID, a.Inline, a.Data); err != nil {
			return fmt.Errorf("enqueue %s attachment %s: %w", m.MessageID, a.Filename, err)
		}
	}
	return nil
}

const outboxColumns = `id, ticket_id, kind, message_id, from_addr, to_addrs, cc_addrs, reply_to, subject,
	in_reply_to, refs, text, html, auto, headers, attempts, next_attempt_at, last_error, created_at,
	sent_at, failed_at, status, recipients, to_customer, author, sending_at`

func scanOutMail(r scanner) (helpdesk.OutMail, error) {
	var m helpdesk.OutMail
	var tid sql.NullInt64
	var kind, from, to, cc, replyTo, refs, headers, status, rcpts string
	var next, created, sent, failed, sending sql.NullString
	if err := r.Scan(&m.ID, &tid, &kind, &m.MessageID, &from, &to, &cc, &replyTo, &m.Subject, &m.InReplyTo,
		&refs, &m.Text, &m.HTML, &m.Auto, &headers, &m.Attempts, &next, &m.LastError, &created, &sent, &failed,
		&status, &rcpts, &m.ToCustomer, &m.Author, &sending); err != nil {
		return m, fmt.Errorf("scan outbox: %w", err)
	}
	m.TicketID, m.Kind = tid.Int64, helpdesk.MessageKind(kind)
	if err := unmarshalAll([]string{from, to, cc, replyTo, refs, headers, rcpts},
		[]any{&m.From, &m.To, &m.Cc, &m.ReplyTo, &m.References, &m.Headers, &m.Recipients}); err != nil {
		return m, fmt.Errorf("outbox %d: %w", m.ID, err)
	}
	var err error
	times := []*time.Time{&m.NextAttemptAt, &m.CreatedAt, &m.SentAt, &m.FailedAt, &m.SendingAt}
	for i, v := range []sql.NullString{next, created, sent, failed, sending} {
		if *times[i], err = parseTime(v); err != nil {
			return m, err
		}
	}
	settledEnvelope(&m, status, rcpts)
	return m, nil
}

// settledEnvelope gives a done row whose recipients column is empty the state of
// every recipient: no attempt answered them apart, so the row's outcome
// was every recipient's (so are rows from before per-recipient state).
func settledEnvelope(m *helpdesk.OutMail, status, rcpts string) {
	if rcpts != "" || status == "pending" {
		return
	}
	m.Recipients = m.Envelope()
	for i := range m.Recipients {
		r := &m.Recipients[i]
		switch status {
		case "sent":
			r.State, r.At = helpdesk.RecipientDelivered, m.SentAt
		case "failed":
			r.State, r.At, r.Reply = helpdesk.RecipientRefused, m.FailedAt, m.LastError
		}
	}
}

// DueOutbox returns pending outbox rows due at or before now, oldest first,
// with their attachments.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]helpdesk.OutMail, error) {
	var out []helpdesk.OutMail
	err := s.View(ctx, func(tx *ReadTx) error {
		rows, err := tx.query(`SELECT `+outboxColumns+` FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`, fmtTime(now), limit)
		if err != nil {
			return fmt.Errorf("due outbox: %w", err)
		}
		if out, err = scanOutMails(rows); err != nil {
			return fmt.Errorf("due outbox: %w", err)
		}
		return tx.withAttachments(out)
	})
	return out, err
}

// DueOutboxRanked returns up to limit pending outbox rows due at or before
// now, with their attachments, in the order they are to go when the
// account's sending limits make mail wait:
//
//  0. acknowledgements of tickets at the most urgent level (levels.Order[0]):
//     a customer with an outage waits for the first word;
//  1. the other mail to customers (to_customer: acknowledgements,
//     relayed replies, resolutions), by their ticket's priority;
//  2. the mail to agents (notifications, command answers), by priority;
//  3. escalations and mail of no ticket (digests): the managers' mail,
//     which the board and the CLI can stand in for.
//
// Priorities rank as levels.Rank does (an unknown one last); within one
// rank, oldest first, so that the mails of one ticket to one side keep
// their order (an acknowledgement is its ticket's first mail to the
// customer). The order is read from the ids and the light columns of
// every due row; only the rows returned are read whole.
func (s *Store) DueOutboxRanked(ctx context.Context, now time.Time, limit int, levels helpdesk.Levels) ([]helpdesk.OutMail, error) {
	all := levels.All()
	var top any
	if len(levels.Order) > 0 {
		top = string(levels.Order[0])
	}
	args := []any{fmtTime(now), top}
	rank := "CASE t.priority"
	for _, p := range all {
		r, _ := levels.Rank(p)
		rank += " WHEN ? THEN ?"
		args = append(args, string(p), r)
	}
	rank += " ELSE ? END"
	args = append(args, len(all), limit)
	q := `SELECT o.id FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id
		WHERE o.status = 'pending' AND o.next_attempt_at <= ?
		ORDER BY CASE WHEN o.to_customer AND o.kind = 'ack' AND t.priority = ? THEN 0
			WHEN o.to_customer THEN 1
			WHEN o.ticket_id IS NULL OR o.kind = 'escalation' THEN 3
			ELSE 2 END, ` + rank + `, o.id LIMIT ?`
	var out []helpdesk.OutMail
	err := s.View(ctx, func(tx *ReadTx) error {
		rows, err := tx.query(q, args...)
		if err != nil {
			return fmt.Errorf("due outbox ranked: %w", err)
		}
		ids, err := column[int64](rows)
		if err != nil {
			return fmt.Errorf("due outbox ranked: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		// One statement for any number of ids (statements are cached by
		// their text).
		rows, err = tx.query(`SELECT `+outboxColumns+` FROM outbox WHERE id IN (SELECT value FROM json_each(?))`, mustJSON(ids))
		if err != nil {
			return fmt.Errorf("due outbox ranked: %w", err)
		}
		got, err := scanOutMails(rows)
		if err != nil {
			return fmt.Errorf("due outbox ranked: %w", err)
		}
		byID := make(map[int64]helpdesk.OutMail, len(got))
		for _, m := range got {
			byID[m.ID] = m
		}
		for _, id := range ids {
			if m, ok := byID[id]; ok {
				out = append(out, m)
			}
		}
		return tx.withAttachments(out)
	})
	return out, err
}

// scanOutMails reads every row of rows and closes them.
func scanOutMails(rows *sql.Rows) ([]helpdesk.OutMail, error) {
	defer rows.Close()
	var out []helpdesk.OutMail
	for rows.Next() {
		m, err := scanOutMail(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// withAttachments reads the attachments of each row.
func (tx *ReadTx) withAttachments(rows []helpdesk.OutMail) error {
	for i := range rows {
		var err error
		if rows[i].Attachments, err = tx.outboxAttachments(rows[i].ID); err != nil {
			return err
		}
	}
	return nil
}

// AcceptedRecipients returns, oldest first, when each recipient the SMTP
// server accepted at or after since got its mail: every recipient of a
// mail sent whole, at its sent_at; each recipient delivered apart, at its
// own time (also on a mail still pending for others, or failed for
// them). It reads only the mails done since then (index outbox_done) and
// the pending ones, without their bodies.
func (s *Store) AcceptedRecipients(ctx context.Context, since time.Time) ([]time.Time, error) {
	var out []time.Time
	err := s.View(ctx, func(tx *ReadTx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`SELECT status, to_addrs, cc_addrs, recipients, sent_at FROM outbox
				WHERE status != 'pending' AND coalesce(sent_at, failed_at) >= ?`, []any{fmtTime(since)}},
			{`SELECT status, to_addrs, cc_addrs, recipients, sent_at FROM outbox
				WHERE status = 'pending' AND recipients != ''`, nil},
		} {
			rows, err := tx.query(q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("accepted recipients: %w", err)
			}
			err = func() error {
				defer rows.Close()
				for rows.Next() {
					var status, to, cc, rcpts string
					var sent sql.NullString
					if err := rows.Scan(&status, &to, &cc, &rcpts, &sent); err != nil {
						return err
					}
					var m helpdesk.OutMail
					if err := unmarshalAll([]string{to, cc, rcpts}, []any{&m.To, &m.Cc, &m.Recipients}); err != nil {
						return err
					}
					if m.SentAt, err = parseTime(sent); err != nil {
						return err
					}
					settledEnvelope(&m, status, rcpts)
					for _, r := range m.Recipients {
						if r.State == helpdesk.RecipientDelivered && !r.At.Before(since) {
							out = append(out, r.At)
						}
					}
				}
				return rows.Err()
			}()
			if err != nil {
				return fmt.Errorf("accepted recipients: %w", err)
			}
		}
		return nil
	})
	slices.SortFunc(out, time.Time.Compare)
	return out, err
}

func (tx *ReadTx) outboxAttachments(id int64) ([]helpdesk.Attachment, error) {
	rows, err := tx.query(`SELECT filename, content_type, content_id, inline, data FROM outbox_attachments
		WHERE outbox_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("outbox attachments: %w", err)
	}
	defer rows.Close()
	var out []helpdesk.Attachment
	for rows.Next() {
		var a helpdesk.Attachment
		if err := rows.Scan(&a.Filename, &a.ContentType, &a.ContentID, &a.Inline, &a.Data); err != nil {
			return nil, err
		}
		a.Size = int64(len(a.Data))
		out = append(out, a)
	}
	return out, rows.Err()
}

// OutMail returns one outbox row by id.
func (tx *ReadTx) OutMail(id int64) (helpdesk.OutMail, error) {
	m, err := scanOutMail(tx.queryRow(`SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

// MarkSending records, before row id is offered to the SMTP server, that
// it is being sent: should the process end before the outcome is recorded,
// the next run knows that this row, and no other, may reach its recipients
// twice. It changes only a pending row.
func (s *Store) MarkSending(ctx context.Context, id int64, at time.Time) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.markSending(id, at) })
}

func (tx *Tx) markSending(id int64, at time.Time) error {
	if _, err := tx.exec(`UPDATE outbox SET sending_at = ? WHERE id = ? AND status = 'pending'`, fmtTime(at), id); err != nil {
		return fmt.Errorf("mark sending %d: %w", id, err)
	}
	return nil
}

// MarkSent records that the SMTP server accepted row id for every
// recipient still due. When next is not 0, row next is marked as being
// sent (MarkSending) in the same transaction, so that a session sending
// mail after mail writes once per mail.
func (s *Store) MarkSent(ctx context.Context, id int64, at time.Time, next int64) error {
	return s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.markSent(id, "", at); err != nil {
			return err
		}
		if next != 0 {
			return tx.markSending(next, at)
		}
		return nil
	})
}

// MarkSentIf records that the SMTP server accepted row id if the row is
// still the mail messageID, and reports whether it was: the outbox's sent
// journal may be older than a database restored from a backup, whose ids
// then name other mails.
func (s *Store) MarkSentIf(ctx context.Context, id int64, messageID string, at time.Time) (bool, error) {
	var ok bool
	err := s.Update(ctx, func(tx *Tx) (err error) {
		ok, err = tx.markSent(id, messageID, at)
		return err
	})
	return ok, err
}

// markSent marks row id sent and its recipients still due delivered; with
// a messageID, only if the row is still that mail. It reports whether a
// row was marked.
func (tx *Tx) markSent(id int64, messageID string, at time.Time) (bool, error) {
	var rcpts string
	q := `UPDATE outbox SET status = 'sent', sent_at = ?, last_error = '', sending_at = NULL WHERE id = ?`
	args := []any{fmtTime(at), id}
	if messageID != "" {
		q += ` AND message_id = ?`
		args = append(args, messageID)
	}
	if err := tx.queryRow(q+` RETURNING recipients`, args...).Scan(&rcpts); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // no such row: nothing to record
		}
		return false, fmt.Errorf("mark sent %d: %w", id, err)
	}
	if rcpts == "" {
		return true, nil // every recipient: nothing to record apart
	}
	m, err := tx.OutMail(id)
	if err != nil {
		return true, fmt.Errorf("mark sent %d: %w", id, err)
	}
	settle(m.Recipients, helpdesk.RecipientDelivered, "", at)
	return true, tx.setRecipients(id, m.Recipients)
}

// settle sets every recipient still due to state, with reply, at at, and
// returns those it set.
func settle(rs []helpdesk.Recipient, state helpdesk.RecipientState, reply string, at time.Time) []helpdesk.Recipient {
	var out []helpdesk.Recipient
	for i := range rs {
		if rs[i].State.Due() {
			rs[i].State, rs[i].Reply, rs[i].At = state, reply, at
			out = append(out, rs[i])
		}
	}
	return out
}

func (tx *Tx) setRecipients(id int64, rs []helpdesk.Recipient) error {
	if _, err := tx.exec(`UPDATE outbox SET recipients = ? WHERE id = ?`, mustJSON(rs), id); err != nil {
		return fmt.Errorf("outbox %d recipients: %w", id, err)
	}
	return nil
}

// MarkRetry records a temporary failure and when to try again.
func (s *Store) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	return s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, sending_at = NULL
			WHERE id = ? AND status = 'pending'`,
			attempts, fmtTime(next), lastErr, id); err != nil {
			return fmt.Errorf("mark retry %d: %w", id, err)
		}
		return nil
	})
}

// MarkFailed records a permanent failure and adds a delivery-failed event
// to the row's ticket.
func (s *Store) MarkFailed(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.Update(ctx, func(tx *Tx) error {
		_, _, err := tx.MarkOutboxFailed(id, at, reason)
		return err
	})
}

// MarkOutboxFailed is MarkFailed in tx: every recipient still due is
// refused with reason. It returns the row as it now is and the recipients
// it refused.
func (tx *Tx) MarkOutboxFailed(id int64, at time.Time, reason string) (helpdesk.OutMail, []helpdesk.Recipient, error) {
	m, err := tx.OutMail(id)
	if err != nil {
		return m, nil, fmt.Errorf("mark failed %d: %w", id, err)
	}
	m.Recipients = m.Envelope()
	refused := settle(m.Recipients, helpdesk.RecipientRefused, reason, at)
	if _, err := tx.exec(`UPDATE outbox SET status = 'failed', failed_at = ?, attempts = attempts + 1, last_error = ?,
		recipients = ?, sending_at = NULL WHERE id = ?`, fmtTime(at), reason, mustJSON(m.Recipients), id); err != nil {
		return m, nil, fmt.Errorf("mark failed %d: %w", id, err)
	}
	m.Attempts++
	m.LastError, m.FailedAt = reason, at
	return m, refused, tx.refusedEvent(m, refused, at)
}

// MarkRecipients records an attempt whose recipients fared differently.
// While a recipient is still due the row stays pending, scheduled by a;
// otherwise it is done: sent when any recipient got it, failed when none
// did. Recipients refused by this attempt are named in a delivery-failed
// event on the row's ticket.
func (s *Store) MarkRecipients(ctx context.Context, id int64, a helpdesk.DeliveryAttempt) error {
	return s.Update(ctx, func(tx *Tx) error {
		_, _, err := tx.MarkOutboxRecipients(id, a)
		return err
	})
}

// MarkOutboxRecipients is MarkRecipients in tx. It returns the row as it
// now is and the recipients this attempt refused.
func (tx *Tx) MarkOutboxRecipients(id int64, a helpdesk.DeliveryAttempt) (helpdesk.OutMail, []helpdesk.Recipient, error) {
	m, err := tx.OutMail(id)
	if err != nil {
		return m, nil, fmt.Errorf("mark recipients %d: %w", id, err)
	}
	m.Recipients = m.Envelope()
	var refused []helpdesk.Recipient
	for _, res := range a.Results {
		for i := range m.Recipients {
			r := &m.Recipients[i]
			if !strings.EqualFold(r.Email, res.Email) || !r.State.Due() {
				continue // unknown, or settled before: a result never undoes one
			}
			r.State, r.Reply, r.At = res.State, res.Reply, a.At
			switch r.State {
			case helpdesk.RecipientDelivered:
				r.Reply = ""
			case helpdesk.RecipientPending:
				r.At = time.Time{} // not answered: only the row's error says why
			}
			if r.State == helpdesk.RecipientRefused {
				refused = append(refused, *r)
			}
		}
	}
	due, delivered := 0, 0
	for _, r := range m.Recipients {
		switch {
		case r.State.Due():
			due++
		case r.State == helpdesk.RecipientDelivered:
			delivered++
		}
	}
	rcpts := mustJSON(m.Recipients)
	switch {
	case due > 0:
		_, err = tx.exec(`UPDATE outbox SET recipients = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
			sending_at = NULL WHERE id = ? AND status = 'pending'`, rcpts, a.Attempts, fmtTime(a.Next), a.LastError, id)
		m.Attempts, m.NextAttemptAt, m.LastError = a.Attempts, a.Next, a.LastError
	case delivered > 0:
		// Sent, to those it could reach; the others are named on the
		// ticket and in their recipient state, not in the row's error.
		_, err = tx.exec(`UPDATE outbox SET recipients = ?, status = 'sent', sent_at = ?, attempts = attempts + 1,
			last_error = '', sending_at = NULL WHERE id = ?`, rcpts, fmtTime(a.At), id)
		m.SentAt, m.LastError = a.At, ""
		m.Attempts++
	default:
		reason := a.LastError
		if reason == "" && len(refused) > 0 {
			reason = refused[0].Reply
		}
		_, err = tx.exec(`UPDATE outbox SET recipients = ?, status = 'failed', failed_at = ?, attempts = attempts + 1,
			last_error = ?, sending_at = NULL WHERE id = ?`, rcpts, fmtTime(a.At), reason, id)
		m.FailedAt, m.LastError = a.At, reason
		m.Attempts++
	}
	if err != nil {
		return m, nil, fmt.Errorf("mark recipients %d: %w", id, err)
	}
	return m, refused, tx.refusedEvent(m, refused, a.At)
}

// refusedEvent names the refused recipients of m, grouped by the server's
// words, in one delivery-failed event on m's ticket.
func (tx *Tx) refusedEvent(m helpdesk.OutMail, refused []helpdesk.Recipient, at time.Time) error {
	if m.TicketID == 0 || len(refused) == 0 {
		return nil
	}
	var order []string
	byReply := map[string][]string{}
	for _, r := range refused {
		if _, ok := byReply[r.Reply]; !ok {
			order = append(order, r.Reply)
		}
		byReply[r.Reply] = append(byReply[r.Reply], r.Email)
	}
	var parts []string
	for _, reply := range order {
		parts = append(parts, fmt.Sprintf("%s mail to %s was refused: %s", m.Kind, strings.Join(byReply[reply], ", "), reply))
	}
	return tx.AddEvent(helpdesk.Event{TicketID: m.TicketID, At: at, Kind: helpdesk.EventDeliveryFailed, Actor: "smtp",
		Detail: strings.Join(parts, "; "), MessageID: m.MessageID})
}

// TicketOutbox returns the outgoing mails of a ticket, oldest first, with
// their recipients' delivery state (without attachments or bodies).
func (tx *ReadTx) TicketOutbox(ticketID int64) ([]helpdesk.OutMail, error) {
	rows, err := tx.query(`SELECT `+outboxColumns+` FROM outbox WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket %d outbox: %w", ticketID, err)
	}
	defer rows.Close()
	var out []helpdesk.OutMail
	for rows.Next() {
		m, err := scanOutMail(rows)
		if err != nil {
			return nil, err
		}
		m.Text, m.HTML = "", ""
		out = append(out, m)
	}
	return out, rows.Err()
}

// StaffThreads returns, for each address the desk mailed about the ticket
// outside the customer's side (agents, team lists, escalation
// recipients), the Message-IDs of those mails, oldest first, keyed by the
// address in lower case. The first is the root of that reader's thread of
// the ticket, which every later mail to them references, so that their
// mail client keeps the ticket's mails in one thread.
func (tx *ReadTx) StaffThreads(ticketID int64) (map[string][]string, error) {
	rows, err := tx.query(`SELECT o.message_id, lower(json_extract(j.value, '$.email')) FROM outbox o, json_each(o.to_addrs) j
		WHERE o.ticket_id = ? AND o.to_customer = 0 ORDER BY o.id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket %d staff threads: %w", ticketID, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id string
		var addr sql.NullString
		if err := rows.Scan(&id, &addr); err != nil {
			return nil, fmt.Errorf("ticket %d staff threads: %w", ticketID, err)
		}
		if addr.String != "" {
			out[addr.String] = append(out[addr.String], id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket %d staff threads: %w", ticketID, err)
	}
	return out, nil
}

// NextOutboxAttempt returns the earliest next attempt of a pending row.
func (s *Store) NextOutboxAttempt(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'`).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next outbox attempt: %w", err)
	}
	t, err := parseTime(v)
	return t, !t.IsZero(), err
}

// OutboxCounts returns how many rows are pending and how many failed.
func (s *Store) OutboxCounts(ctx context.Context) (pending, failed int, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'failed'), 0) FROM outbox`).Scan(&pending, &failed)
	if err != nil {
		err = fmt.Errorf("outbox counts: %w", err)
	}
	return
}
