package mailbox

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Rate is a limit of mails submitted per period: at most N in any Per.
// The zero Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// String writes r as the configuration does: "30/1m0s"; "unlimited" for
// the zero Rate.
func (r Rate) String() string {
	if r.N <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d/%v", r.N, r.Per)
}

// DailyWindow is the span of SMTPConfig.DailyRecipients: a rolling 24
// hours, the way Exchange Online and Gmail count recipients (a recipient
// counts until 24 hours after its mail was accepted; there is no reset at
// midnight).
const DailyWindow = 24 * time.Hour

// window is a limit of a count per span of time over a rolling window: a
// token bucket of limit tokens in which each token comes back one span
// after it was spent, so that no span of time ever holds more than limit
// (a bucket refilled continuously lets a full bucket's burst and the
// refill of the same minute through: twice the limit). A mail reserves
// what it may spend before it is offered and settles what it did spend
// when its outcome is known, so that the lanes sending at once cannot
// overrun the limit together.
type window struct {
	limit int
	span  time.Duration
	log   []stamp       // what was spent, oldest first
	held  map[int64]int // reservations by outbox row
}

// stamp is n spent at at.
type stamp struct {
	at time.Time
	n  int
}

func newWindow(limit int, span time.Duration) *window {
	return &window{limit: limit, span: span, held: map[int64]int{}}
}

// prune forgets what was spent a span or more before now.
func (w *window) prune(now time.Time) {
	i := 0
	for i < len(w.log) && !w.log[i].at.Add(w.span).After(now) {
		i++
	}
	if i > 0 {
		w.log = slices.Delete(w.log, 0, i)
	}
}

// used is what the window holds at now: spent within the span, and
// reserved.
func (w *window) used(now time.Time) int {
	w.prune(now)
	n := 0
	for _, s := range w.log {
		n += s.n
	}
	for _, h := range w.held {
		n += h
	}
	return n
}

// fits reports whether n more fit at now. More than the whole limit fits
// an empty window, so that no single mail waits for ever.
func (w *window) fits(now time.Time, n int) bool {
	u := w.used(now)
	return u+n <= w.limit || u == 0
}

// freeAt returns when n more will fit, as spent now stays spent and what
// is reserved stays reserved (now when they fit already).
func (w *window) freeAt(now time.Time, n int) time.Time {
	u := w.used(now)
	if u+n <= w.limit || u == 0 {
		return now
	}
	free := w.limit - u
	for i, s := range w.log {
		free += s.n
		if free >= n || (i == len(w.log)-1 && len(w.held) == 0) {
			return s.at.Add(w.span)
		}
	}
	// Only reservations hold it: they settle when their sends end.
	return now
}

// oldest returns when the oldest spending still in the window leaves it.
func (w *window) oldest(now time.Time) (time.Time, bool) {
	w.prune(now)
	if len(w.log) == 0 {
		return time.Time{}, false
	}
	return w.log[0].at.Add(w.span), true
}

// reserve holds n for row id until it is settled or released.
func (w *window) reserve(id int64, n int) { w.held[id] += n }

// settle ends row id's reservation: n were spent at at.
func (w *window) settle(id int64, at time.Time, n int) {
	delete(w.held, id)
	w.add(at, n)
}

// release ends row id's reservation with nothing spent.
func (w *window) release(id int64) { delete(w.held, id) }

// add records n spent at at, keeping the log in time order.
func (w *window) add(at time.Time, n int) {
	if n <= 0 {
		return
	}
	i := len(w.log)
	for i > 0 && w.log[i-1].at.After(at) {
		i--
	}
	w.log = slices.Insert(w.log, i, stamp{at, n})
}

// Names of the limits that make mail wait: in logs, in OutboxHooks.Throttled
// and in the metric helpdesk_outbox_throttled.
const (
	LimitRate            = "rate"             // [smtp] rate
	LimitDailyRecipients = "daily_recipients" // [smtp] daily_recipients
	LimitProviderQuota   = "provider_quota"   // the server answered that the account sent too much
)

// Limits are the limit names, in the order they are checked.
var Limits = []string{LimitRate, LimitDailyRecipients, LimitProviderQuota}

// limiter is the outbox's account limits: the send rate, the daily
// recipient budget and the back-off a provider's quota answer imposes.
// Rows are admitted by the round (one goroutine); their sends settle on
// the lanes' goroutines.
type limiter struct {
	mu     sync.Mutex
	rate   *window // nil: no rate
	budget *window // nil: no daily budget
	loaded bool    // budget holds what the store knew at start

	// The provider's back-off: nothing is offered before until.
	until  time.Time
	quota  QuotaKind
	words  string // the server's answer
	streak int    // quota answers since the account last sent freely

	// since holds when each limit began to make mail wait (the episode
	// logged once); a limit not in it holds nothing back.
	since map[string]time.Time
}

