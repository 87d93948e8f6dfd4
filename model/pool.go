package model

import (
	"runtime"
	"sync/atomic"
)

// worker runs row tasks posted by the goroutine that calls Run. The ops of
// a frame follow one another within microseconds, so a worker first spins
// on its task counter (answering in well under a microsecond) and parks on
// a channel only when no work has come for a while (between frames).
//
// The goroutine that waits for a task does the same: it spins a little,
// then parks until the worker hands it a token. Spinning alone is fastest
// on an idle machine but collapses when another CPU-bound goroutine (a
// camera reader, a preprocessing stage) competes for the Ps: the goroutine
// that would finish the work may not be scheduled for a whole preemption
// slice (10 ms) per op. Parking gives the P away, and the wake-up hands it
// straight back to the woken goroutine.
type worker struct {
	posted   atomic.Uint64
	finished atomic.Uint64
	parked   atomic.Bool // the worker sleeps on wake
	waiting  atomic.Bool // the poster sleeps on done
	quit     atomic.Bool
	task     rowTask       // written before posted is bumped, read after it is seen
	wake     chan struct{} // capacity 1: a token for a parked worker
	done     chan struct{} // capacity 1: a token for a parked waiter
}

// spinPolls is how many times a worker polls for work before it parks,
// a few µs; pure busy polls come before the polls that yield.
const (
	spinPolls = 2000
	busyPolls = 200
	waitPolls = 4000 // the waiter's spin before it parks, tens of µs
)

func newWorker() *worker { return &worker{wake: make(chan struct{}, 1), done: make(chan struct{}, 1)} }

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
		if w.waiting.Load() {
			select {
			case w.done <- struct{}{}:
			default:
			}
		}
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
		if polls < waitPolls {
			if polls > busyPolls {
				runtime.Gosched()
			}
			continue
		}
		// Announce, then look again (the worker stores finished before it
		// loads waiting, so one of us sees the other). A token may be
		// stale, from an earlier wait that saw finished first: the loop
		// re-checks and parks again.
		w.waiting.Store(true)
		if w.finished.Load() < s {
			<-w.done
		}
		w.waiting.Store(false)
	}
}

func (w *worker) stop() {
	w.quit.Store(true)
	w.post(rowTask{})
}
