package mailbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
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
	// TokenFunc, when set, authenticates with SASL XOAUTH2 and the token it
	// gives, called at every dial (sessions are reused; tokens expire),
	// instead of Password. The mechanism is named, never negotiated, so
	// that no password mechanism is ever offered the token.
	TokenFunc TokenFunc
	HELO      string        // name given in EHLO; default the host name of the machine
	Timeout   time.Duration // connect and per-command timeout; default 30s
	Batch     int           // rows read per round, shared among the connections; default 50
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

	// Rate limits the mails submitted to the server: at most Rate.N in any
	// Rate.Per (Exchange Online takes 30 a minute per mailbox). Mail over
	// it waits in the queue. Zero: no limit.
	Rate Rate
	// DailyRecipients limits the recipients the server accepts in any 24
	// hours (DailyWindow; Exchange Online takes 10,000 per mailbox), as
	// the store's record of sent mail shows them, so that a restart
	// forgets nothing. Mail over it waits in the queue. 0: no limit.
	DailyRecipients int

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
	if c.Rate.N < 0 || (c.Rate.N > 0 && c.Rate.Per <= 0) {
		errs = append(errs, fmt.Errorf("smtp: rate %d per %v: want a positive count per positive period", c.Rate.N, c.Rate.Per))
	}
	if c.DailyRecipients < 0 {
		errs = append(errs, fmt.Errorf("smtp: negative daily recipients %d", c.DailyRecipients))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("smtp: negative max attempts %d", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// ownedHeader reports whether BuildMessage writes the field itself, so
// that OutMail.Headers may not set it (Auto-Submitted and
// X-Auto-Response-Suppress only when OutMail.Auto). name is in canonical
// form.
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
		// RFC 3834 §5: a mail that answers none (the digest) may say it is
		// "auto-generated" itself; an auto-reply's markers are ours.
		autoMarker := name == "Auto-Submitted" || name == "X-Auto-Response-Suppress"
		if ownedHeader(name) && (m.Auto || !autoMarker) {
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

// rawMail is a mail already rendered (OutMail.Raw), written as it is.
type rawMail []byte

// WriteTo writes the mail to w.
func (r rawMail) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r)
	return int64(n), err
}

// RenderMessage returns the bytes BuildMessage's mail is sent as: what
// goes into DATA (before dot-stuffing), and into the Sent copy. Two
// renderings of one row differ in their MIME boundaries (go-mail draws
// them at random), so a copy is rendered once and those bytes are sent.
func RenderMessage(m helpdesk.OutMail) ([]byte, error) {
	msg, err := BuildMessage(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("outbox %d: render: %w", m.ID, err)
	}
	return b.Bytes(), nil
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
	mc      *mail.Client
	sc      *smtp.Client
	raw     net.Conn // the dialled connection, closed when the session fails
	log     *slog.Logger
	timeout time.Duration // per transaction
	// sound is false while a Send runs and after one left the session
	// broken: Close then closes the connection without QUIT.
	sound bool
}

// dialSMTP connects, says EHLO, starts TLS and authenticates as cfg says.
// On any failure after the TCP connect, the connection is closed.
func dialSMTP(ctx context.Context, cfg SMTPConfig, log *slog.Logger) (*smtpConn, error) {
	conn := &smtpConn{log: log, sound: true, timeout: cfg.Timeout}
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
	if log != nil && log.Enabled(ctx, slog.LevelDebug) {
		// The protocol steps at debug level; go-mail leaves out the
		// authentication data unless told otherwise.
		opts = append(opts, mail.WithDebugLog(), mail.WithLogger(smtpWireLog{log}))
	}
	if cfg.Username != "" && cfg.TokenFunc != nil {
		token, err := cfg.TokenFunc(ctx)
		if err != nil {
			return nil, tokenError(net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), err)
		}
		opts = append(opts, mail.WithUsername(cfg.Username), mail.WithPassword(token), mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2))
	} else if cfg.Username != "" {
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
		addr := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 530 && te.Code <= 539 {
			// RFC 4954 §6: 535 credentials invalid, 534 mechanism too
			// weak, 530 authentication required: no retry helps.
			return nil, &AuthError{Server: addr, Err: err}
		}
		return nil, fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	if log != nil {
		log.Info("smtp session opened", "server", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), "security", cfg.Security,
			"user", cfg.Username)
	}
	return conn, nil
}

