package v4l2

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// node is a real device node.
type node struct {
	fd  int
	pfd [1]unix.PollFd
}

// Open opens a device node read-write and non-blocking (DQBUF returns
// EAGAIN instead of waiting; Poll waits).
func Open(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &node{fd: fd}, nil
}

func (n *node) Ioctl(req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(n.fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

func (n *node) Mmap(offset int64, length int) ([]byte, error) {
	return unix.Mmap(n.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func (n *node) Munmap(b []byte) error { return unix.Munmap(b) }

func (n *node) Poll(timeout time.Duration) (bool, error) {
	n.pfd[0] = unix.PollFd{Fd: int32(n.fd), Events: unix.POLLIN}
	ms := int(timeout / time.Millisecond)
	k, err := unix.Poll(n.pfd[:], ms)
	if err != nil {
		return false, err
	}
	// POLLERR (an unplugged camera, no buffer queued) also counts as
	// ready: the DQBUF that follows says what is wrong (ENODEV, EINVAL).
	return k > 0, nil
}

func (n *node) Close() error { return unix.Close(n.fd) }
