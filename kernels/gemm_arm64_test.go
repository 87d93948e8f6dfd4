//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// asmTiers are the arm64 tiers this CPU runs (the generic tier excluded).
func asmTiers() []*Table {
	var ts []*Table
	for _, t := range Tiers() {
		if t.Name != "generic" {
			ts = append(ts, t)
		}
	}
	return ts
}

func forTiers(t *testing.T, f func(t *testing.T, tab *Table)) {
	ts := asmTiers()
	if len(ts) == 0 {
		t.Skip("no arm64 tier on this CPU")
	}
	for _, tab := range ts {
		t.Run(tab.Name, func(t *testing.T) { f(t, tab) })
	}
}

func TestArmGEMM(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(1, uint64(len(tab.Name))))
		// Every small shape, then random ones.
		for k := 1; k <= 40; k++ {
			for n := 1; n <= 17; n += 1 + k%3 {
				c := armGEMMCase{pixels: 1 + (k+n)%6, k: k, n: n, tight: k%2 == 0, multKind: n % 3, extreme: k%5 == 0}
				runArmGEMM(t, rng, tab, c)
			}
		}
		// Pixel counts that reach the 8-row dotprod kernel and its 4-row
		// and 1-row remainders, on k with and without K tails and with odd
		// and even 16-k step counts (the loops are unrolled by two), whole and
		// overlapping last blocks, every multiplier kind and clamps.
		i := 0
		for _, px := range []int{8, 12, 15, 16, 21, 29} {
			for _, k := range []int{3, 8, 16, 20, 24, 40, 48, 60, 72, 116} {
				for _, n := range []int{8, 12, 16, 20, 36} {
					i++
					c := armGEMMCase{pixels: px, k: k, n: n, tight: i%3 == 0, multKind: i % 3, extreme: i%4 == 0, largeBias: i%5 == 0}
					if i%2 == 0 {
						c.inOff, c.inExtra, c.outOff, c.outExtra = i%4, i%7, i%3, i%5
					}
					runArmGEMM(t, rng, tab, c)
				}
			}
		}
		iters := 400
		if testing.Short() {
			iters = 120
		}
		for range iters {
			runArmGEMM(t, rng, tab, randArmGEMMCase(rng, testing.Short()))
		}
		// A long row whose padded read would leave src: the scalar path.
		runArmGEMM(t, rng, tab, armGEMMCase{pixels: 2, k: rowBufLen + 3, n: 9, tight: true})
		runArmGEMM(t, rng, tab, armGEMMCase{pixels: 5, k: 1536, n: 13, tight: true, extreme: true})
	})
}

func TestArmPackGEMM(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(2, 2))
		for range 50 {
			k, n := 1+rng.IntN(70), 1+rng.IntN(30)
			w := randWeights(rng, n*k, false)
			p := tab.PackGEMM(w, k, n)
			// The number of non-zeros: w's, plus the copies of the channels
			// the overlapping last block repeats (padding must be zero).
			var nz int
			for _, v := range p {
				if v != 0 {
					nz++
				}
			}
			nr := map[string]int{"neon": 8, "dotprod": 8}[tab.Name]
			var wz int
			for i, v := range w {
				if co := i / k; v != 0 {
					wz++
					if nr > 0 && n > nr && n%nr != 0 && co >= n-nr && co < n/nr*nr {
						wz++
					}
				}
			}
			if nz != wz {
				t.Fatalf("k=%d n=%d: packed has %d non-zeros, want %d (padding must be zero)", k, n, nz, wz)
			}
			if &p[0] == &w[0] {
				t.Fatal("PackGEMM must return a new slice")
			}
			// Every weight where the layout's index puts it (pack copies
			// runs; index is the definition the scalar paths use).
			l, ok := map[string]gemmLayout{"neon": neonLayout, "dotprod": dotLayout}[tab.Name]
			if !ok {
				continue
			}
			for co := range n {
				for ci := range k {
					if got := p[l.index(co, ci, l.kpad(k), n)]; got != w[co*k+ci] {
						t.Fatalf("%s k=%d n=%d: w[%d][%d] = %d packed at its index as %d", tab.Name, k, n, co, ci, w[co*k+ci], got)
					}
				}
			}
		}
	})
}

