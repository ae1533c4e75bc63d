// Package templates holds the mails helpdeskd writes — acknowledgements,
// agent notifications, relayed replies, escalations — as embedded default
// templates with a text part (text/template) and, for mail to customers, an
// HTML alternative (html/template, so everything a customer or agent wrote
// is escaped by construction). An operator can override any of them from a
// directory named in the configuration; Load checks every template against
// the Data it will see, so a broken override fails check-config at start,
// not a mail at 3 a.m.
//
// Each template NAME is the file NAME.txt, which may define a subject with
// {{define "subject"}}...{{end}}, and an optional NAME.html. Files whose
// name starts with "_" are partials, shared by every template of the same
// kind under the name without "_" and extension: {{template "commands" .}}.
// An override NAME.txt without a NAME.html next to it drops the default
// HTML part, so the customer never sees wording the operator has replaced;
// an empty NAME.html override removes the HTML part.
//
// The desk guarantees Data.Command for command_error, Data.Undelivered
// for undelivered, Data.TooLarge for too_large and Data.Login for
// login_failed; Data.Late is set for
// SLA ladder steps only, and nil when an agent (#escalate) or the customer
// asked to escalate. A reply to a long-closed ticket opens a new ticket
// whose ack carries Ticket.LinkedTo; there is no separate template for it.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/suggest"
)

//go:embed all:default
var defaults embed.FS

// Data is what every template sees. Fields a template does not need are
// empty.
type Data struct {
	Desk         string           // the desk's name, e.g. "Example Support"
	Ticket       helpdesk.Ticket  // the ticket the mail is about
	Customer     helpdesk.Address // the ticket's customer
	Agent        helpdesk.Address // acting agent (relay, note, command_error) or recipient (notify_*)
	Text         string           // the new text of the mail concerned (customer's or agent's)
	ReplyAddress string           // where replies should go (the Reply-To of the mail)
	Priority     string           // the ticket's priority level
	Claimed      string           // the priority the customer declared, if any
	ClaimNote    string           // polite sentence when the claim was not accepted
	Reasons      []string         // why the ticket has its priority
	Fields       []Field          // extracted facts: Label and Value
	Missing      []Field          // missing facts: Label and Why
	// Due times formatted in the policy's calendar ("10:30 Tue 24 Nov, UK
	// time"); "" means no target.
	ResponseDue, ResolutionDue string
	Queued                     bool          // the out-of-hours mailbox queued a non-critical mail
	NextOpen                   string        // formatted time business hours next open (for Queued)
	Late                       *Late         // SLA step details (escalation); nil for a manual escalation
	Command                    *CommandError // the refused command (command_error)
	Reason                     string        // escalation reason (#escalate or the customer's request)
	ReopenWindow               string        // how long a resolved ticket can be reopened, e.g. "7 days"
	Age                        string        // ticket age, formatted, e.g. "2h 15m"
	// Notice is what agents must read first about the mail (notify_*,
	// address_leak): a stranger's mail, a forged header, a leaked address,
	// a mail too large to read; for undelivered, which mail could not be
	// delivered ("Your reply").
	Notice string
	// Changes say what changed on the ticket with the mail an agent is
	// told of, one sentence each, above the mail (notify_reply): e.g. the
	// customer's reply reopened the resolved ticket. The subject of an
	// agent's mail never changes; the body says what did.
	Changes []string
	// Signed: the agent's text (relay, resolution) already ends with their
	// own sign-off, e.g. "Regards,\nPat\nTeam Lead", so the mail adds no
	// signature of its own under it.
	Signed bool
	// Undelivered are the recipients a mail to the customer's side could
	// not reach, with the server's words (undelivered; always set there),
	// and Reached those who got it.
	Undelivered []Undelivered
	Reached     []string
	// TooLarge is the mail that was larger than its mailbox takes
	// (too_large, to its sender): only its header was read.
	TooLarge *TooLarge
	// Files lists the customer's attachments of the mail concerned
	// (notify_*): kept with the ticket, never attached to a notification.
	Files []File
	// Login is the account whose login keeps being refused (login_failed,
	// to the managers; the mail is about no ticket, and Ticket is empty).
	Login *LoginFailure
	// Digest is the managers' SLA digest (digest; always set there, nil
	// elsewhere). Ticket is empty in that mail.
	Digest *Digest
}

