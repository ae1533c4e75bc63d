package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size (as mount(8) takes it: "4m") on a new
// directory and unmounts it when the test ends: a file system the test can
// fill. It skips the test where mounting is not allowed (not Linux, not
// root, or a container without CAP_SYS_ADMIN), saying why.
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("a small file system to fill is a tmpfs mount: Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs to fill needs root; run the tests as root to prove the full-disk behaviour")
	}
	dir := t.TempDir()
	if err := mount(dir, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v): no way to fill a disk here", dir, err)
	}
	t.Cleanup(func() {
		if err := unmount(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Filler is a file that takes the last free byte of a file system.
type Filler struct {
	path string
}

// FillDisk writes a file in dir until the file system holding it is full
// (ENOSPC), down to its last partial block.
func FillDisk(t testing.TB, dir string) *Filler {
	t.Helper()
	f, err := Fill(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Fill is FillDisk for a goroutine that may not fail the test (a server's
// hook): it returns the error instead.
func Fill(dir string) (*Filler, error) {
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fill %s: %w", dir, err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for _, n := range []int{len(buf), 4096, 1} { // smaller writes take the last partial blocks
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					return nil, fmt.Errorf("fill %s: %w", dir, err)
				}
				break
			}
		}
	}
	return &Filler{path: path}, nil
}

// Free removes the filler: the file system has room again.
func (f *Filler) Free(t testing.TB) {
	t.Helper()
	if err := os.Remove(f.path); err != nil {
		t.Fatalf("free the disk: %v", err)
	}
}
