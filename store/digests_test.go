package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestRecordDigest: a period is recorded once; a second record of it is
// ErrDigestRecorded and changes nothing; the thread lists the periods
// sent, not the skipped one, in the order they were due.
func TestRecordDigest(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "d.db"))
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2026, 11, d, 8, 0, 0, 0, time.UTC) }
	read := func(period string) (bool, bool) {
		t.Helper()
		var rec, anyRec bool
		if err := s.View(ctx, func(tx *ReadTx) (err error) {
			rec, anyRec, err = tx.DigestRecorded(period)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rec, anyRec
	}
	if rec, anyRec := read("daily 2026-11-23"); rec || anyRec {
		t.Fatalf("empty store: recorded %v, any %v", rec, anyRec)
	}
	for _, d := range []Digest{
		{Period: "daily 2026-11-23", Thread: "daily 2026-W48", DueAt: day(23), Skipped: true},
		{Period: "daily 2026-11-25", Thread: "daily 2026-W48", DueAt: day(25), Recipients: 2},
		{Period: "daily 2026-11-24", Thread: "daily 2026-W48", DueAt: day(24), Recipients: 2},
	} {
		if err := s.Update(ctx, func(tx *Tx) error { return tx.RecordDigest(d) }); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(ctx, func(tx *Tx) error {
		return tx.RecordDigest(Digest{Period: "daily 2026-11-24", Thread: "x", DueAt: day(24), Recipients: 9})
	})
	if !errors.Is(err, ErrDigestRecorded) {
		t.Fatalf("second record: %v, want ErrDigestRecorded", err)
	}
	if rec, anyRec := read("daily 2026-11-24"); !rec || !anyRec {
		t.Errorf("recorded %v, any %v", rec, anyRec)
	}
	if rec, anyRec := read("daily 2026-11-26"); rec || !anyRec {
		t.Errorf("unrecorded period: recorded %v, any %v", rec, anyRec)
	}
	var th []Digest
	if err := s.View(ctx, func(tx *ReadTx) (err error) { th, err = tx.DigestThread("daily 2026-W48"); return err }); err != nil {
		t.Fatal(err)
	}
	if len(th) != 2 || th[0].Period != "daily 2026-11-24" || th[1].Period != "daily 2026-11-25" || th[0].Recipients != 2 || !th[0].DueAt.Equal(day(24)) {
		t.Errorf("thread = %+v", th)
	}
}
