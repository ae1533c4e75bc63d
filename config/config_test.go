package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
)

const examplePath = "../config.example.toml"

// secretsFrom returns options that resolve secrets from the given
// environment and files instead of the process's.
func secretsFrom(resolve bool, env, files map[string]string) Options {
	return Options{
		ResolveSecrets: resolve,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		ReadFile: func(name string) ([]byte, error) {
			if v, ok := files[name]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
	}
}

// noSecrets resolves nothing: every secret is unresolved.
var noSecrets = secretsFrom(false, nil, nil)

func readMinimal(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/minimal.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustParse(t *testing.T, name, doc string, opts Options) (*Config, []Problem) {
	t.Helper()
	c, warns, err := Parse(name, []byte(doc), opts)
	if err != nil {
		t.Fatalf("Parse %s: %v", name, err)
	}
	return c, warns
}

func TestExampleLoads(t *testing.T) {
	c, warns, err := Load(examplePath, noSecrets)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// The only warnings are the secrets this environment cannot resolve.
	for _, w := range warns {
		if !strings.HasSuffix(w.Key, ".password") && !strings.HasSuffix(w.Key, ".password_file") {
			t.Errorf("unexpected warning: %s", w)
		}
	}
	if got, want := len(warns), 6; got != want {
		t.Errorf("%d warnings, want %d (one per unresolved secret): %v", got, want, warns)
	}
	for _, name := range []string{"prospectsoft", "prospectsoft-out-of-hours", "prosperex", "storeconnect", "claritum", "standard"} {
		if c.Policies[name] == nil {
			t.Errorf("policy %q missing", name)
		}
	}
	for _, name := range []string{"uk-prospectsoft", "uk-claritum", "au-prosperex", "au-storeconnect", "24x7", "business"} {
		if c.Calendars[name] == nil {
			t.Errorf("calendar %q missing", name)
		}
	}
}

// TestExamplePolicies spot-checks that each of the five policies gives the
// targets fixed in POLICIES.md.
func TestExamplePolicies(t *testing.T) {
	c, _, err := Load(examplePath, noSecrets)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		policy     string
		prio       helpdesk.Priority
		plan       string
		ok         bool
		response   string
		resolution string
		calendar   string
	}{
		{"prospectsoft", "critical", "", true, "2 business hours", "none", "uk-prospectsoft"},
		{"prospectsoft", "high", "", true, "1 business day", "none", "uk-prospectsoft"},
		{"prospectsoft", "medium", "", true, "3 business days", "none", "uk-prospectsoft"},
		{"prospectsoft", "low", "", true, "7 business days", "none", "uk-prospectsoft"},
		{"prospectsoft", "change", "", true, "7 business days", "none", "uk-prospectsoft"},
		{"prospectsoft-out-of-hours", "critical", "", true, "2h0m0s", "none", "24x7"},
		{"prospectsoft-out-of-hours", "high", "", false, "", "", ""},
		{"prosperex", "critical", "", true, "24h0m0s", "3 business days", "au-prosperex"},
		{"prosperex", "high", "", true, "24h0m0s", "3 business days", "au-prosperex"},
		{"prosperex", "medium", "", true, "3 business days", "7 business days", "au-prosperex"},
		{"prosperex", "low", "", true, "3 business days", "7 business days", "au-prosperex"},
		{"prosperex", "change", "", true, "3 business days", "none", "au-prosperex"},
		{"storeconnect", "critical", "large", true, "none", "1 business day", "au-storeconnect"},
		{"storeconnect", "critical", "medium", true, "none", "2 business days", "au-storeconnect"},
		{"storeconnect", "critical", "small", true, "none", "3 business days", "au-storeconnect"},
		{"storeconnect", "critical", "", true, "none", "3 business days", "au-storeconnect"},
		{"storeconnect", "critical", "enterprise", true, "none", "3 business days", "au-storeconnect"},
		{"storeconnect", "high", "large", true, "none", "1 week", "au-storeconnect"},
		{"storeconnect", "high", "medium", true, "none", "1 week", "au-storeconnect"},
		{"storeconnect", "high", "small", true, "none", "2 weeks", "au-storeconnect"},
		{"storeconnect", "high", "", true, "none", "2 weeks", "au-storeconnect"},
		{"storeconnect", "medium", "large", false, "", "", ""},
		{"storeconnect", "low", "", false, "", "", ""},
		{"claritum", "critical", "", true, "1h0m0s", "8h0m0s", "24x7"},
		{"claritum", "high", "", true, "3 business hours", "24 business hours", "uk-claritum"},
		{"claritum", "medium", "", true, "24 business hours", "none", "uk-claritum"},
		{"claritum", "low", "", true, "24 business hours", "none", "uk-claritum"},
		{"claritum", "change", "", true, "24 business hours", "none", "uk-claritum"},
		{"standard", "critical", "", true, "1 business hour", "1 business day", "business"},
		{"standard", "medium", "", true, "1 business day", "5 business days", "business"},
		{"standard", "change", "", true, "2 business days", "none", "business"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%s", tt.policy, tt.prio, tt.plan), func(t *testing.T) {
			p := c.Policies[tt.policy]
			r, ok := p.Rule(tt.prio, tt.plan)
			if got, want := ok, tt.ok; got != want {
				t.Fatalf("Rule ok = %v, want %v", got, want)
			}
			if !ok {
				return
			}
			if got, want := r.Response.String(), tt.response; got != want {
				t.Errorf("response = %q, want %q", got, want)
			}
			if got, want := r.Resolution.String(), tt.resolution; got != want {
				t.Errorf("resolution = %q, want %q", got, want)
			}
			if got, want := p.CalendarFor(r).Name(), tt.calendar; got != want {
				t.Errorf("calendar = %q, want %q", got, want)
			}
		})
	}
}