// Send implements Sender: it builds the mail (BuildMessage) and drives
// the SMTP transactions itself over go-mail's SMTP client, because
// go-mail's Send gives a mail up, for every recipient, when the server
// refuses one of them. Each recipient still due (OutMail.Due) gets its own
// RCPT TO, and the mail goes to those the server accepts:
//
//   - a 5xx to one recipient refuses that one, a 4xx defers it; the others
//     still get the mail;
//   - a "too many recipients" (452, or the 552 of RFC 821 servers, RFC
//     5321 §4.5.3.1.10) after some were accepted ends the RCPTs: the mail
//     goes to the accepted ones, and the rest follow in a new transaction
//     on the same session, as often as needed, instead of the whole mail
//     being retried unchanged;
//   - a refusal of the whole transaction (MAIL FROM, DATA) applies to the
//     recipients of that transaction.
//
// When the server answered every recipient alike the outcome is nil or a
// *SendError, as for one recipient; otherwise a *RecipientsError holds
// each recipient's state. ctx is not watched: each transaction is bounded
// by the configured Timeout, and a send in flight at shutdown finishes.
//
// A mail with Raw set is offered as those bytes, from m.From, without
// being built again.
func (c *smtpConn) Send(_ context.Context, m helpdesk.OutMail) error {
	var body io.WriterTo
	var from string
	if m.Raw != nil {
		addrs, err := mailAddresses([]helpdesk.Address{m.From})
		if err != nil {
			return &SendError{Err: fmt.Errorf("outbox %d: from: %w", m.ID, err), Permanent: true}
		}
		body, from = rawMail(m.Raw), addrs[0].Address
	} else {
		msg, err := BuildMessage(m)
		if err != nil {
			return &SendError{Err: err, Permanent: true}
		}
		if from, err = msg.GetSender(false); err != nil {
			return &SendError{Err: fmt.Errorf("outbox %d: %w", m.ID, err), Permanent: true}
		}
		body = msg
	}
	c.sound = false
	d := c.deliver(from, body, m.Due())
	c.sound = !d.broken // Close just closes a broken session
	return d.outcome()
}

// delivery is what the transactions of one Send did.
type delivery struct {
	results []helpdesk.Recipient // one per recipient offered, in order; pending until answered
	apart   bool                 // the server answered some recipient apart (at RCPT, or a split)
	err     error                // the last failure: a reply refusing a transaction, or the connection's
	broken  bool                 // the session cannot send the next mail
	stale   bool                 // broken before the server answered anything of this Send
	// quota: the server refused the account, not the mail (a sending
	// limit): the Send ends, and the recipients it did not serve stay
	// pending.
	quota *QuotaError
}

// deliver sends msg from from to every address of to, in as many
// transactions as the server's recipient limit needs.
func (c *smtpConn) deliver(from string, msg io.WriterTo, to []string) *delivery {
	d := &delivery{}
	for _, a := range to {
		d.results = append(d.results, helpdesk.Recipient{Email: a, State: helpdesk.RecipientPending})
	}
	next := make([]int, len(to)) // indexes into d.results still to offer
	for i := range next {
		next[i] = i
	}
	answered := false // the server has answered a command of this Send
	for len(next) > 0 {
		if err := c.sc.UpdateDeadline(c.timeout); err != nil {
			d.fail(err)
			break
		}
		if err := c.sc.Mail(from); err != nil {
			// No reply to the first MAIL FROM of a Send: the server closed
			// the session while it was idle (no NOOP is sent before).
			d.stale = !answered && smtpReply(err) == nil
			d.fail(err)
			if !d.noteQuota(err, true) {
				d.settleAll(next, err)
			}
			c.reset(d)
			break
		}
		answered = true
		var accepted, carry []int
		for k, i := range next {
			err := c.sc.Rcpt(angleAddr(to[i]))
			if err == nil {
				accepted = append(accepted, i)
				continue
			}
			r := smtpReply(err)
			if r == nil {
				d.fail(err)
				break
			}
			if d.noteQuota(err, len(accepted) == 0) {
				d.fail(err)
				break
			}
			d.apart = true
			if r.tooManyRecipients() && len(accepted) > 0 {
				carry = next[k:] // the server's limit: the rest in another transaction
				break
			}
			d.results[i].State, d.results[i].Reply = r.state(), r.words()
		}
		if d.broken {
			break
		}
		if len(accepted) == 0 || d.quota != nil {
			// Every recipient refused, or the account may send no more
			// now: end the transaction; those accepted stay pending.
			c.reset(d)
			break
		}
		if err := c.data(msg); err != nil {
			d.fail(err)
			if d.noteQuota(err, false) {
				break
			}
			d.settleAll(accepted, err)
			if d.broken {
				break
			}
			next = carry
			continue
		}
		for _, i := range accepted {
			d.results[i].State, d.results[i].Reply = helpdesk.RecipientDelivered, ""
		}
		if len(carry) > 0 {
			c.log.Debug("server limits recipients per mail; splitting", "sent_to", len(accepted), "left", len(carry))
		}
		next = carry
	}
	return d
}