func FuzzArmGEMM(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint16(17), uint8(5))
	f.Add(uint64(7), uint8(1), uint16(1), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, pixels uint8, k uint16, n uint8) {
		ts := asmTiers()
		if len(ts) == 0 {
			t.Skip("no arm64 tier")
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		c := randArmGEMMCase(rng, true)
		c.pixels, c.k, c.n = 1+int(pixels)%20, 1+int(k)%700, 1+int(n)%80
		for _, tab := range ts {
			runArmGEMM(t, rng, tab, c)
		}
	})
}

func TestArmGEMMAllocs(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		const px, k, n = 30, 67, 45
		src := make([]int8, px*k)
		dst := make([]int8, px*n)
		w := tab.PackGEMM(make([]int8, n*k), k, n)
		bias := make([]int32, n)
		rq := make([]quant.Multiplier, n)
		scale := make([]float32, n)
		logits := make([]float32, px*n)
		tight := src[: px*k : px*k]
		for name, f := range map[string]func(){
			"gemm":     func() { tab.GEMM(dst, n, tight, k, px, k, n, w, bias, rq, 0, -128, 127) },
			"gemm_f32": func() { tab.GEMMF32(logits, tight, k, px, k, n, w, bias, scale) },
		} {
			if a := testing.AllocsPerRun(20, f); a != 0 {
				t.Errorf("%s: %v allocs per run", name, a)
			}
		}
	})
}

func BenchmarkArmGEMM(b *testing.B) {
	for _, tab := range asmTiers() {
		for _, sh := range []struct{ px, k, n int }{{196, 80, 480}, {49, 960, 160}, {1, 1536, 1000}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", tab.Name, sh.px, sh.k, sh.n), func(b *testing.B) {
				src := benchInt8s(sh.px * sh.k)
				dst := make([]int8, sh.px*sh.n)
				w := tab.PackGEMM(benchInt8s(sh.k*sh.n), sh.k, sh.n)
				bias := make([]int32, sh.n)
				rq := benchMults(sh.n)
				for b.Loop() {
					tab.GEMM(dst, sh.n, src, sh.k, sh.px, sh.k, sh.n, w, bias, rq, 0, -128, 127)
				}
				reportGMACs(b, sh.px*sh.k*sh.n)
			})
		}
	}
}

// dotTier is the dotprod table, or nil (with t skipped) when this CPU has
// none.
func dotTier(t *testing.T) *Table {
	for _, tab := range asmTiers() {
		if tab.Name == "dotprod" {
			return tab
		}
	}
	t.Skip("no dotprod tier on this CPU (run under qemu-aarch64 -cpu cortex-a76)")
	return nil
}

// TestArmPackDot8Rows checks packDot8Rows against its layout:
// [rows/8][kpad/16][8][16], then the 8-k and 4-k steps as [8][8], [8][4].
func TestArmPackDot8Rows(t *testing.T) {
	dotTier(t)
	rng := rand.New(rand.NewPCG(5, 8))
	for _, rows := range []int{8, 16, 40} {
		for kp := 4; kp <= 100; kp += 4 {
			stride := kp + rng.IntN(9)
			src := randInt8s(rng, (rows-1)*stride+kp, false)
			dst := newBuf(rng, rows*kp)
			want := dst.clone()
			pos := guard
			for g := 0; g < rows/8; g++ {
				for k0, step := 0, 16; k0 < kp; k0 += step {
					for step > kp-k0 {
						step /= 2
					}
					for r := 0; r < 8; r++ {
						copy(want[pos:pos+step], src[(8*g+r)*stride+k0:])
						pos += step
					}
				}
			}
			packDot8Rows(&dst.view(0, rows*kp)[0], &src[0], stride, rows, kp)
			checkBuf(t, fmt.Sprintf("packDot8Rows rows=%d kpad=%d stride=%d", rows, kp, stride), dst.b, want)
		}
	}
}

// TestArmGEMMDotPacked runs the dotprod GEMM's packed path (packDot8Rows,
// gemmQ8Dot8Packed, gemmQ8Dot8HPacked) against the generic GEMM: K tails
// 0/4/8/12 mod 16 with odd and even 16-k step counts, n from one block
// and a half to many (whole, half and full overlapping last blocks),
// pixel counts around the 8-row groups, chunks of rows forced by a lowered
// scratch limit, wide strides and guard bands around dst; then with every
// scratch slot busy (the unpacked fallback).
func TestArmGEMMDotPacked(t *testing.T) {
	tab := dotTier(t)
	rng := rand.New(rand.NewPCG(12, 9))
	defer func(l int) { dotPackLimit = l }(dotPackLimit)
	i := 0
	for _, k := range []int{3, 4, 8, 12, 16, 20, 24, 28, 32, 44, 48, 60, 100} {
		for _, n := range []int{9, 12, 13, 16, 20, 23, 36, 60} {
			for _, px := range []int{8, 15, 24, 41} {
				i++
				kp := dotLayout.kpad(k)
				// one or two row groups a chunk, or the whole input
				dotPackLimit = []int{8 * kp, 16 * kp, dotPackBytes}[i%3]
				c := armGEMMCase{pixels: px, k: k, n: n, tight: i%3 == 0, multKind: i % 3, extreme: i%4 == 0, largeBias: i%5 == 0}
				if i%2 == 0 {
					c.inOff, c.inExtra, c.outOff, c.outExtra = i%4, 1+i%37, i%3, 1+i%9
				}
				runArmGEMM(t, rng, tab, c)
				runDotPacked(t, rng, c)
			}
		}
	}
	dotPackLimit = dotPackBytes
	// MixNet-S depths, one chunk and several
	for _, c := range []armGEMMCase{{pixels: 196, k: 240, n: 40}, {pixels: 49, k: 960, n: 160, extreme: true},
		{pixels: 56, k: 1536, n: 13, tight: true}, {pixels: 64, k: 4096, n: 17}} {
		runArmGEMM(t, rng, tab, c)
		runDotPacked(t, rng, c)
	}
	for range 60 {
		c := randArmGEMMCase(rng, true)
		c.pixels += 8
		dotPackLimit = 8 * (1 + rng.IntN(4)) * dotLayout.kpad(c.k)
		runArmGEMM(t, rng, tab, c)
	}
	dotPackLimit = dotPackBytes
	for i := range dotPackPool {
		dotPackPool[i].busy.Store(true)
	}
	defer func() {
		for i := range dotPackPool {
			dotPackPool[i].busy.Store(false)
		}
	}()
	if r := gemmQ8DotPacked(nil, 0, nil, 0, 8, 16, 16, nil, nil, nil, 0, -128, 127); r != 0 {
		t.Fatalf("gemmQ8DotPacked with every slot busy did %d rows, want 0", r)
	}
	runArmGEMM(t, rng, tab, armGEMMCase{pixels: 29, k: 60, n: 20, inExtra: 5})
}

// runDotPacked calls gemmQ8DotPacked on c's 8-row groups (c.n > 8) and
// checks that it took them all and matches the generic GEMM.
func runDotPacked(tb testing.TB, rng *rand.Rand, c armGEMMCase) {
	tb.Helper()
	rows := c.pixels &^ 7
	kp := dotLayout.kpad(c.k)
	srcStride := c.inOff + c.k + c.inExtra
	dstStride := c.outOff + c.n + c.outExtra
	// the kernels read kpad bytes a row: the last row's stay inside src
	src := newBuf(rng, (rows-1)*srcStride+kp+c.inOff)
	if c.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, c.n*c.k, c.extreme)
	q := randQuantOut(rng)
	rq := multsOfKind(tb, rng, c.n, c.k, c.multKind)
	bias := fold(tb, randBias(rng, c.n, c.largeBias), w, c.n, c.k, q.zIn)
	srcView := src.view(c.inOff, span(rows, srcStride, c.k))
	got := newBuf(rng, rows*dstStride)
	want := got.clone()
	GEMMQS8(want[guard+c.outOff:], dstStride, srcView, srcStride, rows, c.k, c.n, w, bias, rq, q.zOut, q.qmin, q.qmax)
	if r := gemmQ8DotPacked(got.view(c.outOff, span(rows, dstStride, c.n)), dstStride, &srcView[0], srcStride, rows, kp, c.n,
		packGEMMDot(w, c.k, c.n), bias, rq, q.zOut, q.qmin, q.qmax); r != rows {
		tb.Fatalf("%s: gemmQ8DotPacked did %d rows, want %d (limit %d)", c, r, rows, dotPackLimit)
	}
	checkBuf(tb, fmt.Sprintf("packed %s limit %d: dst", c, dotPackLimit), got.b, want)
}
