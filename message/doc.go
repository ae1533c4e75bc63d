// Package message reads one raw mail into a helpdesk.Message: the decoded
// headers, the readable text and the new part of it without the quoted
// history and signature, the HTML, the attachments, the delivery report of
// a bounce, the loop-protection signals, the receiving server's spam
// verdict and the Authentication-Results with their positions in the
// header. It does no I/O: the wire (package mailbox) fetches and sends
// mail, and the desk decides what a Message means.
package message
