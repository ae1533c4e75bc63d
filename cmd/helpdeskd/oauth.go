package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/mailbox"
	"github.com/helpdeskd/helpdesk/oauth"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// smtpAccount is the account name of [smtp]'s refresh token; a mailbox's
// is its name.
const smtpAccount = "smtp"

// storedRefresh keeps an account's refresh token in the database.
type storedRefresh struct {
	st      *store.Store
	account string
}

// Load implements oauth.RefreshStore.
func (r storedRefresh) Load(ctx context.Context) (string, error) {
	return r.st.RefreshToken(ctx, r.account)
}

// Save implements oauth.RefreshStore.
func (r storedRefresh) Save(ctx context.Context, token string) error {
	return r.st.SetRefreshToken(ctx, r.account, token)
}

// loginCommand is what an operator runs to sign account in again.
func loginCommand(cfg *config.Config, account string) string {
	if account == smtpAccount {
		return fmt.Sprintf("helpdeskd oauth login -config %s -smtp", cfg.File)
	}
	return fmt.Sprintf("helpdeskd oauth login -config %s -mailbox %s", cfg.File, account)
}

// tokenFunc is the token source of an account with auth = "oauth2" (user
// is its username, account its name in the database), or nil for a
// password login. The token cache runs on the wall clock: a demo's faster
// clock must not expire real tokens.
func tokenFunc(cfg *config.Config, st *store.Store, account, auth string, o *config.OAuth2, user string) (mailbox.TokenFunc, func() time.Time, error) {
	src, err := tokenSource(cfg, st, account, auth, o, user)
	if src == nil || err != nil {
		return nil, nil, err
	}
	return src.Token, src.Expiry, nil
}

// tokenSource is tokenFunc's Source.
func tokenSource(cfg *config.Config, st *store.Store, account, auth string, o *config.OAuth2, user string) (*oauth.Source, error) {
	if auth != config.AuthOAuth2 || o == nil {
		return nil, nil
	}
	oc := oauth.Config{Provider: o.Provider, Tenant: o.Tenant, TokenURL: o.TokenURL, ClientID: o.ClientID,
		Subject: o.Subject, Scopes: o.Scopes, DeviceURL: o.DeviceURL}
	if o.Flow == config.FlowDevice {
		oc.Flow, oc.Refresh, oc.LoginHint = oauth.Device, storedRefresh{st, account}, loginCommand(cfg, account)
	}
	if !o.ClientSecret.IsZero() {
		oc.ClientSecret = o.ClientSecret.Current
	}
	if !o.KeyFile.IsZero() {
		key := o.KeyFile
		oc.KeyFile = func() ([]byte, error) {
			v, err := key.Current()
			return []byte(v), err
		}
	}
	if oc.Subject == "" {
		oc.Subject = user
	}
	src, err := oauth.New(oc)
	if err != nil {
		return nil, fmt.Errorf("oauth2 of %s: %w", user, err)
	}
	return src, nil
}