// LoginFailure describes an account whose server or token provider
// refuses its credentials, and what renews them.
type LoginFailure struct {
	// Account names it for people: "mailbox support" or "the SMTP account".
	Account  string
	Mailbox  string // the mailbox's name; "" for the SMTP account
	Server   string // host:port
	Username string
	Reason   string // the server's or the provider's words, on one line
	Since    string // when the login was first refused, formatted
	// How is how it logs in: "password", "device" (OAuth2, a person
	// signed in once), "client_credentials" (OAuth2 with the app's client
	// secret) or "service_account" (OAuth2 with a Google service
	// account's key).
	How      string
	Provider string // "microsoft", "google" or "generic"; "" for a password
	ClientID string // the app registration's client id (client_credentials, device)
	// Secret is where the password, client secret or key is kept, for
	// people: "the file /etc/helpdeskd/imap-password", "the environment
	// variable HD_SMTP_PASSWORD", "the systemd credential imap"; "" for
	// a public client.
	Secret string
	// Reread: the daemon reads Secret again at each try, so that writing
	// the new one is enough; otherwise it is read at start, and the
	// daemon must be restarted.
	Reread  bool
	Command string // what signs the account in again (How "device")
	// Sending: it is the account the desk sends mail through, so this
	// mail could go out only once its login worked again.
	Sending bool
}

// Digest is what the managers' digest mail shows, formatted: the figures
// come from the computation of `helpdeskd sla` (sla.NewReport).
type Digest struct {
	Period string // the period it covers, e.g. "08:00 Tue 24 Nov to 08:00 Wed 25 Nov 2026, UK time"
	Thread string // the group of digests it belongs to, e.g. "week of 23 Nov 2026" (the subject's)
	AsOf   string // when the figures were taken, e.g. "08:00 Wed 25 Nov, UK time"
	// The open tickets now: how many, breached, at risk, paused.
	Open, Breached, AtRisk, Paused int
	// Compliance: the period, then the last 30 days (named in Name).
	Windows []DigestWindow
	// Urgent are the breached and at-risk open tickets, most overdue
	// first, at most a few dozen; More counts those left out.
	Urgent []DigestTicket
	More   int
	// Chart is the Content-ID of the inline PNG of the weekly trend
	// ("" when no week decided a clock: no chart); Trend gives the same
	// figures as text.
	Chart string
	Trend []DigestWeek
	// Board is the reader's personal link to the SLA board ("" when the
	// board is off or the reader is no manager), valid until BoardUntil.
	Board, BoardUntil string
}

// DigestWindow is the compliance of the tickets filed in one period.
type DigestWindow struct {
	Name    string // e.g. "the period" or "the last 30 days"
	Tickets int
	Rows    []DigestRow // one per policy, priority and clock
}

// DigestRow is one clock of one policy and priority in a window.
type DigestRow struct {
	Policy, Priority, Clock string // Clock: "response" or "resolution"
	Tickets                 int
	Rate                    string // "80% (4 of 5)", "none yet", "no target"
	Met, Breached, Running  int
	Median, P90             string // business time; "-" without samples
}

// DigestTicket is one breached or at-risk open ticket.
type DigestTicket struct {
	Ref, Subject, Priority, Policy string
	State                          string // "BREACHED" or "at risk"
	Clock                          string // the nearest clock: "response" or "resolution"
	Due                            string // in the policy's zone
	Left                           string // "in 2 h 5 min", "36 s overdue"
	Owner                          string // the assignee, else "team X", else "-"
}

// DigestWeek is one week of the trend.
type DigestWeek struct {
	Start                string // "2 Nov"
	Response, Resolution string // "92% (46 of 50)", or "-" when no clock was decided
}

// Undelivered is a recipient a mail could not reach and why.
type Undelivered struct {
	Email string
	Reply string // the server's words, e.g. "550 5.1.1 no such user"
}

