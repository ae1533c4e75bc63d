package templates

import (
	"errors"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// ticketData is what the desk passes for a high-priority ticket whose
// customer claimed critical and left out two facts.
func ticketData(t *testing.T) Data {
	t.Helper()
	created := time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)
	tk := helpdesk.Ticket{
		ID: 1042, Ref: "HD-1042", Subject: "Checkout fails with 502", Customer: "jane@shop.example",
		CustomerName: "Jane Doe", Team: "web", Assignee: "alice@support.example", Priority: helpdesk.High,
		Claimed: helpdesk.Critical, Reasons: []string{"high: 'some customers' + 'intermittent'"},
		Status: helpdesk.StatusOpen, CreatedAt: created,
		Fields:  helpdesk.Fields{ErrorText: "502 Bad Gateway", Service: "web shop checkout"},
		Missing: []string{helpdesk.FieldStartTime, helpdesk.FieldReproSteps},
	}
	d := Data{
		Desk: "Example Support", Ticket: tk,
		Customer:      helpdesk.Address{Name: "Jane Doe", Email: "jane@shop.example"},
		Agent:         helpdesk.Address{Name: "Alice", Email: "alice@support.example"},
		Text:          "Some customers get 502 at checkout.\nIt comes and goes.",
		ReplyAddress:  "support+hd-1042.t0k3n@support.example",
		Priority:      "high",
		Claimed:       "critical",
		ClaimNote:     "You marked this as critical; from what you describe we have filed it as high for now.",
		Reasons:       tk.Reasons,
		ResponseDue:   "10:30 Tue 24 Nov, UK time",
		ResolutionDue: "16:30 Wed 25 Nov, UK time",
		ReopenWindow:  "7 days",
		Age:           "2h 15m",
	}
	for _, name := range helpdesk.FieldNames {
		label, why := FieldLabel(name)
		if v := tk.Fields.Get(name); v != "" {
			d.Fields = append(d.Fields, Field{Name: name, Label: label, Value: v, Why: why})
		}
	}
	for _, name := range tk.Missing {
		label, why := FieldLabel(name)
		d.Missing = append(d.Missing, Field{Name: name, Label: label, Why: why})
	}
	return d
}

var tag = regexp.MustCompile(`<[^>]*>`)

// visible is the text a reader sees in an HTML part: tags dropped, entities
// decoded. Line breaks become newlines, so multi-line texts compare too.
func visible(h string) string {
	h = strings.ReplaceAll(h, "<br>", "\n")
	return html.UnescapeString(tag.ReplaceAllString(h, ""))
}

func loadDefaults(t *testing.T) *Set {
	t.Helper()
	s, err := Load("")
	if err != nil {
		t.Fatalf("Load defaults: %v", err)
	}
	return s
}

func mustRender(t *testing.T, s *Set, name string, d Data) Rendered {
	t.Helper()
	r, err := s.Render(name, d)
	if err != nil {
		t.Fatalf("Render %s: %v", name, err)
	}
	return r
}

// commandLines are the #commands every agent mail explains.
var commandLines = []string{"#status open|pending|resolved|closed", "#priority <level>", "#assign <agent>|me",
	"#team <team>", "#note", "#escalate [reason]", "#cc <address>"}

