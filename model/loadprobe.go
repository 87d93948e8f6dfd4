package model

import (
	"io"
	"os"
	"runtime"
)

// loadProbe tells a multi-threaded net whether other programs leave a CPU
// for each of its threads, from the number of runnable threads the kernel
// reports in /proc/loadavg (Linux, Android). While one thread is the
// faster mode, threadChoice explores all threads only when the probe sees
// room (or blindly, after threadExploreBusy to threadExploreBusyMax
// frames): beside a CPU-bound program an
// exploration costs two frames at about twice one thread's time, and
// exploring every 32 frames moved the median frame of a 2-thread net 1%
// past a 1-thread net's (2-vCPU Zen 4, a busy process alongside).
//
// A read is one pread (about 2 µs on that VM), made only while an
// exploration is due, and allocates nothing.
type loadProbe struct {
	f *os.File
	// most is the most runnable threads, the reading one included, with
	// which the machine still has a CPU for each of the net's threads.
	most int
	buf  [64]byte
}

// openLoadProbe returns a probe for a net of the given threads, or nil
// where /proc/loadavg cannot be read (then threadChoice explores on its
// schedule alone).
func openLoadProbe(threads int) *loadProbe {
	f, err := os.Open("/proc/loadavg")
	if err != nil {
		return nil
	}
	p := &loadProbe{f: f, most: runtime.NumCPU() - threads + 1}
	if _, ok := p.runnable(); !ok {
		f.Close()
		return nil
	}
	return p
}

// runnable reads the number of runnable threads on the machine.
func (p *loadProbe) runnable() (int, bool) {
	k, err := p.f.ReadAt(p.buf[:], 0)
	if err != nil && err != io.EOF {
		return 0, false
	}
	return parseRunnable(p.buf[:k])
}

// room reports whether the machine has a CPU for each of the net's
// threads now; a failed read says yes (explore on schedule).
func (p *loadProbe) room() bool {
	r, ok := p.runnable()
	return !ok || r <= p.most
}

func (p *loadProbe) close() { p.f.Close() }

// parseRunnable reads the runnable count from /proc/loadavg's text,
// "0.50 0.40 0.30 2/123 4567": the number before the slash of the fourth
// field.
func parseRunnable(b []byte) (int, bool) {
	i := 0
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	for field := 0; field < 3; field++ {
		for i < len(b) && !isBlank(b[i]) {
			i++
		}
		for i < len(b) && isBlank(b[i]) {
			i++
		}
	}
	n, digits := 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if digits++; digits > 9 {
			return 0, false
		}
		n = 10*n + int(b[i]-'0')
	}
	if digits == 0 || i >= len(b) || b[i] != '/' {
		return 0, false
	}
	return n, true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }
