package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/helpdeskd/helpdesk"
)

// imapConn is a logged-in IMAP connection of a mailbox: the fetcher's
// session, or the Sent copier's short one.
type imapConn struct {
	c *imapclient.Client
	// caps are the capabilities the daemon may rely on: the server's,
	// without IMAP4rev2 unless it was enabled (see rev2).
	caps imap.CapSet
	// rev2 is set when ENABLE IMAP4rev2 succeeded (IMAPConfig.IMAP4rev2).
	rev2 bool
	// rev2Advertised: the server lists IMAP4rev2, enabled or not.
	rev2Advertised bool
	// relogin is when the session must end to log in again before its
	// token expires; zero: never.
	relogin time.Time
	// bye watches the server's lines for a BYE; nil after STARTTLS (see
	// byeConn).
	bye *byeConn
}

// dialIMAP dials the server of cfg, logs in (password, or an OAuth2 token
// by OAUTHBEARER or XOAUTH2) and settles IMAP4rev2 (see rev2). A refused
// login is an *AuthError. handler, which may be nil, gets the server's
// unilateral data. Each step is bounded by cfg.CommandTimeout.
func dialIMAP(ctx context.Context, cfg IMAPConfig, log *slog.Logger, handler *imapclient.UnilateralDataHandler) (*imapConn, error) {
	ic := &imapConn{}
	opts := &imapclient.Options{TLSConfig: clientTLSConfig(cfg.TLSConfig, cfg.Host), UnilateralDataHandler: handler}
	if wl := newWireLog(log); wl != nil {
		opts.DebugWriter = wl // the protocol steps, at debug level only
	}
	do := func(what string, fn func() error) error {
		return withDeadline(cfg.CommandTimeout, func() { ic.c.Close() }, what, fn)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := dialWire(dialCtx, wireDialer(30*time.Second), cfg.Security, cfg.address(), opts.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.address(), err)
	}
	if cfg.Security != SecurityStartTLS {
		ic.bye = newByeConn(conn)
		conn = ic.bye
	}
	if cfg.Security == SecurityStartTLS {
		// NewStartTLS reads the greeting and upgrades; bound it like a command.
		err = withDeadline(cfg.CommandTimeout, func() { conn.Close() }, "starttls", func() (err error) {
			ic.c, err = imapclient.NewStartTLS(conn, opts)
			return err
		})
		if err != nil {
			conn.Close()
			return nil, err
		}
	} else {
		ic.c = imapclient.New(conn, opts)
		if err := do("greeting", ic.c.WaitGreeting); err != nil {
			ic.c.Close()
			return nil, err
		}
	}
	var login func() error
	var bearer *bearerClient
	if cfg.TokenFunc != nil {
		mech := cfg.Mechanism
		if mech == "" {
			if mech = bearerMech(ic.c.Caps()); mech == "" {
				ic.c.Close()
				return nil, &AuthError{Server: cfg.address(), Err: fmt.Errorf("the server offers neither OAUTHBEARER nor XOAUTH2 (AUTH= capabilities: %v)", ic.c.Caps().AuthMechanisms())}
			}
		}
		token, err := cfg.TokenFunc(ctx)
		if err != nil {
			ic.c.Close()
			return nil, tokenError(cfg.address(), err)
		}
		bearer = newBearerClient(mech, cfg.Username, token, cfg.Host, cfg.Port)
		if cfg.TokenExpiry != nil {
			// On the wall clock, as the token's lifetime is. A token that
			// leaves no second before the margin gets no early end: the
			// server's BYE ends the session, an ordinary reconnect.
			if exp := cfg.TokenExpiry(); !exp.IsZero() && time.Until(exp.Add(-reloginMargin)) >= time.Second {
				ic.relogin = exp.Add(-reloginMargin)
			}
		}
		login = func() error { return ic.c.Authenticate(bearer) }
	} else {
		password := cfg.Password
		if cfg.PasswordFunc != nil {
			if password, err = cfg.PasswordFunc(); err != nil {
				ic.c.Close()
				return nil, &AuthError{Server: cfg.address(), Err: fmt.Errorf("reading the password: %w", err)}
			}
		}
		login = func() error { return ic.c.Login(cfg.Username, password).Wait() }
		if pre := ic.c.Caps(); pre.Has(imap.CapLoginDisabled) && slices.Contains(pre.AuthMechanisms(), sasl.Plain) {
			// RFC 9051 §6.2.3: LOGINDISABLED forbids LOGIN; SASL PLAIN
			// (RFC 4616) carries the same credentials.
			login = func() error { return ic.c.Authenticate(sasl.NewPlainClient("", cfg.Username, password)) }
		}
	}
	if err := do("login", login); err != nil {
		ic.c.Close()
		var ierr *imap.Error
		if errors.As(err, &ierr) && ierr.Type == imap.StatusResponseTypeNo {
			// The server answered NO to the credentials: no network
			// fault, and no retry will help until someone fixes them.
			if bearer != nil {
				err = bearer.refusal(err)
			}
			return nil, &AuthError{Server: cfg.address(), Err: err}
		}
		return nil, err
	}
	attrs := []any{"server", cfg.address(), "user", cfg.Username}
	if bearer != nil {
		attrs = append(attrs, "mechanism", bearer.mech)
	}
	if err := ic.settleRev2(cfg, do, log); err != nil {
		ic.c.Close()
		return nil, err
	}
	if ic.rev2 {
		attrs = append(attrs, "imap4rev2", true)
	}
	log.Info("imap login", append(attrs, "folder", cfg.Folder)...)
	return ic, nil
}

