//go:build !linux

package firmware

func openPlatform(path string) (*File, error) { return openRead(path) }
