package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/demo"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// The demo tests start the demo in-process, as `helpdeskd demo` does, and
// talk to it over its own SMTP port with a client of their own (net/smtp);
// what the daemon does is seen in the store, in the mail its SMTP server
// captured and on its output.

// demoOut is the demo's stdout: safe for concurrent writes, and waitable.
type demoOut struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newDemoOut() *demoOut { return &demoOut{changed: make(chan struct{})} }

func (o *demoOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.b.Write(p)
}

func (o *demoOut) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// wait returns the output once re matches it, failing the test after a
// minute.
func (o *demoOut) wait(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(60 * time.Second)
	for {
		o.mu.Lock()
		s, ch := o.b.String(), o.changed
		o.mu.Unlock()
		if m := rx.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("output never matched %q:\n%s", re, s)
		}
	}
}

// runningDemo is a demo started by startTestDemo.
type runningDemo struct {
	*demoApp
	out   *demoOut
	stdin *io.PipeWriter
	done  chan error
	stop  context.CancelFunc
}

// startTestDemo starts the demo with o and runs it until the test ends
// (or quit is typed); stdin is a pipe the test writes commands to.
func startTestDemo(t *testing.T, o demoOptions) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newDemoOut()
	a, err := startDemo(ctx, o, out, testWriter{t})
	if err != nil {
		cancel()
		t.Fatalf("start demo: %v", err)
	}
	pr, pw := io.Pipe()
	d := &runningDemo{demoApp: a, out: out, stdin: pw, done: make(chan error, 1), stop: cancel}
	go func() { d.done <- a.run(ctx, pr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-d.done; err != nil {
			t.Errorf("demo run: %v", err)
		}
		pw.Close()
	})
	return d
}

func (d *runningDemo) type_(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(d.stdin, line+"\n"); err != nil {
		t.Fatalf("type %q: %v", line, err)
	}
}

// waitMail waits for a captured mail.
func (d *runningDemo) waitMail(t *testing.T, what string, match func(demo.Mail) bool) demo.Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := d.servers.WaitCaptured(ctx, match)
	if err != nil {
		var got []string
		for _, m := range d.servers.Captured() {
			got = append(got, fmt.Sprintf("%v %q", m.To, m.Subject()))
		}
		t.Fatalf("%s: %v; captured: %s", what, err, strings.Join(got, "; "))
	}
	return m
}

func (d *runningDemo) ticket(t *testing.T, ref string) *helpdesk.Ticket {
	t.Helper()
	tk, err := d.demoApp.ticket(ref)
	if err != nil {
		t.Fatalf("ticket %s: %v", ref, err)
	}
	return tk
}

func sentTo(addr string) func(demo.Mail) bool {
	return func(m demo.Mail) bool {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				return true
			}
		}
		return false
	}
}

// demoRefIn returns the ticket reference in a subject.
func demoRefIn(t *testing.T, subject string) string {
	t.Helper()
	m := regexp.MustCompile(`\[(HD-\d+)\]`).FindStringSubmatch(subject)
	if m == nil {
		t.Fatalf("no ticket reference in %q", subject)
	}
	return m[1]
}

// sendCustomerMail submits a mail with net/smtp, as any mail client would.
func sendCustomerMail(t *testing.T, smtpAddr, from, to, subject, body string) {
	t.Helper()
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.test@customer.example>\r\n\r\n%s\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), strings.ReplaceAll(body, "\n", "\r\n"))
	envelope, err := mail.ParseAddress(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(smtpAddr, nil, envelope.Address, []string{to}, []byte(msg)); err != nil {
		t.Fatalf("send through the demo's SMTP port: %v", err)
	}
}

const demoOutage = "Since 9:10 this morning nobody in our company can log in: every user gets \"Error 500: internal server error\".\n\nSteps:\n1. open the login page\n2. sign in\n"

