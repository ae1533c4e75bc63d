package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// Issue 17: check-config (the unit's ExecStartPre=) and run must agree.
// Every case here is a file run refuses: check-config refuses it too, with
// the same output, and check-config -lint, which looks at the file alone,
// passes it.

// hostCase is a configuration whose problem is on the host, not in the
// file; want is a part of the message both commands print.
type hostCase struct {
	name string
	toml func(dir string) string // the configuration; dir holds it
	want string
}

// baseTOML is a complete configuration with its database in dbPath and
// more lines at the end of its [[mailbox]].
func baseTOML(dbPath, mailbox string) string {
	return `[store]
path = "` + dbPath + `"
[smtp]
host = "127.0.0.1"
port = 2525
security = "none"
from = "Support <support@example.com>"
[[mailbox]]
name = "support"
address = "support@example.com"
host = "127.0.0.1"
port = 1143
security = "none"
` + mailbox + `
[[agent]]
email = "alice@example.com"
name = "Alice"
manager = true
`
}

func TestCheckConfigAgreesWithRun(t *testing.T) {
	// No secret of these files is in this process's environment.
	t.Setenv("HD_TEST_MISSING_SECRET", "")
	os.Unsetenv("HD_TEST_MISSING_SECRET")
	t.Setenv(config.CredentialsDirectoryEnv, "")
	t.Setenv(config.StateDirectoryEnv, "")

	cases := []hostCase{
		{"secret from a variable that is not set", func(dir string) string {
			return baseTOML(filepath.Join(dir, "h.db"), `password = "${HD_TEST_MISSING_SECRET}"`)
		}, "mailbox[0].password: environment variable HD_TEST_MISSING_SECRET is not set"},
		{"password file missing", func(dir string) string {
			return baseTOML(filepath.Join(dir, "h.db"), `password_file = "`+filepath.Join(dir, "imap.secret")+`"`)
		}, "mailbox[0].password_file: cannot read password file: "},
		{"credential without systemd", func(dir string) string {
			return baseTOML(filepath.Join(dir, "h.db"), `password_file = "%credentials/imap"`)
		}, "mailbox[0].password_file: %credentials/imap: $CREDENTIALS_DIRECTORY is not set"},
		{"database directory missing", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "imap.secret"), []byte("pw\n"), 0o600)
			return baseTOML(filepath.Join(dir, "gone", "h.db"), `password_file = "imap.secret"`)
		}, "store.path: the database's directory " + "%DIR%" + "/gone does not exist"},
		{"database is a directory", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "imap.secret"), []byte("pw\n"), 0o600)
			os.Mkdir(filepath.Join(dir, "h.db"), 0o700)
			return baseTOML(filepath.Join(dir, "h.db"), `password_file = "imap.secret"`)
		}, "store.path: cannot open %DIR%/h.db for writing: is a directory"},
		{"templates_dir missing", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "imap.secret"), []byte("pw\n"), 0o600)
			return baseTOML(filepath.Join(dir, "h.db"), `password_file = "imap.secret"`) + "[desk]\ntemplates_dir = \"tmpl\"\n"
		}, "desk.templates_dir: stat %DIR%/tmpl: no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "helpdesk.toml")
			if err := os.WriteFile(path, []byte(c.toml(dir)), 0o600); err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(c.want, "%DIR%", dir)

			_, checkErr, checkCode := run(t, "check-config", "-config", path)
			_, runErr, runCode := run(t, "run", "-config", path)
			if checkCode == 0 || runCode == 0 {
				t.Fatalf("check-config exit %d, run exit %d; both must refuse\ncheck-config:\n%s\nrun:\n%s", checkCode, runCode, checkErr, runErr)
			}
			if checkCode != runCode || checkErr != runErr {
				t.Errorf("check-config and run disagree:\ncheck-config (exit %d):\n%s\nrun (exit %d):\n%s", checkCode, checkErr, runCode, runErr)
			}
			if !strings.Contains(checkErr, want) {
				t.Errorf("the message lacks %q:\n%s", want, checkErr)
			}
			if strings.Contains(checkErr, "warning:") {
				t.Errorf("a host problem is a warning:\n%s", checkErr)
			}
			if _, err := os.Stat(filepath.Join(dir, "h.db")); err == nil && c.name != "database is a directory" {
				t.Errorf("run created the database although it refused to start")
			}

			out, lintErr, lintCode := run(t, "check-config", "-lint", "-config", path)
			if lintCode != 0 {
				t.Errorf("check-config -lint: exit %d:\n%s", lintCode, lintErr)
			}
			if !strings.Contains(out, ": ok (") || !strings.Contains(out, "not checked (-lint): secrets, password files, templates_dir, the database's directory") {
				t.Errorf("check-config -lint says:\n%s", out)
			}
		})
	}
}

