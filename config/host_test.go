package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostOptions resolves secrets from env and files, as the daemon does.
func hostOptions(env, files map[string]string) Options {
	return secretsFrom(true, env, files)
}

// withStore replaces the minimal configuration's [store] path line.
func withStore(t *testing.T, line string) string {
	t.Helper()
	doc := readMinimal(t)
	if !strings.Contains(doc, "path = \"helpdesk.db\"\n") {
		t.Fatal("testdata/minimal.toml lost its store path")
	}
	return strings.Replace(doc, "path = \"helpdesk.db\"\n", line, 1)
}

// TestStorePathUnderSystemd: with $STATE_DIRECTORY set (StateDirectory=
// in the unit), a relative or missing [store] path lands in its first
// directory; an absolute one is kept; without it, relative paths are
// beside the configuration.
func TestStorePathUnderSystemd(t *testing.T) {
	secrets := map[string]string{"HELPDESK_SMTP_PASSWORD": "pw"}
	files := map[string]string{"/run/secrets/imap": "pw"}
	cfgDir, err := filepath.Abs("/etc/helpdeskd")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, store, state, want string
	}{
		{"default path", "", "/var/lib/helpdeskd", "/var/lib/helpdeskd/helpdesk.db"},
		{"relative path", "path = \"desk.db\"\n", "/var/lib/helpdeskd", "/var/lib/helpdeskd/desk.db"},
		{"relative subdirectory", "path = \"db/desk.db\"\n", "/var/lib/helpdeskd", "/var/lib/helpdeskd/db/desk.db"},
		{"absolute path kept", "path = \"/srv/desk.db\"\n", "/var/lib/helpdeskd", "/srv/desk.db"},
		{"several state directories", "", "/var/lib/helpdeskd:/var/lib/other", "/var/lib/helpdeskd/helpdesk.db"},
		{"not under systemd", "", "", filepath.Join(cfgDir, "helpdesk.db")},
		{"not under systemd, absolute", "path = \"/srv/desk.db\"\n", "", "/srv/desk.db"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"HELPDESK_SMTP_PASSWORD": secrets["HELPDESK_SMTP_PASSWORD"]}
			if c.state != "" {
				env[StateDirectoryEnv] = c.state
			}
			cfg, _ := mustParse(t, "/etc/helpdeskd/helpdesk.toml", withStore(t, c.store), hostOptions(env, files))
			if got := cfg.Store.Path; got != c.want {
				t.Errorf("store path = %q, want %q", got, c.want)
			}
		})
	}
	env := map[string]string{"HELPDESK_SMTP_PASSWORD": "pw", StateDirectoryEnv: "var/lib/helpdeskd"}
	probs := problemsOf(t, readMinimal(t), hostOptions(env, files))
	if len(probs) != 1 || !strings.Contains(probs[0], "store.path: $STATE_DIRECTORY is \"var/lib/helpdeskd\", not an absolute directory") {
		t.Errorf("a relative $STATE_DIRECTORY: problems %q", probs)
	}
}

// TestCredentialSecrets: password_file = "%credentials/NAME" reads NAME in
// $CREDENTIALS_DIRECTORY; without that directory it is an error for the
// daemon and check-config, a warning for the read-only commands, and
// nothing at all for -lint.
func TestCredentialSecrets(t *testing.T) {
	doc := strings.Replace(readMinimal(t), `password_file = "/run/secrets/imap"`, `password_file = "%credentials/imap"`, 1)
	env := map[string]string{"HELPDESK_SMTP_PASSWORD": "pw", CredentialsDirectoryEnv: "/run/credentials/helpdeskd.service"}
	files := map[string]string{"/run/credentials/helpdeskd.service/imap": "imap-pw\n"}

	cfg, warns := mustParse(t, "helpdesk.toml", doc, hostOptions(env, files))
	pw := cfg.Mailboxes[0].Password
	if pw.Value != "imap-pw" || pw.Credential != "imap" || pw.File != "/run/credentials/helpdeskd.service/imap" {
		t.Errorf("password = %+v (value %q), want credential imap read from /run/credentials/helpdeskd.service/imap", pw, pw.Value)
	}
	if got, want := pw.String(), "credential imap"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if warns := hostWarnings(warns); len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}

	// Not under systemd: the daemon and check-config refuse, saying how.
	noCreds := map[string]string{"HELPDESK_SMTP_PASSWORD": "pw"}
	want := "helpdesk.toml:19: mailbox[0].password_file: %credentials/imap: $CREDENTIALS_DIRECTORY is not set: run under systemd with LoadCredential=imap:/path/of/the/secret, or set CREDENTIALS_DIRECTORY to the directory holding the file imap"
	if got := strings.Join(problemsOf(t, doc, hostOptions(noCreds, nil)), "\n"); got != want {
		t.Errorf("without $CREDENTIALS_DIRECTORY:\n%s\nwant:\n%s", got, want)
	}
	// The credential is missing from the directory: the unit lacks its line.
	got := strings.Join(problemsOf(t, doc, hostOptions(env, nil)), "\n")
	if !strings.Contains(got, "mailbox[0].password_file: cannot read credential imap: ") || !strings.Contains(got, "LoadCredential=imap:") {
		t.Errorf("credential file missing: %s", got)
	}
	// The read-only commands only warn, with the same words.
	_, warns = mustParse(t, "helpdesk.toml", doc, secretsFrom(false, noCreds, nil))
	if warns = hostWarnings(warns); len(warns) != 1 || warns[0].String() != want {
		t.Errorf("read-only warnings = %v, want [%s]", warns, want)
	}
	// -lint: the form is right, and nothing of this host is looked at.
	_, warns = mustParse(t, "helpdesk.toml", doc, Options{Lint: true, ResolveSecrets: true, LookupEnv: func(string) (string, bool) { return "", false }})
	if warns := hostWarnings(warns); len(warns) != 0 {
		t.Errorf("lint warnings: %v", warns)
	}

	for _, bad := range []string{"%credentials/", "%credentials/a/b", "%credentials/..", "%credentials/."} {
		d := strings.Replace(readMinimal(t), `password_file = "/run/secrets/imap"`, `password_file = "`+bad+`"`, 1)
		probs := problemsOf(t, d, Options{Lint: true})
		if len(probs) != 1 || !strings.Contains(probs[0], "helpdesk.toml:19: mailbox[0].password_file: ") || !strings.Contains(probs[0], "LoadCredential=NAME:/path") {
			t.Errorf("password_file %q: problems %q", bad, probs)
		}
	}
}

