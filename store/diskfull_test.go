package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestFullDisk: on a file system that fills up (a 4 MiB tmpfs, root only),
// Ping fails with "disk full" once its last result has aged a second (it
// answered "writable" before: its write changed nothing, so SQLite wrote
// nothing), and so does the record of a sent mail; a read still works.
// With room again, both write.
func TestFullDisk(t *testing.T) {
	ctx := context.Background()
	disk := testenv.SmallDisk(t, "4m")
	s := openTest(t, filepath.Join(disk, "helpdesk.db"))
	var ids []int64
	err := s.Update(ctx, func(tx *Tx) error {
		for i := range 3 {
			m := &helpdesk.OutMail{Kind: helpdesk.KindAck, MessageID: "full-" + string(rune('a'+i)) + "@x",
				From: helpdesk.Address{Email: "s@x"}, To: []helpdesk.Address{{Email: "c@example.org"}}, Text: "received"}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping with room: %v", err)
	}
	filler := testenv.FillDisk(t, disk)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping within a second of the last: %v, want its result again", err)
	}
	s.ping.at = time.Time{} // the last result has aged
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("ping on a full disk = %v, want disk full", err)
	}
	// SQLite may still fit a small write into WAL pages a checkpoint freed
	// (TestPingFullDiskWALRoom): use that room up first.
	for i := 0; ; i++ {
		if err := s.MarkSending(ctx, ids[2], s.Now().Add(time.Duration(i))); err != nil {
			break
		}
		if i == 10000 {
			t.Fatal("mark sending on a full disk keeps succeeding")
		}
	}
	if err := s.MarkSent(ctx, ids[0], s.Now(), ids[1]); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("mark sent on a full disk = %v, want disk full", err)
	}
	if due, err := s.DueOutbox(ctx, s.Now(), 10); err != nil || len(due) != 3 {
		t.Fatalf("due outbox on a full disk = %d rows, %v; want the 3 pending", len(due), err)
	}

	filler.Free(t)
	s.ping.at = time.Time{}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping with room again: %v", err)
	}
	if err := s.MarkSent(ctx, ids[0], s.Now(), ids[1]); err != nil {
		t.Fatalf("mark sent with room again: %v", err)
	}
	due, err := s.DueOutbox(ctx, s.Now(), 10)
	if err != nil || len(due) != 2 || due[0].ID != ids[1] || due[0].SendingAt.IsZero() {
		t.Fatalf("due after the record = %+v, %v; want rows 2 (marked sending) and 3", due, err)
	}
}

// TestPingFullDiskWALRoom: a full file system on which SQLite can still
// commit a small write, into the part of its WAL that a checkpoint freed
// for reuse: Ping says "disk full" all the same (its probe file finds no
// room), while the desk could not write a batch of mail.
func TestPingFullDiskWALRoom(t *testing.T) {
	ctx := context.Background()
	disk := testenv.SmallDisk(t, "4m")
	s := openTest(t, filepath.Join(disk, "helpdesk.db"))
	// A WAL of a few hundred KiB, copied back into the database and
	// restarted: its space is reused by the next writes.
	err := s.Update(ctx, func(tx *Tx) error {
		for i := range 50 {
			m := &helpdesk.OutMail{Kind: helpdesk.KindAck, MessageID: fmt.Sprintf("wal-%d@x", i),
				From: helpdesk.Address{Email: "s@x"}, To: []helpdesk.Address{{Email: "c@example.org"}}, Text: strings.Repeat("x", 8000)}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`PRAGMA wal_checkpoint(RESTART)`); err != nil {
		t.Fatal(err)
	}
	testenv.FillDisk(t, disk)
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE counters SET value = value + 1 WHERE name = 'healthz'`)
		return err
	}); err != nil {
		t.Skipf("SQLite found no room in its WAL here (%v): the case does not arise", err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("ping on a full disk with room in the WAL = %v, want disk full", err)
	}
}
