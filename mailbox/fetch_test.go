package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// deliveryTimeout is how long a test waits for a mail that must come: far
// above what it takes, so that a slow CI machine does not fail the test.
const deliveryTimeout = 10 * time.Second

func TestFetchIDLE(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	before := srv.Append(t, "INBOX", testMail("old@test"))
	desk := newTestDesk()
	cfg := srv.config("support") // IDLE on; polling and refresh at an hour: only IDLE can bring mail
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)

	if got := desk.next(t, deliveryTimeout); got.UID != before {
		t.Fatalf("first delivery uid %d, want %d", got.UID, before)
	}
	waitUntil(t, deliveryTimeout, "IDLE", func() bool { return f.State().Status == FetcherIdle })

	start := time.Now()
	uid := srv.Append(t, "INBOX", testMail("new@test"))
	got := desk.next(t, deliveryTimeout)
	latency := time.Since(start)
	t.Logf("IDLE pickup latency: %v", latency)
	if got.UID != uid {
		t.Fatalf("delivered uid %d, want %d", got.UID, uid)
	}
	if latency > time.Second {
		t.Errorf("IDLE pickup took %v, want well under a second", latency)
	}
	if got, want := got.UIDValidity, srv.uidValidity(t, "INBOX"); got != want {
		t.Errorf("UIDValidity = %d, want %d", got, want)
	}
	if !bytes.Equal(got.Raw, testMail("new@test")) {
		t.Errorf("Raw differs from the appended mail:\n%q", got.Raw)
	}
	if got.InternalDate.IsZero() {
		t.Error("InternalDate is zero")
	}
	waitUntil(t, deliveryTimeout, "both mails flagged", func() bool {
		msgs := srv.list(t, "INBOX")
		return len(msgs) == 2 && msgs[0].has(DefaultProcessedFlag) && msgs[1].has(DefaultProcessedFlag) &&
			msgs[0].has(imap.FlagSeen) && msgs[1].has(imap.FlagSeen)
	})
	if uv, last, _ := desk.Checkpoint(context.Background(), "support"); uv != got.UIDValidity || last != uid {
		t.Errorf("checkpoint = (%d, %d), want (%d, %d)", uv, last, got.UIDValidity, uid)
	}
	st := f.State()
	if st.Mailbox != "support" || st.LastSuccess.IsZero() || st.Failures != 0 {
		t.Errorf("state = %+v", st)
	}
}

// TestFetchIDLELightCycles: mail announced in IDLE is taken without
// selecting the folder again or searching for unmarked old mail; only the
// session's first cycle does that.
func TestFetchIDLELightCycles(t *testing.T) {
	wireLeakCheck(t)
	var selects atomic.Int64
	srv := newIMAPTestServer(t, capsModern, withSelectCount(&selects))
	desk := newTestDesk()
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "IDLE", func() bool { return f.State().Status == FetcherIdle })
	for i := range 10 {
		uid := srv.Append(t, "INBOX", testMail(fmt.Sprintf("m%d@test", i)))
		if got := desk.next(t, deliveryTimeout); got.UID != uid {
			t.Fatalf("delivered uid %d, want %d", got.UID, uid)
		}
		waitUntil(t, deliveryTimeout, "IDLE again", func() bool { return f.State().Status == FetcherIdle })
	}
	if n := selects.Load(); n != 1 {
		t.Errorf("%d SELECTs for one session and 10 announced mails, want 1", n)
	}
	waitUntil(t, deliveryTimeout, "all flagged", func() bool {
		msgs := srv.list(t, "INBOX")
		return len(msgs) == 10 && !slices.ContainsFunc(msgs, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
	})
}

func TestFetchPolling(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	desk := newTestDesk()
	cfg := srv.config("support")
	cfg.IDLE, cfg.PollInterval = false, 20*time.Millisecond
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)

	waitUntil(t, deliveryTimeout, "polling", func() bool { return f.State().Status == FetcherPolling })
	for i := range 3 {
		uid := srv.Append(t, "INBOX", testMail(fmt.Sprintf("poll%d@test", i)))
		if got := desk.next(t, deliveryTimeout); got.UID != uid {
			t.Fatalf("delivered uid %d, want %d", got.UID, uid)
		}
	}
	if got, want := desk.commitOrder(), []string{"poll0@test", "poll1@test", "poll2@test"}; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
}

func TestFetchReconnect(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	desk := newTestDesk()
	logger, logs := testLogger()
	hooked := make(chan struct{})
	var once sync.Once
	f := NewFetcher(srv.config("support"), desk, desk, logger)
	f.Hooks.Error = func(error) { once.Do(func() { close(hooked) }) }
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "IDLE", func() bool { return f.State().Status == FetcherIdle })

	srv.Stop() // the server drops every connection and refuses new ones
	uid := srv.Append(t, "INBOX", testMail("while-down@test"))
	waitUntil(t, deliveryTimeout, "several failed retries", func() bool { return f.State().Failures >= 3 })
	<-hooked
	if st := f.State(); st.LastError == "" || st.LastErrorAt.IsZero() {
		t.Errorf("state after failures = %+v, want the last error", st)
	}
	srv.Restart(t)

	if got := desk.next(t, deliveryTimeout); got.UID != uid {
		t.Fatalf("delivered uid %d, want %d", got.UID, uid)
	}
	waitUntil(t, deliveryTimeout, "recovery", func() bool { return f.State().Failures == 0 })
	if got, want := logs.count("imap mailbox unavailable"), 1; got != want {
		t.Errorf("outage logged %d times, want %d (once per outage, not per retry)\n%s", got, want, logs)
	}
	if got, want := logs.count("imap mailbox reachable again"), 1; got != want {
		t.Errorf("recovery logged %d times, want %d", got, want)
	}
	if got := logs.count("imap retry failed"); got < 2 {
		t.Errorf("retries logged at debug %d times, want >= 2", got)
	}
}

func TestFetchUIDValidityChange(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	desk := newTestDesk()
	cfg := srv.config("support")
	cfg.IDLE, cfg.PollInterval = false, 10*time.Millisecond
	for _, id := range []string{"a@test", "b@test"} {
		srv.Append(t, "INBOX", testMail(id))
	}
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)
	desk.next(t, deliveryTimeout)
	desk.next(t, deliveryTimeout)
	oldUV := srv.uidValidity(t, "INBOX")

	// The mailbox is rebuilt: same mails, new UIDVALIDITY, flags lost.
	if err := srv.User().Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.User().Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	newUV := srv.uidValidity(t, "INBOX")
	if newUV == oldUV {
		t.Fatal("UIDVALIDITY did not change")
	}
	for _, id := range []string{"a@test", "b@test"} {
		srv.Append(t, "INBOX", testMail(id))
	}
	uidC := srv.Append(t, "INBOX", testMail("c@test"))

	waitUntil(t, deliveryTimeout, "new mail after the rescan", func() bool {
		return len(desk.commitOrder()) == 3
	})
	if got, want := desk.commitOrder(), []string{"a@test", "b@test", "c@test"}; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v (no duplicates)", got, want)
	}
	waitUntil(t, deliveryTimeout, "all rescanned mails flagged", func() bool {
		msgs := srv.list(t, "INBOX")
		return len(msgs) == 3 && !slices.ContainsFunc(msgs, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
	})
	if uv, last, _ := desk.Checkpoint(context.Background(), "support"); uv != newUV || last != uidC {
		t.Errorf("checkpoint = (%d, %d), want (%d, %d)", uv, last, newUV, uidC)
	}
	desk.mu.Lock()
	dups := desk.duplicates
	desk.mu.Unlock()
	if got, want := dups, 2; got != want {
		t.Errorf("duplicates seen by the desk = %d, want %d", got, want)
	}
}

