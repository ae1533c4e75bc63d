package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// IMAPConfig is one support mailbox to read. Zero durations and sizes take
// the defaults named on each field; Validate reports what cannot work.
type IMAPConfig struct {
	Name     string // the configured mailbox name: checkpoint key and the "mailbox" log attribute
	Host     string
	Port     int    // default 993 for tls, 143 otherwise
	Security string // "tls" (implicit TLS, RFC 8314), "starttls" (RFC 9051 §6.2.1) or "none" (loopback only)
	Username string
	Password string
	// PasswordFunc, when set, gives the password before each login instead
	// of Password, so that a password file fixed while the daemon runs
	// takes effect at the next retry.
	PasswordFunc func() (string, error)
	// TokenFunc, when set, logs in with an OAuth2 access token instead of
	// a password: SASL OAUTHBEARER (RFC 7628) or XOAUTH2, whichever the
	// server advertises (OAUTHBEARER first), or Mechanism. It is called
	// before each login; an error from it is an AuthError.
	TokenFunc TokenFunc
	// TokenExpiry, when set with TokenFunc, gives the expiry of the token
	// TokenFunc gave last (zero: unknown). A session then ends, logging
	// out, a minute before it (Exchange ends a session whose token
	// expires, even in IDLE), and the next logs in with a fresh token.
	TokenExpiry func() time.Time
	// Mechanism forces the bearer mechanism ("OAUTHBEARER" or "XOAUTH2")
	// instead of choosing from the server's capabilities; used only with
	// TokenFunc.
	Mechanism string
	Folder    string // default INBOX
	// IMAP4rev2 lets the session ENABLE IMAP4rev2 (RFC 9051) when the
	// server lists it, except against Microsoft Exchange; off, the session
	// speaks IMAP4rev1 (see imapConn.settleRev2).
	IMAP4rev2 bool

	IDLE         bool          // wait with IDLE (RFC 2177) when the server offers it; otherwise poll
	PollInterval time.Duration // between polls without IDLE; default 1m
	IdleRefresh  time.Duration // leave IDLE this often to check the connection and catch up; default 5m

	Processed        string // what marks a committed mail: "flag" (default: ProcessedFlag + \Seen) or "move"
	ProcessedFlag    string // keyword of processed mail; default $HelpdeskProcessed
	ProcessedFolder  string // where committed mail goes in move mode; default Processed
	QuarantineFolder string // where unreadable mail goes, created when missing; default Quarantine

	MaxMessageSize int64         // of a larger mail only the header is read and delivered (Delivery.Oversize), then it is quarantined; default 50 MiB
	Batch          int           // most mails read with one FETCH and committed with one Handler.Deliver; default 64
	BatchBytes     int64         // most bytes (by RFC822.SIZE) in one batch; a larger mail goes alone; default 16 MiB
	CommandTimeout time.Duration // an IMAP command without answer for this long drops the connection; default 2m
	DeliverTimeout time.Duration // bound on one Handler.Deliver (one batch), also when finishing at shutdown; default 2m
	Backoff        Backoff       // between reconnections; default 1s doubling to 5m, 20% jitter

	TLSConfig *tls.Config // optional: roots or server name for tests and private CAs
}

// Modes of IMAPConfig.Processed.
const (
	ModeFlag = "flag" // add IMAPConfig.ProcessedFlag and \Seen
	ModeMove = "move" // move to IMAPConfig.ProcessedFolder
)

// Security modes of IMAPConfig.Security and SMTPConfig.Security.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// Defaults of IMAPConfig.
const (
	DefaultProcessedFlag    = "$HelpdeskProcessed"
	DefaultProcessedFolder  = "Processed"
	DefaultQuarantineFolder = "Quarantine"
	DefaultMaxMessageSize   = 50 << 20

	// MaxHeaderSize is how much of an oversize mail's header is read
	// (BODY.PEEK[HEADER]<0.MaxHeaderSize>); the header of a real mail is
	// a few KiB, Received chains included.
	MaxHeaderSize = 256 << 10

	// quarantineKeyword marks a mail that should have gone to quarantine but
	// could not be moved (no MOVE and no UIDPLUS, or the folder refused
	// it), so that no later search picks it up again.
	quarantineKeyword = "$HelpdeskQuarantined"
)

