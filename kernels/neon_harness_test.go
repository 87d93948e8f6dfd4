//go:build (arm64 || arm) && !purego

package kernels

// The harnesses that check a NEON tier's entries against the generic
// kernels with guard bands: shared by the arm64 tiers (neon, dotprod) and
// the 32-bit ARM neon tier.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

type armGEMMCase struct {
	pixels, k, n              int
	inOff, inExtra            int
	outOff, outExtra          int
	extreme, largeBias, tight bool
	multKind                  int // 0 random, 1 Shift <= 0, 2 Shift = 31, 3 all on the grid
}

func (c armGEMMCase) String() string {
	return fmt.Sprintf("%dpx k=%d n=%d in[%d+%d] out[%d+%d] ext=%v big=%v tight=%v mult=%d",
		c.pixels, c.k, c.n, c.inOff, c.inExtra, c.outOff, c.outExtra, c.extreme, c.largeBias, c.tight, c.multKind)
}

func randArmGEMMCase(rng *rand.Rand, short bool) armGEMMCase {
	maxK, maxN, maxP := 300, 70, 13
	if short {
		maxK, maxN, maxP = 100, 40, 9
	}
	c := armGEMMCase{pixels: 1 + rng.IntN(maxP), k: 1 + rng.IntN(maxK), n: 1 + rng.IntN(maxN),
		extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, tight: rng.IntN(3) == 0, multKind: rng.IntN(4) % 3}
	if rng.IntN(2) == 0 {
		c.inOff, c.inExtra, c.outOff, c.outExtra = rng.IntN(4), rng.IntN(40), rng.IntN(4), rng.IntN(9)
	}
	return c
}

func multsOfKind(tb testing.TB, rng *rand.Rand, n, k, kind int) []quant.Multiplier {
	rq := randMults(tb, rng, n, k)
	for i := range rq {
		switch kind {
		case 1: // Shift <= 0: real multiplier >= 1/2
			m, err := quant.NewMultiplier(0.5 + rng.Float64()*float64(int(1)<<rng.IntN(29)))
			if err != nil {
				tb.Fatal(err)
			}
			rq[i] = m
		case 2:
			rq[i] = quant.Multiplier{M: int32(rng.Int64N(1 << 31)), Shift: 31}
		case 3:
			rq[i] = gridEdgeMult(tb, rng, k)
		}
	}
	return rq
}

// gridEdgeMult returns a multiplier on the 2^-31 grid (the SQRDMULH path of
// the NEON kernels), often at an edge of it: Shift 0 (1/2 <= real < 1,
// where the SQDMULH path shifts left by L = 1), the fewest bits
// GridMultiplier keeps, a power of two (ties), 0; else a typical one.
func gridEdgeMult(tb testing.TB, rng *rand.Rand, taps int) quant.Multiplier {
	tb.Helper()
	var r float64
	switch rng.IntN(6) {
	case 0:
		r = 0.5 + rng.Float64()/2
	case 1:
		r = math.Exp2(-16 + rng.Float64()/4)
	case 2:
		r = math.Exp2(-1 - float64(rng.IntN(15)))
	case 3:
		if rng.IntN(4) == 0 {
			return quant.Multiplier{M: 0, Shift: quant.MaxShift}
		}
		fallthrough
	default:
		r = math.Exp2(-rng.Float64()*4) / (64 * math.Sqrt(float64(taps)))
	}
	m, err := quant.GridMultiplier(r)
	if err != nil {
		tb.Fatal(err)
	}
	if !m.OnGrid() {
		tb.Fatalf("GridMultiplier(%g) = %+v is off the grid", r, m)
	}
	return m
}

// dwGridBlocks counts runArmDW's calls with at least one 16-channel block
// (as the NEON kernels split the channels) whose multipliers are all on the
// 2^-31 grid, and those with one off it: the depthwise tests check that
// both requantization paths ran.
var dwGridBlocks [2]int

func countGridBlocks(rq []quant.Multiplier) {
	if len(rq) < 16 {
		return
	}
	var seen [2]bool
	for c0 := 0; c0 < len(rq); c0 += 16 {
		cb := min(c0, len(rq)-16)
		on := true
		for _, m := range rq[cb : cb+16] {
			on = on && m.OnGrid()
		}
		seen[b2i(on)] = true
	}
	for i, v := range seen {
		dwGridBlocks[i] += b2i(v)
	}
}

