package desk

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/helpdeskd/helpdesk/store"
)

// maxTxTime bounds how long one batch transaction holds the database: a
// batch that takes longer is committed in parts, so that the outbox and
// the SLA loop can write between them. A part still carries the commit of
// dozens of mails.
var maxTxTime = 25 * time.Millisecond

// batchJob is what one kind of batch (mail to ingest, tickets to check)
// does with its items. runBatch does the rest, the same for both.
type batchJob struct {
	n int // items 0..n-1
	// begin is called at the start of each transaction attempt (the store
	// may run a transaction's function again), with its first item.
	begin func(tx *store.Tx, start int)
	// work makes the work of item i; it may block until the item is ready.
	work func(tx *store.Tx, i int) *work
	// item applies item i inside its savepoint.
	item func(w *work, i int) error
	// failed handles an item whose savepoint was rolled back, in the same
	// transaction; err is a *panicError for a panic of ours. It records
	// what it must and says whether the batch stops after i (the items
	// before it are committed). An error it returns fails the transaction.
	failed func(tx *store.Tx, i int, err error) (stop bool, ferr error)
	// commit runs last in each transaction (e.g. the mailbox checkpoint).
	commit func(tx *store.Tx) error
	// txFailed says that the transaction holding the items from start on
	// failed with err: none of them was committed, and the batch ends.
	txFailed func(start int, err error)
}

// runBatch applies j's items in as few transactions as maxTxTime allows
// (group commit), each item in a savepoint of its own so that a failing
// item is rolled back alone; a panic of the desk's code on an item is
// recovered into a *panicError for j.failed. After each commit it runs the
// committed items' hooks and wakes the outbox if they enqueued mail.
func (d *Desk) runBatch(ctx context.Context, j batchJob) {
	for start := 0; start < j.n; {
		var after []func()
		enqueued, stop, next := false, false, start
		began := time.Now()
		err := d.st.Update(ctx, func(tx *store.Tx) error {
			after, enqueued, stop, next = nil, false, false, start
			if j.begin != nil {
				j.begin(tx, start)
			}
			for i := start; i < j.n; i++ {
				if i > start && time.Since(began) > maxTxTime {
					break // commit this part; the rest goes in the next transaction
				}
				next = i + 1
				w := j.work(tx, i)
				err := tx.Savepoint(func() error { return w.safely(func() error { return j.item(w, i) }) })
				if errors.Is(err, store.ErrSavepoint) {
					return err
				}
				if err != nil {
					s, ferr := j.failed(tx, i, err)
					if ferr != nil {
						return ferr
					}
					if s {
						stop = true
						break
					}
					continue
				}
				after = append(after, w.after...)
				enqueued = enqueued || w.enqueued
			}
			if j.commit != nil {
				return j.commit(tx)
			}
			return nil
		})
		if err != nil {
			j.txFailed(start, err)
			return
		}
		for _, f := range after {
			f()
		}
		if enqueued {
			d.kick()
		}
		if stop {
			return
		}
		start = next
	}
}

// panicError is a panic of the desk's own code on one item of a batch.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// safely runs f and turns a panic into a *panicError with its stack.
func (w *work) safely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: string(debug.Stack())}
		}
	}()
	return f()
}
