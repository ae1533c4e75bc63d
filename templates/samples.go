package templates

import (
	"time"

	"github.com/helpdeskd/helpdesk"
)

// sample is one Data Load renders every template against.
type sample struct {
	label string
	data  Data
}

// samples returns the data Load renders template name against: one with
// every field set, one for the out-of-hours queue and a warning step, and
// one with only what the desk always sets for that template. Together with
// the static field check they make a template that loads one that renders.
func samples(name string) []sample {
	full := fullSample()

	queued := fullSample()
	queued.Queued = true
	queued.Ticket.LinkedTo = ""
	queued.ClaimNote = ""
	queued.Late = &Late{Clock: "resolution", Target: "1 business day", Due: "17:00 Wed 25 Nov, UK time",
		By: "2h", Breached: false, Step: "75%"}

	bare := Data{
		Desk: "Example Support",
		Ticket: helpdesk.Ticket{ID: 1, Ref: "HD-1", Customer: "someone@example.net", Priority: helpdesk.Medium,
			Status: helpdesk.StatusOpen},
		Customer: helpdesk.Address{Email: "someone@example.net"},
		Priority: string(helpdesk.Medium),
	}
	switch name {
	case "command_error":
		bare.Command = &CommandError{Line: "#x", Problem: "unknown command #x"}
	case "undelivered":
		bare.Undelivered = []Undelivered{{Email: "someone@example.net"}}
	case "too_large":
		bare.TooLarge = &TooLarge{Size: "62.4 MB", Limit: "50 MB"}
	case "login_failed":
		bare.Ticket, bare.Customer, bare.Priority = helpdesk.Ticket{}, helpdesk.Address{}, ""
		bare.Login = &LoginFailure{Account: "the SMTP account", Server: "smtp.example.com:587", Username: "support@example.com",
			Reason: "535 5.7.8 authentication failed", Since: "09:15 Tue 24 Nov, UK time", How: "password"}
	case "digest":
		bare.Ticket, bare.Customer, bare.Priority = helpdesk.Ticket{}, helpdesk.Address{}, ""
		bare.Digest = &Digest{Period: "08:00 Tue 24 Nov to 08:00 Wed 25 Nov 2026, UTC", Thread: "week of 23 Nov 2026",
			AsOf: "08:00 Wed 25 Nov, UTC", Windows: []DigestWindow{{Name: "the period"}, {Name: "the last 30 days"}}}
	}
	return []sample{{"every field set", full}, {"queued, warning step", queued}, {"only the fields always set", bare}}
}

func fullSample() Data {
	created := time.Date(2026, 11, 24, 8, 25, 0, 0, time.UTC)
	fields := helpdesk.Fields{
		StartTime: "since 9:15 this morning", StartInstant: created.Add(-70 * time.Minute),
		ErrorText: "502 Bad Gateway", ReproSteps: "1. Add an item to the basket\n2. Press Pay",
		Impact: "all customers", Service: "web shop checkout",
	}
	t := helpdesk.Ticket{
		ID: 1042, Ref: "HD-1042", Token: "k3x9q", Subject: "Checkout fails with 502",
		Customer: "jane@example.com", CustomerName: "Jane Doe", Mailbox: "support", Policy: "standard",
		Plan: "large", Team: "web", Assignee: "alice@example.com", Priority: helpdesk.High,
		PrioritySource: "triage", Claimed: helpdesk.Critical, Reasons: []string{"high: 'some customers'"},
		Status: helpdesk.StatusOpen, Fields: fields, Missing: []string{helpdesk.FieldReproSteps},
		LinkedTo: "HD-0999", CreatedAt: created, UpdatedAt: created,
		FirstResponseAt: created.Add(time.Hour), ResponseDue: created.Add(2 * time.Hour),
		ResolutionDue: created.Add(8 * time.Hour),
		Pauses:        []helpdesk.Pause{{From: created.Add(2 * time.Hour), To: created.Add(3 * time.Hour)}},
		NextCheckAt:   created.Add(90 * time.Minute),
	}
	d := Data{
		Desk: "Example Support", Ticket: t,
		Customer:     helpdesk.Address{Name: "Jane Doe", Email: "jane@example.com"},
		Agent:        helpdesk.Address{Name: "Alice", Email: "alice@example.com"},
		Text:         "Checkout shows 502 for every customer.\n\nThanks,\nJane",
		ReplyAddress: "support+hd-1042.k3x9q@example.com",
		Priority:     string(helpdesk.High), Claimed: string(helpdesk.Critical),
		ClaimNote:     "You marked this as critical; from what you describe we have filed it as high for now.",
		Reasons:       t.Reasons,
		ResponseDue:   "10:25 Tue 24 Nov, UK time",
		ResolutionDue: "16:25 Tue 24 Nov, UK time",
		NextOpen:      "08:30 Wed 25 Nov, UK time",
		Late: &Late{Clock: "response", Target: "2h", Due: "10:25 Tue 24 Nov, UK time", By: "15m",
			Breached: true, Step: "100%"},
		Command:      &CommandError{Line: "#stauts resolved", Problem: "unknown command #stauts", Accepted: "#status open|pending|resolved|closed"},
		Reason:       "customer is losing orders",
		ReopenWindow: "7 days",
		Age:          "2h 5m",
		Notice:       "mallory@evil.example is not on this ticket (the mail joined it by references).",
		Undelivered:  []Undelivered{{Email: "old.colleague@example.com", Reply: "550 5.1.1 <old.colleague@example.com>: Recipient address rejected: User unknown"}},
		Reached:      []string{"jane@example.com"},
		TooLarge:     &TooLarge{Size: "62.4 MB", Limit: "50 MB", ToAgent: true},
		Files: []File{{Name: "checkout-error.png", Size: "48 KiB"},
			{Name: "server.log", Size: "30.0 MiB", Note: "not kept: 31457280 bytes exceeds the 26214400 byte attachment limit"},
			{Name: "3 more"}},
		Changes: []string{"Reopened by the customer: it was resolved 2h ago."},
		Login: &LoginFailure{Account: "mailbox support", Mailbox: "support", Server: "outlook.office365.com:993",
			Username: "support@example.com", Since: "09:15 Tue 24 Nov, UK time", How: "device", Provider: "microsoft",
			ClientID: "00000000-0000-0000-0000-000000000000",
			Reason:   "authentication failed at outlook.office365.com:993: getting an access token: the token endpoint answered 400 Bad Request: invalid_grant: AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
			Secret:   "the file /etc/helpdeskd/client-secret", Reread: true,
			Command: "helpdeskd oauth login -config /etc/helpdeskd/helpdesk.toml -mailbox support", Sending: true},
		Digest: &Digest{Period: "08:00 Tue 24 Nov to 08:00 Wed 25 Nov 2026, UK time", Thread: "week of 23 Nov 2026",
			AsOf: "08:00 Wed 25 Nov, UK time", Open: 12, Breached: 2, AtRisk: 1, Paused: 1,
			Windows: []DigestWindow{{Name: "the period", Tickets: 5, Rows: []DigestRow{
				{Policy: "standard", Priority: "critical", Clock: "response", Tickets: 2, Rate: "50% (1 of 2)", Met: 1, Breached: 1, Median: "45 min", P90: "3 h"},
				{Policy: "standard", Priority: "critical", Clock: "resolution", Tickets: 2, Rate: "none yet", Running: 2, Median: "-", P90: "-"},
			}}, {Name: "the last 30 days", Tickets: 40}},
			Urgent: []DigestTicket{{Ref: "HD-1042", Subject: "Checkout fails with 502", Priority: "high", Policy: "standard",
				State: "BREACHED", Clock: "response", Due: "10:25 Tue 24 Nov, UK time", Left: "2 h 5 min overdue", Owner: "alice@example.com"}},
			More: 3, Chart: "trend.abc@example.com",
			Trend: []DigestWeek{{Start: "2 Nov", Response: "92% (46 of 50)", Resolution: "-"}},
			Board: "https://desk.example.com/board?m=maria%40example.com&x=1&s=00", BoardUntil: "25 Dec 2026"},
	}
	for _, name := range helpdesk.FieldNames {
		label, why := FieldLabel(name)
		d.Fields = append(d.Fields, Field{Name: name, Label: label, Value: fields.Get(name), Why: why})
	}
	label, why := FieldLabel(helpdesk.FieldReproSteps)
	d.Missing = []Field{{Name: helpdesk.FieldReproSteps, Label: label, Why: why}}
	return d
}
