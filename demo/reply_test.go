package demo

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/message"
)

func TestReply(t *testing.T) {
	notification := "From: \"Example Support Desk\" <support@prospectsoft.example>\r\n" +
		"To: \"Alice Hart\" <alice@helpdesk.example>\r\n" +
		"Reply-To: \"Example Support Desk\" <support+HD-1000.abc@prospectsoft.example>\r\n" +
		"Subject: [HD-1000] CRITICAL: Checkout down\r\n" +
		"Date: Mon, 03 Mar 2025 10:00:05 +0000\r\n" +
		"Message-ID: <n1@prospectsoft.example>\r\n" +
		"References: <c1@shop.example>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCarol wrote: checkout is down.\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Carol wrote: checkout is down.</p>\r\n--b--\r\n"
	h, err := mail.ReadMessage(strings.NewReader(notification))
	if err != nil {
		t.Fatal(err)
	}
	in := Mail{From: "support@prospectsoft.example", To: []string{"alice@helpdesk.example"}, Raw: []byte(notification), Header: h.Header}
	date := time.Date(2025, 3, 3, 10, 20, 0, 0, time.UTC)
	o, err := Reply(in, "#priority high\nWe are on it.", date)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.From, "alice@helpdesk.example"; got != want {
		t.Errorf("envelope from %s, want %s", got, want)
	}
	if got, want := strings.Join(o.To, ","), "support+hd-1000.abc@prospectsoft.example"; got != want {
		t.Errorf("envelope to %s, want %s", got, want)
	}
	m, err := message.Parse(o.Raw, message.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Subject, "Re: [HD-1000] CRITICAL: Checkout down"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if got, want := m.From.Name, "Alice Hart"; got != want {
		t.Errorf("From name %q, want %q", got, want)
	}
	if got, want := strings.Join(m.InReplyTo, " "), "n1@prospectsoft.example"; got != want {
		t.Errorf("In-Reply-To %q, want %q", got, want)
	}
	if got, want := strings.Join(m.References, " "), "c1@shop.example n1@prospectsoft.example"; got != want {
		t.Errorf("References %q, want %q", got, want)
	}
	if !strings.Contains(m.Text, "> Carol wrote: checkout is down.") {
		t.Errorf("the notification's text is not quoted:\n%s", m.Text)
	}
	if got, want := strings.TrimSpace(m.NewText), "#priority high\nWe are on it."; got != want {
		t.Errorf("new text %q, want %q", got, want)
	}

	// Without Reply-To the answer goes to From; without recipients there
	// is nobody to answer as.
	h.Header = mail.Header{"From": {"a@x.example"}, "Subject": {"Re: hi"}}
	in = Mail{To: []string{"b@y.example"}, Raw: []byte("From: a@x.example\r\n\r\nhi\r\n"), Header: h.Header}
	if o, err := Reply(in, "ok", date); err != nil || o.To[0] != "a@x.example" {
		t.Errorf("reply without Reply-To = %v, %v; want to a@x.example", o.To, err)
	}
	if _, err := Reply(Mail{Header: h.Header}, "ok", date); err == nil {
		t.Error("reply to a mail without recipient succeeded")
	}
}
