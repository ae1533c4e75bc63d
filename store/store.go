// Package store keeps the desk in SQLite (modernc.org/sqlite, pure Go):
// tickets, messages with their raw mail, attachments, participants, the
// audit trail, the outbox and the mailbox checkpoints. It owns every line of
// SQL in helpdeskd; the rest of the program sees domain types only.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("database is locked by another process")

// Store is the SQLite database of the desk. It is safe for concurrent use.
type Store struct {
	db    *sql.DB // writes: BEGIN IMMEDIATE, so concurrent writers queue on busy_timeout
	read  *sql.DB // reads: deferred transactions, concurrent under WAL
	path  string
	stmts stmtCache
	ckpt  checkpointer
	// writer admits one write transaction of this process at a time. SQLite
	// would serialise them too, but its busy handler polls with sleeps of
	// up to 100 ms; this lock hands over as soon as the writer commits.
	writer chan struct{}
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
	// RefPrefix is the prefix of ticket references ("HD" gives HD-1042).
	RefPrefix string
	// RefStart is the number of the first ticket.
	RefStart int64

	ping pingState // Ping's last result
}

// Options tune Open.
type Options struct {
	RefPrefix   string        // default "HD"
	RefStart    int64         // default 1000
	BusyTimeout time.Duration // default 5s
	Now         func() time.Time
}

// Open opens (creating if needed) the database at path and applies the
// embedded migrations. It fails with ErrLocked when another process keeps
// the database locked past the busy timeout, and refuses a database written
// by a newer helpdeskd.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.RefPrefix == "" {
		opt.RefPrefix = "HD"
	}
	if opt.RefStart <= 0 {
		opt.RefStart = 1000
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	dsn := func(txlock string, cacheKiB int, extra ...string) string {
		q := url.Values{}
		// busy_timeout first: switching a new file to WAL needs a lock
		// another process may hold for a moment.
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walBackstop))
		for _, p := range extra {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", txlock)
		return "file:" + abs + "?" + q.Encode()
	}
	// The writer's page cache holds a whole batch of mails (group commit,
	// see Tx.Savepoint), so that a batch is written to the WAL once, at
	// its commit, instead of spilling pages that the batch then writes
	// again. Its savepoint journals (the pages one mail changed, to undo
	// them) stay in memory rather than in a temp file written page by
	// page. Readers keep SQLite's defaults (2 MiB cache, temp files).
	db, err := sql.Open("sqlite", dsn("immediate", 16<<10, "temp_store(MEMORY)"))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	read, err := sql.Open("sqlite", dsn("deferred", 2<<10))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	s := &Store{db: db, read: read, path: abs, Now: opt.Now, RefPrefix: opt.RefPrefix, RefStart: opt.RefStart,
		writer: make(chan struct{}, 1)}
	s.ckpt.start(read)
	// SQLite does not wait on its busy handler for every lock a new file
	// needs (switching to WAL while another process opens it too), so a
	// busy start is retried until the busy timeout.
	deadline := time.Now().Add(opt.BusyTimeout)
	for {
		err := classify(s.migrate(ctx, -1))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("open store %s: %w", abs, err)
		}
		select {
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("open store %s: %w", abs, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
	return s, nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close stops the background checkpoints and closes the database.
func (s *Store) Close() error {
	s.ckpt.stop()
	return errors.Join(s.stmts.close(), s.read.Close(), s.db.Close())
}

// walBackstop is the WAL size, in pages, at which a committing writer
// checkpoints by itself (SQLite's automatic checkpoint). Normally the
// checkpointer has copied the WAL back long before; the backstop bounds
// the WAL should it fall behind or fail.
const walBackstop = 16384 // 64 MiB of 4 KiB pages

// checkpointInterval is the least time between two background
// checkpoints. A checkpoint syncs the WAL and the database file to disk,
// which costs milliseconds; under load one a second keeps the WAL to a
// second's writes.
const checkpointInterval = time.Second

// checkpointer copies the WAL back into the database file on a goroutine
// of its own after commits (PRAGMA wal_checkpoint(PASSIVE), which neither
// waits for nor blocks readers and writers), so that a writer does not
// pay for the copy inside its commit. It runs at most once per
// checkpointInterval; the commits in between merge into the next run.
type checkpointer struct {
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	runs atomic.Int64 // checkpoints run, for tests
}

func (c *checkpointer) start(db *sql.DB) {
	c.kick, c.quit, c.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		var last time.Time
		for {
			select {
			case <-c.quit:
				return
			case <-c.kick:
			}
			if wait := checkpointInterval - time.Since(last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-c.quit:
					t.Stop()
					return
				case <-t.C:
				}
			}
			last = time.Now()
			// An error (a busy database, a full disk) leaves the work to the
			// next kick or to the backstop; there is nothing else to do.
			_, _ = db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			c.runs.Add(1)
		}
	}()
}

