package sla

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// memDesk is an in-memory implementation of the loop's two interfaces (our
// own, not a protocol): tickets with a next-check index kept in a heap, and
// a CheckTicket that does what the desk does, minus SQL: evaluate, record
// breaches once, "mail" each due step once, set the next check.
type memDesk struct {
	mu       sync.Mutex
	policy   *Policy
	tickets  map[int64]*helpdesk.Ticket
	fired    map[int64]map[StepKey]bool
	breaches map[int64]map[ClockKind]time.Time
	mails    []string // "ticket clock#index at now"
	index    dueIndex
	fail     map[int64]error
	panicOn  map[int64]bool
	queries  int
	checks   int
}

func newMemDesk(p *Policy) *memDesk {
	return &memDesk{policy: p, tickets: map[int64]*helpdesk.Ticket{}, fired: map[int64]map[StepKey]bool{},
		breaches: map[int64]map[ClockKind]time.Time{}, fail: map[int64]error{}, panicOn: map[int64]bool{},
		index: dueIndex{pos: map[int64]int{}}}
}

// add files a ticket at now and sets its first check, as the desk does.
func (m *memDesk) add(t *helpdesk.Ticket, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tickets[t.ID] = t
	m.fired[t.ID] = map[StepKey]bool{}
	m.breaches[t.ID] = map[ClockKind]time.Time{}
	_, _, next := m.policy.Evaluate(t, nil, now)
	m.setNext(t, next)
}

func (m *memDesk) setNext(t *helpdesk.Ticket, next time.Time) {
	t.NextCheckAt = next
	m.index.set(t.ID, next)
}

func (m *memDesk) DueTickets(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queries++
	return m.index.due(now, limit), nil
}

func (m *memDesk) CheckTicket(ctx context.Context, id int64, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checks++
	if err := m.fail[id]; err != nil {
		return fmt.Errorf("check ticket %d: %w", id, err)
	}
	if m.panicOn[id] {
		delete(m.panicOn, id)
		panic(fmt.Sprintf("ticket %d exploded", id))
	}
	t := m.tickets[id]
	steps, breaches, next := m.policy.Evaluate(t, m.fired[id], now)
	for _, c := range breaches {
		if _, ok := m.breaches[id][c]; !ok {
			m.breaches[id][c] = now
		}
	}
	for _, s := range steps {
		m.fired[id][s.Key] = true
		m.mails = append(m.mails, fmt.Sprintf("%d %s#%d at %s", id, s.Key.Clock, s.Key.Index, now.UTC().Format("Mon 15:04")))
	}
	m.setNext(t, next)
	return nil
}

func (m *memDesk) sent() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.mails)
}

// dueIndex is a min-heap of next-check instants, standing in for the
// store's indexed next_check_at column.
type dueIndex struct {
	ids []int64
	at  []time.Time
	pos map[int64]int
}

func (x *dueIndex) Len() int           { return len(x.ids) }
func (x *dueIndex) Less(i, j int) bool { return x.at[i].Before(x.at[j]) }
func (x *dueIndex) Swap(i, j int) {
	x.ids[i], x.ids[j] = x.ids[j], x.ids[i]
	x.at[i], x.at[j] = x.at[j], x.at[i]
	x.pos[x.ids[i]], x.pos[x.ids[j]] = i, j
}
func (x *dueIndex) Push(v any) {
	e := v.(struct {
		id int64
		at time.Time
	})
	x.pos[e.id] = len(x.ids)
	x.ids, x.at = append(x.ids, e.id), append(x.at, e.at)
}
func (x *dueIndex) Pop() any {
	n := len(x.ids) - 1
	delete(x.pos, x.ids[n])
	x.ids, x.at = x.ids[:n], x.at[:n]
	return nil
}

// set moves id to at; the zero time takes it out of the index.
func (x *dueIndex) set(id int64, at time.Time) {
	i, ok := x.pos[id]
	switch {
	case ok && at.IsZero():
		heap.Remove(x, i)
	case ok:
		x.at[i] = at
		heap.Fix(x, i)
	case !at.IsZero():
		heap.Push(x, struct {
			id int64
			at time.Time
		}{id, at})
	}
}

// due returns up to limit ids due at now, walking only the heap's due part.
func (x *dueIndex) due(now time.Time, limit int) []int64 {
	var out []int64
	stack := []int{0}
	for len(stack) > 0 && len(out) < limit {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i >= len(x.ids) || x.at[i].After(now) {
			continue
		}
		out = append(out, x.ids[i])
		stack = append(stack, 2*i+2, 2*i+1)
	}
	return out
}

