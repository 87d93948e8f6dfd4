//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

func randAddParams(rng *rand.Rand) quant.AddParams {
	p := quant.AddParams{ZA: int32(rng.IntN(256) - 128), ZB: int32(rng.IntN(256) - 128),
		MA: rng.Int32N(1 << 15), MB: rng.Int32N(1 << 15), Shift: 1 + rng.Int32N(31), ZOut: int32(rng.IntN(256) - 128)}
	switch rng.IntN(4) {
	case 0:
		p.MA, p.MB, p.Shift = 1<<15-1, 1<<15-1, 1+rng.Int32N(3) // saturating outputs
	case 1:
		p.Shift = 31
	}
	return p
}

// runArmElementwise checks Add, Lookup, ChannelMul and Pool of tab on
// buffers of n elements (pixels x channels for the per-channel ones).
func runArmElementwise(tb testing.TB, rng *rand.Rand, tab *Table, pixels, channels int, inPlace bool) {
	tb.Helper()
	ext := rng.IntN(3) == 0
	q := randQuantOut(rng)
	n := pixels * channels
	name := fmt.Sprintf("%s %dx%d inPlace=%v", tab.Name, pixels, channels, inPlace)

	// Add and Lookup on n contiguous elements.
	a, b := newBuf(rng, n), newBuf(rng, n)
	copy(a.b[guard:guard+n], randInt8s(rng, n, ext))
	copy(b.b[guard:guard+n], randInt8s(rng, n, ext))
	p := randAddParams(rng)
	got := newBuf(rng, n)
	want := got.clone()
	aBefore, bBefore := a.clone(), b.clone()
	AddQS8(want[guard:guard+n], a.view(0, n), b.view(0, n), p, q.qmin, q.qmax)
	if inPlace {
		copy(got.b[guard:guard+n], a.b[guard:guard+n])
		tab.Add(got.view(0, n), got.view(0, n), b.view(0, n), p, q.qmin, q.qmax)
	} else {
		tab.Add(got.view(0, n), a.view(0, n), b.view(0, n), p, q.qmin, q.qmax)
	}
	checkBuf(tb, name+" add dst", got.b, want)
	checkBuf(tb, name+" add a", a.b, aBefore)
	checkBuf(tb, name+" add b", b.b, bBefore)

	var table [256]int8
	copy(table[:], randInt8s(rng, 256, false))
	tBefore := table
	got = newBuf(rng, n)
	want = got.clone()
	LookupQS8(want[guard:guard+n], a.view(0, n), &table)
	if inPlace {
		copy(got.b[guard:guard+n], a.b[guard:guard+n])
		tab.Lookup(got.view(0, n), got.view(0, n), &table)
	} else {
		tab.Lookup(got.view(0, n), a.view(0, n), &table)
	}
	checkBuf(tb, name+" lookup dst", got.b, want)
	checkBuf(tb, name+" lookup src", a.b, aBefore)
	if table != tBefore {
		tb.Fatalf("%s: lookup changed the table", name)
	}

	// ChannelMul and Pool on a channel slice of a wider tensor.
	off, extra := rng.IntN(4), rng.IntN(6)
	stride := off + channels + extra
	x := newBuf(rng, pixels*stride)
	if ext {
		copy(x.b, randInt8s(rng, len(x.b), true))
	}
	gate := randInt8s(rng, channels, ext)
	ms := multsOfKind(tb, rng, 2, 64, rng.IntN(3))
	zX, zG := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
	xBefore := x.clone()
	span := span(pixels, stride, channels)
	got = newBuf(rng, pixels*stride)
	want = got.clone()
	ChannelMulQS8(want[guard+off:][:span], stride, x.view(off, span), stride, pixels, channels, gate, zX, zG, ms[0], q.zOut, q.qmin, q.qmax)
	if inPlace {
		copy(got.b, x.b)
		copy(want, x.b)
		ChannelMulQS8(want[guard+off:][:span], stride, want[guard+off:][:span], stride, pixels, channels, gate, zX, zG, ms[0], q.zOut, q.qmin, q.qmax)
		tab.ChannelMul(got.view(off, span), stride, got.view(off, span), stride, pixels, channels, gate, zX, zG, ms[0], q.zOut, q.qmin, q.qmax)
	} else {
		tab.ChannelMul(got.view(off, span), stride, x.view(off, span), stride, pixels, channels, gate, zX, zG, ms[0], q.zOut, q.qmin, q.qmax)
	}
	checkBuf(tb, name+" channel_mul dst", got.b, want)
	checkBuf(tb, name+" channel_mul src", x.b, xBefore)

	got = newBuf(rng, channels)
	want = got.clone()
	GlobalAvgPoolQS8(want[guard:guard+channels], x.view(off, span), pixels, channels, stride, q.zIn, ms[1], q.zOut, q.qmin, q.qmax)
	tab.Pool(got.view(0, channels), x.view(off, span), pixels, channels, stride, q.zIn, ms[1], q.zOut, q.qmin, q.qmax)
	checkBuf(tb, name+" pool dst", got.b, want)
	checkBuf(tb, name+" pool src", x.b, xBefore)
}

