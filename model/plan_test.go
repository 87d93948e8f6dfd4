package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestPlanArenaRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		var bufs []Buffer
		for i := 0; i < 1+rng.IntN(30); i++ {
			first := rng.IntN(20)
			bufs = append(bufs, Buffer{Name: fmt.Sprint("b", i), Size: rng.IntN(5000), First: first, Last: first + rng.IntN(5)})
		}
		align := 1 << rng.IntN(7)
		p, err := PlanArena(bufs, align)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Check(bufs); err != nil {
			t.Fatal(err)
		}
		if p.Size < p.LowerBound {
			t.Fatalf("arena %d below the lower bound %d: the bound is wrong", p.Size, p.LowerBound)
		}
		for i, off := range p.Offsets {
			if off%align != 0 {
				t.Fatalf("buffer %d at %d, not %d-aligned", i, off, align)
			}
		}
	}
}

func TestPlanArenaChain(t *testing.T) {
	// A chain of ops, each reading its predecessor: two buffers at a time,
	// so the greedy planner reaches the bound exactly.
	bufs := []Buffer{{"a", 100, 0, 1}, {"b", 300, 1, 2}, {"c", 200, 2, 3}, {"d", 50, 3, 4}}
	p, err := PlanArena(bufs, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.LowerBound != 500 || p.Size != 500 {
		t.Errorf("arena %d, bound %d; want 500, 500", p.Size, p.LowerBound)
	}
	if _, err := PlanArena([]Buffer{{"x", 1, 3, 2}}, 1); err == nil {
		t.Error("a buffer that dies before it is born was accepted")
	}
	if _, err := PlanArena(nil, 3); err == nil {
		t.Error("alignment 3 accepted")
	}
}
