package model

import (
	"runtime"
	"sync/atomic"
)

// pool shares the units of work of one op at a time between the goroutine
// that calls Run and t-1 workers. An op's units are cut into more chunks
// than threads (chunksPerThread each), and every goroutine, the caller
// included, claims chunks from one atomic counter until none is left. So
// the caller never waits for a worker that has not started: when another
// program (or a CPU-bound goroutine: a camera reader) holds the worker's
// core, the caller does the chunks itself, and waits only for chunks a
// worker has already begun. With a static split (one contiguous half per
// thread) 2 threads ran no faster than 1 beside one busy competitor.
//
// The ops of a frame follow one another within microseconds, so a worker
// first spins on the job counter and parks on a channel only when no work
// has come for a while (between frames). The caller, once no chunk is left
// to claim, spins a little for the chunks in progress, then yields its P
// (a worker that Go's scheduler put aside may then run on it), then parks
// until the worker that finishes the last chunk hands it a token.
type pool struct {
	// state is gen<<40 | n<<20 | next: the job's generation, its number of
	// chunks and the next chunk to claim. A claim is a CAS of the whole
	// word, so a worker that read an older job cannot claim a chunk of a
	// newer one, and one that succeeds read the job's fields (op, kind,
	// units) before the job could end (the chunk it claimed was open).
	state   atomic.Uint64
	done    atomic.Uint64 // chunks of the current job finished
	op      atomic.Int64
	kind    atomic.Int64
	units   atomic.Int64
	waiting atomic.Bool   // the caller sleeps on doneCh
	doneCh  chan struct{} // capacity 1: a token for the parked caller
	quit    atomic.Bool
	workers []*worker
	run     func(rowTask)
}

// worker is one pool goroutine's parking place.
type worker struct {
	parked atomic.Bool   // the worker sleeps on wake
	wake   chan struct{} // capacity 1: a token for a parked worker
}

const (
	chunkBits = 20
	chunkMask = 1<<chunkBits - 1
	genShift  = 2 * chunkBits
	// chunksPerThread: chunks per thread and op, when the op has that many
	// units. More chunks balance better beside a busy competitor and cost a
	// little per chunk (a call, cut edges) on a quiet machine.
	chunksPerThread = 4
)

// Polls: a worker polls for a job spinPolls times before it parks (a few
// µs); the first busyPolls of those, and of the caller's waitPolls for the
// chunks in progress, are pure spins, the rest yield.
const (
	spinPolls = 2000
	busyPolls = 200
	waitPolls = 4000
)

func newPool(threads int, run func(rowTask)) *pool {
	p := &pool{doneCh: make(chan struct{}, 1), run: run, workers: make([]*worker, threads-1)}
	for i := range p.workers {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers[i] = w
		go p.loop(w)
	}
	return p
}

// do runs units [0, units) of op's work of the given kind in n chunks
// (1 <= n <= units) on the caller and the workers, and returns when all
// are done.
func (p *pool) do(op, kind, units, n int) {
	p.op.Store(int64(op))
	p.kind.Store(int64(kind))
	p.units.Store(int64(units))
	p.done.Store(0)
	g := p.state.Load()>>genShift + 1
	p.state.Store(g<<genShift | uint64(n)<<chunkBits)
	p.wakeAll()
	p.claim()
	for polls := 0; p.done.Load() < uint64(n); polls++ {
		if polls < waitPolls {
			if polls > busyPolls {
				runtime.Gosched()
			}
			continue
		}
		// Announce, then look again (a finisher adds to done before it
		// loads waiting, so one of us sees the other). A stale token
		// only costs one more loop.
		p.waiting.Store(true)
		if p.done.Load() < uint64(n) {
			<-p.doneCh
		}
		p.waiting.Store(false)
	}
}

func (p *pool) wakeAll() {
	for _, w := range p.workers {
		if w.parked.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// claim runs open chunks of the current job until none is left.
func (p *pool) claim() {
	for {
		s := p.state.Load()
		n, i := s>>chunkBits&chunkMask, s&chunkMask
		if i >= n {
			return
		}
		op, kind, units := int(p.op.Load()), int(p.kind.Load()), p.units.Load()
		if !p.state.CompareAndSwap(s, s+1) {
			continue
		}
		y0, y1 := int(int64(i)*units/int64(n)), int(int64(i+1)*units/int64(n))
		p.run(rowTask{op, y0, y1, kind})
		if p.done.Add(1) == n && p.waiting.Load() {
			select {
			case p.doneCh <- struct{}{}:
			default:
			}
		}
	}
}

func (p *pool) loop(w *worker) {
	var seen uint64
	for {
		g := p.state.Load() >> genShift
		for polls := 0; g == seen && polls < spinPolls; polls++ {
			if polls > busyPolls {
				runtime.Gosched()
			}
			g = p.state.Load() >> genShift
		}
		if g == seen {
			// Announce the park, then look once more so a job that raced
			// with the announcement is not missed; a stale token only
			// costs one extra loop.
			w.parked.Store(true)
			if g = p.state.Load() >> genShift; g == seen {
				<-w.wake
				w.parked.Store(false)
				continue
			}
			w.parked.Store(false)
		}
		seen = g
		if p.quit.Load() {
			return
		}
		p.claim()
	}
}

// stop ends the workers (a job of no chunks wakes them).
func (p *pool) stop() {
	p.quit.Store(true)
	g := p.state.Load()>>genShift + 1
	p.state.Store(g << genShift)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