// TestFetchCrashBetweenCommitAndFlag leaves a batch committed but not
// marked, as a crash between the commit and the IMAP STORE/MOVE would:
// the desk commits three mails in one Deliver, then the server goes away
// before the fetcher can mark them. After a restart (a new Fetcher) they
// are delivered again, the desk recognises them by Message-ID, and only
// then are they marked: nothing is marked that this session did not see
// committed.
func TestFetchCrashBetweenCommitAndFlag(t *testing.T) {
	for _, mode := range []string{ModeFlag, ModeMove} {
		t.Run(mode, func(t *testing.T) {
			wireLeakCheck(t)
			srv := newIMAPTestServer(t, capsModern)
			var first []uint32
			for i := range 3 {
				first = append(first, srv.Append(t, "INBOX", testMail(fmt.Sprintf("one%d@test", i))))
			}
			desk := newTestDesk()
			desk.after = func(Delivery) { srv.Stop() }
			cfg := srv.config("support")
			cfg.Processed = mode
			f1 := NewFetcher(cfg, desk, desk, nil)
			stop1 := runFetcher(t, f1)
			for range first {
				desk.next(t, deliveryTimeout)
			}
			waitUntil(t, deliveryTimeout, "the mark to fail", func() bool { return f1.State().Failures > 0 })
			stop1()
			if got, want := desk.batchSizes(), []int{3}; !slices.Equal(got, want) {
				t.Fatalf("batches %v, want %v", got, want)
			}

			srv.Restart(t)
			msgs := srv.list(t, "INBOX")
			if len(msgs) != 3 || slices.ContainsFunc(msgs, func(m testMsg) bool { return m.has(DefaultProcessedFlag) }) {
				t.Fatalf("before the restart INBOX = %+v, want the committed mails unmarked", msgs)
			}
			desk.mu.Lock()
			desk.after = nil
			desk.mu.Unlock()
			uid2 := srv.Append(t, "INBOX", testMail("two@test"))

			f2 := NewFetcher(cfg, desk, desk, nil)
			runFetcher(t, f2)
			for _, want := range append(slices.Clone(first), uid2) {
				if got := desk.next(t, deliveryTimeout); got.UID != want {
					t.Fatalf("delivered uid %d after restart, want %d", got.UID, want)
				}
			}
			for _, uid := range first {
				if got, want := desk.callsFor(uid), 2; got != want {
					t.Errorf("Deliver called %d times for the committed uid %d, want %d", got, uid, want)
				}
			}
			desk.mu.Lock()
			dups := desk.duplicates
			desk.mu.Unlock()
			if got, want := dups, len(first); got != want {
				t.Errorf("duplicates recognised by the desk = %d, want %d", got, want)
			}
			if got, want := desk.commitOrder(), []string{"one0@test", "one1@test", "one2@test", "two@test"}; !slices.Equal(got, want) {
				t.Errorf("committed %v, want %v", got, want)
			}
			switch mode {
			case ModeFlag:
				waitUntil(t, deliveryTimeout, "all flagged", func() bool {
					msgs := srv.list(t, "INBOX")
					return len(msgs) == 4 && !slices.ContainsFunc(msgs, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
				})
			case ModeMove:
				waitUntil(t, deliveryTimeout, "all moved", func() bool {
					return len(srv.list(t, "INBOX")) == 0 && len(srv.list(t, DefaultProcessedFolder)) == 4
				})
			}
		})
	}
}

// TestFetchShutdownFinishesMailInHand cancels the fetcher while Deliver
// works on a batch: the batch in hand is still committed and flagged, the
// next batch is not started, and Run returns nil.
func TestFetchShutdownFinishesMailInHand(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	uid1 := srv.Append(t, "INBOX", testMail("one@test"))
	uid2 := srv.Append(t, "INBOX", testMail("two@test"))
	uid3 := srv.Append(t, "INBOX", testMail("three@test"))
	desk := newTestDesk()
	ctx, cancel := context.WithCancel(context.Background())
	desk.fail = func(d Delivery) error {
		cancel() // SIGTERM arrives while the desk works on the batch
		return nil
	}
	cfg := srv.config("support")
	cfg.Batch = 2
	f := NewFetcher(cfg, desk, desk, nil)
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(deliveryTimeout):
		t.Fatal("Run did not return after cancel")
	}
	if got, want := desk.commitOrder(), []string{"one@test", "two@test"}; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	msgs := srv.list(t, "INBOX")
	if len(msgs) != 3 || msgs[0].UID != uid1 || msgs[1].UID != uid2 || msgs[2].UID != uid3 ||
		!msgs[0].has(DefaultProcessedFlag) || !msgs[1].has(DefaultProcessedFlag) || msgs[2].has(DefaultProcessedFlag) {
		t.Errorf("INBOX = %+v, want the first batch (two mails) flagged and the third untouched", msgs)
	}
	if got, want := desk.callsFor(uid3), 0; got != want {
		t.Errorf("Deliver calls for the mail of the next batch = %d, want %d", got, want)
	}
	if got, want := f.State().Status, FetcherStopped; got != want {
		t.Errorf("status = %s, want %s", got, want)
	}
}

func TestFetchMoveMode(t *testing.T) {
	tests := []struct {
		name string
		caps imap.CapSet
		// expunged: the originals are gone from INBOX (MOVE, or COPY +
		// UID EXPUNGE); otherwise they stay flagged \Deleted.
		expunged bool
	}{
		{"MOVE", capsModern, true},
		{"COPY+UIDPLUS", capsCopy, true},
		{"COPY only", capsBare, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wireLeakCheck(t)
			srv := newIMAPTestServer(t, tt.caps)
			// Someone else's mail, deleted but not expunged, that our
			// fetcher already handled: it must survive whatever we do.
			foreign := srv.Append(t, "INBOX", testMail("foreign@test"), imap.FlagDeleted, DefaultProcessedFlag)
			uids := []uint32{
				srv.Append(t, "INBOX", testMail("m1@test")),
				srv.Append(t, "INBOX", testMail("m2@test")),
			}
			desk := newTestDesk()
			cfg := srv.config("support")
			cfg.Processed = ModeMove
			cfg.IDLE, cfg.PollInterval = false, 10*time.Millisecond
			f := NewFetcher(cfg, desk, desk, nil)
			runFetcher(t, f)
			for _, uid := range uids {
				if got := desk.next(t, deliveryTimeout); got.UID != uid {
					t.Fatalf("delivered uid %d, want %d", got.UID, uid)
				}
			}
			// One more mail proves that later cycles ran over the marked
			// originals without moving them again.
			uid3 := srv.Append(t, "INBOX", testMail("m3@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != uid3 {
				t.Fatalf("delivered uid %d, want %d", got.UID, uid3)
			}
			waitUntil(t, deliveryTimeout, "three mails in the processed folder", func() bool {
				return len(srv.list(t, DefaultProcessedFolder)) == 3
			})
			// The copy lands before the original is marked and expunged:
			// wait for the fetcher to finish with the originals.
			waitUntil(t, deliveryTimeout, "the originals handled", func() bool {
				n := 0
				for _, m := range srv.list(t, "INBOX") {
					if m.UID != foreign && !(m.has(imap.FlagDeleted) && m.has(DefaultProcessedFlag)) {
						return false
					}
					if m.UID != foreign {
						n++
					}
				}
				return !tt.expunged || n == 0
			})
			inbox := srv.list(t, "INBOX")
			if !slices.ContainsFunc(inbox, func(m testMsg) bool { return m.UID == foreign }) {
				t.Errorf("the foreign \\Deleted mail was expunged: INBOX = %+v", inbox)
			}
			var ours []testMsg
			for _, m := range inbox {
				if m.UID != foreign {
					ours = append(ours, m)
				}
			}
			if tt.expunged {
				if len(ours) != 0 {
					t.Errorf("INBOX still holds %+v, want our mails expunged", ours)
				}
			} else {
				if len(ours) != 3 {
					t.Fatalf("INBOX holds %+v, want our 3 mails left marked", ours)
				}
				for _, m := range ours {
					if !m.has(imap.FlagDeleted) || !m.has(DefaultProcessedFlag) {
						t.Errorf("left mail %+v, want \\Deleted and %s", m, DefaultProcessedFlag)
					}
				}
			}
			for _, m := range srv.list(t, DefaultProcessedFolder) {
				if m.has(imap.FlagDeleted) {
					t.Errorf("the copy %+v carries \\Deleted", m)
				}
			}
			if got := len(desk.commitOrder()); got != 3 {
				t.Errorf("committed %d mails, want 3", got)
			}
		})
	}
}

