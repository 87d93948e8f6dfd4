//go:build linux

package firmware

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openPlatform maps the file read-only. MAP_SHARED shares the page cache
// with other processes using the same image; nothing writes through it.
func openPlatform(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("firmware: %w", err)
	}
	// The mapping outlives the descriptor.
	defer fd.Close()
	size, err := regularSize(fd, path)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		// mmap rejects a zero length; Parse gives the proper error.
		return Parse(nil, path)
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("firmware: mapping %s: %w", path, err)
	}
	f, err := Parse(data, path)
	if err != nil {
		unix.Munmap(data)
		return nil, err
	}
	f.unmap = func() error { return unix.Munmap(data) }
	return f, nil
}