// The acceptance test: a mail sent through the demo's SMTP port
// becomes a ticket; its acknowledgement reaches the capture, and so does the
// agents' notification.
func TestDemoMailBecomesTicket(t *testing.T) {
	testenv.CheckGoroutines(t, 15*time.Second)
	d := startTestDemo(t, demoOptions{dir: t.TempDir(), speed: 1, seed: false, http: "127.0.0.1:0"})
	sendCustomerMail(t, d.servers.SMTPAddr(), "Dana Cole <dana@customer.example>", "support@prospectsoft.example",
		"Cannot log in", demoOutage)

	ack := d.waitMail(t, "acknowledgement", func(m demo.Mail) bool {
		return sentTo("dana@customer.example")(m) && strings.Contains(m.Subject(), "[HD-")
	})
	ref := demoRefIn(t, ack.Subject())
	if got, want := ack.Header.Get("Auto-Submitted"), "auto-replied"; got != want {
		t.Errorf("ack Auto-Submitted = %q, want %q (RFC 3834)", got, want)
	}
	if got := ack.HeaderAddress("Reply-To"); !strings.HasPrefix(got, "support+"+strings.ToLower(ref)+".") {
		t.Errorf("ack Reply-To = %q, want the ticket's reply address", got)
	}
	tk := d.ticket(t, ref)
	if got, want := tk.Customer, "dana@customer.example"; got != want {
		t.Errorf("ticket customer = %q, want %q", got, want)
	}
	if got, want := tk.Mailbox, "prospectsoft"; got != want {
		t.Errorf("ticket mailbox = %q, want %q", got, want)
	}
	if got, want := tk.Policy, "prospectsoft"; got != want {
		t.Errorf("ticket policy = %q, want %q", got, want)
	}

	n := d.waitMail(t, "agent notification", func(m demo.Mail) bool {
		return strings.Contains(m.Subject(), "["+ref+"]") && (sentTo("alice@helpdesk.example")(m) || sentTo("pat@helpdesk.example")(m))
	})
	if got := n.HeaderAddress("Reply-To"); !strings.HasPrefix(got, "support+"+strings.ToLower(ref)+".") {
		t.Errorf("notification Reply-To = %q, want the agent's reply address for %s", got, ref)
	}

	// The same, as the demo shows it.
	d.out.wait(t, ref+`\s+filed\s+\w+\s+"Cannot log in" from dana@customer.example`)
	d.out.wait(t, ref+`\s+mail ack\s+-> dana@customer.example`)
	d.out.wait(t, ref+`\s+mail notify\s+-> (alice|pat)@helpdesk.example`)
	d.out.wait(t, `mail in\s+dana@customer.example -> support@prospectsoft.example`)

	// The daemon's HTTP endpoints are up.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	res, err := client.Get("http://" + d.main.HTTPAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Errorf("/healthz: %d, want %d", got, want)
	}
}

// An agent reply typed at the prompt goes, as the notified agent's mail, to
// the agent's reply address; the desk relays it to the customer and stops
// the response clock. A customer reply supplies missing fields. "quit" ends
// the demo and its temporary directory.
func TestDemoPrompt(t *testing.T) {
	testenv.CheckGoroutines(t, 15*time.Second)
	d := startTestDemo(t, demoOptions{speed: 1, seed: false})
	dbDir := filepath.Dir(d.cfg.Store.Path)
	sendCustomerMail(t, d.servers.SMTPAddr(), "Tom Reed <tom@fieldservices.example>", "support@prospectsoft.example",
		"Reports not working", "The reports are not working properly for some of our users.")
	n := d.waitMail(t, "notification", func(m demo.Mail) bool {
		return strings.Contains(m.Subject(), "[HD-") && sentTo("alice@helpdesk.example")(m)
	})
	ref := demoRefIn(t, n.Subject())
	if tk := d.ticket(t, ref); len(tk.Missing) == 0 {
		t.Fatalf("%s misses nothing; the customer reply below is meant to complete it", ref)
	}

	d.type_(t, "reply "+ref+" Thanks Tom, we are looking at it.")
	relay := d.waitMail(t, "relayed agent reply", func(m demo.Mail) bool {
		return sentTo("tom@fieldservices.example")(m) && strings.Contains(m.Subject(), ref) &&
			bytes.Contains(m.Raw, []byte("we are looking at it"))
	})
	if got := relay.HeaderAddress("From"); got != "support@prospectsoft.example" {
		t.Errorf("relay From = %q, want the support address", got)
	}
	d.out.wait(t, ref+`\s+relayed`)
	if tk := d.ticket(t, ref); tk.FirstResponseAt.IsZero() {
		t.Errorf("%s: response clock not stopped by the agent's reply", ref)
	}

	d.type_(t, "customer "+ref+" Start time: 08:50 today | Error message: \"Report failed (code 17)\" | Steps: | 1. open Reports | 2. click Run")
	d.out.wait(t, ref+`\s+fields\s+.*now known`)

	d.type_(t, "tickets")
	d.out.wait(t, `REF\s+PRIORITY[^\n]*\n`+ref)
	d.type_(t, "bogus")
	d.out.wait(t, `unknown command "bogus"`)
	d.type_(t, "quit")
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("run after quit: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("quit did not stop the demo")
	}
	if _, err := os.Stat(dbDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s left behind: %v", dbDir, err)
	}
}