func TestFetchQuarantine(t *testing.T) {
	for _, caps := range []struct {
		name string
		set  imap.CapSet
	}{{"MOVE", capsModern}, {"COPY only", capsBare}} {
		t.Run(caps.name, func(t *testing.T) {
			wireLeakCheck(t)
			srv := newIMAPTestServer(t, caps.set)
			good1 := srv.Append(t, "INBOX", testMail("good1@test"))
			bad := srv.Append(t, "INBOX", testMail("bad@test", "X-Test-Unreadable: yes"))
			big := srv.Append(t, "INBOX", testMail("big@test", "X-Padding: "+strings.Repeat("x", 4000)))
			good2 := srv.Append(t, "INBOX", testMail("good2@test"))
			desk := newTestDesk()
			logger, logs := testLogger()
			cfg := srv.config("support")
			cfg.MaxMessageSize = 2000
			f := NewFetcher(cfg, desk, desk, logger)
			var mu sync.Mutex
			var quarantined []uint32
			f.Hooks.Quarantined = func(uid uint32, _ string) {
				mu.Lock()
				quarantined = append(quarantined, uid)
				mu.Unlock()
			}
			runFetcher(t, f)
			var bigHeader Delivery
			for _, want := range []uint32{good1, big, good2} {
				got := desk.next(t, deliveryTimeout)
				if got.UID != want {
					t.Fatalf("delivered uid %d, want %d", got.UID, want)
				}
				if got.UID == big {
					bigHeader = got
				} else if got.Oversize != nil {
					t.Errorf("uid %d delivered as oversize", got.UID)
				}
			}
			// The oversized mail came as its header only, with its size.
			if o := bigHeader.Oversize; o == nil || o.Size <= 2000 || o.Limit != 2000 || o.Folder != DefaultQuarantineFolder || o.HeaderCut {
				t.Errorf("oversize of the big mail = %+v, want its size, the limit 2000 and the quarantine folder", o)
			}
			if raw := string(bigHeader.Raw); !strings.Contains(raw, "Message-ID: <big@test>") || strings.Contains(raw, "Hello, this is mail") || !strings.HasSuffix(raw, "\r\n\r\n") {
				t.Errorf("the big mail was delivered as %q, want its header only, ending with the empty line", raw)
			}
			waitUntil(t, deliveryTimeout, "two mails in quarantine", func() bool {
				return len(srv.list(t, DefaultQuarantineFolder)) == 2
			})
			mu.Lock()
			if got, want := quarantined, []uint32{bad, big}; !slices.Equal(got, want) {
				t.Errorf("quarantined uids %v, want %v", got, want)
			}
			mu.Unlock()
			if got, want := desk.callsFor(big), 1; got != want {
				t.Errorf("Deliver called %d times for the oversized mail, want %d", got, want)
			}
			for _, uid := range []uint32{bad, big} {
				if !strings.Contains(logs.String(), fmt.Sprintf("uid=%d", uid)) {
					t.Errorf("quarantine of uid %d not logged with its uid", uid)
				}
			}
			if f.State().Failures != 0 {
				t.Errorf("state %+v: malformed mail must not count as a failure", f.State())
			}
		})
	}
}

// TestFetchTemporaryError makes the desk fail twice on the second mail:
// the fetcher stops, backs off, and retries the same mail; nothing is
// skipped and the order holds.
func TestFetchTemporaryError(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	uids := []uint32{
		srv.Append(t, "INBOX", testMail("t1@test")),
		srv.Append(t, "INBOX", testMail("t2@test")),
		srv.Append(t, "INBOX", testMail("t3@test")),
	}
	desk := newTestDesk()
	failures := 0
	desk.fail = func(d Delivery) error {
		if d.UID == uids[1] && failures < 2 {
			failures++
			return errors.New("database is locked")
		}
		return nil
	}
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	runFetcher(t, f)
	for _, want := range uids {
		if got := desk.next(t, deliveryTimeout); got.UID != want {
			t.Fatalf("delivered uid %d, want %d", got.UID, want)
		}
	}
	if got, want := desk.commitOrder(), []string{"t1@test", "t2@test", "t3@test"}; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	if got, want := desk.callsFor(uids[1]), 3; got != want {
		t.Errorf("Deliver calls for the failing mail = %d, want %d", got, want)
	}
	if got, want := desk.callsFor(uids[2]), 1; got != want {
		t.Errorf("Deliver calls for the next mail = %d, want %d (not before the failing one)", got, want)
	}
	waitUntil(t, deliveryTimeout, "all flagged", func() bool {
		msgs := srv.list(t, "INBOX")
		return len(msgs) == 3 && !slices.ContainsFunc(msgs, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
	})
}

// appendMails appends n test mails with Message-IDs prefix0@test,
// prefix1@test, ... and returns their UIDs and Message-IDs.
func appendMails(t *testing.T, srv *imapTestServer, prefix string, n int) (uids []uint32, ids []string) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s%d@test", prefix, i)
		ids = append(ids, id)
		uids = append(uids, srv.Append(t, "INBOX", testMail(id)))
	}
	return uids, ids
}

// allFlagged reports whether folder holds n mails, all marked processed.
func allFlagged(t *testing.T, srv *imapTestServer, folder string, n int) bool {
	t.Helper()
	msgs := srv.list(t, folder)
	return len(msgs) == n && !slices.ContainsFunc(msgs, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
}

// quarantineLog records the fetcher's quarantine hook.
type quarantineLog struct {
	mu      sync.Mutex
	uids    []uint32
	reasons []string
}

func (q *quarantineLog) hook(uid uint32, reason string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.uids = append(q.uids, uid)
	q.reasons = append(q.reasons, reason)
}

// wait waits until the hook was called n times: the mail lands in the
// quarantine folder just before.
func (q *quarantineLog) wait(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, deliveryTimeout, "the quarantine hook", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.uids) >= n
	})
}

func (q *quarantineLog) get() ([]uint32, []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.uids), slices.Clone(q.reasons)
}

// TestFetchBatches delivers 200 mails that wait before the start: they
// come in batches of Batch mails (across the chunks of metaChunk sizes),
// each exactly once and in UID order, and all end flagged.
func TestFetchBatches(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	uids, ids := appendMails(t, srv, "b", 200)
	desk := newTestDesk()
	cfg := srv.config("support")
	cfg.Batch = 32
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)
	for i, want := range uids {
		if got := desk.next(t, deliveryTimeout); got.UID != want {
			t.Fatalf("delivery %d: uid %d, want %d", i, got.UID, want)
		}
	}
	waitUntil(t, deliveryTimeout, "all flagged", func() bool { return allFlagged(t, srv, "INBOX", len(uids)) })

	if got, want := desk.commitOrder(), ids; !slices.Equal(got, want) {
		t.Errorf("committed %v,\nwant %v", got, want)
	}
	for _, uid := range uids {
		if got := desk.callsFor(uid); got != 1 {
			t.Errorf("uid %d delivered %d times, want once", uid, got)
		}
	}
	// Every mail was there at the first cycle: full batches, then the rest.
	if got, want := desk.batchSizes(), []int{32, 32, 32, 32, 32, 32, 8}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
	var seen []uint32
	for _, b := range desk.batchLog() {
		seen = append(seen, b.uids...)
	}
	if !slices.Equal(seen, uids) {
		t.Errorf("the batches hold uids %v, want %v in this order", seen, uids)
	}
}

