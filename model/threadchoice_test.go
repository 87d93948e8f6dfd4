package model

import (
	"testing"
	"time"
)

// threadChoice runs the faster mode and the other one every 16th frame:
// with one thread measuring faster (a busy machine) most frames run on
// one; when that changes, it follows within a few explorations.
func TestThreadChoice(t *testing.T) {
	var c threadChoice
	cost := func(one bool, slowMulti bool) time.Duration {
		switch {
		case one:
			return 10 * time.Millisecond
		case slowMulti:
			return 14 * time.Millisecond
		}
		return 6 * time.Millisecond
	}
	run := func(frames int, slowMulti bool) (single int) {
		for range frames {
			c.begin()
			if c.one {
				single++
			}
			c.end(cost(c.one, slowMulti))
		}
		return single
	}
	if s := run(160, false); s > 160/threadExplore+1 {
		t.Errorf("quiet machine: %d of 160 frames on one thread, want about 1 in %d", s, threadExplore)
	}
	run(64, true) // the machine gets busy: multi-thread frames now cost more
	if s := run(160, true); s < 160-160/threadExplore-1 {
		t.Errorf("busy machine: %d of 160 frames on one thread, want all but about 1 in %d", s, threadExplore)
	}
	run(64, false) // quiet again
	if s := run(160, false); s > 160/threadExplore+1 {
		t.Errorf("quiet again: %d of 160 frames on one thread", s)
	}
	if frames, single := c.frames, c.single; frames != 608 || single == 0 {
		t.Errorf("counters: %d frames, %d single", frames, single)
	}
}
