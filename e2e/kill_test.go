//go:build linux

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// deskCounts opens the daemon's database next to it (another process, as
// an operator's CLI would) and counts tickets and pending outbox mail.
func deskCounts(t testing.TB, dir string) (tickets, pending int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "helpdesk.db"), store.Options{})
	if err != nil {
		t.Fatalf("open the daemon's store: %v", err)
	}
	defer st.Close()
	if err := st.View(ctx, func(tx *store.ReadTx) error {
		ts, err := tx.Tickets(store.TicketFilter{})
		tickets = len(ts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	pending, _, err = st.OutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tickets, pending
}

// TestKillNineWhileMailArrives SIGKILLs the daemon at random moments while
// 1,000 mails arrive, restarting it each time, then lets it run until the
// desk is quiet: exactly 1,000 tickets, every customer acknowledged, no
// Message-ID twice at the peer, and every mail marked processed on the
// server (DESIGN.md "The flow of one message", step 6).
//
// SMTP cannot make delivery exactly-once (RFC 1047: a client that loses
// the reply to the end of DATA cannot know the mail arrived): a kill
// between the peer's 250 and the outbox's commit sends that mail again on
// restart. The outbox marks each mail as being sent before its DATA, so
// the next run knows which mails were in flight and logs each as it sends
// it again ("may reach its recipients twice"). A repeat is tolerated only
// for a mail so named, once; a run names at most one mail per SMTP
// connection ([smtp] connections = 2 by default, each with one mail in
// flight); any other repeat, or two different acks to one customer (a
// mail ingested twice), fails.
func TestKillNineWhileMailArrives(t *testing.T) {
	testenv.Long(t)
	const (
		mails = 1000
		kills = 8
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	imapAddr := newMemIMAP(t)
	p := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr()})
	d := newDaemon(t, cfg)
	d.start()
	// The first run creates the database; the test reads it between runs.
	d.ready()
	begin := time.Now()

	want := map[string]string{} // customer -> subject
	raws := make([][]byte, mails)
	for i := range mails {
		from := fmt.Sprintf("customer%04d@shop%d.example", i, i%7)
		subject := fmt.Sprintf("Question %04d about invoice INV-%04d", i, i)
		want[from] = subject
		raws[i] = customerMail(from, subject, fmt.Sprintf("q%04d.%d@shop.example", i, seed),
			fmt.Sprintf("Hello,\n\nhow do I download invoice INV-%04d as a PDF?\n\nThanks", i))
	}

	// The producer delivers a mail every 10ms on average (about 10s in
	// all), in bursts of 1 to 40 so that a backlog forms now and then.
	bursts := make([]int, 0, mails)
	for n := 0; n < mails; {
		b := min(1+rng.IntN(40), mails-n)
		bursts = append(bursts, b)
		n += b
	}
	produced := make(chan error, 1)
	go func() {
		a, err := testenv.DialAppender(imapAddr, imapUser, imapPass)
		if err != nil {
			produced <- err
			return
		}
		defer a.Close()
		next := time.Now()
		for _, b := range bursts {
			for range b {
				if err := a.Append("INBOX", raws[0]); err != nil {
					produced <- err
					return
				}
				raws = raws[1:]
			}
			next = next.Add(time.Duration(b) * 10 * time.Millisecond)
			time.Sleep(time.Until(next))
		}
		produced <- nil
	}()

	// The killer: SIGKILL at random moments 0.3-2s apart, one in four
	// within 150ms of the restart (opening the store, the first SELECT,
	// settling mail committed before the last kill); restart at once.
	var killedAt []time.Time
	for range kills {
		delay := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1700*time.Millisecond)))
		if rng.IntN(4) == 0 {
			delay = 20*time.Millisecond + time.Duration(rng.Int64N(int64(130*time.Millisecond)))
		}
		time.Sleep(delay) // the fault schedule, not a wait for a condition
		if !d.running() {
			t.Fatalf("helpdeskd exited by itself: %v", d.exitErr())
		}
		d.kill()
		killedAt = append(killedAt, time.Now())
		n, pending := deskCounts(t, dir)
		t.Logf("SIGKILL %d at %v: %d tickets, %d outbox mails pending", len(killedAt), time.Since(begin).Round(time.Millisecond), n, pending)
		d.start()
	}
	if err := <-produced; err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Logf("%d mails appended and %d kills in %v", mails, len(killedAt), time.Since(begin).Round(time.Millisecond))

	// Let the last daemon run until the desk is quiet.
	testenv.WaitForState(t, "1,000 tickets, 1,000 acks at the peer and an empty outbox", 4*time.Minute, func() (bool, string) {
		n, pending := deskCounts(t, dir)
		got := acked(p, want)
		return n == mails && pending == 0 && got == mails, fmt.Sprintf("%d tickets, %d customers acknowledged, %d outbox mails pending", n, got, pending)
	})
	t.Logf("quiet %v after the start", time.Since(begin).Round(time.Millisecond))
	d.stop()

	// Exactly 1,000 tickets, one per mail.
	ts := tickets(t, cfg)
	if len(ts) != mails {
		t.Errorf("helpdeskd tickets: %d tickets, want %d", len(ts), mails)
	}
	subjects := map[string]int{}
	for _, tk := range ts {
		subjects[tk.Subject]++
	}
	for from, s := range want {
		if n := subjects[s]; n != 1 {
			t.Errorf("%d tickets for %s's %q, want 1", n, from, s)
		}
	}
	// Every customer acknowledged once; no Message-ID twice, but for the
	// mails a run named as in flight when the run before it was killed,
	// at most one per SMTP connection per run.
	const inFlightPerKill = 2 // the default [smtp] connections
	named := inDoubt(t, d.log(), inFlightPerKill)
	inFlight := func(first testenv.Mail) bool {
		run, ok := named[first.MessageID()]
		if ok && run >= 2 {
			delete(named, first.MessageID()) // one repeat per naming
			t.Logf("Message-ID <%s> arrived twice: run %d named it as in flight when run %d was killed (its first copy accepted %v before that kill)",
				first.MessageID(), run, run-1, killedAt[run-2].Sub(first.At).Round(time.Millisecond))
			return true
		}
		return false
	}
	repeats := onceEach(t, p.Mails(), want, inFlight)
	if got := len(p.Mails()) - repeats; got != mails {
		t.Errorf("the peer got %d distinct mails, want %d acknowledgements", got, mails)
	}
	total, unprocessed := inboxState(t, imapAddr)
	if total != mails || unprocessed != 0 {
		t.Errorf("IMAP INBOX: %d mails, %d without %s; want %d and 0", total, unprocessed, processedFlag, mails)
	}
	if strings.Contains(d.log(), "panic") {
		t.Errorf("the daemon's log shows a panic")
	}
	t.Logf("%d runs of the daemon, %d repeated mails at the peer, %d more named as possible repeats that were not; %d sends recorded from the sent journal at a restart (the killed run may or may not have recorded them itself)",
		kills+1, repeats, len(named), fromJournal(t, d.log()))
}

