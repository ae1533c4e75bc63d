// Package config loads helpdeskd's TOML configuration into a typed, fully
// validated Config: defaults first, then the file decoded strictly (an
// unknown key is an error), then every value checked and every reference
// between sections resolved, with all problems reported at once as
// "FILE:LINE: KEY: message". The result carries ready-to-use values (levels,
// sla calendars and policies, resolved secrets, durations, byte sizes) so
// that no other package parses configuration text.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/trust"
)

// Config is a loaded and validated configuration. Sections mirror the TOML
// file; Levels, Calendars and Policies are the resolved SLA values built from
// the file and the built-ins. A Config is not modified after Load and is safe
// for concurrent reads.
type Config struct {
	File string // the configuration file as named to Load or Parse

	Store     Store
	SMTP      SMTP
	Mailboxes []Mailbox
	Agents    []Agent
	Teams     []Team // declared teams first, then teams named only by agents
	Customers []Customer
	HTTP      HTTP
	Log       Log
	Desk      Desk
	SLA       SLA
	Triage    Triage
	Digest    Digest

	Levels    helpdesk.Levels          // [triage] levels and change_level
	Calendars map[string]*sla.Calendar // by name: the file's [[calendar]] and the built-ins it does not redefine
	Policies  map[string]*sla.Policy   // by name: the file's [[policy]] and the built-ins it does not redefine

	byAgent   map[string]int // lower-case agent address -> index in Agents
	byAddress map[string]int // lower-case customer address -> index in Customers
	byDomain  map[string]int // lower-case customer domain -> index in Customers
	byMailbox map[string]int // mailbox name -> index in Mailboxes
}

// Store is the [store] section.
type Store struct {
	// Path is the absolute path of the SQLite database. A relative path in
	// the file (or the default) is inside $STATE_DIRECTORY when systemd set
	// it (StateDirectory=), else beside the configuration file.
	Path      string
	RefPrefix string // ticket references are RefPrefix-Number, e.g. HD-1042
	RefStart  int64  // number of the first ticket
}

// Security is how a mail connection is protected.
type Security string

// Connection security modes. None is only accepted towards a loopback host.
const (
	SecurityTLS      Security = "tls"      // implicit TLS from the first byte (RFC 8314)
	SecurityStartTLS Security = "starttls" // plaintext upgraded with STARTTLS (RFC 3207, RFC 3501 §6.2.1)
	SecurityNone     Security = "none"     // no TLS; loopback only
)

// SMTP is the [smtp] section: the server all outgoing mail is submitted to.
type SMTP struct {
	Host     string
	Port     int
	Security Security
	Username string // empty: no authentication
	Password Secret
	Auth     string           // AuthPassword or AuthOAuth2 (SASL XOAUTH2 with a token from OAuth2)
	OAuth2   *OAuth2          // set when Auth is AuthOAuth2
	From     helpdesk.Address // sender of every mail; always has a display name
	Timeout  time.Duration
	HELO     string // name given in EHLO; empty: the library's default
	Batch    int    // maximum mails read from the outbox per round, shared among the connections
	// Connections is how many SMTP sessions send at once when several
	// mails are due (the mails of one ticket always over the same one).
	Connections int
	// RetryMin and RetryMax space the attempts of a mail after temporary
	// failures: RetryMin doubling up to RetryMax, with jitter.
	RetryMin, RetryMax time.Duration
	// Rate limits the mails submitted to the server: at most Rate.N in
	// any Rate.Per; the zero Rate is no limit. Exchange Online takes 30 a
	// minute per mailbox; it is not imposed.
	Rate Rate
	// DailyRecipients limits the recipients the server accepts in any 24
	// hours (a rolling window, as Exchange Online and Gmail count them); 0
	// is no limit. Exchange Online takes 10,000, Google Workspace 2,000.
	DailyRecipients int
}

// Rate is a send rate: at most N mails in any Per. The zero Rate is no
// limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Authentication of a mailbox or of [smtp] (the auth key).
const (
	AuthPassword = "password" // LOGIN / AUTH PLAIN with password or password_file (default)
	AuthOAuth2   = "oauth2"   // SASL bearer token from the oauth2 table
)

