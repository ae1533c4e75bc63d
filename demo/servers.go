// Package demo is helpdeskd's self-contained demonstration: go-imap/v2's
// in-memory IMAP server holding the support mailboxes, a go-smtp server that
// delivers mail for the support addresses into them and captures every other
// mail, config.example.toml rewritten for these loopback servers, a clock
// that can run faster than real time, and seed incidents drawn from the five
// support policies. Only the servers are embedded: the daemon runs unchanged
// against them over real IMAP, real SMTP and a real SQLite file.
package demo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/helpdeskd/helpdesk/internal/imapidle"
)

// Box is one IMAP account of the demo server and the addresses whose mail
// is delivered into it.
type Box struct {
	Username string
	Password string
	// Folder receives the mail for Addresses; created with the account.
	Folder string
	// Folders are other folders to create (where processed or unreadable
	// mail is moved).
	Folders []string
	// Addresses deliver into Folder, and so do their sub-addresses
	// (local+tag@domain, RFC 5233), which carry the tickets' reply tokens.
	Addresses []string
}

// Options configure Start.
type Options struct {
	IMAPAddr string // listen address of the IMAP server; default "127.0.0.1:0"
	SMTPAddr string // listen address of the SMTP server; default "127.0.0.1:0"
	Domain   string // name the SMTP server greets with; default "demo.localhost"
	Boxes    []Box
	// Now dates the Received header of delivered mail; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
	// Delivered is called for each mail delivered into a box, after the
	// IMAP append, from the SMTP session's goroutine. Optional.
	Delivered func(box string, m Mail)
	// Captured is called for each captured mail, from the SMTP session's
	// goroutine. Optional.
	Captured func(Mail)
	// MaxCaptured bounds the captured mails kept in memory, the oldest
	// dropped first; default 5000.
	MaxCaptured int
}

// Mail is one mail the SMTP server accepted.
type Mail struct {
	From   string   // envelope sender (MAIL FROM); empty for a null reverse path
	To     []string // envelope recipients of this copy, lower case
	Raw    []byte   // the message as received
	Header mail.Header
	At     time.Time // when it was accepted, on Options.Now
}

// Subject returns the decoded Subject header (RFC 2047).
func (m Mail) Subject() string { return decodeHeader(m.Header.Get("Subject")) }

// HeaderAddress returns the address of the first mailbox in header key
// (From, Reply-To ...), lower case, or "".
func (m Mail) HeaderAddress(key string) string {
	list, err := m.Header.AddressList(key)
	if err != nil || len(list) == 0 {
		return ""
	}
	return strings.ToLower(list[0].Address)
}

// MessageID returns the Message-ID without angle brackets.
func (m Mail) MessageID() string {
	return strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")
}

