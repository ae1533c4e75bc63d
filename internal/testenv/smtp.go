package testenv

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	mathrand "math/rand/v2"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Timeout is how long SMTP.Wait waits for a mail.
const Timeout = time.Minute

// Mail is one mail the SMTP capture accepted.
type Mail struct {
	From   string   // MAIL FROM
	To     []string // RCPT TO, as given
	Raw    []byte   // the message as received
	Header mail.Header
	Body   string    // the message after its header, undecoded
	At     time.Time // when the capture had the whole message (just before its 250)
}

// MessageID returns the Message-ID without angle brackets.
func (m Mail) MessageID() string { return strings.Trim(m.Header.Get("Message-Id"), "<> ") }

// Ref returns the ticket reference in brackets at the end of m's subject
// ("Re: Checkout down [HD-1042]" gives "HD-1042"), failing t when there is
// none.
func Ref(t testing.TB, m Mail) string {
	t.Helper()
	s := m.Header.Get("Subject")
	i, j := strings.LastIndex(s, "["), strings.LastIndex(s, "]")
	if i < 0 || j < i {
		t.Fatalf("no [reference] in subject %q", s)
	}
	return s[i+1 : j]
}

// Address returns the address of the header field key of m (From,
// Reply-To ...), failing t when it does not hold one.
func Address(t testing.TB, m Mail, key string) string {
	t.Helper()
	a, err := mail.ParseAddress(m.Header.Get(key))
	if err != nil {
		t.Fatalf("%s %q: %v", key, m.Header.Get(key), err)
	}
	return a.Address
}

// Match selects captured mails.
type Match func(Mail) bool

// To matches mail with addr (in any case) among its RCPT TO.
func To(addr string) Match {
	return func(m Mail) bool {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				return true
			}
		}
		return false
	}
}

// Subject matches mail whose Subject field, as written (RFC 2047 words
// not decoded), contains s.
func Subject(s string) Match {
	return func(m Mail) bool { return strings.Contains(m.Header.Get("Subject"), s) }
}

// Body matches mail whose body, as written, contains s.
func Body(s string) Match {
	return func(m Mail) bool { return strings.Contains(m.Body, s) }
}

// And matches mail that every one of ms matches.
func And(ms ...Match) Match {
	return func(m Mail) bool {
		for _, f := range ms {
			if !f(m) {
				return false
			}
		}
		return true
	}
}

// The account SMTPOptions.Auth asks for.
const (
	SMTPUser     = "desk"
	SMTPPassword = "secret"
)

// SMTPOptions configure StartSMTPWith; the zero value is the plain
// capture of StartSMTP: no TLS, no AUTH, every recipient and every
// parsable message accepted. The hooks run one call at a time, across all
// sessions (a client may send over several at once), so they may keep
// state without locks of their own; they must not call Down.
type SMTPOptions struct {
	// TLS is the server's certificate: implicit TLS (the connection is TLS
	// from its first byte), or STARTTLS when StartTLS is set. With either,
	// MAIL FROM is refused with 530 before TLS, and AUTH is only offered
	// over TLS.
	TLS      *tls.Config
	StartTLS bool
	// Auth, when set, offers AUTH PLAIN for User and Password (default
	// SMTPUser, SMTPPassword); other credentials are refused. Mail is
	// accepted without AUTH too. Logins tells who authenticated.
	Auth           bool
	User, Password string
	// Bearer, when set, offers AUTH XOAUTH2 (after PLAIN when Auth is set
	// too): a token Bearer accepts logs the user in (Logins), any other
	// gets the JSON challenge of a refusal, then 535.
	Bearer func(user, token string) error
	// RcptErr, when set, answers each RCPT TO: a non-nil error refuses
	// that recipient (it is then not among the mail's To), nil accepts it.
	RcptErr func(rcpt string) *smtp.SMTPError
	// MaxRecipients, when positive, is the server's limit of recipients
	// per transaction: an RCPT TO beyond it is answered "452 4.5.3 Too
	// many recipients" (RFC 5321 §4.5.3.1.10), as Postfix's
	// smtpd_recipient_limit does. Refused recipients do not count.
	MaxRecipients int
	// DataErr, when set, answers a message received whole (and parsed)
	// before it is recorded: a non-nil error is the reply to DATA and
	// the mail is not recorded, nil accepts it.
	DataErr func(Mail) error
	// CloseAfter, when set, is asked about each accepted mail: true drops
	// the connection once the 250 to its DATA is written, before the
	// client's next command is answered.
	CloseAfter func(Mail) bool
}

