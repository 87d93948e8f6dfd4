package firmware

import (
	"fmt"
	"io"
	"math"
	"os"
)

// Open reads and checks the .fw file at path; see Parse for the checks.
// On Linux the file is mapped read-only and sections are used in place;
// elsewhere it is read into memory. Call Close when done.
//
// Replace a .fw file that may be open by renaming a new one over it (as
// Writer.WriteFile does), never by rewriting it in place: a mapping sees
// in-place writes, and a file truncated under a mapping faults on access.
func Open(path string) (*File, error) { return openPlatform(path) }

// openRead is the portable path: read the file into a buffer whose start is
// MinAlign-aligned, so every section starts 64-byte aligned in memory, as on
// a mapping, and the zero-copy views work the same.
func openRead(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("firmware: %w", err)
	}
	defer fd.Close()
	size, err := regularSize(fd, path)
	if err != nil {
		return nil, err
	}
	buf := alignedBuf(int(size))
	if _, err := io.ReadFull(fd, buf); err != nil {
		return nil, fmt.Errorf("firmware: reading %s: %w", path, err)
	}
	return Parse(buf, path)
}

// regularSize returns the size of an open regular file, refusing
// directories, devices and files too large to address.
func regularSize(fd *os.File, path string) (int64, error) {
	st, err := fd.Stat()
	if err != nil {
		return 0, fmt.Errorf("firmware: %w", err)
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("firmware: %s: not a regular file", path)
	}
	if st.Size() > math.MaxInt {
		return 0, fmt.Errorf("firmware: %s: %d bytes is too large for this platform", path, st.Size())
	}
	return st.Size(), nil
}

// alignedBuf returns n bytes starting on a MinAlign boundary. The Go heap
// only promises word alignment, hence the slack.
func alignedBuf(n int) []byte {
	if n == 0 {
		return nil
	}
	raw := make([]byte, n+MinAlign-1)
	skip := (MinAlign - int(addr(raw)%MinAlign)) % MinAlign
	return raw[skip : skip+n : skip+n]
}