func TestExampleDetails(t *testing.T) {
	c, _, err := Load(examplePath, noSecrets)
	if err != nil {
		t.Fatal(err)
	}
	ladder := func(p *sla.Policy) string {
		var parts []string
		for _, s := range p.Ladder {
			parts = append(parts, fmt.Sprintf("%s@%g:%s", s.Clock, s.At, strings.Join(s.Notify, "+")))
		}
		return strings.Join(parts, " ")
	}
	for _, tt := range []struct{ policy, want string }{
		{"prospectsoft", "response@0.75:assignee+team response@1:managers"},
		{"prospectsoft-out-of-hours", "response@0.5:team response@1:managers"},
		{"prosperex", "resolution@0.75:assignee+team resolution@1:managers response@1:team+managers resolution@1.5:coo@prosperex.example"},
		{"storeconnect", "resolution@0.75:assignee+team resolution@1:managers"},
		{"claritum", "response@0.75:assignee response@1:team+managers resolution@1:managers"},
		{"standard", "response@0.75:assignee+team response@1:managers resolution@1:managers"},
	} {
		if got := ladder(c.Policies[tt.policy]); got != tt.want {
			t.Errorf("%s ladder = %q, want %q", tt.policy, got, tt.want)
		}
	}
	if got, want := strings.Join(c.Policies["prosperex"].EscalateTo, ","), "coo@prosperex.example"; got != want {
		t.Errorf("prosperex escalate_to = %q, want %q", got, want)
	}
	if got, want := strings.Join(c.Policies["prospectsoft"].Required[helpdesk.Critical], ","), "service,impact,start_time,repro_steps,error_text"; got != want {
		t.Errorf("prospectsoft critical required = %q, want %q", got, want)
	}
	if got, want := len(c.Policies["prospectsoft"].Required[helpdesk.Low]), 0; got != want {
		t.Errorf("prospectsoft low required %d fields, want %d", got, want)
	}
	if got, want := strings.Join(c.Policies["prospectsoft-out-of-hours"].Required[helpdesk.Critical], ","), "service,start_time,error_text"; got != want {
		t.Errorf("out-of-hours critical required = %q, want %q", got, want)
	}
	ooh, ok := c.Mailbox("prospectsoft-out-of-hours")
	if !ok {
		t.Fatal("out-of-hours mailbox missing")
	}
	if !ooh.CriticalOnly || ooh.QueuePolicy != "prospectsoft" || ooh.Policy != "prospectsoft-out-of-hours" {
		t.Errorf("out-of-hours mailbox = %+v", ooh)
	}
	for _, tt := range []struct {
		calendar, zone string
		always         bool
	}{
		{"uk-prospectsoft", "Europe/London", false},
		{"uk-claritum", "Europe/London", false},
		{"au-prosperex", "Australia/Sydney", false},
		{"au-storeconnect", "Australia/Sydney", false},
		{"24x7", "UTC", true},
		{"business", "UTC", false},
	} {
		cal := c.Calendars[tt.calendar]
		if got, want := cal.Location().String(), tt.zone; got != want {
			t.Errorf("%s zone = %q, want %q", tt.calendar, got, want)
		}
		if got, want := cal.Always(), tt.always; got != want {
			t.Errorf("%s always = %v, want %v", tt.calendar, got, want)
		}
	}
	sc, _ := c.Mailbox("storeconnect")
	for _, tt := range []struct{ from, plan, policy string }{
		{"buyer@bigstore.example", "large", "storeconnect"},
		{"ops@midshop.example", "medium", "storeconnect"},
		{"owner@tinyshop.example", "small", "storeconnect"},
		{"someone@unknown.example", "", "storeconnect"},
		{"jo@print-partner.example", "", "claritum"},
	} {
		plan, _ := c.Customer(tt.from)
		if got, want := plan, tt.plan; got != want {
			t.Errorf("Customer(%s) plan = %q, want %q", tt.from, got, want)
		}
		if got, want := c.PolicyFor(sc, tt.from).Name, tt.policy; got != want {
			t.Errorf("PolicyFor(storeconnect, %s) = %q, want %q", tt.from, got, want)
		}
	}
	managers := 0
	for _, a := range c.Agents {
		if a.Manager {
			managers++
		}
	}
	if got, want := managers, 4; got != want {
		t.Errorf("%d managers, want one per vendor team (%d)", got, want)
	}
}

func TestExampleResolvesSecrets(t *testing.T) {
	opts := secretsFrom(true,
		map[string]string{"HELPDESK_SMTP_PASSWORD": "smtp-pw", "HELPDESK_IMAP_PROSPEREX": "pex-pw"},
		map[string]string{
			"/run/secrets/imap-prospectsoft":     "ps-pw\n",
			"/run/secrets/imap-prospectsoft-ooh": "ooh-pw\r\n",
			"/run/secrets/imap-storeconnect":     "sc-pw",
			"/run/secrets/imap-claritum":         "cl-pw\n",
		})
	c, warns, err := Load(examplePath, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if got, want := c.SMTP.Password.Value, "smtp-pw"; got != want {
		t.Errorf("smtp password = %q, want %q", got, want)
	}
	for _, tt := range []struct{ mailbox, want string }{
		{"prospectsoft", "ps-pw"}, {"prospectsoft-out-of-hours", "ooh-pw"}, {"prosperex", "pex-pw"},
		{"storeconnect", "sc-pw"}, {"claritum", "cl-pw"},
	} {
		mb, _ := c.Mailbox(tt.mailbox)
		if got := mb.Password.Value; got != tt.want {
			t.Errorf("%s password = %q, want %q", tt.mailbox, got, tt.want)
		}
	}
	// Printing or logging the configuration never shows a secret.
	for _, s := range []string{fmt.Sprintf("%v", c.SMTP), fmt.Sprintf("%+v", c.Mailboxes), fmt.Sprintf("%#v", c.SMTP.Password)} {
		if strings.Contains(s, "smtp-pw") || strings.Contains(s, "ps-pw") {
			t.Errorf("secret shown in %q", s)
		}
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "password", c.SMTP.Password)
	if strings.Contains(b.String(), "smtp-pw") {
		t.Errorf("secret logged: %s", b.String())
	}
}

func TestMinimalDefaults(t *testing.T) {
	c, warns := mustParse(t, "/etc/helpdesk/helpdesk.toml", readMinimal(t), noSecrets)
	if got, want := len(warns), 3; got != want {
		// two unresolved secrets, and no manager for "managers" escalations
		t.Errorf("%d warnings, want %d: %v", got, want, warns)
	}
	mb := c.Mailboxes[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"store.path", c.Store.Path, "/etc/helpdesk/helpdesk.db"},
		{"store.ref_prefix", c.Store.RefPrefix, "HD"},
		{"store.ref_start", c.Store.RefStart, int64(1000)},
		{"smtp.port", c.SMTP.Port, 587},
		{"smtp.security", c.SMTP.Security, SecurityStartTLS},
		{"smtp.from", c.SMTP.From, helpdesk.Address{Name: "Example Support", Email: "support@example.com"}},
		{"smtp.timeout", c.SMTP.Timeout, 30 * time.Second},
		{"smtp.batch", c.SMTP.Batch, 100},
		{"smtp.connections", c.SMTP.Connections, 2},
		{"smtp.retry_min", c.SMTP.RetryMin, 30 * time.Second},
		{"smtp.retry_max", c.SMTP.RetryMax, time.Hour},
		{"smtp.rate", c.SMTP.Rate, Rate{}},
		{"smtp.daily_recipients", c.SMTP.DailyRecipients, 0},
		{"smtp.password", c.SMTP.Password.String(), "${HELPDESK_SMTP_PASSWORD}"},
		{"mailbox.port", mb.Port, 993},
		{"mailbox.folder", mb.Folder, "INBOX"},
		{"mailbox.idle", mb.IDLE, true},
		{"mailbox.poll_interval", mb.PollInterval, time.Minute},
		{"mailbox.processed", mb.Processed, ProcessedFlag},
		{"mailbox.processed_flag", mb.ProcessedFlag, "$HelpdeskProcessed"},
		{"mailbox.processed_folder", mb.ProcessedFolder, "Processed"},
		{"mailbox.quarantine_folder", mb.QuarantineFolder, "Quarantine"},
		{"mailbox.max_message_size", mb.MaxMessageSize, int64(50 << 20)},
		{"mailbox.password", mb.Password.File, "/run/secrets/imap"},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8025"},
		{"http.board", c.HTTP.Board, false},
		{"http.board_listen", c.HTTP.BoardListen, "127.0.0.1:8480"},
		{"http.board_url", c.HTTP.BoardURL, "http://127.0.0.1:8480/board"},
		{"log.level", c.Log.Level, slog.LevelInfo},
		{"log.format", c.Log.Format, "text"},
		{"desk.name", c.Desk.Name, "Example Support"},
		{"desk.reopen_window", c.Desk.ReopenWindow, 7 * 24 * time.Hour},
		{"desk.max_attachment_size", c.Desk.MaxAttachmentSize, int64(25 << 20)},
		{"desk.auto_reply_limit", c.Desk.AutoReplyLimit, 10},
		{"desk.max_cc", c.Desk.MaxCc, 10},
		{"desk.received_hops", c.Desk.Trust.Hops, 1},
		{"desk.auto_reply_window", c.Desk.AutoReplyWindow, time.Hour},
		{"desk.escalate_keyword", c.Desk.EscalateKeyword, "escalate"},
		{"desk.templates_dir", c.Desk.TemplatesDir, ""},
		{"desk.shutdown_timeout", c.Desk.ShutdownTimeout, 10 * time.Second},
		{"sla.schedule", c.SLA.Schedule, "@every 1m"},
		{"sla.default_policy", c.SLA.DefaultPolicy, "standard"},
		{"levels", fmt.Sprint(c.Levels.All()), "[critical high medium low change]"},
		{"triage.default_priority", c.Triage.DefaultPriority, helpdesk.Medium},
		{"triage.wide_scope", len(c.Triage.WideScope), 0},
		{"teams", fmt.Sprintf("%+v", c.Teams), "[{Name:first-line Address: Declared:false}]"},
		{"calendars", len(c.Calendars), 2},
		{"policy", c.PolicyFor(mb, "x@y.example").Name, "standard"},
		{"standard.calendar", c.Policies["standard"].Calendar.Name(), "business"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// problemsOf parses doc and returns its problems as strings.
func problemsOf(t *testing.T, doc string, opts Options) []string {
	t.Helper()
	_, _, err := Parse("helpdesk.toml", []byte(doc), opts)
	if err == nil {
		return nil
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T, not *Error: %v", err, err)
	}
	var out []string
	for _, p := range ce.Problems {
		out = append(out, p.String())
	}
	return out
}

// TestRejections changes one thing in the minimal configuration and checks
// that exactly the expected problems are reported, each with its file, line
// and key. want entries are "FILE:LINE: KEY: " prefixes followed, after |,
// by a part of the message.
func TestRejections(t *testing.T) {
	resolve := secretsFrom(true, map[string]string{"HELPDESK_SMTP_PASSWORD": "pw"}, map[string]string{"/run/secrets/imap": "pw"})
	tests := []struct {
		name     string
		old, new string
		opts     Options
		want     []string
	}{
		{"misspelt key", `security = "starttls"`, `securty = "starttls"`, noSecrets,
			[]string{`helpdesk.toml:7: smtp.securty: |unknown key "securty" (did you mean "security"?)`}},
		{"sent folder is the intake folder", `folder = "INBOX"`, "folder = \"INBOX\"\nsent_folder = \"inbox\"", noSecrets,
			[]string{`helpdesk.toml:21: mailbox[0].sent_folder: |"inbox" is the folder the desk reads`}},
		{"sent folder is the quarantine folder", `folder = "INBOX"`, "folder = \"INBOX\"\nquarantine_folder = \"Junk\"\nsent_folder = \"Junk\"", noSecrets,
			[]string{`helpdesk.toml:22: mailbox[0].sent_folder: |"Junk" is the quarantine folder`}},
		{"sent folder of the wrong type", `folder = "INBOX"`, "folder = \"INBOX\"\nsent_folder = true", noSecrets,
			[]string{`helpdesk.toml:21: mailbox[0].sent_folder: |`}},
		{"imap4rev2 against Microsoft 365", `host = "imap.example.com"`, "host = \"outlook.office365.com\"\nimap4rev2 = true", noSecrets,
			[]string{`helpdesk.toml:16: mailbox[0].imap4rev2: |Microsoft 365 (outlook.office365.com) lists IMAP4rev2 but its IMAP4rev2 misbehaves`}},
		{"misspelt key in array table", `folder = "INBOX"`, `fodler = "INBOX"`, noSecrets,
			[]string{`helpdesk.toml:20: mailbox[0].fodler: |did you mean "folder"?`}},
		{"unknown section", "[http]", "[htp]", noSecrets,
			[]string{`helpdesk.toml:28: htp: |unknown key "htp"`}},
		{"bad duration", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\ntimeout = \"30 secs\"", noSecrets,
			[]string{`helpdesk.toml:11: smtp.timeout: |duration "30 secs"`}},
		{"duration of the wrong type", `folder = "INBOX"`, `poll_interval = true`, noSecrets,
			[]string{`helpdesk.toml:20: mailbox[0].poll_interval: |duration "true"`}},
		{"unknown time zone", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[calendar]]\nname = \"x\"\ntimezone = \"Europe/Londn\"\nhours.weekdays = [\"09:00-17:00\"]", noSecrets,
			[]string{`helpdesk.toml:32: calendar[0].timezone: |unknown time zone "Europe/Londn"`}},
		{"missing policy", `policy = "standard"`, `policy = "gold"`, noSecrets,
			[]string{`helpdesk.toml:21: mailbox[0].policy: |policy "gold" is not defined`}},
		{"bad port", `port = 993`, `port = 99300`, noSecrets,
			[]string{`helpdesk.toml:16: mailbox[0].port: |99300: must be between 1 and 65535`}},
		{"too many smtp connections", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\nconnections = 40", noSecrets,
			[]string{`helpdesk.toml:11: smtp.connections: |40: must be between 1 and 16`}},
		{"rate without a period", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\nrate = \"30\"", noSecrets,
			[]string{`helpdesk.toml:11: smtp.rate: |rate "30": want mails per period, e.g. "30/m"`}},
		{"rate of an unknown period", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\nrate = \"30/fortnight\"", noSecrets,
			[]string{`helpdesk.toml:11: smtp.rate: |the period must be s, m, h, d or a duration`}},
		{"negative daily recipients", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\nrate = \"30/m\"\ndaily_recipients = -1", noSecrets,
			[]string{`helpdesk.toml:12: smtp.daily_recipients: |-1: must be between 0 (no limit) and 10000000`}},
		{"daily recipients of the wrong type", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\ndaily_recipients = \"10k\"", noSecrets,
			[]string{`helpdesk.toml:11: smtp.daily_recipients: |want a whole number, not a string`}},
		{"retry_max below retry_min", `from = "Example Support <support@example.com>"`, "from = \"Example Support <support@example.com>\"\nretry_min = \"5m\"\nretry_max = \"1m\"", noSecrets,
			[]string{`helpdesk.toml:12: smtp.retry_max: |1m0s: must be at least retry_min (5m0s)`}},
		{"port of the wrong type", `port = 587`, `port = "587"`, noSecrets,
			[]string{`helpdesk.toml:6: smtp.port: |want a whole number, not a string`}},
		{"bad address", `address = "support@example.com"`, `address = "support.example.com"`, noSecrets,
			[]string{`helpdesk.toml:14: mailbox[0].address: |"support.example.com" is not a mail address`}},
		{"from without display name", `from = "Example Support <support@example.com>"`, `from = "support@example.com"`, noSecrets,
			[]string{`helpdesk.toml:10: smtp.from: |has no display name`}},
		{"bad target", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[policy]]\nname = \"p\"\n[[policy.target]]\npriority = \"high\"\nresponse = \"3 fortnights\"", noSecrets,
			[]string{`helpdesk.toml:34: policy[0].target[0].response: |unknown unit "fortnights"`}},
		{"unknown level in target", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[policy]]\nname = \"p\"\n[[policy.target]]\npriority = \"urgent\"\nresponse = \"2h\"", noSecrets,
			[]string{`helpdesk.toml:33: policy[0].target[0].priority: |unknown level "urgent" (levels: critical, high, medium, low, change)`}},
		{"unknown holiday region", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[calendar]]\nname = \"x\"\nholidays = [\n  \"gb\",\n  \"uk\",\n]\nhours.weekdays = [\"09:00-17:00\"]", noSecrets,
			[]string{`helpdesk.toml:34: calendar[0].holidays[1]: |unknown holiday region "uk"`}},
		{"overlapping hours", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[calendar]]\nname = \"x\"\n[calendar.hours]\nweekdays = [\"09:00-17:00\"]\nmon = [\"08:00-12:00\", \"11:30-17:00\"]", noSecrets,
			[]string{`helpdesk.toml:34: calendar[0].hours.mon: |hours "08:00-12:00" and "11:30-17:00" overlap`}},
		{"overlapping hours in an inline table", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[calendar]]\nname = \"x\"\nhours = { weekdays = [\"13:00-17:00\", \"09:00-13:30\"] }", noSecrets,
			[]string{`helpdesk.toml:32: calendar[0].hours.weekdays: |overlap`}},
		{"literal password", `password = "${HELPDESK_SMTP_PASSWORD}"`, `password = "hunter2"`, noSecrets,
			[]string{`helpdesk.toml:9: smtp.password: |a literal password is not allowed`}},
		{"missing env var", `password = "${HELPDESK_SMTP_PASSWORD}"`, `password = "${NOT_SET_ANYWHERE}"`, resolve,
			[]string{`helpdesk.toml:9: smtp.password: |environment variable NOT_SET_ANYWHERE is not set`}},
		{"unreadable password file", `password_file = "/run/secrets/imap"`, `password_file = "/run/secrets/imap2"`, resolve,
			[]string{`helpdesk.toml:19: mailbox[0].password_file: |cannot read password file`}},
		{"password and password_file", `password_file = "/run/secrets/imap"`, "password_file = \"/run/secrets/imap\"\npassword = \"${X}\"", noSecrets,
			[]string{`helpdesk.toml:19: mailbox[0].password_file: |not both`}},
		{"security none to a remote host", `security = "tls"`, `security = "none"`, noSecrets,
			[]string{`helpdesk.toml:17: mailbox[0].security: |allowed only to a loopback host`}},
		{"unknown security", `security = "starttls"`, `security = "ssl"`, noSecrets,
			[]string{`helpdesk.toml:7: smtp.security: |want "tls", "starttls" or "none"`}},
		{"undefined team", `policy = "standard"`, "policy = \"standard\"\nteam = \"second-line\"", noSecrets,
			[]string{`helpdesk.toml:22: mailbox[0].team: |team "second-line" is not defined`}},
		{"critical_only without queue_policy", `policy = "standard"`, "policy = \"standard\"\ncritical_only = true", noSecrets,
			[]string{`helpdesk.toml:12: mailbox[0].queue_policy: |required when critical_only = true`}},
		{"customer naming a missing policy", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[customer]]\nmatch = [\"acme.example\"]\npolicy = \"gold\"", noSecrets,
			[]string{`helpdesk.toml:32: customer[0].policy: |policy "gold" is not defined`}},
		{"required field unknown", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[policy]]\nname = \"p\"\n[policy.required]\ncritical = [\"start_time\", \"stacktrace\"]", noSecrets,
			[]string{`helpdesk.toml:33: policy[0].required.critical[1]: |unknown field "stacktrace"`}},
		{"broken calendar reported once", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[calendar]]\nname = \"uk\"\ntimezone = \"Europe/Londn\"\nhours.weekdays = [\"09:00-17:00\"]\n[[policy]]\nname = \"p\"\ncalendar = \"uk\"\n[[customer]]\nmatch = [\"acme.example\"]\npolicy = \"p\"", noSecrets,
			[]string{`helpdesk.toml:32: calendar[0].timezone: |unknown time zone`}},
		{"policy with a missing calendar", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[policy]]\nname = \"p\"\ncalendar = \"uk\"", noSecrets,
			[]string{`helpdesk.toml:32: policy[0].calendar: |calendar "uk" is not defined`}},
		{"bad cron schedule", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[sla]\nschedule = \"every minute\"", noSecrets,
			[]string{`helpdesk.toml:31: sla.schedule: |"every minute"`}},
		{"cron TZ prefix without schedule", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[sla]\nschedule = \"TZ=UTC\"", noSecrets,
			[]string{`helpdesk.toml:31: sla.schedule: |TZ= prefix`}},
		{"bad listen address", `listen = "127.0.0.1:8025"`, `listen = "8025"`, noSecrets,
			[]string{`helpdesk.toml:29: http.listen: |want host:port`}},
		{"board_url with a query", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\nboard = true\nboard_url = \"https://desk.example.com/board?x=1\"", noSecrets,
			[]string{`helpdesk.toml:31: http.board_url: |want an http or https URL without a query`}},
		{"board on the metrics listener", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\nboard = true\nboard_listen = \"127.0.0.1:8025\"", noSecrets,
			[]string{`helpdesk.toml:31: http.board_listen: |needs a listener of its own`}},
		{"agent listed twice", `team = "first-line"`, "team = \"first-line\"\n[[agent]]\nemail = \"ALICE@example.com\"", noSecrets,
			[]string{`helpdesk.toml:28: agent[1].email: |already declared`}},
		{"customer domain listed twice", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[customer]]\nmatch = [\"acme.example\"]\n[[customer]]\nmatch = [\"Acme.example\"]", noSecrets,
			[]string{`helpdesk.toml:33: customer[1].match[0]: |already matched by customer[0]`}},
		{"no mailbox", "[[mailbox]]", "[[box]]", noSecrets,
			[]string{`helpdesk.toml: mailbox: |at least one [[mailbox]]`, `helpdesk.toml:12: box: |unknown key "box"`}},
		{"unknown key in an inline table", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[[policy]]\nname = \"p\"\ntarget = [\n  { priority = \"high\", respons = \"2h\" },\n]", noSecrets,
			[]string{`helpdesk.toml:33: policy[0].target[0].respons: |unknown key "respons" (did you mean "response"?)`}},
		{"key defined twice", `port = 587`, "port = 587\nport = 25", noSecrets,
			[]string{`helpdesk.toml:7: smtp.port: |already defined`}},
		{"table of the wrong type", "[http]", "[[http]]", noSecrets,
			[]string{`helpdesk.toml:28: http: |want a table, not an array of tables`}},
		{"received_hops out of range", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[desk]\nreceived_hops = 0", noSecrets,
			[]string{`helpdesk.toml:31: desk.received_hops: |must be from 1 to 50`}},
		{"bad boundary host pattern", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[desk]\nboundary_hosts = [\"mx.example.com\", \"[bad\"]", noSecrets,
			[]string{`helpdesk.toml:31: desk.boundary_hosts[1]: |not a host name pattern`}},
		{"empty authserv-id", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[desk]\ntrusted_authserv_ids = [\"\"]", noSecrets,
			[]string{`helpdesk.toml:31: desk.trusted_authserv_ids[0]: |trust_unnamed_results`}},
		{"unnamed results below the boundary", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[desk]\ntrust_unnamed_results = true\nresults_below_boundary = 1", noSecrets,
			[]string{`helpdesk.toml:32: desk.results_below_boundary: |must be 0 with trust_unnamed_results`}},
		{"max_cc out of range", `listen = "127.0.0.1:8025"`, "listen = \"127.0.0.1:8025\"\n[desk]\nmax_cc = 1000", noSecrets,
			[]string{`helpdesk.toml:31: desk.max_cc: |must be from 1 to 100`}},
		{"syntax error", `port = 993`, `port = = 993`, noSecrets,
			[]string{`helpdesk.toml:16: |`}},
	}
	base := readMinimal(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("minimal.toml has no %q", tt.old)
			}
			doc := strings.Replace(base, tt.old, tt.new, 1)
			got := problemsOf(t, doc, tt.opts)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				prefix, part, _ := strings.Cut(w, "|")
				if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i][len(prefix):], part) {
					t.Errorf("problem %d = %q\nwant prefix %q and %q", i, got[i], prefix, part)
				}
			}
		})
	}
}

