package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StepFired reports whether an escalation step already fired for the
// ticket's clock and target.
func (tx *ReadTx) StepFired(ticketID int64, clock string, step int, target string) (bool, error) {
	var one int
	err := tx.queryRow(`SELECT 1 FROM escalations WHERE ticket_id = ? AND clock = ? AND step = ? AND target = ?`,
		ticketID, clock, step, target).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("step fired: %w", err)
	}
	return true, nil
}

// RecordStep marks an escalation step as fired; it reports false when it
// had fired already (then the caller must not send it again).
func (tx *Tx) RecordStep(ticketID int64, clock string, step int, target string) (bool, error) {
	res, err := tx.exec(`INSERT INTO escalations (ticket_id, clock, step, target, fired_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, ticketID, clock, step, target, fmtTime(tx.now))
	if err != nil {
		return false, fmt.Errorf("record step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecordBreach stores when a ticket's clock ("response" or "resolution")
// breached, once: it reports whether this call recorded it.
func (tx *Tx) RecordBreach(ticketID int64, clock string, at time.Time) (bool, error) {
	col := map[string]string{"response": "response_breached_at", "resolution": "resolution_breached_at"}[clock]
	if col == "" {
		return false, fmt.Errorf("record breach: unknown clock %q", clock)
	}
	res, err := tx.exec(`UPDATE tickets SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL`, fmtTime(at), ticketID)
	if err != nil {
		return false, fmt.Errorf("record breach: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
