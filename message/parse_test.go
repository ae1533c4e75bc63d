package message

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// parseFixture parses testdata/parse/name.
func parseFixture(t *testing.T, name string, opts ParseOptions) *helpdesk.Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw, opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	if !bytes.Equal(m.Raw, raw) {
		t.Errorf("%s: Raw is not the input", name)
	}
	return m
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file       string
		messageID  string
		from       helpdesk.Address
		subject    string
		date       string // RFC 3339, "" for zero
		newText    string
		textHas    string // a piece of Text that must be kept (history included)
		inReplyTo  string
		references []string
		autoReason string
		suppress   bool
	}{
		{
			file: "gmail_reply.eml", messageID: "CAF=q9_gmail1@mail.gmail.com",
			from:    helpdesk.Address{Name: "Alice Example", Email: "alice@example.com"},
			subject: "Re: [HD-1042] Checkout is down", date: "2024-03-05T09:41:12+01:00",
			newText:   "It started at 9:15 this morning, every customer gets error 502.",
			textHas:   "> Please tell us when it started.",
			inReplyTo: "ack-1042@helpdesk.example", references: []string{"first@helpdesk.example", "ack-1042@helpdesk.example"},
		},
		{
			file: "outlook_reply.eml", messageID: "AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.outlook.com",
			from:    helpdesk.Address{Name: "Müller, Jürgen", Email: "j.mueller@kunde.example"},
			subject: "AW: [HD-7] Login fails", date: "2024-03-06T14:02:33Z",
			newText:   "Hallo,\n\nseit heute Morgen können sich alle Benutzer nicht mehr anmelden.\n\nGrüße\nJürgen Müller",
			textHas:   "-----Ursprüngliche Nachricht-----\nVon: Support",
			inReplyTo: "ack-7@helpdesk.example",
		},
		{
			file: "outlook_web_html.eml", messageID: "BN8PR12MB3330@BN8PR12MB3330.namprd12.prod.outlook.com",
			from:    helpdesk.Address{Name: "Dana Doe", Email: "dana@corp.example"},
			subject: "RE: [HD-9] Slow reports", date: "2024-03-07T08:00:00-05:00",
			newText: "Reports take 2 minutes to load since Monday.\n\nOnly the sales team is affected.",
			textHas: "From: Support <support@helpdesk.example>\nSent: Wednesday, March 6, 2024 4:00 PM",
		},
		{
			file: "apple_mail.eml", messageID: "5F0D2E7A-1B1C-4A40-9C4B-2F1AF8E1C0D1@mobile.example",
			from:    helpdesk.Address{Name: "Chris Mobile", Email: "chris@mobile.example"},
			subject: "Re: Your ticket HD-12", date: "2024-03-08T18:22:10+01:00",
			newText: "Yes, it still happens – café menu page crashes.",
			textHas: "Sent from my iPhone", inReplyTo: "ack-12@helpdesk.example", references: []string{"ack-12@helpdesk.example"},
		},
		{
			file: "thunderbird.eml", messageID: "d3adb33f-1111-2222-3333-444455556666@tb.example",
			from:    helpdesk.Address{Name: "Terry Bird", Email: "terry@tb.example"},
			subject: "Re: [HD-15] Export broken", date: "2024-03-09T10:00:00+01:00",
			newText: "Steps: open Reports, click Export, pick CSV.",
			textHas: "-- \nTerry Bird", inReplyTo: "ack-15@helpdesk.example", references: []string{"ack-15@helpdesk.example"},
		},
		{
			file: "latin1.eml", messageID: "latin1@exemple.fr",
			from:    helpdesk.Address{Name: "Renée Lefèvre", Email: "renee@exemple.fr"},
			subject: "Problème de facturation à régler", date: "2024-03-10T11:00:00+01:00",
			newText: "Bonjour, la facture n'est pas arrivée. Merci d'avance, Renée.",
		},
		{
			file: "shift_jis.eml", messageID: "sjis@example.jp",
			from:    helpdesk.Address{Name: "山田 太郎", Email: "taro@example.jp"},
			subject: "接続エラー", date: "2024-03-11T09:00:00+09:00",
			newText: "サーバーに接続できません。至急対応をお願いします。",
		},
		{
			file: "koi8r.eml", messageID: "koi8@example.ru",
			from:    helpdesk.Address{Name: "Иван Петров", Email: "ivan@example.ru"},
			subject: "Оплата", date: "2024-03-11T12:00:00+03:00",
			newText: "Добрый день! Не работает оплата картой.",
		},
		{
			file: "html_only.eml", messageID: "html-only@shop.example",
			from:    helpdesk.Address{Email: "web@shop.example"},
			subject: "Price wrong", date: "2024-03-12T10:00:00Z",
			newText: "The price shown for SKU 42 is €0.00 & checkout accepts it.\n\n* Open the product page\n* Add to cart\n\nSee the product <https://shop.example/p/42>.",
			textHas: "> How can we help?",
		},
		{
			file: "autoreply.eml", messageID: "oof-1@example.com",
			from:    helpdesk.Address{Name: "Kim Away", Email: "kim@example.com"},
			subject: "Automatic reply: [HD-3] Checkout is down", date: "2024-03-17T10:00:00Z",
			newText:    "I am out of the office until Monday.",
			autoReason: "Auto-Submitted: auto-replied", suppress: true,
		},
		{
			file: "list.eml", messageID: "list-1@lists.example.org",
			from:    helpdesk.Address{Name: "Announce", Email: "announce@lists.example.org"},
			subject: "[announce] New release", date: "2024-03-17T11:00:00Z",
			newText: "Version 2 is out.", autoReason: "Precedence: list",
		},
		{
			file: "no_message_id.eml", messageID: "f888eae0cdaa5db6d1221b7d31929d06@synthetic.helpdeskd",
			from:    helpdesk.Address{Name: "broken", Email: "noreply@robot.example"},
			subject: "no id here", newText: "Body without Message-ID.",
			inReplyTo: "one@x.example", references: []string{"bare@id.example"}, autoReason: "null return path",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := parseFixture(t, tt.file, ParseOptions{})
			if got, want := m.MessageID, tt.messageID; got != want {
				t.Errorf("MessageID = %q, want %q", got, want)
			}
			if got, want := m.From, tt.from; got != want {
				t.Errorf("From = %+v, want %+v", got, want)
			}
			if got, want := m.Subject, tt.subject; got != want {
				t.Errorf("Subject = %q, want %q", got, want)
			}
			gotDate := ""
			if !m.Date.IsZero() {
				gotDate = m.Date.Format(time.RFC3339)
			}
			if got, want := gotDate, tt.date; got != want {
				t.Errorf("Date = %q, want %q", got, want)
			}
			if got, want := m.NewText, tt.newText; got != want {
				t.Errorf("NewText = %q, want %q", got, want)
			}
			if !strings.Contains(m.Text, tt.textHas) {
				t.Errorf("Text = %q, want it to contain %q", m.Text, tt.textHas)
			}
			if got, want := strings.Join(m.InReplyTo, " "), tt.inReplyTo; !strings.HasPrefix(got, want) || (want == "" && got != "") {
				t.Errorf("InReplyTo = %q, want %q first", got, want)
			}
			if got, want := strings.Join(m.References, " "), strings.Join(tt.references, " "); got != want {
				t.Errorf("References = %q, want %q", got, want)
			}
			if got, want := m.AutoReason, tt.autoReason; got != want {
				t.Errorf("AutoReason = %q, want %q", got, want)
			}
			if got, want := m.Suppress, tt.suppress; got != want {
				t.Errorf("Suppress = %v, want %v", got, want)
			}
			if tt.file != "no_message_id.eml" && len(m.Defects) > 0 {
				t.Errorf("Defects = %q, want none", m.Defects)
			}
		})
	}
}

