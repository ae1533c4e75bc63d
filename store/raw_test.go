package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/helpdeskd/helpdesk"
)

// A raw mail larger than rawChunk is kept in chunks (messages.raw NULL)
// and read back whole, byte for byte; at or below it, in its row as
// before. A message without raw mail reads back nil.
func TestRawMailChunks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	big := make([]byte, 3*rawChunk+12345)
	for i := range big {
		big[i] = byte(i*7 + i/rawChunk)
	}
	raws := map[string][]byte{
		"big@x":   big,
		"exact@x": bytes.Repeat([]byte("y"), rawChunk),
		"small@x": []byte("From: a@b\r\n\r\nhi\r\n"),
		"none@x":  nil,
	}
	err := s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("carol@example.com")
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		for id, raw := range raws {
			m := &helpdesk.Message{MessageID: id, Direction: helpdesk.Inbound, Kind: helpdesk.KindCustomer, Raw: raw}
			if _, err := tx.AddMessage(tk.ID, "support", m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx *ReadTx) error {
		for id, want := range raws {
			got, err := tx.Raw(id)
			if err != nil {
				return fmt.Errorf("raw of %s: %w", id, err)
			}
			if !bytes.Equal(got, want) || (want == nil) != (got == nil) {
				t.Errorf("raw of %s: %d bytes read, %d stored, or different bytes", id, len(got), len(want))
			}
		}
		if _, err := tx.Raw("missing@x"); err != ErrNotFound {
			t.Errorf("raw of a missing message: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var chunks, inRow int
	if err := s.db.QueryRow(`SELECT count(*) FROM message_raw`).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT count(*) FROM messages WHERE raw IS NOT NULL`).Scan(&inRow); err != nil {
		t.Fatal(err)
	}
	if chunks != 4 || inRow != 2 {
		t.Errorf("%d chunks and %d raw mails in their rows, want 4 (the big mail) and 2 (exact and small)", chunks, inRow)
	}
}

// A kept attachment larger than rawChunk is stored in chunks and read back
// whole; small, empty and dropped ones as before.
func TestAttachmentChunks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	big := make([]byte, 2*rawChunk+777)
	for i := range big {
		big[i] = byte(i*13 + i/rawChunk)
	}
	atts := []helpdesk.Attachment{
		{Filename: "dump.bin", ContentType: "application/octet-stream", Size: int64(len(big)), Data: big},
		{Filename: "note.txt", ContentType: "text/plain", Size: 3, Data: []byte("abc")},
		{Filename: "empty.txt", ContentType: "text/plain", Size: 0, Data: []byte{}},
		{Filename: "huge.iso", ContentType: "application/octet-stream", Size: 40 << 20, Dropped: "too large"},
	}
	var row int64
	err := s.Update(ctx, func(tx *Tx) error {
		tk := newTicket("carol@example.com")
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		var err error
		row, err = tx.AddMessage(tk.ID, "support", &helpdesk.Message{MessageID: "files@x", Direction: helpdesk.Inbound,
			Kind: helpdesk.KindCustomer, Raw: []byte("raw"), Attachments: atts})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []helpdesk.Attachment
	if err := s.View(ctx, func(tx *ReadTx) (err error) { got, err = tx.Attachments(row); return err }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d attachments with data, want 3 (the dropped one has none)", len(got))
	}
	for i, a := range got {
		if a.Filename != atts[i].Filename || a.Size != atts[i].Size || !bytes.Equal(a.Data, atts[i].Data) {
			t.Errorf("attachment %d: %s, %d bytes (%d read), want %s, %d bytes", i, a.Filename, a.Size, len(a.Data), atts[i].Filename, atts[i].Size)
		}
	}
	var chunks int
	if err := s.db.QueryRow(`SELECT count(*) FROM attachment_chunks`).Scan(&chunks); err != nil || chunks != 3 {
		t.Errorf("%d chunks (%v), want 3", chunks, err)
	}
}

// An unreadable mail over rawChunk is quarantined in chunks; a second
// rejection of the same UID adds nothing.
func TestQuarantineChunks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	big := bytes.Repeat([]byte("no header here\r\n"), (3*rawChunk)/16)
	for range 2 {
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Quarantine("support", 7, 12, "no header fields", big) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Quarantine("support", 7, 13, "small", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := s.db.QueryRow(`SELECT group_concat(data, '') FROM (SELECT data FROM quarantine_raw ORDER BY quarantine_id, seq)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Errorf("quarantined chunks hold %d bytes, want the %d of the mail once", len(got), len(big))
	}
	var small []byte
	if err := s.db.QueryRow(`SELECT raw FROM quarantine WHERE uid = 13`).Scan(&small); err != nil || string(small) != "x" {
		t.Errorf("small quarantined mail = %q, %v", small, err)
	}
}
