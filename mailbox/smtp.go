package mailbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// SMTPConfig is the submission server the outbox sends through. Zero
// fields take the defaults named on each; Validate reports what cannot
// work.
type SMTPConfig struct {
	Host     string
	Port     int    // default 587 for starttls, 465 for tls, 25 for none
	Security string // "starttls" (default, RFC 3207), "tls" (implicit, RFC 8314) or "none"
	Username string // empty: no SMTP AUTH
	Password string
	HELO     string        // name given in EHLO; default the host name of the machine
	Timeout  time.Duration // connect and per-command timeout; default 30s
	Batch    int           // rows read per round, shared among the connections; default 50
	// Connections is how many SMTP sessions send at once when several
	// mails are due: the mails of one ticket always go over the same one,
	// in order. Default 2.
	Connections int

	// Retry spaces the attempts of one mail after temporary failures (4xx,
	// network): 30s, 1m, 2m ... capped at 1h by default, with 20% jitter.
	Retry Backoff
	// MaxAttempts gives a mail up as failed after this many attempts; 0
	// means no limit on the count (GiveUpAfter still applies).
	MaxAttempts int
	// GiveUpAfter gives a mail up as failed once it is this old and the
	// last attempt failed temporarily; default 72h (three days, like most
	// MTAs' queue lifetime); negative means never.
	GiveUpAfter time.Duration

	TLSConfig *tls.Config // optional: roots or server name for tests and private CAs
}

// withDefaults returns c with every zero field set to its default.
func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.Security == "" {
		c.Security = SecurityStartTLS
	}
	if c.Port == 0 {
		switch c.Security {
		case SecurityTLS:
			c.Port = 465
		case SecurityNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	if c.Connections <= 0 {
		c.Connections = 2
	}
	c.Retry = c.Retry.orDefault(Backoff{Min: 30 * time.Second, Max: time.Hour})
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = 72 * time.Hour
	}
	return c
}

