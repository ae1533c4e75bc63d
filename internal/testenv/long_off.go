//go:build !long

package testenv

// longTag is true when the tests are built with -tags long.
const longTag = false
