package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/board"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// boardEnv is the board over the sla report's seeded store at
// slaReportNow, served over real HTTP.
type boardEnv struct {
	st    *store.Store
	cfg   *config.Config
	srv   *httptest.Server
	board *board.Board
	mu    sync.Mutex
	clock time.Time // the store's and the board's now
}

func (e *boardEnv) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *boardEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

func newBoardEnv(t *testing.T) *boardEnv {
	t.Helper()
	cfgPath, dbPath := seedSLAReport(t)
	cfg, _, err := config.Parse(cfgPath, []byte(slaReportTOML), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &boardEnv{cfg: cfg, clock: slaReportNow}
	e.st, err = store.Open(context.Background(), dbPath, store.Options{Now: e.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	// An agent's correction of triage: HD-1004, now high, was filed low.
	err = e.st.Update(context.Background(), func(tx *store.Tx) error {
		tk, err := tx.TicketByRef("HD-1004")
		if err != nil {
			return err
		}
		return tx.AddEvent(helpdesk.Event{TicketID: tk.ID, Kind: helpdesk.EventPriority, Actor: "alice@example.com",
			Detail: "low -> high (SLA deadlines recomputed)"})
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.board = newBoard(cfg, e.st, e.now, log)
	e.srv = httptest.NewServer(e.board)
	t.Cleanup(func() { e.srv.Close(); e.board.Close() })
	return e
}

// link makes a manager's link the way `board link` does, expiring after ttl.
func (e *boardEnv) link(t *testing.T, email string, ttl time.Duration) string {
	t.Helper()
	var secret string
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		secret, err = tx.BoardSecret(email)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return board.Link(e.srv.URL+board.Path, email, e.now().Add(ttl), secret)
}

func boardGet(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// section is the part of page from the element with the id to the end of
// its table.
func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element %q on the page", id)
	}
	j := strings.Index(page[i:], "</table>")
	if j < 0 {
		t.Fatalf("element %q has no end", id)
	}
	return page[i : i+j]
}

// checkBoardHeaders: every board response, refused or not, forbids
// script, framing, caching and referrers.
func checkBoardHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'none'", "frame-ancestors 'none'", "style-src 'nonce-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy allows unsafe-inline: %q", csp)
	}
	for k, v := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store",
		"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestBoardShowsTheDesk: with a manager's valid link the board lists the
// breached and due-soon tickets soonest first with time left, priority,
// policy, owner and customer; the compliance of 7, 30 and 90 days with
// the sla report's figures; medians; open tickets per agent and team;
// spam and triage corrections; and reloads itself every minute.
func TestBoardShowsTheDesk(t *testing.T) {
	e := newBoardEnv(t)
	resp, page := boardGet(t, e.link(t, "maria@example.com", 24*time.Hour))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, page)
	}
	checkBoardHeaders(t, resp.Header)
	if !strings.Contains(page, `<meta http-equiv="refresh" content="60">`) {
		t.Error("the page does not reload itself every minute")
	}
	if strings.Contains(page, "<script") {
		t.Error("the page carries a script")
	}
	nonce := strings.TrimSuffix(strings.SplitN(resp.Header.Get("Content-Security-Policy"), "'nonce-", 2)[1], "'")
	nonce, _, _ = strings.Cut(nonce, "'")
	if !strings.Contains(page, `<style nonce="`+nonce+`">`) {
		t.Errorf("the style element does not carry the CSP's nonce %q", nonce)
	}
	urgent := section(t, page, "urgent")
	last := -1
	for _, want := range []string{"HD-1000", "HD-1001", "HD-1002", "HD-1003"} {
		i := strings.Index(urgent, want)
		if i < 0 {
			t.Errorf("%s is not among the breached and due soon:\n%s", want, urgent)
			continue
		}
		if i < last {
			t.Errorf("%s is out of order (soonest first):\n%s", want, urgent)
		}
		last = i
	}
	for _, not := range []string{"HD-1004", "HD-1005", "HD-1006", "HD-1007", "HD-1008"} {
		if strings.Contains(urgent, not) {
			t.Errorf("%s is on track or has no clock, yet listed as urgent", not)
		}
	}
	for _, want := range []string{"17 h 25 min overdue", "36 s overdue", "in 10 min", "in 35 min",
		"17:00 Mon 23 Nov, UK time", "05:24 Tue 24 Nov, New York time", "critical", "office", "us",
		"alice@example.com", "team first-line", "maria@example.com", "gina@shop.example", "ops@retail.example", "dev@api.example"} {
		if !strings.Contains(urgent, want) {
			t.Errorf("the urgent table lacks %q", want)
		}
	}
	for _, want := range []string{`id="breached">2<`, `id="atrisk">2<`, `id="open">9<`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// The 30 days are the sla report's period: its figures.
	c30 := section(t, page, "compliance-30")
	for _, want := range []string{"50% (2 of 4)", "66% (2 of 3)", "100% (1 of 1)", "50% (1 of 2)", "0% (0 of 1)", "0 s", "3 h", "6 h", "10 h", "20 min"} {
		if !strings.Contains(c30, want) {
			t.Errorf("30-day compliance lacks %q:\n%s", want, c30)
		}
	}
	// 90 days add the old outage of 1 October (response breached).
	if c90 := section(t, page, "compliance-90"); !strings.Contains(c90, "40% (2 of 5)") {
		t.Errorf("90-day compliance lacks office critical 40%% (2 of 5):\n%s", c90)
	}
	// 7 days (from 17 Nov 10:25): of the closed office criticals only
	// the ones of 17 and 18 November.
	if c7 := section(t, page, "compliance-7"); !strings.Contains(c7, "33% (1 of 3)") {
		t.Errorf("7-day compliance lacks office critical response 33%% (1 of 3):\n%s", c7)
	}
	agents := section(t, page, "agents")
	for _, want := range []string{"alice@example.com</td><td class=\"num\">3", "(unassigned)</td><td class=\"num\">5", "maria@example.com</td><td class=\"num\">1"} {
		if !strings.Contains(agents, want) {
			t.Errorf("open per agent lacks %q:\n%s", want, agents)
		}
	}
	if teams := section(t, page, "teams"); !strings.Contains(teams, "first-line</td><td class=\"num\">6") {
		t.Errorf("open per team:\n%s", teams)
	}
	counts := section(t, page, "counts")
	for _, want := range []string{"Filed as spam</td><td class=\"num\">1", "1 of 13", "1 / 0"} {
		if !strings.Contains(counts, want) {
			t.Errorf("spam and triage counts lack %q:\n%s", want, counts)
		}
	}
	if n := strings.Count(page, "<circle "); n == 0 {
		t.Error("the trend chart has no point")
	}
}

// TestBoardRefusesBadLinks: a missing, forged, expired, rotated,
// re-addressed or non-manager link gets 403, no ticket data, and the
// security headers.
func TestBoardRefusesBadLinks(t *testing.T) {
	e := newBoardEnv(t)
	good := e.link(t, "maria@example.com", time.Hour)
	u, _ := url.Parse(good)
	q := u.Query()
	with := func(k, v string) string {
		q2 := url.Values{}
		for kk, vv := range q {
			q2[kk] = vv
		}
		q2.Set(k, v)
		u2 := *u
		u2.RawQuery = q2.Encode()
		return u2.String()
	}
	sig := q.Get("s")
	flipped := "0"
	if sig[0] == '0' {
		flipped = "1"
	}
	expired := e.link(t, "maria@example.com", -time.Second)
	alice := e.link(t, "alice@example.com", time.Hour) // an agent, not a manager
	cases := map[string]string{
		"missing":            e.srv.URL + board.Path,
		"forged signature":   with("s", flipped+sig[1:]),
		"longer expiry":      with("x", "99999999999"),
		"another manager":    with("m", "boss@example.com"),
		"expired":            expired,
		"not a manager":      alice,
		"signature too long": with("s", sig+"00"),
		"other path":         strings.Replace(good, board.Path, "/board/../admin", 1),
	}
	for name, link := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := boardGet(t, link)
			if resp.StatusCode != http.StatusForbidden && !(name == "other path" && resp.StatusCode == http.StatusNotFound) {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			checkBoardHeaders(t, resp.Header)
			for _, leak := range []string{"HD-10", "shop.example", "Checkout", "%"} {
				if strings.Contains(body, leak) {
					t.Errorf("refusal carries %q:\n%s", leak, body)
				}
			}
		})
	}
	// The good link works until its manager's secret is rotated.
	if resp, _ := boardGet(t, good); resp.StatusCode != http.StatusOK {
		t.Fatalf("the valid link: status %d", resp.StatusCode)
	}
	if err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.RotateBoardSecret("maria@example.com")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if resp, body := boardGet(t, good); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "HD-10") {
		t.Errorf("after rotation: status %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := boardGet(t, e.link(t, "maria@example.com", time.Hour)); resp.StatusCode != http.StatusOK {
		t.Errorf("a link made after the rotation: status %d", resp.StatusCode)
	}
	// The link expires while the page is open: its next reload is refused.
	e.advance(2 * time.Hour)
	if resp, _ := boardGet(t, e.link(t, "maria@example.com", -time.Minute)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an expired link after the clock moved: status %d", resp.StatusCode)
	}
	resp, err := http.Post(good, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", resp.StatusCode)
	}
}