func TestParseHeadersOfGmailReply(t *testing.T) {
	m := parseFixture(t, "gmail_reply.eml", ParseOptions{})
	if got, want := len(m.To), 1; got != want {
		t.Fatalf("len(To) = %d, want %d", got, want)
	}
	if got, want := m.To[0], (helpdesk.Address{Name: "Support", Email: "support@helpdesk.example"}); got != want {
		t.Errorf("To = %+v, want %+v", got, want)
	}
	if got, want := len(m.Cc), 1; got != want || m.Cc[0].Email != "bob@example.com" {
		t.Errorf("Cc = %+v, want bob@example.com", m.Cc)
	}
	if got, want := strings.Join(m.Recipients, " "), "support@helpdesk.example"; got != want {
		t.Errorf("Recipients = %q, want %q", got, want)
	}
	if got, want := m.ReturnPath, "alice@example.com"; got != want {
		t.Errorf("ReturnPath = %q, want %q", got, want)
	}
	if !strings.Contains(m.HTML, `<blockquote class="gmail_quote">`) {
		t.Errorf("HTML not kept: %q", m.HTML)
	}
	want := []helpdesk.AuthResult{
		{AuthServID: "mx.helpdesk.example", Method: "dkim", Result: "pass", Domain: "example.com", Header: "Authentication-Results", Field: 2},
		{AuthServID: "mx.helpdesk.example", Method: "spf", Result: "pass", Domain: "example.com", Header: "Authentication-Results", Field: 2},
		{AuthServID: "mx.helpdesk.example", Method: "dmarc", Result: "pass", Domain: "example.com", Policy: "none", Header: "Authentication-Results", Field: 2},
	}
	if got := len(m.AuthResults); got != len(want) {
		t.Fatalf("AuthResults = %+v, want %+v", m.AuthResults, want)
	}
	for i := range want {
		if got := m.AuthResults[i]; got != want[i] {
			t.Errorf("AuthResults[%d] = %+v, want %+v", i, got, want[i])
		}
	}
}

