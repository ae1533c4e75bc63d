package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrDigestRecorded is what RecordDigest returns for a period already
// recorded: its digest was queued (or skipped) before, by this process or
// an earlier one.
var ErrDigestRecorded = errors.New("digest period already recorded")

// Digest is one period of the managers' digest as recorded.
type Digest struct {
	Period     string    // the period's key, e.g. "daily 2026-11-25"
	Thread     string    // the thread group, e.g. "daily 2026-W48"
	DueAt      time.Time // the scheduled instant
	QueuedAt   time.Time // when it was recorded
	Recipients int       // mails queued
	Skipped    bool      // recorded at the first start, nothing sent
}

// RecordDigest records a digest period, in the transaction that queues its
// mails; ErrDigestRecorded when the period is recorded already (the
// transaction then must not queue them).
func (tx *Tx) RecordDigest(d Digest) error {
	res, err := tx.exec(`INSERT INTO digests (period, thread, due_at, queued_at, recipients, skipped)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (period) DO NOTHING`,
		d.Period, d.Thread, fmtTime(d.DueAt), fmtTime(tx.now), d.Recipients, d.Skipped)
	if err != nil {
		return fmt.Errorf("record digest %s: %w", d.Period, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record digest %s: %w", d.Period, err)
	} else if n == 0 {
		return fmt.Errorf("digest %s: %w", d.Period, ErrDigestRecorded)
	}
	return nil
}

// DigestRecorded reports whether a digest period is recorded, and whether
// any period ever was (false: the digest's first start on this database).
func (tx *ReadTx) DigestRecorded(period string) (recorded, any bool, err error) {
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM digests WHERE period = ?`, period).Scan(&n); err != nil {
		return false, false, fmt.Errorf("digest %s: %w", period, err)
	}
	if n > 0 {
		return true, true, nil
	}
	err = tx.queryRow(`SELECT 1 FROM digests LIMIT 1`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("digests: %w", err)
	}
	return false, true, nil
}

// DigestThread returns the periods of a thread group whose digest was
// sent (not skipped), in the order they were due.
func (tx *ReadTx) DigestThread(thread string) ([]Digest, error) {
	rows, err := tx.query(`SELECT period, thread, due_at, queued_at, recipients, skipped FROM digests
		WHERE thread = ? AND skipped = 0 ORDER BY due_at, period`, thread)
	if err != nil {
		return nil, fmt.Errorf("digest thread %s: %w", thread, err)
	}
	defer rows.Close()
	var out []Digest
	for rows.Next() {
		var d Digest
		var due, queued sql.NullString
		if err := rows.Scan(&d.Period, &d.Thread, &due, &queued, &d.Recipients, &d.Skipped); err != nil {
			return nil, fmt.Errorf("digest thread %s: %w", thread, err)
		}
		if d.DueAt, err = parseTime(due); err != nil {
			return nil, err
		}
		if d.QueuedAt, err = parseTime(queued); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
