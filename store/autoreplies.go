package store

import (
	"fmt"
	"strings"
	"time"
)

// AutoRepliesSince counts automatic replies sent to recipient since t.
func (tx *ReadTx) AutoRepliesSince(recipient string, since time.Time) (int, error) {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM auto_replies WHERE recipient = ? AND at >= ?`,
		strings.ToLower(recipient), fmtTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count auto replies: %w", err)
	}
	return n, nil
}

// RecordAutoReply notes an automatic reply to recipient, and forgets those
// older than keepSince.
func (tx *Tx) RecordAutoReply(recipient string, keepSince time.Time) error {
	if _, err := tx.exec(`INSERT INTO auto_replies (recipient, at) VALUES (?, ?)`, strings.ToLower(recipient), fmtTime(tx.now)); err != nil {
		return fmt.Errorf("record auto reply: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM auto_replies WHERE recipient = ? AND at < ?`, strings.ToLower(recipient), fmtTime(keepSince)); err != nil {
		return fmt.Errorf("prune auto replies: %w", err)
	}
	return nil
}
