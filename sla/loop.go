package sla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultSchedule is the loop's schedule when the configuration sets none.
// An interval, not a time-of-day spec: robfig/cron v3.0.1 mis-schedules
// time-of-day specs across DST changes (the loop also runs its cron in UTC).
const DefaultSchedule = "@every 1m"

// DefaultPageSize is how many due tickets a Tick asks the Source for at once.
const DefaultPageSize = 200

// Source lists the tickets whose next SLA check is due: ids with
// next_check_at <= now, at most limit of them, earliest first. The store
// answers it from an indexed column, so a tick costs the due tickets only.
type Source interface {
	DueTickets(ctx context.Context, now time.Time, limit int) ([]int64, error)
}

// Checker checks one ticket at now: the desk evaluates its clocks
// (Policy.Evaluate), records breaches, enqueues each due escalation mail
// once, and sets its next check instant, all in one transaction.
type Checker interface {
	CheckTicket(ctx context.Context, id int64, now time.Time) error
}

// BatchChecker is a Checker that can also check a page of tickets at once
// (the desk does it in one transaction, each ticket rolled back alone on
// failure) and returns one error per id. A Loop whose Checker has it uses
// it for each page.
type BatchChecker interface {
	Checker
	CheckTickets(ctx context.Context, ids []int64, now time.Time) []error
}

// Loop runs the SLA check over the due tickets on a cron schedule.
type Loop struct {
	// PageSize is how many due tickets a Tick asks for at once; set it
	// before Run. Zero means DefaultPageSize.
	PageSize int

	src      Source
	chk      Checker
	schedule cron.Schedule
	spec     string
	now      func() time.Time
	log      *slog.Logger
}

// NewLoop returns a loop that checks src's due tickets with chk on the cron
// schedule (standard five-field spec or a descriptor such as "@every 1m";
// empty means DefaultSchedule; cron rounds intervals up to whole seconds),
// taking the time from now (nil: time.Now) and logging to log (nil:
// nowhere).
func NewLoop(src Source, chk Checker, schedule string, now func() time.Time, log *slog.Logger) (*Loop, error) {
	if src == nil || chk == nil {
		return nil, errors.New("sla loop: nil source or checker")
	}
	if strings.TrimSpace(schedule) == "" {
		schedule = DefaultSchedule
	}
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return nil, fmt.Errorf("sla loop schedule %q: %w", schedule, err)
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loop{src: src, chk: chk, schedule: sched, spec: schedule, now: now, log: log}, nil
}

// CheckError reports the tickets one Tick could not check. Their next check
// instant did not move, so the next tick tries them again.
type CheckError struct {
	Tickets []int64 // ids that failed, in the order tried
	Errs    []error // the error of each, parallel to Tickets
}

// Error summarises the failures, naming at most three.
func (e *CheckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sla check failed for %d ticket(s)", len(e.Tickets))
	for i := range min(3, len(e.Tickets)) {
		fmt.Fprintf(&b, "; ticket %d: %v", e.Tickets[i], e.Errs[i])
	}
	if len(e.Tickets) > 3 {
		b.WriteString("; ...")
	}
	return b.String()
}

// Unwrap returns the per-ticket errors, for errors.Is and errors.As.
func (e *CheckError) Unwrap() []error { return e.Errs }

