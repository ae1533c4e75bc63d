package testenv

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/helpdeskd/helpdesk/internal/imapidle"
)

// The account of the test IMAP server unless IMAPOptions name another.
const (
	IMAPUser     = "support@example.com"
	IMAPPassword = "imap-secret"
)

// idleTurn is how late the test server's IDLE may announce a mail that
// arrived just before a turn began (see imapidle.Flush).
const idleTurn = 50 * time.Millisecond

// IMAPOptions configure StartIMAP; the zero value is a server with IDLE,
// MOVE and UIDPLUS and an INBOX for IMAPUser. Its IDLE announces mail that
// arrived before IDLE began, as Dovecot does (imapidle.Flush): without
// that, a mail delivered between a client's "+ idling" and the start of
// imapmemserver's update tracking stays unannounced.
type IMAPOptions struct {
	User, Password string   // the one account; default IMAPUser, IMAPPassword
	Folders        []string // created for it; default INBOX
	// Caps are the capabilities announced; default IMAP4rev1, IDLE, MOVE
	// and UIDPLUS (the server has IDLE with IMAP4rev1 in any case).
	Caps imap.CapSet
	// TLS is the server's certificate: implicit TLS, or STARTTLS when
	// StartTLS is set. Without it login is allowed in plaintext.
	TLS      *tls.Config
	StartTLS bool
	// Session, when set, wraps each new session (after the IDLE wrapper).
	Session func(imapserver.Session) imapserver.Session
	// Bearer, when set, offers AUTHENTICATE OAUTHBEARER and XOAUTH2 (in
	// that order): the login succeeds, as the account, when Bearer accepts
	// the user and token (TokenServer.VerifyJWT); otherwise the server
	// sends the JSON challenge of a refusal, then NO [AUTHENTICATIONFAILED].
	Bearer func(user, token string) error
	// Wire, when set, gets every byte the server reads and writes (the
	// protocol as the server sees it).
	Wire io.Writer
}

// IMAP is go-imap's in-memory IMAP server on a loopback port with one
// account. It can be stopped (listener and connections closed) and
// restarted on the same address with the same mailboxes.
type IMAP struct {
	opts IMAPOptions
	mem  *imapmemserver.Server
	user *imapmemserver.User
	addr string

	mu    sync.Mutex
	srv   *imapserver.Server
	ln    net.Listener
	done  chan struct{}             // closed when Serve has returned
	conns map[*imapserver.Conn]bool // the connections since the last Bye
}

