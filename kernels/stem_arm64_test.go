//go:build !purego

package kernels

import (
	"math/rand/v2"
	"testing"
)

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