func TestParseNestedMultipart(t *testing.T) {
	m := parseFixture(t, "nested.eml", ParseOptions{})
	if got, want := m.Text, "See the screenshot below and the log attached."; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if !strings.Contains(m.HTML, "cid:shot1@example.org") {
		t.Errorf("HTML = %q, want the related HTML part", m.HTML)
	}
	if got, want := len(m.Attachments), 2; got != want {
		t.Fatalf("%d attachments, want %d: %+v", got, want, m.Attachments)
	}
	img, pdf := m.Attachments[0], m.Attachments[1]
	if got, want := img.Filename, "screenshot.png"; got != want {
		t.Errorf("image name = %q, want %q", got, want)
	}
	if got, want := img.ContentID, "shot1@example.org"; got != want {
		t.Errorf("image Content-ID = %q, want %q", got, want)
	}
	if !img.Inline || pdf.Inline {
		t.Errorf("Inline = %v, %v; want true, false", img.Inline, pdf.Inline)
	}
	if got, want := img.Size, int64(70); got != want || !bytes.HasPrefix(img.Data, []byte("\x89PNG")) {
		t.Errorf("image: size %d, data %q; want %d bytes of PNG", got, img.Data[:min(8, len(img.Data))], want)
	}
	// RFC 2231 file name, percent-encoded UTF-8.
	if got, want := pdf.Filename, "résumé.pdf"; got != want {
		t.Errorf("pdf name = %q, want %q", got, want)
	}
	if got, want := pdf.ContentType, "application/pdf"; got != want {
		t.Errorf("pdf type = %q, want %q", got, want)
	}
	if !bytes.HasPrefix(pdf.Data, []byte("%PDF-1.4")) || pdf.Size != int64(len(pdf.Data)) {
		t.Errorf("pdf data = %q (size %d)", pdf.Data, pdf.Size)
	}
}