// TestFetchBatchBytes bounds batches by size: a mail larger than
// BatchBytes (but within MaxMessageSize) goes alone, the others share
// batches within BatchBytes, and everything arrives.
func TestFetchBatchBytes(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	small := len(testMail("s00@test"))
	const batchBytes = 1000
	var uids []uint32
	var ids []string
	var big uint32
	for i := range 12 {
		id := fmt.Sprintf("s%02d@test", i)
		raw := testMail(id)
		if i == 5 {
			raw = testMail(id, "X-Padding: "+strings.Repeat("x", 3*batchBytes))
		}
		uid := srv.Append(t, "INBOX", raw)
		if i == 5 {
			big = uid
		}
		uids, ids = append(uids, uid), append(ids, id)
	}
	if small*2 > batchBytes {
		t.Fatalf("test mails of %d bytes are too large for batches of %d bytes", small, batchBytes)
	}
	desk := newTestDesk()
	cfg := srv.config("support")
	cfg.BatchBytes = batchBytes
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)
	for _, want := range uids {
		if got := desk.next(t, deliveryTimeout); got.UID != want {
			t.Fatalf("delivered uid %d, want %d", got.UID, want)
		}
	}
	waitUntil(t, deliveryTimeout, "all flagged", func() bool { return allFlagged(t, srv, "INBOX", len(uids)) })
	if got, want := desk.commitOrder(), ids; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	shared := false
	for _, b := range desk.batchLog() {
		switch {
		case slices.Contains(b.uids, big):
			if len(b.uids) != 1 {
				t.Errorf("the mail above BatchBytes came in batch %v, want alone", b.uids)
			}
		case b.bytes > batchBytes:
			t.Errorf("batch %v holds %d bytes, above BatchBytes %d", b.uids, b.bytes, batchBytes)
		case len(b.uids) > 1:
			shared = true
		}
	}
	if !shared {
		t.Errorf("batches %v: no batch of several small mails", desk.batchSizes())
	}
}