// TestCheckConfigBrokenTemplate: a broken override fails both, the same way,
// and -lint does not read the templates (a file of the host).
func TestCheckConfigBrokenTemplate(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "tmpl")
	if err := os.Mkdir(tmpl, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmpl, "ack.txt"), []byte("Hello {{ .Nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "imap.secret"), []byte("pw\n"), 0o600)
	path := filepath.Join(dir, "helpdesk.toml")
	doc := baseTOML(filepath.Join(dir, "h.db"), `password_file = "imap.secret"`) + "[desk]\ntemplates_dir = \"tmpl\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, checkErr, checkCode := run(t, "check-config", "-config", path)
	_, runErr, runCode := run(t, "run", "-config", path)
	if checkCode == 0 || checkCode != runCode || checkErr != runErr {
		t.Errorf("check-config (exit %d):\n%s\nrun (exit %d):\n%s", checkCode, checkErr, runCode, runErr)
	}
	if !strings.Contains(checkErr, "templates") || !strings.Contains(checkErr, "ack.txt") {
		t.Errorf("the message does not name the template:\n%s", checkErr)
	}
	if _, errOut, code := run(t, "check-config", "-lint", "-config", path); code != 0 {
		t.Errorf("check-config -lint: exit %d: %s", code, errOut)
	}
}

// TestCheckConfigFileProblemsLint: -lint still finds every problem of the
// file itself, as errors.
func TestCheckConfigFileProblemsLint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	doc := baseTOML("/nonexistent/h.db", `password_file = "%credentials/imap"`+"\npoll_interval = \"5 minutes\"")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "check-config", "-lint", "-config", path)
	if code == 0 || !strings.Contains(errOut, "bad.toml:15: mailbox[0].poll_interval") {
		t.Errorf("check-config -lint on a bad duration: exit %d:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "credential") || strings.Contains(errOut, "store.path") {
		t.Errorf("-lint looked at the host:\n%s", errOut)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCheckConfigPassesWhatRunRuns: a file check-config passes is one run
// starts with, here as systemd runs it: the IMAP password a credential in
// $CREDENTIALS_DIRECTORY, the database path relative and so inside
// $STATE_DIRECTORY.
func TestCheckConfigPassesWhatRunRuns(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	etc, creds, state := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "imap"), []byte(testenv.IMAPPassword+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	path := testenv.Config{Dir: etc, DB: "desk.db", IMAP: imapSrv.Addr(), SMTP: peer.Addr(), IMAPPasswordFile: "%credentials/imap",
		Agents: testenv.Team, HTTP: "127.0.0.1:0"}.Write(t)
	t.Setenv(config.CredentialsDirectoryEnv, creds)
	t.Setenv(config.StateDirectoryEnv, state)
	t.Setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")

	db := filepath.Join(state, "desk.db")
	out, errOut, code := run(t, "check-config", "-config", path)
	if code != 0 || !strings.Contains(out, "; database "+db) {
		t.Fatalf("check-config: exit %d\n%s%s", code, out, errOut)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, []string{"run", "-config", path}, strings.NewReader(""), &bytes.Buffer{}, &logs)
	}()
	testenv.WaitForState(t, "the daemon running", 30*time.Second, func() (bool, string) {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, logs.String())
		default:
		}
		return strings.Contains(logs.String(), "helpdeskd running"), logs.String()
	})
	imapSrv.Deliver(t, "INBOX", customerMail("Hal <hal@web.example>", "Typo on the pricing page", "hal-1@web.example", "",
		"There is a typo on the pricing page: 'Premuim'."))
	peer.Wait(t, "the ack", testenv.To("hal@web.example"))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database is not in $STATE_DIRECTORY: %v", err)
	}
	if _, err := os.Stat(filepath.Join(etc, "desk.db")); err == nil {
		t.Errorf("a database was made beside the configuration")
	}
}
