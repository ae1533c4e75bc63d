package testenv

import (
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdesk/config"
)

// TestLineDiff checks the diff the golden tests print.
func TestLineDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n"
	b := "1\n2x\n3\n4\n5\n6\n7\n8\n9\n10\n"
	want := "  1\n- 2\n+ 2x\n  3\n  4\n  …\n  8\n  9\n+ 10\n"
	if got := LineDiff(a, b); got != want {
		t.Errorf("LineDiff =\n%s\nwant\n%s", got, want)
	}
	if got := LineDiff(a, a); got != "" {
		t.Errorf("diff of equal texts: %q", got)
	}
}

func send(t *testing.T, addr, from, to, subject, body string) {
	t.Helper()
	msg := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject + "@x.example>\r\n\r\n" + body + "\r\n"
	if err := smtp.SendMail(addr, nil, from, []string{to}, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", subject, err)
	}
}

// The capture records what it accepts, Wait finds old and new mail, and
// it comes back on its address after Down.
func TestSMTP(t *testing.T) {
	c := StartSMTP(t)
	send(t, c.Addr(), "a@x.example", "Carol@Shop.example", "one [HD-7]", "first")
	got := make(chan Mail, 1)
	go func() { got <- c.Wait(t, "two", And(To("carol@shop.example"), Subject("two"))) }()
	send(t, c.Addr(), "a@x.example", "carol@shop.example", "two", "second body")
	m := <-got
	if m.MessageID() != "two@x.example" || m.From != "a@x.example" || !Body("second body")(m) {
		t.Errorf("Wait gave %q from %s: %q", m.MessageID(), m.From, m.Body)
	}
	if first := c.Wait(t, "one", To("carol@shop.example")); Ref(t, first) != "HD-7" || Address(t, first, "From") != "a@x.example" {
		t.Errorf("first mail: ref %q, From %q", Ref(t, first), first.Header.Get("From"))
	}
	if n := c.Count(To("carol@shop.example")); n != 2 || len(c.Mails()) != 2 {
		t.Errorf("Count = %d of %d mails, want 2 of 2", n, len(c.Mails()))
	}
	addr := c.Addr()
	c.Down()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("the capture still accepts connections after Down")
	}
	c.Up(t)
	send(t, c.Addr(), "a@x.example", "b@y.example", "three", "after the outage")
	if c.Addr() != addr || c.Count(Subject("three")) != 1 {
		t.Errorf("after Up: address %s (was %s), %d mails", c.Addr(), addr, len(c.Mails()))
	}
}

// Deliver and Append reach the account, IDLE announces earlier mail, and
// the server serves the same mailboxes after a restart.
func TestIMAP(t *testing.T) {
	s := StartIMAP(t, IMAPOptions{Folders: []string{"INBOX", "Sales"}})
	CheckIdleAnnounces(t, s.Addr(), IMAPUser, IMAPPassword, func() {
		s.Deliver(t, "INBOX", "From: a@x.example\nTo: support@example.com\nSubject: s\n\nhi\n")
	})
	uid := s.Append(t, "Sales", CRLF("Subject: t\n\nthere\n"), imap.FlagSeen)
	if uid != 1 {
		t.Errorf("first UID in Sales = %d, want 1", uid)
	}
	s.Stop()
	s.Stop() // twice is fine
	s.Restart(t)
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(IMAPUser, IMAPPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"INBOX", "Sales"} {
		st, err := c.Status(f, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if *st.NumMessages != 1 {
			t.Errorf("%s holds %d mails after the restart, want 1", f, *st.NumMessages)
		}
	}
	c.Logout().Wait()
}

// A test configuration loads as the daemon loads it, with the test
// servers' addresses and the password resolved.
func TestConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, IMAP: "127.0.0.1:1143", SMTP: "127.0.0.1:2525", Mailbox: `team = "first-line"`, Agents: Team,
		HTTP: "127.0.0.1:0", Extra: "[desk]\nauto_reply_limit = 3"}.Load(t)
	mb := cfg.Mailboxes[0]
	if mb.Name != "support" || mb.Host != "127.0.0.1" || mb.Port != 1143 || mb.Team != "first-line" ||
		mb.Username != IMAPUser || mb.Password.Value != IMAPPassword || mb.Security != config.SecurityNone {
		t.Errorf("mailbox = %+v", mb)
	}
	if cfg.SMTP.Port != 2525 || cfg.Store.Path != filepath.Join(dir, "helpdesk.db") || cfg.Desk.AutoReplyLimit != 3 {
		t.Errorf("smtp port %d, store %s, auto_reply_limit %d", cfg.SMTP.Port, cfg.Store.Path, cfg.Desk.AutoReplyLimit)
	}
	if len(cfg.Agents) != 3 || !cfg.Agents[2].Manager || cfg.HTTP.Listen != "127.0.0.1:0" {
		t.Errorf("agents %+v, http %q", cfg.Agents, cfg.HTTP.Listen)
	}
	if cfg.File != filepath.Join(dir, "helpdesk.toml") {
		t.Errorf("file %s", cfg.File)
	}
	env := strings.Join(Config{IMAPPassword: "p"}.Env(), "\n")
	if !strings.Contains(env, "\n"+IMAPPasswordEnv+"=p") {
		t.Errorf("Env lacks %s=p", IMAPPasswordEnv)
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, "three polls", time.Minute, func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("%d polls, want 3", n)
	}
}

// The module root is found from a package directory, and the corpus beside
// it is found or reported absent.
func TestModuleRootAndCorpus(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := ModuleRoot(t)
	if want := filepath.Dir(filepath.Dir(wd)); root != want { // this package is internal/testenv
		t.Errorf("module root %s, want %s", root, want)
	}
	dir, ok := CorpusDir()
	if dir != filepath.Join(filepath.Dir(root), "shared", "corpus") {
		t.Errorf("corpus dir %s", dir)
	}
	if !ok {
		t.Skipf("no corpus at %s", dir)
	}
	m := CorpusManifest(t)
	if len(m) < 500 || m[0].Path == "" || m[0].Source == "" {
		t.Fatalf("manifest: %d entries, first %+v", len(m), m[0])
	}
	files := CorpusFiles(t, "messages/flufl.bounce")
	for _, f := range files {
		if strings.HasSuffix(f, ".json") || strings.HasPrefix(filepath.Base(f), "LICENSE") {
			t.Errorf("CorpusFiles lists %s", f)
		}
	}
	if len(files) == 0 || len(ReadCorpus(t, "MANIFEST.tsv")) == 0 {
		t.Errorf("%d files under messages/flufl.bounce", len(files))
	}
}

// Only test code imports testenv: no package of the module imports it
// from a file that is not a test.
func TestOnlyTestsImportTestenv(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "./...")
	cmd.Dir = ModuleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if imp == "github.com/helpdeskd/helpdesk/internal/testenv" {
				t.Errorf("%s imports testenv outside its tests", pkg)
			}
		}
	}
}