// TestFetchTemporaryErrorInBatch fails mail k in the middle of a batch
// until the test allows it: the mails before k are committed and flagged
// at once, k and the mails after it are neither; after reconnecting they
// are all committed exactly once.
func TestFetchTemporaryErrorInBatch(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	uids, ids := appendMails(t, srv, "t", 10)
	const k = 4
	desk := newTestDesk()
	var locked atomic.Bool
	locked.Store(true)
	desk.fail = func(d Delivery) error {
		if d.UID == uids[k] && locked.Load() {
			return errors.New("database is locked")
		}
		return nil
	}
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	runFetcher(t, f)

	waitUntil(t, deliveryTimeout, "the mails before k flagged", func() bool {
		msgs := srv.list(t, "INBOX")
		return len(msgs) == len(uids) && !slices.ContainsFunc(msgs[:k], func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
	})
	waitUntil(t, deliveryTimeout, "a failure", func() bool { return f.State().Failures > 0 })
	if got, want := f.State().LastError, fmt.Sprintf("deliver uid %d: database is locked", uids[k]); !strings.Contains(got, want) {
		t.Errorf("last error %q, want it to contain %q", got, want)
	}
	for _, m := range srv.list(t, "INBOX")[k:] {
		if m.has(DefaultProcessedFlag) {
			t.Errorf("uid %d flagged while mail k (uid %d) is not committed", m.UID, uids[k])
		}
	}
	if got, want := desk.commitOrder(), ids[:k]; !slices.Equal(got, want) {
		t.Errorf("committed %v while k fails, want %v", got, want)
	}
	if got := desk.batchSizes(); len(got) == 0 || got[0] != len(uids) {
		t.Errorf("batch sizes %v, want a first batch of %d", got, len(uids))
	}

	locked.Store(false)
	waitUntil(t, deliveryTimeout, "all flagged", func() bool { return allFlagged(t, srv, "INBOX", len(uids)) })
	if got, want := desk.commitOrder(), ids; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	desk.mu.Lock()
	dups := desk.duplicates
	desk.mu.Unlock()
	if dups != 0 {
		t.Errorf("%d duplicates, want none", dups)
	}
	for i, uid := range uids {
		if i == k {
			continue
		}
		// The mails after k were never tried while k failed.
		if got := desk.callsFor(uid); got != 1 {
			t.Errorf("uid %d worked on %d times, want once", uid, got)
		}
	}
}

// TestFetchUnreadableInBatch rejects one mail in the middle of a batch:
// only that mail goes to quarantine, the others are marked with one
// command over a set with a hole.
func TestFetchUnreadableInBatch(t *testing.T) {
	for _, mode := range []string{ModeFlag, ModeMove} {
		t.Run(mode, func(t *testing.T) {
			wireLeakCheck(t)
			srv := newIMAPTestServer(t, capsModern)
			var uids []uint32
			var good []string
			for i := range 5 {
				id := fmt.Sprintf("u%d@test", i)
				var extra []string
				if i == 2 {
					extra = append(extra, "X-Test-Unreadable: yes")
				} else {
					good = append(good, id)
				}
				uids = append(uids, srv.Append(t, "INBOX", testMail(id, extra...)))
			}
			desk := newTestDesk()
			cfg := srv.config("support")
			cfg.Processed = mode
			f := NewFetcher(cfg, desk, desk, nil)
			var q quarantineLog
			f.Hooks.Quarantined = q.hook
			runFetcher(t, f)

			waitUntil(t, deliveryTimeout, "one mail in quarantine", func() bool {
				return len(srv.list(t, DefaultQuarantineFolder)) == 1
			})
			switch mode {
			case ModeFlag:
				waitUntil(t, deliveryTimeout, "the others flagged", func() bool { return allFlagged(t, srv, "INBOX", 4) })
			case ModeMove:
				waitUntil(t, deliveryTimeout, "the others moved", func() bool {
					return len(srv.list(t, "INBOX")) == 0 && len(srv.list(t, DefaultProcessedFolder)) == 4
				})
			}
			q.wait(t, 1)
			if got, _ := q.get(); !slices.Equal(got, []uint32{uids[2]}) {
				t.Errorf("quarantined uids %v, want [%d]", got, uids[2])
			}
			if got, want := desk.commitOrder(), good; !slices.Equal(got, want) {
				t.Errorf("committed %v, want %v", got, want)
			}
			if got, want := desk.batchSizes(), []int{5}; !slices.Equal(got, want) {
				t.Errorf("batch sizes %v, want %v", got, want)
			}
			if st := f.State(); st.Failures != 0 {
				t.Errorf("state %+v: an unreadable mail must not count as a failure", st)
			}
		})
	}
}

// TestFetchPanicInBatch makes the Handler panic on one mail of a batch:
// the batch is delivered again one mail at a time, only the mail that
// panics goes to quarantine, and the others are committed once.
func TestFetchPanicInBatch(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	uids, ids := appendMails(t, srv, "p", 5)
	desk := newTestDesk()
	desk.fail = func(d Delivery) error {
		if d.UID == uids[2] {
			panic("boom")
		}
		return nil
	}
	logger, logs := testLogger()
	f := NewFetcher(srv.config("support"), desk, desk, logger)
	var q quarantineLog
	f.Hooks.Quarantined = q.hook
	runFetcher(t, f)

	waitUntil(t, deliveryTimeout, "one mail in quarantine", func() bool {
		return len(srv.list(t, DefaultQuarantineFolder)) == 1
	})
	waitUntil(t, deliveryTimeout, "the others flagged", func() bool { return allFlagged(t, srv, "INBOX", 4) })
	q.wait(t, 1)
	got, reasons := q.get()
	if !slices.Equal(got, []uint32{uids[2]}) {
		t.Errorf("quarantined uids %v, want [%d]", got, uids[2])
	} else if !strings.Contains(reasons[0], "boom") {
		t.Errorf("quarantine reason %q, want the panic", reasons[0])
	}
	want := slices.Concat(ids[:2], ids[3:])
	if got := desk.commitOrder(); !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	desk.mu.Lock()
	dups := desk.duplicates
	desk.mu.Unlock()
	if dups != 0 {
		t.Errorf("%d duplicates, want none", dups)
	}
	if got, want := desk.batchSizes(), []int{5, 1, 1, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v (the batch, then its mails one at a time)", got, want)
	}
	if got, want := logs.count("delivering its mails one at a time"), 1; got != want {
		t.Errorf("fallback logged %d times, want %d", got, want)
	}
	if st := f.State(); st.Failures != 0 {
		t.Errorf("state %+v: a panic on one mail must not count as a failure", st)
	}
}

// shortHandler returns one result too few while short is set.
type shortHandler struct {
	*testDesk
	short atomic.Bool
}

func (h *shortHandler) Deliver(ctx context.Context, ds []Delivery) []error {
	errs := h.testDesk.Deliver(ctx, ds)
	if h.short.Load() {
		return errs[:len(errs)-1]
	}
	return errs
}

// TestFetchHandlerWrongLength has the Handler commit a batch but return
// one result too few: the fetcher marks nothing, logs the broken contract
// and ends the session; the next session delivers the batch again, the
// desk recognises it by Message-ID, and it is marked then.
func TestFetchHandlerWrongLength(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	uids, ids := appendMails(t, srv, "w", 3)
	desk := newTestDesk()
	h := &shortHandler{testDesk: desk}
	h.short.Store(true)
	logger, logs := testLogger()
	f := NewFetcher(srv.config("support"), h, desk, logger)
	errc := make(chan error)
	release := make(chan struct{})
	var once sync.Once
	// Hold the fetcher after its first failed session, while the test
	// looks at the server.
	f.Hooks.Error = func(err error) { once.Do(func() { errc <- err; <-release }) }
	runFetcher(t, f)
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // runs before the fetcher's stop

	var err error
	select {
	case err = <-errc:
	case <-time.After(deliveryTimeout):
		t.Fatal("no failed session")
	}
	if want := "handler returned 2 results for 3 mails"; !strings.Contains(err.Error(), want) {
		t.Errorf("session error %q, want it to contain %q", err, want)
	}
	for _, m := range srv.list(t, "INBOX") {
		if m.has(DefaultProcessedFlag) {
			t.Errorf("uid %d marked after a result of the wrong length", m.UID)
		}
	}
	h.short.Store(false)
	releaseOnce.Do(func() { close(release) })

	waitUntil(t, deliveryTimeout, "all flagged", func() bool { return allFlagged(t, srv, "INBOX", len(uids)) })
	if got := desk.commitOrder(); !slices.Equal(got, ids) {
		t.Errorf("committed %v, want %v", got, ids)
	}
	for _, uid := range uids {
		if got := desk.callsFor(uid); got != 2 {
			t.Errorf("uid %d worked on %d times, want twice (committed, then recognised)", uid, got)
		}
	}
	desk.mu.Lock()
	dups := desk.duplicates
	desk.mu.Unlock()
	if got, want := dups, len(uids); got != want {
		t.Errorf("duplicates recognised by the desk = %d, want %d", got, want)
	}
	if got, want := logs.count("deliver broke its contract"), 1; got != want {
		t.Errorf("broken contract logged %d times, want %d", got, want)
	}
}

// TestFetchBatchRefused has the server answer NO to any body FETCH that
// includes one mail, after returning the others (as Dovecot does with
// UNAVAILABLE): the fetcher takes that batch one mail at a time, the mail
// the server cannot return is handed to the desk as unreadable, with the
// server's answer, and goes to quarantine once the desk recorded it, and
// the others are committed once.
func TestFetchBatchRefused(t *testing.T) {
	wireLeakCheck(t)
	var bad atomic.Uint32
	srv := newIMAPTestServer(t, capsModern, withFetchHook(func(sess imapserver.Session, w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
		set, ok := numSet.(imap.UIDSet)
		if !ok || len(options.BodySection) == 0 || !set.Contains(imap.UID(bad.Load())) {
			return sess.Fetch(w, numSet, options)
		}
		if nums, ok := set.Nums(); ok {
			var rest imap.UIDSet
			for _, uid := range nums {
				if uid != imap.UID(bad.Load()) {
					rest.AddNum(uid)
				}
			}
			if len(rest) > 0 {
				if err := sess.Fetch(w, rest, options); err != nil {
					return err
				}
			}
		}
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Some messages could not be FETCHed"}
	}))
	uids, ids := appendMails(t, srv, "r", 5)
	bad.Store(uids[2])
	desk := newTestDesk()
	logger, logs := testLogger()
	f := NewFetcher(srv.config("support"), desk, desk, logger)
	var q quarantineLog
	f.Hooks.Quarantined = q.hook
	runFetcher(t, f)

	waitUntil(t, deliveryTimeout, "one mail in quarantine", func() bool {
		return len(srv.list(t, DefaultQuarantineFolder)) == 1
	})
	waitUntil(t, deliveryTimeout, "the others flagged", func() bool { return allFlagged(t, srv, "INBOX", 4) })
	q.wait(t, 1)
	got, reasons := q.get()
	if !slices.Equal(got, []uint32{uids[2]}) {
		t.Errorf("quarantined uids %v, want [%d]", got, uids[2])
	} else if !strings.Contains(reasons[0], "server could not return it") {
		t.Errorf("quarantine reason %q", reasons[0])
	}
	if got, want := desk.commitOrder(), slices.Concat(ids[:2], ids[3:]); !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	if got, want := desk.batchSizes(), []int{1, 1, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
	desk.mu.Lock()
	rejected := slices.Clone(desk.rejected)
	desk.mu.Unlock()
	if !slices.Equal(rejected, []uint32{uids[2]}) {
		t.Errorf("the desk recorded the rejection of %v, want [%d] before the move", rejected, uids[2])
	}
	if got, want := logs.count("server refused a batch fetch"), 1; got != want {
		t.Errorf("fallback logged %d times, want %d", got, want)
	}
	if st := f.State(); st.Failures != 0 {
		t.Errorf("state %+v: a mail the server cannot return must not count as a failure", st)
	}
}

// TestFetchOutOfOrder has the server return the mails of a body FETCH in
// descending UID order (RFC 9051 §7.5.2 fixes no order): the Handler still
// gets them in ascending order.
func TestFetchOutOfOrder(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern, withFetchHook(func(sess imapserver.Session, w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
		set, ok := numSet.(imap.UIDSet)
		nums, static := set.Nums()
		if !ok || !static || len(options.BodySection) == 0 {
			return sess.Fetch(w, numSet, options)
		}
		for _, uid := range slices.Backward(nums) {
			if err := sess.Fetch(w, imap.UIDSetNum(uid), options); err != nil {
				return err
			}
		}
		return nil
	}))
	uids, ids := appendMails(t, srv, "o", 6)
	desk := newTestDesk()
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	runFetcher(t, f)
	for _, want := range uids {
		if got := desk.next(t, deliveryTimeout); got.UID != want {
			t.Fatalf("delivered uid %d, want %d", got.UID, want)
		}
	}
	waitUntil(t, deliveryTimeout, "all flagged", func() bool { return allFlagged(t, srv, "INBOX", len(uids)) })
	if got := desk.commitOrder(); !slices.Equal(got, ids) {
		t.Errorf("committed %v, want %v", got, ids)
	}
	if got, want := desk.batchSizes(), []int{len(uids)}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
}

// TestFetchCheckpointAheadOfFlags starts with a checkpoint at the highest
// UID and nothing flagged (every mail committed, then a crash): each mail
// is delivered again once, the desk recognises it, and only then is it
// flagged; the checkpoint is not taken for a reset of the UIDs. It also
// covers "UID n:*" matching the highest UID when n is above it.
func TestFetchCheckpointAheadOfFlags(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	var last uint32
	desk := newTestDesk()
	for i := range 3 {
		id := fmt.Sprintf("c%d@test", i)
		last = srv.Append(t, "INBOX", testMail(id))
		desk.committed[id] = Delivery{}
	}
	desk.checkpoints["support"] = [2]uint32{srv.uidValidity(t, "INBOX"), last}
	logger, logs := testLogger()
	f := NewFetcher(srv.config("support"), desk, desk, logger)
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "all flagged", func() bool {
		msgs := srv.list(t, "INBOX")
		return len(msgs) == 3 && !slices.ContainsFunc(msgs, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
	})
	waitUntil(t, deliveryTimeout, "IDLE", func() bool { return f.State().Status == FetcherIdle })
	for uid := uint32(1); uid <= last; uid++ {
		if n := desk.callsFor(uid); n != 1 {
			t.Errorf("Deliver called %d times for committed uid %d, want once", n, uid)
		}
	}
	desk.mu.Lock()
	dups, order, resets := desk.duplicates, len(desk.order), desk.resets
	desk.mu.Unlock()
	if dups != 3 || order != 0 {
		t.Errorf("the desk saw %d duplicates and committed %d new mails, want 3 and 0", dups, order)
	}
	if resets != 0 || logs.count("reused UIDs") != 0 {
		t.Errorf("a checkpoint at the highest UID was taken for reused UIDs (%d resets)", resets)
	}
}

func TestFetchTLS(t *testing.T) {
	for _, starttls := range []bool{false, true} {
		t.Run(fmt.Sprintf("starttls=%v", starttls), func(t *testing.T) {
			wireLeakCheck(t)
			srv := newIMAPTestServer(t, capsModern, withTLS(t, starttls))
			uid := srv.Append(t, "INBOX", testMail("tls@test"))
			desk := newTestDesk()
			cfg := srv.config("support")
			f := NewFetcher(cfg, desk, desk, nil)
			runFetcher(t, f)
			if got := desk.next(t, deliveryTimeout); got.UID != uid {
				t.Fatalf("delivered uid %d, want %d", got.UID, uid)
			}
		})
	}
}

// TestFetchTLSUntrusted refuses a server whose certificate is not trusted:
// the fetcher keeps retrying and never logs in.
func TestFetchTLSUntrusted(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern, withTLS(t, false))
	srv.Append(t, "INBOX", testMail("tls@test"))
	desk := newTestDesk()
	cfg := srv.config("support")
	cfg.TLSConfig = nil // system roots: the self-signed certificate fails
	f := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "a failure", func() bool { return f.State().Failures > 0 })
	if !strings.Contains(f.State().LastError, "certificate") {
		t.Errorf("last error %q, want a certificate error", f.State().LastError)
	}
	if n := len(desk.commitOrder()); n != 0 {
		t.Errorf("%d mails delivered over an untrusted connection", n)
	}
}