// decodeHeader decodes RFC 2047 encoded words in every charset go-message
// knows.
func decodeHeader(s string) string {
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	if d, err := dec.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// Servers are the demo's IMAP and SMTP servers, listening on loopback.
type Servers struct {
	opts  Options
	users map[string]*imapmemserver.User // by username
	route map[string]*Box                // lower-case address -> box
	imap  *imapserver.Server
	smtp  *smtp.Server
	imapL net.Listener
	smtpL net.Listener
	serve sync.WaitGroup

	mu       sync.Mutex
	captured []Mail
	changed  chan struct{} // closed and replaced when a mail is captured
}

// Start creates the boxes and starts both servers. Close stops them.
func Start(o Options) (*Servers, error) {
	if o.IMAPAddr == "" {
		o.IMAPAddr = "127.0.0.1:0"
	}
	if o.SMTPAddr == "" {
		o.SMTPAddr = "127.0.0.1:0"
	}
	if o.Domain == "" {
		o.Domain = "demo.localhost"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxCaptured <= 0 {
		o.MaxCaptured = 5000
	}
	s := &Servers{opts: o, users: map[string]*imapmemserver.User{}, route: map[string]*Box{}, changed: make(chan struct{})}
	mem := imapmemserver.New()
	for i := range o.Boxes {
		b := &s.opts.Boxes[i]
		if b.Folder == "" {
			b.Folder = "INBOX"
		}
		u := s.users[b.Username]
		if u == nil {
			u = imapmemserver.NewUser(b.Username, b.Password)
			mem.AddUser(u)
			s.users[b.Username] = u
		}
		for _, f := range append([]string{b.Folder}, b.Folders...) {
			if err := u.Create(f, nil); err != nil && !isExists(u, f) {
				return nil, fmt.Errorf("demo imap: create %s for %s: %w", f, b.Username, err)
			}
		}
		for _, a := range b.Addresses {
			a = strings.ToLower(a)
			if other := s.route[a]; other != nil {
				return nil, fmt.Errorf("demo: address %s delivers to both %s and %s", a, other.Username, b.Username)
			}
			s.route[a] = b
		}
	}

	var err error
	if s.imapL, err = net.Listen("tcp", o.IMAPAddr); err != nil {
		return nil, fmt.Errorf("demo imap listen %s: %w", o.IMAPAddr, err)
	}
	if s.smtpL, err = net.Listen("tcp", o.SMTPAddr); err != nil {
		s.imapL.Close()
		return nil, fmt.Errorf("demo smtp listen %s: %w", o.SMTPAddr, err)
	}
	logger := serverLog{o.Log}
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return imapidle.Flush(mem.NewSession(), time.Second), nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
		// Plaintext LOGIN on loopback only: the listener above is the
		// operator's choice, and the demo binds 127.0.0.1 by default.
		InsecureAuth: true,
		Logger:       logger.with("imap"),
	})
	s.smtp = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, helo: c.Hostname(), remote: c.Conn().RemoteAddr().String()}, nil
	}))
	s.smtp.Domain = o.Domain
	s.smtp.AllowInsecureAuth = true
	s.smtp.MaxMessageBytes = 50 << 20
	s.smtp.MaxRecipients = 100
	s.smtp.ReadTimeout = 5 * time.Minute
	s.smtp.WriteTimeout = time.Minute
	s.smtp.ErrorLog = logger.with("smtp")

	s.serve.Add(2)
	go func() {
		defer s.serve.Done()
		s.imap.Serve(s.imapL)
	}()
	go func() {
		defer s.serve.Done()
		s.smtp.Serve(s.smtpL)
	}()
	return s, nil
}

func isExists(u *imapmemserver.User, folder string) bool {
	_, err := u.Status(folder, &imap.StatusOptions{})
	return err == nil
}

// IMAPAddr is the address the IMAP server listens on.
func (s *Servers) IMAPAddr() string { return s.imapL.Addr().String() }

// SMTPAddr is the address the SMTP server listens on.
func (s *Servers) SMTPAddr() string { return s.smtpL.Addr().String() }

// Close stops both servers: the SMTP server lets the sessions in progress
// finish for up to two seconds, then both drop their connections.
func (s *Servers) Close() error {
	// Closing the listeners first also stops a Serve goroutine that has not
	// handed its listener to its server yet. Both Serve calls must have
	// returned before the IMAP server's Close: imapserver (v2.0.0-beta.8)
	// adds to a WaitGroup in Serve that Close waits on, a data race when the
	// servers are closed right after Start.
	s.smtpL.Close()
	s.imapL.Close()
	s.serve.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	serr := s.smtp.Shutdown(ctx)
	if errors.Is(serr, context.DeadlineExceeded) {
		s.smtp.Close()
	}
	ierr := s.imap.Close()
	return errors.Join(ignoreClosed(serr), ignoreClosed(ierr))
}

// ignoreClosed drops the error of closing a listener Close already closed.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// Captured returns the mails captured so far, oldest first.
func (s *Servers) Captured() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.captured...)
}

// WaitCaptured returns the first captured mail, already held or still to
// come, for which match is true; it gives up when ctx is done.
func (s *Servers) WaitCaptured(ctx context.Context, match func(Mail) bool) (Mail, error) {
	seen := 0
	for {
		s.mu.Lock()
		all, changed := s.captured, s.changed
		s.mu.Unlock()
		if seen > len(all) { // the oldest were dropped: look at all again
			seen = 0
		}
		for _, m := range all[seen:] {
			if match(m) {
				return m, nil
			}
		}
		seen = len(all)
		select {
		case <-changed:
		case <-ctx.Done():
			return Mail{}, fmt.Errorf("wait for captured mail: %w", ctx.Err())
		}
	}
}

