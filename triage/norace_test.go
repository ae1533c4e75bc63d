//go:build !race

package triage

// raceEnabled makes the golden tests and TestCueShortcuts check a sample
// of their inputs: see race_test.go.
const raceEnabled = false
