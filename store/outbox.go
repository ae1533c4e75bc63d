package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
		reply_to, subject, in_reply_to, refs, text, html, auto, headers, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tid, string(m.Kind), m.MessageID, mustJSON(m.From), mustJSON(m.To), mustJSON(addrList(m.Cc)),
		mustJSON(addrList(m.ReplyTo)), m.Subject, m.InReplyTo, mustJSON(nonNil(m.References)), m.Text, m.HTML,
		m.Auto, mustJSON(headers), fmtTime(m.NextAttemptAt), fmtTime(m.CreatedAt))
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
	sent_at, failed_at, sending_at`

func scanOutMail(r scanner) (helpdesk.OutMail, error) {
	var m helpdesk.OutMail
	var tid sql.NullInt64
	var kind, from, to, cc, replyTo, refs, headers string
	var next, created, sent, failed, sending sql.NullString
	if err := r.Scan(&m.ID, &tid, &kind, &m.MessageID, &from, &to, &cc, &replyTo, &m.Subject, &m.InReplyTo,
		&refs, &m.Text, &m.HTML, &m.Auto, &headers, &m.Attempts, &next, &m.LastError, &created, &sent, &failed, &sending); err != nil {
		return m, fmt.Errorf("scan outbox: %w", err)
	}
	m.TicketID, m.Kind = tid.Int64, helpdesk.MessageKind(kind)
	if err := unmarshalAll([]string{from, to, cc, replyTo, refs, headers},
		[]any{&m.From, &m.To, &m.Cc, &m.ReplyTo, &m.References, &m.Headers}); err != nil {
		return m, fmt.Errorf("outbox %d: %w", m.ID, err)
	}
	var err error
	times := []*time.Time{&m.NextAttemptAt, &m.CreatedAt, &m.SentAt, &m.FailedAt, &m.SendingAt}
	for i, v := range []sql.NullString{next, created, sent, failed, sending} {
		if *times[i], err = parseTime(v); err != nil {
			return m, err
		}
	}
	return m, nil
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
		defer rows.Close()
		for rows.Next() {
			m, err := scanOutMail(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for i := range out {
			if out[i].Attachments, err = tx.outboxAttachments(out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
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

// MarkSent records that the SMTP server accepted row id. When next is not
// 0, row next is marked as being sent (MarkSending) in the same
// transaction, so that a session sending mail after mail writes once per
// mail.
func (s *Store) MarkSent(ctx context.Context, id int64, at time.Time, next int64) error {
	return s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`UPDATE outbox SET status = 'sent', sent_at = ?, last_error = '', sending_at = NULL WHERE id = ?`, fmtTime(at), id); err != nil {
			return fmt.Errorf("mark sent %d: %w", id, err)
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
	var n int64
	err := s.Update(ctx, func(tx *Tx) error {
		res, err := tx.exec(`UPDATE outbox SET status = 'sent', sent_at = ?, last_error = '', sending_at = NULL
			WHERE id = ? AND message_id = ?`, fmtTime(at), id, messageID)
		if err != nil {
			return fmt.Errorf("mark sent %d: %w", id, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
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

// MarkFailed records a permanent failure and adds a delivery-failure event
// to the row's ticket.
func (s *Store) MarkFailed(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.Update(ctx, func(tx *Tx) error {
		m, err := tx.OutMail(id)
		if err != nil {
			return fmt.Errorf("mark failed %d: %w", id, err)
		}
		if _, err := tx.exec(`UPDATE outbox SET status = 'failed', failed_at = ?, attempts = attempts + 1, last_error = ?,
			sending_at = NULL WHERE id = ?`,
			fmtTime(at), reason, id); err != nil {
			return fmt.Errorf("mark failed %d: %w", id, err)
		}
		if m.TicketID == 0 {
			return nil
		}
		to := ""
		for i, a := range m.To {
			if i > 0 {
				to += ", "
			}
			to += a.Email
		}
		return tx.AddEvent(helpdesk.Event{TicketID: m.TicketID, At: at, Kind: helpdesk.EventDeliveryFailed, Actor: "smtp",
			Detail: fmt.Sprintf("%s mail to %s was refused: %s", m.Kind, to, reason), MessageID: m.MessageID})
	})
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