func TestParseAttachmentOverLimit(t *testing.T) {
	m := parseFixture(t, "big_attachment.eml", ParseOptions{MaxAttachmentSize: 1024})
	if got, want := len(m.Attachments), 2; got != want {
		t.Fatalf("%d attachments, want %d", got, want)
	}
	big, small := m.Attachments[0], m.Attachments[1]
	if big.Data != nil || big.Dropped == "" {
		t.Errorf("big attachment kept: %d bytes, Dropped %q", len(big.Data), big.Dropped)
	}
	if got, want := big.Size, int64(4096); got != want {
		t.Errorf("dropped size = %d, want %d (counted while skipping)", got, want)
	}
	if got, want := string(small.Data), "tiny"; got != want || small.Dropped != "" {
		t.Errorf("small attachment = %q (dropped %q), want %q", got, small.Dropped, want)
	}
	if got, want := m.Text, "Dump attached."; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}

	// Under the default limit the same file is kept whole.
	m = parseFixture(t, "big_attachment.eml", ParseOptions{})
	if got, want := len(m.Attachments[0].Data), 4096; got != want {
		t.Errorf("default limit: %d bytes kept, want %d", got, want)
	}
	for i, b := range m.Attachments[0].Data {
		if b != byte(i) {
			t.Fatalf("byte %d = %d, want %d", i, b, byte(i))
		}
	}
	// The limit is exact: a file of exactly the limit is kept.
	m = parseFixture(t, "big_attachment.eml", ParseOptions{MaxAttachmentSize: 4096})
	if m.Attachments[0].Data == nil {
		t.Errorf("file of exactly the limit dropped: %q", m.Attachments[0].Dropped)
	}
	m = parseFixture(t, "big_attachment.eml", ParseOptions{MaxAttachmentSize: 4095})
	if m.Attachments[0].Data != nil {
		t.Errorf("file one byte over the limit kept")
	}
}

func TestParseEvilFilenames(t *testing.T) {
	m := parseFixture(t, "evil_filename.eml", ParseOptions{})
	want := []string{"passwd", "evil.dll", "invoicefdp.exe", "hidden", "attachment-5.png", strings.Repeat("a", maxFilenameBytes-4) + ".txt", "_CON.txt"}
	if got := len(m.Attachments); got != len(want) {
		t.Fatalf("%d attachments, want %d", got, len(want))
	}
	for i, w := range want {
		if got := m.Attachments[i].Filename; got != w {
			t.Errorf("attachment %d: name %q, want %q", i, got, w)
		}
	}
	if got, want := string(m.Attachments[0].Data), "root:x:0:0"; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
}

func TestParseDeliveryReport(t *testing.T) {
	m := parseFixture(t, "dsn.eml", ParseOptions{})
	b := m.Bounce
	if b == nil {
		t.Fatal("Bounce = nil, want a delivery report")
	}
	if got, want := b.OriginalMessageID, "ack-1042@helpdesk.example"; got != want {
		t.Errorf("OriginalMessageID = %q, want %q", got, want)
	}
	if got, want := strings.Join(b.Recipients, ","), "gone@customer.example"; got != want {
		t.Errorf("Recipients = %q, want %q", got, want)
	}
	if got, want := b.Action, "failed"; got != want {
		t.Errorf("Action = %q, want %q", got, want)
	}
	if got, want := b.Status, "5.1.1"; got != want {
		t.Errorf("Status = %q, want %q", got, want)
	}
	if got, want := b.Diagnostic, "550 5.1.1 <gone@customer.example>: Recipient address rejected: User unknown"; got != want {
		t.Errorf("Diagnostic = %q, want %q", got, want)
	}
	if got, want := m.ReturnPath, "<>"; got != want {
		t.Errorf("ReturnPath = %q, want %q", got, want)
	}
	if m.AutoReason == "" {
		t.Error("a bounce must count as automatic mail")
	}
	if len(m.Attachments) != 0 {
		t.Errorf("report parts became attachments: %+v", m.Attachments)
	}
}

func TestParseMalformed(t *testing.T) {
	m := parseFixture(t, "malformed.eml", ParseOptions{})
	if got, want := m.Text, "café au lait\n\nand the end never comes"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got, want := m.Subject, "=?x-unknown-charset?Q?caf=E9?= broken é subject"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if got, want := len(m.Attachments), 1; got != want {
		t.Fatalf("%d attachments, want %d", got, want)
	}
	if got, want := m.Attachments[0].Data, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !bytes.Equal(got, want) {
		t.Errorf("truncated base64 gave %v, want %v", got, want)
	}
	for _, want := range []string{"malformed Content-Type", "not terminated", "unknown charset", "truncated"} {
		found := false
		for _, d := range m.Defects {
			found = found || strings.Contains(d, want)
		}
		if !found {
			t.Errorf("Defects %q lack %q", m.Defects, want)
		}
	}
}

