// Package mailbox is the wire: IMAP in, SMTP out. The fetcher reads new
// mail off a mailbox and hands its raw bytes to a Handler (which parses it
// with package message and commits it), marking on the server only what
// was committed and moving what is unreadable to quarantine; the outbox
// sender delivers the rows the desk queued. Both talk to the rest of the
// daemon through the small interfaces this package declares.
package mailbox
