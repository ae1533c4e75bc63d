package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/helpdeskd/helpdesk"
)

// metaChunk is how many UIDs one size FETCH asks about.
const metaChunk = 100

// imapSession is one connection of a Fetcher.
type imapSession struct {
	*imapConn
	f       *Fetcher
	wake    chan struct{} // new mail announced by the server (EXISTS)
	useIdle bool

	// Of the last full cycle: the folder's UIDVALIDITY (0: none yet).
	uidValidity uint32
}

// connect dials, logs in and reads the capabilities.
func (f *Fetcher) connect(ctx context.Context) (*imapSession, error) {
	s := &imapSession{f: f, wake: make(chan struct{}, 1)}
	handler := &imapclient.UnilateralDataHandler{
		// This runs on the client's reader goroutine: calling the client
		// from here (idle.Close, any command) would deadlock. Signal and
		// return; the buffer of one keeps a wake-up that comes while
		// the session is busy.
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		},
	}
	ic, err := dialIMAP(ctx, f.cfg, f.log, handler)
	if err != nil {
		return nil, err
	}
	s.imapConn = ic
	s.useIdle = f.cfg.IDLE && s.caps.Has(imap.CapIdle)
	return s, nil
}

// close logs out when the session ends cleanly, then closes the connection.
func (s *imapSession) close(logout bool) {
	if logout {
		err := withDeadline(5*time.Second, func() { s.c.Close() }, "logout", func() error { return s.c.Logout().Wait() })
		if err != nil {
			s.f.log.Debug("imap logout", "err", err)
		}
	}
	s.c.Close()
}

// do runs one command, bounded by CommandTimeout: go-imap sets no read
// deadline while it waits for a response, so a server that silently went
// away would block for ever. On timeout the connection is closed, which
// fails the command.
func (s *imapSession) do(what string, fn func() error) error {
	return withDeadline(s.f.cfg.CommandTimeout, func() { s.c.Close() }, what, fn)
}

