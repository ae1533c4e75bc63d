package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/helpdeskd/helpdesk"
)

// Participant is someone on a ticket besides the agents' desk: the
// customer, people in Cc, and agents who acted on it.
type Participant struct {
	Email string
	Name  string
	Role  string // "customer", "cc" or "agent"
}

// Participant roles.
const (
	RoleCustomer = "customer"
	RoleCC       = "cc"
	RoleAgent    = "agent"
)

// AddParticipant adds addr to the ticket; an existing participant keeps its
// role. It reports whether the participant is new.
func (tx *Tx) AddParticipant(ticketID int64, a helpdesk.Address, role string) (bool, error) {
	res, err := tx.exec(`INSERT INTO participants (ticket_id, email, name, role, added_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id, email) DO NOTHING`, ticketID, strings.ToLower(a.Email), a.Name, role, fmtTime(tx.now))
	if err != nil {
		return false, fmt.Errorf("add participant: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Participants returns the ticket's participants in the order they joined.
func (tx *ReadTx) Participants(ticketID int64) ([]Participant, error) {
	rows, err := tx.query(`SELECT email, name, role FROM participants WHERE ticket_id = ? ORDER BY rowid`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("participants: %w", err)
	}
	defer rows.Close()
	var out []Participant
	for rows.Next() {
		var p Participant
		if err := rows.Scan(&p.Email, &p.Name, &p.Role); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// IsParticipant reports whether addr is on the ticket.
func (tx *ReadTx) IsParticipant(ticketID int64, addr string) (bool, error) {
	var one int
	err := tx.queryRow(`SELECT 1 FROM participants WHERE ticket_id = ? AND email = ?`, ticketID, strings.ToLower(addr)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("is participant: %w", err)
	}
	return true, nil
}
