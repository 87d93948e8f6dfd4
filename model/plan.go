package model

import (
	"fmt"
	"sort"
)

// Buffer is one block of arena memory and the ops during which it is live:
// written by op First (or earlier, for the input) and last read by op Last.
type Buffer struct {
	Name        string
	Size        int
	First, Last int
}

// Plan places buffers in one arena.
type Plan struct {
	Offsets    []int // per buffer
	Size       int   // arena bytes
	LowerBound int   // largest sum of simultaneously live (aligned) buffers over all ops
}

// PlanArena assigns offsets greedily by size, as TFLite Micro's greedy
// planner does: biggest first, each at the lowest offset that overlaps no
// already placed buffer whose lifetime intersects its own. Offsets and sizes
// are rounded up to align (a power of two).
func PlanArena(bufs []Buffer, align int) (Plan, error) {
	if align < 1 || align&(align-1) != 0 {
		return Plan{}, fmt.Errorf("arena alignment %d is not a power of two", align)
	}
	for i, b := range bufs {
		if b.Size < 0 || b.First > b.Last {
			return Plan{}, fmt.Errorf("buffer %d (%s): size %d, live %d..%d", i, b.Name, b.Size, b.First, b.Last)
		}
	}
	up := func(n int) int { return (n + align - 1) &^ (align - 1) }
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ba, bb := bufs[order[a]], bufs[order[b]]
		if ba.Size != bb.Size {
			return ba.Size > bb.Size
		}
		return ba.First < bb.First
	})
	p := Plan{Offsets: make([]int, len(bufs))}
	type span struct{ lo, hi int }
	var placed []int
	var conflicts []span
	for _, i := range order {
		b := bufs[i]
		size := up(b.Size)
		conflicts = conflicts[:0]
		for _, j := range placed {
			o := bufs[j]
			if o.First <= b.Last && b.First <= o.Last {
				conflicts = append(conflicts, span{p.Offsets[j], p.Offsets[j] + up(o.Size)})
			}
		}
		sort.Slice(conflicts, func(a, c int) bool { return conflicts[a].lo < conflicts[c].lo })
		off := 0
		for _, c := range conflicts {
			if off+size <= c.lo {
				break // fits in the gap before c
			}
			off = max(off, c.hi)
		}
		p.Offsets[i] = off
		p.Size = max(p.Size, off+size)
		placed = append(placed, i)
	}
	last := -1
	for _, b := range bufs {
		last = max(last, b.Last)
	}
	for t := 0; t <= last; t++ {
		live := 0
		for _, b := range bufs {
			if b.First <= t && t <= b.Last {
				live += up(b.Size)
			}
		}
		p.LowerBound = max(p.LowerBound, live)
	}
	return p, nil
}

// Check verifies that no two buffers live at the same time overlap.
func (p Plan) Check(bufs []Buffer) error {
	for i, a := range bufs {
		if p.Offsets[i] < 0 || p.Offsets[i]+a.Size > p.Size {
			return fmt.Errorf("buffer %s at %d+%d outside the %d-byte arena", a.Name, p.Offsets[i], a.Size, p.Size)
		}
		for j := i + 1; j < len(bufs); j++ {
			b := bufs[j]
			if a.First <= b.Last && b.First <= a.Last && a.Size > 0 && b.Size > 0 &&
				p.Offsets[i] < p.Offsets[j]+b.Size && p.Offsets[j] < p.Offsets[i]+a.Size {
				return fmt.Errorf("buffers %s and %s are live together and overlap", a.Name, b.Name)
			}
		}
	}
	return nil
}