func TestNames(t *testing.T) {
	want := []string{"ack", "address_leak", "command_error", "customer_escalated", "digest", "escalation",
		"fields_complete", "login_failed", "note", "notify_new", "notify_reply", "relay", "resolution", "too_large", "undelivered"}
	if got := loadDefaults(t).Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestDefaultsRender(t *testing.T) {
	s := loadDefaults(t)
	startLabel, startWhy := FieldLabel(helpdesk.FieldStartTime)
	reproLabel, reproWhy := FieldLabel(helpdesk.FieldReproSteps)
	tests := []struct {
		name     string
		template string
		edit     func(*Data)
		want     []string // in the text part, and in the HTML part when there is one
		notWant  []string // in neither part
		html     bool     // whether the mail has an HTML part
	}{
		{name: "ack", template: "ack",
			want: []string{"Hello Jane Doe,", "HD-1042", "high priority", "We will respond by 10:30 Tue 24 Nov, UK time",
				"You marked this as critical; from what you describe we have filed it as high for now.",
				startLabel, startWhy, reproLabel, reproWhy, "reply to this mail", "keep [HD-1042] in the subject", "automatically"},
			notWant: []string{"out-of-hours", "earlier ticket"}, html: true},
		{name: "ack queued out of hours", template: "ack",
			edit: func(d *Data) { d.Queued, d.NextOpen, d.ClaimNote = true, "08:30 Wed 25 Nov, UK time", "" },
			want: []string{"HD-1042", "out-of-hours line", "business-critical incidents only",
				"queued it for our normal support hours", "08:30 Wed 25 Nov, UK time", "tell us what is down"},
			notWant: []string{"You marked this"}, html: true},
		{name: "ack without response target", template: "ack",
			edit:    func(d *Data) { d.ResponseDue, d.Missing = "", nil },
			want:    []string{"HD-1042", "during business hours", "as soon as they can"},
			notWant: []string{"respond by", "please reply with"}, html: true},
		{name: "ack of a ticket following a closed one", template: "ack",
			edit: func(d *Data) { d.Ticket.LinkedTo = "HD-0999" },
			want: []string{"HD-1042", "earlier ticket HD-0999", "linked"}, html: true},
		{name: "ack of a change request", template: "ack",
			edit: func(d *Data) { d.Priority, d.ClaimNote = "change", "" },
			want: []string{"filed it as a change request"}, notWant: []string{"change priority"}, html: true},
		{name: "notify_new", template: "notify_new",
			want: append([]string{"New ticket HD-1042", "Jane Doe <jane@shop.example>", "Checkout fails with 502",
				"Priority:    high (customer claimed critical)", "high: 'some customers' + 'intermittent'",
				"The customer was told", "502 Bad Gateway", "web shop checkout", "Still missing", startLabel, reproLabel,
				"10:30 Tue 24 Nov, UK time", "16:30 Wed 25 Nov, UK time", "Some customers get 502 at checkout.\nIt comes and goes.",
				"Assignee:    alice@support.example", "Team:        web", "signed with your name"}, commandLines...)},
		{name: "notify_reply", template: "notify_reply",
			edit: func(d *Data) { d.Text = "It started at 9:15.\n1. Add to basket\n2. Pay" },
			want: append([]string{"New reply on HD-1042", "It started at 9:15.\n1. Add to basket\n2. Pay",
				"Respond by:  10:30 Tue 24 Nov, UK time", "Still missing"}, commandLines...)},
		{name: "notify_reply from someone not on the ticket", template: "notify_reply",
			edit: func(d *Data) { d.Notice = "mallory@evil.example is not on this ticket" },
			want: []string{"*** mallory@evil.example is not on this ticket ***\n\nNew reply on HD-1042"}},
		{name: "address_leak", template: "address_leak",
			edit: func(d *Data) {
				d.Notice, d.Text = "From: mallory@evil.example, Subject: Re: [HD-1042]", "#status closed"
			},
			want: []string{"personal reply address for HD-1042", "From: mallory@evil.example", "#status closed",
				"no command was run", "helpdeskd agent rotate alice@"}},
		{name: "notify_reply of a reopen", template: "notify_reply",
			edit: func(d *Data) {
				d.Notice, d.Changes = "", []string{"Reopened by the customer: HD-1042 was resolved 2h ago.", "Now known: When it started."}
			},
			want: []string{"Reopened by the customer: HD-1042 was resolved 2h ago.\nNow known: When it started.\n\nNew reply on HD-1042"}},
		{name: "notify_reply after the first response", template: "notify_reply",
			edit: func(d *Data) { d.Ticket.FirstResponseAt = d.Ticket.CreatedAt.Add(time.Hour) },
			want: []string{"Respond by:  answered"}},
		{name: "relay", template: "relay",
			edit:    func(d *Data) { d.Text = "Hi Jane,\n\nWe have restarted the payment service.\n\nBest," },
			want:    []string{"We have restarted the payment service.", "Alice at Example Support", "Ticket HD-1042", "[HD-1042]"},
			notWant: []string{"Some customers get 502", "#status", "priority"}, html: true},
		{name: "relay signed by the agent", template: "relay",
			edit: func(d *Data) {
				d.Text, d.Signed = "Hi Jane,\n\nWe have restarted the payment service.\n\nRegards,\nAlice\nTeam Lead", true
			},
			want:    []string{"Team Lead", "Ticket HD-1042"},
			notWant: []string{"Alice at Example Support"}, html: true},
		{name: "note", template: "note",
			edit: func(d *Data) { d.Text = "Looks like the gateway, asking ops." },
			want: append([]string{"Alice added an internal note to HD-1042", "Looks like the gateway, asking ops.",
				"The customer has not seen it", "unless it starts with #note"}, commandLines...)},
		{name: "escalation breached", template: "escalation",
			edit: func(d *Data) {
				d.Late = &Late{Clock: "response", Target: "2h", Due: "10:30 Tue 24 Nov, UK time", By: "2h 15m", Breached: true, Step: "100%"}
			},
			want: append([]string{"response target for HD-1042 has been missed", "2h 15m late", "within 2h",
				"Due:         10:30 Tue 24 Nov, UK time", "Checkout fails with 502", "Jane Doe <jane@shop.example>",
				"Priority:    high", "Status:      open", "Assignee:    alice@support.example", "Team:        web",
				"Opened:      2h 15m ago", "Some customers get 502 at checkout.", "#assign me"}, commandLines...)},
		{name: "escalation warning step", template: "escalation",
			edit: func(d *Data) {
				d.Late = &Late{Clock: "resolution", Target: "1 business day", Due: "16:30 Wed 25 Nov, UK time", By: "1h 30m", Step: "75%"}
			},
			want:    []string{"HD-1042 has used 75% of its resolution target", "due at 16:30 Wed 25 Nov, UK time, 1h 30m from now", "within 1 business day"},
			notWant: []string{"missed"}},
		{name: "escalation asked for", template: "escalation",
			edit:    func(d *Data) { d.Reason = "customer is losing orders" },
			want:    append([]string{"HD-1042 has been escalated: customer is losing orders.", "Some customers get 502"}, commandLines...),
			notWant: []string{"target"}},
		{name: "customer_escalated", template: "customer_escalated",
			want: []string{"Hello Jane Doe,", "escalate ticket HD-1042", "management team", "[HD-1042]"}, html: true},
		{name: "resolution with the agent's text", template: "resolution",
			edit: func(d *Data) { d.Text = "We rolled back the gateway change; checkout works again." },
			want: []string{"We rolled back the gateway change; checkout works again.", "Alice at Example Support",
				"HD-1042 is now marked resolved", "within 7 days", "a new ticket"}, html: true},
		{name: "resolution signed by the agent", template: "resolution",
			edit:    func(d *Data) { d.Text, d.Signed = "Checkout works again.\n\nBest,\nAlice", true },
			want:    []string{"Checkout works again.", "HD-1042 is now marked resolved"},
			notWant: []string{"Alice at Example Support"}, html: true},
		{name: "resolution without text", template: "resolution",
			edit:    func(d *Data) { d.Text, d.ReopenWindow = "", "" },
			want:    []string{"Hello Jane Doe,", "We have resolved ticket HD-1042", "reply to this mail and we will reopen it"},
			notWant: []string{"new ticket"}, html: true},
		{name: "command_error", template: "command_error",
			edit: func(d *Data) {
				d.Command = &CommandError{Line: "#stauts resolved", Problem: "unknown command #stauts",
					Accepted: "#status open|pending|resolved|closed; #priority <level>"}
			},
			want: append([]string{"Hello Alice,", "    #stauts resolved", "Problem: unknown command #stauts",
				"Accepted: #status open|pending|resolved|closed; #priority <level>", "nothing on the ticket was changed",
				"nothing was sent to the customer"}, commandLines...)},
		{name: "undelivered", template: "undelivered",
			edit: func(d *Data) {
				d.Notice, d.Text = "Your reply", "Hi Jane, we restarted the gateway."
				d.Undelivered = []Undelivered{{Email: "gone@shop.example", Reply: "550 5.1.1 no such user"},
					{Email: "full@shop.example", Reply: "gave up after 3 attempts in 72h0m0s: 452 4.2.2 mailbox full"}}
				d.Reached = []string{"jane@shop.example", "ops@shop.example"}
			},
			want: []string{"Hello Alice,", "Your reply on HD-1042", "could not be delivered to:",
				"  gone@shop.example\n    the mail server said: 550 5.1.1 no such user",
				"  full@shop.example\n    the mail server said: gave up after 3 attempts",
				"It was delivered to jane@shop.example, ops@shop.example.", "Hi Jane, we restarted the gateway.",
				"unless it starts with #note"},
			notWant: []string{"reached no one"}},
		{name: "undelivered to anyone", template: "undelivered",
			edit: func(d *Data) {
				d.Notice, d.Reached = "The acknowledgement", nil
				d.Undelivered = []Undelivered{{Email: "jane@shop.example", Reply: "550 5.1.1 no such user"}}
			},
			want: []string{"The acknowledgement on HD-1042", "jane@shop.example", "It reached no one."}},
		{name: "too_large to the customer", template: "too_large",
			edit: func(d *Data) { d.TooLarge = &TooLarge{Size: "62.4 MB", Limit: "50 MB"} },
			want: []string{"Hello Jane Doe,", "was 62.4 MB, more than the 50 MB we can accept", "could not read it",
				"logged it as ticket HD-1042", "smaller:", "split:", "each under 50 MB", "as a link:", "[HD-1042]"},
			notWant: []string{"Hello Alice", "command"}, html: true},
		{name: "too_large to an agent", template: "too_large",
			edit: func(d *Data) { d.TooLarge = &TooLarge{Size: "62.4 MB", Limit: "50 MB", ToAgent: true} },
			want: []string{"Hello Alice,", "Your mail on HD-1042 was 62.4 MB, more than the 50 MB", "no command in it was run",
				"nothing was sent to the customer", "each under 50 MB"},
			notWant: []string{"Hello Jane"}, html: true},
		{name: "login_failed, device flow, the SMTP account", template: "login_failed",
			edit: func(d *Data) {
				*d = Data{Desk: "Example Support", Login: &LoginFailure{Account: "the SMTP account", Server: "smtp.office365.com:587",
					Username: "support@example.com", Since: "09:15 Tue 24 Nov, UK time", How: "device", Provider: "microsoft",
					Reason:  "invalid_grant: AADSTS70008: The refresh token has expired due to inactivity.",
					Command: "helpdeskd oauth login -config /etc/helpdeskd/helpdesk.toml -smtp", Sending: true}}
			},
			want: []string{"helpdeskd cannot log in to the SMTP account: smtp.office365.com:587 refuses support@example.com with its OAuth2 token, since 09:15 Tue 24 Nov, UK time.",
				"the desk sends no mail", "  invalid_grant: AADSTS70008: The refresh token has expired due to inactivity.\n",
				"\n  helpdeskd oauth login -config /etc/helpdeskd/helpdesk.toml -smtp\n", "no restart",
				"it waited in the outbox", "/healthz answers 503 naming smtp until", "at most once a day"},
			notWant: []string{"HD-", "client secret", "restart it", "#"}},
		{name: "login_failed, Microsoft client secret", template: "login_failed",
			edit: func(d *Data) {
				*d = Data{Desk: "Example Support", Login: &LoginFailure{Account: "mailbox support", Mailbox: "support", Server: "outlook.office365.com:993",
					Username: "support@contoso.com", Since: "09:15 Tue 24 Nov, UK time", How: "client_credentials", Provider: "microsoft",
					ClientID: "11111111-2222", Reason: "invalid_client: AADSTS7000222: The provided client secret keys are expired.",
					Secret: "the file /etc/helpdeskd/client-secret", Reread: true}}
			},
			want: []string{"no mail sent to this mailbox becomes a ticket", "(the file /etc/helpdeskd/client-secret) was refused",
				"(client id 11111111-2222)", "write its value to the file /etc/helpdeskd/client-secret", "IMAP.AccessAsApp",
				"Get-MailboxPermission support@contoso.com", "reads it again at its next try; no restart"},
			notWant: []string{"oauth login", "waited in the outbox"}},
		{name: "login_failed, Google service account", template: "login_failed",
			edit: func(d *Data) {
				*d = Data{Desk: "Example Support", Login: &LoginFailure{Account: "mailbox support", Mailbox: "support", Server: "imap.gmail.com:993",
					Username: "support@example.com", Since: "09:15 Tue 24 Nov, UK time", How: "service_account", Provider: "google",
					Reason: "invalid_grant: Invalid JWT Signature.", Secret: "the systemd credential google-key"}}
			},
			want: []string{"service account's key (the systemd credential google-key) was refused", "Domain-wide delegation",
				"https://mail.google.com/", "restart it afterwards"}},
		{name: "login_failed, password", template: "login_failed",
			edit: func(d *Data) {
				*d = Data{Desk: "Example Support", Login: &LoginFailure{Account: "mailbox sales", Mailbox: "sales", Server: "mail.example.com:993",
					Username: "sales@example.com", Since: "09:15 Tue 24 Nov, UK time", How: "password",
					Reason: "NO [AUTHENTICATIONFAILED] Authentication failed.", Secret: "the file /etc/helpdeskd/sales-password", Reread: true}}
			},
			want: []string{"refuses sales@example.com with its password", "What the server said:",
				"Write the current password of sales@example.com to the file /etc/helpdeskd/sales-password. The daemon reads it again"},
			notWant: []string{"OAuth2", "token provider"}},
		{name: "fields_complete", template: "fields_complete",
			edit:    func(d *Data) { d.Missing = nil },
			want:    []string{"Hello Jane Doe,", "everything we need for ticket HD-1042", "respond by 10:30 Tue 24 Nov, UK time"},
			notWant: []string{startLabel}, html: true},
		{name: "digest", template: "digest",
			edit: func(d *Data) {
				*d = Data{Desk: "Example Support", Digest: &Digest{Period: "08:00 Tue 24 Nov to 08:00 Wed 25 Nov 2026, UK time",
					Thread: "week of 23 Nov 2026", AsOf: "08:00 Wed 25 Nov, UK time", Open: 12, Breached: 2, AtRisk: 1,
					Windows: []DigestWindow{{Name: "the period", Tickets: 2, Rows: []DigestRow{{Policy: "standard", Priority: "critical",
						Clock: "response", Tickets: 2, Rate: "50% (1 of 2)", Met: 1, Breached: 1, Median: "45 min", P90: "3 h"}}},
						{Name: "the last 30 days"}},
					Urgent: []DigestTicket{{Ref: "HD-1042", Subject: "Checkout <b>fails</b>", Priority: "high", Policy: "standard",
						State: "BREACHED", Clock: "response", Due: "10:25 Tue 24 Nov, UK time", Left: "2 h 5 min overdue", Owner: "team web"}},
					Chart: "trend.1@example.com", Trend: []DigestWeek{{Start: "2 Nov", Response: "92% (46 of 50)", Resolution: "-"}}}}
			},
			want: []string{"SLA digest of Example Support", "08:00 Tue 24 Nov to 08:00 Wed 25 Nov 2026, UK time",
				"12 tickets, 2 breached, 1 at risk, 0 paused", "HD-1042", "2 h 5 min overdue", "Checkout <b>fails</b>", "team web",
				"standard", "50% (1 of 2)", "45 min", "No tickets filed.", "92% (46 of 50)"},
			notWant: []string{"Your board", "more:"}, html: true},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.template] = true
		t.Run(tt.name, func(t *testing.T) {
			d := ticketData(t)
			if tt.edit != nil {
				tt.edit(&d)
			}
			r := mustRender(t, s, tt.template, d)
			if got, want := r.HTML != "", tt.html; got != want {
				t.Fatalf("has HTML part = %v, want %v", got, want)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, r.Text)
				}
				if r.HTML != "" && !strings.Contains(visible(r.HTML), w) {
					t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.Text, w) || strings.Contains(visible(r.HTML), w) {
					t.Errorf("mail has %q, want not:\n%s\n%s", w, r.Text, r.HTML)
				}
			}
			if tt.template == "digest" {
				if want := "Example Support: SLA digest, week of 23 Nov 2026"; r.Subject != want {
					t.Errorf("Subject = %q, want %q", r.Subject, want)
				}
				if !strings.Contains(r.HTML, `<img src="cid:trend.1@example.com"`) {
					t.Errorf("HTML does not show the chart by its Content-ID:\n%s", r.HTML)
				}
			} else if r.Subject != "" {
				t.Errorf("Subject = %q, want none (the desk sets it)", r.Subject)
			}
			if !strings.HasSuffix(r.Text, "\n") || strings.Contains(r.Text, "\n\n\n") {
				t.Errorf("text not tidy:\n%q", r.Text)
			}
			if r.HTML != "" && (!strings.HasPrefix(r.HTML, "<!DOCTYPE html>") || strings.Contains(r.HTML, "http")) {
				t.Errorf("HTML is not a self-contained document:\n%s", r.HTML)
			}
		})
	}
	for _, n := range s.Names() {
		if !covered[n] {
			t.Errorf("template %s has no case", n)
		}
	}
}