// cmdOAuth runs "oauth login": the device flow for a mailbox (or [smtp])
// with flow = "device". It prints where to sign in and the code, waits for
// the sign-in, and stores the refresh token in the database, where the
// running daemon picks it up at its next login.
func cmdOAuth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("oauth", "oauth login -config FILE (-mailbox NAME | -smtp)", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	name := fs.String("mailbox", "", "the `name` of the mailbox to sign in")
	smtp := fs.Bool("smtp", false, "sign in [smtp]'s account")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "login" || (*name == "") == !*smtp {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("usage: oauth login -config FILE (-mailbox NAME | -smtp)")}
	}
	// The other accounts' secrets need not be at hand in the operator's
	// shell: only this account's client secret is read, below.
	cfg, err := loadConfig(*path, false, stderr)
	if err != nil {
		return err
	}
	account, auth, o, user := smtpAccount, cfg.SMTP.Auth, cfg.SMTP.OAuth2, cfg.SMTP.Username
	if !*smtp {
		account, auth, o = *name, "", nil
		for _, mb := range cfg.Mailboxes {
			if mb.Name == *name {
				auth, o, user = mb.Auth, mb.OAuth2, mb.Username
			}
		}
		if auth == "" {
			return &exitError{code: 2, err: fmt.Errorf("%s: no [[mailbox]] named %q", *path, *name)}
		}
	}
	if auth != config.AuthOAuth2 || o.Flow != config.FlowDevice {
		return &exitError{code: 2, err: fmt.Errorf("%s: %s does not sign in: it needs auth = \"oauth2\" and flow = \"device\"", *path, account)}
	}
	if env := o.ClientSecret.Env; env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return &exitError{code: 2, err: fmt.Errorf("%s: the client secret of %s is in $%s, which is not set here", *path, account, env)}
		}
		o.ClientSecret.Value = v
	}
	st, err := store.Open(ctx, cfg.Store.Path, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := tokenSource(cfg, st, account, auth, o, user)
	if err != nil {
		return err
	}
	err = src.Login(ctx, func(uri, code string, expires time.Time) {
		fmt.Fprintf(stdout, "To sign in %s, open %s and enter the code %s", user, uri, code)
		if !expires.IsZero() {
			fmt.Fprintf(stdout, " (before %s)", expires.Local().Format("15:04"))
		}
		fmt.Fprintln(stdout, ". Waiting...")
	})
	if err != nil {
		return fmt.Errorf("sign-in of %s: %w", account, err)
	}
	fmt.Fprintf(stdout, "%s signed in; the refresh token is stored in %s and used from the next login on\n", account, cfg.Store.Path)
	return nil
}

// loginAccounts describe the daemon's logins for the managers' mail about
// one that keeps being refused (desk.Desk.LoginRefused): each mailbox by
// its name, and [smtp] as smtpAccount.
func loginAccounts(cfg *config.Config) map[string]templates.LoginFailure {
	out := map[string]templates.LoginFailure{}
	for _, mb := range cfg.Mailboxes {
		lf := loginAccount(cfg, mb.Name, mb.Auth, mb.OAuth2, mb.Password, true)
		lf.Account, lf.Mailbox = "mailbox "+mb.Name, mb.Name
		lf.Server, lf.Username = net.JoinHostPort(mb.Host, strconv.Itoa(mb.Port)), mb.Username
		out[mb.Name] = lf
	}
	s := cfg.SMTP
	// The SMTP password is read at start (mailbox.SMTPConfig.Password);
	// OAuth2 secrets at each token request.
	lf := loginAccount(cfg, smtpAccount, s.Auth, s.OAuth2, s.Password, false)
	lf.Account, lf.Sending = "the SMTP account", true
	lf.Server, lf.Username = net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), s.Username
	out[smtpAccount] = lf
	return out
}

// loginAccount is how account logs in and what renews its credentials;
// passwordReread says whether its password file is read at each login.
func loginAccount(cfg *config.Config, account, auth string, o *config.OAuth2, password config.Secret, passwordReread bool) templates.LoginFailure {
	if auth != config.AuthOAuth2 || o == nil {
		return templates.LoginFailure{How: "password", Secret: secretPlace(password),
			Reread: passwordReread && rereadable(password)}
	}
	lf := templates.LoginFailure{Provider: o.Provider, ClientID: o.ClientID, How: "client_credentials"}
	secret := o.ClientSecret
	switch {
	case o.Flow == config.FlowDevice:
		lf.How, lf.Command = "device", loginCommand(cfg, account)
	case o.Provider == config.ProviderGoogle:
		lf.How, secret = "service_account", o.KeyFile
	}
	lf.Secret, lf.Reread = secretPlace(secret), rereadable(secret)
	return lf
}

// secretPlace says where a secret is kept, for people; "" when none is
// configured.
func secretPlace(s config.Secret) string {
	switch {
	case s.Env != "":
		return "the environment variable " + s.Env
	case s.Credential != "":
		return "the systemd credential " + s.Credential
	case s.File != "":
		return "the file " + s.File
	}
	return ""
}

// rereadable: a new value of s is seen without a restart. A systemd
// credential is a copy made when the service starts.
func rereadable(s config.Secret) bool { return s.File != "" && s.Credential == "" }
