//go:build unix

package runlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecondAcquireFails(t *testing.T) {
	db := filepath.Join(t.TempDir(), "helpdesk.db")
	l, err := Acquire(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(db)
	var held *HeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire: %v, want a HeldError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, db) || !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("error %q does not name the database and the other process", msg)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(db)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// TestHeldAcrossProcesses: a child process holds the lock; this one is
// refused and told the child's pid; when the child dies (however), the
// kernel releases it.
func TestHeldAcrossProcesses(t *testing.T) {
	if db := os.Getenv("RUNLOCK_HOLD"); db != "" {
		if _, err := Acquire(db); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("held")
		time.Sleep(time.Minute) // killed by the parent
		os.Exit(0)
	}
	db := filepath.Join(t.TempDir(), "helpdesk.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHeldAcrossProcesses$")
	cmd.Env = append(os.Environ(), "RUNLOCK_HOLD="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf[:4]) != "held" {
		cmd.Process.Kill()
		t.Fatalf("child did not take the lock: %q %v", buf, err)
	}
	_, err = Acquire(db)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Errorf("while the child holds it: %v", err)
	}
	cmd.Process.Kill() // like kill -9: the kernel drops the lock
	cmd.Wait()
	l, err := Acquire(db)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	l.Release()
}
