package helpdesk

import "time"

// SentCopy is the copy of a mail the desk sent to a ticket's customer side,
// to be APPENDed to its mailbox's Sent folder so that the whole
// conversation is visible there in any mail client. Its bytes are kept
// from before the mail is offered to the SMTP server until the copy is
// appended, so that no crash loses them.
type SentCopy struct {
	ID        int64
	OutboxID  int64
	TicketID  int64
	Mailbox   string // the configured mailbox whose Sent folder takes the copy
	MessageID string // of the mail, without angle brackets
	Size      int64  // of Raw
	Raw       []byte // the bytes the SMTP server was offered; nil when only the row is read
	SentAt    time.Time
	Attempts  int
	LastError string
	// AppendingAt is when an APPEND of the copy began whose outcome was
	// never recorded (the process ended, or the connection broke): the
	// server may hold the copy already, so it is looked for before it is
	// appended again. Zero otherwise.
	AppendingAt time.Time
}
