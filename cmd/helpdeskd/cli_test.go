package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// run runs one subcommand as main would and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := dispatch(context.Background(), args, strings.NewReader(""), &out, &errb)
	if err != nil {
		errb.WriteString(err.Error())
		return out.String(), errb.String(), exitCode(err)
	}
	return out.String(), errb.String(), 0
}

func TestCheckConfig(t *testing.T) {
	// The example's secrets are files and variables of a production host:
	// -lint checks the file alone; without it they are errors, as in run.
	if _, errOut, code := run(t, "check-config", "-lint", "-config", "../../config.example.toml"); code != 0 {
		t.Fatalf("check-config -lint on the example: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(t, "check-config", "-config", "../../config.example.toml"); code == 0 || !strings.Contains(errOut, "mailbox[0].password_file: cannot read password file") {
		t.Fatalf("check-config on the example without its secrets: exit %d\n%s", code, errOut)
	}
	dir := t.TempDir()
	base := `[store]
path = "h.db"
[smtp]
host = "smtp.example.com"
from = "Support <support@example.com>"
[[mailbox]]
name = "support"
address = "support@example.com"
host = "imap.example.com"
password_file = "/run/secrets/imap"
`
	cases := []struct {
		name, toml, want string
	}{
		{"misspelt key", base + "securty = \"tls\"\n", "bad.toml:11: mailbox[0].securty"},
		{"bad duration", base + "poll_interval = \"5 minutes\"\n", "bad.toml:11: mailbox[0].poll_interval"},
		{"unknown zone", base + "[[calendar]]\nname = \"x\"\ntimezone = \"Mars/Olympus\"\n[calendar.hours]\nweekdays = [\"09:00-17:00\"]\n", "bad.toml:13: calendar[0].timezone"},
		{"missing policy", base + "policy = \"gold\"\n", "bad.toml:11: mailbox[0].policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.toml")
			if err := os.WriteFile(path, []byte(c.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := run(t, "check-config", "-config", path)
			if code == 0 {
				t.Fatal("check-config accepted a bad file")
			}
			if !strings.Contains(errOut, c.want) {
				t.Fatalf("stderr does not name %q:\n%s", c.want, errOut)
			}
		})
	}
}

func TestSLADueCommand(t *testing.T) {
	// ProspectSoft critical, filed Friday 16:20 in London: 10 minutes count on
	// Friday (closing 16:30), the other 1h50m from 08:30 on Monday.
	out, errOut, code := run(t, "sla", "due", "-config", "../../config.example.toml", "--policy", "prospectsoft",
		"--priority", "critical", "--at", "2026-11-20T16:20:00Z", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]*string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got["response_due"] == nil || *got["response_due"] != "2026-11-23T10:20:00Z" {
		t.Errorf("response_due = %v, want 2026-11-23T10:20:00Z", got["response_due"])
	}
	if got["resolution_due"] != nil {
		t.Errorf("resolution_due = %v, want null (no target)", *got["resolution_due"])
	}
}

func TestTicketsAndShowJSON(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	startDaemon(t, cfg, nil)
	imapSrv.Deliver(t, "INBOX", customerMail("Hal <hal@web.example>", "Typo on the pricing page", "hal-1@web.example", "",
		"There is a typo on the pricing page: 'Premuim'."))
	ack := peer.Wait(t, "the ack", testenv.To("hal@web.example"))
	ref := testenv.Ref(t, ack)

	out, errOut, code := run(t, "tickets", "--json", "-config", cfg.File)
	if code != 0 {
		t.Fatalf("tickets: exit %d: %s", code, errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("tickets --json = %s (%v)", out, err)
	}
	for _, k := range []string{"ref", "subject", "customer", "priority", "status", "created_at", "first_response_at", "response_due", "resolution_due", "missing"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("tickets --json lacks %q", k)
		}
	}
	if list[0]["ref"] != ref || list[0]["priority"] != "low" || list[0]["status"] != "open" {
		t.Errorf("ticket = %v", list[0])
	}

	out, errOut, code = run(t, "show", ref, "--json", "-config", cfg.File)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	var show struct {
		Ref      string           `json:"ref"`
		Messages []map[string]any `json:"messages"`
		Events   []map[string]any `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if show.Ref != ref || len(show.Messages) < 2 || len(show.Events) < 2 {
		t.Fatalf("show = %+v", show)
	}
	for _, k := range []string{"direction", "kind", "from", "to", "subject", "message_id", "date", "text"} {
		if _, ok := show.Messages[0][k]; !ok {
			t.Errorf("message lacks %q", k)
		}
	}
	for _, k := range []string{"at", "kind", "detail"} {
		if _, ok := show.Events[0][k]; !ok {
			t.Errorf("event lacks %q", k)
		}
	}
	if _, _, code := run(t, "show", "HD-99999", "-config", cfg.File); code == 0 {
		t.Error("show of a missing ticket succeeded")
	}
	out, _, code = run(t, "tickets", "-config", cfg.File, "--status", "resolved", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("tickets --status resolved = %q (exit %d), want []", out, code)
	}
}

// A mail of 2 MiB of text: the notification says how much more there is
// and names `helpdeskd show -full REF`, which prints the text to its last
// line (read again from the raw mail: the ticket keeps the first MiB);
// plain `show` prints the first 2,000 characters.
func TestShowFullText(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	startDaemon(t, cfg, nil)
	var b strings.Builder
	var last string
	for i := 0; b.Len() < 2<<20; i++ {
		last = fmt.Sprintf("02:%02d:%02d import: row %08d rejected", i/60%60, i%60, i)
		b.WriteString(last + "\n")
	}
	imapSrv.Deliver(t, "INBOX", customerMail("Hal <hal@web.example>", "Import log", "hal-log@web.example", "",
		"The import fails since 02:00. The log:\n\n"+b.String()))
	ref := testenv.Ref(t, peer.Wait(t, "the ack", testenv.To("hal@web.example")))
	note := peer.Wait(t, "a notification", func(m testenv.Mail) bool {
		return strings.HasPrefix(m.Header.Get("Subject"), "["+ref+"]") && !testenv.To("hal@web.example")(m)
	})
	if want := "read it all with `helpdeskd show -full " + ref + "`"; !strings.Contains(strings.ReplaceAll(note.Body, "=\r\n", ""), want) {
		t.Errorf("notification does not say %q:\n%s", want, note.Body[max(0, len(note.Body)-2000):])
	}
	out, errOut, code := run(t, "show", ref, "-full", "-config", cfg.File)
	if code != 0 {
		t.Fatalf("show -full: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, last) || len(out) < 2<<20 {
		t.Errorf("show -full printed %d bytes without the text's last line %q", len(out), last)
	}
	out, _, _ = run(t, "show", ref, "-config", cfg.File)
	if strings.Contains(out, last) || len(out) > 64<<10 {
		t.Errorf("show without -full printed %d bytes (the last line: %v), want the first 2,000 characters of each text", len(out), strings.Contains(out, last))
	}
}

func TestTriageCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.eml")
	os.WriteFile(path, []byte("From: a@b.example\r\nSubject: [URGENT] typo in footer\r\nDate: Fri, 20 Nov 2026 09:00:00 +0000\r\n\r\nThere is a typo in the footer of the login page.\r\n"), 0o600)
	out, errOut, code := run(t, "triage", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Priority string         `json:"priority"`
		Claimed  *string        `json:"claimed"`
		Reasons  []string       `json:"reasons"`
		Fields   map[string]any `json:"fields"`
		Missing  []string       `json:"missing"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Priority == "critical" || got.Claimed == nil || len(got.Reasons) == 0 {
		t.Errorf("triage = %+v: a claimed-urgent typo must not be critical, and the claim must be recorded", got)
	}
	for _, k := range []string{"start_time", "error_text", "repro_steps", "impact", "service"} {
		if _, ok := got.Fields[k]; !ok {
			t.Errorf("fields lacks %q", k)
		}
	}
}