func TestArmElementwise(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(4, uint64(len(tab.Name))))
		for channels := 1; channels <= 70; channels++ {
			runArmElementwise(t, rng, tab, 1+channels%5, channels, channels%2 == 0)
		}
		iters := 150
		if testing.Short() {
			iters = 50
		}
		for i := range iters {
			runArmElementwise(t, rng, tab, 1+rng.IntN(30), 1+rng.IntN(300), i%2 == 0)
		}
		// Pool sums over more than one int16 chunk of 256 pixels, at the
		// extremes.
		for _, v := range []int8{-128, 127} {
			const px, c = 700, 33
			src := make([]int8, px*c)
			for i := range src {
				src[i] = v
			}
			m := quant.Multiplier{M: 1 << 30, Shift: 10}
			got, want := make([]int8, c), make([]int8, c)
			GlobalAvgPoolQS8(want, src, px, c, c, -128, m, 0, -128, 127)
			tab.Pool(got, src, px, c, c, -128, m, 0, -128, 127)
			if !slices.Equal(got, want) {
				t.Fatalf("pool of %d x %d: got %v, want %v", px, v, got, want)
			}
		}
		runArmElementwise(t, rng, tab, 600, 40, false)
	})
}

func FuzzArmElementwise(f *testing.F) {
	f.Add(uint64(1), uint16(3), uint16(17), true)
	f.Add(uint64(2), uint16(300), uint16(1), false)
	f.Fuzz(func(t *testing.T, seed uint64, pixels, channels uint16, inPlace bool) {
		ts := asmTiers()
		if len(ts) == 0 {
			t.Skip("no arm64 tier")
		}
		rng := rand.New(rand.NewPCG(seed, 11))
		for _, tab := range ts {
			runArmElementwise(t, rng, tab, 1+int(pixels)%600, 1+int(channels)%300, inPlace)
		}
	})
}

func TestArmElementwiseAllocs(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		const px, c = 49, 40
		src := make([]int8, px*c)
		dst := make([]int8, px*c)
		rq := benchMults(c)
		add := quant.AddParams{MA: 1 << 14, MB: 1 << 14, Shift: 15}
		var table [256]int8
		for name, f := range map[string]func(){
			"add":         func() { tab.Add(dst, src, src, add, -128, 127) },
			"lookup":      func() { tab.Lookup(dst, dst, &table) },
			"channel_mul": func() { tab.ChannelMul(dst, c, src, c, px, c-3, src, 0, -128, rq[0], 0, -128, 127) },
			"pool":        func() { tab.Pool(dst, src, px, c, c, 4, rq[0], 0, -128, 127) },
		} {
			if a := testing.AllocsPerRun(20, f); a != 0 {
				t.Errorf("%s: %v allocs per run", name, a)
			}
		}
	})
}

func BenchmarkArmElementwise(b *testing.B) {
	const px, c = 196, 240
	src := benchInt8s(px * c)
	dst := make([]int8, px*c)
	gate := benchInt8s(c)
	m := benchMults(1)[0]
	add := quant.AddParams{MA: 1 << 14, MB: 1 << 13, Shift: 15}
	var table [256]int8
	for _, tab := range asmTiers() {
		b.Run(tab.Name+"/add", func(b *testing.B) {
			for b.Loop() {
				tab.Add(dst, src, src, add, -128, 127)
			}
			reportGMACs(b, px*c)
		})
		b.Run(tab.Name+"/lookup", func(b *testing.B) {
			for b.Loop() {
				tab.Lookup(dst, src, &table)
			}
			reportGMACs(b, px*c)
		})
		b.Run(tab.Name+"/channel_mul", func(b *testing.B) {
			for b.Loop() {
				tab.ChannelMul(dst, c, src, c, px, c, gate, 0, -128, m, 0, -128, 127)
			}
			reportGMACs(b, px*c)
		})
		b.Run(tab.Name+"/pool", func(b *testing.B) {
			for b.Loop() {
				tab.Pool(dst, src, px, c, c, 0, m, 0, -128, 127)
			}
			reportGMACs(b, px*c)
		})
	}
}
