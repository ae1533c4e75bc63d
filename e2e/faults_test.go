//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// metric reads one unlabelled counter or gauge from the daemon's /metrics.
func metric(t testing.TB, httpAddr, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return 0, false // not listening yet
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f, true
		}
	}
	return 0, false
}

// acked counts the customers in want that have a mail at the peer.
func acked(p *testenv.SMTP, want map[string]string) int {
	got := map[string]bool{}
	for _, m := range p.Mails() {
		for _, r := range m.To {
			got[strings.ToLower(r)] = true
		}
	}
	n := 0
	for c := range want {
		if got[c] {
			n++
		}
	}
	return n
}

// TestIMAPDropsMidFetch puts a proxy between the daemon and the IMAP server
// that cuts the connection in the middle of a FETCH response: at the start
// of the message literal, in its middle, and after the whole literal but
// before the command's completion. The daemon reconnects and every mail
// becomes exactly one ticket with exactly one acknowledgement.
func TestIMAPDropsMidFetch(t *testing.T) {
	testenv.Long(t)
	upstream := newMemIMAP(t)
	proxy := newCutProxy(t, upstream)
	p := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: proxy.addr, IMAPUser: imapUser, SMTP: p.Addr()})
	d := newDaemon(t, cfg)
	d.start()
	d.ready()

	cuts := []struct {
		name string
		at   func(size int) int
	}{
		{"at the start of the literal", func(int) int { return 0 }},
		{"in the middle of the literal", func(n int) int { return n / 2 }},
		{"after the literal, before the tagged OK", func(n int) int { return n }},
	}
	const perRound = 8
	want := map[string]string{}
	for r, c := range cuts {
		// Cut while fetching the third mail of the round.
		proxy.arm(2, c.at)
		var raws [][]byte
		for i := range perRound {
			from := fmt.Sprintf("user%d.%d@drop.example", r, i)
			subject := fmt.Sprintf("Export failing, report %d-%d", r, i)
			want[from] = subject
			raws = append(raws, customerMail(from, subject, fmt.Sprintf("drop-%d-%d@drop.example", r, i), literalOf(subject, 6000)))
		}
		appendMails(t, upstream, raws...)
		start := time.Now()
		testenv.WaitForState(t, fmt.Sprintf("round %d (cut %s)", r+1, c.name), time.Minute, func() (bool, string) {
			n, _ := deskCounts(t, dir)
			return n == (r+1)*perRound && proxy.cutCount() == r+1, fmt.Sprintf("%d tickets, %d cuts", n, proxy.cutCount())
		})
		t.Logf("cut %s: all %d mails filed %v after the APPENDs", c.name, perRound, time.Since(start).Round(time.Millisecond))
	}
	testenv.WaitForState(t, "every acknowledgement", time.Minute, func() (bool, string) {
		_, pending := deskCounts(t, dir)
		n := acked(p, want)
		return n == len(want) && pending == 0, fmt.Sprintf("%d of %d acknowledged, %d pending", n, len(want), pending)
	})
	d.stop()

	ts := tickets(t, cfg)
	if got, want := len(ts), len(want); got != want {
		t.Errorf("%d tickets, want %d", got, want)
	}
	subjects := map[string]int{}
	for _, tk := range ts {
		subjects[tk.Subject]++
	}
	for from, s := range want {
		if n := subjects[s]; n != 1 {
			t.Errorf("%d tickets for %s's %q, want 1", n, from, s)
		}
	}
	onceEach(t, p.Mails(), want, nil)
	if total, unprocessed := inboxState(t, upstream); total != len(want) || unprocessed != 0 {
		t.Errorf("INBOX: %d mails, %d without %s; want %d and 0 (none quarantined)", total, unprocessed, processedFlag, len(want))
	}
}

// TestSMTPPeerDownThenBack stops the SMTP peer (listener and connections
// closed) while mail arrives and restarts it on the same port: the desk
// keeps filing tickets meanwhile, and once the peer is back every ack
// arrives exactly once. The outbox retries after its backoff, here
// [smtp] retry_min = "2s" doubling up to 4s.
func TestSMTPPeerDownThenBack(t *testing.T) {
	testenv.Long(t)
	imapAddr := newMemIMAP(t)
	p := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(),
		SMTPKeys: "retry_min = \"2s\"\nretry_max = \"4s\""})
	d := newDaemon(t, cfg)
	d.start()
	d.ready()

	want := map[string]string{}
	mailFrom := func(i int) []byte {
		from := fmt.Sprintf("buyer%d@outage.example", i)
		subject := fmt.Sprintf("Invoice %d shows the wrong VAT rate", i)
		want[from] = subject
		return customerMail(from, subject, fmt.Sprintf("outage-%d@outage.example", i), "Hello, invoice shows 19% VAT instead of 21%. How do I fix it?")
	}
	appendMails(t, imapAddr, mailFrom(0))
	p.WaitWithin(t, 30*time.Second, "the first ack, before the outage", testenv.To("buyer0@outage.example"))
	// Not down before the daemon has the peer's 250: a reply lost in the
	// outage rightly makes it send the mail again (RFC 1047).
	testenv.WaitForState(t, "the first ack recorded as sent", 30*time.Second, func() (bool, string) {
		_, pending := deskCounts(t, dir)
		return pending == 0, fmt.Sprintf("%d pending", pending)
	})

	p.Down()
	downAt := time.Now()
	var raws [][]byte
	for i := 1; i <= 5; i++ {
		raws = append(raws, mailFrom(i))
	}
	appendMails(t, imapAddr, raws...)
	testenv.WaitForState(t, "6 tickets and 5 failed send attempts while the peer is down", time.Minute, func() (bool, string) {
		n, pending := deskCounts(t, dir)
		errs, _ := metric(t, cfg.HTTP, "helpdesk_smtp_errors_total")
		return n == 6 && errs >= 5, fmt.Sprintf("%d tickets, %d pending, %v smtp errors", n, pending, errs)
	})
	if got := len(p.Mails()); got != 1 {
		t.Fatalf("the peer got %d mails while down", got)
	}
	p.Up(t)
	upAt := time.Now()
	testenv.WaitForState(t, "every ack after the peer came back", 90*time.Second, func() (bool, string) {
		_, pending := deskCounts(t, dir)
		n := acked(p, want)
		return n == len(want) && pending == 0, fmt.Sprintf("%d of %d acknowledged, %d pending", n, len(want), pending)
	})
	t.Logf("peer down %v; all acks in %v after it came back", upAt.Sub(downAt).Round(time.Millisecond), time.Since(upAt).Round(time.Millisecond))
	d.stop()
	onceEach(t, p.Mails(), want, nil)
}
