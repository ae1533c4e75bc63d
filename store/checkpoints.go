package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Checkpoint returns the mailbox's stored (uidvalidity, last_uid); zeros
// when the mailbox was never read.
func (s *Store) Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT uidvalidity, last_uid FROM mailbox_checkpoints WHERE mailbox = ?`, mailbox).
		Scan(&uidValidity, &lastUID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: %w", mailbox, err)
	}
	return uidValidity, lastUID, nil
}

// SetCheckpoint moves the mailbox's checkpoint in the transaction that
// commits the message it covers (STYLE rule 12: never ahead of the work). A
// UID below the stored one for the same UIDVALIDITY never moves it back.
func (tx *Tx) SetCheckpoint(mailbox string, uidValidity, uid uint32) error {
	_, err := tx.exec(`INSERT INTO mailbox_checkpoints (mailbox, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (mailbox) DO UPDATE SET
			last_uid = CASE WHEN uidvalidity = excluded.uidvalidity THEN MAX(last_uid, excluded.last_uid) ELSE excluded.last_uid END,
			uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at`,
		mailbox, uidValidity, uid, fmtTime(tx.now))
	if err != nil {
		return fmt.Errorf("set checkpoint %s: %w", mailbox, err)
	}
	return nil
}

// Quarantine keeps an unreadable mail with the reason it was rejected (a
// raw mail over 1 MiB in chunks, as AddMessage keeps one). A second
// rejection of the same UID is ignored.
func (tx *Tx) Quarantine(mailbox string, uidValidity, uid uint32, reason string, raw []byte) error {
	inRow := raw
	if len(raw) > rawChunk {
		inRow = nil // in quarantine_raw, below
	}
	res, err := tx.exec(`INSERT INTO quarantine (mailbox, uidvalidity, uid, reason, raw, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING`, mailbox, uidValidity, uid, reason, inRow, fmtTime(tx.now))
	if err == nil && inRow == nil && len(raw) > 0 {
		var n, id int64
		if n, err = res.RowsAffected(); err == nil && n == 1 {
			if id, err = res.LastInsertId(); err == nil {
				err = tx.insertChunks(`INSERT INTO quarantine_raw (quarantine_id, seq, data) VALUES (?, ?, ?)`, id, raw)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("quarantine %s uid %d: %w", mailbox, uid, err)
	}
	return nil
}

// ResetCheckpoint moves the mailbox's checkpoint back to (uidValidity, 0)
// if it still stands at (uidValidity, lastUID), and reports whether it
// did. The fetcher calls it when the server hands out UIDs at or below
// the checkpoint under the same UIDVALIDITY (a restore that broke RFC
// 9051 §2.3.1.1): SetCheckpoint never moves a checkpoint back.
func (s *Store) ResetCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) (bool, error) {
	var n int64
	err := s.Update(ctx, func(tx *Tx) error {
		res, err := tx.exec(`UPDATE mailbox_checkpoints SET last_uid = 0, updated_at = ?
			WHERE mailbox = ? AND uidvalidity = ? AND last_uid = ?`, fmtTime(tx.now), mailbox, uidValidity, lastUID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("reset checkpoint %s: %w", mailbox, err)
	}
	return n == 1, nil
}