// SMTP is a go-smtp server on a loopback port that accepts every mail and
// records it: the peer the daemon under test sends through. It can go down
// (listener and connections closed) and come back on the same address.
// SMTPOptions add TLS, AUTH and refusals.
type SMTP struct {
	addr   string
	opts   SMTPOptions
	hookMu sync.Mutex // one hook call at a time

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	done     chan struct{} // closed when Serve has returned
	mails    []Mail
	changed  chan struct{} // closed and replaced when a mail arrives
	conns    int
	lastConn *smtp.Conn
	logins   []string
}

// StartSMTP starts a capture on a free loopback port; it stops when the
// test ends.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	return StartSMTPWith(t, SMTPOptions{})
}

// StartSMTPWith is StartSMTP with options.
func StartSMTPWith(t testing.TB, o SMTPOptions) *SMTP {
	t.Helper()
	if o.Auth && o.User == "" {
		o.User, o.Password = SMTPUser, SMTPPassword
	}
	ln, err := listenLoopback()
	if err != nil {
		t.Fatalf("testenv: smtp listen: %v", err)
	}
	c := &SMTP{addr: ln.Addr().String(), opts: o, changed: make(chan struct{})}
	c.serve(ln)
	t.Cleanup(c.Down)
	return c
}

// Addr is the host:port the capture listens on.
func (c *SMTP) Addr() string { return c.addr }

func (c *SMTP) serve(ln net.Listener) {
	srv := smtp.NewServer(c)
	srv.Domain = "peer.example"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0) // cut sessions are part of some tests
	if c.opts.TLS != nil {
		srv.AllowInsecureAuth = false
		if c.opts.StartTLS {
			srv.TLSConfig = c.opts.TLS
		} else {
			ln = tls.NewListener(ln, c.opts.TLS)
		}
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.srv, c.ln, c.done = srv, ln, done
	c.mu.Unlock()
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
}

// Down closes the listener and every open connection, and returns once
// the server has stopped accepting. The listener is closed here too:
// go-smtp's Close misses one that Serve has not registered yet.
func (c *SMTP) Down() {
	c.mu.Lock()
	srv, ln, done := c.srv, c.ln, c.done
	c.srv = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	ln.Close()
	<-done
}

// Connections returns how many connections the server has had a session
// on, over every Up.
func (c *SMTP) Connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// CloseLastConn closes the connection of the latest session, as a server
// does that drops a client: what that client sends next fails.
func (c *SMTP) CloseLastConn() {
	c.mu.Lock()
	conn := c.lastConn
	c.mu.Unlock()
	if conn != nil {
		conn.Conn().Close()
	}
}

// Logins returns the user of every successful AUTH, in order.
func (c *SMTP) Logins() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.logins...)
}

// Up serves again on the capture's address after Down.
func (c *SMTP) Up(t testing.TB) {
	t.Helper()
	ln, err := relisten(c.addr)
	if err != nil {
		t.Fatalf("testenv: smtp listen again on %s: %v", c.addr, err)
	}
	c.serve(ln)
}

// Mails returns every mail accepted so far, in order.
func (c *SMTP) Mails() []Mail {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Mail(nil), c.mails...)
}

// Count returns how many of the mails accepted so far match.
func (c *SMTP) Count(match Match) int {
	n := 0
	for _, m := range c.Mails() {
		if match(m) {
			n++
		}
	}
	return n
}

// Wait returns the first accepted mail, already there or still to come,
// that matches, waiting up to Timeout for it; what names it in the
// failure.
func (c *SMTP) Wait(t testing.TB, what string, match Match) Mail {
	t.Helper()
	return c.WaitWithin(t, Timeout, what, match)
}