// withDeadline runs fn and calls abort if it has not returned within d.
func withDeadline(d time.Duration, abort func(), what string, fn func() error) error {
	var fired atomic.Bool
	t := time.AfterFunc(d, func() { fired.Store(true); abort() })
	err := fn()
	t.Stop()
	if fired.Load() {
		return fmt.Errorf("%s: no answer within %v: %w", what, d, os.ErrDeadlineExceeded)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// cycle delivers every new mail in batches. A full cycle first selects
// the folder (reading its UIDVALIDITY and UIDNEXT), checks that the server
// did not hand out UIDs at or below the checkpoint again, and delivers
// again the mail at or below the checkpoint that is not marked (committed
// before a crash, or new mail under a reused UID): the desk recognises
// what it has by Message-ID, and only what it reports committed now is
// marked. A light one, run when the server has just announced new mail to
// a session whose last cycle was full or light, goes straight to the
// search above the checkpoint: the folder is still selected and every
// mail this session committed is marked; it turns into a full cycle when
// the search shows unmarked mail at or below the checkpoint. It returns
// nil early when ctx is done between two batches.
func (s *imapSession) cycle(ctx context.Context, full bool) error {
	cfg := s.f.cfg
	select { // any wake-up so far is covered by the search below
	case <-s.wake:
	default:
	}
	s.f.setStatus(FetcherConnected)
	var sel *imap.SelectData
	if full || s.uidValidity == 0 {
		err := s.do("select "+cfg.Folder, func() (err error) {
			sel, err = s.c.Select(cfg.Folder, nil).Wait()
			return err
		})
		if err != nil {
			return err
		}
		if cfg.Processed == ModeFlag && !keywordPermanent(sel.PermanentFlags, cfg.ProcessedFlag) {
			return fmt.Errorf("folder %s does not store the keyword %s (PERMANENTFLAGS %v); use processed = move", cfg.Folder, cfg.ProcessedFlag, sel.PermanentFlags)
		}
		s.uidValidity, full = sel.UIDValidity, true
	}
	uidValidity, last, err := s.f.cp.Checkpoint(ctx, cfg.Name)
	if err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	if uidValidity != s.uidValidity {
		if uidValidity != 0 {
			// RFC 9051 §2.3.1.1: the UIDs above the checkpoint mean nothing
			// now. Rescan; the desk drops what it has by Message-ID.
			s.f.log.Info("uidvalidity changed; rescanning", "old", uidValidity, "new", s.uidValidity, "last_uid", last)
		}
		last = 0
	}
	if full && last > 0 && sel.UIDNext != 0 && uint32(sel.UIDNext) <= last {
		// RFC 9051 §2.3.1.1 forbids it, but a server restored from a
		// backup may number mail from 1 again under the same
		// UIDVALIDITY: the mail under the reused UIDs is new to us.
		if last, err = s.uidsReused(ctx, uidValidity, last, "UIDNEXT", uint32(sel.UIDNext)); err != nil {
			return err
		}
	}
	var uids []imap.UID
	if full && last > 0 {
		if uids, err = s.searchUnmarked(last); err != nil {
			return err
		}
		if len(uids) > 0 {
			s.f.log.Info("unmarked mail at or below the checkpoint (committed before a restart, or under a reused UID); delivering it again, the desk knows what it has by Message-ID",
				"count", len(uids), "first_uid", uint32(uids[0]), "last_uid", last)
		}
	}
	newer, highest, err := s.searchNew(last)
	if err != nil {
		return err
	}
	if highest != 0 && uint32(highest) < last {
		// The highest UID of the folder is unmarked and below the
		// checkpoint. Without UIDNEXT that is the only sign of reused
		// UIDs; a light cycle rechecks in full.
		if !full {
			return s.cycle(ctx, true)
		}
		if sel.UIDNext == 0 {
			if last, err = s.uidsReused(ctx, uidValidity, last, "highest UID", uint32(highest)); err != nil {
				return err
			}
		}
	}
	uids = append(uids, newer...)
	// Batches follow UID order across the size chunks. A mail above
	// MaxMessageSize ends the batch before it and goes alone, its header
	// only, so that everything happens in UID order.
	var b batch
	flush := func() error {
		err := s.processBatch(ctx, s.uidValidity, b)
		b = batch{}
		return err
	}
	for start := 0; start < len(uids); start += metaChunk {
		chunk := uids[start:min(start+metaChunk, len(uids))]
		sizes, err := s.sizes(chunk)
		if err != nil {
			return err
		}
		for _, uid := range chunk {
			if ctx.Err() != nil {
				return nil
			}
			size, ok := sizes[uid]
			if !ok {
				s.f.log.Debug("mail vanished before fetch", "uid", uint32(uid))
				continue
			}
			oversized := size > cfg.MaxMessageSize
			if len(b.uids) > 0 && (oversized || !b.fits(size, cfg)) {
				if err := flush(); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return nil
				}
			}
			if oversized {
				if err := s.processOversize(ctx, s.uidValidity, uid, size); err != nil {
					return err
				}
				continue
			}
			b.add(uid, size)
		}
	}
	if len(b.uids) == 0 || ctx.Err() != nil {
		return nil
	}
	return flush()
}

// uidsReused logs loudly that the server handed out UIDs at or below the
// checkpoint last under the same UIDVALIDITY (what says so: "UIDNEXT" or
// "highest UID", and its value), and moves the checkpoint back to 0 so
// that the mail under the reused UIDs, and the mail still to come below
// the old checkpoint, is read. It returns the new checkpoint.
func (s *imapSession) uidsReused(ctx context.Context, uidValidity, last uint32, what string, value uint32) (uint32, error) {
	s.f.log.Error("imap server reused UIDs without changing UIDVALIDITY (restored from a backup?); rescanning the folder, mail already on a ticket is recognised by its Message-ID",
		"folder", s.f.cfg.Folder, "uidvalidity", uidValidity, "checkpoint", last, "server_says", what, "value", value)
	if _, err := s.f.cp.ResetCheckpoint(ctx, s.f.cfg.Name, uidValidity, last); err != nil {
		return last, err
	}
	return 0, nil
}

// batch is a run of new mails in ascending UID order, read with one FETCH
// and handed to one Deliver.
type batch struct {
	uids  []imap.UID
	sizes []int64 // RFC822.SIZE of each
	bytes int64   // their sum
}

// fits reports whether a mail of size bytes may join b within Batch and
// BatchBytes. The first mail always fits, however large.
func (b *batch) fits(size int64, cfg IMAPConfig) bool {
	return len(b.uids) == 0 || len(b.uids) < cfg.Batch && b.bytes+size <= cfg.BatchBytes
}

func (b *batch) add(uid imap.UID, size int64) {
	b.uids = append(b.uids, uid)
	b.sizes = append(b.sizes, size)
	b.bytes += size
}

// one returns the batch of the i-th mail of b alone.
func (b batch) one(i int) batch {
	return batch{uids: b.uids[i : i+1], sizes: b.sizes[i : i+1], bytes: b.sizes[i]}
}

// keywordPermanent reports whether a keyword set on a mail survives the
// session. RFC 9051 §7.1: without PERMANENTFLAGS every flag is permanent;
// \* allows new keywords.
func keywordPermanent(perm []imap.Flag, kw string) bool {
	if len(perm) == 0 {
		return true
	}
	for _, f := range perm {
		if f == imap.FlagWildcard || strings.EqualFold(string(f), kw) {
			return true
		}
	}
	return false
}

// notMarked are the search criteria excluding mail already marked by us.
func (s *imapSession) notMarked() []imap.Flag {
	return []imap.Flag{imap.Flag(s.f.cfg.ProcessedFlag), imap.Flag(quarantineKeyword)}
}

// searchNew returns the UIDs above last that are not marked, ascending,
// and the highest UID of the folder when it is unmarked and at or below
// last (0 otherwise).
func (s *imapSession) searchNew(last uint32) (uids []imap.UID, highest imap.UID, err error) {
	if last == ^uint32(0) {
		return nil, 0, nil
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{set}, NotFlag: s.notMarked()}
	uids, err = s.search("search new", crit)
	if err != nil {
		return nil, 0, err
	}
	// RFC 9051 §9 (seq-range): "n:*" always includes the highest UID,
	// even when it is below n. Keep only what is really above the
	// checkpoint.
	if len(uids) > 0 && uint32(uids[0]) <= last {
		highest = uids[0]
	}
	uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return uint32(u) <= last })
	return uids, highest, nil
}