// Tick runs one pass at one instant (now, read once): it pages through
// every due ticket, checking each once, until the Source has none left, so
// the first tick after downtime catches up on everything that fell due
// meanwhile. Sending each step once is the Checker's part: it records
// fired steps in the same transaction as their mail. A ticket whose check
// fails (or panics) is skipped for the rest of the pass and reported in a
// *CheckError; a Source failure or ctx ending stops the pass.
func (l *Loop) Tick(ctx context.Context) error {
	now := l.now()
	page := l.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	seen := map[int64]bool{}
	var failed CheckError
	checked := 0
	// Tickets seen before (failed, or left due by the checker) come back
	// in every page; asking for that many more keeps them from crowding
	// out the rest: those seen again in this page plus this page's failures.
	again := 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sla tick: %w", err)
		}
		limit := page + again
		ids, err := l.src.DueTickets(ctx, now, limit)
		if err != nil {
			return fmt.Errorf("sla tick: due tickets: %w", err)
		}
		failedBefore := len(failed.Tickets)
		var todo []int64
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				todo = append(todo, id)
			}
		}
		fresh := len(todo)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sla tick: %w", err)
		}
		for i, err := range l.checkPage(ctx, todo, now) {
			if err != nil {
				failed.Tickets = append(failed.Tickets, todo[i])
				failed.Errs = append(failed.Errs, err)
				continue
			}
			checked++
		}
		if fresh == 0 || len(ids) < limit {
			break
		}
		again = len(ids) - fresh + len(failed.Tickets) - failedBefore
	}
	if checked > 0 || len(failed.Tickets) > 0 {
		l.log.Debug("sla tick", "now", now, "checked", checked, "failed", len(failed.Tickets))
	}
	if len(failed.Tickets) > 0 {
		return &failed
	}
	return nil
}

// checkPage checks ids and returns one error per id: all at once when the
// Checker is a BatchChecker, else one at a time (stopping when ctx is
// done). A batch that panics or answers with the wrong number of errors
// is checked again one ticket at a time, so that one bad ticket cannot
// keep the others from being checked.
func (l *Loop) checkPage(ctx context.Context, ids []int64, now time.Time) []error {
	if len(ids) == 0 {
		return nil
	}
	if bc, ok := l.chk.(BatchChecker); ok {
		if errs, ok := l.checkBatch(ctx, bc, ids, now); ok {
			return errs
		}
	}
	errs := make([]error, len(ids))
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("check ticket %d: %w", id, err)
			continue
		}
		errs[i] = l.check(ctx, id, now)
	}
	return errs
}

// checkBatch runs the BatchChecker; ok is false when it panicked or broke
// its contract.
func (l *Loop) checkBatch(ctx context.Context, bc BatchChecker, ids []int64, now time.Time) (errs []error, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("sla batch check panicked; checking its tickets one at a time", "tickets", len(ids), "panic", r, "stack", string(debug.Stack()))
			errs, ok = nil, false
		}
	}()
	errs = bc.CheckTickets(ctx, ids, now)
	if len(errs) != len(ids) {
		l.log.Error("sla batch check answered for the wrong number of tickets; checking them one at a time", "tickets", len(ids), "errors", len(errs))
		return nil, false
	}
	return errs, true
}

// check runs the Checker on one ticket, turning a panic into an error so
// that one bad ticket cannot keep the others from being checked.
func (l *Loop) check(ctx context.Context, id int64, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("sla check panicked", "ticket_id", id, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("check ticket %d: panic: %v", id, r)
		}
	}()
	return l.chk.CheckTicket(ctx, id, now)
}

// Run checks the due tickets once at once (catching up on what fell due
// while the daemon was down), then on the schedule until ctx is done. A
// tick still running when the next is due makes that one skip
// (cron.SkipIfStillRunning), and a panicking tick is logged, not fatal.
// Run returns nil after ctx is done and the running tick has returned.
func (l *Loop) Run(ctx context.Context) error {
	logger := cronLogger{l.log}
	// Recover sits inside SkipIfStillRunning: v3.0.1's skip wrapper frees
	// its slot without defer, so a panic escaping it would stop every
	// later tick.
	job := cron.NewChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)).Then(cron.FuncJob(func() {
		if err := l.Tick(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("sla tick", "err", err)
		}
	}))
	c := cron.New(cron.WithLocation(time.UTC))
	c.Schedule(l.schedule, job)

	var wg sync.WaitGroup
	wg.Go(job.Run) // the catch-up; scheduled ticks skip while it runs
	c.Start()
	l.log.Info("sla loop started", "schedule", l.spec)
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	l.log.Info("sla loop stopped")
	return nil
}

// cronLogger lets robfig/cron's wrappers log through slog.
type cronLogger struct{ log *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" { // the only Info of SkipIfStillRunning
		msg = "tick skipped, the previous one is still running"
	}
	c.log.Info("sla loop: "+msg, kv...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.log.Error("sla loop: "+msg, append(kv, "err", err)...)
}
