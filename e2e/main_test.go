//go:build linux

// Package e2e proves helpdeskd end to end: the real binary, built once per
// run, runs as a separate process ("helpdeskd run -config ...") against a
// real IMAP server (Debian's Dovecot, or go-imap's in-memory server living
// in the test process) and a go-smtp peer that captures everything it
// sends. Besides the mail flow it injects faults: SIGKILL at random points,
// connections cut mid-FETCH, the SMTP peer down, a locked database, a full
// disk and a 30 MB attachment.
//
// The package holds tests only. It is Linux-only (/proc, Pdeathsig, tmpfs).
// Its tests are long (testenv.Long): go test -tags long runs them, as
// .ci/run does; without the tag they skip and the binary is not built.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// daemonBin is the helpdeskd binary TestMain builds; read-only afterwards.
var daemonBin string

// TestMain builds cmd/helpdeskd once for every test of the package, when
// the long tests run.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse() // for testing.Verbose; m.Run does not parse twice
	if !testenv.LongEnabled() {
		return m.Run() // every test skips at testenv.Long
	}
	dir, err := os.MkdirTemp("", "helpdeskd-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "helpdeskd")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/helpdeskd")
	// go test puts $GOROOT/bin first in the test's PATH: this is the go
	// command that runs the tests.
	cmd.Dir = ".." // the module root, seen from the package directory
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build ./cmd/helpdeskd:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built helpdeskd in %v\n", time.Since(start).Round(time.Millisecond))
	}
	daemonBin = bin
	return m.Run()
}

// inCI reports whether the tests run in CI, where a missing prerequisite
// fails instead of skipping.
func inCI() bool { return os.Getenv("CI") == "true" }

// --- configuration ------------------------------------------------------------

// deskOpts describes one test desk.
type deskOpts struct {
	Dir      string // the configuration, the log and (by default) the database go here
	DB       string // the database file; default Dir/helpdesk.db
	IMAP     string // host:port of the IMAP server
	IMAPUser string
	SMTP     string // host:port of the SMTP peer
	HTTP     string // [http] listen; default a free loopback port
	Agents   bool   // alice and bob (team first-line) and maria (manager, team leads)
	Mailbox  string // more keys of the [[mailbox]]
	Desk     string // more keys of [desk]
	SMTPKeys string // more keys of [smtp]
	// IMAPOAuth2, when set, is the mailbox's [mailbox.oauth2] table: it
	// logs in with a token instead of the password.
	IMAPOAuth2 string
	LogLevel   string // default "info"
}

// testDesk is a configuration written for a test.
type testDesk struct {
	Config string // the TOML file
	HTTP   string // where /healthz and /metrics listen
}

// e2eAgents are the agents of a desk with Agents: alice and bob in team
// first-line, the mailbox's team, and maria, a manager in team leads.
var e2eAgents = []testenv.Agent{
	{Email: "alice@example.com", Name: "Alice", Team: "first-line"},
	{Email: "bob@example.com", Name: "Bob", Team: "first-line"},
	{Email: "maria@example.com", Name: "Maria", Team: "leads", Manager: true},
}

// e2eTables are the tables of every test desk after its mailbox: [desk]
// with the keys of deskOpts.Desk (%s), [log] at a level (%q), and the SLA.
const e2eTables = `[desk]
auto_reply_limit = 100000
shutdown_timeout = "10s"
%s

[log]
level = %q
format = "text"

[sla]
schedule = "@every 1s"
default_policy = "e2e"

[[policy]]
name = "e2e"
calendar = "24x7"
pause_when_pending = false
escalate_to = ["managers"]
[[policy.target]]
priority = "critical"
response = "15s"
resolution = "1h"
[[policy.target]]
priority = "high"
response = "1h"
resolution = "24h"
[[policy.target]]
priority = "medium"
response = "1h"
resolution = "24h"
[[policy.target]]
priority = "low"
response = "1h"
resolution = "24h"
[[policy.escalation]]
clock = "response"
at = "20%%"
notify = ["team"]
[[policy.escalation]]
clock = "response"
at = "100%%"
notify = ["managers"]
`

// writeConfig writes a helpdeskd configuration for o (testenv.Config).
// The policy "e2e" runs on the 24x7 calendar with targets short enough to
// watch escalations within seconds: critical response 15s (team warned at
// 20%, managers at the breach); other priorities an hour.
func writeConfig(t testing.TB, o deskOpts) testDesk {
	t.Helper()
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.HTTP == "" {
		o.HTTP = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	}
	c := testenv.Config{Dir: o.Dir, DB: o.DB, IMAP: o.IMAP, IMAPUser: o.IMAPUser, IMAPPassword: imapPass, SMTP: o.SMTP,
		SMTPKeys: "timeout = \"10s\"\n" + o.SMTPKeys, Mailbox: "policy = \"e2e\"\n" + o.Mailbox, HTTP: o.HTTP,
		IMAPOAuth2: o.IMAPOAuth2, Extra: fmt.Sprintf(e2eTables, o.Desk, o.LogLevel)}
	if o.Agents {
		c.Mailbox = "team = \"first-line\"\n" + c.Mailbox
		c.Agents = e2eAgents
	}
	return testDesk{Config: c.Write(t), HTTP: o.HTTP}
}

// --- the daemon process -----------------------------------------------------------

