package model

import (
	"runtime"
	"sync/atomic"
	"time"
)

// pool shares the units of work of one op at a time between the goroutine
// that calls Run (thread 0) and t-1 workers (threads 1..t-1).
//
// An op's units are cut into chunks (chunksPerThread per thread), and the
// chunks into t home ranges, one per thread, in order: thread r's home is
// the r-th t-th of the op's rows or pixels, the same part of the map in
// every op (with one chunk per thread, a share in proportion to the
// threads' measured speeds: balance, below). Each thread runs its home
// range front to back; a thread whose home is done takes chunks from the
// back of the others'. So:
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
	// job is the current job as the workers read it and done what they
	// report back, each on its own cache line (pool.go, lines).
	job     *jobLine
	done    *doneLine
	ranges  []homeRange   // ranges[r] is thread r's home range of the current job (homeRange)
	doneCh  chan struct{} // capacity 1: a token for the parked caller
	quit    atomic.Bool
	workers []*worker
	run     func(rowTask)

	// Speed-weighted split (balance): with one chunk per thread, chunk r
	// covers units [cut(r), cut(r+1)) in proportion to weight[r], each
	// thread's speed relative to the others as its home chunks measured.
	equal  bool      // no weighting (Int8Net.SetEqualSplit); set between jobs
	weight []float64 // the caller's alone
}

// Lines. A job's hand-off is cache lines passed between cores, ~100-200
// ns each way on a 2-vCPU EPYC. With the job's fields, its generation,
// the cuts, the done count and the chunk timings on lines of their own, a
// job of no work took 1.1 us on 2 threads; with everything a worker reads
// to start on one line (jobLine: it reads the generation and has the
// rest) and everything it writes when it finishes on another (doneLine:
// the caller, polling the count, gets the timings with it), 0.33 us
// (BenchmarkPoolHandoff), and the 2-thread MixNet-S frame 1% faster (~80
// jobs a frame).
const jobCuts = 5 // interior cuts jobLine holds: speed weighting for up to 6 threads

// jobLine is the current job: the caller writes desc, units and cuts,
// then gen (a worker that sees gen change starts claiming). 64 bytes,
// allocated alone, so it is one cache line.
type jobLine struct {
	gen   atomic.Uint64
	desc  atomic.Uint64 // op<<32 | kind<<24 | weighted<<chunkBits | chunks
	units atomic.Int64
	// cuts[r-1] is cut(r), the first unit of chunk r, 0 < r < threads, in
	// a weighted job.
	cuts [jobCuts]atomic.Int64
}

// doneLine: the chunks of the current job finished, whether the caller
// sleeps on doneCh, and each thread's home chunk timing of the job it
// last timed (ownChunk). 64 bytes, allocated alone.
type doneLine struct {
	n       atomic.Uint64
	waiting atomic.Bool
	own     [jobCuts + 1]atomic.Uint64
}

// ownChunk packs a thread's timed home chunk of job g: g's low 16 bits,
// its units (20 bits) and its nanoseconds (28 bits, at most ~268 ms).
func ownChunk(g uint64, units, ns int64) uint64 {
	return g&0xffff<<48 | uint64(min(units, 1<<20-1))<<28 | uint64(min(max(ns, 0), 1<<28-1))
}

func ownOf(w uint64) (g16 uint64, units, ns int64) {
	return w >> 48, int64(w >> 28 & (1<<20 - 1)), int64(w & (1<<28 - 1))
}

// homeRange is gen<<40 | lo<<20 | hi: the open chunks [lo, hi) of one
// thread's home range and the job they belong to, in one word on its own
// cache line. The owner claims lo (CAS lo+1), others hi (CAS hi-1); a
// claim is a CAS of the whole word, so a thread that read an older job
// cannot claim a chunk of a newer one, and one that succeeds read the
// job's fields (desc, units, cuts) before the job could end (the chunk
// it claimed was open).
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
	p := &pool{job: new(jobLine), done: new(doneLine), doneCh: make(chan struct{}, 1), run: run,
		ranges: make([]homeRange, threads), workers: make([]*worker, threads-1), weight: make([]float64, threads)}
	for r := range p.weight {
		p.weight[r] = 1
	}
	for i := range p.workers {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers[i] = w
		go p.loop(w, i+1)
	}
	return p
}

// do runs units [0, units) of op's work of the given kind in n chunks
// (1 <= n <= units, n <= chunkMask) on the caller and the workers, and
// returns when all are done.
func (p *pool) do(op, kind, units, n int) {
	j := p.job
	t := uint64(len(p.ranges))
	weighted := !p.equal && uint64(n) == t && units >= n && t <= jobCuts+1
	desc := uint64(op)<<32 | uint64(kind)<<24 | uint64(n)
	if weighted {
		desc |= 1 << chunkBits
		p.setCuts(int64(units))
	}
	j.desc.Store(desc)
	j.units.Store(int64(units))
	p.done.n.Store(0)
	g := j.gen.Load() + 1
	for r := range p.ranges {
		lo, hi := uint64(r)*uint64(n)/t, uint64(r+1)*uint64(n)/t
		p.ranges[r].w.Store(g<<genShift | lo<<chunkBits | hi)
	}
	j.gen.Store(g)
	p.wakeAll()
	p.claim(g, 0)
	d := p.done
	for polls := 0; d.n.Load() < uint64(n); polls++ {
		if polls < waitPolls {
			if polls > busyPolls {
				runtime.Gosched()
			}
			continue
		}
		// Announce, then look again (a finisher adds to done before it
		// loads waiting, so one of us sees the other). A stale token
		// only costs one more loop.
		d.waiting.Store(true)
		if d.n.Load() < uint64(n) {
			<-p.doneCh
		}
		d.waiting.Store(false)
	}
	if weighted {
		p.rebalance(g)
	}
}

