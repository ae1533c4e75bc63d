//go:build linux

package e2e

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// dovecotBinary finds Debian's dovecot. Without it the test is skipped
// locally and fails in CI (CI=true), where .ci/run installs dovecot-imapd.
func dovecotBinary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"dovecot", "/usr/sbin/dovecot"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if inCI() {
		t.Fatal("CI=true but dovecot is not installed: .ci/run installs it with apt-get install dovecot-imapd")
	}
	t.Skip("dovecot is not installed (apt-get install dovecot-imapd): skipping the end-to-end test against a real IMAP server")
	return ""
}

// startDovecot runs a throwaway Dovecot on a free loopback port, configured
// by testdata/dovecot-conf.sh (plaintext auth on loopback, user testuser,
// Maildir under a temp dir), and returns its address. The test starts it
// from the installed binary and stops it itself (SIGTERM to the master,
// which stops its children), so that nothing outlives the test whoever runs
// it; Pdeathsig covers a test binary that dies.
func startDovecot(t testing.TB) string {
	t.Helper()
	addr, _ := startDovecotWith(t, "testdata/dovecot-conf.sh", nil)
	return addr
}

// startDovecotWith is startDovecot with another configuration script, run
// with env added to its environment; it also returns Dovecot's directory
// (dovecot.log is there).
func startDovecotWith(t testing.TB, confScript string, env []string) (addr, dir string) {
	t.Helper()
	bin := dovecotBinary(t)
	script, err := filepath.Abs(confScript)
	if err != nil {
		t.Fatal(err)
	}
	var lastErr string
	for try := 0; try < 3; try++ {
		// Not t.TempDir: as root the mail processes run as the dovecot user,
		// who must be able to traverse the directory (t.TempDir is 0700).
		dir, err := os.MkdirTemp("", "helpdeskd-e2e-dovecot-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		port := testenv.FreePort(t)
		conf := exec.Command("sh", script, dir, strconv.Itoa(port))
		conf.Env = append(os.Environ(), env...)
		out, err := conf.CombinedOutput()
		if err != nil {
			t.Fatalf("dovecot-conf.sh: %v\n%s", err, out)
		}
		cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
		logf, err := os.Create(filepath.Join(dir, "master.out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("start dovecot: %v", err)
		}
		logf.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if ready(addr, done, 15*time.Second) {
			t.Logf("dovecot %s ready on %s in %v", bin, addr, time.Since(start).Round(time.Millisecond))
			t.Cleanup(func() { stopDovecot(t, cmd, done, dir) })
			return addr, dir
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		lastErr = readLogs(dir)
	}
	t.Fatalf("dovecot did not start:\n%s", lastErr)
	return "", ""
}

// ready waits until the server logs a user in, or the process exits.
func ready(addr string, exited chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := imapclient.DialInsecure(addr, nil); err == nil {
			err = c.Login(imapUser, imapPass).Wait()
			c.Logout().Wait()
			c.Close()
			if err == nil {
				return true
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

func readLogs(dir string) string {
	var b strings.Builder
	for _, f := range []string{"master.out", "dovecot.log"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		fmt.Fprintf(&b, "--- %s\n%s", f, data)
	}
	return b.String()
}

// stopDovecot stops the master with SIGTERM and checks that none of its
// children outlived it.
func stopDovecot(t testing.TB, cmd *exec.Cmd, done chan struct{}, dir string) {
	children := childrenOf(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Errorf("dovecot did not stop within 15s of SIGTERM; killing it")
		cmd.Process.Kill()
		<-done
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range children {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("dovecot child %d outlived its master; killing it", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("dovecot logs:\n%s", readLogs(dir))
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// TestDovecotEndToEnd runs the whole story against Debian's Dovecot: a
// customer's mail is APPENDed, the ack and the agents' notifications reach
// the SMTP peer threaded right, an agent's reply (commands and quoted
// history) is relayed to the customer without its history, and a second
// ticket nobody answers is escalated to the team and then to the managers.
func TestDovecotEndToEnd(t *testing.T) {
	testenv.Long(t)
	imapAddr := startDovecot(t)
	p := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr(), Agents: true})
	d := newDaemon(t, cfg)
	begin := time.Now()
	d.start()
	d.ready()
	t.Logf("helpdeskd ready in %v", time.Since(begin).Round(time.Millisecond))

	// 1. A customer reports a problem.
	appendMails(t, imapAddr, testenv.CRLF(`From: Dan Reyes <dan@retail.example>
To: Example Support <support@example.com>
Subject: Reporting dashboard slow for some users
Message-ID: <dan-1@retail.example>
Date: Fri, 20 Nov 2026 09:40:00 +0000

Hello,

Since Monday 10:00 the reporting dashboard takes about a minute to load for
some users; others are fine, and exporting to CSV works as a workaround.
The browser console shows "Error: request timeout after 60000ms".

Steps to reproduce:
1. Log in as a finance user
2. Open Reports > Dashboard

Dan
`))
	ack := p.WaitWithin(t, 30*time.Second, "the ack to dan", testenv.To("dan@retail.example"))
	t.Logf("first ack at the peer %v after the daemon started", time.Since(begin).Round(time.Millisecond))
	ref := testenv.Ref(t, ack)
	if got, want := ack.Header.Get("Subject"), "Re: Reporting dashboard slow for some users ["+ref+"]"; got != want {
		t.Errorf("ack Subject = %q, want %q", got, want)
	}
	if got, want := ack.Header.Get("In-Reply-To"), "<dan-1@retail.example>"; got != want {
		t.Errorf("ack In-Reply-To = %q, want %q", got, want)
	}
	if got := ack.Header.Get("References"); !strings.Contains(got, "<dan-1@retail.example>") {
		t.Errorf("ack References = %q, want it to name <dan-1@retail.example>", got)
	}
	if got, want := ack.Header.Get("Auto-Submitted"), "auto-replied"; got != want {
		t.Errorf("ack Auto-Submitted = %q, want %q", got, want)
	}
	if from := testenv.Address(t, ack, "From"); from != "support@example.com" {
		t.Errorf("ack From = %q, want support@example.com", from)
	}
	if rt := strings.ToLower(testenv.Address(t, ack, "Reply-To")); !strings.HasPrefix(rt, "support+"+strings.ToLower(ref)+".") {
		t.Errorf("ack Reply-To = %q, want support+%s.<token>@example.com", rt, ref)
	}
	if !strings.Contains(ack.Body, ref) {
		t.Errorf("ack body does not name %s:\n%s", ref, ack.Body)
	}
	notice := p.WaitWithin(t, 30*time.Second, "alice's notification", testenv.And(testenv.To("alice@example.com"), testenv.Subject("["+ref+"]")))
	p.WaitWithin(t, 30*time.Second, "bob's notification", testenv.And(testenv.To("bob@example.com"), testenv.Subject("["+ref+"]")))
	if got, want := notice.Header.Get("In-Reply-To"), "<dan-1@retail.example>"; got != want {
		t.Errorf("notification In-Reply-To = %q, want %q", got, want)
	}
	aliceAddr := testenv.Address(t, notice, "Reply-To")
	if !strings.Contains(aliceAddr, "+") || aliceAddr == testenv.Address(t, ack, "Reply-To") {
		t.Fatalf("notification Reply-To %q is not a per-agent address", aliceAddr)
	}

	// 2. Alice answers from her mail client: commands on top, quoted history below.
	appendMails(t, imapAddr, testenv.CRLF(fmt.Sprintf(`From: Alice <alice@example.com>
To: %s
Subject: Re: %s
Message-ID: <alice-1@example.com>
In-Reply-To: <%s>
References: <dan-1@retail.example> <%s>
Date: Fri, 20 Nov 2026 09:50:00 +0000

#assign me

Hello Dan, we found a slow query behind the dashboard and fixed it. Could
you try again?

Alice

On Fri, 20 Nov 2026 at 09:41, Example Support <support@example.com> wrote:
> New ticket %s from dan@retail.example
> INTERNAL-QUOTED-HISTORY
`, aliceAddr, notice.Header.Get("Subject"), notice.MessageID(), notice.MessageID(), ref)))
	relay := p.WaitWithin(t, 30*time.Second, "the relayed reply to dan", testenv.And(testenv.To("dan@retail.example"), testenv.Body("slow query behind the dashboard")))
	if strings.Contains(relay.Body, "INTERNAL-QUOTED-HISTORY") || strings.Contains(relay.Body, "#assign") {
		t.Errorf("the relayed reply leaks the quoted history or the commands:\n%s", relay.Body)
	}
	if from, err := mail.ParseAddress(relay.Header.Get("From")); err != nil || from.Address != "support@example.com" || !strings.Contains(from.Name, "Alice") {
		t.Errorf("relay From = %q, want Alice's name at support@example.com", relay.Header.Get("From"))
	}
	if got, want := relay.Header.Get("Subject"), "Re: Reporting dashboard slow for some users ["+ref+"]"; got != want {
		t.Errorf("relay Subject = %q, want %q", got, want)
	}
	if got := relay.Header.Get("References"); !strings.Contains(got, "<dan-1@retail.example>") || !strings.Contains(got, "<"+ack.MessageID()+">") {
		t.Errorf("relay References = %q: not in the customer's thread (<dan-1@retail.example>, <%s>)", got, ack.MessageID())
	}
	if got := relay.Header.Get("Auto-Submitted"); got != "" {
		t.Errorf("a relayed human reply carries Auto-Submitted: %q", got)
	}

	// 3. A critical ticket nobody answers: the team is warned at 20% of the
	// 15s response target, the managers are mailed at the breach.
	appendMails(t, imapAddr, testenv.CRLF(`From: Carol Shopper <carol@shop.example>
To: support@example.com
Subject: Checkout is down for all customers
Message-ID: <carol-1@shop.example>
Date: Fri, 20 Nov 2026 10:40:00 +0000

Hi,

Since 09:15 this morning nobody can check out: every customer gets
"HTTP 502 Bad Gateway" on the payment page.

Steps to reproduce:
1. Add any product to the basket
2. Click "Pay now"

Carol
`))
	ack2 := p.WaitWithin(t, 30*time.Second, "the ack to carol", testenv.To("carol@shop.example"))
	filed := time.Now()
	ref2 := testenv.Ref(t, ack2)
	if got, want := ack2.Header.Get("In-Reply-To"), "<carol-1@shop.example>"; got != want {
		t.Errorf("ack 2 In-Reply-To = %q, want %q", got, want)
	}
	// Every mail to the agents about a ticket has its one subject; the
	// body says what happened.
	warning := testenv.And(testenv.Subject("["+ref2+"] "), testenv.Body(ref2+" has used"))
	warn := p.WaitWithin(t, 30*time.Second, "the SLA warning to the team", testenv.And(testenv.To("alice@example.com"), warning))
	p.WaitWithin(t, 30*time.Second, "the SLA warning to bob", testenv.And(testenv.To("bob@example.com"), warning))
	esc := p.WaitWithin(t, 45*time.Second, "the breach escalation to the manager", testenv.And(testenv.To("maria@example.com"),
		testenv.Subject("["+ref2+"] "), testenv.Body("target for "+ref2+" has been missed")))
	t.Logf("escalations: warning %v, breach %v after the ack", warn.At.Sub(filed).Round(time.Millisecond), esc.At.Sub(filed).Round(time.Millisecond))
	if !strings.Contains(esc.Body, "The response target for "+ref2) || !strings.Contains(esc.Body, "Priority:    critical") {
		t.Errorf("escalation body lacks the priority and the clock:\n%s", esc.Body)
	}
	if !strings.Contains(esc.Body, "502 Bad Gateway") {
		t.Errorf("escalation body lacks the customer's text:\n%s", esc.Body)
	}

	// The answered, non-critical ticket was never escalated, and nothing
	// internal reached a customer.
	for _, m := range p.Mails() {
		if testenv.Subject("[" + ref + "] SLA")(m) {
			t.Errorf("ticket %s (answered, 1h target) was escalated: %v %q", ref, m.To, m.Header.Get("Subject"))
		}
		if (testenv.To("dan@retail.example")(m) || testenv.To("carol@shop.example")(m)) && strings.Contains(m.Body, "INTERNAL-QUOTED-HISTORY") {
			t.Errorf("quoted history reached a customer: %q", m.Header.Get("Subject"))
		}
	}
	onceEach(t, acksTo(p.Mails(), "dan@retail.example", "carol@shop.example"), map[string]string{"dan@retail.example": "Reporting dashboard slow", "carol@shop.example": "Checkout is down"}, nil)

	// The store agrees, and every mail on the server is marked processed.
	ts := tickets(t, cfg)
	if len(ts) != 2 {
		t.Fatalf("helpdeskd tickets: %d tickets, want 2: %+v", len(ts), ts)
	}
	for _, tk := range ts {
		switch tk.Ref {
		case ref:
			if tk.Assignee != "alice@example.com" || tk.FirstResponseAt.IsZero() || tk.Priority == "critical" {
				t.Errorf("ticket %s: assignee %q, first response %v, priority %s; want alice, answered, not critical", ref, tk.Assignee, tk.FirstResponseAt, tk.Priority)
			}
		case ref2:
			if tk.Priority != "critical" || !tk.FirstResponseAt.IsZero() {
				t.Errorf("ticket %s: priority %s, first response %v; want critical, unanswered", ref2, tk.Priority, tk.FirstResponseAt)
			}
		default:
			t.Errorf("unexpected ticket %+v", tk)
		}
	}
	total, unprocessed := inboxState(t, imapAddr)
	if total != 3 || unprocessed != 0 {
		t.Errorf("Dovecot INBOX: %d mails, %d without %s; want 3 and 0", total, unprocessed, processedFlag)
	}
	d.stop()
}

// acksTo keeps the automatic replies (Auto-Submitted: auto-replied, RFC
// 3834 §5) to the given customers.
func acksTo(all []testenv.Mail, customers ...string) []testenv.Mail {
	var out []testenv.Mail
	for _, m := range all {
		if m.Header.Get("Auto-Submitted") != "auto-replied" {
			continue
		}
		for _, c := range customers {
			if testenv.To(c)(m) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}
