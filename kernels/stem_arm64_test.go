//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

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

func TestArmStem(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(6, uint64(len(tab.Name))))
		iters := 150
		if testing.Short() {
			iters = 50
		}
		for range iters {
			runArmStem(t, rng, tab, randStemCase(rng), rng.IntN(3))
		}
		// MixNet-S's stem on a small image, a 1-pixel image, and a shape
		// too large for the stack packing (generic fallback).
		runArmStem(t, rng, tab, stemCase{h: 17, w: 19, cin: 3, cout: 16, k: 3, stride: 2, same: true}, 0)
		runArmStem(t, rng, tab, stemCase{h: 1, w: 1, cin: 3, cout: 16, k: 3, stride: 2, extreme: true}, 1)
		runArmStem(t, rng, tab, stemCase{h: 5, w: 6, cin: 4, cout: 100, k: 7, stride: 1, outOff: 1}, 2)
	})
}

func FuzzArmStem(f *testing.F) {
	f.Add(uint64(1), uint8(7), uint8(9), uint8(16), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, h, w, cout, mode uint8) {
		ts := asmTiers()
		if len(ts) == 0 {
			t.Skip("no arm64 tier")
		}
		rng := rand.New(rand.NewPCG(seed, 13))
		tc := randStemCase(rng)
		tc.h, tc.w, tc.cout = 1+int(h)%30, 1+int(w)%30, 1+int(cout)%40
		for _, tab := range ts {
			runArmStem(t, rng, tab, tc, int(mode)%3)
		}
	})
}

func TestArmStemAllocs(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		const h, w, c = 9, 9, 16
		src := make([]int8, h*w*3)
		dst := make([]int8, 5*5*c)
		wts := make([]int8, c*27)
		bias := make([]int32, c)
		rq := benchMults(c)
		stem := ConvShape{H: h, W: w, Cin: 3, InStride: 3, Cout: c, OutStride: c, K: 3, Stride: 2, PadTop: 1, PadLeft: 1, OH: 5, OW: 5}
		if a := testing.AllocsPerRun(10, func() {
			tab.Stem(dst, src, wts, bias, rq, &stem, 0, 0, -128, 127, 0, 5)
		}); a != 0 {
			t.Errorf("%v allocs per run", a)
		}
	})
}

func BenchmarkArmStem(b *testing.B) {
	for _, tab := range asmTiers() {
		b.Run(tab.Name+"/224x224x3_k3s2_16", func(b *testing.B) {
			const h, c = 224, 16
			oh, pad := SamePad(h, 3, 2)
			s := ConvShape{H: h, W: h, Cin: 3, InStride: 3, Cout: c, OutStride: c, K: 3, Stride: 2, PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
			src := benchInt8s(h * h * 3)
			dst := make([]int8, oh*oh*c)
			w := benchInt8s(c * 27)
			bias := make([]int32, c)
			rq := benchMults(c)
			for b.Loop() {
				tab.Stem(dst, src, w, bias, rq, &s, 0, 0, -128, 127, 0, oh)
			}
			reportGMACs(b, oh*oh*c*27)
		})
	}
}
