//go:build race

package triage

// raceEnabled makes the equivalence tests compare a sample of their
// mails: the race detector makes them many times slower, and a run of
// one goroutine gives it nothing to find.
const raceEnabled = true
