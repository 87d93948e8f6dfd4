//go:build arm && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// The 32-bit ARM neon tier against the generic kernels (run under
// qemu-arm -cpu cortex-a15; see the Makefile's test-arm32).

func neon32(t testing.TB) *Table {
	if _, err := Select("neon"); err != nil {
		t.Skip("no NEON on this CPU (AT_HWCAP): the neon tier is not available")
	}
	return Neon
}

type n32GEMMCase struct {
	pixels, k, n     int
	inOff, inExtra   int
	outOff, outExtra int
	extreme, tight   bool
	largeBias        bool
	multKind         int // 0 random, 1 Shift <= 0, 2 Shift = 31
}

func (c n32GEMMCase) String() string {
	return fmt.Sprintf("%dpx k=%d n=%d in[%d+%d] out[%d+%d] ext=%v tight=%v big=%v mult=%d",
		c.pixels, c.k, c.n, c.inOff, c.inExtra, c.outOff, c.outExtra, c.extreme, c.tight, c.largeBias, c.multKind)
}

func n32Mults(tb testing.TB, rng *rand.Rand, n, k, kind int) []quant.Multiplier {
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
		}
	}
	return rq
}

// runN32GEMM checks GEMM and GEMMF32 of tab against the generic kernels,
// with guard bands around dst and src.
func runN32GEMM(tb testing.TB, rng *rand.Rand, tab *Table, c n32GEMMCase) {
	tb.Helper()
	srcStride := c.inOff + c.k + c.inExtra
	dstStride := c.outOff + c.n + c.outExtra
	src := newBuf(rng, c.pixels*srcStride)
	if c.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, c.n*c.k, c.extreme)
	q := randQuantOut(rng)
	rq := n32Mults(tb, rng, c.n, c.k, c.multKind)
	bias := fold(tb, randBias(rng, c.n, c.largeBias), w, c.n, c.k, q.zIn)
	srcBefore := src.clone()
	srcLen := span(c.pixels, srcStride, c.k)
	srcView := src.view(c.inOff, srcLen)
	if c.tight {
		srcView = srcView[:srcLen:srcLen]
	}
	packed := tab.PackGEMM(w, c.k, c.n)
	got := newBuf(rng, c.pixels*dstStride)
	want := slices.Clone(got.b)
	GEMMQS8(want[guard+c.outOff:], dstStride, srcView, srcStride, c.pixels, c.k, c.n, w, bias, rq, q.zOut, q.qmin, q.qmax)
	tab.GEMM(got.view(c.outOff, span(c.pixels, dstStride, c.n)), dstStride, srcView, srcStride, c.pixels, c.k, c.n,
		packed, bias, rq, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, tab.Name+" "+c.String()+": dst", got.b, want)
	checkBuf(tb, tab.Name+" "+c.String()+": src", src.b, srcBefore)

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
}

func TestNeon32GEMM(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(1, 32))
	for k := 1; k <= 40; k++ { // every small shape (kpad 8, 16, 24 …, both kernels, narrow blocks)
		for n := 1; n <= 17; n += 1 + k%3 {
			runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 1 + (k+n)%6, k: k, n: n, tight: k%2 == 0,
				multKind: n % 3, extreme: k%5 == 0})
		}
	}
	iters := 300
	if testing.Short() {
		iters = 100
	}
	for range iters {
		c := n32GEMMCase{pixels: 1 + rng.IntN(13), k: 1 + rng.IntN(300), n: 1 + rng.IntN(70),
			extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, tight: rng.IntN(3) == 0, multKind: rng.IntN(4) % 3}
		if rng.IntN(2) == 0 {
			c.inOff, c.inExtra, c.outOff, c.outExtra = rng.IntN(4), rng.IntN(40), rng.IntN(4), rng.IntN(9)
		}
		runN32GEMM(t, rng, tab, c)
	}
	// a narrow last block over more rows than one stack chunk; long rows
	// whose padded read would leave src (the scalar path, the stack row)
	runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 2*n32TailRows + 3, k: 21, n: 7})
	runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 2, k: n32RowMax + 3, n: 9, tight: true})
	runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 5, k: 1536, n: 13, tight: true, extreme: true})
}

func TestNeon32PackGEMM(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 50 {
		k, n := 1+rng.IntN(70), 1+rng.IntN(30)
		w := randWeights(rng, n*k, false)
		p := packGEMMNeon32(w, k, n)
		nz := 0
		for _, v := range p {
			if v != 0 {
				nz++
			}
		}
		for co := range n {
			for ci := range k {
				if got := p[n32Index(co, ci, n32Kpad(k))]; got != w[co*k+ci] {
					t.Fatalf("k=%d n=%d: w[%d][%d] = %d packed as %d", k, n, co, ci, w[co*k+ci], got)
				}
				if w[co*k+ci] != 0 {
					nz--
				}
			}
		}
		if nz != 0 {
			t.Fatalf("k=%d n=%d: %d non-zero padding bytes", k, n, nz)
		}
	}
}

