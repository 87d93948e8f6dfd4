//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// runDWVNNI checks DWConvQS8VNNI (packDWVNNI's weights, and the plain and
// AVX2 forms, which it hands to the AVX2 kernel) against DWConvQS8 byte for
// byte, guard bands included, rows split over several calls when tc.split.
// With mode dwMultFast every multiplier fits REQH, so the VNNI kernel runs
// (for the shapes dwvUses takes; the test checks that it does).
func runDWVNNI(tb testing.TB, rng *rand.Rand, tc dwCase, mode int) {
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
	if tc.extreme {
		for i := range w {
			if rng.IntN(2) == 0 {
				w[i] = -128
			}
		}
	}
	raw := randBias(rng, tc.c, tc.largeBias)
	q := randQuantOut(rng)
	rq := randMults(tb, rng, tc.c, tc.k*tc.k)
	switch mode {
	case dwMultEdge:
		edgeMults(rng, rq)
	case dwMultFast:
		rq = fastMults(tb, rng, tc.c, q.zOut)
		if !reqhOK(rq, q.zOut) || (dwvUses(&s) != (tc.k <= dwMaxK && dwvEntries(&s)+dwvSlack <= dwvMaxEntries && dwvPays(&s))) {
			tb.Fatalf("vnni %v: the VNNI kernel would not run", tc)
		}
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
	packed := packDWVNNI(w, tc.k, tc.c)
	if !slices.Equal(packed[:len(w)], w) {
		tb.Fatalf("vnni %v: PackDW does not start with the plain weights", tc)
	}
	forms := []struct {
		name string
		w    []int8
	}{{"packed", packed}}
	if rng.IntN(4) == 0 {
		forms = append(forms, struct {
			name string
			w    []int8
		}{"plain", w})
	}
	for _, form := range forms {
		copy(dst.b, dstBefore)
		packedBefore := slices.Clone(form.w)
		for _, r := range ranges {
			DWConvQS8VNNI(dstView, srcView, form.w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
		}
		what := "vnni " + form.name + " " + tc.String()
		checkBuf(tb, what+": dst", dst.b, want)
		checkBuf(tb, what+": src", src.b, srcBefore)
		if !slices.Equal(w, wBefore) || !slices.Equal(bias, biasBefore) || !slices.Equal(form.w, packedBefore) {
			tb.Fatalf("%s: weights or bias modified", what)
		}
	}
}

func needVBMI(tb testing.TB) {
	tb.Helper()
	needVNNI(tb)
	if !hasVBMI {
		tb.Skip("CPU has AVX-512 VNNI but not VBMI: the vnni tier's depthwise is the AVX2 kernel here")
	}
}

// TestVNNIDWConv runs every kernel size 1..11 (MixNet's 3..11 and the
// even ones), both strides, both paddings, channel counts around the
// 16-channel blocks (1..15 included), maps from 1x1 up, with the VNNI
// kernel (REQH multipliers) and the AVX2 fallback (any multipliers).
func TestVNNIDWConv(t *testing.T) {
	needVBMI(t)
	dwvForce = true
	defer func() { dwvForce = false }()
	rng := rand.New(rand.NewPCG(71, 72))
	for k := 1; k <= dwMaxK; k++ {
		for st := 1; st <= 2; st++ {
			for _, same := range []bool{false, true} {
				for ci, c := range []int{1, 5, 16, 17, 31, 40, 64, 72, 90} {
					for hi, hw := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {k, k}, {14, 13}, {5, 30}} {
						if trials(10) < 10 && (ci+hi)%5 != 0 {
							continue
						}
						tc := dwCase{h: hw[0], w: hw[1], c: c, k: k, stride: st, same: same,
							inOff: rng.IntN(3), inExtra: rng.IntN(3), outOff: rng.IntN(3), outExtra: rng.IntN(3),
							extreme: rng.IntN(3) == 0, largeBias: rng.IntN(4) == 0, split: rng.IntN(2) == 0}
						runDWVNNI(t, rng, tc, dwMultFast)
						if (ci+hi)%3 == 0 {
							runDWVNNI(t, rng, tc, dwMultEdge)
						}
					}
				}
			}
		}
	}
	// MixNet-S's shapes at 224 (and a map too wide for the window: AVX2).
	for _, d := range []struct{ k, s, h, c int }{
		{3, 1, 112, 16}, {3, 2, 112, 32}, {5, 2, 56, 48}, {7, 2, 56, 48}, {9, 2, 56, 48}, {3, 1, 28, 120},
		{11, 2, 14, 120}, {9, 1, 7, 240}, {3, 1, 170, 16},
	} {
		runDWVNNI(t, rng, dwCase{h: d.h, w: d.h, c: d.c, k: d.k, stride: d.s, split: true}, dwMultFast)
	}
	for range trials(300) {
		tc := randDWCaseAVX2(rng)
		tc.k = 1 + rng.IntN(dwMaxK)
		runDWVNNI(t, rng, tc, dwMultFast)
	}
}

func TestVNNIDWConvAllocs(t *testing.T) {
	needVBMI(t)
	const h, c, k = 28, 72, 5
	s := DWConvShape{H: h, W: h, C: c, InStride: c, OutStride: c, K: k, Stride: 1, PadTop: 2, PadLeft: 2, OH: h, OW: h}
	src, dst := make([]int8, h*h*c), make([]int8, h*h*c)
	w := packDWVNNI(make([]int8, k*k*c), k, c)
	bias, rq := make([]int32, c), benchMults(c)
	if a := testing.AllocsPerRun(20, func() {
		DWConvQS8VNNI(dst, src, w, bias, rq, &s, 3, -2, -128, 127, 0, h)
	}); a != 0 {
		t.Fatalf("%v allocs per run", a)
	}
}

func FuzzVNNIDWConv(f *testing.F) {
	f.Add(uint64(1), uint8(0))
	f.Add(uint64(2), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, mode uint8) {
		needVBMI(t)
		dwvForce = seed%2 == 0
		defer func() { dwvForce = false }()
		rng := rand.New(rand.NewPCG(seed, 73))
		tc := randDWCaseAVX2(rng)
		runDWVNNI(t, rng, tc, []int{dwMultFast, dwMultEdge}[mode%2])
	})
}

func BenchmarkVNNIDWConv(b *testing.B) {
	needVBMI(b)
	for _, d := range []struct{ k, s, h, c int }{
		{3, 1, 56, 72}, {3, 2, 112, 96}, {5, 2, 56, 48}, {7, 2, 56, 48}, {9, 1, 14, 90}, {11, 2, 14, 144}, {5, 1, 28, 120},
		// around dwvPays's limits for 3 taps
		{3, 2, 56, 48}, {3, 2, 28, 48}, {3, 2, 14, 144}, {3, 1, 14, 240}, {3, 1, 7, 300},
	} {
		oh, pad := SymmetricPad(d.h, d.k, d.s)
		s := DWConvShape{H: d.h, W: d.h, C: d.c, InStride: d.c, OutStride: d.c, K: d.k, Stride: d.s,
			PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
		src := benchInt8s(d.h * d.h * d.c)
		dst := make([]int8, oh*oh*d.c)
		w := benchInt8s(d.k * d.k * d.c)
		pa, pv := packDWAVX2(w, d.k, d.c), packDWVNNI(w, d.k, d.c)
		bias := make([]int32, d.c)
		rq := benchMults(d.c)
		name := fmt.Sprintf("k%ds%d_%dx%dx%d", d.k, d.s, d.h, d.h, d.c)
		b.Run(name+"/vnni", func(b *testing.B) {
			for b.Loop() {
				DWConvQS8VNNI(dst, src, pv, bias, rq, &s, -5, 3, -128, 127, 0, oh)
			}
			reportGMACs(b, oh*oh*d.c*d.k*d.k)
		})
		b.Run(name+"/avx2", func(b *testing.B) {
			for b.Loop() {
				DWConvQS8AVX2(dst, src, pa, bias, rq, &s, -5, 3, -128, 127, 0, oh)
			}
			reportGMACs(b, oh*oh*d.c*d.k*d.k)
		})
		if !dwvPays(&s) {
			// what vnni would take where dwvPays sends the shape to avx2
			b.Run(name+"/vnni_forced", func(b *testing.B) {
				dwvForce = true
				defer func() { dwvForce = false }()
				for b.Loop() {
					DWConvQS8VNNI(dst, src, pv, bias, rq, &s, -5, 3, -128, 127, 0, oh)
				}
				reportGMACs(b, oh*oh*d.c*d.k*d.k)
			})
		}
	}
}
