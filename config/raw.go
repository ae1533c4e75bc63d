package config

import "strings"

// The raw* types are the TOML file as decoded, before validation. Values
// that need parsing (durations, sizes, fractions) are text, so that a bad
// one is reported with the others instead of stopping the decoder. Scalars
// of top-level sections are pre-filled with their defaults (rawDefaults), so
// an absent key keeps its default and an explicit "" can switch a feature
// off; array-of-tables elements get their defaults during validation.

// text is a TOML value kept as written. The decoder hands it the text of a
// string, and the digits of a number or boolean (as encoding.TextUnmarshaler).
type text string

// UnmarshalText implements encoding.TextUnmarshaler. It never fails: the
// value is checked later, with the problems of the rest of the file.
func (t *text) UnmarshalText(b []byte) error {
	*t = text(strings.TrimSpace(string(b)))
	return nil
}

type rawFile struct {
	Store    rawStore      `toml:"store"`
	SMTP     rawSMTP       `toml:"smtp"`
	Mailbox  []rawMailbox  `toml:"mailbox"`
	Agent    []rawAgent    `toml:"agent"`
	Team     []rawTeam     `toml:"team"`
	Customer []rawCustomer `toml:"customer"`
	HTTP     rawHTTP       `toml:"http"`
	Log      rawLog        `toml:"log"`
	Desk     rawDesk       `toml:"desk"`
	SLA      rawSLA        `toml:"sla"`
	Triage   rawTriage     `toml:"triage"`
	Calendar []rawCalendar `toml:"calendar"`
	Policy   []rawPolicy   `toml:"policy"`
	Digest   rawDigest     `toml:"digest"`
}

type rawStore struct {
	Path      string `toml:"path"`
	RefPrefix string `toml:"ref_prefix"`
	RefStart  int64  `toml:"ref_start"`
}

type rawSMTP struct {
	Host         string     `toml:"host"`
	Port         int        `toml:"port"`
	Security     string     `toml:"security"`
	Username     string     `toml:"username"`
	Password     string     `toml:"password"`
	PasswordFile string     `toml:"password_file"`
	Auth         string     `toml:"auth"`
	OAuth2       *rawOAuth2 `toml:"oauth2"`
	From         string     `toml:"from"`
	Timeout      text       `toml:"timeout"`
	HELO         string     `toml:"helo"`
	Batch        int        `toml:"batch"`
	Connections  int        `toml:"connections"`
	RetryMin     text       `toml:"retry_min"`
	RetryMax     text       `toml:"retry_max"`
	// Rate is "N/unit" ("30/m"); 0 or "" is no limit.
	Rate            text `toml:"rate"`
	DailyRecipients int  `toml:"daily_recipients"`
}

type rawMailbox struct {
	Name             string     `toml:"name"`
	Address          string     `toml:"address"`
	Aliases          []string   `toml:"aliases"`
	Host             string     `toml:"host"`
	Port             int        `toml:"port"`
	Security         string     `toml:"security"`
	Username         string     `toml:"username"`
	Password         string     `toml:"password"`
	PasswordFile     string     `toml:"password_file"`
	Auth             string     `toml:"auth"`
	OAuth2           *rawOAuth2 `toml:"oauth2"`
	Folder           string     `toml:"folder"`
	Policy           string     `toml:"policy"`
	Team             string     `toml:"team"`
	DefaultPriority  string     `toml:"default_priority"`
	IDLE             *bool      `toml:"idle"`
	PollInterval     text       `toml:"poll_interval"`
	Processed        string     `toml:"processed"`
	ProcessedFlag    string     `toml:"processed_flag"`
	ProcessedFolder  string     `toml:"processed_folder"`
	QuarantineFolder string     `toml:"quarantine_folder"`
	MaxMessageSize   text       `toml:"max_message_size"`
	CriticalOnly     bool       `toml:"critical_only"`
	QueuePolicy      string     `toml:"queue_policy"`
	SentFolder       string     `toml:"sent_folder"`
	IMAP4rev2        bool       `toml:"imap4rev2"`
}

type rawOAuth2 struct {
	Provider         string   `toml:"provider"`
	Tenant           string   `toml:"tenant"`
	ClientID         string   `toml:"client_id"`
	ClientSecret     string   `toml:"client_secret"`
	ClientSecretFile string   `toml:"client_secret_file"`
	KeyFile          string   `toml:"key_file"`
	Subject          string   `toml:"subject"`
	TokenURL         string   `toml:"token_url"`
	Scopes           []string `toml:"scopes"`
	Mechanism        string   `toml:"mechanism"`
	Flow             string   `toml:"flow"`
	DeviceURL        string   `toml:"device_url"`
}

type rawAgent struct {
	Email   string `toml:"email"`
	Name    string `toml:"name"`
	Team    string `toml:"team"`
	Manager bool   `toml:"manager"`
}

type rawTeam struct {
	Name    string `toml:"name"`
	Address string `toml:"address"`
}

type rawCustomer struct {
	Match  []string `toml:"match"`
	Plan   string   `toml:"plan"`
	Policy string   `toml:"policy"`
	Name   string   `toml:"name"`
}

type rawHTTP struct {
	Listen      string `toml:"listen"`
	Board       bool   `toml:"board"`
	BoardListen string `toml:"board_listen"`
	BoardURL    string `toml:"board_url"`
}

type rawLog struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

type rawDesk struct {
	Name               string   `toml:"name"`
	ReopenWindow       text     `toml:"reopen_window"`
	MaxAttachmentSize  text     `toml:"max_attachment_size"`
	AutoReplyLimit     int      `toml:"auto_reply_limit"`
	AutoReplyWindow    text     `toml:"auto_reply_window"`
	TrustedAuthServIDs []string `toml:"trusted_authserv_ids"`
	TrustUnnamed       bool     `toml:"trust_unnamed_results"`
	ReceivedHops       int      `toml:"received_hops"`
	BoundaryHosts      []string `toml:"boundary_hosts"`
	ResultsBelow       int      `toml:"results_below_boundary"`
	MaxCc              int      `toml:"max_cc"`
	EscalateKeyword    string   `toml:"escalate_keyword"`
	TemplatesDir       string   `toml:"templates_dir"`
	ShutdownTimeout    text     `toml:"shutdown_timeout"`
}

type rawSLA struct {
	Schedule      string `toml:"schedule"`
	DefaultPolicy string `toml:"default_policy"`
}

type rawDigest struct {
	Enabled  *bool    `toml:"enabled"`
	Schedule string   `toml:"schedule"`
	At       string   `toml:"at"`
	Weekday  string   `toml:"weekday"`
	TimeZone string   `toml:"timezone"`
	To       []string `toml:"to"`
}

type rawTriage struct {
	Levels          []string            `toml:"levels"`
	ChangeLevel     string              `toml:"change_level"`
	DefaultPriority string              `toml:"default_priority"`
	WideScope       []string            `toml:"wide_scope"`
	NarrowScope     []string            `toml:"narrow_scope"`
	Workaround      []string            `toml:"workaround"`
	Negation        []string            `toml:"negation"`
	Phrases         map[string][]string `toml:"phrases"`
	Model           *bool               `toml:"model"`
}

type rawCalendar struct {
	Name     string   `toml:"name"`
	TimeZone string   `toml:"timezone"`
	Always   bool     `toml:"always"`
	Holidays []string `toml:"holidays"`
	Closed   []string `toml:"closed"`
	Hours    rawHours `toml:"hours"`
}

type rawHours struct {
	Weekdays []string `toml:"weekdays"`
	Mon      []string `toml:"mon"`
	Tue      []string `toml:"tue"`
	Wed      []string `toml:"wed"`
	Thu      []string `toml:"thu"`
	Fri      []string `toml:"fri"`
	Sat      []string `toml:"sat"`
	Sun      []string `toml:"sun"`
}

type rawPolicy struct {
	Name             string              `toml:"name"`
	Calendar         string              `toml:"calendar"`
	PauseWhenPending *bool               `toml:"pause_when_pending"`
	EscalateTo       []string            `toml:"escalate_to"`
	Required         map[string][]string `toml:"required"`
	Target           []rawTarget         `toml:"target"`
	Escalation       []rawStep           `toml:"escalation"`
}

type rawTarget struct {
	Priority   string `toml:"priority"`
	Plan       string `toml:"plan"`
	Response   text   `toml:"response"`
	Resolution text   `toml:"resolution"`
	Calendar   string `toml:"calendar"`
}

type rawStep struct {
	Clock      string   `toml:"clock"`
	At         text     `toml:"at"`
	Notify     []string `toml:"notify"`
	Priorities []string `toml:"priorities"`
}

// Defaults of the single-table sections. Keys of [[...]] elements default
// in the validation code, next to their checks.
const (
	defaultStorePath       = "helpdesk.db"
	defaultRefPrefix       = "HD"
	defaultRefStart        = 1000
	defaultSMTPTimeout     = "30s"
	defaultSMTPBatch       = 100
	defaultSMTPConnections = 2
	defaultSMTPRetryMin    = "30s"
	defaultSMTPRetryMax    = "1h"
	defaultReopenWindow    = "7d"
	defaultMaxAttachment   = "25MB"
	defaultAutoReplyLimit  = 10
	defaultReceivedHops    = 1
	defaultMaxCc           = 10
	defaultAutoReplyWindow = "1h"
	defaultEscalateKeyword = "escalate"
	defaultShutdownTimeout = "10s"
	defaultSchedule        = "@every 1m"
	defaultDigestSchedule  = "daily"
	defaultDigestAt        = "08:00"
	defaultPolicyName      = "standard"
	defaultCalendarName    = "business"
	defaultChangeLevel     = "change"
	defaultPriority        = "medium"
	defaultLogLevel        = "info"
	defaultLogFormat       = "text"
	defaultFolder          = "INBOX"
	defaultPollInterval    = "1m"
	defaultProcessedFlag   = "$HelpdeskProcessed"
	defaultProcessedFolder = "Processed"
	defaultQuarantine      = "Quarantine"
	defaultMaxMessage      = "50MB"
)

func rawDefaults() rawFile {
	return rawFile{
		Store: rawStore{Path: defaultStorePath, RefPrefix: defaultRefPrefix, RefStart: defaultRefStart},
		SMTP:  rawSMTP{Timeout: defaultSMTPTimeout, Batch: defaultSMTPBatch, Connections: defaultSMTPConnections},
		Log:   rawLog{Level: defaultLogLevel, Format: defaultLogFormat},
		Desk: rawDesk{
			ReopenWindow:      defaultReopenWindow,
			MaxAttachmentSize: defaultMaxAttachment,
			AutoReplyLimit:    defaultAutoReplyLimit,
			AutoReplyWindow:   defaultAutoReplyWindow,
			ReceivedHops:      defaultReceivedHops,
			MaxCc:             defaultMaxCc,
			EscalateKeyword:   defaultEscalateKeyword,
			ShutdownTimeout:   defaultShutdownTimeout,
		},
		SLA:    rawSLA{Schedule: defaultSchedule, DefaultPolicy: defaultPolicyName},
		Digest: rawDigest{Schedule: defaultDigestSchedule},
		Triage: rawTriage{ChangeLevel: defaultChangeLevel, DefaultPriority: defaultPriority},
	}
}
