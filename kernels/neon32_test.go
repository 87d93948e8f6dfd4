//go:build arm && !purego

package kernels

import (
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

func TestNeon32GEMM(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(1, 32))
	for k := 1; k <= 40; k++ { // every small shape (kpad 8, 16, 24 …, both kernels, narrow blocks)
		for n := 1; n <= 17; n += 1 + k%3 {
			runArmGEMM(t, rng, tab, armGEMMCase{pixels: 1 + (k+n)%6, k: k, n: n, tight: k%2 == 0,
				multKind: n % 3, extreme: k%5 == 0})
		}
	}
	iters := 300
	if testing.Short() {
		iters = 100
	}
	for range iters {
		c := armGEMMCase{pixels: 1 + rng.IntN(13), k: 1 + rng.IntN(300), n: 1 + rng.IntN(70),
			extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, tight: rng.IntN(3) == 0, multKind: rng.IntN(4) % 3}
		if rng.IntN(2) == 0 {
			c.inOff, c.inExtra, c.outOff, c.outExtra = rng.IntN(4), rng.IntN(40), rng.IntN(4), rng.IntN(9)
		}
		runArmGEMM(t, rng, tab, c)
	}
	// a narrow last block over more rows than one stack chunk; long rows
	// whose padded read would leave src (the scalar path, the stack row)
	runArmGEMM(t, rng, tab, armGEMMCase{pixels: 2*n32TailRows + 3, k: 21, n: 7})
	runArmGEMM(t, rng, tab, armGEMMCase{pixels: 2, k: n32RowMax + 3, n: 9, tight: true})
	runArmGEMM(t, rng, tab, armGEMMCase{pixels: 5, k: 1536, n: 13, tight: true, extreme: true})
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
		c := armGEMMCase{pixels: 1 + int(pixels)%20, k: 1 + int(k)%700, n: 1 + int(n)%80,
			tight: rng.IntN(2) == 0, extreme: rng.IntN(3) == 0, multKind: rng.IntN(3)}
		runArmGEMM(t, rng, tab, c)
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
					tc := randArmDWCase(rng, k, stride, same)
					tc.h, tc.w = hw[0], hw[1]
					runArmDW(t, rng, tab, tc, rng.IntN(3))
				}
				for i := range iters {
					runArmDW(t, rng, tab, randArmDWCase(rng, k, stride, same), []int{0, 2}[i%2])
				}
			}
		}
	}
	// generic fallbacks inside the entry: even K, Shift <= 0, C too wide
	for _, k := range []int{1, 2, 4} {
		runArmDW(t, rng, tab, randArmDWCase(rng, k, 1, false), 0)
	}
	runArmDW(t, rng, tab, dwCase{h: 3, w: 4, c: dw32MaxC + 3, k: 3, stride: 1}, 0)
	// channel blocks plus an overlapping tail, long border runs
	runArmDW(t, rng, tab, dwCase{h: 7, w: 9, c: 150, k: 5, stride: 2, inOff: 3, inExtra: 40, outOff: 1, outExtra: 7}, 0)
	runArmDW(t, rng, tab, dwCase{h: 5, w: 5, c: 35, k: 11, stride: 1, extreme: true, largeBias: true}, 2)
	runArmDW(t, rng, tab, dwCase{h: 9, w: 9, c: 24, k: 11, stride: 1}, 0)
	runArmDW(t, rng, tab, dwCase{h: 7, w: 10, c: 40, k: 9, stride: 1, same: true, inOff: 1, outExtra: 3}, 2)
	runArmDW(t, rng, tab, dwCase{h: 14, w: 14, c: 120, k: 7, stride: 2, same: true, split: true}, 0)
}

func FuzzNeon32DWConv(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(1), uint8(9), uint8(7), uint8(20))
	f.Fuzz(func(t *testing.T, seed uint64, k, stride, h, w, c uint8) {
		tab := neon32(t)
		rng := rand.New(rand.NewPCG(seed, 11))
		tc := randArmDWCase(rng, 1+int(k)%11, 1+int(stride)%2, seed%2 == 0)
		tc.h, tc.w, tc.c = 1+int(h)%20, 1+int(w)%20, 1+int(c)%80
		runArmDW(t, rng, tab, tc, rng.IntN(3))
	})
}

func TestNeon32Elementwise(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(4, 32))
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
	runArmElementwise(t, rng, tab, 3, cmMaxC32+40+5, true) // chanMul32 in chunks of cmMaxC32 channels
}

func TestNeon32Stem(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(6, 32))
	iters := 150
	if testing.Short() {
		iters = 50
	}
	for range iters {
		runArmStem(t, rng, tab, randStemCase(rng), rng.IntN(3))
	}
	// MixNet-S's stem on a small image, a 1-pixel image, and a shape too
	// large for the stack packing (generic fallback).
	runArmStem(t, rng, tab, stemCase{h: 17, w: 19, cin: 3, cout: 16, k: 3, stride: 2, same: true}, 0)
	runArmStem(t, rng, tab, stemCase{h: 1, w: 1, cin: 3, cout: 16, k: 3, stride: 2, extreme: true}, 1)
	runArmStem(t, rng, tab, stemCase{h: 5, w: 6, cin: 4, cout: 100, k: 7, stride: 1, outOff: 1}, 2)
}
