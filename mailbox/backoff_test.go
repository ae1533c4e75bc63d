package mailbox

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 30 * time.Second, Max: time.Hour, Jitter: 0.5}
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0, 30 * time.Second},
		{1, 0, time.Minute},
		{2, 0, 2 * time.Minute},
		{6, 0, 32 * time.Minute},
		{7, 0, time.Hour}, // 64m capped
		{1000, 0, time.Hour},
		{0, 0.5, 30*time.Second - 7500*time.Millisecond},
		{7, 1, 30 * time.Minute}, // the most jitter takes half of the capped delay
		{3, -1, 4 * time.Minute}, // r clamped to 0
	}
	for _, tt := range tests {
		if got := b.Delay(tt.n, tt.r); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.n, tt.r, got, tt.want)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	b := Backoff{}.orDefault(Backoff{Min: time.Second, Max: 5 * time.Minute})
	if got, want := b.Min, time.Second; got != want {
		t.Errorf("Min = %v, want %v", got, want)
	}
	if got, want := b.Max, 5*time.Minute; got != want {
		t.Errorf("Max = %v, want %v", got, want)
	}
	if got, want := b.Jitter, defaultJitter; got != want {
		t.Errorf("Jitter = %v, want %v", got, want)
	}
	// A cap below the minimum is raised to it.
	if got, want := (Backoff{Min: time.Minute, Max: time.Second}).Delay(3, 0), time.Minute; got != want {
		t.Errorf("Delay with Max < Min = %v, want %v", got, want)
	}
}