// poke asks for a checkpoint; it never blocks.
func (c *checkpointer) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) stop() {
	if c.quit != nil {
		close(c.quit)
		<-c.done
		c.quit = nil
	}
}

// stmtCache keeps one prepared statement per query and pool: preparing is
// a sixth of the cost of ingesting a mail, and the queries are few.
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	db *sql.DB
	q  string
}

func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := stmtKey{db, q}
	if st, ok := c.m[k]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[stmtKey]*sql.Stmt{}
	}
	c.m[k] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// pingEvery is how long a Ping's result stands: /healthz may be asked
// often, and each probe is a write transaction.
const pingEvery = time.Second

// pingState is the last Ping's result, shared by callers within pingEvery.
type pingState struct {
	mu  sync.Mutex
	at  time.Time // wall clock of the last probe; zero before the first
	err error
}

// Ping checks that the database is writable now: it commits a change of
// one counter, which needs a new page in the WAL and so fails, like the
// desk's own writes, when the file system is full (an UPDATE that writes
// what is already there changes no page, and SQLite commits it without
// touching the disk). SQLite may still find room for a page in the WAL
// it allocated before, so Ping also writes, syncs and removes a 4 KiB
// file beside the database, which a full file system refuses. A result
// stands for a second: calls within it share the last probe. /healthz
// uses it.
func (s *Store) Ping(ctx context.Context) error {
	s.ping.mu.Lock()
	defer s.ping.mu.Unlock()
	if !s.ping.at.IsZero() && time.Since(s.ping.at) < pingEvery {
		return s.ping.err
	}
	err := s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`UPDATE counters SET value = value + 1 WHERE name = 'healthz'`); err != nil {
			return classify(fmt.Errorf("write probe: %w", err))
		}
		return nil
	})
	if ctx.Err() != nil {
		return err // the caller gave up: not a verdict on the store
	}
	if err == nil {
		err = probeFile(filepath.Dir(s.path))
	}
	s.ping.at, s.ping.err = time.Now(), err
	return err
}

// probeFile writes, syncs and removes a 4 KiB file in dir.
func probeFile(dir string) error {
	f, err := os.CreateTemp(dir, ".helpdesk-probe-*")
	if err != nil {
		return probeError(dir, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return probeError(dir, err)
	}
	return nil
}

func probeError(dir string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("disk full: no room for 4 KiB beside the database in %s: %w", dir, err)
	}
	return fmt.Errorf("cannot write beside the database in %s: %w", dir, err)
}