// checkGridBlocks fails t unless runArmDW ran blocks on and off the grid
// since the counts were before.
func checkGridBlocks(t *testing.T, before [2]int) {
	t.Helper()
	if dwGridBlocks[1] == before[1] || dwGridBlocks[0] == before[0] {
		t.Errorf("depthwise runs with a 16-channel block on the 2^-31 grid: %d, off it: %d; want both",
			dwGridBlocks[1]-before[1], dwGridBlocks[0]-before[0])
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gemmInputs builds src (optionally with capacity == length, to force the
// row-copy path) and the other operands.
func runArmGEMM(tb testing.TB, rng *rand.Rand, tab *Table, c armGEMMCase) {
	tb.Helper()
	srcStride := c.inOff + c.k + c.inExtra
	dstStride := c.outOff + c.n + c.outExtra
	src := newBuf(rng, c.pixels*srcStride)
	if c.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, c.n*c.k, c.extreme)
	raw := randBias(rng, c.n, c.largeBias)
	q := randQuantOut(rng)
	rq := multsOfKind(tb, rng, c.n, c.k, c.multKind)
	bias := fold(tb, raw, w, c.n, c.k, q.zIn)
	srcBefore := src.clone()
	srcLen := span(c.pixels, srcStride, c.k)
	srcView := src.view(c.inOff, srcLen)
	if c.tight {
		srcView = srcView[:srcLen:srcLen]
	}
	wBefore := slices.Clone(w)
	packed := tab.PackGEMM(w, c.k, c.n)

	got := newBuf(rng, c.pixels*dstStride)
	want := slices.Clone(got.b)
	GEMMQS8(want[guard+c.outOff:], dstStride, srcView, srcStride, c.pixels, c.k, c.n, w, bias, rq, q.zOut, q.qmin, q.qmax)
	tab.GEMM(got.view(c.outOff, span(c.pixels, dstStride, c.n)), dstStride, srcView, srcStride, c.pixels, c.k, c.n,
		packed, bias, rq, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, tab.Name+" "+c.String()+": dst", got.b, want)
	checkBuf(tb, tab.Name+" "+c.String()+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) {
		tb.Fatalf("%s: PackGEMM changed w", c)
	}

	// The classifier: same sums, float epilogue. dst is dense.
	scale := make([]float32, c.n)
	for i := range scale {
		scale[i] = float32(math.Exp2(-30*rng.Float64())) * []float32{1, -1}[rng.IntN(2)]
	}
	fWant := make([]float32, c.pixels*c.n+2*guard)
	fGot := make([]float32, len(fWant))
	for i := range fWant {
		fWant[i] = float32(i) + 0.5
		fGot[i] = fWant[i]
	}
	GEMMQS8F32(fWant[guard:], srcView, srcStride, c.pixels, c.k, c.n, w, bias, scale)
	tab.GEMMF32(fGot[guard:guard+c.pixels*c.n], srcView, srcStride, c.pixels, c.k, c.n, packed, bias, scale)
	for i := range fWant {
		if math.Float32bits(fGot[i]) != math.Float32bits(fWant[i]) {
			tb.Fatalf("%s %s: f32 dst[%d] (payload %d) = %g, want %g", tab.Name, c, i, i-guard, fGot[i], fWant[i])
		}
	}
	checkBuf(tb, tab.Name+" "+c.String()+": src after f32", src.b, srcBefore)
}

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
	if rng.IntN(2) == 0 { // the SE gate's range: Shift 1..16 (chanMulNeon's n = 8 and 16 loops)
		ms[0] = quant.Multiplier{M: 1<<30 + rng.Int32N(1<<30), Shift: 1 + rng.Int32N(16)}
	}
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

func runArmStem(tb testing.TB, rng *rand.Rand, tab *Table, tc stemCase, multKind int) {
	tb.Helper()
	oh, pt := padding(tc.h, tc.k, tc.stride, tc.same)
	ow, pl := padding(tc.w, tc.k, tc.stride, tc.same)
	s := ConvShape{H: tc.h, W: tc.w, Cin: tc.cin, InStride: tc.cin + tc.inExtra, Cout: tc.cout,
		OutStride: tc.outOff + tc.cout + tc.outExtra, K: tc.k, Stride: tc.stride, PadTop: pt, PadLeft: pl, OH: oh, OW: ow}
	src := newBuf(rng, tc.h*tc.w*s.InStride)
	if tc.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	kk := tc.k * tc.k * tc.cin
	w := randWeights(rng, tc.cout*kk, tc.extreme)
	raw := randBias(rng, tc.cout, rng.IntN(5) == 0)
	q := randQuantOut(rng)
	rq := multsOfKind(tb, rng, tc.cout, kk, multKind)
	bias := fold(tb, raw, w, tc.cout, kk, q.zIn)
	got := newBuf(rng, oh*ow*s.OutStride)
	want, srcBefore, wBefore := got.clone(), src.clone(), slices.Clone(w)
	ranges := [][2]int{{0, oh}}
	if tc.split {
		ranges = splitRows(rng, oh)
	}
	srcLen := span(tc.h*tc.w, s.InStride, tc.cin)
	srcView := src.view(0, srcLen)[:srcLen:srcLen]
	dstLen := span(oh*ow, s.OutStride, tc.cout)
	for _, r := range ranges {
		StemConvQS8(want[guard+tc.outOff:][:dstLen], srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
		tab.Stem(got.view(tc.outOff, dstLen), srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
	}
	name := fmt.Sprintf("%s %v mult=%d", tab.Name, tc, multKind)
	checkBuf(tb, name+": dst", got.b, want)
	checkBuf(tb, name+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) {
		tb.Fatalf("%s: weights modified", name)
	}
}

// runArmDW compares tab.DWConv with the generic kernel on one case, with
// guard bands around dst and untouched-input checks.
func runArmDW(tb testing.TB, rng *rand.Rand, tab *Table, tc dwCase, multKind int) {
	tb.Helper()
	oh, pt := padding(tc.h, tc.k, tc.stride, tc.same)
	ow, pl := padding(tc.w, tc.k, tc.stride, tc.same)
	s := DWConvShape{H: tc.h, W: tc.w, C: tc.c, InStride: tc.inOff + tc.c + tc.inExtra,
		OutStride: tc.outOff + tc.c + tc.outExtra, K: tc.k, Stride: tc.stride, PadTop: pt, PadLeft: pl, OH: oh, OW: ow}
	src := newBuf(rng, tc.h*tc.w*s.InStride)
	if tc.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, tc.k*tc.k*tc.c, tc.extreme)
	raw := randBias(rng, tc.c, tc.largeBias)
	q := randQuantOut(rng)
	if tc.extreme {
		q.zIn = []int32{-128, 127}[rng.IntN(2)]
	}
	rq := multsOfKind(tb, rng, tc.c, tc.k*tc.k, multKind)
	countGridBlocks(rq)
	bias := fold(tb, raw, w, tc.c, 1, q.zIn)
	got := newBuf(rng, oh*ow*s.OutStride)
	want := got.clone()
	srcBefore, wBefore, biasBefore := src.clone(), slices.Clone(w), slices.Clone(bias)
	pw := tab.PackDW(w, tc.k, tc.c)
	if !slices.Equal(pw[:len(w)], w) {
		tb.Fatalf("%s: PackDW does not start with the plain weights", tab.Name)
	}
	srcLen := span(tc.h*tc.w, s.InStride, tc.c)
	srcView := src.view(tc.inOff, srcLen)[:srcLen:srcLen]
	dstLen := span(oh*ow, s.OutStride, tc.c)
	ranges := [][2]int{{0, oh}}
	if tc.split {
		ranges = splitRows(rng, oh)
	}
	for _, r := range ranges {
		DWConvQS8(want[guard+tc.outOff:][:dstLen], srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
		tab.DWConv(got.view(tc.outOff, dstLen), srcView, pw, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
	}
	name := fmt.Sprintf("%s %v mult=%d", tab.Name, tc, multKind)
	checkBuf(tb, name+": dst", got.b, want)
	checkBuf(tb, name+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) || !slices.Equal(bias, biasBefore) {
		tb.Fatalf("%s: weights or bias modified", name)
	}
}

var armDWChannels = []int{16, 17, 20, 24, 31, 32, 33, 40, 47, 48, 60, 72, 1, 5, 15}

func randArmDWCase(rng *rand.Rand, k, stride int, same bool) dwCase {
	tc := dwCase{k: k, stride: stride, same: same,
		h: 1 + rng.IntN(k+6), w: 1 + rng.IntN(k+8), c: armDWChannels[rng.IntN(len(armDWChannels))],
		extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, split: rng.IntN(2) == 0}
	if rng.IntN(2) == 0 {
		tc.inOff, tc.inExtra = rng.IntN(5), rng.IntN(20)
		tc.outOff, tc.outExtra = rng.IntN(5), rng.IntN(5)
	}
	return tc
}
