package helpdesk

import (
	"strings"
	"time"
)

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

// MicrosoftHost reports whether host is one of Microsoft's mail hosts
// (outlook.office365.com, smtp.office365.com, outlook.office.com,
// *.outlook.com and the national clouds'): Microsoft 365 keeps a copy of
// what is sent through it, and its IMAP4rev2 must not be enabled.
func MicrosoftHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	for _, d := range []string{"office365.com", "outlook.com", "office.com", "office365.us", "partner.outlook.cn"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}
