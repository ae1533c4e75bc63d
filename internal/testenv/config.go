package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk/config"
)

// IMAPPasswordEnv is the environment variable the configuration reads the
// IMAP password from (password = "${HD_TEST_IMAP_PASSWORD}"). Config.Load
// resolves it itself; a daemon run as a process needs it in its
// environment (Config.Env).
const IMAPPasswordEnv = "HD_TEST_IMAP_PASSWORD"

// Agent is one [[agent]] of a test configuration.
type Agent struct {
	Email, Name, Team string
	Manager           bool
}

// Team is the agents most tests work with: Alice and Bob, and their
// manager Maria, all in team first-line.
var Team = []Agent{
	{Email: "alice@example.com", Name: "Alice", Team: "first-line"},
	{Email: "bob@example.com", Name: "Bob", Team: "first-line"},
	{Email: "maria@example.com", Name: "Maria", Team: "first-line", Manager: true},
}

// Config is a helpdeskd configuration for a test: the store, SMTP to the
// test peer (plaintext, from "Example Support <support@example.com>") and
// one mailbox, "support" (support@example.com), on the test IMAP server,
// polled every second when IDLE is off. The strings are TOML lines put in
// their place.
type Config struct {
	// Dir receives helpdesk.toml and, unless DB says otherwise,
	// helpdesk.db; default a new t.TempDir().
	Dir string
	DB  string // the database file; default Dir/helpdesk.db

	IMAP         string // host:port of the IMAP server; default 127.0.0.1:143 (none started)
	IMAPUser     string // the mailbox's username; default IMAPUser
	IMAPPassword string // the password Load resolves; default IMAPPassword
	// IMAPPasswordFile, when set, is the mailbox's password_file (e.g.
	// "%credentials/imap") instead of password = "${HD_TEST_IMAP_PASSWORD}";
	// Load cannot resolve it.
	IMAPPasswordFile string
	// IMAPOAuth2, when set, has the mailbox log in with auth = "oauth2"
	// and these lines as its [mailbox.oauth2] table, with no password.
	IMAPOAuth2 string
	SMTP       string // host:port of the SMTP peer; default 127.0.0.1:25 (none started)

	SMTPKeys string  // more keys of [smtp]
	Mailbox  string  // more keys of the [[mailbox]]
	Agents   []Agent // the [[agent]]s
	HTTP     string  // [http] listen; "" leaves [http] out
	Extra    string  // more tables, after everything else
}

// TOML returns the configuration's text; with Dir unset the database is
// "helpdesk.db" beside the file.
func (c Config) TOML() string {
	imapAddr, smtpAddr := c.IMAP, c.SMTP
	if imapAddr == "" {
		imapAddr = "127.0.0.1:143"
	}
	if smtpAddr == "" {
		smtpAddr = "127.0.0.1:25"
	}
	ih, ip, _ := net.SplitHostPort(imapAddr)
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	db := c.DB
	if db == "" {
		db = filepath.Join(c.Dir, "helpdesk.db")
	}
	user := c.IMAPUser
	if user == "" {
		user = IMAPUser
	}
	secret := fmt.Sprintf("password = \"${%s}\"", IMAPPasswordEnv)
	if c.IMAPPasswordFile != "" {
		secret = fmt.Sprintf("password_file = %q", c.IMAPPasswordFile)
	}
	oauth2 := ""
	if c.IMAPOAuth2 != "" {
		secret = `auth = "oauth2"`
		oauth2 = "[mailbox.oauth2]\n" + line(c.IMAPOAuth2)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[store]
path = %q

[smtp]
host = %q
port = %s
security = "none"
from = "Example Support <support@example.com>"
%s
[[mailbox]]
name = "support"
address = "support@example.com"
host = %q
port = %s
security = "none"
username = %q
%s
folder = "INBOX"
poll_interval = "1s"
%s%s
`, db, sh, sp, line(c.SMTPKeys), ih, ip, user, secret, line(c.Mailbox), oauth2)
	for _, a := range c.Agents {
		fmt.Fprintf(&b, "[[agent]]\nemail = %q\nname = %q\n", a.Email, a.Name)
		if a.Team != "" {
			fmt.Fprintf(&b, "team = %q\n", a.Team)
		}
		if a.Manager {
			b.WriteString("manager = true\n")
		}
	}
	if c.HTTP != "" {
		fmt.Fprintf(&b, "\n[http]\nlisten = %q\n", c.HTTP)
	}
	if c.Extra != "" {
		b.WriteString("\n" + line(c.Extra))
	}
	return b.String()
}

// line ends s with a newline unless it is empty.
func line(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// Write writes the configuration to Dir/helpdesk.toml (Dir a new temp dir
// when unset) and returns its path.
func (c Config) Write(t testing.TB) string {
	t.Helper()
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	path := filepath.Join(c.Dir, "helpdesk.toml")
	if err := os.WriteFile(path, []byte(c.TOML()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Load writes the configuration and loads it as the daemon does
// (config.Load, secrets resolved), failing t on any error.
func (c Config) Load(t testing.TB) *config.Config {
	t.Helper()
	path := c.Write(t)
	pass := c.password()
	cfg, _, err := config.Load(path, config.Options{ResolveSecrets: true, LookupEnv: func(k string) (string, bool) {
		if k == IMAPPasswordEnv {
			return pass, true
		}
		return "", false
	}})
	if err != nil {
		t.Fatalf("testenv: config: %v", err)
	}
	return cfg
}

// Env is the environment of a daemon process that reads the
// configuration: the IMAP password's variable added to this process's.
func (c Config) Env() []string {
	return append(os.Environ(), IMAPPasswordEnv+"="+c.password())
}

func (c Config) password() string {
	if c.IMAPPassword == "" {
		return IMAPPassword
	}
	return c.IMAPPassword
}