func TestHTMLEscaping(t *testing.T) {
	s := loadDefaults(t)
	const evil = `<script>alert("x")</script> Tom & Jerry`
	d := ticketData(t)
	d.Text = evil + "\nsecond line"
	d.Customer.Name = evil
	d.Ticket.Subject = evil
	for _, name := range []string{"relay", "resolution", "ack"} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, s, name, d)
			if !strings.Contains(r.Text, evil) {
				t.Errorf("text part lost the raw text %q:\n%s", evil, r.Text)
			}
			if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, "Tom & Jerry") {
				t.Errorf("HTML part has unescaped text:\n%s", r.HTML)
			}
			if !strings.Contains(r.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Tom &amp; Jerry") {
				t.Errorf("HTML part lacks the escaped text:\n%s", r.HTML)
			}
		})
	}
	// Line breaks of a relayed text survive as paragraphs and <br>.
	r := mustRender(t, s, "relay", d)
	if want := "Tom &amp; Jerry<br>second line</p>"; !strings.Contains(r.HTML, want) {
		t.Errorf("HTML lacks %q:\n%s", want, r.HTML)
	}
}

// writeFiles creates a directory holding the given files.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOverride(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"ack.txt":         "{{define \"subject\"}}We got it:\n{{.Ticket.Ref}}{{end}}Dear customer, your reference is {{.Ticket.Ref}}.\n",
		"relay.html":      "<p>{{.Text}}</p><p>{{.Agent.Name}}, {{.Desk}}</p>",
		"resolution.html": "  \n",
		"_footer.txt":     "-- \n{{.Desk}} [{{.Ticket.Ref}}]\n",
		".ack.txt.swp":    "editor swap file, ignored",
	})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := ticketData(t)

	r := mustRender(t, s, "ack", d)
	if got, want := r.Text, "Dear customer, your reference is HD-1042.\n"; got != want {
		t.Errorf("ack text = %q, want %q", got, want)
	}
	if got, want := r.Subject, "We got it: HD-1042"; got != want {
		t.Errorf("ack subject = %q, want %q (one line)", got, want)
	}
	if r.HTML != "" {
		t.Errorf("ack HTML = %q, want none: the default HTML would contradict the overridden text", r.HTML)
	}

	r = mustRender(t, s, "relay", d)
	if got, want := r.HTML, "<p>Some customers get 502 at checkout.\nIt comes and goes.</p><p>Alice, Example Support</p>\n"; got != want {
		t.Errorf("relay HTML = %q, want %q", got, want)
	}
	if !strings.HasSuffix(r.Text, "Alice at Example Support\n\n-- \nExample Support [HD-1042]\n") {
		t.Errorf("relay text does not use the default body with the overridden footer:\n%q", r.Text)
	}

	r = mustRender(t, s, "resolution", d)
	if r.HTML != "" {
		t.Errorf("resolution HTML = %q, want none (empty override)", r.HTML)
	}
	if !strings.Contains(r.Text, "within 7 days") {
		t.Errorf("resolution text is not the default:\n%s", r.Text)
	}

	// Templates not overridden keep their defaults.
	if r := mustRender(t, s, "customer_escalated", d); !strings.Contains(r.HTML, "management team") {
		t.Errorf("customer_escalated lost its default HTML:\n%s", r.HTML)
	}
}

func TestBrokenOverride(t *testing.T) {
	tests := []struct {
		name string
		file string
		body string
		want string // in the error, besides the file name
	}{
		{"syntax error", "ack.txt", "Hello {{if .Queued}}queued\n", "unexpected EOF"},
		{"missing field", "ack.txt", "Ref {{.Ticket.Refx}}\n", "can't evaluate field Refx in type helpdesk.Ticket"},
		{"missing field in a branch the samples skip", "ack.txt",
			"{{if and .Queued (eq .Priority \"low\")}}{{.NextOpn}}{{end}}ok\n", "can't evaluate field NextOpn in type templates.Data"},
		{"missing field inside range", "ack.txt", "{{range .Missing}}{{.Label}}: {{.Whyy}}{{end}}\n",
			"can't evaluate field Whyy in type templates.Field"},
		{"missing field on a range variable", "ack.txt", "{{range $i, $f := .Fields}}{{$f.Valu}}{{end}}\n",
			"can't evaluate field Valu in type templates.Field"},
		{"missing field on a variable", "ack.txt", "{{$t := .Ticket}}{{with .Late}}{{$t.Owner}}{{end}}\n",
			"can't evaluate field Owner in type helpdesk.Ticket"},
		{"missing field inside with", "escalation.txt", "{{with .Late}}{{.Overdue}}{{end}}\n",
			"can't evaluate field Overdue in type templates.Late"},
		{"field of a string", "ack.txt", "{{.Desk.Name}}\n", "can't evaluate field Name in type string"},
		{"missing field in the subject", "ack.txt", "{{define \"subject\"}}{{.Subject}}{{end}}body\n",
			"can't evaluate field Subject in type templates.Data"},
		{"missing field in HTML", "ack.html", "<p>{{.Ticket.Customer.Name}}</p>", "can't evaluate field Name in type string"},
		{"wrong argument type", "relay.txt", "{{indent \"four\" .Text}}\n", "expected integer"},
		{"nil Late on a manual escalation", "escalation.txt", "Late by {{.Late.By}}\n", "nil pointer evaluating *templates.Late.By"},
		{"index into a list the desk may leave empty", "ack.txt", "First missing: {{(index .Missing 0).Label}}\n",
			"only the fields always set"},
		{"HTML ending inside an attribute", "relay.html", "<a title=\"{{.Text}}\n", "ends in a non-text context"},
		{"broken partial", "_commands.txt", "{{.Commands}}\n", "can't evaluate field Commands in type templates.Data"},
		{"empty text", "note.txt", " \n", "a mail needs a text part"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tt.file: tt.body})
			s, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded (%v), want an error", s.Names())
			}
			file := filepath.Join(dir, tt.file)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if got, want := fe.File, file; got != want {
				t.Errorf("FileError.File = %q, want %q (error: %v)", got, want, err)
			}
			if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q or %q", err, file, tt.want)
			}
		})
	}
}