// Balance. Threads of one frame do not always run at one speed: on a
// 2-vCPU Zen 4 VM one thread's home rows of the depthwise ops ran 10-20%
// slower than the other's (63 against 73 us on a 28x28x240 map; the cause
// not pinned down), and a Pi's camera pipeline or network takes a share
// of some cores. A thread that finishes its half waits for the slower one,
// so each op is split in proportion to the threads' measured speeds;
// equal speeds keep equal halves. (It cannot help in that VM's spells in
// which both vCPUs share one physical core: both threads then slow down
// alike, bench --check-cores.)
const (
	balanceAlpha   = 1.0 / 16 // weight of one job in a thread's speed estimate
	balanceMinNS   = 3000     // home chunks shorter than this are not timed well enough
	balanceMaxSkew = 4        // the fastest thread's weight is at most this many times the slowest's
)

// setCuts cuts units into one chunk per thread in proportion to the
// weights, each chunk at least one unit, into the job line.
func (p *pool) setCuts(units int64) {
	t := len(p.weight)
	total := 0.0
	for _, w := range p.weight {
		total += w
	}
	acc := 0.0
	prev := int64(0)
	for r := 0; r < t-1; r++ {
		acc += p.weight[r]
		c := int64(float64(units)*acc/total + 0.5)
		c = max(c, prev+1)             // at least one unit
		c = min(c, units-int64(t-1-r)) // and one for each thread after
		p.job.cuts[r].Store(c)
		prev = c
	}
}

// cut is the first unit of chunk r of a weighted job of the given units.
func (p *pool) cut(r, units int64) int64 {
	switch {
	case r <= 0:
		return 0
	case r >= int64(len(p.ranges)):
		return units
	}
	return p.job.cuts[r-1].Load()
}

// rebalance moves each thread's weight towards its speed in job g, when
// every thread ran its own home chunk for long enough to time it.
func (p *pool) rebalance(g uint64) {
	t := len(p.weight)
	var units, ns [jobCuts + 1]int64
	mean := 0.0
	for r := 0; r < t; r++ {
		g16, u, d := ownOf(p.done.own[r].Load())
		if g16 != g&0xffff || d < balanceMinNS || u <= 0 {
			return
		}
		units[r], ns[r] = u, d
		mean += float64(u) / float64(d)
	}
	mean /= float64(t)
	lo, hi := p.weight[0], p.weight[0]
	for r := range p.weight {
		speed := float64(units[r]) / float64(ns[r]) / mean
		p.weight[r] += balanceAlpha * (speed - p.weight[r])
		lo, hi = min(lo, p.weight[r]), max(hi, p.weight[r])
	}
	if hi > balanceMaxSkew*lo {
		for r := range p.weight {
			p.weight[r] = max(p.weight[r], hi/balanceMaxSkew)
		}
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
	j, d := p.job, p.done
	desc, units := j.desc.Load(), j.units.Load()
	op, kind, n := int(desc>>32), int(desc>>24&0xff), int64(desc&chunkMask)
	weighted := desc>>chunkBits&1 == 1
	t := len(p.ranges)
	for k := 0; k < t; k++ {
		if k > 0 && d.n.Load() == uint64(n) {
			return // all done: no need to look at the others' ranges
		}
		r := (self + k) % t
		for {
			s := p.ranges[r].w.Load()
			lo, hi := s>>chunkBits&chunkMask, s&chunkMask
			if s>>genShift != g&genMask || lo >= hi {
				break
			}
			i, next := lo, s+1<<chunkBits
			if k > 0 {
				i, next = hi-1, s-1
			}
			if !p.ranges[r].w.CompareAndSwap(s, next) {
				continue
			}
			y0, y1 := int(int64(i)*units/n), int(int64(i+1)*units/n)
			if weighted {
				y0, y1 = int(p.cut(int64(i), units)), int(p.cut(int64(i)+1, units))
			}
			timed := weighted && k == 0 // its own home chunk
			var t0 time.Time
			if timed {
				t0 = time.Now()
			}
			p.run(rowTask{op, y0, y1, kind, int(i)})
			if timed {
				d.own[self].Store(ownChunk(g, int64(y1-y0), time.Since(t0).Nanoseconds()))
			}
			if d.n.Add(1) == uint64(n) && d.waiting.Load() {
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
		g := p.job.gen.Load()
		for polls := 0; g == seen && polls < spinPolls; polls++ {
			if polls > busyPolls {
				runtime.Gosched()
			}
			g = p.job.gen.Load()
		}
		if g == seen {
			// Announce the park, then look once more so a job that raced
			// with the announcement is not missed; a stale token only
			// costs one extra loop.
			w.parked.Store(true)
			if g = p.job.gen.Load(); g == seen {
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
	p.job.gen.Add(1)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
