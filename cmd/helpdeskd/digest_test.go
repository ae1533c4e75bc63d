package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"

	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// digestSetup is a daemon configuration over the SLA report's seeded
// database (seedSLAReport): its policies, the team with Maria as manager
// and Lee, a second manager, the board on, and a daily digest at 08:00
// London time.
type digestSetup struct {
	cfgPath, dbPath string
	c               testenv.Config
	peer            *testenv.SMTP
	imap            *testenv.IMAP
}

func newDigestSetup(t *testing.T) *digestSetup {
	t.Helper()
	_, dbPath := seedSLAReport(t)
	s := &digestSetup{dbPath: dbPath, peer: testenv.StartSMTP(t), imap: testenv.StartIMAP(t, testenv.IMAPOptions{})}
	policies := slaReportTOML[strings.Index(slaReportTOML, "[[calendar]]"):]
	s.c = testenv.Config{Dir: t.TempDir(), DB: dbPath, IMAP: s.imap.Addr(), SMTP: s.peer.Addr(), Mailbox: `team = "first-line"`,
		Agents: append(append([]testenv.Agent(nil), testenv.Team...), testenv.Agent{Email: "lee@example.com", Name: "Lee", Manager: true}),
		Extra: policies + "\n[http]\nboard = true\nboard_listen = \"127.0.0.1:0\"\nboard_url = \"https://desk.example.com/board\"\n" +
			"\n[digest]\nschedule = \"daily\"\nat = \"08:00\"\ntimezone = \"Europe/London\"\n"}
	s.cfgPath = s.c.Write(t)
	return s
}

// open opens a Main on the setup at the clock's time, without running it.
func (s *digestSetup) open(t *testing.T, now func() time.Time) *Main {
	t.Helper()
	m := &Main{Config: s.c.Load(t), Now: now, Log: startDaemonLogger(t)}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	if m.Digest == nil {
		t.Fatal("the digest is off")
	}
	return m
}

// mimePart is one leaf of a parsed mail.
type mimePart struct {
	ctype, cid string
	body       []byte
	parents    []string // the multipart types above it, outermost first
}

// mimeParts parses a mail as a mail client would and returns its leaves.
func mimeParts(t *testing.T, raw []byte) []mimePart {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out []mimePart
	var walk func(e *message.Entity, parents []string)
	walk = func(e *message.Entity, parents []string) {
		ct, _, _ := e.Header.ContentType()
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("multipart: %v", err)
				}
				walk(p, append(append([]string(nil), parents...), ct))
			}
			return
		}
		b, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatalf("part %s: %v", ct, err)
		}
		if strings.HasPrefix(ct, "text/") {
			b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) // as sent on the wire
		}
		out = append(out, mimePart{ctype: ct, cid: strings.Trim(e.Header.Get("Content-Id"), "<> "), body: b, parents: parents})
	}
	walk(e, nil)
	return out
}

