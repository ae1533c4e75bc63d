package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// wentOut is true of an outbox row o that the SMTP server accepted for at
// least one recipient: sent whole, or delivered to some while others are
// still due.
const wentOut = `(o.status = 'sent' OR (o.recipients <> '' AND EXISTS (SELECT 1 FROM json_each(o.recipients)
	WHERE json_extract(json_each.value, '$.state') = 'delivered')))`

// SentCopyFor tells the sender of outbox row id where its Sent copy goes:
// the mailbox of the row's ticket when the row is mail to the ticket's
// customer side ("" for any other mail), and the bytes already queued for
// the copy by an earlier attempt (nil when none), which are the bytes to
// offer again, so that every attempt of a mail sends the same bytes.
func (s *Store) SentCopyFor(ctx context.Context, id int64) (mailbox string, raw []byte, err error) {
	err = s.View(ctx, func(tx *ReadTx) error {
		var copyID, size sql.NullInt64
		err := tx.queryRow(`SELECT t.mailbox, c.id, c.size, c.raw FROM outbox o
			JOIN tickets t ON t.id = o.ticket_id
			LEFT JOIN sent_copies c ON c.outbox_id = o.id
			WHERE o.id = ? AND o.to_customer = 1`, id).Scan(&mailbox, &copyID, &size, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // not mail to a customer: no copy
		}
		if err != nil || !copyID.Valid || raw != nil {
			return err
		}
		raw, err = tx.readChunks(`SELECT data FROM sent_copy_chunks WHERE copy_id = ? ORDER BY seq`, copyID.Int64, size.Int64)
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("sent copy of outbox %d: %w", id, err)
	}
	return mailbox, raw, nil
}

// QueueSentCopy keeps raw, the bytes about to be offered to the SMTP server
// for outbox row id, as the row's Sent copy for mailbox. The copy is due
// once the server accepted the mail for someone (DueSentCopies). A row
// that has a copy keeps the one it has.
func (s *Store) QueueSentCopy(ctx context.Context, id int64, mailbox string, raw []byte) error {
	return s.Update(ctx, func(tx *Tx) error {
		inline := raw
		if len(raw) > rawChunk {
			inline = nil // in sent_copy_chunks, below
		}
		var copyID int64
		err := tx.queryRow(`INSERT INTO sent_copies (outbox_id, mailbox, size, raw, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (outbox_id) DO NOTHING RETURNING id`,
			id, mailbox, len(raw), inline, fmtTime(tx.now), fmtTime(tx.now)).Scan(&copyID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // queued already
		}
		if err != nil {
			return fmt.Errorf("queue sent copy of outbox %d: %w", id, err)
		}
		if inline == nil {
			if err := tx.insertChunks(`INSERT INTO sent_copy_chunks (copy_id, seq, data) VALUES (?, ?, ?)`, copyID, raw); err != nil {
				return fmt.Errorf("queue sent copy of outbox %d: %w", id, err)
			}
		}
		return nil
	})
}

const sentCopyColumns = `c.id, c.outbox_id, coalesce(o.ticket_id, 0), c.mailbox, o.message_id, c.size,
	coalesce(o.sent_at, c.created_at), c.attempts, c.last_error, c.appending_at`

// DueSentCopies returns up to limit copies of mailbox to append now,
// oldest first, without their bytes (SentCopyRaw): pending, due at or
// before now, of mail the SMTP server accepted for someone.
func (s *Store) DueSentCopies(ctx context.Context, mailbox string, now time.Time, limit int) ([]helpdesk.SentCopy, error) {
	var out []helpdesk.SentCopy
	err := s.View(ctx, func(tx *ReadTx) error {
		rows, err := tx.query(`SELECT `+sentCopyColumns+` FROM sent_copies c JOIN outbox o ON o.id = c.outbox_id
			WHERE c.status = 'pending' AND c.mailbox = ? AND c.next_attempt_at <= ? AND `+wentOut+`
			ORDER BY c.next_attempt_at, c.id LIMIT ?`, mailbox, fmtTime(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c helpdesk.SentCopy
			var sent string
			var appending sql.NullString
			if err := rows.Scan(&c.ID, &c.OutboxID, &c.TicketID, &c.Mailbox, &c.MessageID, &c.Size, &sent,
				&c.Attempts, &c.LastError, &appending); err != nil {
				return err
			}
			if c.SentAt, err = parseTime(sql.NullString{String: sent, Valid: true}); err != nil {
				return err
			}
			if c.AppendingAt, err = parseTime(appending); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("due sent copies of %s: %w", mailbox, err)
	}
	return out, nil
}

// SentCopyRaw returns the bytes of copy id.
func (s *Store) SentCopyRaw(ctx context.Context, id int64) ([]byte, error) {
	var raw []byte
	err := s.View(ctx, func(tx *ReadTx) error {
		var size int64
		err := tx.queryRow(`SELECT size, raw FROM sent_copies WHERE id = ?`, id).Scan(&size, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || raw != nil {
			return err
		}
		raw, err = tx.readChunks(`SELECT data FROM sent_copy_chunks WHERE copy_id = ? ORDER BY seq`, id, size)
		if err == nil && int64(len(raw)) != size {
			err = fmt.Errorf("%d bytes stored, %d expected (the copy was done or dropped meanwhile)", len(raw), size)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sent copy %d: %w", id, err)
	}
	return raw, nil
}

// MarkSentCopyAppending records, before copy id is APPENDed, that it is
// being appended: should the outcome go unrecorded, the next attempt looks
// for it in the folder before appending it again.
func (s *Store) MarkSentCopyAppending(ctx context.Context, id int64, at time.Time) error {
	return s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`UPDATE sent_copies SET appending_at = ? WHERE id = ? AND status = 'pending'`, fmtTime(at), id); err != nil {
			return fmt.Errorf("mark sent copy %d appending: %w", id, err)
		}
		return nil
	})
}

// FinishSentCopy records that copy id is done: appended (or found in the
// folder already) when skipped is "", otherwise never to be appended, for
// the reason skipped says (larger than the server takes). Its bytes are
// deleted.
func (s *Store) FinishSentCopy(ctx context.Context, id int64, at time.Time, skipped string) error {
	status := "appended"
	if skipped != "" {
		status = "skipped"
	}
	return s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`UPDATE sent_copies SET status = ?, last_error = ?, done_at = ?, appending_at = NULL, raw = NULL
			WHERE id = ?`, status, skipped, fmtTime(at), id); err != nil {
			return fmt.Errorf("finish sent copy %d: %w", id, err)
		}
		if _, err := tx.exec(`DELETE FROM sent_copy_chunks WHERE copy_id = ?`, id); err != nil {
			return fmt.Errorf("finish sent copy %d: %w", id, err)
		}
		return nil
	})
}

// RetrySentCopy records a failed attempt of copy id and when to try
// again. inDoubt says the server may have stored it anyway (the
// connection broke during the APPEND): it is then looked for before the
// next APPEND; otherwise the server refused it and that mark is cleared.
func (s *Store) RetrySentCopy(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, inDoubt bool) error {
	q := `UPDATE sent_copies SET attempts = ?, next_attempt_at = ?, last_error = ?, appending_at = NULL WHERE id = ?`
	if inDoubt {
		q = `UPDATE sent_copies SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`
	}
	return s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(q, attempts, fmtTime(next), lastErr, id); err != nil {
			return fmt.Errorf("retry sent copy %d: %w", id, err)
		}
		return nil
	})
}

// NextSentCopy returns when the next copy of mailbox is due, among those
// whose mail went out.
func (s *Store) NextSentCopy(ctx context.Context, mailbox string) (time.Time, bool, error) {
	var v sql.NullString
	err := s.View(ctx, func(tx *ReadTx) error {
		return tx.queryRow(`SELECT MIN(c.next_attempt_at) FROM sent_copies c JOIN outbox o ON o.id = c.outbox_id
			WHERE c.status = 'pending' AND c.mailbox = ? AND `+wentOut, mailbox).Scan(&v)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next sent copy of %s: %w", mailbox, err)
	}
	t, err := parseTime(v)
	return t, !t.IsZero(), err
}

// DropUnsentCopies marks dropped, without their bytes, the pending copies
// of mail the outbox gave up on without reaching anyone: a Sent folder
// shows what went out. It returns how many it dropped.
func (s *Store) DropUnsentCopies(ctx context.Context) (int, error) {
	var n int
	err := s.Update(ctx, func(tx *Tx) error {
		ids, err := tx.query(`SELECT c.id FROM sent_copies c JOIN outbox o ON o.id = c.outbox_id
			WHERE c.status = 'pending' AND o.status = 'failed'`)
		if err != nil {
			return err
		}
		list, err := column[int64](ids)
		if err != nil {
			return err
		}
		for _, id := range list {
			if _, err := tx.exec(`UPDATE sent_copies SET status = 'dropped', raw = NULL, done_at = ? WHERE id = ?`, fmtTime(tx.now), id); err != nil {
				return err
			}
			if _, err := tx.exec(`DELETE FROM sent_copy_chunks WHERE copy_id = ?`, id); err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("drop unsent copies: %w", err)
	}
	return n, nil
}

// SentCopiesPending returns, per mailbox, how many copies of mail that
// went out wait to be appended.
func (s *Store) SentCopiesPending(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.View(ctx, func(tx *ReadTx) error {
		rows, err := tx.query(`SELECT c.mailbox, count(*) FROM sent_copies c JOIN outbox o ON o.id = c.outbox_id
			WHERE c.status = 'pending' AND ` + wentOut + ` GROUP BY c.mailbox`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var box string
			var n int
			if err := rows.Scan(&box, &n); err != nil {
				return err
			}
			out[box] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sent copies pending: %w", err)
	}
	return out, nil
}
