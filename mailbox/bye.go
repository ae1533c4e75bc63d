package mailbox

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync/atomic"
)

// byeConn is an IMAP session's connection, read as the client reads it,
// watching the server's lines for an untagged BYE (RFC 9051 §7.1.5: the
// server is about to close the connection), whose words go-imap does not
// pass on. Exchange Online ends a session whose token expired with
// "* BYE Session invalidated - AccessTokenExpired", in IDLE or in answer
// to any command; Gmail and Dovecot end long or idle sessions the same
// way. Literals are passed over: a mail's body may hold such a line.
//
// It must see the stream in plain text: on an implicit TLS connection it
// wraps the TLS connection; after STARTTLS, which go-imap does inside, it
// cannot (the session then knows a BYE in IDLE only by the server
// closing the connection cleanly).
type byeConn struct {
	net.Conn
	lines wireLines              // run by go-imap's reader goroutine only
	bye   atomic.Pointer[string] // the last BYE's text; nil: none came
}

// maxByeText bounds the server's words kept from a BYE (the log quotes
// them).
const maxByeText = 200

// newByeConn watches c, a connection in plain text.
func newByeConn(c net.Conn) *byeConn {
	b := &byeConn{Conn: c}
	b.lines = wireLines{max: maxByeText + len("* BYE "), line: b.line}
	return b
}

// Read implements net.Conn, watching what it reads.
func (b *byeConn) Read(p []byte) (int, error) {
	n, err := b.Conn.Read(p)
	b.lines.write(p[:n])
	return n, err
}

func (b *byeConn) line(l []byte, _ int64) {
	const prefix = "* BYE"
	if len(l) < len(prefix) || !bytes.EqualFold(l[:len(prefix)], []byte(prefix)) || (len(l) > len(prefix) && l[len(prefix)] != ' ') {
		return
	}
	said := strings.TrimSpace(string(l[len(prefix):]))
	b.bye.Store(&said)
}

// said returns the text of the BYE the server sent, and whether it sent
// one.
func (b *byeConn) said() (string, bool) {
	if b == nil {
		return "", false
	}
	if s := b.bye.Load(); s != nil {
		return *s, true
	}
	return "", false
}

// serverBye is a session the server ended: it said BYE, or it closed the
// connection cleanly while the session waited in IDLE. That is how a
// server ends a session it no longer wants (an expired token, a time
// limit, a restart), not an outage: the next session starts at once.
type serverBye struct {
	said string // the BYE's text; "" when the server closed without one the session could read
	err  error  // how the session ended
}

// Error says that the server ended the session.
func (e *serverBye) Error() string {
	if e.said == "" {
		return "the server ended the session: " + e.err.Error()
	}
	return "the server ended the session (BYE " + e.said + "): " + e.err.Error()
}

// Unwrap returns how the session ended.
func (e *serverBye) Unwrap() error { return e.err }

// isServerBye reports whether err is a session the server ended.
func isServerBye(err error) (*serverBye, bool) {
	var b *serverBye
	ok := errors.As(err, &b)
	return b, ok
}