// TestDigestThroughSMTP runs the digest over the seeded desk at 10:25 on
// Tuesday 24 November (after its 08:00) and receives it at the SMTP
// peer: a mail per manager; the chart is a PNG that image/png decodes, an
// inline part of a multipart/related whose HTML shows it by its cid:; the
// text part gives the figures `helpdeskd sla --json` gives over the same
// database for the period (08:00 Monday to 08:00 Tuesday) and for its
// default 30 days; each manager gets their own board link.
func TestDigestThroughSMTP(t *testing.T) {
	s := newDigestSetup(t)
	ctx := context.Background()
	// The first start records the period of Monday 08:00 and sends nothing.
	first := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	m := s.open(t, func() time.Time { return first })
	if n, err := m.Digest.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("first start: %d mails, %v; want none", n, err)
	}
	m.Close()

	now := slaReportNow
	m = s.open(t, func() time.Time { return now })
	defer m.Close()
	n, err := m.Digest.Tick(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Tuesday's digest: %d mails, %v; want 2", n, err)
	}
	if n, err := m.Digest.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("the same period again: %d mails, %v; want none", n, err)
	}
	octx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Outbox.Run(octx) }()
	maria := s.peer.Wait(t, "Maria's digest", testenv.To("maria@example.com"))
	lee := s.peer.Wait(t, "Lee's digest", testenv.To("lee@example.com"))
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if got, want := maria.Header.Get("Subject"), "Example Support: SLA digest, week of 23 Nov 2026"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if got := maria.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if maria.MessageID() == lee.MessageID() || !strings.HasPrefix(maria.MessageID(), "digest.daily.2026-11-24.") {
		t.Errorf("Message-IDs %q, %q", maria.MessageID(), lee.MessageID())
	}
	var text, html string
	var pngs []mimePart
	for _, p := range mimeParts(t, maria.Raw) {
		switch p.ctype {
		case "text/plain":
			text = string(p.body)
		case "text/html":
			html = string(p.body)
		case "image/png":
			pngs = append(pngs, p)
		}
	}
	if len(pngs) != 1 {
		t.Fatalf("%d PNG parts, want 1", len(pngs))
	}
	img, err := png.Decode(bytes.NewReader(pngs[0].body))
	if err != nil {
		t.Fatalf("the chart is no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 150 {
		t.Errorf("chart of %v", b)
	}
	if pngs[0].cid == "" || !strings.Contains(html, `src="cid:`+pngs[0].cid+`"`) {
		t.Errorf("the HTML part does not show the PNG by its Content-ID %q", pngs[0].cid)
	}
	if ps := pngs[0].parents; len(ps) == 0 || !strings.Contains(strings.Join(ps, " "), "multipart/related") {
		t.Errorf("the PNG is under %v, want a multipart/related", ps)
	}

	// The board links: each manager's own, valid for the board.
	link := regexp.MustCompile(`Your board: (\S+)`)
	ml := link.FindStringSubmatch(text)
	var leeText string
	for _, p := range mimeParts(t, lee.Raw) {
		if p.ctype == "text/plain" {
			leeText = string(p.body)
		}
	}
	ll := link.FindStringSubmatch(leeText)
	if ml == nil || ll == nil || !strings.Contains(ml[1], "m=maria%40example.com") || !strings.Contains(ll[1], "m=lee%40example.com") {
		t.Fatalf("board links: %v, %v", ml, ll)
	}

	checkDigestFigures(t, s, text, now, "--since", "2026-11-23T08:00:00Z", "--until", "2026-11-24T08:00:00Z")
	checkDigestFigures(t, s, text, now)

	// Golden: the text part, its link's MAC left out.
	got := regexp.MustCompile(`s=[0-9a-f]{64}`).ReplaceAllString(text, "s=MAC")
	path := filepath.Join("testdata", "digest.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if want, err := os.ReadFile(path); err != nil {
		t.Fatalf("%v (go test ./cmd/helpdeskd -run Digest -update writes it)", err)
	} else if d := testenv.LineDiff(string(want), got); d != "" {
		t.Errorf("digest text differs from %s (go test ./cmd/helpdeskd -run Digest -update accepts it):\n%s", path, d)
	}
	for _, c := range text {
		if c == '\x1b' || c == '\u202e' || c == '\a' {
			t.Errorf("the digest carries control character %U", c)
		}
	}

	// helpdeskd digest previews the same mail, board link and all.
	var out, errb bytes.Buffer
	chart := filepath.Join(t.TempDir(), "chart.png")
	if err := cmdDigest(ctx, []string{"-config", s.cfgPath, "-to", "maria@example.com", "-png", chart}, now, &out, &errb); err != nil {
		t.Fatalf("digest: %v\n%s", err, errb.String())
	}
	if got := regexp.MustCompile(`s=[0-9a-f]{64}`).ReplaceAllString(out.String(), "s=MAC"); got != strings.ReplaceAll(string(mustRead(t, path)), "\r\n", "\n") {
		t.Errorf("the preview differs from the mail sent:\n%s", testenv.LineDiff(string(mustRead(t, path)), got))
	}
	if b := mustRead(t, chart); !bytes.Equal(b, pngs[0].body) {
		t.Errorf("the preview's chart (%d bytes) is not the mail's (%d bytes)", len(b), len(pngs[0].body))
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkDigestFigures compares the digest's text with `helpdeskd sla
// --json args` at now: every compliance row of the window (the period with
// --since, else the last 30 days) and, for the period, every breached and
// at-risk open ticket with its time left.
func checkDigestFigures(t *testing.T, s *digestSetup, text string, now time.Time, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := slaReport(context.Background(), append([]string{"-config", s.cfgPath, "-db", s.dbPath, "--json"}, args...), now, &out, &errb); err != nil {
		t.Fatalf("sla --json: %v\n%s", err, errb.String())
	}
	var rep struct {
		Open []struct {
			Ref, State, Clock string
			SecondsLeft       *int64 `json:"seconds_left"`
		}
		Compliance []struct {
			Policy, Priority                                       string
			Tickets                                                int
			ResponseMet, ResponseBreached, ResponseOpen            int
			ResolutionMet, ResolutionBreached, ResolutionOpen      int
			Responded, Resolved                                    int
			ResponseP50, ResponseP90, ResolutionP50, ResolutionP90 float64
		}
	}
	// The JSON names are snake case: map them.
	raw := out.String()
	for _, k := range [][2]string{{"seconds_left", "seconds_left"}, {"response_met", "ResponseMet"}, {"response_breached", "ResponseBreached"},
		{"response_open", "ResponseOpen"}, {"resolution_met", "ResolutionMet"}, {"resolution_breached", "ResolutionBreached"},
		{"resolution_open", "ResolutionOpen"}, {"response_p50_business_seconds", "ResponseP50"}, {"response_p90_business_seconds", "ResponseP90"},
		{"resolution_p50_business_seconds", "ResolutionP50"}, {"resolution_p90_business_seconds", "ResolutionP90"}} {
		raw = strings.ReplaceAll(raw, `"`+k[0]+`"`, `"`+k[1]+`"`)
	}
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		t.Fatal(err)
	}
	window := "the last 30 days"
	if len(args) > 0 {
		window = "the period"
	}
	start := strings.Index(text, "filed in "+window)
	if start < 0 {
		t.Fatalf("no compliance of %s in:\n%s", window, text)
	}
	section := text[start:]
	if end := strings.Index(section, "\n\n"); end > 0 {
		section = section[:end+1]
	}
	tickets, rows := 0, 0
	for _, r := range rep.Compliance {
		tickets += r.Tickets
		for _, c := range []struct {
			name                           string
			met, breached, running, sample int
			p50, p90                       float64
		}{
			{"response", r.ResponseMet, r.ResponseBreached, r.ResponseOpen, r.Responded, r.ResponseP50, r.ResponseP90},
			{"resolution", r.ResolutionMet, r.ResolutionBreached, r.ResolutionOpen, r.Resolved, r.ResolutionP50, r.ResolutionP90},
		} {
			rate := desk.MetRate(c.met, c.breached)
			if c.met+c.breached+c.running == 0 {
				rate = "no target"
			}
			median, p90 := "-", "-"
			if c.sample > 0 {
				median, p90 = desk.HumanDuration(time.Duration(c.p50*float64(time.Second))), desk.HumanDuration(time.Duration(c.p90*float64(time.Second)))
			}
			want := fmt.Sprintf("%s / %s / %s: on time %s; breached %d; running %d; median %s, p90 %s; %s",
				r.Policy, r.Priority, c.name, rate, c.breached, c.running, median, p90, ticketCount(r.Tickets))
			if !strings.Contains(section, want+"\n") {
				t.Errorf("%s: the digest lacks %q:\n%s", window, want, section)
			}
			rows++
		}
	}
	if got := strings.Count(section, "\n") - 1; got != rows { // less the heading
		t.Errorf("%s: %d rows in the digest, %d from sla --json:\n%s", window, got, rows, section)
	}
	if !strings.Contains(text, fmt.Sprintf("COMPLIANCE of the %s filed in %s", ticketCount(tickets), window)) {
		t.Errorf("%s: the digest does not count %d tickets", window, tickets)
	}
	if len(args) == 0 {
		return
	}
	counts := map[string]int{}
	for _, o := range rep.Open {
		counts[o.State]++
		if o.State != "breached" && o.State != "at risk" {
			if strings.Contains(text, o.Ref+"  ") {
				t.Errorf("%s (%s) is listed among the breached and at risk", o.Ref, o.State)
			}
			continue
		}
		state := o.State
		if state == "breached" {
			state = "BREACHED"
		}
		want := fmt.Sprintf("%s  %s, %s: %s due ", o.Ref, state, desk.TimeLeft(time.Duration(*o.SecondsLeft)*time.Second), o.Clock)
		if !strings.Contains(text, "\n"+want) {
			t.Errorf("the digest lacks %q", want)
		}
	}
	if want := fmt.Sprintf("%s, %d breached, %d at risk, %d paused.", ticketCount(len(rep.Open)), counts["breached"], counts["at risk"], counts["paused"]); !strings.Contains(text, want) {
		t.Errorf("the digest lacks %q:\n%s", want, text)
	}
}

// TestDigestRestarts runs the daemon itself: after Tuesday's digest, a
// restart within Tuesday sends nothing again; after the daemon was down
// over Wednesday's 08:00 and Thursday's, the start on Thursday sends
// Thursday's digest once (not Wednesday's too), threaded under Tuesday's
// by References and In-Reply-To.
func TestDigestRestarts(t *testing.T) {
	s := newDigestSetup(t)
	ctx := context.Background()
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	at := func(v time.Time) { clock.Store(v.UnixNano()) }

	at(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	m := s.open(t, now)
	if n, err := m.Digest.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("first start: %d, %v", n, err)
	}
	m.Close()

	at(slaReportNow)
	runUntilMails(t, s, now, 2)
	tuesday := s.peer.Wait(t, "Tuesday's digest to Maria", testenv.To("maria@example.com"))

	at(slaReportNow.Add(3 * time.Hour))
	m = s.open(t, now)
	if n, err := m.Digest.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("restart within Tuesday: %d mails, %v; want none", n, err)
	}
	m.Close()

	at(time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC))
	runUntilMails(t, s, now, 4)
	var thursday testenv.Mail
	for _, ml := range s.peer.Mails() {
		if testenv.To("maria@example.com")(ml) && ml.MessageID() != tuesday.MessageID() && strings.Contains(ml.Header.Get("Subject"), "SLA digest") {
			thursday = ml
		}
	}
	if !strings.HasPrefix(thursday.MessageID(), "digest.daily.2026-11-26.") {
		t.Fatalf("the catch-up sent %q, want Thursday's digest", thursday.MessageID())
	}
	if got, want := thursday.Header.Get("In-Reply-To"), "<"+tuesday.MessageID()+">"; got != want {
		t.Errorf("In-Reply-To = %q, want %q", got, want)
	}
	if got, want := thursday.Header.Get("References"), "<"+tuesday.MessageID()+">"; got != want {
		t.Errorf("References = %q, want %q", got, want)
	}
	if got := thursday.Header.Get("Subject"); got != tuesday.Header.Get("Subject") {
		t.Errorf("Thursday's subject %q is not Tuesday's %q (one thread a week)", got, tuesday.Header.Get("Subject"))
	}
	st, err := store.Open(ctx, s.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var th []store.Digest
	if err := st.View(ctx, func(tx *store.ReadTx) (err error) { th, err = tx.DigestThread("daily 2026-W48"); return err }); err != nil {
		t.Fatal(err)
	}
	if len(th) != 2 || th[0].Period != "daily 2026-11-24" || th[1].Period != "daily 2026-11-26" {
		t.Errorf("digests sent: %+v, want Tuesday's and Thursday's", th)
	}
}

// runUntilMails runs the daemon at the clock until the peer holds want
// digests, then stops it.
func runUntilMails(t *testing.T, s *digestSetup, now func() time.Time, want int) {
	t.Helper()
	m := &Main{Config: s.c.Load(t), Now: now, Log: startDaemonLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	isDigest := func(ml testenv.Mail) bool { return strings.Contains(ml.Header.Get("Subject"), "SLA digest") }
	deadline := time.Now().Add(testenv.Timeout)
	for s.peer.Count(isDigest) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	m.Close()
	if got := s.peer.Count(isDigest); got != want {
		t.Fatalf("%d digests at the peer, want %d", got, want)
	}
}

// ticketCount is "1 ticket" or "N tickets", as the digest writes counts.
func ticketCount(n int) string {
	if n == 1 {
		return "1 ticket"
	}
	return fmt.Sprintf("%d tickets", n)
}