// withDefaults returns c with every zero field set to its default.
func (c IMAPConfig) withDefaults() IMAPConfig {
	if c.Security == "" {
		c.Security = SecurityTLS
	}
	if c.Port == 0 {
		c.Port = 143
		if c.Security == SecurityTLS {
			c.Port = 993
		}
	}
	if c.Folder == "" {
		c.Folder = "INBOX"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Minute
	}
	if c.IdleRefresh <= 0 {
		c.IdleRefresh = 5 * time.Minute
	}
	if c.Processed == "" {
		c.Processed = ModeFlag
	}
	if c.ProcessedFlag == "" {
		c.ProcessedFlag = DefaultProcessedFlag
	}
	if c.ProcessedFolder == "" {
		c.ProcessedFolder = DefaultProcessedFolder
	}
	if c.QuarantineFolder == "" {
		c.QuarantineFolder = DefaultQuarantineFolder
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 16 << 20
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 2 * time.Minute
	}
	if c.DeliverTimeout <= 0 {
		c.DeliverTimeout = 2 * time.Minute
	}
	c.Backoff = c.Backoff.orDefault(Backoff{Min: time.Second, Max: 5 * time.Minute})
	return c
}

// Validate reports every problem of c (after defaults) that would stop the
// fetcher from ever working, joined in one error.
func (c IMAPConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("imap: empty mailbox name"))
	}
	if c.Host == "" {
		errs = append(errs, fmt.Errorf("imap %s: empty host", c.Name))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("imap %s: port %d out of range", c.Name, c.Port))
	}
	switch c.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityNone:
		if !isLoopbackHost(c.Host) {
			errs = append(errs, fmt.Errorf("imap %s: security %q is only allowed to a loopback host, not %q", c.Name, c.Security, c.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("imap %s: unknown security %q (want tls, starttls or none)", c.Name, c.Security))
	}
	if c.Username == "" {
		errs = append(errs, fmt.Errorf("imap %s: empty username", c.Name))
	}
	switch c.Mechanism {
	case "", XOAuth2, sasl.OAuthBearer:
	default:
		errs = append(errs, fmt.Errorf("imap %s: unknown mechanism %q (want %s or %s)", c.Name, c.Mechanism, sasl.OAuthBearer, XOAuth2))
	}
	switch c.Processed {
	case ModeFlag:
		if !validKeyword(c.ProcessedFlag) {
			errs = append(errs, fmt.Errorf("imap %s: processed flag %q is not an IMAP keyword (RFC 9051 §9: flag-keyword)", c.Name, c.ProcessedFlag))
		}
	case ModeMove:
		if strings.EqualFold(c.ProcessedFolder, c.Folder) {
			errs = append(errs, fmt.Errorf("imap %s: processed folder is the folder read", c.Name))
		}
	default:
		errs = append(errs, fmt.Errorf("imap %s: unknown processed mode %q (want flag or move)", c.Name, c.Processed))
	}
	if strings.EqualFold(c.QuarantineFolder, c.Folder) {
		errs = append(errs, fmt.Errorf("imap %s: quarantine folder is the folder read", c.Name))
	}
	return errors.Join(errs...)
}

// address returns host:port.
func (c IMAPConfig) address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// validKeyword reports whether s is an IMAP flag-keyword: an atom, and not a
// system flag (RFC 9051 §9).
func validKeyword(s string) bool {
	if s == "" || strings.HasPrefix(s, `\`) {
		return false
	}
	for _, r := range s {
		// atom-specials: ( ) { SP CTL % * " \ ] and non-ASCII.
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether host names the loopback interface without
// asking a resolver: "localhost" or a loopback IP literal.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkLoopback refuses a plaintext connection whose peer is not on the
// loopback interface, whatever the host name resolved to.
func checkLoopback(conn net.Conn) error {
	addr, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok || !addr.IP.IsLoopback() {
		return fmt.Errorf("plaintext connection refused: peer %s is not loopback", conn.RemoteAddr())
	}
	return nil
}

// wireDialer returns the dialer of IMAP and SMTP connections: a connect
// timeout and TCP keep-alive, so that a peer that silently vanished (a NAT
// that forgot the connection) is noticed even while nothing is sent.
func wireDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout: timeout,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     time.Minute,
			Interval: 15 * time.Second,
			Count:    4,
		},
	}
}

// dialWire opens the TCP (and, for implicit TLS, TLS) connection for
// security mode sec. For "none" it checks that the peer is loopback.
func dialWire(ctx context.Context, d *net.Dialer, sec, addr string, tlsConfig *tls.Config) (net.Conn, error) {
	if sec == SecurityTLS {
		td := &tls.Dialer{NetDialer: d, Config: tlsConfig}
		return td.DialContext(ctx, "tcp", addr)
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if sec == SecurityNone {
		if err := checkLoopback(conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// clientTLSConfig returns a copy of c (or a new config) with the server
// name set and TLS 1.2 as the minimum.
func clientTLSConfig(c *tls.Config, host string) *tls.Config {
	var tc *tls.Config
	if c != nil {
		tc = c.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = strings.Trim(host, "[]")
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}