func TestIMAPConfigValidate(t *testing.T) {
	ok := IMAPConfig{Name: "support", Host: "imap.example.com", Username: "u"}
	tests := []struct {
		name string
		edit func(*IMAPConfig)
		want string // substring of the error; "" for valid
	}{
		{"defaults", func(*IMAPConfig) {}, ""},
		{"no name", func(c *IMAPConfig) { c.Name = "" }, "empty mailbox name"},
		{"no host", func(c *IMAPConfig) { c.Host = "" }, "empty host"},
		{"plaintext remote", func(c *IMAPConfig) { c.Security = SecurityNone }, "only allowed to a loopback host"},
		{"plaintext loopback", func(c *IMAPConfig) { c.Security, c.Host = SecurityNone, "127.0.0.1" }, ""},
		{"plaintext localhost", func(c *IMAPConfig) { c.Security, c.Host = SecurityNone, "localhost" }, ""},
		{"plaintext ::1", func(c *IMAPConfig) { c.Security, c.Host = SecurityNone, "::1" }, ""},
		{"bad security", func(c *IMAPConfig) { c.Security = "ssl" }, "unknown security"},
		{"bad port", func(c *IMAPConfig) { c.Port = 70000 }, "out of range"},
		{"bad keyword", func(c *IMAPConfig) { c.ProcessedFlag = `\Seen` }, "not an IMAP keyword"},
		{"keyword with space", func(c *IMAPConfig) { c.ProcessedFlag = "a b" }, "not an IMAP keyword"},
		{"move into itself", func(c *IMAPConfig) { c.Processed, c.ProcessedFolder = ModeMove, "inbox" }, "processed folder is the folder read"},
		{"bad mode", func(c *IMAPConfig) { c.Processed = "delete" }, "unknown processed mode"},
		{"quarantine into itself", func(c *IMAPConfig) { c.QuarantineFolder = "INBOX" }, "quarantine folder is the folder read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Every problem is reported at once.
	err := IMAPConfig{Security: "x", Processed: "y"}.Validate()
	if got := strings.Count(err.Error(), "\n") + 1; got < 5 {
		t.Errorf("Validate of an empty config reported %d problems, want >= 5: %v", got, err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	f := NewFetcher(IMAPConfig{}, newTestDesk(), newTestDesk(), nil)
	if err := f.Run(context.Background()); err == nil {
		t.Fatal("Run with an empty config = nil, want an error")
	}
}

func TestKeywordPermanent(t *testing.T) {
	tests := []struct {
		perm []imap.Flag
		want bool
	}{
		{nil, true},
		{[]imap.Flag{imap.FlagSeen, imap.FlagWildcard}, true},
		{[]imap.Flag{imap.FlagSeen, "$helpdeskprocessed"}, true},
		{[]imap.Flag{imap.FlagSeen, imap.FlagDeleted}, false},
	}
	for _, tt := range tests {
		if got := keywordPermanent(tt.perm, DefaultProcessedFlag); got != tt.want {
			t.Errorf("keywordPermanent(%v) = %v, want %v", tt.perm, got, tt.want)
		}
	}
}

// TestFetchCorpus passes every mail of the shared corpus (MANIFEST.tsv)
// through a real IMAP server and checks that the desk receives exactly the
// literal the server sent (imapmemserver re-serialises headers, so that is
// the reference, not the file), broken MIME included: the fetcher never
// parses. Every mail ends flagged or in quarantine.
func TestFetchCorpus(t *testing.T) {
	root := testenv.Corpus(t)
	var files []string
	for _, e := range testenv.CorpusManifest(t) {
		if strings.HasPrefix(e.Path, "messages/") {
			files = append(files, filepath.Join(root, e.Path))
		}
	}
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	want := map[uint32][]byte{}
	var total int
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			t.Logf("listed in the manifest but absent: %s", p)
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		lit := imapserver.ExtractBodySection(bytes.NewReader(raw), &imap.FetchItemBodySection{})
		want[srv.Append(t, "INBOX", raw)] = lit
		total += len(lit)
	}
	desk := newTestDesk()
	// Count every Deliver call: the test desk rejects what net/mail cannot
	// read, and the corpus repeats Message-IDs.
	calls := make(chan Delivery, len(want))
	desk.fail = func(d Delivery) error { calls <- d; return nil }
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	start := time.Now()
	runFetcher(t, f)
	for range len(want) {
		var d Delivery
		select {
		case d = <-calls:
		case <-time.After(deliveryTimeout):
			t.Fatalf("no delivery within %v", deliveryTimeout)
		}
		if !bytes.Equal(d.Raw, want[d.UID]) {
			t.Errorf("uid %d: delivered %d bytes differ from the %d the server sent", d.UID, len(d.Raw), len(want[d.UID]))
		}
	}
	elapsed := time.Since(start)
	t.Logf("corpus: %d mails, %d bytes fetched and delivered in %v (%.0f mails/s)",
		len(want), total, elapsed, float64(len(want))/elapsed.Seconds())
	waitUntil(t, deliveryTimeout, "every mail flagged or quarantined", func() bool {
		inbox := srv.list(t, "INBOX")
		return len(inbox)+len(srv.list(t, DefaultQuarantineFolder)) == len(want) &&
			!slices.ContainsFunc(inbox, func(m testMsg) bool { return !m.has(DefaultProcessedFlag) })
	})
	desk.mu.Lock()
	t.Logf("corpus: %d committed, %d duplicates by Message-ID, %d rejected by the test desk's net/mail",
		len(desk.order), desk.duplicates, len(desk.rejected))
	desk.mu.Unlock()
}

// blackholeProxy forwards TCP connections to target until blackhole is
// called: from then on the connections open at that moment swallow
// everything in both directions without closing, as when a NAT silently
// forgets a connection. New connections are forwarded again.
type blackholeProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []*proxiedConn
	wg    sync.WaitGroup
}

type proxiedConn struct {
	client, server net.Conn
	dead           atomic.Bool
}

func newBlackholeProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *blackholeProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxiedConn{client: c, server: s}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pc, c, s)
		go p.pipe(pc, s, c)
	}
}