// settleRev2 decides whether the session speaks IMAP4rev2 (RFC 9051).
// A server may list both IMAP4rev1 and IMAP4rev2 and then speaks rev1
// until the client sends ENABLE IMAP4rev2 (RFC 9051 §6.3.1, Appendix E).
// go-imap v2.0.0-beta.8 never sends that ENABLE itself, but its client
// already acts on the mere listing: imap.CapSet.Has counts MOVE, UIDPLUS,
// IDLE, ESEARCH, LITERAL- and others as present, and quoted strings and
// mailbox names go out as UTF-8 instead of modified UTF-7. Microsoft 365
// lists IMAP4rev2 after login on some tenants and its rev2 misbehaves
// (searches fail), so rev2 is off unless the mailbox says imap4rev2 =
// true, and never enabled against Microsoft Exchange whatever it says.
// With rev2 off the daemon's own checks see the capabilities without
// IMAP4rev2 (ic.caps), and a folder name outside ASCII is refused where
// the client would send it as UTF-8 (checkFolderName).
func (ic *imapConn) settleRev2(cfg IMAPConfig, do func(string, func() error) error, log *slog.Logger) error {
	caps := ic.c.Caps()
	ic.rev2Advertised = caps.Has(imap.CapIMAP4rev2)
	switch {
	case !ic.rev2Advertised || !cfg.IMAP4rev2:
	case isExchange(cfg.Host, caps):
		log.Warn("imap4rev2 = true is ignored: the server is Microsoft Exchange, whose IMAP4rev2 misbehaves; the session speaks IMAP4rev1",
			"server", cfg.address())
	default:
		err := do("enable imap4rev2", func() error {
			data, err := ic.c.Enable(imap.CapIMAP4rev2).Wait()
			if err == nil && data.Caps.Has(imap.CapIMAP4rev2) {
				ic.rev2 = true
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	ic.caps = caps.Copy()
	if !ic.rev2 {
		delete(ic.caps, imap.CapIMAP4rev2)
	}
	return nil
}

// exchangeCaps are capabilities only Microsoft Exchange (Exchange Online,
// Microsoft 365, Outlook.com) lists, after login.
var exchangeCaps = []imap.Cap{"CLIENTACCESSRULES", "CLIENTNETWORKPRESENCELOCATION", "BACKENDAUTHENTICATE"}

// isExchange recognises Microsoft Exchange by its host name or by the
// capabilities only it lists.
func isExchange(host string, caps imap.CapSet) bool {
	if helpdesk.MicrosoftHost(host) {
		return true
	}
	for _, c := range exchangeCaps {
		if _, ok := caps[c]; ok {
			return true
		}
	}
	return false
}

// checkFolderName refuses a folder name that go-imap would send as raw
// UTF-8 to a server that, IMAP4rev2 not being enabled, expects modified
// UTF-7 (RFC 3501 §5.1.3): the command could reach another folder, or
// create a misnamed one.
func (ic *imapConn) checkFolderName(name string) error {
	if ic.rev2 || !ic.rev2Advertised {
		return nil
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return fmt.Errorf("folder %q is not ASCII and the server lists IMAP4rev2 without it being enabled: go-imap would send the name as UTF-8 where the server expects modified UTF-7; use an ASCII name, or imap4rev2 = true where the server's IMAP4rev2 works", name)
		}
	}
	return nil
}
