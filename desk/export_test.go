package desk

import "time"

// SetMaxTxTime changes how long one ingest transaction may run, for the
// tests of batches committed in parts; it returns the old value.
func SetMaxTxTime(d time.Duration) time.Duration {
	old := maxTxTime
	maxTxTime = d
	return old
}

// SignedOff is signedOff for an agent of this name and address, for its
// table test.
func SignedOff(text, name, email string) bool {
	return signedOff(text, &Agent{Name: name, Email: email})
}

// HumanReason is humanReason, for its table test.
var HumanReason = humanReason
