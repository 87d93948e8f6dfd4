package model

import (
	"testing"
	"time"
)

// threadChoice runs the faster mode and the other one for two frames in
// every 16: with one thread measuring faster (a busy machine) most frames
// run on one; when that changes, it follows within a few explorations.
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
	explored := 2 * 160 / threadExplore
	if s := run(160, false); s > explored+2 {
		t.Errorf("quiet machine: %d of 160 frames on one thread, want about 2 in %d", s, threadExplore)
	}
	run(64, true) // the machine gets busy: multi-thread frames now cost more
	if s := run(160, true); s < 160-explored-2 {
		t.Errorf("busy machine: %d of 160 frames on one thread, want all but about 2 in %d", s, threadExplore)
	}
	run(64, false) // quiet again
	if s := run(160, false); s > explored+2 {
		t.Errorf("quiet again: %d of 160 frames on one thread", s)
	}
	if frames, single := c.frames, c.single; frames != 608 || single == 0 {
		t.Errorf("counters: %d frames, %d single", frames, single)
	}
}

// The first frame after a change of mode pays for the change (a parked
// worker to wake, rows in the other core's cache) and is not timed. After
// a busy spell that made one thread the faster mode, 2-thread frames are
// 1.3x faster in a row again, but the first 2-thread frame after
// one-thread ones is slower than a one-thread frame: the net must go back
// to 2 threads (timing that first frame kept it on one for good).
func TestThreadChoiceIgnoresSwitchFrames(t *testing.T) {
	var c threadChoice
	last := false
	run := func(frames int, busy bool) (single int) {
		for range frames {
			c.begin()
			d := 6 * time.Millisecond // 2 threads, steady
			switch {
			case c.one:
				d = 8 * time.Millisecond
				single++
			case busy:
				d = 14 * time.Millisecond
			}
			if c.frames > 1 && c.one != last {
				d += 5 * time.Millisecond // the switch
			}
			last = c.one
			c.end(d)
		}
		return single
	}
	run(96, true)
	run(64, false)
	if s, max := run(320, false), 2*320/threadExplore+2; s > max {
		t.Errorf("quiet after busy: %d of 320 frames on one thread, want at most %d (the explorations)", s, max)
	}
}

// A rare long 2-thread frame (its worker held by another program for a
// few ms) weighs little: 2-thread frames of 6 ms with one in eight at
// 40 ms (mean 10.25 ms) still beat one-thread frames of 8 ms.
func TestThreadChoiceClipsOutliers(t *testing.T) {
	var c threadChoice
	single, multi := 0, 0
	for range 320 {
		c.begin()
		d := 8 * time.Millisecond
		if c.one {
			single++
		} else {
			multi++
			d = 6 * time.Millisecond
			if multi%8 == 0 {
				d = 40 * time.Millisecond
			}
		}
		c.end(d)
	}
	if max := 2*320/threadExplore + 2; single > max {
		t.Errorf("%d of 320 frames on one thread, want at most %d (the explorations)", single, max)
	}
}

// After a spell of slow 2-thread frames (another program busy for a
// while) made one thread the faster mode, the net is back on 2 threads
// within about one exploration period: the exploring frame's time
// replaces the stale 2-thread estimate (averaged in, it took several).
func TestThreadChoiceRecoversAfterBurst(t *testing.T) {
	var c threadChoice
	burst := 0
	run := func(frames int) (single int) {
		for range frames {
			c.begin()
			d := 8 * time.Millisecond
			if c.one {
				single++
			} else {
				d = 6 * time.Millisecond
				if burst > 0 {
					burst--
					d = 30 * time.Millisecond
				}
			}
			c.end(d)
		}
		return single
	}
	run(64)
	burst = 1000 // 2-thread frames are slow for a while (its explorations too)
	run(64)
	if c.ns[0] >= c.ns[1] {
		t.Fatalf("the slow spell did not make one thread look faster: estimates %v", c.ns)
	}
	burst = 0
	if s := run(64); s > threadExplore+2*64/threadExplore+2 {
		t.Errorf("%d of 64 frames after the burst on one thread, want at most %d", s, threadExplore+2*64/threadExplore+2)
	}
}

