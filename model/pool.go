package model

import (
	"runtime"
	"sync/atomic"
)

// pool shares the units of work of one op at a time between the goroutine
// that calls Run (thread 0) and t-1 workers (threads 1..t-1).
//
// An op's units are cut into chunks (chunksPerThread per thread), and the
// chunks into t home ranges, one per thread, in order: thread r's home is
// the r-th t-th of the op's rows or pixels, the same part of the map in
// every op. Each thread runs its home range front to back; a thread whose
// home is done takes chunks from the back of the others'. So:
//
//   - on a quiet machine every thread works on the part of the map whose
//     input the previous op left in its own core's cache. With a first-come
//     split (one counter over all chunks) the rows a thread ran changed
//     from op to op, and the data moved between cores every op: on a
//     2-vCPU EPYC whose cores pass a cache line in ~200 ns each way, 2
//     threads then ran no faster than 1 (each thread's chunks ran at half
//     speed);
//   - beside a busy competitor the caller never waits for a worker that
//     has not started: it takes the worker's chunks from the back, and
//     waits only for chunks a worker has already begun. With a static split
//     (one contiguous half per thread, no taking) 2 threads ran no faster
//     than 1 beside one busy program.
//
// The ops of a frame follow one another within microseconds, so a worker
// first spins on the job generation and parks on a channel only when no
// work has come for a while (between frames). The caller, once no chunk is
// left to claim, spins a little for the chunks in progress, then yields
// its P (a worker that Go's scheduler put aside may then run on it), then
// parks until the worker that finishes the last chunk hands it a token.
type pool struct {
	// gen is the current job's generation; a worker that sees it change
	// starts claiming.
	gen atomic.Uint64
	_   [56]byte
	// ranges[r] is thread r's home range of the current job (homeRange).
	ranges  []homeRange
	done    atomic.Uint64 // chunks of the current job finished
	op      atomic.Int64
	kind    atomic.Int64
	units   atomic.Int64
	chunks  atomic.Int64
	waiting atomic.Bool   // the caller sleeps on doneCh
	doneCh  chan struct{} // capacity 1: a token for the parked caller
	quit    atomic.Bool
	workers []*worker
	run     func(rowTask)
}

// homeRange is gen<<40 | lo<<20 | hi: the open chunks [lo, hi) of one
// thread's home range and the job they belong to, in one word on its own
// cache line. The owner claims lo (CAS lo+1), others hi (CAS hi-1); a
// claim is a CAS of the whole word, so a thread that read an older job
// cannot claim a chunk of a newer one, and one that succeeds read the
// job's fields (op, kind, units) before the job could end (the chunk it
// claimed was open).
type homeRange struct {
	w atomic.Uint64
	_ [56]byte
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
	genMask   = 1<<(64-genShift) - 1 // a range word keeps the generation's low bits
	// chunksPerThread: chunks per thread and op, when the op has that many
	// units; chunksPerThreadRows for the convolutions with a spatial window
	// (depthwise, stem), whose every chunk converts K-1 rows of overlap
	// again. More chunks let the caller take more of a busy worker's share;
	// each costs a call and cut edges, and a GEMM's cut pixels end in a
	// short register tile. Alone on a 2-vCPU EPYC, each op of MixNet-S's
	// first stages in turn on 2 threads (best of 7 x 50 runs): pointwise
	// 1-3 us and depthwise 5-15 us slower at 4 chunks per thread than at 1.
	// Interleaved in one process (Zen 4, 300 rounds), 1 chunk per thread
	// against 2: 7x7 pointwise 12-13% faster (each call streams all the
	// weights and ends in a short tile), 14x14 ~5%, larger maps within 1%;
	// the 2-thread frame 3% faster. A frame beside a busy program falls back to
	// one thread (threadChoice) where the split cannot help.
	chunksPerThread     = 1
	chunksPerThreadRows = 1
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
	p := &pool{doneCh: make(chan struct{}, 1), run: run,
		ranges: make([]homeRange, threads), workers: make([]*worker, threads-1)}
	for i := range p.workers {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers[i] = w
		go p.loop(w, i+1)
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
	p.chunks.Store(int64(n))
	p.done.Store(0)
	g := p.gen.Load() + 1
	t := uint64(len(p.ranges))
	for r := range p.ranges {
		lo, hi := uint64(r)*uint64(n)/t, uint64(r+1)*uint64(n)/t
		p.ranges[r].w.Store(g<<genShift | lo<<chunkBits | hi)
	}
	p.gen.Store(g)
	p.wakeAll()
	p.claim(g, 0)
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

// claim runs chunks of job g as thread self until none is open: its home
// range from the front, then the other ranges from the back, the next
// thread's first.
func (p *pool) claim(g uint64, self int) {
	t := len(p.ranges)
	for k := 0; k < t; k++ {
		r := (self + k) % t
		for {
			s := p.ranges[r].w.Load()
			lo, hi := s>>chunkBits&chunkMask, s&chunkMask
			if s>>genShift != g&genMask || lo >= hi {
				break
			}
			op, kind, units, n := int(p.op.Load()), int(p.kind.Load()), p.units.Load(), p.chunks.Load()
			i, next := lo, s+1<<chunkBits
			if k > 0 {
				i, next = hi-1, s-1
			}
			if !p.ranges[r].w.CompareAndSwap(s, next) {
				continue
			}
			y0, y1 := int(int64(i)*units/n), int(int64(i+1)*units/n)
			p.run(rowTask{op, y0, y1, kind, int(i)})
			if p.done.Add(1) == uint64(n) && p.waiting.Load() {
				select {
				case p.doneCh <- struct{}{}:
				default:
				}
			}
		}
	}
}

func (p *pool) loop(w *worker, self int) {
	var seen uint64
	for {
		g := p.gen.Load()
		for polls := 0; g == seen && polls < spinPolls; polls++ {
			if polls > busyPolls {
				runtime.Gosched()
			}
			g = p.gen.Load()
		}
		if g == seen {
			// Announce the park, then look once more so a job that raced
			// with the announcement is not missed; a stale token only
			// costs one extra loop.
			w.parked.Store(true)
			if g = p.gen.Load(); g == seen {
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
		p.claim(g, self)
	}
}

// stop ends the workers (a job of no chunks wakes them).
func (p *pool) stop() {
	p.quit.Store(true)
	p.gen.Add(1)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
