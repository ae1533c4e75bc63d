package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/triage"
)

// triageJSON is the output of `triage --json`.
type triageJSON struct {
	Priority string           `json:"priority"`
	Claimed  *string          `json:"claimed"`
	Accepted bool             `json:"claim_accepted"`
	Reasons  []string         `json:"reasons"`
	Fields   map[string]any   `json:"fields"`
	Missing  []string         `json:"missing"`
	Policy   string           `json:"policy"`
	Auto     string           `json:"auto_reason,omitempty"`
	Defects  []string         `json:"defects,omitempty"`
	Subject  string           `json:"subject"`
	From     helpdesk.Address `json:"from"`
}

func cmdTriage(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("triage", "triage [--json] [-config FILE] FILE.eml|-", stderr)
	path := fs.String("config", "", "configuration `file` (default: built-in defaults)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("triage needs one mail file, or - for standard input")}
	}
	cfg := config.Default()
	if *path != "" {
		if cfg, err = loadConfig(*path, false, stderr); err != nil {
			return err
		}
	}
	var raw []byte
	if pos[0] == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return fmt.Errorf("read mail: %w", err)
	}
	tri, err := triage.New(triageRules(cfg))
	if err != nil {
		return err
	}
	msg, err := message.Parse(raw, message.ParseOptions{MaxAttachmentSize: cfg.Desk.MaxAttachmentSize})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	// The same choice of policy, default priority and required fields as
	// the daemon makes for the mailbox the mail was sent to (the first
	// mailbox when no recipient is one of ours).
	mb := mailboxFor(cfg, msg)
	policy := cfg.PolicyFor(mb, msg.From.Email)
	a := tri.Assess(triage.Input{Subject: msg.Subject, Text: message.ReportText(msg.Subject, msg.Text, msg.NewText), Date: msg.Date, Default: mb.DefaultPriority})
	missing := a.Fields.Missing(policy.Required[a.Priority])
	if *asJSON {
		out := triageJSON{Priority: string(a.Priority), Accepted: a.ClaimAccepted, Reasons: a.Reasons,
			Missing: missing, Policy: policy.Name, Auto: msg.AutoReason, Defects: msg.Defects,
			Subject: msg.Subject, From: msg.From, Fields: map[string]any{}}
		if a.Claimed != "" {
			c := string(a.Claimed)
			out.Claimed = &c
		}
		for _, name := range helpdesk.FieldNames {
			if v := a.Fields.Get(name); v != "" {
				out.Fields[name] = v
			} else {
				out.Fields[name] = nil
			}
		}
		if !a.Fields.StartInstant.IsZero() {
			out.Fields["start_instant"] = a.Fields.StartInstant.UTC().Format("2006-01-02T15:04:05Z07:00")
		}
		if out.Missing == nil {
			out.Missing = []string{}
		}
		if out.Reasons == nil {
			out.Reasons = []string{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "From:     %s\nSubject:  %s\nPriority: %s", msg.From, msg.Subject, a.Priority)
	if a.Claimed != "" {
		verdict := "accepted"
		if !a.ClaimAccepted {
			verdict = "not accepted"
		}
		fmt.Fprintf(stdout, " (claimed %s, %s)", a.Claimed, verdict)
	}
	fmt.Fprintln(stdout)
	for _, r := range a.Reasons {
		fmt.Fprintf(stdout, "  - %s\n", r)
	}
	fmt.Fprintln(stdout, "Fields:")
	for _, name := range helpdesk.FieldNames {
		v := a.Fields.Get(name)
		if v == "" {
			v = "(not found)"
		}
		if name == helpdesk.FieldStartTime && !a.Fields.StartInstant.IsZero() {
			v += "  => " + a.Fields.StartInstant.Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(stdout, "  %-12s %s\n", name, truncate(strings.ReplaceAll(v, "\n", " / "), 120))
	}
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "Missing (policy %s): %s\n", policy.Name, strings.Join(missing, ", "))
	} else {
		fmt.Fprintf(stdout, "Missing (policy %s): nothing\n", policy.Name)
	}
	if msg.AutoReason != "" {
		fmt.Fprintf(stdout, "Automatic mail: %s (no acknowledgement would be sent)\n", msg.AutoReason)
	}
	return nil
}

// triageRules maps the [triage] section onto the triage package's rules.
func triageRules(cfg *config.Config) triage.Rules {
	return triage.Rules{
		Levels:      cfg.Levels,
		Default:     cfg.Triage.DefaultPriority,
		Phrases:     cfg.Triage.Phrases,
		WideScope:   cfg.Triage.WideScope,
		NarrowScope: cfg.Triage.NarrowScope,
		Workaround:  cfg.Triage.Workaround,
		Negation:    cfg.Triage.Negation,
		NoModel:     !cfg.Triage.Model,
	}
}

// mailboxFor returns the configured mailbox one of the mail's recipients
// (To, Cc, Delivered-To; sub-addresses included) belongs to, else the first.
func mailboxFor(cfg *config.Config, msg *helpdesk.Message) config.Mailbox {
	var rcpts []string
	for _, a := range append(append([]helpdesk.Address(nil), msg.To...), msg.Cc...) {
		rcpts = append(rcpts, a.Email)
	}
	rcpts = append(rcpts, msg.Recipients...)
	for _, r := range rcpts {
		local, domain, _ := strings.Cut(strings.ToLower(r), "@")
		local, _, _ = strings.Cut(local, "+")
		for _, mb := range cfg.Mailboxes {
			for _, a := range mb.Addresses() {
				if a == local+"@"+domain {
					return mb
				}
			}
		}
	}
	if len(cfg.Mailboxes) > 0 {
		return cfg.Mailboxes[0]
	}
	return config.Mailbox{}
}
