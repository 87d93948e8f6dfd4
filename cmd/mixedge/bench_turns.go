package main

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/mixedge/mixedge/model"
)

// A thread sweep can run in turns (bench --batch N): N frames on one
// thread count, then N on the next, round after round, each count on its
// own network, until every count has its runs. A shared VM changes speed
// for seconds at a time (its neighbours' load, where the host runs its
// vCPUs); run one count after the other and such a spell falls on one of
// them only, which moved the 2-thread / 1-thread ratio of one bench by 0.5
// either way on a 2-vCPU EPYC. In turns, a spell falls on every count
// alike. Turns have their own bias: on that VM a 2-thread network's frames
// after a turn of the other network ran 5% slower at first, settling
// after ~20 frames (median by position in 60 turns of 30: 2.38 ms for the
// first, ~2.01 for the next ten, ~1.93 from the 20th), so turns shorter
// than ~100 frames understate what more threads give; hence not the
// default.
//
// --check-cores adds, after every batch of the largest count T, a probe of
// how many cores the machine gives right then: T independent one-thread
// networks run side by side, against one of them alone. On that VM the
// probe found spells of seconds in which two such networks each ran at
// 0.55x their speed alone (the two vCPUs on one physical core, by all
// appearances), so no split of one frame could gain more than ~1.15x there;
// outside them, 0.95-1.0x.

// coresCheck is what --check-cores found for the largest thread count.
type coresCheck struct {
	// Capacity is T times the median side-by-side speed relative to alone:
	// T when the T networks each ran as fast as one alone.
	Capacity float64 `json:"capacity"`
	Batches  int     `json:"batches"`
	// Full: batches whose probe found at least 0.9 T cores; FullMedianMS
	// the median frame time over their frames.
	Full         int     `json:"full_batches"`
	FullMedianMS float64 `json:"full_median_ms,omitempty"`
	// Speedup is the median over rounds of the 1-thread batch median over
	// the T-thread one (with 1 in the sweep); FullSpeedup over the full
	// batches only.
	Speedup     float64 `json:"speedup,omitempty"`
	FullSpeedup float64 `json:"full_speedup,omitempty"`
}

// turn is one batch of a count: its frames and the probe after it.
type turn struct {
	frames   []float64
	capacity float64 // 0: not probed
}

// benchTurns times nets[i] (running threads[i]) in turns of batch frames
// until each has runs; probe, when not nil, holds max(threads) one-thread
// networks for the cores check.
func benchTurns(nets []*model.Int8Net, threads []int, runs, warmup, batch int, probe []*model.Int8Net) []benchResult {
	for _, n := range nets {
		n.OnOp = nil
		for range warmup {
			n.RunQuantized()
		}
	}
	for _, p := range probe {
		p.RunQuantized()
	}
	runtime.GC()
	turns := make([][]turn, len(nets))
	allocs := make([]uint64, len(nets))
	allocB := make([]uint64, len(nets))
	gcs := make([]uint32, len(nets))
	single := make([][2]uint64, len(nets)) // frames, single-thread frames
	largest := slices.Index(threads, slices.Max(threads))
	var ms0, ms1 runtime.MemStats
	for done := 0; done < runs; done += batch {
		m := min(batch, runs-done)
		for i, n := range nets {
			n.RunQuantized() // the first frame after the other networks pays for the switch
			tr := turn{frames: make([]float64, m)}
			runtime.ReadMemStats(&ms0)
			f0, s0 := n.ThreadFrames()
			for j := range m {
				start := time.Now()
				n.RunQuantized()
				tr.frames[j] = time.Since(start).Seconds() * 1e3
			}
			f1, s1 := n.ThreadFrames()
			runtime.ReadMemStats(&ms1)
			allocs[i] += ms1.Mallocs - ms0.Mallocs
			allocB[i] += ms1.TotalAlloc - ms0.TotalAlloc
			gcs[i] += ms1.NumGC - ms0.NumGC
			single[i][0] += f1 - f0
			single[i][1] += s1 - s0
			if i == largest && probe != nil {
				tr.capacity = probeCores(probe, max(3, m/4))
			}
			turns[i] = append(turns[i], tr)
		}
	}
	one := slices.Index(threads, 1)
	results := make([]benchResult, len(nets))
	for i, n := range nets {
		var frames []float64
		for _, tr := range turns[i] {
			frames = append(frames, tr.frames...)
		}
		nf := float64(len(frames))
		r := frameResult(n, frames)
		r.Allocs, r.AllocB, r.GC = float64(allocs[i])/nf, float64(allocB[i])/nf, float64(gcs[i])/nf
		if single[i][0] > 0 {
			r.SingleShare = float64(single[i][1]) / float64(single[i][0])
		}
		r.Batches = len(turns[i])
		if i == largest && probe != nil {
			r.Cores = checkCores(turns[i], turns, one, len(probe))
		}
		results[i] = r
	}
	return results
}

// probeCores runs frames frames on probe[0] alone, then on every probe
// network side by side, and returns len(probe) times the side-by-side
// speed relative to alone (medians).
func probeCores(probe []*model.Int8Net, frames int) float64 {
	alone := make([]float64, frames)
	for j := range alone {
		start := time.Now()
		probe[0].RunQuantized()
		alone[j] = time.Since(start).Seconds()
	}
	side := make([][]float64, len(probe))
	var wg sync.WaitGroup
	for i, p := range probe {
		side[i] = make([]float64, frames)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range frames {
				start := time.Now()
				p.RunQuantized()
				side[i][j] = time.Since(start).Seconds()
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(side...)
	return float64(len(probe)) * percentile(alone, 50) / percentile(all, 50)
}

// checkCores sums up the probes after the largest count's batches (mine),
// paired with the one-thread batches of the same rounds (turns[one]).
func checkCores(mine []turn, turns [][]turn, one, t int) *coresCheck {
	c := &coresCheck{Batches: len(mine)}
	var caps, sp, fullSp, fullFrames []float64
	for k, tr := range mine {
		caps = append(caps, tr.capacity)
		full := tr.capacity >= 0.9*float64(t)
		if full {
			c.Full++
			fullFrames = append(fullFrames, tr.frames...)
		}
		if one >= 0 {
			s := percentile(turns[one][k].frames, 50) / percentile(tr.frames, 50)
			sp = append(sp, s)
			if full {
				fullSp = append(fullSp, s)
			}
		}
	}
	c.Capacity = percentile(caps, 50)
	if len(fullFrames) > 0 {
		c.FullMedianMS = percentile(fullFrames, 50)
	}
	if len(sp) > 0 {
		c.Speedup = percentile(sp, 50)
	}
	if len(fullSp) > 0 {
		c.FullSpeedup = percentile(fullSp, 50)
	}
	return c
}
