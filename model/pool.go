package model

import (
	"runtime"
	"sync/atomic"
)

// worker runs row tasks posted by the goroutine that calls Run. The ops of
// a frame follow one another within microseconds, so a worker first spins
// on its task counter (answering in well under a microsecond) and parks on
// a channel only when no work has come for a while (between frames).
type worker struct {
	posted   atomic.Uint64
	finished atomic.Uint64
	parked   atomic.Bool
	quit     atomic.Bool
	task     rowTask       // written before posted is bumped, read after it is seen
	wake     chan struct{} // capacity 1: a token for a parked worker
}

// spinPolls is how many times a worker polls for work before it parks,
// a few µs; pure busy polls come before the polls that yield.
const (
	spinPolls = 2000
	busyPolls = 200
)

func newWorker() *worker { return &worker{wake: make(chan struct{}, 1)} }

func (w *worker) loop(run func(rowTask)) {
	var seen uint64
	for {
		s := w.posted.Load()
		for polls := 0; s == seen && polls < spinPolls; polls++ {
			if polls > busyPolls {
				runtime.Gosched()
			}
			s = w.posted.Load()
		}
		if s == seen {
			// Announce the park, then look once more so a post that raced
			// with the announcement is not missed; a stale token only
			// costs one extra loop.
			w.parked.Store(true)
			if s = w.posted.Load(); s == seen {
				<-w.wake
				w.parked.Store(false)
				continue
			}
			w.parked.Store(false)
		}
		seen = s
		if w.quit.Load() {
			return
		}
		run(w.task)
		w.finished.Store(seen)
	}
}

// post hands t to the worker and returns the ticket to wait for.
func (w *worker) post(t rowTask) uint64 {
	w.task = t
	s := w.posted.Add(1)
	if w.parked.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return s
}

// wait returns when the task with ticket s is done.
func (w *worker) wait(s uint64) {
	for polls := 0; w.finished.Load() < s; polls++ {
		if polls > busyPolls {
			runtime.Gosched()
		}
	}
}

func (w *worker) stop() {
	w.quit.Store(true)
	w.post(rowTask{})
}
