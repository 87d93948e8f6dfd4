package model

import (
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestPoolRunsEveryChunkOnce: every unit of every job runs exactly once,
// for thread counts, chunk counts and unit counts that do not divide.
func TestPoolRunsEveryChunkOnce(t *testing.T) {
	for _, threads := range []int{2, 3, 4, jobCuts + 2} { // the last: more threads than the job line has cuts for
		var hits []atomic.Int32
		p := newPool(threads, func(task rowTask) {
			for u := task.y0; u < task.y1; u++ {
				hits[u].Add(1)
			}
		})
		for _, units := range []int{1, 2, 3, 7, 49, 112, 12544} {
			for _, n := range []int{1, 2, 3, threads, threads * chunksPerThread} {
				n = min(n, units)
				hits = make([]atomic.Int32, units)
				for rep := 0; rep < 20; rep++ {
					p.do(0, 0, units, n)
				}
				for u := range hits {
					if h := hits[u].Load(); h != 20 {
						t.Fatalf("threads %d, units %d, chunks %d: unit %d ran %d times in 20 jobs, want 20", threads, units, n, u, h)
					}
				}
			}
		}
		p.stop()
	}
}

// TestPoolHomeRangeOrder: a thread runs its own home range front to back,
// then takes the other threads' chunks from the back, the next thread's
// first (here no worker runs: the caller does the whole job alone, as
// when the workers' cores are busy elsewhere).
func TestPoolHomeRangeOrder(t *testing.T) {
	var order []int
	p := &pool{job: new(jobLine), done: new(doneLine), ranges: make([]homeRange, 3),
		run: func(task rowTask) { order = append(order, task.y0) }}
	n := 9 // chunks 0-2 are thread 0's, 3-5 thread 1's, 6-8 thread 2's
	for _, self := range []int{0, 1, 2} {
		order = order[:0]
		g := p.job.gen.Add(1)
		p.job.desc.Store(uint64(n))
		p.job.units.Store(int64(n))
		for r := range p.ranges {
			lo, hi := uint64(r*n/3), uint64((r+1)*n/3)
			p.ranges[r].w.Store(g<<genShift | lo<<chunkBits | hi)
		}
		p.claim(g, self)
		var want []int
		for k := range 3 {
			r := (self + k) % 3
			for c := 0; c < 3; c++ {
				if k == 0 {
					want = append(want, 3*r+c)
				} else {
					want = append(want, 3*r+2-c)
				}
			}
		}
		if !slices.Equal(order, want) {
			t.Errorf("thread %d claimed chunks in the order %v, want %v", self, order, want)
		}
	}
}

// TestPoolGenerationWraps: a range word keeps only the generation's low
// bits; jobs past the wrap still run (a frame is ~100 jobs, so a stream
// passes 2^24 jobs within hours).
func TestPoolGenerationWraps(t *testing.T) {
	var ran atomic.Int64
	p := newPool(2, func(task rowTask) { ran.Add(int64(task.y1 - task.y0)) })
	defer p.stop()
	p.job.gen.Store(genMask - 3)
	for range 8 {
		p.do(0, 0, 10, 4)
	}
	if got := ran.Load(); got != 80 {
		t.Fatalf("ran %d units across the generation wrap, want 80", got)
	}
}

// setCuts splits units in proportion to the threads' weights, every chunk
// at least one unit, the chunks in order and covering all units.
func TestPoolCutsFollowWeights(t *testing.T) {
	for _, tc := range []struct {
		weights []float64
		units   int64
		want    []int64
	}{
		{[]float64{1, 1}, 28, []int64{0, 14, 28}},
		{[]float64{1.5, 0.5}, 28, []int64{0, 21, 28}},
		{[]float64{1, 3}, 4, []int64{0, 1, 4}},
		{[]float64{4, 1}, 2, []int64{0, 1, 2}}, // each thread keeps one unit
		{[]float64{1, 1, 2}, 3, []int64{0, 1, 2, 3}},
		{[]float64{1, 1, 1, 1}, 49, []int64{0, 12, 25, 37, 49}},
		{[]float64{0.5, 1, 1, 1.5}, 400, []int64{0, 50, 150, 250, 400}},
	} {
		p := newPool(len(tc.weights), func(rowTask) {})
		copy(p.weight, tc.weights)
		p.setCuts(tc.units)
		got := make([]int64, len(tc.weights)+1)
		for i := range got {
			got[i] = p.cut(int64(i), tc.units)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("weights %v, %d units: cuts %v, want %v", tc.weights, tc.units, got, tc.want)
		}
		p.stop()
	}
}

// rebalance moves the weights towards the threads' measured speeds, only
// from jobs in which every thread timed its own home chunk long enough,
// and never past balanceMaxSkew.
func TestPoolRebalance(t *testing.T) {
	p := newPool(2, func(rowTask) {})
	defer p.stop()
	job := func(g uint64, ns0, ns1 int64) {
		p.done.own[0].Store(ownChunk(g, 100, ns0))
		p.done.own[1].Store(ownChunk(g, 100, ns1))
		p.rebalance(g)
	}
	// Thread 1 at 60% of thread 0's speed: the weights go to 1.25 / 0.75.
	for g := uint64(1); g <= 200; g++ {
		job(g, 60000, 100000)
	}
	if w := p.weight; math.Abs(w[0]-1.25) > 0.01 || math.Abs(w[1]-0.75) > 0.01 {
		t.Fatalf("weights %v after 200 jobs at speeds 1 : 0.6, want 1.25 / 0.75", w)
	}
	// A job whose chunks are too short, or whose home chunk one thread did
	// not run (stolen: its record is of an older job), changes nothing.
	before := slices.Clone(p.weight)
	job(201, 1000, 100000)
	p.done.own[0].Store(ownChunk(202, 100, 100000))
	p.rebalance(202)
	if !slices.Equal(p.weight, before) {
		t.Fatalf("weights moved from %v to %v on jobs that should not count", before, p.weight)
	}
	// Equal speeds bring them back.
	for g := uint64(300); g <= 500; g++ {
		job(g, 100000, 100000)
	}
	if w := p.weight; math.Abs(w[0]-1) > 0.01 || math.Abs(w[1]-1) > 0.01 {
		t.Fatalf("weights %v after 200 jobs at equal speeds, want 1 / 1", w)
	}
	// A thread that all but stops is held at 1/balanceMaxSkew of the other.
	for g := uint64(600); g <= 900; g++ {
		job(g, 10000, 10000000)
	}
	if w := p.weight; w[0] > balanceMaxSkew*w[1]*1.0001 {
		t.Fatalf("weights %v: skew past %d", w, balanceMaxSkew)
	}
}

// A job with one chunk per thread runs the cuts of the weights it starts
// with (and every unit once), whoever runs which chunk.
func TestPoolJobFollowsWeights(t *testing.T) {
	var hits []atomic.Int32
	var sizes [2]atomic.Int64
	p := newPool(2, func(task rowTask) {
		sizes[task.chunk].Store(int64(task.y1 - task.y0))
		for u := task.y0; u < task.y1; u++ {
			hits[u].Add(1)
		}
	})
	defer p.stop()
	for _, w := range [][2]float64{{1, 1}, {3, 1}, {1, 3}, {1.5, 0.5}} {
		p.weight[0], p.weight[1] = w[0], w[1]
		hits = make([]atomic.Int32, 200)
		p.do(0, 0, 200, 2)
		want0 := int64(200 * w[0] / (w[0] + w[1]))
		if a, b := sizes[0].Load(), sizes[1].Load(); a != want0 || b != 200-want0 {
			t.Errorf("weights %v: chunks of %d and %d units, want %d and %d", w, a, b, want0, 200-want0)
		}
		for u := range hits {
			if h := hits[u].Load(); h != 1 {
				t.Fatalf("weights %v: unit %d ran %d times", w, u, h)
			}
		}
	}
}

// With equal set (Int8Net.SetEqualSplit) every job is cut evenly, however
// the threads' chunks time.
func TestPoolEqualSplit(t *testing.T) {
	var sizes [2]atomic.Int64
	p := newPool(2, func(task rowTask) {
		sizes[task.chunk].Store(int64(task.y1 - task.y0))
		if task.chunk == 1 {
			time.Sleep(50 * time.Microsecond)
		}
	})
	defer p.stop()
	p.equal = true
	for range 200 {
		p.do(0, 0, 100, 2)
		if a, b := sizes[0].Load(), sizes[1].Load(); a != 50 || b != 50 {
			t.Fatalf("equal split: chunks of %d and %d units, want 50 and 50", a, b)
		}
	}
	if p.weight[0] != 1 || p.weight[1] != 1 {
		t.Errorf("weights %v moved with equal split", p.weight)
	}
}

// The job and done lines are one cache line each (pool.go, lines): 64
// bytes, allocated alone, so on a 64-byte boundary.
func TestPoolLines(t *testing.T) {
	if s := unsafe.Sizeof(jobLine{}); s != 64 {
		t.Errorf("jobLine is %d bytes, want 64", s)
	}
	if s := unsafe.Sizeof(doneLine{}); s != 64 {
		t.Errorf("doneLine is %d bytes, want 64", s)
	}
	for range 20 {
		p := newPool(2, func(rowTask) {})
		if a, b := uintptr(unsafe.Pointer(p.job))%64, uintptr(unsafe.Pointer(p.done))%64; a != 0 || b != 0 {
			t.Errorf("job line at %d, done line at %d bytes past a 64-byte boundary", a, b)
		}
		p.stop()
	}
}

// ownChunk keeps the job's low 16 bits, the units and the nanoseconds,
// clamping what does not fit.
func TestPoolOwnChunk(t *testing.T) {
	for _, tc := range []struct {
		g                 uint64
		units, ns         int64
		wantUnits, wantNS int64
	}{
		{1, 100, 5000, 100, 5000},
		{0x12345, 12544, 123456, 12544, 123456},
		{7, 1 << 21, 1 << 30, 1<<20 - 1, 1<<28 - 1},
		{9, 3, -5, 3, 0},
	} {
		g16, u, ns := ownOf(ownChunk(tc.g, tc.units, tc.ns))
		if g16 != tc.g&0xffff || u != tc.wantUnits || ns != tc.wantNS {
			t.Errorf("ownChunk(%#x, %d, %d) reads back %#x, %d, %d; want %#x, %d, %d",
				tc.g, tc.units, tc.ns, g16, u, ns, tc.g&0xffff, tc.wantUnits, tc.wantNS)
		}
	}
}

// BenchmarkPoolHandoff: one job on 2 threads, with no work and with ~2 us
// of work per chunk: the cost of handing a job to a worker and back.
func BenchmarkPoolHandoff(b *testing.B) {
	for _, c := range []struct {
		name string
		work int
	}{{"empty", 0}, {"2us", 2000}} {
		b.Run(c.name, func(b *testing.B) {
			var sink [2][8]uint64 // a cache line per chunk
			p := newPool(2, func(t rowTask) {
				x := sink[t.chunk][0]
				for range c.work {
					x = x*6364136223846793005 + 1442695040888963407
				}
				sink[t.chunk][0] = x
			})
			defer p.stop()
			for b.Loop() {
				p.do(0, 0, 2, 2)
			}
		})
	}
}
