//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// Multiplier sets of runDWAVX2.
const (
	dwMultRand = iota // randMults: mostly typical, some extreme (general epilogue)
	dwMultEdge        // randMults with edgeMults on top
	dwMultFast        // typical only, every lane on the fast epilogue
	dwMultModes
)

// fastMults returns multipliers with Shift in [2, 22], some of them powers
// of two (ties), all of which take the fast epilogue for any int8 zOut.
func fastMults(tb testing.TB, rng *rand.Rand, n int, zOut int32) []quant.Multiplier {
	tb.Helper()
	v := make([]quant.Multiplier, n)
	for i := range v {
		v[i] = quant.Multiplier{M: 1<<30 + rng.Int32N(1<<30), Shift: 2 + rng.Int32N(21)}
		if rng.IntN(4) == 0 {
			v[i].M = 1 << 30
		}
		if uint32(v[i].Shift-2) >= dwFastR(zOut) {
			tb.Fatalf("%+v with zOut %d does not take the fast epilogue", v[i], zOut)
		}
	}
	return v
}

// runDWAVX2 checks DWConvQS8AVX2 against DWConvQS8 byte for byte, guard
// bands included, with rows split over several calls when tc.split.
func runDWAVX2(tb testing.TB, rng *rand.Rand, tc dwCase, mode int) {
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
	rq := randMults(tb, rng, tc.c, tc.k*tc.k)
	switch mode {
	case dwMultEdge:
		edgeMults(rng, rq)
	case dwMultFast:
		rq = fastMults(tb, rng, tc.c, q.zOut)
	}
	bias := fold(tb, raw, w, tc.c, 1, q.zIn)
	dst := newBuf(rng, oh*ow*s.OutStride)
	want := dst.clone()
	srcBefore, wBefore, biasBefore := src.clone(), slices.Clone(w), slices.Clone(bias)
	ranges := [][2]int{{0, oh}}
	if tc.split {
		ranges = splitRows(rng, oh)
	}
	srcView := src.view(tc.inOff, span(tc.h*tc.w, s.InStride, tc.c))
	dstView := dst.view(tc.outOff, span(oh*ow, s.OutStride, tc.c))
	wantView := want[guard+tc.outOff:][:len(dstView)]
	DWConvQS8(wantView, srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, 0, oh)
	dstBefore := dst.clone()
	// The plain weights (the per-call transform), then PackDW's form.
	packed := AVX2.PackDW(w, tc.k, tc.c)
	if !slices.Equal(packed[:len(w)], w) {
		tb.Fatalf("avx2 %v: PackDW does not start with the plain weights", tc)
	}
	if _, total := dwPackLen(tc.k, tc.c); len(packed) != max(total, len(w)) {
		tb.Fatalf("avx2 %v: PackDW gave %d bytes, want %d", tc, len(packed), max(total, len(w)))
	}
	// A copy of the packed form at another alignment reads the same
	// (unaligned) chunks.
	moved := make([]int8, len(packed)+1)[1:]
	copy(moved, packed)
	for _, form := range []struct {
		name string
		w    []int8
	}{{"plain", w}, {"packed", packed}, {"packed moved", moved}} {
		copy(dst.b, dstBefore)
		packedBefore := slices.Clone(form.w)
		for _, r := range ranges {
			DWConvQS8AVX2(dstView, srcView, form.w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
		}
		what := "avx2 " + form.name + " " + tc.String()
		checkBuf(tb, what+": dst", dst.b, want)
		checkBuf(tb, what+": src", src.b, srcBefore)
		if !slices.Equal(w, wBefore) || !slices.Equal(bias, biasBefore) || !slices.Equal(form.w, packedBefore) {
			tb.Fatalf("%s: weights or bias modified", what)
		}
	}
}

func randDWCaseAVX2(rng *rand.Rand) dwCase {
	k := dwKernels[rng.IntN(len(dwKernels))]
	tc := randDWCase(rng, k, 1+rng.IntN(2), rng.IntN(2) == 0)
	switch rng.IntN(4) {
	case 0:
		tc.c = 16 + rng.IntN(200)
	case 1:
		tc.h, tc.w = 1+rng.IntN(40), 1+rng.IntN(40)
		tc.c = 1 + rng.IntN(100)
	}
	return tc
}

func TestAVX2DWConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, k := range dwKernels {
		for st := 1; st <= 2; st++ {
			for _, same := range []bool{false, true} {
				for ci, c := range []int{16, 17, 31, 40, 64, 65, 72, 90, 144} {
					for hi, hw := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {k, k}, {14, 13}} {
						if trials(10) < 10 && (ci+hi)%5 != 0 {
							continue
						}
						tc := dwCase{h: hw[0], w: hw[1], c: c, k: k, stride: st, same: same,
							inOff: rng.IntN(3), inExtra: rng.IntN(3), outOff: rng.IntN(3), outExtra: rng.IntN(3),
							extreme: rng.IntN(3) == 0, largeBias: rng.IntN(4) == 0, split: rng.IntN(2) == 0}
						runDWAVX2(t, rng, tc, rng.IntN(dwMultModes))
					}
				}
			}
		}
	}
	for i := range trials(600) {
		runDWAVX2(t, rng, randDWCaseAVX2(rng), i%dwMultModes)
	}
	// Kernel sizes and strides MixNet does not use, which the contract allows.
	for i := range trials(300) {
		tc := randDWCaseAVX2(rng)
		tc.k, tc.stride = []int{1, 2, 4, 6}[i%4], 1+rng.IntN(4)
		runDWAVX2(t, rng, tc, i%dwMultModes)
	}
	// Both ring modes: tall or wide images stream, small ones go whole;
	// widths cover every remainder of the 4-pixel step.
	modes := map[bool]int{}
	for i := range trials(200) {
		k := dwKernels[i%len(dwKernels)]
		tc := dwCase{h: 1 + rng.IntN(40), w: 1 + rng.IntN(40), c: 16 + rng.IntN(40), k: k, stride: 1 + rng.IntN(2),
			same: rng.IntN(2) == 0, inOff: rng.IntN(3), outExtra: rng.IntN(3), split: rng.IntN(2) == 0}
		switch i % 3 {
		case 0:
			tc.h, tc.w = 60+rng.IntN(60), 1+rng.IntN(12)
		case 1:
			tc.h, tc.w = 1+rng.IntN(8), 100+rng.IntN(40)
		}
		oh, _ := padding(tc.h, k, tc.stride, tc.same)
		ow, _ := padding(tc.w, k, tc.stride, tc.same)
		s := DWConvShape{H: tc.h, W: tc.w, C: tc.c, K: k, Stride: tc.stride, OH: oh, OW: ow}
		whole := dwPlan(&s, 0, oh)
		modes[whole]++
		runDWAVX2(t, rng, tc, i%dwMultModes)
	}
	if modes[false] == 0 || modes[true] == 0 {
		t.Errorf("ring modes tested (whole: count): %v", modes)
	}
	// Chunks of 24 and 8 channels end in an 8-channel block: rows of 6
	// pixels and more, shorter ones (one pixel at a time), paired rows.
	for _, c := range []int{24, 40, 56, 72, 120} {
		if nb, _, hb := dwBlocks(c - (c-1)/32*32); !hb || nb > 1 {
			t.Fatalf("C=%d: no 8-channel block", c)
		}
		for _, w := range []int{1, 5, 6, 7, 13, 40} {
			for _, k := range []int{3, 5} {
				st := 1 + rng.IntN(2)
				tc := dwCase{h: 1 + rng.IntN(9), w: w, c: c, k: k, stride: st, same: true, inOff: rng.IntN(3),
					inExtra: rng.IntN(3), outOff: rng.IntN(3), outExtra: rng.IntN(3), split: rng.IntN(2) == 0}
				runDWAVX2(t, rng, tc, rng.IntN(dwMultModes))
			}
		}
	}
	// 3x3 rows of dwPairMin pixels or more run as two stride-2 passes
	// (dwPaired): odd and even widths, both paddings, one and two blocks,
	// streaming and whole.
	for i := range trials(60) {
		tc := dwCase{h: 1 + rng.IntN(40), w: dwPairMin + rng.IntN(30), c: 16 + rng.IntN(60), k: 3, stride: 1,
			same: i%2 == 0, inOff: rng.IntN(3), outOff: rng.IntN(3), outExtra: rng.IntN(3), split: rng.IntN(2) == 0}
		if i%3 == 0 {
			tc.w += 2 // valid padding still leaves dwPairMin
		}
		oh, _ := padding(tc.h, 3, 1, tc.same)
		ow, _ := padding(tc.w, 3, 1, tc.same)
		if s := (DWConvShape{H: tc.h, W: tc.w, C: tc.c, K: 3, Stride: 1, OH: oh, OW: ow}); !dwPaired(&s) {
			t.Fatalf("%v: not paired", tc)
		}
		runDWAVX2(t, rng, tc, i%dwMultModes)
	}
	// Images of dwRowsMin bytes or more with 2-4 chunks go output row by
	// output row over every chunk (byRows); the guard bands and a channel
	// offset inside a wider pixel as in MixNet's groups.
	// (Sizes are redrawn until the shape goes by rows: which random sizes
	// do depends on the draws before them.)
	for i, k := range []int{3, 5, 3, 7} {
		st := 1 + i%2
		var tc dwCase
		for try := 0; ; try++ {
			tc = dwCase{h: 80 + rng.IntN(20), w: 70 + rng.IntN(30), c: []int{40, 72, 96, 64}[i], k: k, stride: st,
				same: i != 2, inOff: rng.IntN(40), inExtra: 20 + rng.IntN(40), outOff: rng.IntN(3), split: i%2 == 1}
			oh, _ := padding(tc.h, k, st, tc.same)
			ow, _ := padding(tc.w, k, st, tc.same)
			s := DWConvShape{H: tc.h, W: tc.w, C: tc.c, InStride: tc.inOff + tc.c + tc.inExtra, K: k, Stride: st, OH: oh, OW: ow}
			_, n := dwPackLen(k, tc.c)
			if whole := dwPlan(&s, 0, oh); !whole && dwByRows(&s, make([]int8, n), dwRingSz/2) {
				break
			}
			if try == 100 {
				t.Fatalf("%v: 100 draws, none by rows", tc)
			}
		}
		runDWAVX2(t, rng, tc, i%dwMultModes)
	}
	// Rows too wide for the stack ring fall back to the generic kernel.
	runDWAVX2(t, rng, dwCase{h: 3, w: 300, c: 20, k: 11, stride: 1}, dwMultRand)
}