// classify turns SQLite busy/locked and disk-full errors into clear ones.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		if se.Code() == sqlite3.SQLITE_IOERR_SHMSIZE {
			// The WAL index could not grow: the file system is full.
			return fmt.Errorf("disk full: %w", err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", ErrLocked, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("disk full: %w", err)
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("cannot write the database file: %w", err)
		}
	}
	return err
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a number and _", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		// Numbers are handed out per line of work, so one may be missing
		// until its work is merged; never twice the same.
		if m.version < 1 || i > 0 && m.version == ms[i-1].version {
			return nil, fmt.Errorf("migration %s: version %d is not positive or used twice", m.name, m.version)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this binary writes: that of its
// last migration.
func SchemaVersion() int {
	ms, _ := migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies the migrations above the database's user_version, up to
// target (-1: all), each in its own transaction.
func (s *Store) migrate(ctx context.Context, target int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if target < 0 || target > len(ms) {
		target = len(ms)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var current int
	if err := conn.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest := SchemaVersion(); current > newest {
		return fmt.Errorf("database schema version %d is newer than this helpdeskd understands (%d): upgrade helpdeskd", current, newest)
	}
	for _, m := range ms[:target] {
		if m.version <= current {
			continue
		}
		// The version is read again inside the write transaction: another
		// process opening the same new database may have migrated it since.
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: read schema version: %w", m.name, err)
		}
		if current >= m.version {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	// A write proves the file is ours to write, even with nothing to migrate.
	if _, err := conn.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ('healthz', 0) ON CONFLICT (name) DO NOTHING`); err != nil {
		return err
	}
	return nil
}

// ReadTx is a read-only transaction on the store: View runs fn in one. It
// has the read methods only, so that writing inside View does not compile;
// every method runs in it.
type ReadTx struct {
	s     *Store
	db    *sql.DB // the pool the transaction runs on, for its prepared statements
	tx    *sql.Tx
	ctx   context.Context
	now   time.Time
	stmts map[string]*sql.Stmt // the cached statements bound to this transaction
}

// Tx is one transaction on the store. The desk does all the work of a
// batch of messages inside a single Tx, each message in a Savepoint of its
// own; every method runs in it. Update runs fn in one. It embeds ReadTx:
// every read method is a method of Tx too, on the same transaction.
type Tx struct {
	ReadTx
}

// Now returns the transaction's time: one clock reading per transaction.
func (tx *ReadTx) Now() time.Time { return tx.now }

// Savepoint runs fn inside a savepoint of the transaction. When fn returns
// an error, everything fn wrote is rolled back and the transaction goes on
// as it was before fn, to commit what else it holds; Savepoint then
// returns fn's error. A failure to roll back is returned joined with it
// and with ErrSavepoint: the transaction then holds part of fn's writes
// and must not be committed. A panic in fn is not caught: the whole
// transaction rolls back.
func (tx *Tx) Savepoint(fn func() error) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `SAVEPOINT hd_item`); err != nil {
		return classify(fmt.Errorf("savepoint: %w", err))
	}
	if err := fn(); err != nil {
		if _, rerr := tx.tx.ExecContext(tx.ctx, `ROLLBACK TO hd_item`); rerr != nil {
			return errors.Join(err, ErrSavepoint, classify(fmt.Errorf("roll back to savepoint: %w", rerr)))
		}
		if _, rerr := tx.tx.ExecContext(tx.ctx, `RELEASE hd_item`); rerr != nil {
			return errors.Join(err, ErrSavepoint, classify(fmt.Errorf("release savepoint: %w", rerr)))
		}
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `RELEASE hd_item`); err != nil {
		return errors.Join(ErrSavepoint, classify(fmt.Errorf("release savepoint: %w", err)))
	}
	return nil
}

// ErrSavepoint marks a Savepoint that could not be closed: the transaction
// must be rolled back, not committed.
var ErrSavepoint = errors.New("savepoint could not be closed; abandon the transaction")

// Update runs fn in a write transaction (BEGIN IMMEDIATE) and commits it when
// fn returns nil.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("begin: %w", ctx.Err())
	}
	defer func() { <-s.writer }()
	tx := &Tx{}
	return s.run(ctx, s.db, &tx.ReadTx, func() error { return fn(tx) })
}

// View runs fn in a read transaction. fn gets a ReadTx: it can only read.
func (s *Store) View(ctx context.Context, fn func(tx *ReadTx) error) error {
	tx := &ReadTx{}
	return s.run(ctx, s.read, tx, func() error { return fn(tx) })
}

// run begins a transaction on db, sets tx to it and runs fn, which uses tx
// (itself or the Tx around it), then commits when fn returns nil.
func (s *Store) run(ctx context.Context, db *sql.DB, tx *ReadTx, fn func() error) error {
	sqltx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return classify(fmt.Errorf("begin: %w", err))
	}
	defer sqltx.Rollback()
	*tx = ReadTx{s: s, db: db, tx: sqltx, ctx: ctx, now: s.Now().UTC()}
	if err := fn(); err != nil {
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return classify(fmt.Errorf("commit: %w", err))
	}
	if db == s.db {
		s.ckpt.poke()
	}
	return nil
}

// stmt returns the transaction's handle on the cached statement for q,
// bound once per transaction (a batch runs each query many times).
func (tx *ReadTx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.s.stmts.get(tx.ctx, tx.db, q)
	if err != nil {
		return nil, err
	}
	bound := tx.tx.StmtContext(tx.ctx, st)
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[q] = bound
	return bound, nil
}

// exec is a Tx's, not a ReadTx's: it is how a method writes.
func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(tx.ctx, args...)
}

func (tx *ReadTx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(tx.ctx, args...)
}

func (tx *ReadTx) queryRow(q string, args ...any) *sql.Row {
	st, err := tx.stmt(q)
	if err != nil {
		// QueryRowContext on the transaction reports the same error
		// through Scan.
		return tx.tx.QueryRowContext(tx.ctx, q, args...)
	}
	return st.QueryRowContext(tx.ctx, args...)
}
