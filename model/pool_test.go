package model

import (
	"slices"
	"sync/atomic"
	"testing"
)

// TestPoolRunsEveryChunkOnce: every unit of every job runs exactly once,
// for thread counts, chunk counts and unit counts that do not divide.
func TestPoolRunsEveryChunkOnce(t *testing.T) {
	for _, threads := range []int{2, 3, 4} {
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
	p := &pool{ranges: make([]homeRange, 3), run: func(task rowTask) { order = append(order, task.y0) }}
	n := 9 // chunks 0-2 are thread 0's, 3-5 thread 1's, 6-8 thread 2's
	for _, self := range []int{0, 1, 2} {
		order = order[:0]
		g := p.gen.Add(1)
		p.chunks.Store(int64(n))
		p.units.Store(int64(n))
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
	p.gen.Store(genMask - 3)
	for range 8 {
		p.do(0, 0, 10, 4)
	}
	if got := ran.Load(); got != 80 {
		t.Fatalf("ran %d units across the generation wrap, want 80", got)
	}
}
