package testenv

import "syscall"

func mount(dir, opts string) error { return syscall.Mount("tmpfs", dir, "tmpfs", 0, opts) }

// unmount detaches the mount should a plain unmount fail (a file still
// open), so that no mount outlives the test.
func unmount(dir string) error {
	err := syscall.Unmount(dir, 0)
	if err != nil {
		syscall.Unmount(dir, syscall.MNT_DETACH)
	}
	return err
}
