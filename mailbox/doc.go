// Package mailbox is the wire: IMAP in, MIME parsing into a helpdesk.Message,
// SMTP out. Parse turns the raw bytes of one mail into a helpdesk.Message
// (headers, readable text and its new part, attachments, loop-protection
// signals, delivery reports, Authentication-Results) without ever losing the
// mail; the fetcher and the outbox sender move mail between the servers and
// the desk through the small interfaces this package declares.
package mailbox