// Validate reports every problem of c (after defaults), joined in one
// error.
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("smtp: empty host"))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp: port %d out of range", c.Port))
	}
	switch c.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityNone:
		// Credentials never travel in clear, except to this machine.
		if c.Username != "" && !isLoopbackHost(c.Host) {
			errs = append(errs, fmt.Errorf("smtp: security %q with a username is only allowed to a loopback host, not %q", c.Security, c.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("smtp: unknown security %q (want starttls, tls or none)", c.Security))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("smtp: negative max attempts %d", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// ownedHeader reports whether BuildMessage writes the field itself, so
// that OutMail.Headers may not set it. name is in canonical form.
func ownedHeader(name string) bool {
	switch name {
	case "Auto-Submitted", "Bcc", "Cc", "Content-Disposition", "Content-Id", "Content-Transfer-Encoding",
		"Content-Type", "Date", "From", "In-Reply-To", "Message-Id", "Mime-Version", "References",
		"Reply-To", "Return-Path", "Sender", "Subject", "To", "X-Auto-Response-Suppress":
		return true
	}
	return false
}

// BuildMessage turns an outbox row into a go-mail message: the Message-ID
// fixed at enqueue time (so that a retry is the same mail), the thread
// headers, RFC 3834 markers on automatic mail, the text and HTML
// alternatives and the attachments. It is pure: the Date is the row's
// CreatedAt, and nothing depends on the machine.
func BuildMessage(m helpdesk.OutMail) (*mail.Msg, error) {
	if m.MessageID == "" {
		return nil, fmt.Errorf("outbox %d: empty Message-ID", m.ID)
	}
	if len(m.To)+len(m.Cc) == 0 {
		return nil, fmt.Errorf("outbox %d: no recipient", m.ID)
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	for _, h := range []struct {
		name mail.AddrHeader
		list []helpdesk.Address
	}{
		{mail.HeaderFrom, []helpdesk.Address{m.From}},
		{mail.HeaderTo, m.To},
		{mail.HeaderCc, m.Cc},
		{mail.HeaderReplyTo, m.ReplyTo},
	} {
		if len(h.list) == 0 {
			continue
		}
		addrs, err := mailAddresses(h.list)
		if err != nil {
			return nil, fmt.Errorf("outbox %d: %s: %w", m.ID, h.name, err)
		}
		msg.SetAddrHeaderFromMailAddress(h.name, addrs...)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(bareID(m.MessageID))
	if !m.CreatedAt.IsZero() {
		msg.SetDateWithValue(m.CreatedAt)
	}
	// RFC 5322 §3.6.4: In-Reply-To names the parent; References the
	// thread, oldest first, ending with the parent. go-mail joins several
	// values with ", ", so References is given as one space-separated value.
	refs := make([]string, 0, len(m.References)+1)
	for _, r := range m.References {
		if r = bareID(r); r != "" && !slices.Contains(refs, "<"+r+">") {
			refs = append(refs, "<"+r+">")
		}
	}
	if parent := bareID(m.InReplyTo); parent != "" {
		msg.SetGenHeader(mail.HeaderInReplyTo, "<"+parent+">")
		if !slices.Contains(refs, "<"+parent+">") {
			refs = append(refs, "<"+parent+">")
		}
	}
	if len(refs) > 0 {
		msg.SetGenHeader(mail.HeaderReferences, strings.Join(refs, " "))
	}
	if m.Auto {
		// RFC 3834 §5: mark automatic responses; the Microsoft header
		// keeps Exchange from answering them with its own auto-replies.
		msg.SetGenHeader("Auto-Submitted", "auto-replied")
		msg.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	}
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m.Headers[k]
		name := textproto.CanonicalMIMEHeaderKey(k)
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("outbox %d: invalid header %q", m.ID, k)
		}
		if ownedHeader(name) {
			return nil, fmt.Errorf("outbox %d: header %s is set by the sender, not by Headers", m.ID, name)
		}
		msg.SetGenHeader(mail.Header(name), v)
	}
	switch {
	case m.Text != "" || m.HTML == "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		if m.HTML != "" {
			msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
		}
	default:
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		if a.Data == nil {
			continue // dropped for its size when it came in
		}
		name := a.Filename
		if name == "" {
			name = "attachment"
		}
		var opts []mail.FileOption
		if a.ContentType != "" {
			opts = append(opts, mail.WithFileContentType(mail.ContentType(a.ContentType)))
		}
		var err error
		if a.Inline && a.ContentID != "" {
			opts = append(opts, mail.WithFileContentID("<"+bareID(a.ContentID)+">"))
			err = msg.EmbedReader(name, bytes.NewReader(a.Data), opts...)
		} else {
			err = msg.AttachReader(name, bytes.NewReader(a.Data), opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("outbox %d: attachment %q: %w", m.ID, name, err)
		}
	}
	return msg, nil
}

// bareID strips white space and angle brackets from a Message-ID.
func bareID(id string) string {
	return strings.Trim(strings.TrimSpace(id), "<>")
}

// mailAddresses checks each address (an RFC 5322 addr-spec) and pairs it
// with its display name, which net/mail quotes or encodes (RFC 2047) as
// needed when the header is written.
func mailAddresses(list []helpdesk.Address) ([]*netmail.Address, error) {
	out := make([]*netmail.Address, 0, len(list))
	for _, a := range list {
		p, err := netmail.ParseAddress(a.Email)
		if err != nil || p.Name != "" {
			return nil, fmt.Errorf("invalid address %q", a.Email)
		}
		out = append(out, &netmail.Address{Name: a.Name, Address: p.Address})
	}
	return out, nil
}

// validHeaderName reports whether s is an RFC 5322 §3.6.8 field name:
// printable US-ASCII except the colon.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// smtpConn is one SMTP session of the outbox: the Sender that the
// outbox dials by default.
type smtpConn struct {
	mc  *mail.Client
	sc  *smtp.Client
	raw net.Conn // the dialled connection, closed when the session fails
	log *slog.Logger
	// sound is false while a Send runs and after one left the session
	// broken: Close then closes the connection without QUIT.
	sound bool
	// gone: the session failed after the server accepted a mail; the
	// next Send is Stale.
	gone bool
}

// errSessionGone is the Stale error of a Send on a session that failed
// after its previous mail.
var errSessionGone = errors.New("smtp session ended after the previous mail")

// dialSMTP connects, says EHLO, starts TLS and authenticates as cfg says.
// On any failure after the TCP connect, the connection is closed.
func dialSMTP(ctx context.Context, cfg SMTPConfig, log *slog.Logger) (*smtpConn, error) {
	conn := &smtpConn{log: log, sound: true}
	tlsConfig := clientTLSConfig(cfg.TLSConfig, cfg.Host)
	d := wireDialer(cfg.Timeout)
	opts := []mail.Option{
		// No NOOP before every mail: a connection the server closed while
		// idle fails at MAIL FROM instead, before anything is sent, and
		// the outbox redials (staleConn). One round trip fewer per mail.
		mail.WithoutNoop(),
		// No RSET after a mail the server accepted: RFC 5321 §4.1.1.4,
		// the end of the mail data clears the transaction's buffers, so
		// the next MAIL may follow at once. The RSET's round trip came
		// between the server's 250 and the record that the mail was sent:
		// the window in which a crash makes the next start send it again.
		mail.WithoutRset(),
		mail.WithPort(cfg.Port),
		mail.WithTimeout(cfg.Timeout),
		mail.WithTLSConfig(tlsConfig),
		// We dial ourselves, so that a failed handshake never leaks the
		// connection, and implicit TLS is done here (then go-mail must
		// not try STARTTLS on top).
		mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialWire(ctx, d, cfg.Security, addr, tlsConfig)
			if err == nil && cfg.Security == SecurityNone && cfg.Username != "" {
				err = checkLoopback(c)
				if err != nil {
					c.Close()
				}
			}
			if err != nil {
				return nil, err
			}
			conn.raw = c
			return c, nil
		}),
	}
	switch cfg.Security {
	case SecurityStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default: // tls: already encrypted by the dialer; none: plaintext
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		// The preferred mechanisms are chosen from what the server offers;
		// go-mail's PLAIN and LOGIN refuse to run without TLS except to
		// localhost.
		opts = append(opts, mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password),
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthPlain, mail.SMTPAuthLogin))
	}
	mc, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	conn.mc = mc
	conn.sc, err = mc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if conn.raw != nil {
			conn.raw.Close()
		}
		return nil, fmt.Errorf("smtp dial %s: %w", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), err)
	}
	return conn, nil
}

// Send implements Sender: it builds the mail (BuildMessage) and submits
// it over the session, sorting a failure with classifySend, connBroken and
// staleConn. ctx is not watched: go-mail bounds each command by the
// configured Timeout, and a send in flight at shutdown finishes.
func (c *smtpConn) Send(_ context.Context, m helpdesk.OutMail) error {
	if c.gone {
		return &SendError{Err: errSessionGone, Stale: true}
	}
	msg, err := BuildMessage(m)
	if err != nil {
		return &SendError{Err: err, Permanent: true}
	}
	c.sound = false
	err = c.mc.SendWithSMTPClient(c.sc, msg)
	if err != nil && msg.IsDelivered() {
		// The server accepted the DATA; what failed came after (go-mail
		// sends nothing more after it since WithoutRset, but stays free
		// to). The mail is sent: never send it twice. The session is
		// done; the next mail goes over a new one.
		c.log.Debug("mail accepted, the session failed after it", append(rowAttrs(m), "err", err)...)
		c.abort()
		c.gone = true
		return nil
	}
	if err == nil {
		c.sound = true
		return nil
	}
	se := &SendError{Err: err, Permanent: classifySend(err) == sendPermanent, Stale: staleConn(err)}
	// A refusal for good never drops the session: the reasons without a
	// reply code that make it permanent are found before anything is sent.
	se.Broken = !se.Permanent && connBroken(err)
	c.sound = !se.Broken && !se.Stale
	return se
}

// Close implements Sender: QUIT on a sound session, otherwise (or when
// QUIT fails) just close the connection.
func (c *smtpConn) Close() error {
	if !c.sound {
		c.abort()
		return nil
	}
	c.sound = false
	if err := c.mc.CloseWithSMTPClient(c.sc); err != nil {
		c.abort()
		return err
	}
	return nil
}

func (c *smtpConn) abort() {
	if c.raw != nil {
		c.raw.Close()
	}
}

// sendOutcome is how one attempt ended.
type sendOutcome int

const (
	sendOK        sendOutcome = iota
	sendTemporary             // retry later (4xx, network, connection lost)
	sendPermanent             // the server refused for good (5xx), or the mail cannot be built
)

// classifySend sorts a send error. A *mail.SendError carries the server's
// reply code: 5xx is permanent, 4xx temporary (RFC 5321 §4.2.1). go-mail
// also reports a reason without a code (lost connection, write error):
// temporary, except those that mean the mail itself cannot be sent.
// Anything else (network, TLS) is temporary.
func classifySend(err error) sendOutcome {
	if err == nil {
		return sendOK
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch {
		case code >= 500 && code < 600:
			return sendPermanent
		case code >= 400 && code < 500, se.IsTemp():
			return sendTemporary
		}
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return sendPermanent
		}
	}
	return sendTemporary
}

// connBroken reports whether err means the connection cannot be used for
// the next mail: a failed connection check, or a failure without a server
// reply code (the reply to a 4xx/5xx leaves the session usable; go-mail
// sends RSET after it).
func connBroken(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return true
	}
	return se.Reason == mail.ErrConnCheck || se.ErrorCode() == 0
}

// staleConn reports whether err says that a reused connection was closed
// by the server while it was idle: go-mail's failed connection check, or a
// MAIL FROM that got no reply at all. The mail was not sent; redial and
// try again.
func staleConn(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && (se.Reason == mail.ErrConnCheck || se.Reason == mail.ErrSMTPMailFrom && se.ErrorCode() == 0)
}
