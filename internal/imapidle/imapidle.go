// Package imapidle makes go-imap's in-memory IMAP server (imapmemserver)
// announce in IDLE the mail that arrived before IDLE began. The demo's
// servers, hd-load's server and the tests' server (internal/testenv) all
// wrap their sessions with Flush.
package imapidle

import (
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// Flush wraps an in-memory IMAP session so that IDLE announces mail that
// arrived before it started. It works around imapserver's
// SessionTracker.Idle (go-imap v2.0.0-beta.8), which announces only the
// updates that arrive once IDLE has started: mail delivered between the
// client's last command and its IDLE stayed unannounced until some later
// update, so a client saw it only at its next IDLE refresh, minutes later.
// RFC 2177 §3 has the server report new mail while the client idles (real
// servers such as Dovecot check the mailbox when IDLE starts; cyrus-imapd
// fixed the same gap, issue 3668).
//
// IDLE of the wrapped session first sends what is pending, then idles in
// turns of the given length, sending what is pending between turns, so
// that an update that lands in the gap between the poll and the start of
// a turn waits at most one turn. A session without MOVE and NAMESPACE
// (not an imapserver.SessionIMAP4rev2) is returned as it is.
func Flush(sess imapserver.Session, turn time.Duration) imapserver.Session {
	if rev2, ok := sess.(imapserver.SessionIMAP4rev2); ok {
		return flushing{SessionIMAP4rev2: rev2, turn: turn}
	}
	return sess
}

// flushing is a session whose IDLE flushes pending updates (see Flush).
type flushing struct {
	imapserver.SessionIMAP4rev2 // keeps MOVE and NAMESPACE visible to the server
	turn                        time.Duration
}

// Idle implements imapserver.Session.
func (s flushing) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		turn := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- s.SessionIMAP4rev2.Idle(w, turn) }()
		t := time.NewTimer(s.turn)
		select {
		case <-stop:
			t.Stop()
			close(turn)
			return <-done
		case err := <-done:
			t.Stop()
			return err
		case <-t.C:
			close(turn)
			if err := <-done; err != nil {
				return err
			}
		}
	}
}
