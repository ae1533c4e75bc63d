package mailbox

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
)

// TestFetchServerBye: a server that ends the session in IDLE with
// "* BYE ... AccessTokenExpired" (as Exchange Online does when the
// session's token expires) is an ordinary reconnect: logged at info with
// the server's words (in plain text and under implicit TLS; after
// STARTTLS the session sees only the clean close), no error, no failure,
// no backoff, no new LoginAccepted; the mail that came around it is
// delivered once each. A second BYE at once counts as a failure, so that
// a server that ends every session cannot have us log in again and again.
func TestFetchServerBye(t *testing.T) {
	wireLeakCheck(t)
	for _, tc := range []struct {
		name     string
		opts     []imapServerOpt
		wordSeen bool
	}{
		{"plain", nil, true},
		{"tls", []imapServerOpt{withTLS(t, false)}, true},
		{"starttls", []imapServerOpt{withTLS(t, true)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newIMAPTestServer(t, capsModern, tc.opts...)
			desk := newTestDesk()
			logger, logs := testLogger()
			f := NewFetcher(srv.config("support"), desk, desk, logger)
			var errs, accepted atomic.Int32
			f.Hooks.Error = func(error) { errs.Add(1) }
			f.Hooks.LoginAccepted = func(context.Context) { accepted.Add(1) }
			runFetcher(t, f)
			a := srv.Append(t, "INBOX", testMail("a@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != a {
				t.Fatalf("delivered uid %d, want %d", got.UID, a)
			}
			waitUntil(t, deliveryTimeout, "IDLE", func() bool { return f.State().Status == FetcherIdle })

			// b comes just before the BYE, c just after. The BYE is sent
			// once the session is back in IDLE after b: a BYE that lands
			// between a delivery and its mark would have b fetched again
			// (at least once, which the desk's Message-ID check absorbs),
			// and this test counts deliveries.
			b := srv.Append(t, "INBOX", testMail("b@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != b {
				t.Fatalf("delivered uid %d, want %d", got.UID, b)
			}
			waitUntil(t, deliveryTimeout, "IDLE after b", func() bool { return f.State().Status == FetcherIdle })
			if n := srv.Bye("Session invalidated - AccessTokenExpired"); n != 1 {
				t.Fatalf("the server ended %d sessions, want 1", n)
			}
			c := srv.Append(t, "INBOX", testMail("c@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != c {
				t.Fatalf("delivered uid %d, want %d", got.UID, c)
			}
			waitUntil(t, deliveryTimeout, "IDLE again", func() bool { return f.State().Status == FetcherIdle })
			for _, uid := range []uint32{a, b, c} {
				if n := desk.callsFor(uid); n != 1 {
					t.Errorf("uid %d delivered %d times, want once", uid, n)
				}
			}
			if n := logs.count("imap server ended the session; logging in again"); n != 1 {
				t.Errorf("the BYE was logged %d times, want once:\n%s", n, logs)
			}
			if line := logs.line("imap server ended the session"); tc.wordSeen && !strings.Contains(line, "AccessTokenExpired") {
				t.Errorf("the log lacks the server's words: %s", line)
			}
			if st := f.State(); errs.Load() != 0 || st.Failures != 0 || st.LastError != "" || logs.count("imap mailbox unavailable") != 0 {
				t.Errorf("the BYE counted as an error: %d errors, state %+v\n%s", errs.Load(), st, logs)
			}
			if n := accepted.Load(); n != 1 {
				t.Errorf("LoginAccepted told %d times, want once (the first login)", n)
			}

			// A second BYE at once is a failure, retried after a backoff.
			srv.Bye("Session invalidated - AccessTokenExpired")
			waitUntil(t, deliveryTimeout, "the error", func() bool { return errs.Load() == 1 })
			d := srv.Append(t, "INBOX", testMail("d@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != d {
				t.Fatalf("delivered uid %d, want %d", got.UID, d)
			}
			if n := logs.count("imap mailbox unavailable"); n != 1 {
				t.Errorf("the second BYE logged as an outage %d times, want once", n)
			}
		})
	}
}
