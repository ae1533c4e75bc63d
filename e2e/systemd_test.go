//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// Issue 17: contrib/helpdeskd.service works as its own comments say. One
// test checks the unit with systemd's own verifier; the other installs the
// daemon with the install commands of the unit's comments into a root of
// its own, does what systemd does for the unit (credentials, state
// directory, environment) and runs the unit's commands as an unprivileged
// user of the DynamicUser= range.

// unitPath is the unit, seen from this package.
const unitPath = "../contrib/helpdeskd.service"

// dynamicUID is a user and group of systemd's DynamicUser= range
// (61184-65519) that has no entry in /etc/passwd, like the service's.
const dynamicUID = 61184

// unit is a systemd unit file read as systemd reads it, as far as these
// tests need: the [Service] settings in order (keys may repeat) and the
// install commands of its leading comments.
type unit struct {
	service map[string][]string
	install [][]string // "#   install ..." lines, split into words
}

func readUnit(t testing.TB, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{service: map[string][]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			if words := strings.Fields(rest); section == "" && len(words) > 0 && words[0] == "install" {
				u.install = append(u.install, words)
			}
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && section == "[Service]" {
			u.service[k] = append(u.service[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one returns the single value of a [Service] key.
func (u unit) one(t testing.TB, key string) string {
	t.Helper()
	if vs := u.service[key]; len(vs) == 1 {
		return vs[0]
	}
	t.Fatalf("the unit has %d %s= lines, want one", len(u.service[key]), key)
	return ""
}

// TestSystemdUnitVerifies runs `systemd-analyze verify` on the unit, with
// the daemon installed where its ExecStart= says (rewritten into a temp
// directory: the verifier checks that the binary exists). Any diagnostic
// fails the test, warnings included; a misspelt key proves the verifier
// speaks here.
func TestSystemdUnitVerifies(t *testing.T) {
	testenv.Long(t)
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if inCI() {
			t.Fatal("systemd-analyze missing (Debian package systemd; .ci/run installs it)")
		}
		t.Skip("systemd-analyze missing: apt-get install systemd")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "helpdeskd")
	copyFile(t, daemonBin, bin, 0o755)
	text, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte("ExecStart=/usr/local/bin/helpdeskd ")) {
		t.Fatalf("%s: no ExecStart=/usr/local/bin/helpdeskd", unitPath)
	}
	rewritten := bytes.ReplaceAll(text, []byte("=/usr/local/bin/helpdeskd "), []byte("="+bin+" "))
	verify := func(content []byte) (string, error) {
		unitDir := t.TempDir()
		path := filepath.Join(unitDir, "helpdeskd.service")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(analyze, "verify", path)
		cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := verify(rewritten); err != nil || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
	bad := bytes.Replace(rewritten, []byte("StateDirectory=helpdeskd"), []byte("StateDirectry=helpdeskd"), 1)
	if out, _ := verify(bad); !strings.Contains(out, "StateDirectry") {
		t.Errorf("systemd-analyze verify passed a misspelt key; its output: %q", out)
	}
}

// TestSystemdLayoutUnprivileged installs helpdeskd as the unit's comments
// say, into a root of its own, and runs the unit's ExecStartPre= and
// ExecStart= as an unprivileged user of the DynamicUser= range, with what
// systemd gives the service: the LoadCredential= files in
// $CREDENTIALS_DIRECTORY (readable by the service's user only), the
// StateDirectory= in $STATE_DIRECTORY (the user's), $INVOCATION_ID. The
// daemon reads its configuration and its IMAP password as credentials,
// creates its database in the state directory, answers a mail and stops
// cleanly on SIGTERM. The user cannot read the installed configuration
// itself: that was the bug.
func TestSystemdLayoutUnprivileged(t *testing.T) {
	testenv.Long(t)
	if os.Geteuid() != 0 {
		t.Skip("installing as root and switching to another user needs root")
	}
	u := readUnit(t, unitPath)
	if len(u.install) == 0 {
		t.Fatalf("%s: no install commands in its comments", unitPath)
	}

	// The root the unit is installed into: every directory up to it open
	// to the service's user, as / is.
	root, err := os.MkdirTemp("", "helpdeskd-e2e-systemd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	for _, d := range []string{"", "etc", "etc/systemd/system", "usr/local/bin", "run/credentials", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	under := func(p string) string { return filepath.Join(root, p) }

	// The files the install commands name, in the directory they run in.
	imapAddr := newMemIMAP(t)
	p := testenv.StartSMTP(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	src := t.TempDir()
	copyFile(t, daemonBin, filepath.Join(src, "helpdeskd"), 0o755)
	copyFile(t, unitPath, filepath.Join(src, "contrib", "helpdeskd.service"), 0o644)
	toml := testenv.Config{DB: "helpdesk.db", IMAP: imapAddr, IMAPUser: imapUser, IMAPPasswordFile: config.CredentialPrefix + "imap",
		SMTP: p.Addr(), HTTP: httpAddr, Agents: e2eAgents, Mailbox: `team = "first-line"`}.TOML()
	if err := os.WriteFile(filepath.Join(src, "helpdesk.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "imap.secret"), []byte(imapPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The install commands, with every absolute path moved under root.
	for _, words := range u.install {
		args := append([]string(nil), words...)
		for i, a := range args {
			if strings.HasPrefix(a, "/") {
				args[i] = under(a)
			}
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(words, " "), err, out)
		}
	}
	for path, want := range map[string]os.FileMode{"/etc/helpdeskd": fs.ModeDir | 0o750, "/etc/helpdeskd/helpdesk.toml": 0o640} {
		fi, err := os.Stat(under(path))
		if err != nil {
			t.Fatalf("after the install commands: %v", err)
		}
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != want || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: mode %v owner %d:%d, want %v root:root", path, fi.Mode(), st.Uid, st.Gid, want)
		}
	}
	bin := under("/usr/local/bin/helpdeskd")

	// What systemd does before the first command of the service.
	creds := under("/run/credentials/helpdeskd.service")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, lc := range u.service["LoadCredential"] {
		id, path, ok := strings.Cut(lc, ":")
		if !ok || !filepath.IsAbs(path) {
			t.Fatalf("LoadCredential=%s: want ID:/absolute/path", lc)
		}
		// PID 1 reads the file as root; the copy is the service user's.
		copyFile(t, under(path), filepath.Join(creds, id), 0o400)
		chown(t, filepath.Join(creds, id))
	}
	if err := os.Chmod(creds, 0o500); err != nil {
		t.Fatal(err)
	}
	chown(t, creds)
	state := under("/var/lib/" + u.one(t, "StateDirectory"))
	mode := os.FileMode(0o755)
	if m := u.service["StateDirectoryMode"]; len(m) == 1 {
		v, err := strconv.ParseUint(m[0], 8, 32)
		if err != nil {
			t.Fatalf("StateDirectoryMode=%s: %v", m[0], err)
		}
		mode = os.FileMode(v)
	}
	if err := os.Mkdir(state, mode); err != nil {
		t.Fatal(err)
	}
	chown(t, state)
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		config.CredentialsDirectoryEnv + "=" + creds, config.StateDirectoryEnv + "=" + state, "INVOCATION_ID=" + invocationID(t)}
	for _, ef := range u.service["EnvironmentFile"] {
		path, optional := strings.CutPrefix(ef, "-")
		b, err := os.ReadFile(under(path))
		if err != nil {
			if optional && os.IsNotExist(err) {
				continue
			}
			t.Fatalf("EnvironmentFile=%s: %v", ef, err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				env = append(env, l)
			}
		}
	}
	// The unit's command lines: %d is the credentials directory; the
	// binary is the one installed under root.
	command := func(key string) []string {
		words := strings.Fields(u.one(t, key))
		for i, w := range words {
			w = strings.ReplaceAll(w, "%d", creds)
			if strings.HasPrefix(w, "/") && !strings.HasPrefix(w, root) {
				w = under(w)
			}
			words[i] = w
		}
		if words[0] != bin {
			t.Fatalf("%s= runs %s, not the installed %s", key, words[0], bin)
		}
		return words
	}
	asService := func(words []string, extraEnv ...string) *exec.Cmd {
		cmd := exec.Command(words[0], words[1:]...)
		cmd.Env = append(append([]string(nil), env...), extraEnv...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: dynamicUID, Gid: dynamicUID, Groups: []uint32{}},
			Pdeathsig:  syscall.SIGKILL,
		}
		return cmd
	}

	// The bug: the service's user cannot read the installed configuration.
	out, err := asService([]string{bin, "check-config", "-config", under("/etc/helpdeskd/helpdesk.toml")}).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Errorf("the service's user read /etc/helpdeskd/helpdesk.toml (%v):\n%s", err, out)
	}

	// ExecStartPre=: the check passes, and names the database it checked.
	db := filepath.Join(state, "helpdesk.db")
	out, err = asService(command("ExecStartPre")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "; database "+db) {
		t.Fatalf("ExecStartPre= as uid %d: %v\n%s", dynamicUID, err, out)
	}
	// Without StateDirectory=, the same check refuses what run would meet:
	// the database beside the configuration, in the read-only credentials.
	out, err = asService(command("ExecStartPre"), config.StateDirectoryEnv+"=").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "store.path: cannot create files in "+creds) {
		t.Errorf("check-config without $STATE_DIRECTORY passed or said something else (%v):\n%s", err, out)
	}

	// ExecStart=: the daemon runs, answers a mail, stops on SIGTERM.
	logPath := filepath.Join(t.TempDir(), "helpdeskd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := asService(command("ExecStart"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("helpdeskd's output:\n%s", b)
		}
	})
	testenv.WaitForState(t, "helpdeskd's /healthz", 30*time.Second, func() (bool, string) {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("helpdeskd exited while starting: %v", err)
		default:
		}
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	appendMails(t, imapAddr, customerMail("Hal <hal@web.example>", "Checkout page down", "hal-systemd-1@web.example",
		"Since 09:10 every customer gets an error 500 on the checkout page."))
	ack := p.Wait(t, "the acknowledgement", testenv.To("hal@web.example"))
	testenv.Ref(t, ack)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("helpdeskd exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("helpdeskd did not stop within 20s of SIGTERM")
	}

	// The database is the service user's, in the state directory; nothing
	// was written where the configuration is installed.
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatalf("no database in the state directory: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != dynamicUID {
		t.Errorf("%s belongs to uid %d, want %d", db, st.Uid, dynamicUID)
	}
	entries, err := os.ReadDir(under("/etc/helpdeskd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "helpdesk.toml" && e.Name() != "credentials" {
			t.Errorf("/etc/helpdeskd gained %s", e.Name())
		}
	}
}

// copyFile copies src to dst (its directory made as needed) with mode.
func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// chown gives path to the service's user, as systemd gives it the
// credentials and the state directory.
func chown(t testing.TB, path string) {
	t.Helper()
	if err := os.Chown(path, dynamicUID, dynamicUID); err != nil {
		t.Fatal(err)
	}
}

// invocationID is a random $INVOCATION_ID, 128 bits in hex as systemd's.
func invocationID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
