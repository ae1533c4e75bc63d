package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// MessageExists reports whether a message with this Message-ID was stored
// before, received or sent: the dedupe check.
func (tx *ReadTx) MessageExists(messageID string) (bool, error) {
	var one int
	err := tx.queryRow(`SELECT 1 FROM messages WHERE message_id = ?`, messageID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("message exists: %w", err)
	}
	return true, nil
}

// AddMessage stores m (with its raw mail and attachments) on the ticket
// (ticketID 0: on no ticket) and returns its row id.
//
// Nothing is stored twice, since every byte costs write time: the HTML
// part is left in the raw mail (m.HTML is not stored), a new text equal to
// the full text is stored once (it reads back the same), and an outbound
// message stored with an empty Text reads back the text of the outbox row
// with its Message-ID, where the desk keeps the body of a mail it sends.
func (tx *Tx) AddMessage(ticketID int64, mailbox string, m *helpdesk.Message) (int64, error) {
	var tid any
	if ticketID != 0 {
		tid = ticketID
	}
	newText := m.NewText
	if newText == m.Text {
		newText = ""
	}
	defects := m.Defects
	if defects == nil {
		defects = []string{}
	}
	raw := m.Raw
	if len(raw) > rawChunk {
		raw = nil // in message_raw, below
	}
	res, err := tx.exec(`INSERT INTO messages (ticket_id, message_id, direction, kind, mailbox, from_addr,
		from_name, to_addrs, cc_addrs, subject, date, received_at, text, new_text, html, auto_reason,
		defects, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tid, m.MessageID, string(m.Direction), string(m.Kind), mailbox, strings.ToLower(m.From.Email),
		m.From.Name, mustJSON(addrList(m.To)), mustJSON(addrList(m.Cc)), m.Subject, fmtTime(m.Date),
		fmtTime(tx.now), m.Text, newText, "", m.AutoReason, mustJSON(defects), raw)
	if err != nil {
		return 0, fmt.Errorf("insert message %s: %w", m.MessageID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert message %s: %w", m.MessageID, err)
	}
	if raw == nil {
		if err := tx.insertChunks(`INSERT INTO message_raw (message_id, seq, data) VALUES (?, ?, ?)`, id, m.Raw); err != nil {
			return 0, fmt.Errorf("insert raw mail of %s: %w", m.MessageID, err)
		}
	}
	for _, a := range m.Attachments {
		data := a.Data
		if len(data) > rawChunk {
			data = []byte{} // in attachment_chunks, below
		}
		res, err := tx.exec(`INSERT INTO attachments (message_id, filename, content_type, content_id,
			inline, size, data, dropped) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, a.Filename, a.ContentType, a.ContentID, a.Inline, a.Size, data, a.Dropped)
		if err == nil && len(a.Data) > rawChunk {
			var aid int64
			if aid, err = res.LastInsertId(); err == nil {
				err = tx.insertChunks(`INSERT INTO attachment_chunks (attachment_id, seq, data) VALUES (?, ?, ?)`, aid, a.Data)
			}
		}
		if err != nil {
			return 0, fmt.Errorf("insert attachment %s of %s: %w", a.Filename, m.MessageID, err)
		}
	}
	return id, nil
}

// insertChunks runs insert (owner id, sequence number, chunk) for each
// rawChunk bytes of b, in order.
func (tx *Tx) insertChunks(insert string, id int64, b []byte) error {
	for seq, off := 0, 0; off < len(b); seq, off = seq+1, off+rawChunk {
		if _, err := tx.exec(insert, id, seq, b[off:min(off+rawChunk, len(b))]); err != nil {
			return fmt.Errorf("chunk %d: %w", seq, err)
		}
	}
	return nil
}