// OAuth2 providers (the oauth2 table's provider key).
const (
	ProviderMicrosoft = "microsoft" // Microsoft 365 app-only access: client credentials at the tenant
	ProviderGoogle    = "google"    // Google service account with domain-wide delegation
	ProviderGeneric   = "generic"   // client credentials at token_url with scopes
)

// OAuth2 flows (the oauth2 table's flow key).
const (
	FlowClientCredentials = "client_credentials"
	FlowDevice            = "device"
)

// OAuth2 is a mailbox's (or [smtp]'s) oauth2 table: where its access
// tokens come from.
type OAuth2 struct {
	Provider string // ProviderMicrosoft, ProviderGoogle or ProviderGeneric
	// Flow is FlowClientCredentials (app-only; default) or FlowDevice
	// (delegated: a user signs in once with `helpdeskd oauth login`, and
	// the refresh token is kept in the database); microsoft and generic.
	Flow         string
	DeviceURL    string // the device authorization endpoint; required for generic with FlowDevice
	Tenant       string // Microsoft Entra tenant id or domain (microsoft)
	ClientID     string // the app registration's client id (microsoft, generic)
	ClientSecret Secret // client_secret = "${VAR}" or client_secret_file (microsoft, generic)
	// KeyFile is the service account's JSON key, key_file (google); read
	// again at each token request.
	KeyFile Secret
	// Subject is the user a Google service account acts as; default the
	// mailbox's username.
	Subject  string
	TokenURL string   // the token endpoint; required for generic, optional (national clouds, tests) otherwise
	Scopes   []string // default https://outlook.office365.com/.default (microsoft), https://mail.google.com/ (google)
	// Mechanism forces the IMAP SASL mechanism, "XOAUTH2" or
	// "OAUTHBEARER"; empty: whichever the server offers (OAUTHBEARER
	// first). SMTP always uses XOAUTH2.
	Mechanism string
}

// Processed modes: how a mailbox marks a message it has committed.
const (
	ProcessedFlag = "flag" // set Mailbox.ProcessedFlag on the message
	ProcessedMove = "move" // move the message to Mailbox.ProcessedFolder
)

// Mailbox is one [[mailbox]]: an IMAP folder customers' mail arrives in.
type Mailbox struct {
	Name             string
	Address          string   // lower-case support address, e.g. support@example.com
	Aliases          []string // lower-case other addresses that deliver here
	Host             string
	Port             int
	Security         Security
	Username         string
	Password         Secret
	Auth             string  // AuthPassword or AuthOAuth2 (SASL OAUTHBEARER or XOAUTH2 with a token from OAuth2)
	OAuth2           *OAuth2 // set when Auth is AuthOAuth2
	Folder           string
	Policy           string            // SLA policy of tickets opened here
	Team             string            // team notified of new tickets; may be empty
	DefaultPriority  helpdesk.Priority // priority when triage finds nothing; empty: [triage] default_priority
	IDLE             bool              // use IMAP IDLE (RFC 2177) when the server offers it
	PollInterval     time.Duration
	Processed        string // ProcessedFlag or ProcessedMove
	ProcessedFlag    string // IMAP keyword set on processed messages
	ProcessedFolder  string // folder processed messages are moved to
	QuarantineFolder string // folder for messages that cannot be processed
	MaxMessageSize   int64  // bytes; of a larger message only the header is read, then it goes to QuarantineFolder
	CriticalOnly     bool   // out-of-hours channel: only the most urgent level is handled under Policy
	QueuePolicy      string // policy of the other mail when CriticalOnly
	// SentFolder is where a copy of each mail to a ticket's customer side
	// is APPENDed, for servers that keep none of what is sent through
	// them: "" (off), SentFolderAuto (the folder LIST marks \Sent, RFC
	// 6154) or a folder name.
	SentFolder string
	// IMAP4rev2 lets sessions ENABLE IMAP4rev2 (RFC 9051) when the server
	// lists it; never with Microsoft's hosts, whose rev2 misbehaves.
	IMAP4rev2 bool
}

// SentFolderAuto is the Mailbox.SentFolder that means the folder the
// server marks \Sent.
const SentFolderAuto = "auto"

