package mailbox

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// startSMTPPeer starts testenv's SMTP capture with o and returns it with
// an outbox configuration for it: plaintext, or, when withTLS is set, with
// STARTTLS on a certificate the configuration trusts and AUTH PLAIN as
// testenv.SMTPUser (o's TLS and Auth are then set here).
func startSMTPPeer(t testing.TB, withTLS bool, o testenv.SMTPOptions) (*testenv.SMTP, SMTPConfig) {
	t.Helper()
	var client *tls.Config
	if withTLS {
		o.TLS, client = wireCert(t)
		o.StartTLS, o.Auth = true, true
	}
	srv := testenv.StartSMTPWith(t, o)
	host, port, _ := net.SplitHostPort(srv.Addr())
	cfg := SMTPConfig{Host: host, Security: SecurityNone, HELO: "helpdesk.test", Timeout: 5 * time.Second}
	cfg.Port, _ = strconv.Atoi(port)
	if withTLS {
		cfg.Security, cfg.TLSConfig = SecurityStartTLS, client
		cfg.Username, cfg.Password = testenv.SMTPUser, testenv.SMTPPassword
	}
	return srv, cfg
}

// parsedMail is a received mail read back with net/mail and mime/multipart.
type parsedMail struct {
	Header      mail.Header
	Text, HTML  string
	Attachments map[string]string // file name → content
	Inline      map[string]string // Content-ID → content
}

func parseReceived(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received mail does not parse: %v\n%s", err, data)
	}
	p := parsedMail{Header: msg.Header, Attachments: map[string]string{}, Inline: map[string]string{}}
	walkPart(t, &p, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", "", msg.Body)
	return p
}

func walkPart(t *testing.T, p *parsedMail, ctype, cte, disp, cid string, body io.Reader) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			walkPart(t, p, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				part.Header.Get("Content-Disposition"), part.Header.Get("Content-Id"), part)
		}
	}
	content := decodeCTE(t, cte, body)
	_, dparams, _ := mime.ParseMediaType(disp)
	switch {
	case strings.HasPrefix(disp, "attachment"):
		p.Attachments[dparams["filename"]] = content
	case strings.HasPrefix(disp, "inline") && cid != "":
		p.Inline[cid] = content
	case mt == "text/plain":
		p.Text = content
	case mt == "text/html":
		p.HTML = content
	}
}

func decodeCTE(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	var b []byte
	var err error
	switch strings.ToLower(cte) {
	case "quoted-printable":
		b, err = io.ReadAll(quotedprintable.NewReader(r))
	case "base64":
		b, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, r))
	default:
		b, err = io.ReadAll(r)
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// fullOutMail is an outbox row using every feature BuildMessage supports.
func fullOutMail() helpdesk.OutMail {
	return helpdesk.OutMail{
		ID:         7,
		TicketID:   42,
		Kind:       helpdesk.KindAck,
		MessageID:  "ack-1042.abc@support.example.com",
		From:       helpdesk.Address{Name: "Example Support", Email: "support@example.com"},
		To:         []helpdesk.Address{{Name: "Zoë Müller", Email: "zoe@example.org"}},
		Cc:         []helpdesk.Address{{Email: "ops@example.org"}},
		ReplyTo:    []helpdesk.Address{{Name: "Support, HD-1042", Email: "support+hd-1042.tok@example.com"}},
		Subject:    "[HD-1042] Checkout is down — we are on it",
		InReplyTo:  "<cust-2@example.org>",
		References: []string{"cust-1@example.org", "<cust-2@example.org>"},
		Text:       "Hello Zoë,\n\nwe received your report.\n",
		HTML:       "<p>Hello Zoë,</p><p>we received your report.</p>",
		Auto:       true,
		Headers:    map[string]string{"X-Helpdesk-Ticket": "HD-1042"},
		Attachments: []helpdesk.Attachment{
			{Filename: "summary.txt", ContentType: "text/plain", Data: []byte("priority: critical\n")},
			{Filename: "logo.png", ContentType: "image/png", ContentID: "<logo@hd>", Inline: true, Data: []byte("PNGDATA")},
			{Filename: "huge.iso", ContentType: "application/octet-stream", Dropped: "too large"},
		},
		CreatedAt: time.Date(2025, 6, 2, 9, 15, 0, 0, time.UTC),
	}
}

