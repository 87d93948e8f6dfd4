package v4l2

import (
	"time"
	"unsafe"
)

// Device is an open V4L2 device node: what the camera source needs of the
// kernel. Errors are syscall.Errno values (EINTR, EAGAIN, ENODEV, ...) so
// that the source can tell them apart; the source retries EINTR itself.
type Device interface {
	// Ioctl issues request req with arg pointing at the request's struct.
	Ioctl(req uintptr, arg unsafe.Pointer) error
	// Mmap maps length bytes of the device at offset (a buffer's
	// m.offset), shared and read-write.
	Mmap(offset int64, length int) ([]byte, error)
	Munmap(b []byte) error
	// Poll waits up to timeout for a frame to be ready to dequeue. It
	// returns false on timeout; an error (ENODEV when the device has gone)
	// otherwise.
	Poll(timeout time.Duration) (ready bool, err error)
	Close() error
}

// Opener opens a device node by path.
type Opener func(path string) (Device, error)
