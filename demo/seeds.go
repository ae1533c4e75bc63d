package demo

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
)

// Seed is one incident mail the demo sends at start, written as a customer
// of one of the example's vendors would, from the examples in that vendor's
// support policy (../shared/policies).
type Seed struct {
	Name    string // what it shows, e.g. "an outage"
	Mailbox string // the configured mailbox it is sent to
	From    mail.Address
	Subject string
	// Body is the text; "{start}" stands for a clock time 25 minutes
	// before the mail's date, on the vendor's local clock.
	Body string
}

// Seeds are the demo's incidents: an outage, a slow dashboard, a typo, an
// incomplete report and a cosmetic issue its sender calls critical.
func Seeds() []Seed {
	return []Seed{{
		Name:    "an outage (ProspectSoft 000: Business Critical, 2 business hours response)",
		Mailbox: "prospectsoft",
		From:    mail.Address{Name: "Carol Baker", Address: "carol@shop.example"},
		Subject: "Checkout down for all customers",
		Body: `Hello,

Our web shop is down for all customers since {start}: nobody can complete a
checkout and the storefront returns an error page. The whole sales team is
affected and we have no workaround.

Service: Prospect eCommerce checkout
Impact: every customer, about 300 orders an hour lost
Start time: {start} today

Steps to reproduce:
1. Open the shop and add any product to the basket
2. Click "Checkout"
3. The page shows the error below

Error message:
  502 Bad Gateway: upstream checkout-service not responding

Carol Baker
Head of Digital, Shop Example Ltd
`,
	}, {
		Name:    "a slow dashboard (StoreConnect 003: High, Large plan, 1 week resolution)",
		Mailbox: "storeconnect",
		From:    mail.Address{Name: "Ben Ortiz", Address: "ben.ortiz@bigstore.example"},
		Subject: "Admin dashboard very slow for some of our staff",
		Body: `Hi team,

Since {start} the store admin dashboard has been very slow for some of our
staff: the orders page takes 30 to 40 seconds to load and sometimes times
out. The storefront itself works and customers can still buy.

Steps:
1. Log in to the admin dashboard
2. Open the orders page
3. The spinner runs for 30 seconds or more

Sometimes the page ends with "504 Gateway Timeout".

Thanks,
Ben
`,
	}, {
		Name:    "a typo (Claritum 004: Low, 24 business hours response)",
		Mailbox: "claritum",
		From:    mail.Address{Name: "Hannah Price", Address: "hannah.price@print-partner.example"},
		Subject: "Typo on the order confirmation page",
		Body: `Hello,

A small cosmetic thing: the order confirmation page says "Your order has
been recieved". It should read "received". No impact on anything, it just
looks odd to our clients.

Kind regards,
Hannah Price
`,
	}, {
		Name:    "an incomplete report (ProspectSoft 000: the incident information is asked for)",
		Mailbox: "prospectsoft",
		From:    mail.Address{Name: "Tom Reed", Address: "tom@fieldservices.example"},
		Subject: "Reports not working",
		Body: `Hi,

The sales reports have stopped working for half of our sales team. Can
you have a look?

Thanks,
Tom
`,
	}, {
		Name:    "a cosmetic issue claimed critical (Prosper EX 002: a declared tier must meet the requirements)",
		Mailbox: "prosperex",
		From:    mail.Address{Name: "Jade Liu", Address: "jade.liu@harbourfinance.example"},
		Subject: "URGENT: Critical issue - logo misaligned on the login page",
		Body: `Priority: Critical

The company logo on the login page is a few pixels off centre in Safari.
It is purely cosmetic and everything else works, but please fix it asap!

Jade Liu
Harbour Finance
`,
	}}
}

// Outgoing is a mail ready to be submitted: envelope and message.
type Outgoing struct {
	From string   // envelope sender
	To   []string // envelope recipients
	Raw  []byte
}

// Build writes the seed as an RFC 5322 message dated date (shown on the
// clock of the mailbox's policy calendar) to the address of its mailbox in
// cfg.
func (s Seed) Build(cfg *config.Config, date time.Time) (Outgoing, error) {
	mb, ok := cfg.Mailbox(s.Mailbox)
	if !ok {
		return Outgoing{}, fmt.Errorf("demo seed %q: no mailbox %q in the configuration", s.Name, s.Mailbox)
	}
	if p := cfg.PolicyFor(mb, s.From.Address); p != nil && p.Calendar != nil {
		date = date.In(p.Calendar.Location())
	}
	body := strings.ReplaceAll(s.Body, "{start}", date.Add(-25*time.Minute).Format("15:04"))
	to := mail.Address{Name: cfg.Desk.Name, Address: mb.Address}
	raw, err := textMail(s.From, to, s.Subject, body, date, "", nil)
	if err != nil {
		return Outgoing{}, fmt.Errorf("demo seed %q: %w", s.Name, err)
	}
	return Outgoing{From: s.From.Address, To: []string{mb.Address}, Raw: raw}, nil
}

// textMail writes a plain-text message (quoted-printable UTF-8) with a fresh
// Message-ID in the sender's domain (RFC 5322 §3.6.4).
func textMail(from, to mail.Address, subject, body string, date time.Time, inReplyTo string, refs []string) ([]byte, error) {
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{&from})
	h.SetAddressList("To", []*mail.Address{&to})
	h.SetSubject(subject)
	h.SetDate(date)
	h.SetMessageID(helpdesk.NewMessageID(from.Address))
	if inReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{inReplyTo})
		h.SetMsgIDList("References", append(refs, inReplyTo))
	}
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	if _, err := w.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	return buf.Bytes(), nil
}

// Send submits o to the SMTP server at addr over one connection, without
// TLS or login, as a customer's mail client would; ctx bounds the whole
// exchange.
func Send(ctx context.Context, addr string, o Outgoing) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("send to %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	c := smtp.NewClient(conn)
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, time.Minute
	if err := c.Hello("demo.localhost"); err != nil {
		return fmt.Errorf("send to %s: EHLO: %w", addr, err)
	}
	if err := c.SendMail(o.From, o.To, bytes.NewReader(o.Raw)); err != nil {
		return fmt.Errorf("send to %s: %w", addr, err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("send to %s: QUIT: %w", addr, err)
	}
	return nil
}