// The seeds give five tickets whose priorities follow the policies, and at
// -speed 1000 the outage's 2-business-hour response target is warned about
// and breached. The real time the demo clock runs from is the test's: it
// stands still until the test moves it past the warning and the breach,
// and the SLA loop is ticked at once instead of on its one-second
// schedule. The seeds go out 10ms apart rather than a second.
func TestDemoSeedsAndEscalation(t *testing.T) {
	testenv.CheckGoroutines(t, 15*time.Second)
	const speed = 1000
	real := &fakeClock{t: time.Now()}
	// A Monday morning in London, inside ProspectSoft's hours.
	d := startTestDemo(t, demoOptions{dir: t.TempDir(), speed: speed, seed: true, seedEvery: 10 * time.Millisecond,
		start: "2025-03-03T10:00:00Z", realNow: real.Now})
	seeds := demo.Seeds()
	byCustomer := map[string]*helpdesk.Ticket{}
	for _, s := range seeds {
		ack := d.waitMail(t, "ack of seed "+s.Name, func(m demo.Mail) bool {
			return sentTo(s.From.Address)(m) && strings.Contains(m.Subject(), "[HD-")
		})
		byCustomer[s.From.Address] = d.ticket(t, demoRefIn(t, ack.Subject()))
	}
	var all []*helpdesk.Ticket
	if err := d.main.Store.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		all, err = tx.Tickets(store.TicketFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := len(all), len(seeds); got != want {
		t.Errorf("%d tickets, want %d", got, want)
	}
	outage := byCustomer["carol@shop.example"]
	tests := []struct {
		customer string
		check    func(*helpdesk.Ticket) bool
		want     string
	}{
		{"carol@shop.example", func(tk *helpdesk.Ticket) bool { return tk.Priority == helpdesk.Critical && len(tk.Missing) == 0 }, "critical, complete"},
		{"ben.ortiz@bigstore.example", func(tk *helpdesk.Ticket) bool { return tk.Priority == helpdesk.High && tk.Plan == "large" }, "high, large plan"},
		{"hannah.price@print-partner.example", func(tk *helpdesk.Ticket) bool { return tk.Priority == helpdesk.Low }, "low"},
		{"tom@fieldservices.example", func(tk *helpdesk.Ticket) bool { return len(tk.Missing) > 0 }, "fields missing"},
		{"jade.liu@harbourfinance.example", func(tk *helpdesk.Ticket) bool {
			return tk.Claimed == helpdesk.Critical && tk.Priority != helpdesk.Critical
		}, "claimed critical, not critical"},
	}
	for _, tt := range tests {
		tk := byCustomer[tt.customer]
		if !tt.check(tk) {
			t.Errorf("%s: %s priority %s (claimed %q), missing %v, plan %q; want %s", tk.Ref, tt.customer, tk.Priority, tk.Claimed, tk.Missing, tk.Plan, tt.want)
		}
	}

	// Filed at 10:00 (the demo clock stood still): the warning is due at
	// 75% of the target, 11:30, the breach at 12:00.
	passDeskTime := func(desk time.Duration) {
		t.Helper()
		real.Set(real.Now().Add(desk / speed))
		if err := d.main.Loop.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	passDeskTime(91 * time.Minute)
	warn := d.waitMail(t, "75% SLA warning of the outage", func(m demo.Mail) bool {
		// The subject is the ticket's one subject; the body says what happened.
		return strings.HasPrefix(m.Subject(), "["+outage.Ref+"] ") && strings.Contains(unfold(string(m.Raw)), outage.Ref+" has used 75%")
	})
	if got := warn.HeaderAddress("Reply-To"); !strings.Contains(got, "+"+strings.ToLower(outage.Ref)+".") {
		t.Errorf("warning Reply-To = %q, want a reply address of %s", got, outage.Ref)
	}
	passDeskTime(30 * time.Minute)
	d.waitMail(t, "breach escalation of the outage to the manager", func(m demo.Mail) bool {
		return sentTo("pat@helpdesk.example")(m) && strings.HasPrefix(m.Subject(), "["+outage.Ref+"] ") &&
			strings.Contains(unfold(string(m.Raw)), "target for "+outage.Ref+" has been missed")
	})
	d.out.wait(t, outage.Ref+`\s+SLA warning\s+response step 75%`)
	d.out.wait(t, outage.Ref+`\s+ESCALATION\s+response step 100%`)
}

// cmdDemo end to end: flags, the banner's addresses, the event lines, and
// the temporary directory gone after Ctrl-C (a cancelled context).
func TestCmdDemo(t *testing.T) {
	testenv.CheckGoroutines(t, 15*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newDemoOut()
	done := make(chan error, 1)
	go func() {
		done <- cmdDemo(ctx, []string{"-seed=false", "-http", "", "-speed", "50", "-v"}, strings.NewReader("help\n"), out, testWriter{t})
	}()
	smtpAddr := out.wait(t, `SMTP\s+(127\.0\.0\.1:\d+)`)[1]
	dbPath := out.wait(t, `SQLite\s+(\S+)`)[1]
	out.wait(t, `x50: one real second is 50s of desk time`)
	out.wait(t, `swaks --server `+regexp.QuoteMeta(smtpAddr)+` --from you@example.com --to support@prospectsoft.example`)
	out.wait(t, `reply REF TEXT`) // the help typed on stdin
	if strings.Contains(out.String(), "HTTP ") {
		t.Errorf("-http \"\" still shows an HTTP listener")
	}
	sendCustomerMail(t, smtpAddr, "dana@customer.example", "support@claritum.example", "Typo on the invoice", "Small cosmetic typo: 'Totel' instead of 'Total'.")
	ref := out.wait(t, `(HD-\d+)\s+filed\s+low`)[1]
	out.wait(t, ref+`\s+mail ack\s+-> dana@customer.example`)
	out.wait(t, ref+`\s+mail notify\s+-> (chris|claire)@helpdesk.example`)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cmdDemo: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("cmdDemo did not stop")
	}
	if _, err := os.Stat(filepath.Dir(dbPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory of %s left behind: %v", dbPath, err)
	}
}

func TestCmdDemoFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"-speed", "0"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"-start", "tomorrow"}, 2},
		{[]string{"-nosuchflag"}, 1},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := cmdDemo(context.Background(), tt.args, strings.NewReader(""), &out, &errOut)
		if got := exitCode(err); err == nil || got != tt.code {
			t.Errorf("demo %v: err %v, exit %d; want exit %d", tt.args, err, got, tt.code)
		}
	}
}