// fromJournal sums what the daemon's runs recorded from the sent journal
// at their start: mails the run before had accepted at the SMTP peer, of
// which it may have been killed before recording some.
func fromJournal(t testing.TB, log string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "(sent journal)") {
			continue
		}
		_, rest, _ := strings.Cut(line, " recorded=")
		v, _, _ := strings.Cut(rest, " ")
		k, err := strconv.Atoi(v)
		if err != nil {
			t.Errorf("no count in %q", line)
		}
		n += k
	}
	return n
}

// inDoubt reads the daemon's log (all runs) for the mails a run sent
// again because the run before it was killed while sending them: Message-ID
// → the first run (1 the first) that named it. It fails t when a run names
// more than perRun mails.
func inDoubt(t testing.TB, log string, perRun int) map[string]int {
	t.Helper()
	named := map[string]int{}
	run, inRun := 0, 0
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "=== run ") {
			run, inRun = run+1, 0
			continue
		}
		if !strings.Contains(line, "may reach its recipients twice") {
			continue
		}
		_, rest, ok := strings.Cut(line, " message_id=")
		if !ok {
			t.Errorf("no message_id in %q", line)
			continue
		}
		id, _, _ := strings.Cut(rest, " ")
		if r, ok := named[id]; ok {
			// Killed again while sending it again: it may arrive a third
			// time, which onceEach does not excuse.
			t.Logf("<%s> named as in flight by run %d and again by run %d", id, r, run)
			continue
		}
		named[id] = run
		if inRun++; inRun > perRun {
			t.Errorf("run %d names %d mails as in flight at the last kill, want at most %d (one per SMTP connection)", run, inRun, perRun)
		}
	}
	return named
}
