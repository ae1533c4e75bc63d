// Package intake hands the mail a mailbox fetcher reads to the desk. A
// worker goroutine parses a fetched batch and triages the mails that look
// new while the desk applies the ones before them, the batch in one
// transaction (group commit), so that a busy mailbox costs one commit per
// batch rather than one per mail and uses both cores.
package intake

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/mailbox"
	"github.com/helpdeskd/helpdesk/message"
)

// Hooks are optional callbacks for metrics; each may be nil. They run on
// the fetcher's goroutine and must not block.
type Hooks struct {
	Fetched   func(mailbox string)                      // a mail was handed in, before parsing
	Committed func(d mailbox.Delivery, res desk.Result) // a mail is committed (not quarantined)
}

// Deliverer implements mailbox.Handler on a desk.
type Deliverer struct {
	desk  *desk.Desk
	parse message.ParseOptions
	hooks Hooks
}

// New returns a Deliverer that parses with opts and applies mail to d.
func New(d *desk.Desk, opts message.ParseOptions, hooks Hooks) *Deliverer {
	return &Deliverer{desk: d, parse: opts, hooks: hooks}
}

// Deliver implements mailbox.Handler: it applies the batch in one
// transaction with desk.IngestAsReady while worker goroutines (one fewer
// than GOMAXPROCS, at least one) parse and prepare the mails ahead of it.
// A mail too large to read (Delivery.Oversize) is parsed from its header
// alone and handed on as such; one the server could not return
// (Delivery.Unreadable) is handed on unparsed, with its reason, to be
// quarantined.
// A mail that cannot be parsed is quarantined by the desk and its error
// wraps helpdesk.ErrUnreadable (desk.ErrUnreadable), as the fetcher wants.
func (h *Deliverer) Deliver(ctx context.Context, ds []mailbox.Delivery) []error {
	ins := make([]desk.Incoming, len(ds))
	ready := make([]chan struct{}, len(ds))
	for i, d := range ds {
		ins[i] = desk.Incoming{Mailbox: d.Mailbox, UIDValidity: d.UIDValidity, UID: d.UID, Raw: d.Raw, Oversize: d.Oversize}
		if d.Unreadable != "" {
			// Nothing to parse: the desk records why and quarantines it.
			ins[i].ParseError = errors.New(d.Unreadable)
		}
		ready[i] = make(chan struct{})
		if h.hooks.Fetched != nil {
			h.hooks.Fetched(d.Mailbox)
		}
	}
	// The desk applies mail i as soon as it is parsed, while the workers
	// parse the mails after it.
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(max(1, runtime.GOMAXPROCS(0)-1), len(ds)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ds); i = int(next.Add(1)) - 1 {
				h.prepare(&ins[i])
				close(ready[i])
			}
		})
	}
	res, errs := h.desk.IngestAsReady(ctx, ins, func(i int) { <-ready[i] })
	wg.Wait()
	for i, err := range errs {
		if err == nil && h.hooks.Committed != nil {
			h.hooks.Committed(ds[i], res[i])
		}
	}
	return errs
}

// prepare parses in.Raw into in and triages it ahead when it looks new. A
// panic of the parser makes the mail unreadable (it goes to quarantine,
// kept); a panic of the triage leaves it to the desk, which triages again
// in its transaction and quarantines the mail if it fails there too.
func (h *Deliverer) prepare(in *desk.Incoming) {
	if in.ParseError != nil {
		return
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				in.Message, in.ParseError = nil, fmt.Errorf("parser failed: %v", v)
			}
		}()
		in.Message, in.ParseError = message.Parse(in.Raw, h.parse)
		if in.ParseError != nil {
			in.Message = nil
		}
	}()
	if in.Message != nil {
		func() {
			defer func() { _ = recover() }()
			h.desk.Prepare(in)
		}()
	}
}
