package mailbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sentJournal is an append-only file of the mails the SMTP server accepted:
// one line "<outbox id> <unix nanoseconds> <Message-ID>" written with one
// write(2) the
// moment the server's 250 to the end of the DATA arrives, before the store
// records the send. A process killed before that record leaves the line in
// the kernel's page cache, which the kill does not lose: the next start
// reads the file and records those mails as sent instead of sending them
// again. The window in which a kill repeats a mail shrinks from a database
// transaction (which waits its turn behind the desk's, up to 25 ms and
// more on a busy machine) to that one write. A power loss can lose the
// line, as it can lose the last commits of the store (synchronous =
// NORMAL). The file is emptied whenever every line in it is recorded.
type sentJournal struct {
	mu    sync.Mutex
	f     *os.File
	lines int // lines since the file was last emptied
}

// journalEntry is one line of the journal. The Message-ID guards against
// a journal older than its database (restored from a backup), whose ids
// may name other mails now.
type journalEntry struct {
	id        int64
	at        time.Time
	messageID string
}

// openJournal opens (creating) the journal at path and returns what it
// holds: the mails an earlier process had accepted but maybe not recorded.
// A torn or foreign line is skipped and reported in bad.
func openJournal(path string) (j *sentJournal, entries []journalEntry, bad int, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open the sent journal: %w", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 || f[2] == "" {
			bad++
			continue
		}
		id, err1 := strconv.ParseInt(f[0], 10, 64)
		ns, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || id <= 0 {
			bad++
			continue
		}
		entries = append(entries, journalEntry{id: id, at: time.Unix(0, ns).UTC(), messageID: f[2]})
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("read the sent journal %s: %w", path, err)
	}
	return &sentJournal{f: f, lines: len(entries) + bad}, entries, bad, nil
}

// add appends one accepted mail in a single write. Our Message-IDs hold
// no white space (helpdesk.NewMessageID); one that did would end the line
// early and be read back as unmatched, never as another mail.
func (j *sentJournal) add(id int64, messageID string, at time.Time) error {
	messageID = strings.NewReplacer("\n", "", "\r", "").Replace(messageID)
	line := strconv.FormatInt(id, 10) + " " + strconv.FormatInt(at.UnixNano(), 10) + " " + messageID + "\n"
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := io.WriteString(j.f, line); err != nil {
		return fmt.Errorf("sent journal: %w", err)
	}
	j.lines++
	return nil
}

// reset empties the journal: every mail in it is recorded by the store.
// Appends after it go to the start of the file (O_APPEND).
func (j *sentJournal) reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lines == 0 {
		return nil
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("empty the sent journal: %w", err)
	}
	j.lines = 0
	return nil
}

// close closes the file; it keeps what was not emptied.
func (j *sentJournal) close() error {
	err := j.f.Close()
	if errors.Is(err, fs.ErrClosed) {
		return nil
	}
	return err
}