func newLimiter(c SMTPConfig) *limiter {
	l := &limiter{since: map[string]time.Time{}}
	if c.Rate.N > 0 && c.Rate.Per > 0 {
		l.rate = newWindow(c.Rate.N, c.Rate.Per)
	}
	if c.DailyRecipients > 0 {
		l.budget = newWindow(c.DailyRecipients, DailyWindow)
	}
	return l
}

// limited reports whether the account has limits of its own, so that due
// mail is read in the order it is to go (OutboxStore.DueOutboxRanked).
func (l *limiter) limited() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate != nil || l.budget != nil || !l.until.IsZero()
}

// paused returns when the provider's back-off ends, if it has not.
func (l *limiter) paused(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until, now.Before(l.until)
}

// tokens returns how many mails the rate lets go at now (max when it
// has none) and, when none, when the next may go.
func (l *limiter) tokens(now time.Time, max int) (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate == nil {
		return max, now
	}
	n := l.rate.limit - l.rate.used(now)
	if n <= 0 {
		return 0, l.rate.freeAt(now, 1)
	}
	return min(n, max), now
}

// admit reserves the rate and the budget of a mail to n recipients, or
// reports that it does not fit the budget.
func (l *limiter) admit(id int64, n int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.budget != nil {
		if !l.budget.fits(now, n) {
			return false
		}
		l.budget.reserve(id, n)
	}
	if l.rate != nil {
		l.rate.reserve(id, 1)
	}
	return true
}

// settle records what the send of row id spent: a submission to the
// server (offered) and the recipients it accepted, at at.
func (l *limiter) settle(id int64, at time.Time, offered bool, accepted int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate != nil {
		if offered {
			l.rate.settle(id, at, 1)
		} else {
			l.rate.release(id)
		}
	}
	if l.budget != nil {
		l.budget.settle(id, at, accepted)
	}
}

// release ends the reservations of rows that were not sent (or already
// settled).
func (l *limiter) release(ids []int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if l.rate != nil {
			l.rate.release(id)
		}
		if l.budget != nil {
			l.budget.release(id)
		}
	}
}

// seed records recipients the server accepted before this process (from
// the store), one time each.
func (l *limiter) seed(times []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loaded = true
	if l.budget == nil {
		return
	}
	for _, t := range times {
		l.budget.add(t, 1)
	}
}

// needsSeed reports whether the budget still waits for the store's record.
func (l *limiter) needsSeed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.budget != nil && !l.loaded
}

// budgetFreeAt returns when a mail to n recipients will fit the budget.
func (l *limiter) budgetFreeAt(now time.Time, n int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.budget == nil {
		return now
	}
	return l.budget.freeAt(now, n)
}

// budgetOldest returns when the oldest recipient the budget counts leaves
// the rolling window.
func (l *limiter) budgetOldest(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.budget == nil {
		return time.Time{}, false
	}
	return l.budget.oldest(now)
}

// backOff starts or extends the provider's back-off until until, and
// reports whether it starts an episode (none was under way).
func (l *limiter) backOff(until time.Time, k QuotaKind, words string) (first bool, streak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, on := l.since[LimitProviderQuota]
	first = !on && l.streak == 0
	l.streak++
	if until.After(l.until) {
		l.until = until
	}
	l.quota, l.words = k, words
	return first, l.streak - 1
}

// keepEpisodes adds to held the limits whose episodes are under way, so
// that a round that did not look at them leaves them as they were.
func (l *limiter) keepEpisodes(held map[string]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name := range l.since {
		if _, ok := held[name]; !ok {
			held[name] = l.until
		}
	}
}

// episodes compares the limits that held mail back in a round with those
// that did before, and returns those that began and those that ended (with
// when they began); held maps a limit to when it lets mail go again.
func (l *limiter) episodes(now time.Time, held map[string]time.Time) (began []string, ended map[string]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ended = map[string]time.Time{}
	for _, name := range Limits {
		_, was := l.since[name]
		_, is := held[name]
		switch {
		case is && !was:
			l.since[name] = now
			began = append(began, name)
		case was && !is:
			ended[name] = l.since[name]
			delete(l.since, name)
			if name == LimitProviderQuota {
				l.streak, l.until, l.words = 0, time.Time{}, ""
			}
		}
	}
	return began, ended
}