func (s *Servers) capture(m Mail) {
	s.mu.Lock()
	s.captured = append(s.captured, m)
	if n := len(s.captured) - s.opts.MaxCaptured; n > 0 {
		s.captured = append([]Mail(nil), s.captured[n:]...)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.opts.Captured != nil {
		s.opts.Captured(m)
	}
}

// boxFor returns the box that receives mail for addr, or nil: the address
// itself or, for a sub-address local+tag@domain, local@domain (RFC 5233).
func (s *Servers) boxFor(addr string) *Box {
	addr = strings.ToLower(addr)
	if b := s.route[addr]; b != nil {
		return b
	}
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return nil
	}
	if base, _, ok := strings.Cut(local, "+"); ok {
		return s.route[base+"@"+domain]
	}
	return nil
}

// deliver appends raw to the box's folder, as a local delivery agent does,
// with the trace headers of RFC 5321 §4.4 (Return-Path, Received) and a
// Delivered-To per recipient.
func (s *Servers) deliver(b *Box, from string, rcpts []string, helo, remote string, raw []byte) error {
	host, _, _ := net.SplitHostPort(remote)
	var h bytes.Buffer
	fmt.Fprintf(&h, "Return-Path: <%s>\r\n", from)
	for _, r := range rcpts {
		fmt.Fprintf(&h, "Delivered-To: %s\r\n", r)
	}
	fmt.Fprintf(&h, "Received: from %s ([%s])\r\n\tby %s (helpdeskd demo) with ESMTP\r\n\tfor <%s>; %s\r\n",
		helo, host, s.opts.Domain, rcpts[0], s.opts.Now().Format(time.RFC1123Z))
	msg := append(h.Bytes(), crlf(raw)...)
	u := s.users[b.Username]
	if _, err := u.Append(b.Folder, bytes.NewReader(msg), &imap.AppendOptions{Time: s.opts.Now()}); err != nil {
		return fmt.Errorf("deliver to %s/%s: %w", b.Username, b.Folder, err)
	}
	return nil
}

// crlf returns raw with every line ending in CRLF, as IMAP requires
// (RFC 9051 §2.3.1): SMTP clients send CRLF, but a client handing over a
// file may not.
func crlf(raw []byte) []byte {
	if !bytes.Contains(raw, []byte("\n")) || bytes.Count(raw, []byte("\r\n")) == bytes.Count(raw, []byte("\n")) {
		return raw
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// session is one SMTP transaction at a time of one connection.
type session struct {
	s      *Servers
	helo   string
	remote string
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms offers PLAIN so that mail clients that insist on logging
// in can send; any credentials are accepted.
func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth accepts any PLAIN credentials: the server is a loopback demo.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(identity, username, password string) error { return nil }), nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

// Rcpt accepts every recipient: go-smtp has checked the path's syntax
// (RFC 5321 §4.1.2), and what is not a support address is captured.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, strings.ToLower(to))
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		// RFC 5321 §4.2.2: 554 transaction failed; the text says why.
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "cannot read the message header: " + err.Error()}
	}
	s := ss.s
	now := s.opts.Now()
	var order []*Box
	byBox := map[*Box][]string{}
	var others []string
	for _, rcpt := range ss.to {
		b := s.boxFor(rcpt)
		if b == nil {
			others = append(others, rcpt)
			continue
		}
		if byBox[b] == nil {
			order = append(order, b)
		}
		byBox[b] = append(byBox[b], rcpt)
	}
	for _, b := range order {
		if err := s.deliver(b, ss.from, byBox[b], ss.helo, ss.remote, raw); err != nil {
			s.opts.Log.Error("demo delivery failed", "mailbox", b.Username, "err", err)
			// RFC 5321 §4.2.2: 451 local error in processing; try again.
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "delivery failed, try again later"}
		}
		if s.opts.Delivered != nil {
			s.opts.Delivered(b.Username, Mail{From: ss.from, To: byBox[b], Raw: raw, Header: msg.Header, At: now})
		}
	}
	if len(others) > 0 {
		s.capture(Mail{From: ss.from, To: others, Raw: raw, Header: msg.Header, At: now})
	}
	return nil
}

// serverLog sends the servers' own error messages to slog at debug level:
// a client dropping its connection is not the operator's concern.
type serverLog struct{ log *slog.Logger }

func (l serverLog) with(component string) serverLog {
	return serverLog{l.log.With("component", "demo-"+component)}
}

func (l serverLog) Printf(format string, v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l serverLog) Println(v ...any) { l.log.Debug(strings.TrimSpace(fmt.Sprintln(v...))) }