func TestBrokenOverridesAllReported(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"ack.txt":         "{{.Nope}}\n",
		"note.txt":        "{{end}}\n",
		"resolution.txt":  "{{if}}\n",
		"resolution.html": "<p>{{.Text}</p>",
		"relay.htm":       "typo",
	})
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	// The unknown file is reported first, on its own: nothing is parsed
	// from a directory with a typo in it.
	if !strings.Contains(err.Error(), filepath.Join(dir, "relay.htm")) {
		t.Errorf("error %q does not name relay.htm", err)
	}
	if err := os.Remove(filepath.Join(dir, "relay.htm")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	for _, f := range []string{"ack.txt", "note.txt", "resolution.txt", "resolution.html"} {
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, f)) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}

func TestMethodsAndFuncsAccepted(t *testing.T) {
	dir := writeFiles(t, map[string]string{"note.txt": `{{.Customer.String}} {{if .Ticket.IsOpen}}open{{end}} ` +
		`{{.Ticket.CreatedAt.Format "15:04"}} {{title .Priority}} {{upper .Ticket.Ref}} {{join .Reasons ", "}} ` +
		`{{len .Missing}} {{with $x := .Late}}{{$x.Step}}{{end}} {{range $i, $f := .Missing}}{{$i}}{{$f.Why}}{{end}} ` +
		`{{with .Missing}}{{(index . 0).Label}}{{end}} {{$.Desk}} {{printf "%s" .Text | lower}}` + "\n"})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, s, "note", ticketData(t))
	if want := `"Jane Doe" <jane@shop.example> open 08:30 High HD-1042`; !strings.HasPrefix(r.Text, want) {
		t.Errorf("text = %q, want prefix %q", r.Text, want)
	}
}