// checkFullMail asserts every header and part of fullOutMail, created at
// created.
func checkFullMail(t *testing.T, data []byte, created time.Time) {
	t.Helper()
	p := parseReceived(t, data)
	h := p.Header
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(h.Get("Subject"))
	for _, tt := range []struct{ name, got, want string }{
		{"Message-ID", h.Get("Message-Id"), "<ack-1042.abc@support.example.com>"},
		{"In-Reply-To", h.Get("In-Reply-To"), "<cust-2@example.org>"},
		{"References", strings.Join(strings.Fields(h.Get("References")), " "), "<cust-1@example.org> <cust-2@example.org>"},
		{"Auto-Submitted", h.Get("Auto-Submitted"), "auto-replied"},
		{"X-Auto-Response-Suppress", h.Get("X-Auto-Response-Suppress"), "All"},
		{"X-Helpdesk-Ticket", h.Get("X-Helpdesk-Ticket"), "HD-1042"},
		{"Subject", subject, "[HD-1042] Checkout is down — we are on it"},
		{"Text", p.Text, "Hello Zoë,\n\nwe received your report.\n"},
		{"HTML", p.HTML, "<p>Hello Zoë,</p><p>we received your report.</p>"},
		{"attachment", p.Attachments["summary.txt"], "priority: critical\n"},
		{"inline", p.Inline["<logo@hd>"], "PNGDATA"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if _, ok := p.Attachments["huge.iso"]; ok {
		t.Error("a dropped attachment was sent")
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Example Support" || from[0].Address != "support@example.com" {
		t.Errorf("From = %v (%v)", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Zoë Müller" || to[0].Address != "zoe@example.org" {
		t.Errorf("To = %v (%v)", to, err)
	}
	replyTo, err := h.AddressList("Reply-To")
	if err != nil || len(replyTo) != 1 || replyTo[0].Name != "Support, HD-1042" || replyTo[0].Address != "support+hd-1042.tok@example.com" {
		t.Errorf("Reply-To = %v (%v)", replyTo, err)
	}
	if date, err := h.Date(); err != nil || !date.Equal(created) {
		t.Errorf("Date = %v (%v), want the row's CreatedAt", date, err)
	}
	if ua := h.Get("User-Agent") + h.Get("X-Mailer"); ua != "" {
		t.Errorf("User-Agent/X-Mailer = %q, want none", ua)
	}
}

func TestBuildMessage(t *testing.T) {
	msg, err := BuildMessage(fullOutMail())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	checkFullMail(t, buf.Bytes(), fullOutMail().CreatedAt)
}

func TestBuildMessageNotAuto(t *testing.T) {
	m := fullOutMail()
	m.Auto, m.HTML, m.InReplyTo, m.References = false, "", "", nil
	msg, err := BuildMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p := parseReceived(t, buf.Bytes())
	for _, h := range []string{"Auto-Submitted", "X-Auto-Response-Suppress", "In-Reply-To", "References"} {
		if v := p.Header.Get(h); v != "" {
			t.Errorf("%s = %q, want absent", h, v)
		}
	}
	if got, want := p.Text, m.Text; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if p.HTML != "" {
		t.Errorf("HTML part %q, want none", p.HTML)
	}
}

// TestBuildMessageAutoGenerated: a mail that answers none (the digest)
// marks itself auto-generated through Headers (RFC 3834 §5); an
// auto-reply cannot have its markers replaced.
func TestBuildMessageAutoGenerated(t *testing.T) {
	m := fullOutMail()
	m.Auto = false
	m.Headers = map[string]string{"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
	msg, err := BuildMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p := parseReceived(t, buf.Bytes())
	if got := p.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	m.Auto = true
	if _, err := BuildMessage(m); err == nil {
		t.Errorf("an auto-reply took its Auto-Submitted from Headers")
	}
}

// TestBuildMessageReferences checks that the parent always ends the
// thread and that a long thread is one space-separated header, folded.
func TestBuildMessageReferences(t *testing.T) {
	m := fullOutMail()
	m.InReplyTo = "parent@x"
	m.References = nil
	for i := range 30 {
		m.References = append(m.References, "id"+string(rune('a'+i%26))+"@thread.example.org")
	}
	msg, err := BuildMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	msg.WriteTo(&buf)
	refs := strings.Fields(parseReceived(t, buf.Bytes()).Header.Get("References"))
	if got, want := refs[len(refs)-1], "<parent@x>"; got != want {
		t.Errorf("last reference = %q, want %q", got, want)
	}
	if got, want := len(refs), 27; got != want { // 26 distinct + parent
		t.Errorf("%d references, want %d: %v", got, want, refs)
	}
	for _, r := range refs {
		if strings.Contains(r, ",") || !strings.HasPrefix(r, "<") || !strings.HasSuffix(r, ">") {
			t.Errorf("reference %q is not a bare <msg-id>", r)
		}
	}
	for _, line := range strings.Split(buf.String(), "\r\n") {
		if len(line) > 998 { // RFC 5322 §2.1.1
			t.Errorf("line of %d characters", len(line))
		}
	}
}

func TestBuildMessageErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*helpdesk.OutMail)
	}{
		{"no message-id", func(m *helpdesk.OutMail) { m.MessageID = "" }},
		{"no recipient", func(m *helpdesk.OutMail) { m.To, m.Cc = nil, nil }},
		{"bad recipient", func(m *helpdesk.OutMail) { m.To = []helpdesk.Address{{Email: "not an address"}} }},
		{"recipient with name inside", func(m *helpdesk.OutMail) { m.To = []helpdesk.Address{{Email: "X <x@y.org>"}} }},
		{"bad from", func(m *helpdesk.OutMail) { m.From = helpdesk.Address{Email: "@"} }},
		{"header injection", func(m *helpdesk.OutMail) { m.Headers = map[string]string{"X-A": "b\r\nBcc: evil@x.org"} }},
		{"bad header name", func(m *helpdesk.OutMail) { m.Headers = map[string]string{"X A": "b"} }},
		{"owned header", func(m *helpdesk.OutMail) { m.Headers = map[string]string{"message-id": "<x@y>"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fullOutMail()
			tt.edit(&m)
			if _, err := BuildMessage(m); err == nil {
				t.Error("BuildMessage = nil error, want an error")
			}
		})
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  SMTPConfig
		ok   bool
	}{
		{"defaults", SMTPConfig{Host: "smtp.example.com"}, true},
		{"no host", SMTPConfig{}, false},
		{"bad security", SMTPConfig{Host: "h", Security: "ssl"}, false},
		{"plaintext relay without auth", SMTPConfig{Host: "relay.lan", Security: SecurityNone}, true},
		{"plaintext with auth to remote", SMTPConfig{Host: "relay.lan", Security: SecurityNone, Username: "u"}, false},
		{"plaintext with auth to loopback", SMTPConfig{Host: "127.0.0.1", Security: SecurityNone, Username: "u"}, true},
		{"negative attempts", SMTPConfig{Host: "h", MaxAttempts: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	c := SMTPConfig{Host: "h"}.withDefaults()
	if c.Port != 587 || c.Batch != 50 || c.Retry.Min != 30*time.Second || c.Retry.Max != time.Hour || c.GiveUpAfter != 72*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
}