// Addresses returns the mailbox's address followed by its aliases.
func (m Mailbox) Addresses() []string {
	return append([]string{m.Address}, m.Aliases...)
}

// Agent is one [[agent]]: a member of the support team.
type Agent struct {
	Email   string // lower case
	Name    string
	Team    string
	Manager bool // receives escalations addressed to "managers"
}

// Team is a [[team]], or a team that exists only because agents name it.
type Team struct {
	Name     string
	Address  string // list address receiving the team's notifications instead of each member; may be empty
	Declared bool   // false for a team named only by agents
}

// Customer is one [[customer]]: who a sender is, by address or domain.
type Customer struct {
	Match  []string // lower-case domains ("example.com") and addresses ("a@example.com")
	Plan   string
	Policy string // policy override; empty: the mailbox's policy
	Name   string
}

// HTTP is the [http] section.
type HTTP struct {
	Listen string // host:port of /healthz and /metrics; empty: no HTTP server
	// Board turns on the managers' SLA board (package board) on a listener
	// of its own, BoardListen (default 127.0.0.1:8480, loopback), so that
	// /metrics can be opened to a scraper without the board.
	Board       bool
	BoardListen string
	// BoardURL is the board's address as managers reach it (e.g. through
	// a TLS reverse proxy), the base of the links `helpdeskd board link`
	// prints; default "http://" + BoardListen + "/board".
	BoardURL string
}

// DefaultBoardListen is where the board listens unless [http] board_listen
// says otherwise: loopback only.
const DefaultBoardListen = "127.0.0.1:8480"

// Managers returns the addresses that may see the board: agents with
// manager = true and the addresses a policy's escalation names (such as a
// COO's), lower case.
func (c *Config) Managers() map[string]bool {
	out := map[string]bool{}
	for _, a := range c.Agents {
		if a.Manager {
			out[strings.ToLower(a.Email)] = true
		}
	}
	for _, p := range c.Policies {
		rs := append([]string(nil), p.EscalateTo...)
		for _, st := range p.Ladder {
			rs = append(rs, st.Notify...)
		}
		for _, r := range rs {
			if strings.Contains(r, "@") {
				out[strings.ToLower(r)] = true
			}
		}
	}
	return out
}

// Log holds the settings of the file's log table: verbosity and format.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Desk is the [desk] section: the workflow's settings.
type Desk struct {
	Name              string // shown to customers as "Alice at <Name>"
	ReopenWindow      time.Duration
	MaxAttachmentSize int64 // bytes
	AutoReplyLimit    int   // automatic replies to one sender per AutoReplyWindow
	AutoReplyWindow   time.Duration
	// Trust says which Authentication-Results (RFC 8601) our own servers
	// wrote: their authserv-ids and where in the header they write them.
	Trust           trust.Policy
	MaxCc           int    // people in Cc a ticket takes from mail; a relayed mail goes to no more
	EscalateKeyword string // word in a customer's reply that asks for escalation; empty: off
	TemplatesDir    string // absolute directory of template overrides; empty: embedded templates only
	ShutdownTimeout time.Duration
}

// SLA holds the settings of the file's sla table: when the SLA check runs
// and the policy of mailboxes that name none.
type SLA struct {
	Schedule      string // robfig/cron spec of the SLA check
	DefaultPolicy string // policy of mailboxes that name none
}

// Digest is the [digest] section: the managers' scheduled SLA digest
// mail. It is on by default whenever there is someone to send it to (a
// manager), daily at 08:00 in the zone of the default policy's calendar.
type Digest struct {
	Enabled bool
	// Schedule is DigestDaily, DigestWeekly or a five-field cron spec
	// (read in Location).
	Schedule     string
	Hour, Minute int          // time of day of a daily or weekly digest
	Weekday      time.Weekday // day of a weekly digest
	Location     *time.Location
	// To are the recipients, lower case; empty: the managers (see
	// Config.DigestRecipients).
	To []string
}

// Digest schedules besides a cron spec.
const (
	DigestDaily  = "daily"
	DigestWeekly = "weekly"
)

// DigestRecipients returns who the digest goes to, sorted: [digest] to,
// or else every manager (Config.Managers).
func (c *Config) DigestRecipients() []string {
	if len(c.Digest.To) > 0 {
		return slices.Clone(c.Digest.To)
	}
	return slices.Sorted(maps.Keys(c.Managers()))
}

// Triage is the [triage] section, less the levels (see Config.Levels). Empty
// lists mean "use the triage package's built-in lists".
type Triage struct {
	DefaultPriority helpdesk.Priority
	WideScope       []string
	NarrowScope     []string
	Workaround      []string
	Negation        []string
	Phrases         map[helpdesk.Priority][]string // phrases per level, replacing triage's list for that level; a missing level: triage defaults
	// Model lets triage's learned model name the level within the
	// rubric's bounds (default true; used only with the default levels).
	Model bool
}

// Secret is a password given as "${VAR}" (Env) or password_file (File),
// which may name a systemd credential as "%credentials/NAME" (Credential).
// Its Value is filled only when secrets are resolved. String never shows
// Value, so a Secret can be printed or logged.
type Secret struct {
	Env        string // environment variable name, without ${}
	Credential string // systemd credential name (LoadCredential=NAME:...), for password_file = "%credentials/NAME"
	// File is the absolute path of the file holding the secret; for a
	// credential, NAME in $CREDENTIALS_DIRECTORY, or empty when that is
	// not set.
	File  string
	Value string // the secret; empty unless resolved
}

// IsZero reports whether no secret was configured.
func (s Secret) IsZero() bool { return s.Env == "" && s.File == "" && s.Credential == "" }

// Current returns the secret as it is now: a password_file is read again
// (an operator who fixes the file need not restart the daemon); an
// environment variable cannot change in a running process, so its Value
// stands.
func (s Secret) Current() (string, error) {
	if s.File == "" {
		return s.Value, nil
	}
	b, err := os.ReadFile(s.File)
	if err != nil {
		return "", fmt.Errorf("cannot read password file: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("password file %s is empty", s.File)
	}
	return v, nil
}

// String describes where the secret comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "${" + s.Env + "}"
	case s.Credential != "":
		return "credential " + s.Credential
	case s.File != "":
		return "file " + s.File
	}
	return "none"
}

// GoString implements fmt.GoStringer so that %#v does not show the value.
func (s Secret) GoString() string { return "config.Secret(" + s.String() + ")" }

// LogValue implements slog.LogValuer so that logs do not show the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// CredentialPrefix starts a password_file that names a systemd credential:
// password_file = "%credentials/imap" is the file imap in
// $CREDENTIALS_DIRECTORY, put there by LoadCredential=imap:/path in the
// unit.
const CredentialPrefix = "%credentials/"

// The environment variables systemd sets for a service, which the loader
// reads through Options.LookupEnv.
const (
	// StateDirectoryEnv holds the directories of StateDirectory= (the
	// first is used): a relative [store] path is inside it.
	StateDirectoryEnv = "STATE_DIRECTORY"
	// CredentialsDirectoryEnv holds the directory of LoadCredential=.
	CredentialsDirectoryEnv = "CREDENTIALS_DIRECTORY"
)

// Options control Load and Parse.
type Options struct {
	// ResolveSecrets reads every password from its environment variable or
	// file; one that cannot be read is an error (run, check-config). When
	// false (the commands that only read the database), secrets are
	// checked for form only: those that could not be resolved in this
	// environment are reported as warnings, and no Value is kept.
	ResolveSecrets bool
	// CheckStore makes sure the database can be written where the daemon
	// will write it: the database's directory exists and takes new files,
	// and the database, its -wal, -shm and .lock files open for writing
	// where they exist. A problem is an error on store.path (run,
	// check-config).
	CheckStore bool
	// Lint checks the file alone, nothing of the host it is checked on
	// (check-config -lint, e.g. in a configuration repository's CI):
	// secrets are checked for form only, without warnings, and no password
	// file, templates_dir or database is looked at. It overrides
	// ResolveSecrets and CheckStore.
	Lint bool
	// LookupEnv reads environment variables (the ${VAR} secrets,
	// $STATE_DIRECTORY, $CREDENTIALS_DIRECTORY); nil means os.LookupEnv.
	LookupEnv func(key string) (string, bool)
	// ReadFile reads password files; nil means os.ReadFile limited to 64 KiB.
	ReadFile func(name string) ([]byte, error)
}