// data sends DATA and the message, and reads the server's verdict on it.
func (c *smtpConn) data(msg io.WriterTo) error {
	w, err := c.sc.Data()
	if err != nil {
		if smtpReply(err) != nil {
			// DATA itself refused: the transaction is still open.
			if rerr := c.sc.Reset(); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	if _, err := msg.WriteTo(w); err != nil {
		w.Close()
		return fmt.Errorf("write message: %w", err)
	}
	// RFC 5321 §4.1.1.4: the reply to the end of the data ends the
	// transaction; no RSET is needed before the next MAIL FROM.
	return w.Close()
}

// reset ends a transaction that sends nothing; a session that cannot
// even do that is broken.
func (c *smtpConn) reset(d *delivery) {
	if d.broken {
		return
	}
	if err := c.sc.Reset(); err != nil {
		d.fail(err)
	}
}

// fail records err; an error without a server reply breaks the session,
// and so does a 421 (RFC 5321 §3.8: the server closes the channel).
func (d *delivery) fail(err error) {
	d.err = err
	if r := smtpReply(err); r == nil || r.code == 421 {
		d.broken = true
	}
}

// noteQuota reports whether err is a provider's sending limit (reply.quota;
// none: no recipient of the transaction was accepted) and keeps it.
func (d *delivery) noteQuota(err error, none bool) bool {
	r := smtpReply(err)
	if r == nil {
		return false
	}
	k := r.quota(none)
	if k == QuotaNone {
		return false
	}
	d.quota = &QuotaError{Kind: k, Err: err}
	return true
}

// settleAll gives the recipients idx the state a server reply refusing
// their whole transaction gives them; without a reply they stay pending.
func (d *delivery) settleAll(idx []int, err error) {
	r := smtpReply(err)
	if r == nil {
		return
	}
	for _, i := range idx {
		d.results[i].State, d.results[i].Reply = r.state(), r.words()
	}
}

// outcome is the Send's result: nil when every recipient got the mail; a
// *SendError when the server answered no recipient apart (so that one
// failure of a one-recipient mail reads as it always did); otherwise a
// *RecipientsError with each recipient's state.
func (d *delivery) outcome() error {
	all := true
	for _, r := range d.results {
		all = all && r.State == helpdesk.RecipientDelivered
	}
	if all {
		return nil
	}
	if d.quota != nil {
		if d.apart || someDelivered(d.results) {
			return &RecipientsError{Results: d.results, Broken: d.broken, Err: d.quota}
		}
		return &SendError{Err: d.quota, Broken: d.broken}
	}
	if !d.apart && !someDelivered(d.results) {
		err := d.err
		if err == nil {
			err = errors.New("smtp: no recipient accepted")
		}
		return &SendError{Err: err, Permanent: classifySend(err) == sendPermanent, Broken: d.broken, Stale: d.stale}
	}
	return &RecipientsError{Results: d.results, Broken: d.broken, Err: d.err}
}

func countDelivered(rs []helpdesk.Recipient) int {
	n := 0
	for _, r := range rs {
		if r.State == helpdesk.RecipientDelivered {
			n++
		}
	}
	return n
}

func someDelivered(rs []helpdesk.Recipient) bool {
	for _, r := range rs {
		if r.State == helpdesk.RecipientDelivered {
			return true
		}
	}
	return false
}

// angleAddr is the RCPT TO path of an address (RFC 5321 §4.1.2), quoted
// where its local part needs it.
func angleAddr(addr string) string {
	return (&netmail.Address{Address: addr}).String()
}

// reply is one SMTP reply refusing a command.
type reply struct {
	code     int
	enhanced string // RFC 3463 status code, e.g. "5.1.1"; "" when the server gave none
	text     string // the rest of the reply, on one line
}

// smtpReply returns the server's reply within err, or nil when err is
// not a reply (network, TLS, a line we would not send).
func smtpReply(err error) *reply {
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code < 400 || te.Code > 599 {
		return nil
	}
	text := strings.Join(strings.Fields(strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' ' // one line, no control characters
		}
		return c
	}, te.Msg)), " ")
	r := &reply{code: te.Code, text: text}
	if f, rest, _ := strings.Cut(text, " "); enhancedCode(f, te.Code/100) {
		r.enhanced, r.text = f, rest
	}
	return r
}

