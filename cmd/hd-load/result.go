package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Result is the report of one run.
type Result struct {
	Mode        string  `json:"mode"` // "self" or "external"
	IDLE        bool    `json:"idle"` // self mode: the daemon used IDLE
	N           int     `json:"n"`
	Rate        float64 `json:"rate"` // requested mails/s; 0: full speed
	Concurrency int     `json:"concurrency"`

	Sent          int     `json:"sent"`          // APPENDs that succeeded
	AppendErrors  int     `json:"append_errors"` // APPENDs that failed
	AppendRate    float64 `json:"append_rate"`   // sent / (last APPEND end - first APPEND start), mails/s
	Acked         int     `json:"acked"`         // sent mails whose ack arrived
	Lost          int     `json:"lost"`          // sent mails without an ack by the deadline
	Duplicates    int     `json:"duplicates"`    // second acks for one mail
	Notifications int     `json:"notifications"` // mails answering a load mail to others than its sender (agents)
	Other         int     `json:"other"`         // mails naming no load mail
	Throughput    float64 `json:"throughput"`    // acks/s from the first APPEND start to the last ack
	Span          float64 `json:"span_seconds"`  // that interval
	AppendP50     float64 `json:"append_p50_ms"` // APPEND command round trip
	AppendP99     float64 `json:"append_p99_ms"` //
	P50           float64 `json:"ack_p50_ms"`    // APPEND start to ack received
	P90           float64 `json:"ack_p90_ms"`    //
	P99           float64 `json:"ack_p99_ms"`    //
	Max           float64 `json:"ack_max_ms"`    //
	DaemonPID     int     `json:"daemon_pid"`    // self mode
	PeakRSS       int64   `json:"daemon_vmhwm"`  // self mode: the daemon's VmHWM in bytes, read after the last ack

	LostIDs []string `json:"lost_message_ids,omitempty"` // Message-IDs of the first lost mails (at most 20)
}

// fill computes the figures from the records and the peer's counts.
func (r *Result) fill(recs []*record, p *peer) {
	var lat, app []time.Duration
	var first, lastAppend, lastAck time.Time
	for _, rec := range recs {
		if rec.err != nil {
			r.AppendErrors++
			continue
		}
		if rec.start.IsZero() {
			continue // never sent (cancelled)
		}
		r.Sent++
		if first.IsZero() || rec.start.Before(first) {
			first = rec.start
		}
		if rec.appended.After(lastAppend) {
			lastAppend = rec.appended
		}
		app = append(app, rec.appended.Sub(rec.start))
	}
	p.mu.Lock()
	for _, rec := range recs {
		if rec.err != nil || rec.start.IsZero() {
			continue
		}
		if rec.ack.IsZero() {
			if len(r.LostIDs) < 20 {
				r.LostIDs = append(r.LostIDs, rec.id)
			}
			continue
		}
		lat = append(lat, rec.ack.Sub(rec.start))
		if rec.ack.After(lastAck) {
			lastAck = rec.ack
		}
	}
	r.Duplicates, r.Notifications, r.Other = p.duplicates, p.notifications, p.other
	p.mu.Unlock()
	r.Acked = len(lat)
	r.Lost = r.Sent - r.Acked
	if d := lastAppend.Sub(first).Seconds(); d > 0 {
		r.AppendRate = float64(r.Sent) / d
	}
	if d := lastAck.Sub(first).Seconds(); r.Acked > 0 && d > 0 {
		r.Span = d
		r.Throughput = float64(r.Acked) / d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	slices.Sort(lat)
	slices.Sort(app)
	r.P50, r.P90, r.P99 = ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99))
	if len(lat) > 0 {
		r.Max = ms(lat[len(lat)-1])
	}
	r.AppendP50, r.AppendP99 = ms(percentile(app, 50)), ms(percentile(app, 99))
}

// percentile is the nearest-rank p-th percentile of sorted durations: the
// smallest value with at least p% of the values at or below it. It is 0
// for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// WriteText prints the report for people.
func (r *Result) WriteText(w io.Writer) {
	how := rateText(r.Rate)
	mode := r.Mode
	if r.Mode == "self" {
		mode = "self (in-process IMAP and SMTP, helpdeskd child"
		if r.IDLE {
			mode += ", IDLE)"
		} else {
			mode += ", polling every 1s)"
		}
	}
	fmt.Fprintf(w, "mode           %s\n", mode)
	fmt.Fprintf(w, "load           %d mails at %s over %d connection(s)\n", r.N, how, r.Concurrency)
	fmt.Fprintf(w, "sent           %d (APPEND errors %d; APPEND rate %.1f mails/s; APPEND p50 %.1f ms, p99 %.1f ms)\n", r.Sent, r.AppendErrors, r.AppendRate, r.AppendP50, r.AppendP99)
	fmt.Fprintf(w, "acked          %d\n", r.Acked)
	fmt.Fprintf(w, "lost           %d\n", r.Lost)
	for _, id := range r.LostIDs {
		fmt.Fprintf(w, "  lost         <%s>\n", id)
	}
	fmt.Fprintf(w, "duplicate acks %d\n", r.Duplicates)
	fmt.Fprintf(w, "notifications  %d (other mail %d)\n", r.Notifications, r.Other)
	fmt.Fprintf(w, "ack latency    p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", r.P50, r.P90, r.P99, r.Max)
	fmt.Fprintf(w, "throughput     %.1f acks/s (first APPEND to last ack: %.2f s)\n", r.Throughput, r.Span)
	if r.DaemonPID != 0 {
		fmt.Fprintf(w, "daemon peak RSS %.1f MiB (VmHWM of pid %d)\n", float64(r.PeakRSS)/(1<<20), r.DaemonPID)
	}
}

// WriteJSON prints the report as one JSON object.
func (r *Result) WriteJSON(w io.Writer) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(r)
}