func (s *imapSession) search(what string, crit *imap.SearchCriteria) ([]imap.UID, error) {
	var data *imap.SearchData
	err := s.do(what, func() (err error) {
		data, err = s.c.UIDSearch(crit, nil).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	uids := data.AllUIDs()
	slices.Sort(uids)
	return uids, nil
}

// searchUnmarked returns the mails at or below the checkpoint that are not
// marked: committed before the daemon stopped short of flagging or moving
// them, or new mail under UIDs the server reused. They are delivered
// again rather than marked blind: only what the desk commits (or
// recognises) in this session is ever marked.
func (s *imapSession) searchUnmarked(last uint32) ([]imap.UID, error) {
	cfg := s.f.cfg
	var set imap.UIDSet
	set.AddRange(1, imap.UID(last))
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{set}, NotFlag: s.notMarked()}
	if cfg.Processed == ModeMove {
		// Left behind by a COPY fallback without UIDPLUS, or deleted by
		// someone: either way not ours to move again.
		crit.NotFlag = append(crit.NotFlag, imap.FlagDeleted)
	}
	return s.search("search unmarked", crit)
}

// sizes returns RFC822.SIZE of each UID still present.
func (s *imapSession) sizes(uids []imap.UID) (map[imap.UID]int64, error) {
	var bufs []*imapclient.FetchMessageBuffer
	err := s.do("fetch sizes", func() (err error) {
		bufs, err = s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[imap.UID]int64, len(bufs))
	for _, b := range bufs {
		if b.UID != 0 {
			out[b.UID] = b.RFC822Size
		}
	}
	return out, nil
}

// fetched is one mail's body as read off the wire.
type fetched struct {
	raw          []byte
	internalDate time.Time
	unreadable   string // why the body could not be taken, if so
}

// fetchTimeout bounds a body FETCH of size bytes (the sum of RFC822.SIZE):
// five command timeouts per MaxMessageSize started. A batch within the
// default BatchBytes (below the default MaxMessageSize) thus has the bound
// one mail always had, and so does a single mail larger than BatchBytes;
// only a BatchBytes configured above MaxMessageSize gets more time.
func (s *imapSession) fetchTimeout(size int64) time.Duration {
	cfg := s.f.cfg
	n := max(1, (size+cfg.MaxMessageSize-1)/cfg.MaxMessageSize)
	return cfg.CommandTimeout * 5 * time.Duration(n)
}

// fetchBodies reads the mails of b with one UID FETCH (BODY.PEEK[], so
// \Seen is not set before the commit), each straight from its literal into
// one buffer of its size, refusing literals above MaxMessageSize without
// reading them into memory. The server may answer in any order; the result
// is keyed by UID and lacks the mails the server did not return.
func (s *imapSession) fetchBodies(b batch) (map[imap.UID]fetched, error) {
	limit := s.f.cfg.MaxMessageSize
	out := make(map[imap.UID]fetched, len(b.uids))
	what := fmt.Sprintf("fetch uid %d", b.uids[0])
	if len(b.uids) > 1 {
		what = fmt.Sprintf("fetch uids %d-%d (%d mails)", b.uids[0], b.uids[len(b.uids)-1], len(b.uids))
	}
	err := withDeadline(s.fetchTimeout(b.bytes), func() { s.c.Close() }, what, func() error {
		cmd := s.c.Fetch(imap.UIDSetNum(b.uids...), &imap.FetchOptions{
			UID:          true,
			InternalDate: true,
			BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
		})
		var readErr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			// imapclient hands a UID FETCH only the responses whose UID,
			// sent before any literal, is in the set asked for; the
			// UID is still read wherever it comes.
			var uid imap.UID
			m := fetched{unreadable: "server returned no body"}
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = it.UID
				case imapclient.FetchItemDataInternalDate:
					m.internalDate = it.Time
				case imapclient.FetchItemDataBodySection:
					switch {
					case it.Literal == nil:
						m.unreadable = "server returned no body"
					case it.Literal.Size() > limit:
						m.unreadable = fmt.Sprintf("message of %d bytes exceeds the limit of %d", it.Literal.Size(), limit)
					default:
						buf := make([]byte, it.Literal.Size())
						if _, err := io.ReadFull(it.Literal, buf); err != nil && readErr == nil {
							readErr = fmt.Errorf("read body of uid %d: %w", uid, err)
						}
						m.raw, m.unreadable = buf, ""
					}
				}
			}
			if uid != 0 {
				out[uid] = m
			}
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return readErr
	})
	return out, err
}