// pipe copies from src to dst, dropping the bytes once the connection is
// blackholed.
func (p *blackholeProxy) pipe(pc *proxiedConn, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pc.dead.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !pc.dead.Load() {
				dst.Close()
			}
			return
		}
	}
}

func (p *blackholeProxy) blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.dead.Store(true)
	}
}

func (p *blackholeProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, pc := range p.conns {
		pc.client.Close()
		pc.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestFetchSilentDrop loses the connection silently while the fetcher
// idles: no FIN, no RST, the server's EXISTS never arrives. The IDLE
// refresh leaves IDLE; the unanswered DONE hits the command timeout; the
// fetcher reconnects and catches up by UID.
func TestFetchSilentDrop(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	proxy := newBlackholeProxy(t, srv.Addr())
	desk := newTestDesk()
	cfg := srv.config("support")
	_, port, _ := net.SplitHostPort(proxy.ln.Addr().String())
	cfg.Port, _ = strconv.Atoi(port)
	cfg.IdleRefresh, cfg.CommandTimeout = 100*time.Millisecond, 200*time.Millisecond
	f := NewFetcher(cfg, desk, desk, nil)
	// The session's error is taken from the hook: the state's LastError is
	// cleared by the cycle that delivers the mail, which may already have
	// run when the test looks.
	var mu sync.Mutex
	var sessionErrs []string
	f.Hooks.Error = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		sessionErrs = append(sessionErrs, err.Error())
	}
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "IDLE", func() bool { return f.State().Status == FetcherIdle })

	proxy.blackhole()
	uid := srv.Append(t, "INBOX", testMail("lost-exists@test"))
	if got := desk.next(t, deliveryTimeout); got.UID != uid {
		t.Fatalf("delivered uid %d, want %d", got.UID, uid)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(sessionErrs, func(e string) bool { return strings.Contains(e, "no answer within") }) {
		t.Errorf("session errors %q, want the command timeout", sessionErrs)
	}
}

// BenchmarkFetch measures how fast the fetcher moves small mails from an
// in-process IMAP server to the Handler in batches, as in production: one
// FETCH, one Deliver and one STORE per batch of up to the default Batch.
func BenchmarkFetch(b *testing.B) {
	srv := newIMAPTestServer(b, capsModern)
	for i := range b.N {
		srv.Append(b, "INBOX", testMail(fmt.Sprintf("bench%d@test", i)))
	}
	desk := newTestDesk()
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- f.Run(ctx) }()
	for range b.N {
		select {
		case <-desk.delivered:
		case <-time.After(deliveryTimeout):
			b.Fatal("delivery stalled")
		}
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
	b.ReportMetric(float64(b.N)/float64(len(desk.batchLog())), "mails/batch")
}

// noUIDNextSession is a memserver session whose SELECT says no UIDNEXT
// (sent as 0, which the client reads as unknown).
type noUIDNextSession struct {
	imapserver.SessionMove
}

func (s noUIDNextSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	d, err := s.SessionMove.Select(mailbox, options)
	if d != nil {
		d.UIDNext = 0
	}
	return d, err
}

// TestFetchUIDsReused restores the server from a backup that numbers the
// folder from 1 again under the same UIDVALIDITY: one mail the desk has
// (from the backup) and one new mail, both under UIDs at or below the
// checkpoint. The fetcher says so in an error log, moves the checkpoint
// back and rescans: the new mail is committed (before this fix it was
// flagged unread, lost), the old one is recognised, both are flagged, and
// a later mail under the old checkpoint's UID is read at once. Without
// UIDNEXT, the highest UID below the checkpoint gives it away.
func TestFetchUIDsReused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []imapServerOpt
	}{
		{"UIDNEXT", nil},
		{"no UIDNEXT", []imapServerOpt{wrapSessions(func(sess imapserver.Session) imapserver.Session {
			return noUIDNextSession{SessionMove: sess.(imapserver.SessionMove)}
		})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wireLeakCheck(t)
			srv := newIMAPTestServer(t, capsModern, tc.opts...)
			_, ids := appendMails(t, srv, "r", 3)
			desk := newTestDesk()
			logger, logs := testLogger()
			cfg := srv.config("support")
			cfg.IDLE, cfg.PollInterval = false, 20*time.Millisecond
			f := NewFetcher(cfg, desk, desk, logger)
			runFetcher(t, f)
			for range ids {
				desk.next(t, deliveryTimeout)
			}
			uv := srv.uidValidity(t, "INBOX")
			waitUntil(t, deliveryTimeout, "all flagged", func() bool { return allFlagged(t, srv, "INBOX", 3) })

			srv.RestoreBreakingUIDs(t, "INBOX", testMail(ids[0]), testMail("new@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != 1 {
				t.Fatalf("first delivery after the restore: uid %d, want 1", got.UID)
			}
			if got := desk.next(t, deliveryTimeout); got.UID != 2 || !bytes.Contains(got.Raw, []byte("new@test")) {
				t.Fatalf("second delivery after the restore: uid %d (%q), want 2, the new mail", got.UID, got.Raw)
			}
			if got, want := desk.commitOrder(), append(slices.Clone(ids), "new@test"); !slices.Equal(got, want) {
				t.Errorf("committed %v, want %v", got, want)
			}
			waitUntil(t, deliveryTimeout, "the restored folder flagged", func() bool { return allFlagged(t, srv, "INBOX", 2) })
			desk.mu.Lock()
			dups, resets := desk.duplicates, desk.resets
			desk.mu.Unlock()
			if dups != 1 || resets != 1 {
				t.Errorf("%d duplicates and %d checkpoint resets, want 1 and 1", dups, resets)
			}
			if got, want := logs.count("level=ERROR msg=\"imap server reused UIDs without changing UIDVALIDITY"), 1; got != want {
				t.Errorf("reused UIDs logged %d times at level ERROR, want %d; log:\n%s", got, want, logs)
			}
			if line := logs.line("reused UIDs"); !strings.Contains(line, "mailbox=support") || !strings.Contains(line, "checkpoint=3") ||
				!strings.Contains(line, fmt.Sprintf("uidvalidity=%d", uv)) {
				t.Errorf("the reuse log line %q does not name the mailbox, the UIDVALIDITY and the checkpoint", line)
			}

			// The next mail gets UID 3, the old checkpoint: it is new.
			uid := srv.Append(t, "INBOX", testMail("later@test"))
			if got := desk.next(t, deliveryTimeout); got.UID != uid || uid != 3 {
				t.Fatalf("delivered uid %d, want %d (= 3)", got.UID, uid)
			}
			waitUntil(t, deliveryTimeout, "checkpoint at the later mail", func() bool {
				v, last, _ := desk.Checkpoint(context.Background(), "support")
				return v == uv && last == uid
			})
		})
	}
}

