package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestBoardServedByDaemon runs the daemon with [http] board on: a
// customer's mail becomes a ticket, `helpdeskd board link` prints a link
// for the manager that the daemon's board listener honours, the page shows
// the ticket's queue, an agent gets no link, and `helpdeskd board rotate`
// makes the printed link worthless while the daemon runs.
func TestBoardServedByDaemon(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	c := testenv.Config{Dir: t.TempDir(), IMAP: imapSrv.Addr(), SMTP: peer.Addr(), Mailbox: `team = "first-line"`, Agents: testenv.Team,
		Extra: "[http]\nboard = true\nboard_listen = \"127.0.0.1:0\"\n"}
	cfg := c.Load(t)
	path := filepath.Join(c.Dir, "helpdesk.toml")
	d := startDaemon(t, cfg, nil)
	if d.BoardAddr == "" || !strings.HasPrefix(d.BoardAddr, "127.0.0.1:") {
		t.Fatalf("board address %q", d.BoardAddr)
	}
	imapSrv.Deliver(t, "INBOX", `From: Carol Shopper <carol@shop.example>
To: support@example.com
Subject: Checkout is down for all customers
Message-ID: <carol-board@shop.example>
Date: Fri, 20 Nov 2026 09:40:00 +0000

Since 09:15 nobody can check out: "HTTP 502 Bad Gateway" on the payment page.
`)
	peer.Wait(t, "the ack to carol", testenv.To("carol@shop.example"))

	out, errOut, code := run(t, "board", "link", "maria@example.com", "-ttl", "2d", "-config", path)
	if code != 0 {
		t.Fatalf("board link: exit %d\n%s", code, errOut)
	}
	u, err := url.Parse(strings.TrimSpace(out))
	if err != nil || u.Path != "/board" || u.Query().Get("m") != "maria@example.com" {
		t.Fatalf("board link printed %q (%v)", out, err)
	}
	if !strings.Contains(errOut, "helpdeskd board rotate maria@example.com") {
		t.Errorf("board link does not say how to revoke:\n%s", errOut)
	}
	u.Host = d.BoardAddr // board_url names the configured port 0
	resp, page := boardGet(t, u.String())
	if resp.StatusCode != 200 {
		t.Fatalf("the printed link: status %d\n%s", resp.StatusCode, page)
	}
	checkBoardHeaders(t, resp.Header)
	for _, want := range []string{`id="open">1<`, "first-line</td><td class=\"num\">1", "Compliance, tickets filed in the last 7 days (1)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the board lacks %q", want)
		}
	}
	if _, errOut, code := run(t, "board", "link", "alice@example.com", "-config", path); code != 2 || !strings.Contains(errOut, "not a manager") {
		t.Errorf("board link for an agent: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(t, "board", "link", "maria@example.com", "-ttl", "400d", "-config", path); code != 2 || !strings.Contains(errOut, "366d") {
		t.Errorf("board link -ttl 400d: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := run(t, "board", "rotate", "maria@example.com", "-config", path); code != 0 || !strings.Contains(out, "refused from now on") {
		t.Fatalf("board rotate: exit %d\n%s%s", code, out, errOut)
	}
	if resp, page := boardGet(t, u.String()); resp.StatusCode != 403 || strings.Contains(page, "first-line") {
		t.Errorf("the link after rotation: status %d\n%s", resp.StatusCode, page)
	}
}