func TestUnknownFiles(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"ack.text", "did you mean ack.txt?"},
		{"notify-new.txt", "did you mean notify_new.txt?"},
		{"README", "not a template file name"},
		{"welcome.txt", "not a template file name"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tt.file: "x\n"})
			_, err := Load(dir)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Load error = %v, want a *FileError", err)
			}
			if got, want := fe.File, filepath.Join(dir, tt.file); got != want {
				t.Errorf("FileError.File = %q, want %q", got, want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "ack.txt"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Load error = %v, want not a regular file", err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load error = %v, want one wrapping os.ErrNotExist", err)
		}
	})
}

func TestRenderUnknown(t *testing.T) {
	_, err := loadDefaults(t).Render("welcome", ticketData(t))
	if !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("Render error = %v, want ErrUnknownTemplate", err)
	}
}

func TestRenderConcurrent(t *testing.T) {
	s := loadDefaults(t)
	d := ticketData(t)
	want := mustRender(t, s, "ack", d)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, n := range s.Names() {
				dd := d
				dd.Command = &CommandError{Line: "#x"}
				dd.TooLarge = &TooLarge{Size: "2 MB", Limit: "1 MB"}
				dd.Digest = &Digest{}
				if _, err := s.Render(n, dd); err != nil {
					t.Error(err)
				}
			}
			if r, err := s.Render("ack", d); err != nil || r != want {
				t.Errorf("concurrent ack = %v, %v", r, err)
			}
		})
	}
	wg.Wait()
}

