//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hub

import (
	"os"
	"sync"
)

// Without flock, the lock is only between goroutines of this process; the
// atomic rename of a verified file still keeps the cache itself consistent.
var (
	localMu    sync.Mutex
	localLocks = map[string]bool{}
)

func tryLock(f *os.File) (bool, error) {
	localMu.Lock()
	defer localMu.Unlock()
	if localLocks[f.Name()] {
		return false, nil
	}
	localLocks[f.Name()] = true
	return true, nil
}

func unlockFile(f *os.File) {
	localMu.Lock()
	delete(localLocks, f.Name())
	localMu.Unlock()
}
