//go:build !unix

package firmware

// syncDir is a no-op where directories cannot be opened and synced
// (Windows, wasm); the rename is as durable as the platform makes it.
func syncDir(string) error { return nil }
