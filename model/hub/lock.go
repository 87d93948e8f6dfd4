package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const lockSuffix = ".lock"

// Lock takes an exclusive lock on path+".lock", waiting (polling, so that
// ctx can cancel the wait) while another process or goroutine holds it.
// The lock is released by the returned function or when the process dies.
// unlock deletes the lock file before it lets go, so a cache is left with
// no .lock files; a waiter that then gets the lock on the deleted file sees
// that the name no longer leads to it and starts over on a new one.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	name := path + lockSuffix
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		for {
			ok, err := tryLock(f)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", name, err)
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, fmt.Errorf("waiting for %s (another mixedge is fetching): %w", name, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		if sameFile(f, name) {
			return func() {
				os.Remove(name) // while held: nobody else owns this file
				unlockFile(f)
				f.Close()
			}, nil
		}
		unlockFile(f) // the holder deleted it: lock the current one
		f.Close()
	}
}

// sameFile reports whether name still leads to the open file f.
func sameFile(f *os.File, name string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(name)
	return err == nil && os.SameFile(a, b)
}