// TestFetchOversizeCrashBeforeQuarantine stops the server after the desk
// committed an oversize mail's header and before the fetcher could move
// the mail to quarantine, as a crash would: the mail stays in the folder,
// unmarked. The next fetcher delivers its header again (the desk
// recognises it) and only then moves it: the mail is never lost, and the
// record is not made twice.
func TestFetchOversizeCrashBeforeQuarantine(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	big := srv.Append(t, "INBOX", testMail("big@test", "X-Padding: "+strings.Repeat("x", 4000)))
	desk := newTestDesk()
	desk.after = func(d Delivery) {
		if d.Oversize != nil {
			srv.Stop()
		}
	}
	cfg := srv.config("support")
	cfg.MaxMessageSize = 2000
	f1 := NewFetcher(cfg, desk, desk, nil)
	stop1 := runFetcher(t, f1)
	if got := desk.next(t, deliveryTimeout); got.UID != big || got.Oversize == nil {
		t.Fatalf("delivered uid %d (oversize %v), want %d as oversize", got.UID, got.Oversize, big)
	}
	waitUntil(t, deliveryTimeout, "the move to fail", func() bool { return f1.State().Failures > 0 })
	stop1()
	srv.Restart(t)
	if n := len(srv.list(t, "INBOX")); n != 1 {
		t.Fatalf("INBOX holds %d mails after the crash, want the big one, unmoved", n)
	}
	desk.mu.Lock()
	desk.after = nil
	desk.mu.Unlock()

	f2 := NewFetcher(cfg, desk, desk, nil)
	runFetcher(t, f2)
	if got := desk.next(t, deliveryTimeout); got.UID != big || got.Oversize == nil {
		t.Fatalf("delivered uid %d after the restart, want %d as oversize again", got.UID, big)
	}
	waitUntil(t, deliveryTimeout, "the big mail in quarantine", func() bool {
		return len(srv.list(t, "INBOX")) == 0 && len(srv.list(t, DefaultQuarantineFolder)) == 1
	})
	desk.mu.Lock()
	dups, order := desk.duplicates, slices.Clone(desk.order)
	desk.mu.Unlock()
	if dups != 1 || !slices.Equal(order, []string{"big@test"}) {
		t.Errorf("the desk committed %v and recognised %d duplicates, want [big@test] and 1", order, dups)
	}
}

// TestFetchOversizeHeaderBounded: of an oversize mail with a header far
// longer than MaxHeaderSize, only MaxHeaderSize bytes are read, cut after
// a whole line and ended as a header, and the delivery says it was cut.
func TestFetchOversizeHeaderBounded(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	var hs []string
	for i := range 2 * MaxHeaderSize / 100 {
		hs = append(hs, fmt.Sprintf("X-Filler-%d: %s", i, strings.Repeat("y", 80)))
	}
	srv.Append(t, "INBOX", testMail("long@test", hs...))
	desk := newTestDesk()
	cfg := srv.config("support")
	cfg.MaxMessageSize = 64 << 10
	runFetcher(t, NewFetcher(cfg, desk, desk, nil))
	got := desk.next(t, deliveryTimeout)
	if got.Oversize == nil || !got.Oversize.HeaderCut {
		t.Fatalf("oversize %+v, want the header marked as cut", got.Oversize)
	}
	if n := len(got.Raw); n > MaxHeaderSize+4 || n < MaxHeaderSize-200 {
		t.Errorf("delivered %d bytes of header, want about %d", n, MaxHeaderSize)
	}
	if !bytes.HasSuffix(got.Raw, []byte("\r\n\r\n")) || bytes.Contains(got.Raw, []byte("Hello, this is mail")) {
		t.Errorf("the cut header does not end as a header, or has the body: ...%q", got.Raw[max(0, len(got.Raw)-120):])
	}
	waitUntil(t, deliveryTimeout, "the long mail in quarantine", func() bool { return len(srv.list(t, DefaultQuarantineFolder)) == 1 })
}

// TestFetchUnreadableMovedOnlyOnceRecorded: a mail the server cannot
// return is moved to quarantine only once the desk has recorded it; while
// the desk fails, it stays where it is, unmarked.
func TestFetchUnreadableMovedOnlyOnceRecorded(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern, withFetchHook(func(sess imapserver.Session, w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
		if len(options.BodySection) == 0 {
			return sess.Fetch(w, numSet, options)
		}
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "cannot read the message file"}
	}))
	uid := srv.Append(t, "INBOX", testMail("lost@test"))
	desk := newTestDesk()
	var allow atomic.Bool
	desk.fail = func(Delivery) error {
		if !allow.Load() {
			return errors.New("database is locked")
		}
		return nil
	}
	f := NewFetcher(srv.config("support"), desk, desk, nil)
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "two failed sessions", func() bool { return f.State().Failures >= 2 })
	if n := len(srv.list(t, DefaultQuarantineFolder)); n != 0 {
		t.Errorf("%d mails moved to quarantine before the desk recorded them", n)
	}
	if n := len(srv.list(t, "INBOX")); n != 1 {
		t.Errorf("INBOX holds %d mails while the desk fails, want 1", n)
	}
	allow.Store(true)
	waitUntil(t, deliveryTimeout, "the mail in quarantine", func() bool { return len(srv.list(t, DefaultQuarantineFolder)) == 1 })
	desk.mu.Lock()
	rejected := slices.Clone(desk.rejected)
	desk.mu.Unlock()
	if !slices.Equal(rejected, []uint32{uid}) {
		t.Errorf("rejections recorded %v, want [%d]", rejected, uid)
	}
}

// TestFetchAuthFailure: a refused login is no outage. It is logged once as
// an error with the server's words, the state says auth-failed with the
// reason, the retries wait longer than for a network fault, and the
// password is read again before each login, so that fixing it is enough;
// after recovery the state keeps no stale error.
func TestFetchAuthFailure(t *testing.T) {
	wireLeakCheck(t)
	srv := newIMAPTestServer(t, capsModern)
	desk := newTestDesk()
	logger, logs := testLogger()
	var mu sync.Mutex
	password, reads := "wrong", 0
	cfg := srv.config("support")
	cfg.Password = ""
	cfg.PasswordFunc = func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		reads++
		return password, nil
	}
	f := NewFetcher(cfg, desk, desk, logger)
	runFetcher(t, f)
	waitUntil(t, deliveryTimeout, "refused twice", func() bool { return f.State().Failures >= 2 })
	st := f.State()
	if st.Status != FetcherAuthFailed || !strings.Contains(st.LastError, "authentication failed at "+srv.Addr()) {
		t.Fatalf("state %+v, want auth-failed naming the server", st)
	}
	if got := logs.count("imap login refused"); got != 1 {
		t.Errorf("refused login logged %d times, want once as an error\n%s", got, logs)
	}
	if got := logs.count("imap mailbox unavailable"); got != 0 {
		t.Errorf("a refused login was logged as an outage\n%s", logs)
	}
	// The auth backoff starts authBackoffSteps doublings further on: with
	// Min 5 ms it is already at the 40 ms cap, where a network fault
	// waits 5 ms, so at most a few dozen tries fit in the test's time.
	if d := cfg.Backoff.Delay(authBackoffSteps, 0); d != cfg.Backoff.Max {
		t.Errorf("auth retry delay %v, want the cap %v", d, cfg.Backoff.Max)
	}

	mu.Lock()
	password = testPass
	before := reads
	mu.Unlock()
	uid := srv.Append(t, "INBOX", testMail("after-fix@test"))
	if got := desk.next(t, deliveryTimeout); got.UID != uid {
		t.Fatalf("delivered uid %d, want %d", got.UID, uid)
	}
	waitUntil(t, deliveryTimeout, "recovery", func() bool { return f.State().Failures == 0 })
	mu.Lock()
	if reads <= before {
		t.Errorf("the password was not read again after it was fixed")
	}
	mu.Unlock()
	if st := f.State(); st.LastError != "" || !st.LastErrorAt.IsZero() {
		t.Errorf("state after recovery %+v, want no error", st)
	}
	if got := logs.count(`msg="imap login" `); got < 1 {
		t.Errorf("no line says the login succeeded\n%s", logs)
	}
}
