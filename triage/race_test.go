//go:build race

package triage

// raceEnabled makes the golden tests and TestCueShortcuts check a sample
// of their inputs: the race detector makes them many times slower, and
// a run of one goroutine gives it nothing to find.
const raceEnabled = true