// readChunks returns the chunks query (of one owner, in order) yields,
// joined; size is their total length.
func (tx *ReadTx) readChunks(query string, id, size int64) ([]byte, error) {
	rows, err := tx.query(query, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := make([]byte, 0, size)
	for rows.Next() {
		var chunk sql.RawBytes
		if err := rows.Scan(&chunk); err != nil {
			return nil, err
		}
		b = append(b, chunk...)
	}
	return b, rows.Err()
}

// ThreadIDs returns the Message-IDs of the messages stored on the ticket,
// oldest first, of the given kinds (none: all): the References of a mail
// sent into its thread.
func (tx *ReadTx) ThreadIDs(ticketID int64, kinds ...helpdesk.MessageKind) ([]string, error) {
	q := `SELECT message_id FROM messages WHERE ticket_id = ?`
	args := []any{ticketID}
	if len(kinds) > 0 {
		q += ` AND kind IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ") + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	rows, err := tx.query(q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("thread ids: %w", err)
	}
	return column[string](rows)
}

// StoredMessage is a message as the store keeps it, for display.
type StoredMessage struct {
	ID          int64
	TicketID    int64
	MessageID   string
	Direction   helpdesk.Direction
	Kind        helpdesk.MessageKind
	Mailbox     string
	From        helpdesk.Address
	To          []helpdesk.Address
	Cc          []helpdesk.Address
	Subject     string
	Date        time.Time
	ReceivedAt  time.Time
	Text        string // the full text
	NewText     string // the text without quoted history and signature; Text when there was none
	AutoReason  string
	Defects     []string
	Attachments []AttachmentInfo
}

// AttachmentInfo describes a stored attachment without its data.
type AttachmentInfo struct {
	ID          int64
	Filename    string
	ContentType string
	Size        int64
	Inline      bool
	Dropped     string
}

// Messages returns the ticket's messages, oldest first, without raw mail.
func (tx *ReadTx) Messages(ticketID int64) ([]StoredMessage, error) {
	rows, err := tx.query(`SELECT id, message_id, direction, kind, mailbox, from_addr, from_name, to_addrs,
		cc_addrs, subject, date, received_at, `+textColumn+`, new_text, auto_reason, defects
		FROM messages m WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	defer rows.Close()
	var out []StoredMessage
	for rows.Next() {
		m := StoredMessage{TicketID: ticketID}
		var dir, kind, to, cc, defects string
		var date, recv sql.NullString
		if err := rows.Scan(&m.ID, &m.MessageID, &dir, &kind, &m.Mailbox, &m.From.Email, &m.From.Name,
			&to, &cc, &m.Subject, &date, &recv, &m.Text, &m.NewText, &m.AutoReason, &defects); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		m.Direction, m.Kind = helpdesk.Direction(dir), helpdesk.MessageKind(kind)
		if m.NewText == "" {
			m.NewText = m.Text
		}
		if err := unmarshalAll([]string{to, cc, defects}, []any{&m.To, &m.Cc, &m.Defects}); err != nil {
			return nil, fmt.Errorf("message %s: %w", m.MessageID, err)
		}
		if m.Date, err = parseTime(date); err != nil {
			return nil, err
		}
		if m.ReceivedAt, err = parseTime(recv); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		arows, err := tx.query(`SELECT id, filename, content_type, size, inline, dropped FROM attachments
			WHERE message_id = ? ORDER BY id`, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("attachments: %w", err)
		}
		for arows.Next() {
			var a AttachmentInfo
			if err := arows.Scan(&a.ID, &a.Filename, &a.ContentType, &a.Size, &a.Inline, &a.Dropped); err != nil {
				arows.Close()
				return nil, err
			}
			out[i].Attachments = append(out[i].Attachments, a)
		}
		arows.Close()
		if err := arows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Attachments returns the kept attachments (with data) of a stored message,
// for relaying an agent's files to the customer.
func (tx *ReadTx) Attachments(messageRowID int64) ([]helpdesk.Attachment, error) {
	rows, err := tx.query(`SELECT id, filename, content_type, content_id, inline, size, data, dropped
		FROM attachments WHERE message_id = ? AND data IS NOT NULL ORDER BY id`, messageRowID)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	defer rows.Close()
	var out []helpdesk.Attachment
	var ids []int64
	for rows.Next() {
		var a helpdesk.Attachment
		var id int64
		if err := rows.Scan(&id, &a.Filename, &a.ContentType, &a.ContentID, &a.Inline, &a.Size, &a.Data, &a.Dropped); err != nil {
			return nil, err
		}
		out, ids = append(out, a), append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		if a := &out[i]; len(a.Data) == 0 && a.Size > 0 { // kept in chunks
			if a.Data, err = tx.readChunks(`SELECT data FROM attachment_chunks WHERE attachment_id = ? ORDER BY seq`, ids[i], a.Size); err != nil {
				return nil, fmt.Errorf("attachment %s: %w", a.Filename, err)
			}
		}
	}
	return out, nil
}

// rawChunk is the size of the chunks a raw mail larger than it is stored
// in (table message_raw, messages.raw NULL). SQLite copies a bound value
// and builds a row whole in memory: a 30 MB mail in one row costs 60 MB
// while it is inserted, in chunks 2 MiB.
const rawChunk = 1 << 20

// Raw returns the raw mail of a stored message by Message-ID, nil for a
// message that has none (one we sent).
func (tx *ReadTx) Raw(messageID string) ([]byte, error) {
	var raw []byte
	var id, size int64
	err := tx.queryRow(`SELECT m.id, m.raw, (SELECT coalesce(sum(length(r.data)), 0) FROM message_raw r WHERE r.message_id = m.id)
		FROM messages m WHERE m.message_id = ?`, messageID).Scan(&id, &raw, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil || raw != nil || size == 0 {
		return raw, err
	}
	raw, err = tx.readChunks(`SELECT data FROM message_raw WHERE message_id = ? ORDER BY seq`, id, size)
	if err != nil {
		return nil, fmt.Errorf("raw mail of %s: %w", messageID, err)
	}
	return raw, nil
}

// textColumn selects the full text of the message row m: its own, or for
// an outbound message stored without one, its outbox row's (see
// AddMessage).
const textColumn = `CASE WHEN m.text = '' AND m.direction = 'out'
		THEN coalesce((SELECT o.text FROM outbox o WHERE o.message_id = m.message_id), '') ELSE m.text END`

// LastText returns the new text of the ticket's latest message of the given
// kind ("" when there is none).
func (tx *ReadTx) LastText(ticketID int64, kind helpdesk.MessageKind) (string, error) {
	var text, full string
	err := tx.queryRow(`SELECT new_text, `+textColumn+` FROM messages m WHERE ticket_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`,
		ticketID, string(kind)).Scan(&text, &full)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last text: %w", err)
	}
	if strings.TrimSpace(text) == "" {
		text = full
	}
	return text, nil
}
