package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
)

// busyArg is the hidden first argument that makes mixedge a CPU-bound
// competitor for `bench --busy N --busy-kind process`: it spins until its
// standard input closes (the parent exits or kills it).
const busyArg = "__busyloop"

func runBusyLoop(stdin io.Reader) int {
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, stdin)
		stop.Store(true)
	}()
	var n uint64
	for !stop.Load() {
		n++
	}
	if n == 0 {
		return 1
	}
	return 0
}

// startBusy starts n CPU-bound competitors, goroutines of this process or
// child processes (kind "goroutine" or "process"), and returns the function
// that stops them.
func startBusy(n int, kind string) (stop func(), err error) {
	switch kind {
	case "goroutine":
		var done atomic.Bool
		var sink atomic.Uint64
		for range n {
			go func() {
				var c uint64
				for !done.Load() {
					c++
				}
				sink.Add(c)
			}()
		}
		return func() { done.Store(true) }, nil
	case "process":
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("--busy-kind process: %w", err)
		}
		var cmds []*exec.Cmd
		var pipes []io.Closer
		stop := func() {
			for i, c := range cmds {
				pipes[i].Close()
				c.Process.Kill()
				c.Wait()
			}
		}
		for range n {
			c := exec.Command(exe, busyArg)
			w, err := c.StdinPipe()
			if err != nil {
				stop()
				return nil, fmt.Errorf("--busy-kind process: %w", err)
			}
			if err := c.Start(); err != nil {
				stop()
				return nil, fmt.Errorf("--busy-kind process: starting %s: %w", exe, err)
			}
			cmds, pipes = append(cmds, c), append(pipes, w)
		}
		return stop, nil
	}
	return nil, fmt.Errorf("--busy-kind %q: want goroutine or process", kind)
}