// TestAllProblemsAtOnce checks that one file with many problems, including
// type errors, reports every one of them in line order.
func TestAllProblemsAtOnce(t *testing.T) {
	data, err := os.ReadFile("testdata/bad.toml")
	if err != nil {
		t.Fatal(err)
	}
	got := problemsOf(t, string(data), noSecrets)
	want := []string{
		"helpdesk.toml:3: store.ref_prefix: ",
		"helpdesk.toml:6: smtp.host: ",
		"helpdesk.toml:7: smtp.port: ",
		"helpdesk.toml:8: smtp.securty: ",
		"helpdesk.toml:9: smtp.password: ",
		"helpdesk.toml:10: smtp.from: ",
		"helpdesk.toml:11: smtp.timeout: ",
		"helpdesk.toml:14: mailbox[0].name: ",
		"helpdesk.toml:15: mailbox[0].address: ",
		"helpdesk.toml:17: mailbox[0].security: ",
		"helpdesk.toml:18: mailbox[0].password: ",
		"helpdesk.toml:19: mailbox[0].policy: ",
		"helpdesk.toml:20: mailbox[0].poll_interval: ",
		"helpdesk.toml:21: mailbox[0].default_priority: ",
		"helpdesk.toml:24: mailbox[1].name: ",
		"helpdesk.toml:25: mailbox[1].address: ",
		"helpdesk.toml:31: agent[0].email: ",
		"helpdesk.toml:35: calendar[0].timezone: ",
		"helpdesk.toml:36: calendar[0].holidays[1]: ",
		"helpdesk.toml:37: calendar[0].closed[0]: ",
		"helpdesk.toml:39: calendar[0].hours.weekdays: ",
		"helpdesk.toml:44: policy[0].calendar: ",
		"helpdesk.toml:47: policy[0].target[0].priority: ",
		"helpdesk.toml:48: policy[0].target[0].response: ",
		"helpdesk.toml:51: policy[0].escalation[0].clock: ",
		"helpdesk.toml:52: policy[0].escalation[0].at: ",
		"helpdesk.toml:53: policy[0].escalation[0].notify[1]: ",
		"helpdesk.toml:56: triage.levels: ",
		"helpdesk.toml:58: desk.max_attachment_size: ",
		"helpdesk.toml:59: desk.auto_reply_limit: ",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestSecretsCheckOnly(t *testing.T) {
	doc := readMinimal(t)
	// Check mode with everything available: no warnings, but no values kept.
	opts := secretsFrom(false, map[string]string{"HELPDESK_SMTP_PASSWORD": "pw"}, map[string]string{"/run/secrets/imap": "pw2\n"})
	c, warns := mustParse(t, "helpdesk.toml", doc, opts)
	for _, w := range warns {
		if strings.Contains(w.Key, "password") {
			t.Errorf("unexpected secret warning: %s", w)
		}
	}
	if c.SMTP.Password.Value != "" || c.Mailboxes[0].Password.Value != "" {
		t.Error("check mode kept secret values")
	}
	// Check mode with nothing available: warnings with file:line:key.
	_, warns = mustParse(t, "helpdesk.toml", doc, noSecrets)
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		"helpdesk.toml:9: smtp.password: environment variable HELPDESK_SMTP_PASSWORD is not set",
		"helpdesk.toml:19: mailbox[0].password_file: cannot read password file: open /run/secrets/imap: file does not exist",
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("warning %q missing from %q", w, got)
		}
	}
	// Resolve mode: values are read; an empty secret is an error.
	opts.ResolveSecrets = true
	c, _ = mustParse(t, "helpdesk.toml", doc, opts)
	if got, want := c.Mailboxes[0].Password.Value, "pw2"; got != want {
		t.Errorf("mailbox password = %q, want %q", got, want)
	}
	empty := secretsFrom(true, map[string]string{"HELPDESK_SMTP_PASSWORD": ""}, map[string]string{"/run/secrets/imap": "\n"})
	probs := problemsOf(t, doc, empty)
	if got, want := strings.Join(probs, "\n"), "helpdesk.toml:9: smtp.password: environment variable HELPDESK_SMTP_PASSWORD is empty\nhelpdesk.toml:19: mailbox[0].password_file: password file /run/secrets/imap is empty"; got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readSecretFile(small); err != nil || string(b) != "s3cret\n" {
		t.Errorf("readSecretFile(small) = %q, %v", b, err)
	}
	if _, err := readSecretFile(big); err == nil {
		t.Error("readSecretFile(big) succeeded")
	}
	if _, err := readSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readSecretFile(missing) = %v, want ErrNotExist", err)
	}
}

