package desk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/templates"
)

// loginDesk is the test desk with two managers and the logins of the
// mailbox support (delegated OAuth2) and the SMTP account (a password).
func loginDesk(t *testing.T, managers ...helpdesk.Address) *testDesk {
	t.Helper()
	return newTestDesk(t, func(c *desk.Config) {
		c.Managers = managers
		c.Logins = map[string]templates.LoginFailure{
			"support": {Account: "mailbox support", Mailbox: "support", Server: "outlook.office365.com:993",
				Username: "support@example.com", How: "device", Provider: "microsoft",
				Command: "helpdeskd oauth login -config /etc/helpdeskd/helpdesk.toml -mailbox support"},
			"smtp": {Account: "the SMTP account", Server: "smtp.example.com:587", Username: "support@example.com",
				How: "password", Secret: "the environment variable HD_SMTP_PASSWORD", Sending: true},
		}
	})
}

// TestLoginRefusedMailsManagersOnceADay: the first refusal of a login
// mails the managers what failed, since when, the provider's words and
// the command that renews it; refusals within a day mail nothing, even
// after the login worked in between; a day after the last mail, a
// refusal mails again. Each account counts apart.
func TestLoginRefusedMailsManagersOnceADay(t *testing.T) {
	ctx := context.Background()
	td := loginDesk(t, helpdesk.Address{Name: "Maria", Email: "maria@example.com"}, helpdesk.Address{Email: "coo@example.com"})
	t0 := td.now
	refuse := func(account, reason string) {
		t.Helper()
		if err := td.d.LoginRefused(ctx, account, reason); err != nil {
			t.Fatal(err)
		}
	}
	revoked := "authentication failed at outlook.office365.com:993: getting an access token: invalid_grant: AADSTS70008: expired\r\n\x1b[31mdue to inactivity"
	refuse("support", revoked)
	mails, n := td.enqueuedSince(0)
	if len(mails) != 1 {
		t.Fatalf("%d mails after the first refusal, want 1", len(mails))
	}
	m := mails[0]
	if m.TicketID != 0 || len(m.To) != 2 || m.To[0].Email != "maria@example.com" || m.To[1].Email != "coo@example.com" {
		t.Errorf("mail to %v, ticket %d: want the managers, no ticket", m.To, m.TicketID)
	}
	if want := "Example Support: mailbox support cannot log in"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, want := range []string{"since 10:00 Wed 18 Nov, UK time", "AADSTS70008: expired [31mdue to inactivity",
		"\n  helpdeskd oauth login -config /etc/helpdeskd/helpdesk.toml -mailbox support\n"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("mail lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.ContainsAny(m.Text, "\x1b\r") {
		t.Errorf("the provider's control characters reached the mail: %q", m.Text)
	}
	if rows := td.outbox(); len(rows) != 1 || rows[0].MessageID != m.MessageID {
		t.Errorf("outbox %d rows, want the managers' mail", len(rows))
	}
	if !strings.Contains(td.logs.String(), "managers mailed about the refused login") {
		t.Errorf("the mail was not logged:\n%s", td.logs.String())
	}

	// Within the day: refused again, works, refused again: no mail.
	td.now = t0.Add(time.Hour)
	refuse("support", "still refused")
	if err := td.d.LoginWorks(ctx, "support"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(td.logs.String(), "login accepted again after refusals") {
		t.Errorf("the recovery was not logged:\n%s", td.logs.String())
	}
	td.now = t0.Add(2 * time.Hour)
	refuse("support", "refused after the recovery")
	if mails, _ := td.enqueuedSince(n); len(mails) != 0 {
		t.Fatalf("%d mails within a day of the first", len(mails))
	}
	// A day after the mail: again, since the new run began.
	td.now = t0.Add(LoginDay + time.Minute)
	refuse("support", "refused a day later")
	mails, n = td.enqueuedSince(n)
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "since 12:00 Wed 18 Nov, UK time") ||
		!strings.Contains(mails[0].Text, "refused a day later") {
		t.Fatalf("a day later: %d mails, want 1 since the new run:\n%v", len(mails), mails)
	}

	// The SMTP account has its own day, and its mail waits for itself.
	refuse("smtp", "535 5.7.8 Error: authentication failed")
	mails, _ = td.enqueuedSince(n)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "the SMTP account cannot log in") ||
		!strings.Contains(mails[0].Text, "the environment variable HD_SMTP_PASSWORD") ||
		!strings.Contains(mails[0].Text, "restart it afterwards") {
		t.Fatalf("smtp: %d mails:\n%v", len(mails), mails)
	}
	if !strings.Contains(td.logs.String(), "waits in the outbox") {
		t.Errorf("no warning that the SMTP account's own mail waits:\n%s", td.logs.String())
	}
}

// LoginDay is desk.LoginMailEvery, as the tests move the clock by it.
const LoginDay = desk.LoginMailEvery

// TestLoginRefusedNoManagers: with no manager configured nothing is
// enqueued and a warning is logged, once a day.
func TestLoginRefusedNoManagers(t *testing.T) {
	td := loginDesk(t)
	for range 3 {
		if err := td.d.LoginRefused(context.Background(), "support", "refused"); err != nil {
			t.Fatal(err)
		}
	}
	if rows := td.outbox(); len(rows) != 0 {
		t.Errorf("%d mails with no manager", len(rows))
	}
	if n := strings.Count(td.logs.String(), "no manager to mail"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, td.logs.String())
	}
}
