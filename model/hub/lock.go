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
// The lock is released by the returned function or when the process dies;
// the lock file itself stays (removing it would race with waiters).
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	name := path + lockSuffix
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
			return func() { unlockFile(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s (another mixedge is fetching): %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