// processOversize handles a mail above MaxMessageSize: it reads only its
// header, at most MaxHeaderSize bytes of it, hands that to the Handler as
// an oversize Delivery, and moves the mail to quarantine once the Handler
// has committed it. A crash between the commit and the move leaves the
// mail unmarked at or below the checkpoint: the next full cycle delivers
// its header again, the desk recognises it, and it is moved then. When
// the server refuses even the header (NO or BAD), the mail is delivered
// as unreadable, with the reason, and quarantined once that is recorded.
func (s *imapSession) processOversize(ctx context.Context, uidValidity uint32, uid imap.UID, size int64) error {
	cfg := s.f.cfg
	hdr, date, cut, err := s.fetchHeader(uid)
	var ie *imap.Error
	switch {
	case errors.As(err, &ie):
		return s.deliverBatch(ctx, []Delivery{{Mailbox: cfg.Name, UIDValidity: uidValidity, UID: uint32(uid),
			Unreadable: fmt.Sprintf("message of %d bytes exceeds the limit of %d, and the server could not return its header: %v", size, cfg.MaxMessageSize, ie)}})
	case err != nil:
		return err
	case hdr == nil:
		s.f.log.Debug("mail vanished before fetch", "uid", uint32(uid))
		return nil
	}
	s.f.log.Warn("mail larger than max_message_size; delivering its header only, then quarantining it",
		"uid", uint32(uid), "size", size, "limit", cfg.MaxMessageSize, "header_cut", cut)
	return s.deliverBatch(ctx, []Delivery{{Mailbox: cfg.Name, UIDValidity: uidValidity, UID: uint32(uid), Raw: hdr, InternalDate: date,
		Oversize: &helpdesk.Oversize{Size: size, Limit: cfg.MaxMessageSize, Folder: cfg.QuarantineFolder, HeaderCut: cut}}})
}

