//go:build !linux

package testenv

import "errors"

var errNoTmpfs = errors.New("tmpfs mounts are Linux only")

func mount(string, string) error { return errNoTmpfs }

func unmount(string) error { return errNoTmpfs }
