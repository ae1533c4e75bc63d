package store

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// AddEvent appends e to the audit trail; At defaults to the transaction's
// time.
func (tx *Tx) AddEvent(e helpdesk.Event) error {
	if e.At.IsZero() {
		e.At = tx.now
	}
	var tid any
	if e.TicketID != 0 {
		tid = e.TicketID
	}
	if _, err := tx.exec(`INSERT INTO events (ticket_id, at, kind, actor, detail, message_id) VALUES (?, ?, ?, ?, ?, ?)`,
		tid, fmtTime(e.At), e.Kind, e.Actor, e.Detail, e.MessageID); err != nil {
		return fmt.Errorf("add event %s: %w", e.Kind, err)
	}
	return nil
}

// Events returns the ticket's audit trail, oldest first.
func (tx *ReadTx) Events(ticketID int64) ([]helpdesk.Event, error) {
	rows, err := tx.query(`SELECT id, at, kind, actor, detail, message_id FROM events WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []helpdesk.Event
	for rows.Next() {
		e := helpdesk.Event{TicketID: ticketID}
		var at sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Actor, &e.Detail, &e.MessageID); err != nil {
			return nil, err
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastEvent returns when the ticket last had an event of the given kind;
// the zero time when never.
func (tx *ReadTx) LastEvent(ticketID int64, kind string) (time.Time, error) {
	var at sql.NullString
	if err := tx.queryRow(`SELECT MAX(at) FROM events WHERE ticket_id = ? AND kind = ?`, ticketID, kind).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("last event %s: %w", kind, err)
	}
	return parseTime(at)
}

// EventsOfKindSince returns the events of one kind of the tickets filed
// at or after since, by ticket, oldest first: the board's triage counts
// read every #priority change of a period in one query, not one per
// ticket.
func (tx *ReadTx) EventsOfKindSince(kind string, since time.Time) (map[int64][]helpdesk.Event, error) {
	rows, err := tx.query(`SELECT e.id, e.ticket_id, e.at, e.kind, e.actor, e.detail, e.message_id FROM events e
		WHERE e.kind = ? AND e.ticket_id >= (SELECT COALESCE(MIN(id), 0) FROM tickets WHERE created_at >= ?)
		ORDER BY e.id`, kind, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("events of kind %s: %w", kind, err)
	}
	defer rows.Close()
	out := map[int64][]helpdesk.Event{}
	for rows.Next() {
		var e helpdesk.Event
		var at sql.NullString
		if err := rows.Scan(&e.ID, &e.TicketID, &at, &e.Kind, &e.Actor, &e.Detail, &e.MessageID); err != nil {
			return nil, fmt.Errorf("events of kind %s: %w", kind, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("events of kind %s: %w", kind, err)
		}
		out[e.TicketID] = append(out[e.TicketID], e)
	}
	return out, rows.Err()
}
