package config

import (
	"strings"
	"testing"
	"time"
)

// TestDigestDefaults: the digest is on by default when there is a manager
// (daily at 08:00 in the default policy's zone, to the managers) and off
// when there is none; the keys set it.
func TestDigestDefaults(t *testing.T) {
	base := readMinimal(t)
	c, _ := mustParse(t, "helpdesk.toml", base, noSecrets)
	if c.Digest.Enabled {
		t.Errorf("no manager: digest enabled")
	}
	withManager := strings.Replace(base, `team = "first-line"`, "team = \"first-line\"\nmanager = true", 1)
	c, _ = mustParse(t, "helpdesk.toml", withManager, noSecrets)
	g := c.Digest
	if !g.Enabled || g.Schedule != DigestDaily || g.Hour != 8 || g.Minute != 0 || g.Location != c.Policies["standard"].Calendar.Location() {
		t.Errorf("digest = %+v, want daily at 08:00 in the default policy's zone, on", g)
	}
	if got := c.DigestRecipients(); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("recipients = %v, want the manager", got)
	}
	c, _ = mustParse(t, "helpdesk.toml", withManager+"\n[digest]\nschedule = \"weekly\"\nweekday = \"Fri\"\nat = \"17:30\"\ntimezone = \"America/New_York\"\nto = [\"COO@example.com\", \"ops-leads@example.com\"]\n", noSecrets)
	g = c.Digest
	if !g.Enabled || g.Schedule != DigestWeekly || g.Weekday != time.Friday || g.Hour != 17 || g.Minute != 30 || g.Location.String() != "America/New_York" {
		t.Errorf("digest = %+v", g)
	}
	if got := c.DigestRecipients(); strings.Join(got, ",") != "coo@example.com,ops-leads@example.com" {
		t.Errorf("recipients = %v", got)
	}
	c, _ = mustParse(t, "helpdesk.toml", withManager+"\n[digest]\nenabled = false\n", noSecrets)
	if c.Digest.Enabled {
		t.Errorf("enabled = false: digest enabled")
	}
	c, _ = mustParse(t, "helpdesk.toml", base+"\n[digest]\nschedule = \"0 7 * * 1-5\"\nto = [\"lead@example.com\"]\n", noSecrets)
	if !c.Digest.Enabled || c.Digest.Schedule != "0 7 * * 1-5" {
		t.Errorf("cron digest = %+v", c.Digest)
	}
}

// TestDigestRejections: every bad [digest] value is reported with the
// file, line and key, all at once.
func TestDigestRejections(t *testing.T) {
	base := readMinimal(t)
	for _, tt := range []struct {
		name, digest string
		want         []string
	}{
		{"bad schedule", "schedule = \"hourly\"", []string{`helpdesk.toml:32: digest.schedule: |"hourly"`}},
		{"too often", "schedule = \"*/30 * * * *\"", []string{`helpdesk.toml:32: digest.schedule: |at most once an hour`}},
		{"zone in the spec", "schedule = \"CRON_TZ=UTC 0 8 * * *\"", []string{`helpdesk.toml:32: digest.schedule: |digest.timezone`}},
		{"bad time", "at = \"8am\"", []string{`helpdesk.toml:32: digest.at: |want a time of day as HH:MM`}},
		{"at with a cron spec", "schedule = \"0 8 * * *\"\nat = \"09:00\"", []string{`helpdesk.toml:33: digest.at: |a cron spec carries its own time`}},
		{"weekday of a daily digest", "weekday = \"monday\"", []string{`helpdesk.toml:32: digest.weekday: |weekly`}},
		{"bad weekday", "schedule = \"weekly\"\nweekday = \"mondey\"", []string{`helpdesk.toml:33: digest.weekday: |"mondey"`}},
		{"bad zone", "timezone = \"Europe/Londn\"", []string{`helpdesk.toml:32: digest.timezone: |IANA time zone`}},
		{"bad address", "to = [\"boss\"]", []string{`helpdesk.toml:32: digest.to[0]: |not a mail address`}},
		{"support mailbox", "to = [\"support@example.com\"]", []string{`helpdesk.toml:32: digest.to[0]: |would open a ticket`}},
		{"nobody", "enabled = true", []string{`helpdesk.toml:32: digest.enabled: |nobody to send the digest to`}},
		{"several", "schedule = \"weekly\"\nweekday = \"someday\"\nat = \"25:00\"", []string{`helpdesk.toml:33: digest.weekday: |`, `helpdesk.toml:34: digest.at: |`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := base + "\n[digest]\n" + tt.digest + "\n"
			if n := strings.Count(base, "\n"); n != 29 {
				t.Fatalf("minimal.toml has %d lines; the line numbers below assume 29", n)
			}
			got := problemsOf(t, doc, noSecrets)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				prefix, part, _ := strings.Cut(w, "|")
				if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i][len(prefix):], part) {
					t.Errorf("problem %d = %q\nwant prefix %q and %q", i, got[i], prefix, part)
				}
			}
		})
	}
}