// TestAVX2DWPackedUsed checks that PackDW's form is what the kernel
// reads: with the plain weights in front of it zeroed, the bits stay.
func TestAVX2DWPackedUsed(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for _, k := range []int{1, 2, 3, 5, 7, 9, 11} {
		for _, c := range []int{16, 17, 40, 72, 90} {
			for st := 1; st <= 2; st++ {
				oh, pad := SymmetricPad(9, k, st)
				s := DWConvShape{H: 9, W: 9, C: c, InStride: c, OutStride: c, K: k, Stride: st,
					PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
				src := randInt8s(rng, 81*c, false)
				w := randInt8s(rng, k*k*c, false)
				bias := randBias(rng, c, false)
				rq := randMults(t, rng, c, k*k)
				want, got := make([]int8, oh*oh*c), make([]int8, oh*oh*c)
				DWConvQS8(want, src, w, bias, rq, &s, 3, -4, -128, 127, 0, oh)
				packed := AVX2.PackDW(w, k, c)
				clear(packed[:k*k*c])
				DWConvQS8AVX2(got, src, packed, bias, rq, &s, 3, -4, -128, 127, 0, oh)
				if !slices.Equal(got, want) {
					t.Fatalf("k=%d c=%d s%d: the packed weights are not the ones read", k, c, st)
				}
			}
		}
	}
}

// dwFastRef is the fast epilogue's rule from its definition (dwRQ): it
// holds for 1 <= r = Shift-1 <= 30 with kq = 2^(r-1) + zOut<<r inside
// (-2^30, 2^30).
func dwFastRef(m quant.Multiplier, zOut int32) (kq int32, ok bool) {
	r := int64(m.Shift) - 1
	if r < 1 || r > 30 {
		return 0, false
	}
	k := int64(1)<<(r-1) + int64(zOut)<<r
	return int32(k), k > -1<<30 && k < 1<<30
}

// TestAVX2DWEpilogueSetup checks dwFastR against the rule for every int8
// zero point and extreme ones, and dwEpFastAVX2's fields and verdict
// against it, lane by lane, on chunks of one and two blocks.
func TestAVX2DWEpilogueSetup(t *testing.T) {
	zs := []int32{math.MinInt32, math.MinInt32 + 1, -1 << 29, -1<<29 - 1, 1 << 29, 1<<29 - 1, 1 << 28, math.MaxInt32}
	for z := int32(-300); z <= 300; z++ {
		zs = append(zs, z)
	}
	for _, z := range zs {
		n := uint32(0)
		for sh := int32(-40); sh <= 40; sh++ {
			_, ok := dwFastRef(quant.Multiplier{M: 1 << 30, Shift: sh}, z)
			if in := uint32(sh-2) < dwFastR(z); in != ok {
				t.Fatalf("zOut %d Shift %d: dwFastR(zOut) = %d says fast=%v, the rule %v", z, sh, dwFastR(z), in, ok)
			}
			if ok {
				n++
			}
		}
		if n != dwFastR(z) {
			t.Fatalf("zOut %d: %d shifts qualify, dwFastR %d", z, n, dwFastR(z))
		}
	}
	rng := rand.New(rand.NewPCG(55, 56))
	for trial := range trials(2000) {
		z := zs[rng.IntN(len(zs))]
		if trial%2 == 0 {
			z = int32(rng.IntN(256) - 128)
		}
		rmax := dwFastR(z)
		if rmax == 0 {
			continue
		}
		nb, off1 := 1+rng.IntN(2), 0
		if nb == 2 {
			off1 = 1 + rng.IntN(16)
		}
		c := off1 + 16
		bias := randBias(rng, c, true)
		rq := make([]quant.Multiplier, c)
		for i := range rq {
			rq[i] = quant.Multiplier{M: rng.Int32(), Shift: 2 + rng.Int32N(int32(rmax))}
			if rng.IntN(20) == 0 {
				rq[i].Shift = rng.Int32N(80) - 40
			}
		}
		var ep [4]dwRQ
		hi := dwEpFastAVX2(&ep[0], &bias[0], &rq[0], off1, nb, int32(2*int64(z)+1))
		all := true
		for b := range nb {
			for v := range 2 {
				p := &ep[2*b+v]
				for i, l := range dwLane[v] {
					ch := b*off1 + l
					m := rq[ch]
					kq, ok := dwFastRef(m, z)
					all = all && ok
					if !ok {
						continue
					}
					mo := p.mE[i]
					if i%2 == 1 {
						mo = p.mO[i-1]
					}
					if p.bias[i] != bias[ch] || mo != m.M || p.rsh[i] != m.Shift-1 || p.kq[i] != kq {
						t.Fatalf("zOut %d block %d lane %d.%d: bias %d M %d rsh %d kq %d, want %d %d %d %d", z, b, v, i,
							p.bias[i], mo, p.rsh[i], p.kq[i], bias[ch], m.M, m.Shift-1, kq)
					}
				}
			}
		}
		if got := hi < rmax; got != all {
			t.Fatalf("zOut %d: fast %v (max Shift-2 %d, dwFastR %d), the rule says %v", z, got, hi, rmax, all)
		}
		// An 8-channel block (setFast8): lanes in channel order.
		var v dwRQ
		got, all8 := v.setFast8(bias[:8], rq[:8], rmax, 2*int64(z)+1), true
		for i, m := range rq[:8] {
			kq, ok := dwFastRef(m, z)
			all8 = all8 && ok
			mo := v.mE[i]
			if i%2 == 1 {
				mo = v.mO[i-1]
			}
			if ok && (v.bias[i] != bias[i] || mo != m.M || v.rsh[i] != m.Shift-1 || v.kq[i] != kq) {
				t.Fatalf("zOut %d 8-channel lane %d: bias %d M %d rsh %d kq %d, want %d %d %d %d", z, i,
					v.bias[i], mo, v.rsh[i], v.kq[i], bias[i], m.M, m.Shift-1, kq)
			}
		}
		if got != all8 {
			t.Fatalf("zOut %d: 8-channel fast %v, the rule says %v", z, got, all8)
		}
	}
}

func TestAVX2DWConvAllocs(t *testing.T) {
	const h, w, c = 28, 28, 72
	src, dst := make([]int8, h*w*c), make([]int8, h*w*c)
	wts, bias, rq := make([]int8, 11*11*c), make([]int32, c), benchMults(c)
	for _, k := range dwKernels {
		s := DWConvShape{H: h, W: w, C: c, InStride: c, OutStride: c, K: k, Stride: 1, PadTop: k / 2, PadLeft: k / 2, OH: h, OW: w}
		packed := AVX2.PackDW(wts[:k*k*c], k, c)
		if a := testing.AllocsPerRun(10, func() {
			DWConvQS8AVX2(dst, src, wts, bias, rq, &s, 3, -2, -128, 127, 0, h)
			DWConvQS8AVX2(dst, src, packed, bias, rq, &s, 3, -2, -128, 127, 0, h)
		}); a != 0 {
			t.Fatalf("k=%d: %v allocs per run", k, a)
		}
	}
}

func FuzzAVX2DWConv(f *testing.F) {
	f.Add(uint64(1), uint8(dwMultRand))
	f.Add(uint64(2), uint8(dwMultEdge))
	f.Add(uint64(3), uint8(dwMultFast))
	f.Fuzz(func(t *testing.T, seed uint64, mode uint8) {
		rng := rand.New(rand.NewPCG(seed, 98))
		runDWAVX2(t, rng, randDWCaseAVX2(rng), int(mode)%dwMultModes)
	})
}

func BenchmarkAVX2DWConv(b *testing.B) {
	for _, d := range []struct{ k, s, h, c int }{
		{3, 1, 56, 72}, {3, 2, 112, 96}, {5, 2, 56, 48}, {7, 2, 56, 48}, {9, 1, 14, 90}, {11, 2, 14, 144}, {5, 1, 28, 120},
	} {
		oh, pad := SymmetricPad(d.h, d.k, d.s)
		s := DWConvShape{H: d.h, W: d.h, C: d.c, InStride: d.c, OutStride: d.c, K: d.k, Stride: d.s,
			PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
		src := benchInt8s(d.h * d.h * d.c)
		dst := make([]int8, oh*oh*d.c)
		w := benchInt8s(d.k * d.k * d.c)
		bias := make([]int32, d.c)
		rq := benchMults(d.c)
		name := fmt.Sprintf("k%ds%d_%dx%dx%d", d.k, d.s, d.h, d.h, d.c)
		for _, impl := range []struct {
			name string
			f    DWConvFunc
		}{{"avx2", DWConvQS8AVX2}, {"generic", DWConvQS8}} {
			b.Run(name+"/"+impl.name, func(b *testing.B) {
				for b.Loop() {
					impl.f(dst, src, w, bias, rq, &s, -5, 3, -128, 127, 0, oh)
				}
				reportGMACs(b, oh*oh*d.c*d.k*d.k)
			})
		}
	}
}

// With every dwRingPool slot taken (more concurrent calls than slots) the
// kernel runs its ring on the stack (dwStackRing), with the same bits.
func TestAVX2DWStackRing(t *testing.T) {
	for i := range dwRingPool {
		if !dwRingPool[i].busy.CompareAndSwap(false, true) {
			t.Fatalf("pool slot %d busy before the test", i)
		}
	}
	defer func() {
		for i := range dwRingPool {
			dwRingPool[i].busy.Store(false)
		}
	}()
	rng := rand.New(rand.NewPCG(71, 72))
	for i := range trials(60) {
		runDWAVX2(t, rng, randDWCaseAVX2(rng), i%dwMultModes)
	}
}
