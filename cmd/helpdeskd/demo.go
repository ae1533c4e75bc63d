package main

import (
	"context"
	"errors"
	"io"
)

// cmdDemo is being written (TEMPORARY, replaced by the demo helper).
func cmdDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("demo: not yet")
}