func TestCustomerAndAgentLookup(t *testing.T) {
	doc := readMinimal(t) + `
[[customer]]
match = ["acme.example", "boss@acme.example"]
plan = "gold"
[[customer]]
match = ["CFO@Acme.example"]
plan = "platinum"
policy = "vip"
[[customer]]
match = ["sub.acme.example"]
plan = "silver"

[[policy]]
name = "vip"
calendar = "24x7"
[[policy.target]]
priority = "critical"
plan = "platinum"
response = "30m"
`
	c, warns := mustParse(t, "helpdesk.toml", doc, noSecrets)
	var planWarns int
	for _, w := range warns {
		if strings.HasSuffix(w.Key, ".plan") {
			planWarns++
		}
	}
	if got, want := planWarns, 2; got != want { // gold and silver are no policy's plans
		t.Errorf("%d plan warnings, want %d: %v", got, want, warns)
	}
	for _, tt := range []struct{ addr, plan, policy string }{
		{"someone@acme.example", "gold", ""},
		{"Someone@ACME.example", "gold", ""},
		{"boss@acme.example", "gold", ""},
		{"cfo@acme.example", "platinum", "vip"},
		{"Jane CFO <cfo@acme.example>", "platinum", "vip"},
		{"x@sub.acme.example", "silver", ""},
		{"x@deep.sub.acme.example", "", ""},
		{"x@notacme.example", "", ""},
		{"not-an-address", "", ""},
	} {
		plan, policy := c.Customer(tt.addr)
		if plan != tt.plan || policy != tt.policy {
			t.Errorf("Customer(%q) = %q, %q; want %q, %q", tt.addr, plan, policy, tt.plan, tt.policy)
		}
	}
	mb := c.Mailboxes[0]
	if got, want := c.PolicyFor(mb, "cfo@acme.example").Name, "vip"; got != want {
		t.Errorf("PolicyFor(cfo) = %q, want %q", got, want)
	}
	if got, want := c.PolicyFor(mb, "someone@acme.example").Name, "standard"; got != want {
		t.Errorf("PolicyFor(someone) = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		addr string
		ok   bool
	}{{"alice@example.com", true}, {"ALICE@Example.COM", true}, {"Alice <alice@example.com>", true}, {"bob@example.com", false}} {
		a, ok := c.Agent(tt.addr)
		if ok != tt.ok || (ok && a.Name != "Alice") {
			t.Errorf("Agent(%q) = %+v, %v; want ok=%v", tt.addr, a, ok, tt.ok)
		}
	}
}

func TestBuiltinsOverriddenByFile(t *testing.T) {
	doc := readMinimal(t) + `
[[calendar]]
name = "business"
timezone = "Europe/Paris"
hours.weekdays = ["08:00-18:00"]
[[policy]]
name = "standard"
[[policy.target]]
priority = "critical"
response = "15m"
`
	c, _ := mustParse(t, "helpdesk.toml", doc, noSecrets)
	if got, want := c.Calendars["business"].Location().String(), "Europe/Paris"; got != want {
		t.Errorf("business zone = %q, want %q", got, want)
	}
	p := c.Policies["standard"]
	if got, want := p.Calendar.Location().String(), "Europe/Paris"; got != want {
		t.Errorf("standard's calendar zone = %q, want %q", got, want)
	}
	if got, want := len(p.Rules), 1; got != want {
		t.Errorf("standard has %d rules, want %d", got, want)
	}
	if _, ok := p.Rule(helpdesk.High, ""); ok {
		t.Error("the file's standard policy kept a built-in rule")
	}
}

// TestPolicyDefaults checks that a policy without [policy.required] or
// [[policy.escalation]] gets the same lists as the built-in standard
// policy, and that "escalation = []" means no ladder.
func TestPolicyDefaults(t *testing.T) {
	doc := readMinimal(t) + `
[[policy]]
name = "bare"
[[policy]]
name = "quiet"
escalation = []
pause_when_pending = false
[policy.required]
`
	c, _ := mustParse(t, "helpdesk.toml", doc, noSecrets)
	bare, std, quiet := c.Policies["bare"], c.Policies["standard"], c.Policies["quiet"]
	if got, want := fmt.Sprint(bare.Required), fmt.Sprint(std.Required); got != want {
		t.Errorf("default required = %s, want standard's %s", got, want)
	}
	if got, want := fmt.Sprint(bare.Ladder), fmt.Sprint(std.Ladder); got != want {
		t.Errorf("default ladder = %s, want standard's %s", got, want)
	}
	if got, want := fmt.Sprint(bare.EscalateTo), "[managers]"; got != want {
		t.Errorf("default escalate_to = %s, want %s", got, want)
	}
	if !bare.PauseWhenPending || quiet.PauseWhenPending {
		t.Errorf("pause_when_pending: bare %v (want true), quiet %v (want false)", bare.PauseWhenPending, quiet.PauseWhenPending)
	}
	if got, want := len(quiet.Ladder), 0; got != want {
		t.Errorf("escalation = [] gave %d steps, want %d", got, want)
	}
	if got, want := len(quiet.Required), 0; got != want {
		t.Errorf("empty [policy.required] gave %d levels, want %d", got, want)
	}
}

func TestCustomLevels(t *testing.T) {
	doc := readMinimal(t) + `
[triage]
levels = ["p1", "p2", "p3"]
change_level = ""
default_priority = "p2"
[triage.phrases]
p1 = ["everything is on fire"]

[[policy]]
name = "tiers"
[policy.required]
p1 = ["impact"]
[[policy.target]]
priority = "p1"
response = "30m"
`
	c, _ := mustParse(t, "helpdesk.toml", doc, noSecrets)
	if got, want := fmt.Sprint(c.Levels.All()), "[p1 p2 p3]"; got != want {
		t.Errorf("levels = %s, want %s", got, want)
	}
	// The built-in policy keeps only what fits the configured levels.
	if got, want := len(c.Policies["standard"].Rules), 0; got != want {
		t.Errorf("standard has %d rules for levels that do not exist", got)
	}
	if got, want := fmt.Sprint(c.Triage.Phrases), "map[p1:[everything is on fire]]"; got != want {
		t.Errorf("phrases = %s, want %s", got, want)
	}
	bad := readMinimal(t) + `
[triage]
levels = ["P1", "p2", "p2"]
change_level = "p2"
[triage.phrases]
urgent = ["x"]
`
	got := problemsOf(t, bad, noSecrets)
	// default_priority is not in the file: its problem names the [triage] line.
	want := []string{
		`helpdesk.toml:31: triage.default_priority: "medium" is not a level (p2)`,
		`helpdesk.toml:32: triage.levels[0]: level "P1": use lower-case letters, digits, '-' or '_'`,
		`helpdesk.toml:32: triage.levels[2]: level "p2" is listed twice`,
		`helpdesk.toml:33: triage.change_level: "p2" is also one of the levels; the change category must be separate`,
		`helpdesk.toml:35: triage.phrases.urgent: "urgent" is not a level or the change level (p2)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Policies["standard"] == nil || c.Calendars["24x7"] == nil || c.Calendars["business"] == nil {
		t.Fatal("Default lacks the built-ins")
	}
	if got, want := fmt.Sprint(c.Levels.All()), "[critical high medium low change]"; got != want {
		t.Errorf("levels = %s, want %s", got, want)
	}
	if got, want := c.SMTP.Port, 587; got != want {
		t.Errorf("smtp port = %d, want %d", got, want)
	}
	if got, want := c.SLA.DefaultPolicy, "standard"; got != want {
		t.Errorf("default policy = %q, want %q", got, want)
	}
	if !filepath.IsAbs(c.Store.Path) {
		t.Errorf("store path %q is not absolute", c.Store.Path)
	}
	// Each call builds its own values: no shared mutable state.
	d := Default()
	d.Policies["standard"].Name = "changed"
	if got, want := c.Policies["standard"].Name, "standard"; got != want {
		t.Errorf("Default() results share state: %q", got)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"36h", 36 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1w", 7 * 24 * time.Hour, true},
		{"1w2d12h", (9*24 + 12) * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"", 0, false},
		{"30", 0, false},
		{"-5m", 0, false},
		{"0s", 0, false},
		{"5 minutes", 0, false},
		{"d", 0, false},
		{"99999999999w", 0, false},
	} {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"25MB", 25 << 20, true},
		{"25 mb", 25 << 20, true},
		{"512KB", 512 << 10, true},
		{"1GiB", 1 << 30, true},
		{"1000", 1000, true},
		{"1_000_000", 1000000, true},
		{"10B", 10, true},
		{"1.5MB", 3 << 19, true},
		{"", 0, false},
		{"MB", 0, false},
		{"25TB", 0, false},
		{"0", 0, false},
		{"-1MB", 0, false},
	} {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseSize(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseFraction(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"75%", 0.75, true},
		{"150%", 1.5, true},
		{"0.75", 0.75, true},
		{"1", 1, true},
		{"0", 0, false},
		{"0%", 0, false},
		{"-10%", 0, false},
		{"2000%", 0, false},
		{"NaN", 0, false},
		{"x%", 0, false},
	} {
		got, err := parseFraction(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseFraction(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestLoopbackAndHosts(t *testing.T) {
	for _, tt := range []struct {
		host     string
		loopback bool
	}{
		{"localhost", true}, {"LOCALHOST.", true}, {"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"smtp.example.com", false}, {"10.0.0.1", false}, {"localhost.example.com", false}, {"::", false},
	} {
		if got := isLoopback(tt.host); got != tt.loopback {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.host, got, tt.loopback)
		}
	}
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"smtp.example.com", true}, {"192.0.2.1", true}, {"2001:db8::1", true}, {"mail", true},
		{"", false}, {"smtp.example.com:25", false}, {"smtp example.com", false}, {"-bad.example", false},
	} {
		if err := checkHost(tt.host); (err == nil) != tt.ok {
			t.Errorf("checkHost(%q) = %v, want ok=%v", tt.host, err, tt.ok)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.toml"), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmpl"), 0o755); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(readMinimal(t), `path = "helpdesk.db"`, "path = \"data/desk.db\"\n[desk]\ntemplates_dir = \"tmpl\"", 1)
	doc = strings.Replace(doc, `password_file = "/run/secrets/imap"`, `password_file = "imap.secret"`, 1)
	path := filepath.Join(dir, "helpdesk.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(path, noSecrets)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range []struct{ name, got, want string }{
		{"store", c.Store.Path, filepath.Join(dir, "data", "desk.db")},
		{"templates", c.Desk.TemplatesDir, filepath.Join(dir, "tmpl")},
		{"password_file", c.Mailboxes[0].Password.File, filepath.Join(dir, "imap.secret")},
	} {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	bad := strings.Replace(doc, `templates_dir = "tmpl"`, `templates_dir = "nowhere"`, 1)
	got := problemsOf(t, bad, noSecrets)
	if len(got) != 1 || !strings.HasPrefix(got[0], "helpdesk.toml:4: desk.templates_dir: ") {
		t.Errorf("problems = %q", got)
	}
}

func BenchmarkParseExample(b *testing.B) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(examplePath, data, noSecrets); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMaxMessageSize: a mailbox's max_message_size is a size like
// max_attachment_size, and a bad one is reported at its key.
func TestMaxMessageSize(t *testing.T) {
	doc := strings.Replace(readMinimal(t), "[[mailbox]]\n", "[[mailbox]]\nmax_message_size = \"10MB\"\n", 1)
	c, _ := mustParse(t, "helpdesk.toml", doc, noSecrets)
	if got, want := c.Mailboxes[0].MaxMessageSize, int64(10<<20); got != want {
		t.Errorf("max_message_size = %d, want %d", got, want)
	}
	doc = strings.Replace(readMinimal(t), "[[mailbox]]\n", "[[mailbox]]\nmax_message_size = \"huge\"\n", 1)
	got := problemsOf(t, doc, noSecrets)
	if len(got) != 1 || !strings.HasPrefix(got[0], "helpdesk.toml:13: mailbox[0].max_message_size: ") {
		t.Errorf("problems %q, want one at mailbox[0].max_message_size on line 13", got)
	}
}

// TestSentFolder: sent_folder is off by default, takes a name or "auto",
// and warns when the SMTP server keeps copies itself.
func TestSentFolder(t *testing.T) {
	min := readMinimal(t)
	c, _ := mustParse(t, "helpdesk.toml", min, noSecrets)
	if mb := c.Mailboxes[0]; mb.SentFolder != "" || mb.IMAP4rev2 {
		t.Errorf("defaults: sent_folder %q, imap4rev2 %v; want off", mb.SentFolder, mb.IMAP4rev2)
	}
	for _, v := range []string{"Sent", "auto", "Éléments envoyés"} {
		doc := strings.Replace(min, `folder = "INBOX"`, "folder = \"INBOX\"\nsent_folder = \""+v+"\"\nimap4rev2 = true", 1)
		c, _ := mustParse(t, "helpdesk.toml", doc, noSecrets)
		if mb := c.Mailboxes[0]; mb.SentFolder != v || !mb.IMAP4rev2 {
			t.Errorf("sent_folder %q: got %q, imap4rev2 %v", v, mb.SentFolder, mb.IMAP4rev2)
		}
	}
	doc := strings.Replace(min, `folder = "INBOX"`, "folder = \"INBOX\"\nsent_folder = \"Sent\"", 1)
	doc = strings.Replace(doc, `host = "smtp.example.com"`, `host = "smtp.office365.com"`, 1)
	_, warns := mustParse(t, "helpdesk.toml", doc, noSecrets)
	var found []string
	for _, w := range warns {
		if w.Key == "mailbox[0].sent_folder" {
			found = append(found, w.String())
		}
	}
	if len(found) != 1 || !strings.Contains(found[0], "helpdesk.toml:21:") || !strings.Contains(found[0], "second one") {
		t.Errorf("sent_folder warnings with Microsoft's SMTP = %v, want one", found)
	}
}

// TestParseRate: the forms of [smtp] rate, and what is refused.
func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		err  string
	}{
		{"", Rate{}, ""},
		{"0", Rate{}, ""},
		{"30/m", Rate{30, time.Minute}, ""},
		{" 30 / min ", Rate{30, time.Minute}, ""},
		{"2/s", Rate{2, time.Second}, ""},
		{"1000/h", Rate{1000, time.Hour}, ""},
		{"1000/hour", Rate{1000, time.Hour}, ""},
		{"5000/d", Rate{5000, 24 * time.Hour}, ""},
		{"100/15m", Rate{100, 15 * time.Minute}, ""},
		{"30", Rate{}, "want mails per period"},
		{"0/m", Rate{}, "from 1 to 100000"},
		{"-3/m", Rate{}, "from 1 to 100000"},
		{"1.5/m", Rate{}, "from 1 to 100000"},
		{"100001/s", Rate{}, "from 1 to 100000"},
		{"30/", Rate{}, "the period must be"},
		{"30/x", Rate{}, "the period must be"},
		{"30/2w", Rate{}, "at most a week"},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseRate(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestRateAsNumber: rate = 0, a TOML integer, is no limit like "0".
func TestRateAsNumber(t *testing.T) {
	data := strings.Replace(readMinimal(t), `from = "Example Support <support@example.com>"`,
		"from = \"Example Support <support@example.com>\"\nrate = 0\ndaily_recipients = 10000", 1)
	c, _ := mustParse(t, "/etc/helpdesk/helpdesk.toml", data, noSecrets)
	if c.SMTP.Rate != (Rate{}) || c.SMTP.DailyRecipients != 10000 {
		t.Errorf("rate %v, daily %d; want none and 10000", c.SMTP.Rate, c.SMTP.DailyRecipients)
	}
}