// TestBoardFiguresRefresh: the figures over days are kept for a minute
// (the open tickets are read at every request), then served once more
// while they are computed again in the background, and the next request
// has the new ones; the page says as of when.
func TestBoardFiguresRefresh(t *testing.T) {
	e := newBoardEnv(t)
	link := e.link(t, "maria@example.com", 24*time.Hour)
	_, page := boardGet(t, link)
	if !strings.Contains(section(t, page, "compliance-7"), "33% (1 of 3)") {
		t.Fatalf("7-day office critical response is not 33%% (1 of 3) at first")
	}
	// An office critical answered at once, filed 30 s later.
	e.advance(30 * time.Second)
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		tk := &helpdesk.Ticket{Subject: "Checkout down again", Customer: "gina@shop.example", Policy: "office", Priority: helpdesk.Critical,
			Status: helpdesk.StatusClosed, CreatedAt: e.now().Add(-time.Minute)}
		tk.FirstResponseAt, tk.ResolvedAt, tk.ClosedAt = tk.CreatedAt, tk.CreatedAt.Add(time.Minute), tk.CreatedAt.Add(time.Minute)
		c := e.cfg.Policies["office"].Deadlines(tk)
		tk.ResponseDue, tk.ResolutionDue = c.ResponseDue, c.ResolutionDue
		return tx.CreateTicket(tk)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, page := boardGet(t, link); !strings.Contains(section(t, page, "compliance-7"), "33% (1 of 3)") ||
		!strings.Contains(page, "as of 10:25 Tue 24 Nov") {
		t.Errorf("within the minute the figures were computed again:\n%s", section(t, page, "compliance-7"))
	}
	e.advance(30 * time.Second) // a minute after the first computation
	boardGet(t, link)           // serves the old figures, computes the new
	testenv.WaitFor(t, "the figures computed again", 10*time.Second, func() bool {
		_, page := boardGet(t, link)
		return strings.Contains(section(t, page, "compliance-7"), "50% (2 of 4)") && strings.Contains(page, "as of 10:26 Tue 24 Nov")
	})
}

// TestBoardOutsidersText: a breached ticket's subject and customer written
// to break the page (a bidirectional override, a terminal escape, markup)
// are shown escaped and printable.
func TestBoardOutsidersText(t *testing.T) {
	e := newBoardEnv(t)
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		tk, err := tx.TicketByRef("HD-1000")
		if err != nil {
			return err
		}
		tk.Subject = "Invoice \u202egnp.exe \x1b[31m<script>alert(1)</script>"
		tk.Customer = "eve\x07@evil.example"
		return tx.UpdateTicket(tk)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, page := boardGet(t, e.link(t, "maria@example.com", time.Hour))
	urgent := section(t, page, "urgent")
	for _, want := range []string{"Invoice ?gnp.exe ?[31m&lt;script&gt;alert(1)&lt;/script&gt;", "eve?@evil.example"} {
		if !strings.Contains(urgent, want) {
			t.Errorf("the urgent table lacks %q:\n%s", want, urgent)
		}
	}
	for _, c := range page {
		if c == '\u202e' || c == '\x1b' || c == '\a' {
			t.Errorf("the page carries %U", c)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the subject's markup reached the page")
	}
}