// enhancedCode reports whether s is an RFC 3463 status code of class
// class: "class.subject.detail", up to three digits each of the last two.
func enhancedCode(s string, class int) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != fmt.Sprint(class) {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// maxReplyWords bounds the server's words kept per recipient: a reply may
// run over many lines, and it is stored, shown and mailed to agents.
const maxReplyWords = 300

// words is the reply as stored and shown: "550 5.1.1 no such user",
// cut to maxReplyWords characters.
func (r *reply) words() string {
	s := fmt.Sprint(r.code)
	if r.enhanced != "" {
		s += " " + r.enhanced
	}
	if r.text != "" {
		s += " " + r.text
	}
	if rs := []rune(s); len(rs) > maxReplyWords {
		return string(rs[:maxReplyWords]) + "…"
	}
	return s
}

// state is what the reply makes of a recipient: 5xx refused, 4xx deferred
// (RFC 5321 §4.2.1).
func (r *reply) state() helpdesk.RecipientState {
	if r.code >= 500 {
		return helpdesk.RecipientRefused
	}
	return helpdesk.RecipientDeferred
}

// tooManyRecipients reports whether a refused RCPT says the transaction
// has reached the server's limit of recipients: RFC 5321 §4.5.3.1.10 has
// 452 for it (and asks clients to read the 552 of RFC 821 servers as the
// same); a 452 with another enhanced code (4.2.2 mailbox full) is about
// that recipient only.
func (r *reply) tooManyRecipients() bool {
	switch r.code {
	case 452:
		return r.enhanced == "" || r.enhanced == "4.5.3"
	case 552:
		return r.enhanced == "5.5.3"
	}
	return false
}

// RecipientsError is how a Sender reports an attempt whose recipients
// fared differently: the server took the mail for some and refused or
// deferred others at RCPT TO, or a transaction of a split mail failed.
// The outbox records each recipient's state; a mail is never sent again
// to a recipient that got it.
type RecipientsError struct {
	// Results holds the state of every recipient offered: delivered,
	// refused or deferred with the server's words, or pending when the
	// session failed before the server answered for it.
	Results []helpdesk.Recipient
	// Broken: the session cannot send the next mail (SendError.Broken).
	Broken bool
	// Err is the last failure of a transaction or of the session, if any.
	Err error
}

// Error says how many recipients got the mail and how the others fared.
func (e *RecipientsError) Error() string {
	n := 0
	var not []string
	for _, r := range e.Results {
		if r.State == helpdesk.RecipientDelivered {
			n++
			continue
		}
		s := r.Email + " " + string(r.State)
		if r.Reply != "" {
			s += " (" + r.Reply + ")"
		}
		not = append(not, s)
	}
	msg := fmt.Sprintf("sent to %d of %d recipients; %s", n, len(e.Results), strings.Join(not, "; "))
	if e.Err != nil && e.Broken {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns Err.
func (e *RecipientsError) Unwrap() error { return e.Err }

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
	sendPermanent             // the server refused for good (5xx)
)

// classifySend sorts a send error by the server's reply code: 5xx is
// permanent, 4xx temporary (RFC 5321 §4.2.1); anything without a reply
// (network, TLS) is temporary.
func classifySend(err error) sendOutcome {
	if err == nil {
		return sendOK
	}
	if r := smtpReply(err); r != nil && r.code >= 500 {
		return sendPermanent
	}
	return sendTemporary
}

// QuotaKind says which of the account's sending limits a server's answer
// reports.
type QuotaKind int

// The limits a provider answers about.
const (
	QuotaNone        QuotaKind = iota
	QuotaRate                  // too many mails or connections just now: back off for a while
	QuotaDaily                 // the account's recipients in 24 hours: wait for the rolling window
	QuotaMailboxFull           // the sending mailbox is full (Exchange keeps each sent mail in Sent Items)
)

// String names the kind in logs: "rate", "daily", "sending mailbox full".
func (k QuotaKind) String() string {
	switch k {
	case QuotaRate:
		return "rate"
	case QuotaDaily:
		return "daily"
	case QuotaMailboxFull:
		return "sending mailbox full"
	}
	return "none"
}

// QuotaError is an answer refusing mail because the account sent too
// much, not because of the mail: the mail waits in the queue, the outbox
// backs off the whole account, and nothing is given up or counted as an
// attempt. A Sender returns it inside a SendError (or as a
// RecipientsError's Err when some recipients got the mail first).
type QuotaError struct {
	Kind QuotaKind
	Err  error // the server's reply
}

// Error says which quota and the server's reply.
func (e *QuotaError) Error() string { return fmt.Sprintf("sending quota (%v): %v", e.Kind, e.Err) }

// Unwrap returns the server's reply.
func (e *QuotaError) Unwrap() error { return e.Err }

// quotaOf returns the QuotaError within err: a Sender's, or one of the
// replies quota reads as such (as to a dial, whose refusals come before
// any transaction).
func quotaOf(err error) *QuotaError {
	var qe *QuotaError
	if errors.As(err, &qe) {
		return qe
	}
	if r := smtpReply(err); r != nil {
		if k := r.quota(true); k != QuotaNone {
			return &QuotaError{Kind: k, Err: err}
		}
	}
	return nil
}

// rateWords are what temporary answers about an account sending too fast
// say (Exchange Online: "432 4.3.2 Concurrent connections limit
// exceeded", Exchange Server: "4.4.2 Message submission rate for this
// client has exceeded the configured limit", Amazon SES: "454 Throttling
// failure: Maximum sending rate exceeded").
var rateWords = []string{"too many", "rate limit", "rate exceeded", "sending rate", "submission rate",
	"exceeded the rate", "throttl", "quota", "limit exceeded", "exceeded the configured limit", "concurrent connections"}

// quota reads a refusal as a provider's sending limit, or QuotaNone.
// none says that no recipient of the transaction was accepted (before a
// RCPT: always). The providers' answers are matched by their words as
// well as their codes, because the codes alone are not specific: 554
// 5.2.0 is any store failure at Exchange, 550 5.4.5 any routing failure.
//
//   - Exchange Online, over 10,000 recipients in 24 hours: "554 5.2.0
//     STOREDRV.Submission.Exception:SubmissionQuotaExceededException";
//     Gmail: "550 5.4.5 Daily user sending limit exceeded" (or "quota");
//     SES: "454 Throttling failure: Daily message quota exceeded". Daily.
//   - Exchange, its Sent Items full: "554 5.2.2 mailbox full;
//     STOREDRV.Submission.Exception:QuotaExceededException…". A 5.2.2
//     without STOREDRV.Submission is the recipient's mailbox: not ours.
//   - A 421 saying "try again later" or any of rateWords (Gmail "421
//     4.7.0 Try again later, closing connection"), another 4xx saying one
//     of rateWords, and a "452 4.5.3 too many recipients" before any
//     recipient was accepted (the account may send to no one now; after
//     some, it is the server's recipients per mail: Send splits the mail).
//     Rate. A 4xx about a mailbox (4.2.x: full, over quota) is about the
//     recipient, and stays so.
func (r *reply) quota(none bool) QuotaKind {
	text := strings.ToLower(r.text)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(text, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("submissionquotaexceeded"):
		return QuotaDaily
	case has("storedrv.submission") && has("quotaexceeded"):
		return QuotaMailboxFull
	case has("daily") && has("quota", "limit") && has("exceed"):
		return QuotaDaily
	case r.code < 400 || r.code >= 500:
		return QuotaNone
	case r.tooManyRecipients():
		if none {
			return QuotaRate
		}
		return QuotaNone
	case strings.HasPrefix(r.enhanced, "4.2."):
		return QuotaNone
	case r.code == 421 && has("try again later"):
		return QuotaRate
	case has(rateWords...):
		return QuotaRate
	}
	return QuotaNone
}
