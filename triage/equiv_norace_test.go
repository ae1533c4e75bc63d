//go:build !race

package triage

// raceEnabled makes the equivalence tests compare a sample of their
// mails: see equiv_race_test.go.
const raceEnabled = false
