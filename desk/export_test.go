package desk

import "time"

// SetMaxTxTime changes how long one ingest transaction may run, for the
// tests of batches committed in parts; it returns the old value.
func SetMaxTxTime(d time.Duration) time.Duration {
	old := maxTxTime
	maxTxTime = d
	return old
}