// fetchHeader reads the header of one mail with BODY.PEEK[HEADER], asking
// for at most MaxHeaderSize bytes and reading no more whatever the server
// sends. A header longer than that is cut after its last whole line (cut
// is true). The header ends with its empty line, so that it reads as a
// mail without a body. hdr is nil when the server returned no such mail.
func (s *imapSession) fetchHeader(uid imap.UID) (hdr []byte, date time.Time, cut bool, err error) {
	err = s.do(fmt.Sprintf("fetch header of uid %d", uid), func() error {
		cmd := s.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
			UID:          true,
			InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true,
				Partial: &imap.SectionPartial{Size: MaxHeaderSize + 1}}},
		})
		var readErr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			var got imap.UID
			var h []byte
			var d time.Time
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					got = it.UID
				case imapclient.FetchItemDataInternalDate:
					d = it.Time
				case imapclient.FetchItemDataBodySection:
					if it.Literal == nil {
						continue
					}
					b, err := io.ReadAll(io.LimitReader(it.Literal, MaxHeaderSize+1))
					if err != nil && readErr == nil {
						readErr = fmt.Errorf("read header of uid %d: %w", uid, err)
					}
					if h = b; h == nil {
						h = []byte{}
					}
				}
			}
			if got == uid && h != nil {
				hdr, date = h, d
			}
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return readErr
	})
	if err != nil || hdr == nil {
		return nil, time.Time{}, false, err
	}
	if len(hdr) > MaxHeaderSize {
		hdr, cut = hdr[:MaxHeaderSize], true
		if i := bytes.LastIndexByte(hdr, '\n'); i >= 0 {
			hdr = hdr[:i+1]
		}
	}
	switch {
	case bytes.HasSuffix(hdr, []byte("\r\n\r\n")), bytes.HasSuffix(hdr, []byte("\n\n")):
	case bytes.HasSuffix(hdr, []byte("\n")):
		hdr = append(hdr, "\r\n"...)
	default:
		hdr = append(hdr, "\r\n\r\n"...)
	}
	return hdr, date, cut, nil
}

// processBatch fetches, delivers and marks the mails of b. When the server
// refuses the batch FETCH (NO or BAD), it takes the mails one at a time, so
// that the one the server cannot return is quarantined and the mailbox
// goes on. A mail the server cannot return is delivered as unreadable
// (Delivery.Unreadable) and quarantined once the Handler has recorded it,
// so that no mail is moved before a commit.
func (s *imapSession) processBatch(ctx context.Context, uidValidity uint32, b batch) error {
	got, err := s.fetchBodies(b)
	var ie *imap.Error
	switch {
	case errors.As(err, &ie) && len(b.uids) > 1:
		s.f.log.Info("server refused a batch fetch; fetching its mails one at a time",
			"first_uid", uint32(b.uids[0]), "last_uid", uint32(b.uids[len(b.uids)-1]), "count", len(b.uids), "err", err)
		for i := range b.uids {
			if ctx.Err() != nil {
				return nil
			}
			if err := s.processBatch(ctx, uidValidity, b.one(i)); err != nil {
				return err
			}
		}
		return nil
	case errors.As(err, &ie):
		// The server answered NO/BAD for this one mail: do not let it stop
		// the mailbox. It goes to quarantine once its rejection is
		// recorded.
		return s.deliverBatch(ctx, []Delivery{{Mailbox: s.f.cfg.Name, UIDValidity: uidValidity, UID: uint32(b.uids[0]),
			Unreadable: "server could not return it: " + ie.Error()}})
	case err != nil:
		return err
	}
	ds := make([]Delivery, 0, len(b.uids))
	for _, uid := range b.uids {
		m, ok := got[uid]
		switch {
		case !ok:
			s.f.log.Debug("mail vanished before fetch", "uid", uint32(uid))
		case m.unreadable != "":
			// Delivered without its body, for the Handler to record why;
			// it is quarantined once that is committed.
			ds = append(ds, Delivery{Mailbox: s.f.cfg.Name, UIDValidity: uidValidity, UID: uint32(uid), InternalDate: m.internalDate,
				Unreadable: m.unreadable})
		default:
			ds = append(ds, Delivery{Mailbox: s.f.cfg.Name, UIDValidity: uidValidity, UID: uint32(uid), Raw: m.raw, InternalDate: m.internalDate})
		}
	}
	return s.deliverBatch(ctx, ds)
}