func FuzzNeon32GEMM(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint16(17), uint8(5))
	f.Add(uint64(7), uint8(1), uint16(1), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, pixels uint8, k uint16, n uint8) {
		tab := neon32(t)
		rng := rand.New(rand.NewPCG(seed, 9))
		c := n32GEMMCase{pixels: 1 + int(pixels)%20, k: 1 + int(k)%700, n: 1 + int(n)%80,
			tight: rng.IntN(2) == 0, extreme: rng.IntN(3) == 0, multKind: rng.IntN(3)}
		runN32GEMM(t, rng, tab, c)
	})
}

func TestNeon32Allocs(t *testing.T) {
	tab := neon32(t)
	const px, k, n = 30, 67, 45
	src := make([]int8, px*k)
	dst := make([]int8, px*n)
	w := tab.PackGEMM(make([]int8, n*k), k, n)
	bias := make([]int32, n)
	rq := make([]quant.Multiplier, n)
	scale := make([]float32, n)
	logits := make([]float32, px*n)
	tight := src[: px*k : px*k]
	const dh, dc = 9, 40
	dwSrc, dwDst := make([]int8, dh*dh*dc), make([]int8, dh*dh*dc)
	dwW := tab.PackDW(make([]int8, 11*11*dc), 11, dc)
	dwRQ := make([]quant.Multiplier, dc)
	for i := range dwRQ {
		dwRQ[i] = quant.Multiplier{M: 1 << 30, Shift: 3}
	}
	dw := DWConvShape{H: dh, W: dh, C: dc, InStride: dc, OutStride: dc, K: 11, Stride: 1, PadTop: 5, PadLeft: 5, OH: dh, OW: dh}
	for name, f := range map[string]func(){
		"dwconv":   func() { tab.DWConv(dwDst, dwSrc, dwW, bias[:dc], dwRQ, &dw, 3, -2, -128, 127, 0, dh) },
		"gemm":     func() { tab.GEMM(dst, n, tight, k, px, k, n, w, bias, rq, 0, -128, 127) },
		"gemm_f32": func() { tab.GEMMF32(logits, tight, k, px, k, n, w, bias, scale) },
	} {
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s: %v allocs per run", name, a)
		}
	}
}

// runN32DW compares tab.DWConv with the generic kernel on one case, with
// guard bands around dst and untouched-input checks.
func runN32DW(tb testing.TB, rng *rand.Rand, tab *Table, tc dwCase, multKind int) {
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
	q := randQuantOut(rng)
	if tc.extreme {
		q.zIn = []int32{-128, 127}[rng.IntN(2)]
	}
	rq := n32Mults(tb, rng, tc.c, tc.k*tc.k, multKind)
	bias := fold(tb, randBias(rng, tc.c, tc.largeBias), w, tc.c, 1, q.zIn)
	got := newBuf(rng, oh*ow*s.OutStride)
	want := got.clone()
	srcBefore := src.clone()
	pw := tab.PackDW(w, tc.k, tc.c)
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
}

var n32DWChannels = []int{16, 17, 20, 24, 31, 32, 33, 40, 47, 48, 60, 72, 1, 5, 15}

func randN32DWCase(rng *rand.Rand, k, stride int, same bool) dwCase {
	tc := dwCase{k: k, stride: stride, same: same,
		h: 1 + rng.IntN(k+6), w: 1 + rng.IntN(k+8), c: n32DWChannels[rng.IntN(len(n32DWChannels))],
		extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, split: rng.IntN(2) == 0}
	if rng.IntN(2) == 0 {
		tc.inOff, tc.inExtra = rng.IntN(5), rng.IntN(20)
		tc.outOff, tc.outExtra = rng.IntN(5), rng.IntN(5)
	}
	return tc
}