// TestCheckStore: what the daemon needs of the database's directory is
// checked with CheckStore, and not at all with Lint.
func TestCheckStore(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"/run/secrets/imap": "pw"}
	env := map[string]string{"HELPDESK_SMTP_PASSWORD": "pw"}
	opts := hostOptions(env, files)
	opts.CheckStore = true
	notDir := filepath.Join(dir, "plain")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dbIsDir := filepath.Join(dir, "dbdir")
	if err := os.Mkdir(dbIsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "nowhere", "helpdesk.db"), "the database's directory " + filepath.Join(dir, "nowhere") + " does not exist"},
		{"directory is a file", filepath.Join(notDir, "helpdesk.db"), notDir + ", the database's directory, is not a directory"},
		{"database is a directory", dbIsDir, "cannot open " + dbIsDir + " for writing: is a directory"},
		{"fine", filepath.Join(dir, "helpdesk.db"), ""},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, path, want string }{"read-only directory", filepath.Join(ro, "helpdesk.db"),
			"cannot create files in " + ro + ", where the database, its -wal and -shm files and its .lock file live: permission denied"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := withStore(t, "path = "+quote(c.path)+"\n")
			probs := problemsOf(t, doc, opts)
			if c.want == "" {
				if len(probs) != 0 {
					t.Fatalf("problems: %q", probs)
				}
			} else if got, want := strings.Join(probs, "\n"), "helpdesk.toml:2: store.path: "+c.want; got != want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
			lint := problemsOf(t, doc, Options{Lint: true, CheckStore: true})
			if len(lint) != 0 {
				t.Errorf("lint: problems %q", lint)
			}
		})
	}
	left, err := filepath.Glob(filepath.Join(dir, ".helpdeskd-check-*"))
	if err != nil || len(left) != 0 {
		t.Errorf("the check left files behind: %v %v", left, err)
	}
}

// TestLintIgnoresTheHost: -lint passes a file whose secrets, templates and
// database directory exist only on the production host, and still finds
// what is wrong in the file itself.
func TestLintIgnoresTheHost(t *testing.T) {
	doc := withStore(t, "path = \"/nonexistent/helpdeskd/helpdesk.db\"\n") + "\n[desk]\ntemplates_dir = \"/nonexistent/templates\"\n"
	none := func(string) (string, bool) { return "", false }
	_, warns, err := Parse("helpdesk.toml", []byte(doc), Options{Lint: true, LookupEnv: none})
	if err != nil || len(hostWarnings(warns)) != 0 {
		t.Fatalf("lint: %v, warnings %v", err, warns)
	}
	// The same file on this host: every host problem, as errors.
	opts := Options{ResolveSecrets: true, CheckStore: true, LookupEnv: none}
	probs := strings.Join(problemsOf(t, doc, opts), "\n")
	for _, want := range []string{"store.path: the database's directory /nonexistent/helpdeskd does not exist",
		"smtp.password: environment variable HELPDESK_SMTP_PASSWORD is not set",
		"mailbox[0].password_file: cannot read password file",
		"desk.templates_dir: stat /nonexistent/templates"} {
		if !strings.Contains(probs, want) {
			t.Errorf("host problems lack %q:\n%s", want, probs)
		}
	}
	// A mistake in the file is found by lint too.
	if probs := problemsOf(t, doc+"max_ccc = 3\n", Options{Lint: true, LookupEnv: none}); len(probs) != 1 || !strings.Contains(probs[0], "desk.max_ccc") {
		t.Errorf("lint on a misspelt key: %q", probs)
	}
}

// TestRelativeTemplatesInCredentials: a configuration loaded from
// $CREDENTIALS_DIRECTORY cannot have its templates beside it.
func TestRelativeTemplatesInCredentials(t *testing.T) {
	doc := readMinimal(t) + "\n[desk]\ntemplates_dir = \"templates\"\n"
	env := map[string]string{"HELPDESK_SMTP_PASSWORD": "pw", CredentialsDirectoryEnv: "/run/credentials/helpdeskd.service"}
	opts := hostOptions(env, map[string]string{"/run/secrets/imap": "pw"})
	_, _, err := Parse("/run/credentials/helpdeskd.service/helpdesk.toml", []byte(doc), opts)
	if err == nil || !strings.Contains(err.Error(), "desk.templates_dir: \"templates\" is relative to the configuration, which is a systemd credential in /run/credentials/helpdeskd.service: give an absolute directory") {
		t.Errorf("err = %v", err)
	}
}

// hostWarnings leaves out the warnings about the file's content (the
// minimal configuration has no manager), keeping those about this host.
func hostWarnings(warns []Problem) []Problem {
	var out []Problem
	for _, w := range warns {
		if w.Key != "agent" {
			out = append(out, w)
		}
	}
	return out
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }
