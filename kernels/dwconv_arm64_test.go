//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

func TestArmDWConv(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(3, uint64(len(tab.Name))))
		grid := dwGridBlocks
		iters := 12
		if testing.Short() {
			iters = 5
		}
		for _, k := range dwKernels {
			for _, stride := range []int{1, 2} {
				for _, same := range []bool{false, true} {
					// 1-pixel images and 1-wide / 1-high ones.
					for _, hw := range [][2]int{{1, 1}, {1, 5}, {6, 1}} {
						tc := randArmDWCase(rng, k, stride, same)
						tc.h, tc.w = hw[0], hw[1]
						runArmDW(t, rng, tab, tc, rng.IntN(4))
					}
					for range iters {
						runArmDW(t, rng, tab, randArmDWCase(rng, k, stride, same), rng.IntN(4))
					}
				}
			}
		}
		// Kernels without an unrolled interior path (the per-tap kernel).
		for _, k := range []int{1, 2, 4, 6} {
			for i := range 2 * iters {
				runArmDW(t, rng, tab, randArmDWCase(rng, k, 1+i%2, i%4 < 2), rng.IntN(3))
			}
		}
		// A wide tensor: channel blocks plus an overlapping tail.
		runArmDW(t, rng, tab, dwCase{h: 7, w: 9, c: 150, k: 5, stride: 2, inOff: 3, inExtra: 40, outOff: 1, outExtra: 7}, 0)
		runArmDW(t, rng, tab, dwCase{h: 5, w: 5, c: 35, k: 11, stride: 1, extreme: true, largeBias: true}, 1)
		runArmDW(t, rng, tab, dwCase{h: 5, w: 5, c: 35, k: 3, stride: 1, extreme: true}, 2)
		// Wide channel counts: padded strips of more than 512 bytes a pixel.
		runArmDW(t, rng, tab, dwCase{h: 4, w: 6, c: 533, k: 3, stride: 1, inExtra: 5, outOff: 2}, 1)
		runArmDW(t, rng, tab, dwCase{h: 3, w: 3, c: 528, k: 5, stride: 2, same: true, extreme: true}, 0)
		// Long border runs (no interior: the whole row is one strip).
		runArmDW(t, rng, tab, dwCase{h: 9, w: 9, c: 24, k: 11, stride: 1}, 0)
		runArmDW(t, rng, tab, dwCase{h: 7, w: 10, c: 40, k: 9, stride: 1, same: true, inOff: 1, outExtra: 3}, 1)
		// Every block on the 2^-31 grid (the SQRDMULH requantization).
		runArmDW(t, rng, tab, dwCase{h: 8, w: 21, c: 40, k: 3, stride: 1, split: true}, 3)
		runArmDW(t, rng, tab, dwCase{h: 9, w: 13, c: 33, k: 5, stride: 2, same: true, extreme: true}, 3)
		runArmDW(t, rng, tab, dwCase{h: 7, w: 9, c: 150, k: 7, stride: 1, inOff: 3, inExtra: 40, outOff: 1, outExtra: 7}, 3)
		runArmDW(t, rng, tab, dwCase{h: 12, w: 40, c: 24, k: 3, stride: 2, same: true, split: true}, 3)
		// Stride 3: the unrolled kernels of any stride (pairs, then one).
		runArmDW(t, rng, tab, dwCase{h: 10, w: 17, c: 40, k: 3, stride: 3}, 3)
		runArmDW(t, rng, tab, dwCase{h: 11, w: 16, c: 33, k: 5, stride: 3, same: true}, 0)
		checkGridBlocks(t, grid)
	})
}

// TestArmDWConvPad runs the neon kernel's padded strips on MixNet-sized
// maps, in bands forced by a small scratch, with strips too large for it
// (the per-tap fallback) and with every scratch slot busy.
func TestArmDWConvPad(t *testing.T) {
	var neon *Table
	for _, tab := range asmTiers() {
		if tab.Name == "neon" {
			neon = tab
		}
	}
	if neon == nil {
		t.Skip("no neon tier on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 3))
	big := []dwCase{
		{h: 5, w: 112, c: 16, k: 3, stride: 1},
		{h: 9, w: 56, c: 48, k: 7, stride: 2, same: true},
		{h: 14, w: 14, c: 90, k: 9, stride: 1, inOff: 3, inExtra: 5, outOff: 2, outExtra: 1},
		{h: 14, w: 14, c: 144, k: 11, stride: 2, split: true},
		{h: 7, w: 7, c: 300, k: 9, stride: 1, extreme: true},
		{h: 6, w: 28, c: 120, k: 5, stride: 1, split: true},
	}
	// Plain weights (no row sums: the biases of rows with kernel rows
	// outside the image are summed in Go), as the dotprod tier passes them.
	plain := *neon
	plain.PackDW = packDWPlain
	for i, tc := range big {
		runArmDW(t, rng, neon, tc, i%3)
		runArmDW(t, rng, &plain, tc, (i+1)%3)
	}
	defer func(v int) { dwPadLimit = v }(dwPadLimit)
	// 9 << 10: bands of a few rows; 3000: bands of one output row, column
	// tiles or the fallback; 1: always the fallback.
	for _, limit := range []int{9 << 10, 3000, 1} {
		dwPadLimit = limit
		for _, k := range dwKernels {
			for st := 1; st <= 2; st++ {
				tc := randArmDWCase(rng, k, st, rng.IntN(2) == 0)
				tc.h = 1 + rng.IntN(16)
				runArmDW(t, rng, neon, tc, rng.IntN(3))
			}
		}
	}
	dwPadLimit = dwPadScratch
	for i := range dwPadPool {
		dwPadPool[i].busy.Store(true)
	}
	defer func() {
		for i := range dwPadPool {
			dwPadPool[i].busy.Store(false)
		}
	}()
	runArmDW(t, rng, neon, dwCase{h: 9, w: 11, c: 33, k: 5, stride: 1, split: true}, 1)
	runArmDW(t, rng, neon, dwCase{h: 7, w: 7, c: 40, k: 9, stride: 2, same: true}, 0)
	for i := range dwPadPool {
		dwPadPool[i].busy.Store(false)
	}
	// More channels than dwPrepRQ's scratch: the per-tap path too.
	runArmDW(t, rng, neon, dwCase{h: 3, w: 5, c: dwPrepMaxC + 37, k: 3, stride: 1, inExtra: 3}, 2)
}

// TestArmDWConvDot runs the SDOT depthwise kernel on MixNet-sized maps, with
// column tiles forced by a small scratch, and with every scratch slot busy
// (the neon fallback).
func TestArmDWConvDot(t *testing.T) {
	var dot *Table
	for _, tab := range asmTiers() {
		if tab.Name == "dotprod" {
			dot = tab
		}
	}
	if dot == nil {
		t.Skip("no dotprod tier on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 7))
	grid := dwGridBlocks
	for _, k := range dwKernels {
		if got, plain := len(dot.PackDW(make([]int8, k*k*16), k, 16)), k*k*16; got <= plain {
			t.Errorf("k=%d: PackDW gave %d bytes, no packed copy after the %d plain ones", k, got, plain)
		}
	}
	big := []dwCase{
		{h: 6, w: 112, c: 16, k: 3, stride: 1},
		{h: 7, w: 112, c: 40, k: 3, stride: 2, split: true},
		{h: 9, w: 56, c: 48, k: 7, stride: 2, same: true},
		{h: 14, w: 14, c: 90, k: 9, stride: 1, inOff: 3, inExtra: 5, outOff: 2, outExtra: 1},
		{h: 14, w: 14, c: 144, k: 11, stride: 2, split: true},
		{h: 7, w: 7, c: 300, k: 9, stride: 1, extreme: true},
		{h: 28, w: 28, c: 120, k: 5, stride: 1, split: true},
	}
	for i, tc := range big {
		runArmDW(t, rng, dot, tc, i%3)
	}
	// Every block on the 2^-31 grid (the SQRDMULH requantization).
	for _, tc := range []dwCase{
		{h: 10, w: 57, c: 40, k: 3, stride: 1, split: true},
		{h: 10, w: 56, c: 40, k: 3, stride: 2, same: true},
		{h: 12, w: 29, c: 72, k: 5, stride: 1, extreme: true},
		{h: 11, w: 28, c: 24, k: 5, stride: 2},
		{h: 9, w: 14, c: 48, k: 9, stride: 1, split: true},
		{h: 14, w: 14, c: 33, k: 11, stride: 2, same: true},
		{h: 13, w: 15, c: 40, k: 11, stride: 1, split: true}, // 10 and 11 rows: the row loop
	} {
		runArmDW(t, rng, dot, tc, 3)
	}
	defer func(v int) { dwDotScratchLimit = v }(dwDotScratchLimit)
	for _, limit := range []int{12 << 10, 6 << 10, 1} {
		dwDotScratchLimit = limit
		for _, k := range dwKernels {
			for st := 1; st <= 2; st++ {
				tc := randArmDWCase(rng, k, st, rng.IntN(2) == 0)
				tc.w = 1 + rng.IntN(60)
				runArmDW(t, rng, dot, tc, rng.IntN(4))
			}
		}
	}
	dwDotScratchLimit = dwDotScratchSize
	for i := range dwDotPool {
		dwDotPool[i].busy.Store(true)
	}
	defer func() {
		for i := range dwDotPool {
			dwDotPool[i].busy.Store(false)
		}
	}()
	runArmDW(t, rng, dot, dwCase{h: 9, w: 11, c: 33, k: 5, stride: 1, split: true}, 1)
	checkGridBlocks(t, grid)
}

// TestArmDWDotLayout pins the struct offsets dwconv_dot_arm64.s reads.
func TestArmDWDotLayout(t *testing.T) {
	var q dwDotRQ
	got := []uintptr{unsafe.Offsetof(q.m), unsafe.Offsetof(q.r), unsafe.Offsetof(q.l), unsafe.Offsetof(q.b),
		unsafe.Offsetof(q.bp), unsafe.Offsetof(q.zIn), unsafe.Offsetof(q.zOut), unsafe.Offsetof(q.qmin),
		unsafe.Offsetof(q.qmax), unsafe.Offsetof(q.flags), unsafe.Offsetof(q.clamp)}
	want := []uintptr{0, 64, 128, 192, 256, 320, 324, 328, 332, 336, 340}
	if !slices.Equal(got, want) {
		t.Errorf("dwDotRQ offsets %v, the asm reads %v", got, want)
	}
	var a dwDotTile
	got = []uintptr{unsafe.Offsetof(a.dst), unsafe.Offsetof(a.outStride), unsafe.Offsetof(a.n), unsafe.Offsetof(a.rowOut),
		unsafe.Offsetof(a.src), unsafe.Offsetof(a.srcOff), unsafe.Offsetof(a.rowIn), unsafe.Offsetof(a.inStride),
		unsafe.Offsetof(a.p), unsafe.Offsetof(a.padL), unsafe.Offsetof(a.nIn), unsafe.Offsetof(a.padR),
		unsafe.Offsetof(a.z), unsafe.Offsetof(a.nt), unsafe.Offsetof(a.xs), unsafe.Offsetof(a.k),
		unsafe.Offsetof(a.padTop), unsafe.Offsetof(a.h), unsafe.Offsetof(a.oy0), unsafe.Offsetof(a.oy1),
		unsafe.Offsetof(a.w), unsafe.Offsetof(a.sums), unsafe.Offsetof(a.rq), unsafe.Offsetof(a.rxs),
		unsafe.Offsetof(a.rn), unsafe.Offsetof(a.rw), unsafe.Offsetof(a.rtop), unsafe.Offsetof(a.rbot)}
	want = nil
	for i := range got {
		want = append(want, uintptr(8*i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("dwDotTile offsets %v, the asm reads %v", got, want)
	}
}

func FuzzArmDWConv(f *testing.F) {
	f.Add(uint64(1), uint8(5), uint8(7), uint8(20), uint8(1), uint8(0))
	f.Add(uint64(2), uint8(1), uint8(1), uint8(16), uint8(4), uint8(3))
	f.Add(uint64(3), uint8(6), uint8(111), uint8(40), uint8(0), uint8(1))
	f.Add(uint64(4), uint8(13), uint8(13), uint8(89), uint8(4), uint8(6))
	f.Fuzz(func(t *testing.T, seed uint64, h, w, c, kIdx, mode uint8) {
		ts := asmTiers()
		if len(ts) == 0 {
			t.Skip("no arm64 tier")
		}
		rng := rand.New(rand.NewPCG(seed, 5))
		tc := randArmDWCase(rng, dwKernels[int(kIdx)%len(dwKernels)], 1+int(mode)%2, mode&2 != 0)
		tc.h, tc.w, tc.c = 1+int(h)%20, 1+int(w)%120, 1+int(c)%100 // rows up to 120 wide (MixNet: 112)
		for _, tab := range ts {
			runArmDW(t, rng, tab, tc, int(mode>>2)%4)
		}
	})
}

func TestArmDWConvAllocs(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		const h, w, c = 9, 9, 40
		src := make([]int8, h*w*c)
		dst := make([]int8, h*w*c)
		wts := tab.PackDW(make([]int8, 11*11*c), 11, c)
		bias := make([]int32, c)
		rq := benchMults(c)
		dw := DWConvShape{H: h, W: w, C: c, InStride: c, OutStride: c, K: 11, Stride: 1, PadTop: 5, PadLeft: 5, OH: h, OW: w}
		if a := testing.AllocsPerRun(10, func() {
			tab.DWConv(dst, src, wts, bias, rq, &dw, 3, -2, -128, 127, 0, h)
		}); a != 0 {
			t.Errorf("%v allocs per run", a)
		}
	})
}

func BenchmarkArmDWConv(b *testing.B) {
	for _, tab := range asmTiers() {
		for _, d := range dwBenches {
			oh, pad := SymmetricPad(d.h, d.k, d.s)
			s := DWConvShape{H: d.h, W: d.h, C: d.c, InStride: d.c, OutStride: d.c, K: d.k, Stride: d.s,
				PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
			b.Run(fmt.Sprintf("%s/k%d_s%d_%dx%dx%d", tab.Name, d.k, d.s, d.h, d.h, d.c), func(b *testing.B) {
				src := benchInt8s(d.h * d.h * d.c)
				dst := make([]int8, oh*oh*d.c)
				w := tab.PackDW(benchInt8s(d.k*d.k*d.c), d.k, d.c)
				bias := make([]int32, d.c)
				rq := benchMults(d.c)
				for b.Loop() {
					tab.DWConv(dst, src, w, bias, rq, &s, 0, 0, -128, 127, 0, oh)
				}
				reportGMACs(b, oh*oh*d.c*d.k*d.k)
			})
		}
	}
}