func TestFieldLabel(t *testing.T) {
	for _, name := range helpdesk.FieldNames {
		label, why := FieldLabel(name)
		if label == "" || why == "" || !strings.HasSuffix(why, ".") {
			t.Errorf("FieldLabel(%q) = %q, %q; want a label and a sentence", name, label, why)
		}
	}
	if label, why := FieldLabel("order_number"); label != "Order number" || why != "" {
		t.Errorf("FieldLabel(order_number) = %q, %q; want \"Order number\", \"\"", label, why)
	}
}

func TestTidyText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\n\nHello,  \n\n\n\nbye\n\n", "Hello,\n\nbye\n"},
		{"a\r\nb", "a\nb\n"},
		{"text\n\n-- \nfooter   \n", "text\n\n-- \nfooter\n"},
		{"   \n\t\n", ""},
	}
	for _, tt := range tests {
		if got := tidyText(tt.in); got != tt.want {
			t.Errorf("tidyText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParagraphs(t *testing.T) {
	got := paragraphs("Hi,\r\n\r\n\r\nline one  \nline two\n \nend\n")
	want := [][]string{{"Hi,"}, {"line one", "line two"}, {"end"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("paragraphs = %q, want %q", got, want)
	}
}

func TestIndent(t *testing.T) {
	if got, want := indent(2, "a\n\nb\n"), "  a\n\n  b"; got != want {
		t.Errorf("indent = %q, want %q", got, want)
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	s, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	d := fullSample()
	for _, name := range []string{"ack", "notify_new", "relay"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Render(name, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestEmptyPartialOverride(t *testing.T) {
	s, err := Load(writeFiles(t, map[string]string{"_footer.txt": ""}))
	if err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, s, "relay", ticketData(t))
	if got, want := r.Text, "Some customers get 502 at checkout.\nIt comes and goes.\n\nAlice at Example Support\n"; got != want {
		t.Errorf("relay text = %q, want %q (no footer)", got, want)
	}
}

// TestReads: the desk renders a notification once for every agent only
// when the template cannot read the fields that differ between them, in
// any branch, partial or part; Data used whole counts as reading all.
func TestReads(t *testing.T) {
	def, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Agent", "ReplyAddress"} {
		if def.Reads("notify_new", f) || def.Reads("notify_reply", f) {
			t.Errorf("default notify templates read %s; the desk would render them per agent", f)
		}
	}
	if !def.Reads("notify_new", "Ticket") || !def.Reads("notify_new", "Text") {
		t.Error("notify_new reads the ticket and the text")
	}
	if !def.Reads("no_such_template", "Agent") {
		t.Error("an unknown template must count as reading everything")
	}
	tests := []struct {
		name, body string
		reads      bool
	}{
		{"field", "Hi {{.Agent.Name}}\n", true},
		{"root variable", "{{range .Reasons}}{{$.ReplyAddress}}{{end}}\n", true},
		{"with", "{{with .Agent}}{{.Email}}{{end}}\n", true},
		{"branch not taken by samples", "{{if and .Queued (not .Queued)}}{{.Agent.Email}}{{end}}\n", true},
		{"whole data printed", "{{printf \"%v\" .}}\n", true},
		{"whole data in a function", "{{if eq . .}}x{{end}}\n", true},
		{"partial", "{{template \"commands\" .}}{{.Ticket.Ref}}\n", false},
		{"partial given the ticket", "{{template \"commands\" .Ticket}}\n", false},
		{"other fields", "{{.Ticket.Ref}} {{.Customer.Email}} {{.Text}}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(writeFiles(t, map[string]string{"notify_new.txt": tt.body}))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Reads("notify_new", "Agent") || s.Reads("notify_new", "ReplyAddress"); got != tt.reads {
				t.Errorf("reads Agent or ReplyAddress = %v, want %v", got, tt.reads)
			}
		})
	}
	s, err := Load(writeFiles(t, map[string]string{"_commands.txt": "Reply to {{.ReplyAddress}}\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Reads("notify_new", "ReplyAddress") {
		t.Error("a partial reading ReplyAddress, included with the dot, must count")
	}
}