// WaitWithin is Wait with a timeout of its own.
func (c *SMTP) WaitWithin(t testing.TB, timeout time.Duration, what string, match Match) Mail {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		c.mu.Lock()
		all, changed := c.mails, c.changed
		c.mu.Unlock()
		for _, m := range all[seen:] {
			if match(m) {
				return m
			}
		}
		seen = len(all)
		select {
		case <-changed:
		case <-deadline.C:
			var got []string
			for _, m := range c.Mails() {
				got = append(got, fmt.Sprintf("%v %q", m.To, m.Header.Get("Subject")))
			}
			t.Fatalf("timed out after %v waiting for %s; the SMTP capture has: %s", timeout, what, strings.Join(got, "; "))
		}
	}
}

// NewSession implements smtp.Backend.
func (c *SMTP) NewSession(conn *smtp.Conn) (smtp.Session, error) {
	c.mu.Lock()
	c.conns++
	c.lastConn = conn
	c.mu.Unlock()
	return &captureSession{c: c, conn: conn}, nil
}

type captureSession struct {
	c         *SMTP
	conn      *smtp.Conn
	from      string
	to        []string
	closeNext bool // CloseAfter asked to drop the connection
}

// Reset runs after the reply to DATA too: closing here drops the
// connection after the mail was accepted, before the client's RSET is
// answered.
func (s *captureSession) Reset() {
	s.from, s.to = "", nil
	if s.closeNext {
		s.closeNext = false
		s.conn.Conn().Close()
	}
}

func (s *captureSession) Logout() error { return nil }

// AuthMechanisms implements smtp.AuthSession.
func (s *captureSession) AuthMechanisms() []string {
	var m []string
	if s.c.opts.Auth {
		m = append(m, sasl.Plain)
	}
	if s.c.opts.Bearer != nil {
		m = append(m, XOAuth2)
	}
	return m
}

// Auth implements smtp.AuthSession.
func (s *captureSession) Auth(mech string) (sasl.Server, error) {
	if mech == XOAuth2 && s.c.opts.Bearer != nil {
		refuse := &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed"}
		return &bearerServer{mech: mech, verify: s.c.opts.Bearer, refuse: refuse, ok: func(user string) error {
			s.c.mu.Lock()
			s.c.logins = append(s.c.logins, user)
			s.c.mu.Unlock()
			return nil
		}}, nil
	}
	if !s.c.opts.Auth || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.c.opts.User || password != s.c.opts.Password {
			return errors.New("invalid credentials")
		}
		s.c.mu.Lock()
		s.c.logins = append(s.c.logins, username)
		s.c.mu.Unlock()
		return nil
	}), nil
}

func (s *captureSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.c.opts.TLS != nil {
		if _, ok := s.conn.TLSConnectionState(); !ok {
			return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "TLS first"}
		}
	}
	s.from = from
	return nil
}

func (s *captureSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if n := s.c.opts.MaxRecipients; n > 0 && len(s.to) >= n {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "Too many recipients"}
	}
	if f := s.c.opts.RcptErr; f != nil {
		s.c.hookMu.Lock()
		err := f(to)
		s.c.hookMu.Unlock()
		if err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *captureSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // a cut transfer is not a mail
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message: " + err.Error()}
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	m := Mail{From: s.from, To: append([]string(nil), s.to...), Raw: raw, Header: msg.Header, Body: string(body), At: time.Now()}
	o := &s.c.opts
	if o.DataErr != nil || o.CloseAfter != nil {
		s.c.hookMu.Lock()
		defer s.c.hookMu.Unlock()
	}
	if o.DataErr != nil {
		if err := o.DataErr(m); err != nil {
			return err
		}
		m.At = time.Now()
	}
	s.c.mu.Lock()
	s.c.mails = append(s.c.mails, m)
	close(s.c.changed)
	s.c.changed = make(chan struct{})
	s.c.mu.Unlock()
	s.closeNext = o.CloseAfter != nil && o.CloseAfter(m)
	return nil
}

// FreePort returns a loopback port that was free a moment ago, chosen
// below the kernel's ephemeral range, so that no outgoing connection takes
// it before a server binds it, also when that server restarts.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := listenLoopback()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// listenLoopback listens on a random loopback port below the ephemeral
// range (see FreePort), or on any free port when none is found there.
func listenLoopback() (net.Listener, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	if low > 11000 {
		for range 100 {
			port := 10000 + mathrand.IntN(low-10000)
			if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				return ln, nil
			}
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// relisten listens on addr again, retrying for a second while the old
// listener's port is being released.
func relisten(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}