// TooLarge describes a mail larger than its mailbox's max_message_size,
// for the mail that asks its sender to send it again.
type TooLarge struct {
	Size    string // the mail's size, formatted, e.g. "62.4 MB"
	Limit   string // the mailbox's max_message_size, formatted, e.g. "50 MB"
	ToAgent bool   // the sender is an agent writing on the ticket, not the customer
}

// File is one attachment as a notification lists it.
type File struct {
	Name string // the sanitised file name; or "N more" closing a long list
	Size string // formatted, e.g. "48 KiB"; "" for the closing line
	Note string // why the file was not kept, if it was not
}

// Field is one incident fact (helpdesk.Field* names): its human label, its
// value when known and one line on why it matters when it is missing.
type Field struct {
	Name, Label, Value, Why string
}

// Late describes an SLA ladder step for the escalation mail.
type Late struct {
	Clock    string // "response" or "resolution"
	Target   string // the target as configured, e.g. "2h" or "3 business hours"
	Due      string // formatted due time
	By       string // how late ("2h 15m"), or the time left before Due for a warning step
	Breached bool   // the target was missed; false for a warning step
	Step     string // the ladder step, e.g. "75%"
}

// CommandError is an agent's #command line the desk refused.
type CommandError struct {
	Line     string // the offending line as written
	Problem  string // what is wrong with it
	Accepted string // what would have been accepted
}

// Rendered is one rendered mail. Subject is "" when the template defines
// none (the desk then sets its own); HTML is "" when the template has no
// HTML part.
type Rendered struct {
	Subject, Text, HTML string
}

// ErrUnknownTemplate is returned (wrapped) by Render for a name that is not
// one of Names.
var ErrUnknownTemplate = errors.New("unknown template")

// FileError is a problem with one template file: a syntax error, a
// reference to a field its data does not have, a failure to render sample
// data, or a file name that names no template.
type FileError struct {
	File string // "default/ack.txt" for an embedded default, the path on disk for an override
	Err  error
}

// Error reports the file and the problem.
func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// Set is a loaded, checked set of templates, one per mail. It is safe for
// concurrent use.
type Set struct {
	byName map[string]*pair
}

// pair is one mail's templates.
type pair struct {
	text *texttemplate.Template
	html *htmltemplate.Template // nil: no HTML part
	uses map[string]bool        // fields of Data the templates read; see checkPair
}

// source is one template file's content and where it came from.
type source struct {
	file string // for messages
	body string
}