// Problem is one error or warning about the configuration, with the file,
// line (0 if unknown) and key path ("mailbox[0].policy") it concerns.
type Problem struct {
	File string
	Line int
	Key  string
	Msg  string
}

// String formats p as "FILE:LINE: KEY: message".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is returned by Load and Parse when the configuration is invalid. It
// lists every problem found, in file order.
type Error struct {
	Problems []Problem
}

// Error formats the problems one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the configuration file at path. Relative paths in
// the file resolve against the file's directory. It returns the warnings
// (problems that do not stop the daemon) even when it fails; a validation
// failure is an *Error listing every problem.
func Load(path string, opts Options) (*Config, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, opts)
}

// Parse validates a configuration held in memory. name is used in problem
// messages and, through its directory, to resolve relative paths.
func Parse(name string, data []byte, opts Options) (*Config, []Problem, error) {
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", name, err)
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = readSecretFile
	}
	if opts.Lint {
		opts.ResolveSecrets, opts.CheckStore = false, false
	}
	l := &loader{file: name, dir: dir, opts: opts}
	cfg := l.load(data, true)
	if len(l.errs) > 0 {
		sortProblems(l.errs)
		return nil, l.warns, &Error{Problems: l.errs}
	}
	return cfg, l.warns, nil
}

// Default returns the built-in configuration: default levels, triage
// settings, the built-in calendars ("24x7", "business") and policy
// ("standard"), and every section's defaults. The sections the operator must
// supply (SMTP host and sender, mailboxes, agents) are empty; the demo mode
// fills them in. The store path resolves against the working directory.
func Default() *Config {
	l := &loader{file: "(defaults)", dir: ".", opts: Options{
		LookupEnv: func(string) (string, bool) { return "", false },
		ReadFile:  func(string) ([]byte, error) { return nil, errors.ErrUnsupported },
	}}
	if d, err := filepath.Abs("."); err == nil {
		l.dir = d
	}
	cfg := l.load(nil, false)
	if len(l.errs) > 0 {
		// The built-ins are fixed text; a problem here is a bug in this package.
		panic((&Error{Problems: l.errs}).Error())
	}
	return cfg
}

// Customer returns the plan and policy override of the sender addr: the
// [[customer]] that lists the address itself wins over one that lists its
// domain. Subdomains do not match their parent domain. Unknown senders get
// empty strings.
func (c *Config) Customer(addr string) (plan, policy string) {
	addr = normAddr(addr)
	if i, ok := c.byAddress[addr]; ok {
		return c.Customers[i].Plan, c.Customers[i].Policy
	}
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		if i, ok := c.byDomain[addr[at+1:]]; ok {
			return c.Customers[i].Plan, c.Customers[i].Policy
		}
	}
	return "", ""
}

// Agent returns the agent with the address addr, compared case-insensitively.
func (c *Config) Agent(addr string) (Agent, bool) {
	if i, ok := c.byAgent[normAddr(addr)]; ok {
		return c.Agents[i], true
	}
	return Agent{}, false
}

// Mailbox returns the mailbox called name.
func (c *Config) Mailbox(name string) (Mailbox, bool) {
	if i, ok := c.byMailbox[name]; ok {
		return c.Mailboxes[i], true
	}
	return Mailbox{}, false
}

// PolicyFor returns the policy of a ticket opened in mailbox by the sender
// customerAddr: the customer's policy override, else the mailbox's policy,
// else the sla table's default_policy. For a critical-only mailbox this is the policy
// of critical mail; the caller picks mb.QueuePolicy for the rest.
func (c *Config) PolicyFor(mb Mailbox, customerAddr string) *sla.Policy {
	if _, name := c.Customer(customerAddr); name != "" {
		if p, ok := c.Policies[name]; ok {
			return p
		}
	}
	if p, ok := c.Policies[mb.Policy]; ok {
		return p
	}
	return c.Policies[c.SLA.DefaultPolicy]
}

// normAddr lower-cases a bare address or the address of "Name <addr>".
func normAddr(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "<\"") {
		if a, err := mail.ParseAddress(s); err == nil {
			s = a.Address
		}
	}
	return strings.ToLower(s)
}
