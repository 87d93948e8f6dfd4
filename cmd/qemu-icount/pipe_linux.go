package main

import (
	"os"
	"syscall"
)

// growPipe asks for a 1 MiB pipe buffer (F_SETPIPE_SZ) so qemu blocks less.
func growPipe(f *os.File) {
	const fSetPipeSz = 1031
	syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSz, 1<<20)
}