// With -dir the database outlives the demo. A second run does not seed
// again, and files new mail although its fresh in-memory IMAP server
// numbers mail from UID 1 under the same UIDVALIDITY as the first.
func TestDemoKeptDir(t *testing.T) {
	testenv.CheckGoroutines(t, 15*time.Second)
	dir := t.TempDir()
	first := startTestDemo(t, demoOptions{dir: dir, speed: 1, seed: false})
	sendCustomerMail(t, first.servers.SMTPAddr(), "dana@customer.example", "support@prospectsoft.example", "Cannot log in", demoOutage)
	first.waitMail(t, "first ack", sentTo("dana@customer.example"))
	first.stop()
	if err := <-first.done; err != nil {
		t.Fatal(err)
	}
	first.done <- nil // for its cleanup

	second := startTestDemo(t, demoOptions{dir: dir, speed: 1, seed: true})
	second.out.wait(t, `the database already has tickets: not seeding again`)
	sendCustomerMail(t, second.servers.SMTPAddr(), "erin@customer.example", "support@prospectsoft.example", "Invoices page typo", "A small typo on the invoices page, purely cosmetic.")
	ack := second.waitMail(t, "second ack", sentTo("erin@customer.example"))
	if got, want := demoRefIn(t, ack.Subject()), "HD-1001"; got != want {
		t.Errorf("second run filed %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "helpdesk.db")); err != nil {
		t.Errorf("kept database: %v", err)
	}
}

// TestDemoPrintsBoardLink: the demo's banner carries a manager's working
// link to the board, which shows a ticket filed in the demo.
func TestDemoPrintsBoardLink(t *testing.T) {
	d := startTestDemo(t, demoOptions{dir: t.TempDir(), speed: 1, seed: false, http: "", board: "127.0.0.1:0"})
	m := d.out.wait(t, `Board\s+(http://127\.0\.0\.1:\d+/board\?\S+)\s+the managers' SLA board, (\S+)'s link`)
	sendCustomerMail(t, d.servers.SMTPAddr(), "Dana Cole <dana@customer.example>", "support@prospectsoft.example",
		"Cannot log in", demoOutage)
	ack := d.waitMail(t, "acknowledgement", func(m demo.Mail) bool {
		return sentTo("dana@customer.example")(m) && strings.Contains(m.Subject(), "[HD-")
	})
	resp, page := boardGet(t, m[1])
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the banner's board link %s: status %d\n%s", m[1], resp.StatusCode, page)
	}
	if !strings.Contains(page, "link for "+m[2]) || !strings.Contains(page, `id="open">1<`) {
		t.Errorf("the board does not show the demo's ticket %s:\n%s", demoRefIn(t, ack.Subject()), page)
	}
}