func TestParseTolerantHeaders(t *testing.T) {
	m := parseFixture(t, "no_message_id.eml", ParseOptions{})
	if got, want := len(m.To), 2; got != want {
		t.Fatalf("To = %+v, want 2 addresses from the broken header", m.To)
	}
	if got, want := m.To[1].Email, "b@example.com"; got != want {
		t.Errorf("To[1] = %q, want %q", got, want)
	}
	if got, want := strings.Join(m.InReplyTo, " "), "one@x.example two@x.example"; got != want {
		t.Errorf("InReplyTo = %q, want %q", got, want)
	}
	if got, want := strings.Join(m.Recipients, " "), "support@helpdesk.example support+hd-5.tok@helpdesk.example"; got != want {
		t.Errorf("Recipients = %q, want %q", got, want)
	}
	if !m.Date.IsZero() {
		t.Errorf("Date = %v, want zero for an unparseable value", m.Date)
	}
	// The synthetic id is stable: the same bytes give the same id,
	// other bytes another.
	again := parseFixture(t, "no_message_id.eml", ParseOptions{})
	if again.MessageID != m.MessageID {
		t.Errorf("synthetic id not stable: %q vs %q", again.MessageID, m.MessageID)
	}
	raw := append(bytes.Clone(m.Raw), '\n')
	other, err := Parse(raw, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if other.MessageID == m.MessageID {
		t.Errorf("different bytes gave the same synthetic id %q", m.MessageID)
	}
}

func TestParseNoHeaderSeparator(t *testing.T) {
	m := parseFixture(t, "no_separator.eml", ParseOptions{})
	if got, want := m.From.Email, "lee@example.com"; got != want {
		t.Errorf("From = %q, want %q", got, want)
	}
	if got, want := m.Text, "This line starts the body without a blank line."; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if len(m.Defects) == 0 {
		t.Error("missing header/body separator not reported as a defect")
	}
}

func TestParseQuarantine(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		reason string // "" = parsed
	}{
		{"empty", "", "empty message"},
		{"white space", " \r\n\t\n", "empty message"},
		{"no header", "just a line of text\nand another\n", "no header fields: not an RFC 5322 message"},
		{"header only", "Subject: hi\n", ""},
		{"body only after blank line", "\n\nbody", "no header fields: not an RFC 5322 message"},
		{"mbox From line", "From someone@example.com Mon Jan  1 00:00:00 2024\nFrom: a@example.com\n\nhi\n", ""},
		{"binary junk", "\x00\x01\x02\xff\xfe", "no header fields: not an RFC 5322 message"},
		{"bare CR", "Subject: x\r\r\rbody", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.raw), ParseOptions{})
			if tt.reason == "" {
				if err != nil || m == nil {
					t.Fatalf("Parse = %v, want a message", err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if got, want := pe.Reason, tt.reason; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
			if m != nil {
				t.Errorf("message returned with the error")
			}
		})
	}
}

// TestParseLargeAttachmentNotBuffered parses a mail with an 8 MiB
// attachment under a 1 MiB limit and checks that the file was counted
// while streaming, not buffered: Parse allocates a small fraction of it.
func TestParseLargeAttachmentNotBuffered(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	var raw bytes.Buffer
	raw.WriteString("From: big@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	raw.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n")
	raw.WriteString("--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		raw.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	raw.WriteString(enc + "\r\n--b--\r\n")
	in := raw.Bytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Parse(in, ParseOptions{MaxAttachmentSize: 1 << 20})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(m.Attachments), 1; got != want {
		t.Fatalf("%d attachments, want %d", got, want)
	}
	a := m.Attachments[0]
	if a.Data != nil || a.Dropped == "" {
		t.Errorf("attachment kept (%d bytes) or no reason (%q)", len(a.Data), a.Dropped)
	}
	if got, want := a.Size, int64(len(data)); got != want {
		t.Errorf("Size = %d, want %d", got, want)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Parse of a %d-byte mail allocated %d bytes", len(in), alloc)
	if alloc > 1<<20 {
		t.Errorf("Parse allocated %d bytes for a %d-byte mail; the dropped file was buffered", alloc, len(in))
	}
}