// testClock is an injected clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// syncBuffer is a log sink safe for the cron goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// criticalTickets files n ProspectSoft critical tickets, one a minute from
// Monday 23 Nov 2026 09:00 London.
func criticalTickets(t *testing.T, m *memDesk, n int) time.Time {
	t.Helper()
	start := local(t, "Europe/London", "2026-11-23 09:00")
	for i := range n {
		created := start.Add(time.Duration(i) * time.Minute)
		m.add(&helpdesk.Ticket{ID: int64(i + 1), Priority: helpdesk.Critical, Status: helpdesk.StatusOpen, CreatedAt: created}, created)
	}
	return start
}

func TestTickCatchUpAfterDowntime(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	start := criticalTickets(t, m, 10)
	clk := &testClock{now: start.Add(48 * time.Hour)} // the daemon was down for two days
	l, err := NewLoop(m, m, "", clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.PageSize = 3
	if err := l.Tick(context.Background()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
	if got, want := len(m.sent()), 20; got != want {
		t.Fatalf("mails after catch-up = %d, want %d: %v", got, want, m.sent())
	}
	for id := int64(1); id <= 10; id++ {
		if got, want := len(m.fired[id]), 2; got != want {
			t.Errorf("ticket %d fired %d steps, want %d", id, got, want)
		}
		if _, ok := m.breaches[id][Response]; !ok {
			t.Errorf("ticket %d: response breach not recorded", id)
		}
		if !m.tickets[id].NextCheckAt.IsZero() {
			t.Errorf("ticket %d still watched at %v", id, m.tickets[id].NextCheckAt)
		}
	}
	if got, want := m.queries, 4; got > want {
		t.Errorf("source queried %d times, want at most %d (pages of 3 over 10 tickets)", got, want)
	}
	// A second pass, and a pass after a restart, send nothing again.
	clk.Set(clk.Now().Add(time.Hour))
	if err := l.Tick(context.Background()); err != nil {
		t.Fatalf("second Tick: %v", err)
	}
	if got, want := len(m.sent()), 20; got != want {
		t.Errorf("mails after second tick = %d, want %d", got, want)
	}
}

func TestTickTimeline(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	start := criticalTickets(t, m, 3)
	clk := &testClock{now: start}
	l, err := NewLoop(m, m, "@every 1m", clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Tick every minute of the morning, as the cron would.
	for now := start; !now.After(start.Add(3 * time.Hour)); now = now.Add(time.Minute) {
		clk.Set(now)
		if err := l.Tick(context.Background()); err != nil {
			t.Fatalf("Tick at %v: %v", now, err)
		}
	}
	// Each ticket: 75% (1h30 of business time) and 100% (2 h), each at its
	// own minute, once.
	want := []string{
		"1 response#0 at Mon 10:30", "2 response#0 at Mon 10:31", "3 response#0 at Mon 10:32",
		"1 response#1 at Mon 11:00", "2 response#1 at Mon 11:01", "3 response#1 at Mon 11:02",
	}
	if got := m.sent(); !slices.Equal(got, want) {
		t.Errorf("mails:\n got %q\nwant %q", got, want)
	}
	// 181 ticks, but tickets were only checked when due.
	if got, want := m.checks, 6; got != want {
		t.Errorf("checks = %d, want %d", got, want)
	}
}

func TestTickFailures(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	start := criticalTickets(t, m, 7)
	errBroken := errors.New("broken ticket")
	m.fail[2], m.fail[5] = errBroken, errBroken
	clk := &testClock{now: start.Add(48 * time.Hour)}
	l, err := NewLoop(m, m, "", clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.PageSize = 2
	err = l.Tick(context.Background())
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Tick error = %v, want a *CheckError", err)
	}
	slices.Sort(ce.Tickets)
	if got, want := ce.Tickets, []int64{2, 5}; !slices.Equal(got, want) {
		t.Errorf("failed tickets = %v, want %v", got, want)
	}
	if !errors.Is(err, errBroken) {
		t.Errorf("errors.Is(%v, errBroken) = false", err)
	}
	// The failing tickets did not crowd out the others.
	if got, want := len(m.sent()), 10; got != want {
		t.Errorf("mails = %d, want %d (5 healthy tickets x 2 steps)", got, want)
	}
	// Once fixed, the next tick catches them up.
	delete(m.fail, 2)
	delete(m.fail, 5)
	if err := l.Tick(context.Background()); err != nil {
		t.Fatalf("Tick after fix: %v", err)
	}
	if got, want := len(m.sent()), 14; got != want {
		t.Errorf("mails after fix = %d, want %d", got, want)
	}
}

// brokenSource fails every query.
type brokenSource struct{ err error }

func (b brokenSource) DueTickets(context.Context, time.Time, int) ([]int64, error) { return nil, b.err }

func TestTickSourceErrorAndCancel(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	errDB := errors.New("database is locked")
	l, err := NewLoop(brokenSource{errDB}, m, "", time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Tick(context.Background()); !errors.Is(err, errDB) {
		t.Errorf("Tick error = %v, want %v", err, errDB)
	}
	start := criticalTickets(t, m, 3)
	l, err = NewLoop(m, m, "", func() time.Time { return start.Add(48 * time.Hour) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Tick(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Tick on a cancelled context = %v, want context.Canceled", err)
	}
	if got := len(m.sent()); got != 0 {
		t.Errorf("mails on a cancelled context = %d, want 0", got)
	}
}

func TestNewLoopSchedule(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	for _, spec := range []string{"", "@every 1m", "@every 30s", "*/5 * * * *"} {
		if _, err := NewLoop(m, m, spec, nil, nil); err != nil {
			t.Errorf("NewLoop(%q): %v", spec, err)
		}
	}
	for _, spec := range []string{"every minute", "@every", "61 * * * *"} {
		if _, err := NewLoop(m, m, spec, nil, nil); err == nil {
			t.Errorf("NewLoop(%q) accepted a bad schedule", spec)
		}
	}
	if _, err := NewLoop(nil, m, "", nil, nil); err == nil {
		t.Error("NewLoop accepted a nil source")
	}
}

// panickySource panics on its first query, then answers from the desk.
type panickySource struct {
	*memDesk
	once sync.Once
}

func (p *panickySource) DueTickets(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	p.once.Do(func() { panic("index exploded") })
	return p.memDesk.DueTickets(ctx, now, limit)
}

func TestTickCheckPanic(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	start := criticalTickets(t, m, 4)
	m.panicOn[1] = true
	var logs syncBuffer
	l, err := NewLoop(m, m, "", func() time.Time { return start.Add(48 * time.Hour) }, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = l.Tick(context.Background())
	var ce *CheckError
	if !errors.As(err, &ce) || !slices.Equal(ce.Tickets, []int64{1}) {
		t.Fatalf("Tick = %v, want a CheckError for ticket 1", err)
	}
	if got, want := len(m.sent()), 6; got != want {
		t.Errorf("mails = %d, want %d (the other three tickets)", got, want)
	}
	if !bytes.Contains([]byte(logs.String()), []byte("ticket_id=1")) {
		t.Errorf("panic not logged with its ticket; logs:\n%s", logs.String())
	}
}

// TestRun runs the real cron on its shortest interval: the catch-up at start
// fires what fell due during downtime, a panicking tick is logged and
// does not stop later ticks, and Run returns once its context ends.
func TestRun(t *testing.T) {
	m := newMemDesk(newFixtures(t).policies["prospectsoft"])
	start := criticalTickets(t, m, 4)
	clk := &testClock{now: start.Add(48 * time.Hour)}
	var logs syncBuffer
	l, err := NewLoop(&panickySource{memDesk: m}, m, "@every 1s", clk.Now, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The catch-up tick panics in the Source; the next scheduled tick
	// (cron rounds intervals up to 1 s) does the work.
	waitFor("all steps", func() bool { return len(m.sent()) == 8 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if got := len(m.sent()); got != 8 {
		t.Errorf("mails = %d, want 8 (each step once)", got)
	}
	if !bytes.Contains([]byte(logs.String()), []byte("index exploded")) {
		t.Errorf("panic not logged; logs:\n%s", logs.String())
	}
}

// batchDesk is memDesk with CheckTickets: the Loop hands it each page.
type batchDesk struct {
	*memDesk
	batches    int
	panicBatch bool // the next batch panics before checking anything
}

func (b *batchDesk) CheckTickets(ctx context.Context, ids []int64, now time.Time) []error {
	b.mu.Lock()
	b.batches++
	p := b.panicBatch
	b.panicBatch = false
	b.mu.Unlock()
	if p {
		panic("batch exploded")
	}
	errs := make([]error, len(ids))
	for i, id := range ids {
		errs[i] = b.CheckTicket(ctx, id, now)
	}
	return errs
}

// TestTickBatches: a BatchChecker gets each page at once, its failures are
// reported per ticket, and a batch that panics is checked again one
// ticket at a time.
func TestTickBatches(t *testing.T) {
	m := &batchDesk{memDesk: newMemDesk(newFixtures(t).policies["prospectsoft"])}
	start := criticalTickets(t, m.memDesk, 7)
	errBroken := errors.New("broken ticket")
	m.fail[5] = errBroken
	clk := &testClock{now: start.Add(48 * time.Hour)}
	l, err := NewLoop(m, m, "", clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.PageSize = 3
	m.panicBatch = true
	err = l.Tick(context.Background())
	var ce *CheckError
	if !errors.As(err, &ce) || !slices.Equal(ce.Tickets, []int64{5}) {
		t.Fatalf("Tick error = %v, want ticket 5 failed", err)
	}
	if m.batches < 3 {
		t.Errorf("%d batches for 7 tickets in pages of 3, want at least 3", m.batches)
	}
	if got, want := len(m.sent()), 12; got != want {
		t.Errorf("mails = %d, want %d (6 healthy tickets x 2 steps, the panicked page checked one by one)", got, want)
	}
}