// deliverBatch hands ds to the Handler in one call, marks every mail it
// committed with one command, quarantines every mail it rejected, and
// returns its first temporary failure, which ends the session. Only the
// results before that failure count: a mail reported committed after it
// would break the Handler's contract, and is left unmarked to be delivered
// again (a duplicate) rather than marked ahead of the checkpoint. When the
// Handler panics on several mails, they are delivered again one at a
// time, so that only the one that panics goes to quarantine.
func (s *imapSession) deliverBatch(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	errs := s.f.deliver(ctx, ds)
	if len(ds) > 1 && errors.Is(errs[0], errHandlerPanic) {
		s.f.log.Warn("deliver panicked on a batch; delivering its mails one at a time", batchAttrs(ds)...)
		for i := range ds {
			if err := s.deliverBatch(ctx, ds[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	var committed, rejected []imap.UID
	var reasons []string
	var failed error
	size := 0
	for i, err := range errs {
		uid := imap.UID(ds[i].UID)
		switch {
		case err == nil && ds[i].Unreadable != "":
			// A Handler that took it without a word: it still cannot be
			// read.
			rejected, reasons = append(rejected, uid), append(reasons, ds[i].Unreadable)
		case err == nil && ds[i].Oversize != nil:
			// Recorded with its header: the whole mail goes to
			// quarantine, where it stays, and only now.
			o := ds[i].Oversize
			rejected = append(rejected, uid)
			reasons = append(reasons, fmt.Sprintf("message of %d bytes exceeds the limit of %d; recorded with its header", o.Size, o.Limit))
		case err == nil:
			committed = append(committed, uid)
			size += len(ds[i].Raw)
		case errors.Is(err, helpdesk.ErrUnreadable), errors.Is(err, errHandlerPanic):
			rejected, reasons = append(rejected, uid), append(reasons, err.Error())
		default:
			failed = fmt.Errorf("deliver uid %d: %w", uid, err)
		}
		if failed != nil {
			break
		}
	}
	if len(committed) > 0 {
		s.f.log.Debug("mails delivered", "count", len(committed), "first_uid", uint32(committed[0]), "last_uid", uint32(committed[len(committed)-1]), "bytes", size)
		if err := s.markProcessed(imap.UIDSetNum(committed...)); err != nil {
			return err
		}
	}
	for i, uid := range rejected {
		if err := s.quarantine(uid, reasons[i]); err != nil {
			return err
		}
	}
	return failed
}

// markProcessed flags (with \Seen) or moves committed mail.
func (s *imapSession) markProcessed(set imap.UIDSet) error {
	cfg := s.f.cfg
	if cfg.Processed == ModeMove {
		return s.move(set, cfg.ProcessedFolder, cfg.ProcessedFlag)
	}
	return s.addFlags("flag processed", set, imap.Flag(cfg.ProcessedFlag), imap.FlagSeen)
}

func (s *imapSession) addFlags(what string, set imap.UIDSet, flags ...imap.Flag) error {
	return s.do(what, func() error {
		return s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
	})
}

// quarantine moves an unreadable mail to the quarantine folder. When the
// server refuses (no such folder and no right to create it, ...), the mail
// is flagged instead so that it is not read again, and the mailbox goes on.
func (s *imapSession) quarantine(uid imap.UID, reason string) error {
	cfg := s.f.cfg
	log := s.f.log.With("uid", uint32(uid), "reason", reason)
	err := s.move(imap.UIDSetNum(uid), cfg.QuarantineFolder, quarantineKeyword)
	var ie *imap.Error
	if errors.As(err, &ie) {
		log.Error("cannot move mail to quarantine; flagging it instead", "folder", cfg.QuarantineFolder, "err", err)
		err = s.addFlags("flag quarantined", imap.UIDSetNum(uid), imap.Flag(quarantineKeyword), imap.FlagSeen)
	}
	if err != nil {
		return err
	}
	log.Warn("mail quarantined", "folder", cfg.QuarantineFolder)
	if s.f.Hooks.Quarantined != nil {
		s.f.Hooks.Quarantined(uint32(uid), reason)
	}
	return nil
}

// move moves mail to dest, creating dest when the server says it does not
// exist (RFC 9051 §7.1: TRYCREATE).
func (s *imapSession) move(set imap.UIDSet, dest, keyword string) error {
	err := s.moveOnce(set, dest, keyword)
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTryCreate {
		return err
	}
	s.f.log.Info("creating folder", "folder", dest)
	err = s.do("create "+dest, func() error { return s.c.Create(dest, nil).Wait() })
	if err != nil && (!errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists) {
		return err
	}
	return s.moveOnce(set, dest, keyword)
}

// moveOnce moves with MOVE (RFC 6851) when offered. Otherwise it copies,
// and only once the COPY succeeded marks the originals \Deleted with
// keyword; it expunges exactly those with UID EXPUNGE (RFC 4315 §2.1) when
// UIDPLUS is offered, and else leaves them marked: a plain EXPUNGE would
// remove every \Deleted mail of the folder, not only ours. The keyword
// keeps later searches from taking them again.
func (s *imapSession) moveOnce(set imap.UIDSet, dest, keyword string) error {
	if s.caps.Has(imap.CapMove) {
		return s.do("move to "+dest, func() error {
			_, err := s.c.Move(set, dest).Wait()
			return err
		})
	}
	var data *imap.CopyData
	err := s.do("copy to "+dest, func() (err error) {
		data, err = s.c.Copy(set, dest).Wait()
		return err
	})
	if err != nil {
		return err
	}
	copied := set
	if data.UIDValidity != 0 { // COPYUID (UIDPLUS): exactly what was copied
		copied = data.SourceUIDs
	}
	if len(copied) == 0 {
		return nil
	}
	if err := s.addFlags("mark copied", copied, imap.FlagDeleted, imap.Flag(keyword)); err != nil {
		return err
	}
	if !s.caps.Has(imap.CapUIDPlus) {
		return nil
	}
	return s.do("uid expunge", func() error { return s.c.UIDExpunge(copied).Close() })
}

// wait blocks until there may be new mail: in IDLE until the server
// announces mail, IdleRefresh passes or ctx is done; else until the next
// poll.
func (s *imapSession) wait(ctx context.Context) (announced bool, err error) {
	if !s.useIdle {
		s.f.setStatus(FetcherPolling)
		t := time.NewTimer(s.f.cfg.PollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-s.wake:
		case <-s.c.Closed():
			return false, s.ended(errors.New("connection closed"))
		}
		return false, nil
	}
	var idle *imapclient.IdleCommand
	if err := s.do("idle", func() (err error) { idle, err = s.c.Idle(); return err }); err != nil {
		return false, err
	}
	s.f.setStatus(FetcherIdle)
	// IDLE has no read deadline: leave it every IdleRefresh so that the
	// next cycle's commands (with their timeout) prove the connection.
	t := time.NewTimer(s.f.cfg.IdleRefresh)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.wake:
		announced = true
	case <-t.C:
	case <-s.c.Closed():
		return false, s.ended(errors.New("connection closed during IDLE"))
	}
	err = s.do("leave idle", func() error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
	if err != nil {
		// The server may have ended the session just as we left IDLE (mail
		// announced, then BYE and the close): writing DONE then fails on
		// the closed connection. That is the server's end, as above, once
		// the client's reader has seen the close.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-s.c.Closed():
			return announced, s.ended(err)
		case <-t.C:
		}
		return announced, err
	}
	s.f.setStatus(FetcherConnected) // working, no longer idling
	return announced, nil
}

// ended is how a session whose connection closed while it waited ends: a
// serverBye when the server said BYE or closed the connection cleanly
// (the client's reader met the end of the stream, not an error), else
// err.
func (s *imapSession) ended(err error) error {
	if said, ok := s.bye.said(); ok {
		return &serverBye{said: said, err: err}
	}
	if s.c.Close() == nil {
		return &serverBye{err: err}
	}
	return err
}