// Names returns the names of the templates in the set, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Render executes the template name with d: the text part, the subject when
// the template defines one, and the HTML part when it has one.
func (s *Set) Render(name string, d Data) (Rendered, error) {
	p, ok := s.byName[name]
	if !ok {
		return Rendered{}, fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	r, err := p.render(&d)
	if err != nil {
		return Rendered{}, fmt.Errorf("render %s: %w", name, err)
	}
	return r, nil
}

// Reads reports whether the template name may read the field of Data
// (its Go name, e.g. "Agent"): false only when no branch of its text,
// subject or HTML part does, so that a mail rendered once can go to
// recipients who differ only in that field. An unknown name reads
// everything.
func (s *Set) Reads(name, field string) bool {
	p, ok := s.byName[name]
	if !ok || p.uses == nil {
		return true
	}
	return p.uses[field] || p.uses[wholeData]
}

func (p *pair) render(d *Data) (Rendered, error) {
	var r Rendered
	var err error
	if r.Subject, r.Text, err = p.renderText(d); err != nil {
		return r, err
	}
	r.HTML, err = p.renderHTML(d)
	return r, err
}

// renderText returns the subject ("" when the template defines none) and
// the text part.
func (p *pair) renderText(d *Data) (subject, text string, err error) {
	var b bytes.Buffer
	if err := p.text.Execute(&b, d); err != nil {
		return "", "", err
	}
	text = tidyText(b.String())
	if st := p.text.Lookup("subject"); st != nil {
		b.Reset()
		if err := st.Execute(&b, d); err != nil {
			return "", "", err
		}
		// One line, whatever the template's layout: a header field
		// cannot hold a line break.
		subject = strings.Join(strings.Fields(b.String()), " ")
	}
	return subject, text, nil
}

// renderHTML returns the HTML part, "" when there is none.
func (p *pair) renderHTML(d *Data) (string, error) {
	if p.html == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := p.html.Execute(&b, d); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

// Load returns the embedded default templates, each overridden by the file
// of the same name in dir ("" for none). Every template is parsed, its field
// references are checked against Data, and it is rendered against sample
// data, so a template that would fail at execution time is rejected here
// with its file name. A file in dir that names no template is an error too
// (typo protection); hidden files are ignored. All problems are reported,
// each as a *FileError.
func Load(dir string) (*Set, error) {
	def, err := readDefaults()
	if err != nil {
		return nil, fmt.Errorf("templates: embedded defaults: %w", err)
	}
	var over map[string]source
	if dir != "" {
		var errs []error
		over, errs = readDir(dir, def)
		if len(errs) > 0 {
			return nil, fmt.Errorf("templates in %s: %w", dir, errors.Join(errs...))
		}
	}
	pick := func(file string) (source, bool) {
		if s, ok := over[file]; ok {
			return s, true
		}
		s, ok := def[file]
		return s, ok
	}

	var errs []error
	textPartials, e1 := partials(def, pick, ".txt")
	htmlPartials, e2 := partials(def, pick, ".html")
	errs = append(append(errs, e1...), e2...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("templates: %w", errors.Join(errs...))
	}

	set := &Set{byName: map[string]*pair{}}
	seen := map[string]bool{} // dedupes problems found in shared partials
	report := func(err error) {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	for _, name := range mainNames(def) {
		txt, _ := pick(name + ".txt")
		h, hasHTML := pick(name + ".html")
		if _, ok := over[name+".txt"]; ok {
			// The default HTML says what the replaced text said: drop it
			// unless the operator wrote an HTML part too.
			h, hasHTML = over[name+".html"]
		}
		if !hasHTML || strings.TrimSpace(h.body) == "" {
			h = source{}
		}
		p, perrs := loadPair(name, txt, h, textPartials, htmlPartials)
		for _, err := range perrs {
			report(err)
		}
		if p != nil {
			set.byName[name] = p
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("templates: %w", errors.Join(errs...))
	}
	return set, nil
}

// loadPair parses, checks and test-renders one mail's text part and, when
// h has a body, its HTML part. It returns nil and the problems when there
// are any.
func loadPair(name string, txt, h source, textParts, htmlParts map[string]source) (*pair, []error) {
	var errs []error
	p := &pair{}
	t, err := parseText(txt, textParts)
	if err != nil {
		errs = append(errs, err)
	}
	p.text = t
	if h.body != "" {
		ht, err := parseHTML(h, htmlParts)
		if err != nil {
			errs = append(errs, err)
		}
		p.html = ht
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if errs := checkPair(p, txt, h, textParts, htmlParts); len(errs) > 0 {
		return nil, errs
	}
	for _, smp := range samples(name) {
		d := smp.data
		if _, _, err := p.renderText(&d); err != nil {
			errs = append(errs, &FileError{File: txt.file, Err: fmt.Errorf("render sample (%s): %w", smp.label, err)})
		}
		if _, err := p.renderHTML(&d); err != nil {
			errs = append(errs, &FileError{File: h.file, Err: fmt.Errorf("render sample (%s): %w", smp.label, err)})
		}
		if len(errs) > 0 {
			return nil, errs // one sample's failure is enough to read
		}
	}
	return p, nil
}

// readDefaults returns the embedded templates by file name.
func readDefaults() (map[string]source, error) {
	entries, err := fs.ReadDir(defaults, "default")
	if err != nil {
		return nil, err
	}
	out := map[string]source{}
	for _, e := range entries {
		b, err := fs.ReadFile(defaults, path.Join("default", e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = source{file: "default/" + e.Name(), body: string(b)}
	}
	return out, nil
}

// readDir reads the operator's overrides. Every visible entry must be a
// regular file named like one of the defaults.
func readDir(dir string, def map[string]source) (map[string]source, []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{fmt.Errorf("read template directory: %w", err)}
	}
	known := allowedFiles(def)
	out := map[string]source{}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // editor swap files, .git, ...
		}
		file := filepath.Join(dir, name)
		if !known[name] {
			msg := "not a template file name; the names are NAME.txt or NAME.html for NAME in " + strings.Join(mainNames(def), ", ")
			if s := closest(name, known); s != "" {
				msg = fmt.Sprintf("not a template file name (did you mean %s?)", s)
			}
			errs = append(errs, &FileError{File: file, Err: errors.New(msg)})
			continue
		}
		info, err := os.Stat(file) // follows symlinks
		if err != nil {
			errs = append(errs, &FileError{File: file, Err: err})
			continue
		}
		if !info.Mode().IsRegular() {
			errs = append(errs, &FileError{File: file, Err: errors.New("not a regular file")})
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, &FileError{File: file, Err: err})
			continue
		}
		body := strings.ReplaceAll(string(b), "\r\n", "\n")
		if strings.HasSuffix(name, ".txt") && !strings.HasPrefix(name, "_") && strings.TrimSpace(body) == "" {
			errs = append(errs, &FileError{File: file, Err: errors.New("empty: a mail needs a text part")})
			continue
		}
		out[name] = source{file: file, body: body}
	}
	return out, errs
}

// allowedFiles is the set of file names an override directory may hold:
// every default, an HTML part for every template, and the partials.
func allowedFiles(def map[string]source) map[string]bool {
	known := map[string]bool{}
	for f := range def {
		known[f] = true
	}
	for _, n := range mainNames(def) {
		known[n+".html"] = true
	}
	return known
}

// mainNames returns the names of the mails (not partials), sorted.
func mainNames(def map[string]source) []string {
	var names []string
	for f := range def {
		if n, ok := strings.CutSuffix(f, ".txt"); ok && !strings.HasPrefix(n, "_") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// partials returns the partial sources with extension ext, keyed by the
// name templates call them by ("_commands.txt" is "commands"). Each is
// parsed once alone, so a syntax error is reported against its own file.
func partials(def map[string]source, pick func(string) (source, bool), ext string) (map[string]source, []error) {
	out := map[string]source{}
	var errs []error
	for f := range def {
		n, ok := strings.CutSuffix(f, ext)
		if !ok || !strings.HasPrefix(n, "_") {
			continue
		}
		src, _ := pick(f)
		var err error
		if ext == ".txt" {
			_, err = texttemplate.New(n[1:]).Funcs(funcs()).Parse(src.body)
		} else {
			_, err = htmltemplate.New(n[1:]).Funcs(funcs()).Parse(src.body)
		}
		if err != nil {
			errs = append(errs, &FileError{File: src.file, Err: err})
			continue
		}
		out[n[1:]] = src
	}
	return out, errs
}

// parseText parses one mail's text template with the text partials.
func parseText(src source, parts map[string]source) (*texttemplate.Template, error) {
	t := texttemplate.New(path.Base(filepath.ToSlash(src.file))).Option("missingkey=error").Funcs(funcs())
	for _, n := range sortedKeys(parts) {
		if _, err := t.New(n).Parse(parts[n].body); err != nil {
			return nil, &FileError{File: parts[n].file, Err: err}
		}
	}
	if _, err := t.Parse(src.body); err != nil {
		return nil, &FileError{File: src.file, Err: err}
	}
	return t, nil
}

// parseHTML parses one mail's HTML template with the HTML partials.
func parseHTML(src source, parts map[string]source) (*htmltemplate.Template, error) {
	t := htmltemplate.New(path.Base(filepath.ToSlash(src.file))).Option("missingkey=error").Funcs(funcs())
	for _, n := range sortedKeys(parts) {
		if _, err := t.New(n).Parse(parts[n].body); err != nil {
			return nil, &FileError{File: parts[n].file, Err: err}
		}
	}
	if _, err := t.Parse(src.body); err != nil {
		return nil, &FileError{File: src.file, Err: err}
	}
	return t, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// closest returns the known name nearest to name when it is a likely typo
// (edit distance at most 2), or "".
func closest(name string, known map[string]bool) string {
	return suggest.Closest(name, sortedKeys(known))
}