func TestNeon32DWConv(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(3, 32))
	iters := 12
	if testing.Short() {
		iters = 5
	}
	for _, k := range dwKernels {
		for _, stride := range []int{1, 2} {
			for _, same := range []bool{false, true} {
				for _, hw := range [][2]int{{1, 1}, {1, 5}, {6, 1}} { // 1-pixel, 1-high and 1-wide maps
					tc := randN32DWCase(rng, k, stride, same)
					tc.h, tc.w = hw[0], hw[1]
					runN32DW(t, rng, tab, tc, rng.IntN(3))
				}
				for i := range iters {
					runN32DW(t, rng, tab, randN32DWCase(rng, k, stride, same), []int{0, 2}[i%2])
				}
			}
		}
	}
	// generic fallbacks inside the entry: even K, Shift <= 0, C too wide
	for _, k := range []int{1, 2, 4} {
		runN32DW(t, rng, tab, randN32DWCase(rng, k, 1, false), 0)
	}
	runN32DW(t, rng, tab, dwCase{h: 3, w: 4, c: dw32MaxC + 3, k: 3, stride: 1}, 0)
	// channel blocks plus an overlapping tail, long border runs
	runN32DW(t, rng, tab, dwCase{h: 7, w: 9, c: 150, k: 5, stride: 2, inOff: 3, inExtra: 40, outOff: 1, outExtra: 7}, 0)
	runN32DW(t, rng, tab, dwCase{h: 5, w: 5, c: 35, k: 11, stride: 1, extreme: true, largeBias: true}, 2)
	runN32DW(t, rng, tab, dwCase{h: 9, w: 9, c: 24, k: 11, stride: 1}, 0)
	runN32DW(t, rng, tab, dwCase{h: 7, w: 10, c: 40, k: 9, stride: 1, same: true, inOff: 1, outExtra: 3}, 2)
	runN32DW(t, rng, tab, dwCase{h: 14, w: 14, c: 120, k: 7, stride: 2, same: true, split: true}, 0)
}

func FuzzNeon32DWConv(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(1), uint8(9), uint8(7), uint8(20))
	f.Fuzz(func(t *testing.T, seed uint64, k, stride, h, w, c uint8) {
		tab := neon32(t)
		rng := rand.New(rand.NewPCG(seed, 11))
		tc := randN32DWCase(rng, 1+int(k)%11, 1+int(stride)%2, seed%2 == 0)
		tc.h, tc.w, tc.c = 1+int(h)%20, 1+int(w)%20, 1+int(c)%80
		runN32DW(t, rng, tab, tc, rng.IntN(3))
	})
}

func n32AddParams(rng *rand.Rand) quant.AddParams {
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

// runN32Elementwise checks Add, Lookup, ChannelMul and Pool of tab on
// buffers of n elements (pixels x channels for the per-channel ones).
func runN32Elementwise(tb testing.TB, rng *rand.Rand, tab *Table, pixels, channels int, inPlace bool) {
	tb.Helper()
	ext := rng.IntN(3) == 0
	q := randQuantOut(rng)
	n := pixels * channels
	name := fmt.Sprintf("%s %dx%d inPlace=%v", tab.Name, pixels, channels, inPlace)

	// Add and Lookup on n contiguous elements.
	a, b := newBuf(rng, n), newBuf(rng, n)
	copy(a.b[guard:guard+n], randInt8s(rng, n, ext))
	copy(b.b[guard:guard+n], randInt8s(rng, n, ext))
	p := n32AddParams(rng)
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
	ms := n32Mults(tb, rng, 2, 64, rng.IntN(3))
	if rng.IntN(2) == 0 { // the SE gate's range: Shift 1..16 (chanMul32N8 and N16)
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

func TestNeon32Elementwise(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(4, 32))
	for channels := 1; channels <= 70; channels++ {
		runN32Elementwise(t, rng, tab, 1+channels%5, channels, channels%2 == 0)
	}
	iters := 150
	if testing.Short() {
		iters = 50
	}
	for i := range iters {
		runN32Elementwise(t, rng, tab, 1+rng.IntN(30), 1+rng.IntN(300), i%2 == 0)
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
	runN32Elementwise(t, rng, tab, 600, 40, false)
	runN32Elementwise(t, rng, tab, 3, cmMaxC32+40+5, true) // chanMul32 in chunks of cmMaxC32 channels
}

func runN32Stem(tb testing.TB, rng *rand.Rand, tab *Table, tc stemCase, multKind int) {
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
	rq := n32Mults(tb, rng, tc.cout, kk, multKind)
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

func TestNeon32Stem(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(6, 32))
	iters := 150
	if testing.Short() {
		iters = 50
	}
	for range iters {
		runN32Stem(t, rng, tab, randStemCase(rng), rng.IntN(3))
	}
	// MixNet-S's stem on a small image, a 1-pixel image, and a shape too
	// large for the stack packing (generic fallback).
	runN32Stem(t, rng, tab, stemCase{h: 17, w: 19, cin: 3, cout: 16, k: 3, stride: 2, same: true}, 0)
	runN32Stem(t, rng, tab, stemCase{h: 1, w: 1, cin: 3, cout: 16, k: 3, stride: 2, extreme: true}, 1)
	runN32Stem(t, rng, tab, stemCase{h: 5, w: 6, cin: 4, cout: 100, k: 7, stride: 1, outOff: 1}, 2)
}