// Explorations that confirm the choice come less and less often (up to
// threadExploreMulti frames apart while all threads are faster,
// threadExploreOne while one is); a close call brings them back to every
// threadExplore frames; a competitor that leaves is followed within
// threadExploreOne frames.
func TestThreadChoiceBacksOff(t *testing.T) {
	var c threadChoice
	var oneNS, multiNS time.Duration
	run := func(frames int) int { return runChoice(&c, frames, oneNS, multiNS) }
	oneNS, multiNS = 10*time.Millisecond, 6*time.Millisecond // quiet: all threads 1.67x faster
	run(512)
	if s, max := run(1024), 2*1024/(4*threadExplore)+2; s > max { // 4x rarer at least (threadExploreMulti)
		t.Errorf("quiet: %d of 1024 frames on one thread, want at most %d", s, max)
	}
	multiNS = 14 * time.Millisecond // a competitor: one thread faster
	run(512)
	if s, min := run(1024), 1024-2*1024/(2*threadExplore)-2; s < min { // 2x rarer at least (threadExploreOne)
		t.Errorf("busy: %d of 1024 frames on one thread, want at least %d", s, min)
	}
	multiNS = 6 * time.Millisecond // the competitor leaves
	if s := run(threadExploreOne + 2); s > threadExploreOne+1 {
		t.Errorf("%d of %d frames on one thread after the competitor left", s, threadExploreOne+2)
	}
	if c.one || c.ns[1] > c.ns[0] {
		t.Fatalf("not back on all threads %d frames after the competitor left: estimates %v", threadExploreOne+2, c.ns)
	}
	multiNS = 10*time.Millisecond - 100*time.Microsecond // a close call: explore every threadExplore frames
	run(64)
	if s, min := run(256), 2*256/threadExplore-2; s < min {
		t.Errorf("close call: %d of 256 frames on one thread, want at least %d explorations' worth", s, min)
	}
}

// While one thread is faster and the load probe sees no room for all
// threads, explorations wait for room, at most threadExploreBusy frames
// from the last one at first, then twice as long each time one thread is
// confirmed, up to threadExploreBusyMax; once there is room, they follow
// their schedule (a competitor that leaves is followed within
// threadExploreOne frames). The probe is read only while an exploration
// is due.
func TestThreadChoiceWaitsForRoom(t *testing.T) {
	var c threadChoice
	room, reads := true, 0
	c.room = func() bool { reads++; return room }
	var oneNS, multiNS time.Duration
	run := func(frames int) int { return runChoice(&c, frames, oneNS, multiNS) }
	oneNS, multiNS = 10*time.Millisecond, 6*time.Millisecond // quiet
	run(256)
	if reads != 0 {
		t.Errorf("the probe was read %d times while all threads were faster", reads)
	}
	multiNS, room = 14*time.Millisecond, false // a competitor, always runnable
	run(512)
	if s, min := run(512), 512-2*512/threadExploreBusy-2; s < min {
		t.Errorf("busy, no room: %d of 512 frames on one thread, want at least %d", s, min)
	}
	// blind explorations that confirm one thread come ever more rarely,
	// down to one in threadExploreBusyMax frames
	run(4 * threadExploreBusyMax)
	frames := 4 * threadExploreBusyMax
	s := run(frames)
	if multi, want := frames-s, 2*frames/threadExploreBusyMax; multi < want-2 || multi > want+2 {
		t.Errorf("busy, no room, after many blind explorations: %d of %d frames on all threads, want about %d", multi, frames, want)
	}
	if reads < frames/2 {
		t.Errorf("the probe was read %d times in %d frames with explorations due", reads, frames)
	}
	multiNS, room = 6*time.Millisecond, true // the competitor leaves
	if s := run(threadExploreOne + 2); s > threadExploreOne+1 || c.one || c.ns[1] > c.ns[0] {
		t.Errorf("%d of %d frames on one thread after room appeared; estimates %v", s, threadExploreOne+2, c.ns)
	}
}

// runChoice runs frames of c whose one-thread frames take oneNS and
// all-thread frames multiNS, and returns how many ran on one thread.
func runChoice(c *threadChoice, frames int, oneNS, multiNS time.Duration) (single int) {
	for range frames {
		c.begin()
		d := multiNS
		if c.one {
			single++
			d = oneNS
		}
		c.end(d)
	}
	return single
}