// daemon runs "helpdeskd run -config FILE" as a child process, restartable.
// Its stdout and stderr go to one log file kept across restarts; the log's
// tail is printed when the test fails.
type daemon struct {
	t       testing.TB
	desk    testDesk
	logPath string
	bin     string // the helpdeskd binary; "" means daemonBin

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's result, valid after done
	runs int
}

// newDaemon prepares (but does not start) a daemon of the desk; the IMAP
// password is in its environment. t.Cleanup kills it if it still runs when
// the test ends.
func newDaemon(t testing.TB, desk testDesk) *daemon {
	t.Helper()
	d := &daemon{t: t, desk: desk, logPath: filepath.Join(filepath.Dir(desk.Config), "helpdeskd.log"), bin: helpdeskdBin()}
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			d.dumpLog(80)
		}
	})
	return d
}

// start runs a new helpdeskd process.
func (d *daemon) start() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil && !closed(d.done) {
		d.t.Fatal("daemon: start while running")
	}
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	d.runs++
	fmt.Fprintf(logf, "=== run %d at %s\n", d.runs, time.Now().Format(time.RFC3339Nano))
	bin := d.bin
	if bin == "" {
		bin = daemonBin
	}
	cmd := exec.Command(bin, "run", "-config", d.desk.Config)
	cmd.Env = append(os.Environ(), testenv.IMAPPasswordEnv+"="+imapPass)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary die, the daemon dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		d.t.Fatalf("start helpdeskd: %v", err)
	}
	logf.Close() // the child has its own descriptor
	done := make(chan struct{})
	d.cmd, d.done = cmd, done
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		close(done)
	}()
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// ready waits until the daemon answers /healthz with 200: its database is
// open and migrated. Until then another process opening the database
// would race the migration (see the report on store.migrate).
func (d *daemon) ready() {
	d.t.Helper()
	testenv.WaitForState(d.t, "helpdeskd's /healthz", 30*time.Second, func() (bool, string) {
		if !d.running() {
			d.t.Fatalf("helpdeskd exited while starting: %v", d.exitErr())
		}
		resp, err := http.Get("http://" + d.desk.HTTP + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// pid returns the process id of the running daemon.
func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.Process.Pid
}

// kill sends SIGKILL and waits for the process to be gone.
func (d *daemon) kill() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil || closed(done) {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop sends SIGTERM and waits for a clean exit (status 0) within the
// shutdown timeout plus a margin.
func (d *daemon) stop() {
	d.t.Helper()
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil || closed(done) {
		d.t.Fatalf("daemon: stop, but it is not running (exit: %v)", d.exitErr())
	}
	// Until it has started, SIGTERM would kill it before its handler is
	// installed.
	d.ready()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		d.t.Fatal("helpdeskd did not stop within 20s of SIGTERM")
	}
	if err := d.exitErr(); err != nil {
		d.t.Fatalf("helpdeskd exited with %v after SIGTERM, want status 0", err)
	}
}

// wait waits up to timeout for the process to exit by itself and returns
// its exit code.
func (d *daemon) wait(timeout time.Duration) int {
	d.t.Helper()
	d.mu.Lock()
	done := d.done
	d.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
		d.t.Fatalf("helpdeskd still runs after %v", timeout)
	}
	var ee *exec.ExitError
	if err := d.exitErr(); errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		d.t.Fatal(err)
	}
	return 0
}

func (d *daemon) exitErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// running reports whether the current process is alive.
func (d *daemon) running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd != nil && !closed(d.done)
}

// log returns the daemon's output so far (all runs).
func (d *daemon) log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

func (d *daemon) dumpLog(lines int) {
	all := strings.Split(strings.TrimRight(d.log(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	d.t.Logf("last %d lines of the helpdeskd log:\n%s", len(all), strings.Join(all, "\n"))
}

// peakRSS reads the process's peak resident set size (VmHWM) in bytes.
func (d *daemon) peakRSS() int64 {
	d.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.pid()))
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				d.t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	d.t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// --- the command line ---------------------------------------------------------------

// cli runs a helpdeskd subcommand to completion and returns its output and
// exit code.
func cli(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cliWith(t, helpdeskdBin(), args...)
}

// helpdeskdBin is the binary the tests run: the one TestMain built, or
// the one HELPDESK_E2E_BIN names (an older build, to measure it against
// this one with the same tests).
func helpdeskdBin() string {
	if b := os.Getenv("HELPDESK_E2E_BIN"); b != "" {
		return b
	}
	return daemonBin
}

// cliWith is cli with another helpdeskd binary.
func cliWith(t testing.TB, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("helpdeskd %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// ticket is the part of `helpdeskd tickets --json` the tests read.
type ticket struct {
	Ref             string    `json:"ref"`
	Subject         string    `json:"subject"`
	Customer        string    `json:"customer"`
	Priority        string    `json:"priority"`
	Status          string    `json:"status"`
	Assignee        string    `json:"assignee"`
	FirstResponseAt time.Time `json:"first_response_at"`
}

// tickets lists the desk's tickets with `helpdeskd tickets --json`.
func tickets(t testing.TB, desk testDesk) []ticket {
	t.Helper()
	out, errOut, code := cli(t, "tickets", "-config", desk.Config, "--json")
	if code != 0 {
		t.Fatalf("helpdeskd tickets: exit %d: %s", code, errOut)
	}
	var ts []ticket
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatalf("helpdeskd tickets --json: %v\n%s", err, out)
	}
	return ts
}