// StartIMAP starts an in-memory IMAP server; it stops when the test ends.
func StartIMAP(t testing.TB, o IMAPOptions) *IMAP {
	t.Helper()
	if o.User == "" {
		o.User, o.Password = IMAPUser, IMAPPassword
	}
	if len(o.Folders) == 0 {
		o.Folders = []string{"INBOX"}
	}
	if o.Caps == nil {
		o.Caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}
	}
	s := &IMAP{opts: o, mem: imapmemserver.New(), user: imapmemserver.NewUser(o.User, o.Password)}
	for _, f := range o.Folders {
		if err := s.user.Create(f, nil); err != nil {
			t.Fatalf("testenv: create %s: %v", f, err)
		}
	}
	s.mem.AddUser(s.user)
	ln, err := listenLoopback()
	if err != nil {
		t.Fatalf("testenv: imap listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Addr is the host:port the server listens on.
func (s *IMAP) Addr() string { return s.addr }

// User is the server's account, for what the tests do to it directly.
func (s *IMAP) User() *imapmemserver.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// RestoreBreakingUIDs plays a server restored from a backup that breaks
// RFC 9051 §2.3.1.1: it drops every connection and replaces the account
// with a new one whose configured folders, created in the same order,
// have the same UIDVALIDITY as before (imapmemserver numbers an account's
// folders 1, 2, ...), and whose folder holds only raws, under UIDs that
// start again at 1. Folders created since the start (a quarantine folder)
// are gone. It fails t if a UIDVALIDITY came out different.
func (s *IMAP) RestoreBreakingUIDs(t testing.TB, folder string, raws ...[]byte) {
	t.Helper()
	old := s.User()
	before := map[string]uint32{}
	for _, f := range s.opts.Folders {
		st, err := old.Status(f, &imap.StatusOptions{UIDValidity: true})
		if err != nil {
			t.Fatalf("testenv: status %s: %v", f, err)
		}
		before[f] = st.UIDValidity
	}
	s.Stop()
	u := imapmemserver.NewUser(s.opts.User, s.opts.Password)
	for _, f := range s.opts.Folders {
		if err := u.Create(f, nil); err != nil {
			t.Fatalf("testenv: create %s: %v", f, err)
		}
		st, err := u.Status(f, &imap.StatusOptions{UIDValidity: true})
		if err != nil {
			t.Fatalf("testenv: status %s: %v", f, err)
		}
		if st.UIDValidity != before[f] {
			t.Fatalf("testenv: restored %s has UIDVALIDITY %d, was %d", f, st.UIDValidity, before[f])
		}
	}
	for _, raw := range raws {
		if _, err := u.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{}); err != nil {
			t.Fatalf("testenv: append to restored %s: %v", folder, err)
		}
	}
	s.mu.Lock()
	s.user = u
	s.mu.Unlock()
	s.mem.AddUser(u)
	s.Restart(t)
}

func (s *IMAP) serve(ln net.Listener) {
	opts := &imapserver.Options{
		NewSession: func(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			s.mu.Lock()
			if s.conns == nil {
				s.conns = map[*imapserver.Conn]bool{}
			}
			s.conns[conn] = true
			s.mu.Unlock()
			sess := imapidle.Flush(s.mem.NewSession(), idleTurn)
			if s.opts.Bearer != nil {
				sess = bearerSession{SessionIMAP4rev2: sess.(imapserver.SessionIMAP4rev2), verify: s.opts.Bearer, password: s.opts.Password}
			}
			if s.opts.Session != nil {
				sess = s.opts.Session(sess)
			}
			return sess, nil, nil
		},
		Caps:         s.opts.Caps,
		InsecureAuth: s.opts.TLS == nil,
		Logger:       log.New(io.Discard, "", 0),
		DebugWriter:  s.opts.Wire,
	}
	if s.opts.TLS != nil {
		if s.opts.StartTLS {
			opts.TLSConfig = s.opts.TLS
		} else {
			ln = tls.NewListener(ln, s.opts.TLS)
			opts.InsecureAuth = true // the connection is TLS from the start
		}
	}
	srv := imapserver.New(opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	s.mu.Lock()
	s.srv, s.ln, s.done = srv, ln, done
	s.mu.Unlock()
}

// Stop closes the listener and every connection. It may be called twice.
func (s *IMAP) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// Serve must have returned before Close: imapserver (v2.0.0-beta.8)
	// adds to a WaitGroup in Serve that Close waits on, a race when a
	// test stops the server just after starting it.
	ln.Close()
	<-done
	srv.Close()
}

// Bye ends every session as a server that no longer wants it does, such
// as Exchange Online when the session's token expired: an untagged
// "* BYE text" (RFC 9051 §7.1.5), then the connection closed. The
// server keeps serving; it returns how many sessions it ended.
func (s *IMAP) Bye(text string) int {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	n := 0
	for c := range conns {
		if c.Bye(text) == nil {
			n++
		}
	}
	return n
}

// Restart serves again on the same address after Stop.
func (s *IMAP) Restart(t testing.TB) {
	t.Helper()
	ln, err := relisten(s.addr)
	if err != nil {
		t.Fatalf("testenv: imap listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// Append stores raw in folder as a delivery agent would, with flags, and
// returns its UID; IMAP sessions hear of it as of any new mail.
func (s *IMAP) Append(t testing.TB, folder string, raw []byte, flags ...imap.Flag) uint32 {
	t.Helper()
	data, err := s.User().Append(folder, bytes.NewReader(raw), &imap.AppendOptions{Flags: flags})
	if err != nil {
		t.Fatalf("testenv: append to %s: %v", folder, err)
	}
	return uint32(data.UID)
}

// Deliver APPENDs a mail written with "\n" line ends to folder over IMAP,
// with CRLF line ends, logged in as the server's account: as a customer's
// mail reaches the daemon.
func (s *IMAP) Deliver(t testing.TB, folder, raw string) {
	t.Helper()
	AppendIMAP(t, s.addr, s.opts.User, s.opts.Password, folder, CRLF(raw))
}

// Appender APPENDs mails over one IMAP connection, as a mail delivery
// agent would, to any IMAP server (the in-memory one, Dovecot).
type Appender struct {
	c *imapclient.Client
}

// DialAppender logs in to the plaintext IMAP server at addr. It returns
// errors rather than failing a test, for goroutines other than the test's.
func DialAppender(addr, user, pass string) (*Appender, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, fmt.Errorf("imap dial %s: %w", addr, err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap login: %w", err)
	}
	return &Appender{c: c}, nil
}

// Append APPENDs raw, as it is, to folder.
func (a *Appender) Append(folder string, raw []byte) error {
	cmd := a.c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return fmt.Errorf("append: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// Close logs out and closes the connection.
func (a *Appender) Close() {
	a.c.Logout().Wait()
	a.c.Close()
}

// AppendIMAP APPENDs raws, as they are, to folder of the IMAP server at
// addr over one connection, failing t on any error.
func AppendIMAP(t testing.TB, addr, user, pass, folder string, raws ...[]byte) {
	t.Helper()
	a, err := DialAppender(addr, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, raw := range raws {
		if err := a.Append(folder, raw); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckIdleAnnounces fails t unless the IMAP server at addr announces a
// mail that arrives while a client sits selected between two commands as
// soon as that client starts IDLE (RFC 2177 §3). deliver puts one mail
// into the account's empty INBOX.
func CheckIdleAnnounces(t testing.TB, addr, user, pass string, deliver func()) {
	t.Helper()
	exists := make(chan uint32, 10)
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	deliver()
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Error("no EXISTS in IDLE for a mail delivered before IDLE began")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

// FolderMail is a mail read back from a folder: its bytes and flags.
type FolderMail struct {
	Raw   []byte
	Flags []imap.Flag
}

// Seen reports whether the mail has the \Seen flag.
func (m FolderMail) Seen() bool {
	for _, f := range m.Flags {
		if strings.EqualFold(string(f), string(imap.FlagSeen)) {
			return true
		}
	}
	return false
}

// ReadFolder returns the mails of folder in order, read (without changing
// their flags) over IMAP from any server, logged in as user; a folder that
// does not exist reads as none.
func ReadFolder(t testing.TB, addr, user, pass, folder string) []FolderMail {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("testenv: dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("testenv: login: %v", err)
	}
	defer func() { c.Logout().Wait() }()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		return nil
	}
	if err != nil {
		t.Fatalf("testenv: examine %s: %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatalf("testenv: fetch %s: %v", folder, err)
	}
	out := make([]FolderMail, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, FolderMail{Raw: b.BodySection[0].Bytes, Flags: b.Flags})
	}
	return out
}
