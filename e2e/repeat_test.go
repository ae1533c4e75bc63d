//go:build linux

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver of the test's own connection

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestKillAfterAccept kills the daemon (SIGKILL) with an acknowledgement
// at the SMTP peer that the daemon has not recorded as sent, at the two
// moments that differ (RFC 1047: SMTP has no two-phase commit):
//
//   - after the daemon read the peer's 250: the test holds the database's
//     write lock from its own connection, so the record waits, and kills
//     the daemon once the sent journal (<database>.sent) has the mail.
//     The next start records the mail from the journal and does not send
//     it again: one copy at the peer.
//   - before the daemon read the 250: the peer's hook kills the daemon
//     while it takes the mail, then accepts it. The daemon cannot know;
//     the next start sends it again, same Message-ID, and names it in its
//     log first. Two copies at the peer, and no more.
func TestKillAfterAccept(t *testing.T) {
	testenv.Long(t)
	t.Run("after the 250 was read", func(t *testing.T) { testKillAfterAccept(t, false) })
	t.Run("before the 250 was read", func(t *testing.T) { testKillAfterAccept(t, true) })
}

func testKillAfterAccept(t *testing.T, before250 bool) {
	imapAddr := newMemIMAP(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "helpdesk.db")
	var armed atomic.Bool
	var d *daemon
	var lock *sql.Conn
	hookErr := make(chan error, 1)
	p := testenv.StartSMTPWith(t, testenv.SMTPOptions{DataErr: func(testenv.Mail) error {
		if !armed.CompareAndSwap(true, false) {
			return nil
		}
		if before250 {
			d.kill()
			hookErr <- nil
			return nil
		}
		_, err := lock.ExecContext(context.Background(), "BEGIN IMMEDIATE")
		hookErr <- err
		return nil
	}})
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr()})
	d = newDaemon(t, cfg)
	d.start()
	d.ready()

	appendMails(t, imapAddr, customerMail("first@shop.example", "Invoice 1 shows the wrong VAT", "kill-1@shop.example", "How do I fix the VAT rate?"))
	p.WaitWithin(t, 30*time.Second, "the first ack", testenv.To("first@shop.example"))
	testenv.WaitForState(t, "the first ack recorded", 30*time.Second, func() (bool, string) {
		_, pending := deskCounts(t, dir)
		return pending == 0, fmt.Sprintf("%d pending", pending)
	})

	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err = db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	armed.Store(true)
	appendMails(t, imapAddr, customerMail("second@shop.example", "Invoice 2 shows the wrong VAT", "kill-2@shop.example", "How do I fix the VAT rate?"))
	select {
	case err := <-hookErr:
		if err != nil {
			t.Fatalf("take the database's write lock: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the second ack never reached the peer")
	}
	if !before250 {
		testenv.WaitForState(t, "the second ack in the sent journal", 30*time.Second, func() (bool, string) {
			fi, err := os.Stat(dbPath + ".sent")
			if err != nil {
				return false, err.Error()
			}
			return fi.Size() > 0, fmt.Sprintf("%d bytes", fi.Size())
		})
		d.kill()
		if _, err := lock.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}
	if d.running() {
		t.Fatal("the daemon still runs after SIGKILL")
	}
	d.start()
	d.ready()
	testenv.WaitForState(t, "the outbox empty after the restart", 30*time.Second, func() (bool, string) {
		_, pending := deskCounts(t, dir)
		return pending == 0, fmt.Sprintf("%d pending", pending)
	})
	d.stop()

	acks := 0
	var id string
	for _, m := range p.Mails() {
		if testenv.To("second@shop.example")(m) {
			acks++
			if id != "" && m.MessageID() != id {
				t.Errorf("two different acks to the second customer: <%s> and <%s>", id, m.MessageID())
			}
			id = m.MessageID()
		}
	}
	log := d.log()
	named := strings.Contains(log, "may reach its recipients twice") && strings.Contains(log, "message_id="+id)
	if before250 {
		if acks != 2 || !named {
			t.Errorf("the ack whose 250 the daemon never read: %d copies at the peer, named in the log %v; want 2 copies, named", acks, named)
		}
		return
	}
	if acks != 1 || named {
		t.Errorf("the ack in the sent journal: %d copies at the peer, named as a possible repeat %v; want 1, not named", acks, named)
	}
	if !strings.Contains(log, "(sent journal): they are not sent again") {
		t.Errorf("the restart does not log what it recorded from the sent journal")
	}
	if fi, err := os.Stat(dbPath + ".sent"); err != nil || fi.Size() != 0 {
		t.Errorf("sent journal after the restart recorded it: %v, %v; want empty", fi, err)
	}
}
