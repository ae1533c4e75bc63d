package mailbox

import "time"

// Backoff is a capped exponential delay with jitter. The IMAP fetcher uses
// it between reconnection attempts and the outbox between send attempts of
// one mail. The n-th retry (n counted from 0) waits Min·2ⁿ, capped at Max,
// shortened by a random share of at most Jitter of itself, so that many
// clients failing together do not retry together.
type Backoff struct {
	Min    time.Duration // first delay; must be > 0 once defaults are applied
	Max    time.Duration // cap; the delay never exceeds it
	Jitter float64       // 0..1: the share of the delay that is randomised; 0 means the default 0.2
}

// defaultJitter is the share of a delay that is randomised when
// Backoff.Jitter is zero.
const defaultJitter = 0.2

// orDefault returns b with zero fields taken from def.
func (b Backoff) orDefault(def Backoff) Backoff {
	if b.Min <= 0 {
		b.Min = def.Min
	}
	if b.Max <= 0 {
		b.Max = def.Max
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.Jitter <= 0 || b.Jitter > 1 {
		b.Jitter = defaultJitter
	}
	return b
}

// Delay returns the wait before retry number n (0 for the first retry).
// r is a random number in [0, 1) (rand.Float64()); the result lies in
// [(1-Jitter)·d, d] where d = min(Max, Min·2ⁿ). Delay is pure, so tests pass
// r themselves.
func (b Backoff) Delay(n int, r float64) time.Duration {
	b = b.orDefault(Backoff{Min: time.Second, Max: time.Minute})
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max || d <= 0 { // d <= 0: overflow
		d = b.Max
	}
	if r < 0 {
		r = 0
	} else if r >= 1 {
		r = 1
	}
	return d - time.Duration(float64(d)*b.Jitter*r)
}
