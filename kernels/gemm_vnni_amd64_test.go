//go:build !purego

package kernels

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// needVNNI skips tests of the vnni tier on CPUs without AVX-512 VNNI.
func needVNNI(tb testing.TB) {
	tb.Helper()
	if !hasVNNI() {
		tb.Skip("CPU (or OS) has no AVX-512 F/BW/VL + VNNI: the vnni tier is not tested here")
	}
}

func runGEMMVNNI(tb testing.TB, rng *rand.Rand, tc gemmCase, edge bool) {
	tb.Helper()
	runGEMMTier(tb, rng, tc, edge, nil, "vnni", PackGEMMVNNI, PackGEMMVNNI, GEMMQS8VNNI)
}

func TestVNNIGEMM(t *testing.T) {
	needVNNI(t)
	rng := rand.New(rand.NewPCG(61, 62))
	for _, tc := range []gemmCase{
		{pixels: 1, groups: 1, k: 1, n: 1},
		{pixels: 6, groups: 1, k: 4, n: 16},
		{pixels: 7, groups: 1, k: 5, n: 17},
		{pixels: 12, groups: 1, k: 8, n: 64},
		{pixels: 13, groups: 2, k: 12, n: 48, inOff: 1, outOff: 2, outExtra: 1},
		{pixels: 49, groups: 1, k: 200, n: 120, inOff: 1, inExtra: 2, outOff: 3, outExtra: 1},
		{pixels: 25, groups: 1, k: 7, n: 70},
		{pixels: 18, groups: 1, k: 120, n: 60, extreme: true},
		{pixels: 49, groups: 1, k: 200, n: 200, largeBias: true},
		{pixels: 6, groups: 1, k: 24, n: 144, extreme: true, largeBias: true},
		{pixels: 3, groups: 1, k: 1200, n: 40},
		{pixels: 7, groups: 1, k: 4100, n: 33}, // rows past the stack row buffer
		{pixels: 1, groups: 1, k: 1584, n: 66, extreme: true},
		{pixels: 1, groups: 1, k: 65, n: 1584, largeBias: true},
		{pixels: 1, groups: 1, k: 1536, n: 1000, inOff: 1, outOff: 2, largeBias: true},
		{pixels: 1, groups: 2, k: 33, n: 9, inOff: 2, outOff: 1},
	} {
		runGEMMVNNI(t, rng, tc, false)
		runGEMMVNNI(t, rng, tc, true)
	}
	for i := range trials(1500) {
		runGEMMVNNI(t, rng, randGEMMCaseAVX2(rng), i%2 == 0)
	}
}

// TestVNNIGEMMTails runs every pixel rest (pixels % 6) with every block
// count and channel tail of a chunk, in a first and a second chunk, with
// REQH (clamp and no clamp) and raw-mode multipliers.
func TestVNNIGEMMTails(t *testing.T) {
	needVNNI(t)
	rng := rand.New(rand.NewPCG(63, 64))
	for pixels := 1; pixels <= 13; pixels++ {
		for _, n := range []int{1, 15, 16, 17, 31, 32, 33, 48, 50, 64, 65, 80, 100, 127, 128} {
			tc := gemmCase{pixels: pixels, groups: 1, k: 1 + rng.IntN(40), n: n,
				outOff: rng.IntN(3), outExtra: rng.IntN(3), inOff: rng.IntN(3)}
			runGEMMVNNI(t, rng, tc, pixels%2 == 0)
		}
	}
}

// TestVNNIGEMMExtremes runs the worst operands for VPDPBUSD: x = 127
// (u = 255) against w = -128 and x = -128 (u = 0) against 127, at
// MixNet-L's largest k (1584) and at k past VNNIKMax, where the unsigned
// sums wrap in int32 and the result must still be exact.
func TestVNNIGEMMExtremes(t *testing.T) {
	needVNNI(t)
	if VNNIKMax < 65793 || 255*128*VNNIKMax > 1<<31-1 {
		t.Fatalf("VNNIKMax = %d is not the bound 255*128*k < 2^31", VNNIKMax)
	}
	for _, k := range []int{1584, VNNIKMax + 7} {
		for _, xv := range []int8{127, -128} {
			const pixels, n = 7, 20
			src := make([]int8, pixels*k)
			for i := range src {
				src[i] = xv
			}
			w := make([]int8, n*k)
			for i := range w {
				w[i] = -128
				if xv < 0 {
					w[i] = 127
				}
			}
			bias := make([]int32, n)
			rq := make([]quant.Multiplier, n)
			for c := range rq {
				// acc = ±127*128*k; scale it into int8's range.
				rq[c] = quant.Multiplier{M: 1 << 30, Shift: 22 + int32(c%4)}
				bias[c] = int32(c * 1000)
			}
			want := make([]int8, pixels*n)
			got := make([]int8, pixels*n)
			GEMMQS8(want, n, src, k, pixels, k, n, w, bias, rq, 3, -128, 127)
			GEMMQS8VNNI(got, n, src, k, pixels, k, n, PackGEMMVNNI(w, k, n), bias, rq, 3, -128, 127)
			if !slices.Equal(got, want) {
				t.Fatalf("k=%d x=%d: got %v, want %v", k, xv, got[:n], want[:n])
			}
		}
	}
}

// TestVNNIGEMMShortSrc gives src slices whose capacity ends right after
// the last pixel's k bytes, so the last rows' k-quad reads must go
// through the row copy.
func TestVNNIGEMMShortSrc(t *testing.T) {
	needVNNI(t)
	rng := rand.New(rand.NewPCG(65, 66))
	for _, k := range []int{1, 2, 3, 5, 6, 7, 13, 27, 29, 4095, 4097} {
		for _, pixels := range []int{1, 2, 5, 6, 7, 13} {
			n := 1 + rng.IntN(80)
			stride := k + rng.IntN(2)
			src := slices.Clip(randInt8s(rng, span(pixels, stride, k), false))
			w := randWeights(rng, n*k, false)
			bias := randBias(rng, n, false)
			rq := randMults(t, rng, n, k)
			want := make([]int8, pixels*n)
			got := make([]int8, pixels*n)
			GEMMQS8(want, n, src, stride, pixels, k, n, w, bias, rq, -5, -100, 120)
			GEMMQS8VNNI(got, n, src, stride, pixels, k, n, PackGEMMVNNI(w, k, n), bias, rq, -5, -100, 120)
			if !slices.Equal(got, want) {
				t.Fatalf("k=%d pixels=%d n=%d: differs", k, pixels, n)
			}
			scale := make([]float32, n)
			for c := range scale {
				scale[c] = float32(rng.NormFloat64() * 1e-3)
			}
			fw, fg := make([]float32, pixels*n), make([]float32, pixels*n)
			GEMMQS8F32(fw, src, stride, pixels, k, n, w, bias, scale)
			GEMMQS8F32VNNI(fg, src, stride, pixels, k, n, PackGEMMVNNI(w, k, n), bias, scale)
			if !slices.Equal(fg, fw) {
				t.Fatalf("f32 k=%d pixels=%d n=%d: differs", k, pixels, n)
			}
		}
	}
}

func TestVNNIGEMMF32(t *testing.T) {
	needVNNI(t)
	rng := rand.New(rand.NewPCG(67, 68))
	for i := range trials(500) {
		pixels, k, n := 1+rng.IntN(14), 1+rng.IntN(300), 1+rng.IntN(150)
		switch i {
		case 0:
			pixels, k, n = 1, 1536, 1000
		case 1:
			pixels, k, n = 1, 1, 1
		}
		srcStride := k + rng.IntN(3)
		src := randInt8s(rng, span(pixels, srcStride, k), i%3 == 0)
		w := randWeights(rng, n*k, i%3 == 0)
		bias := randBias(rng, n, i%4 == 0)
		scale := make([]float32, n)
		for c := range scale {
			scale[c] = float32(rng.NormFloat64() * 1e-3)
		}
		want := make([]float32, pixels*n+1)
		got := make([]float32, pixels*n+1)
		want[pixels*n], got[pixels*n] = 42, 42
		GEMMQS8F32(want, src, srcStride, pixels, k, n, w, bias, scale)
		GEMMQS8F32VNNI(got, src, srcStride, pixels, k, n, PackGEMMVNNI(w, k, n), bias, scale)
		for j := range want {
			if got[j] != want[j] && !(got[j] != got[j] && want[j] != want[j]) {
				t.Fatalf("case %d (%d px, %d->%d): [%d] = %v, want %v", i, pixels, k, n, j, got[j], want[j])
			}
		}
	}
}

func TestVNNIGEMMPack(t *testing.T) {
	for _, kn := range [][2]int{{1, 1}, {3, 17}, {8, 48}, {15, 31}, {27, 16}} {
		k, n := kn[0], kn[1]
		w := make([]int8, k*n)
		for i := range w {
			w[i] = int8(i%251 - 125)
		}
		p := PackGEMMVNNI(w, k, n)
		if len(p) != vnniPackedLen(k, n) {
			t.Fatalf("len %d", len(p))
		}
		kq := (k + 3) / 4
		cs := vnniColSums(p, k, n)
		for co := range (n + 15) &^ 15 {
			var s int32
			for ci := range kq * 4 {
				got := p[co/16*kq*64+ci/4*64+co%16*4+ci%4]
				var want int8
				if co < n && ci < k {
					want = w[co*k+ci]
				}
				if got != want {
					t.Fatalf("k=%d n=%d: w[%d][%d] packed %d, want %d", k, n, co, ci, got, want)
				}
				s += int32(want)
			}
			if cs[co] != s {
				t.Fatalf("k=%d n=%d: column sum %d = %d, want %d", k, n, co, cs[co], s)
			}
		}
	}
}

func TestVNNIGEMMAllocs(t *testing.T) {
	needVNNI(t)
	const px, k, n = 49, 200, 200
	src, dst := make([]int8, px*k), make([]int8, px*n)
	w := PackGEMMVNNI(make([]int8, k*n), k, n)
	bias, rq := make([]int32, n), benchMults(n)
	f32, scale := make([]float32, n), make([]float32, n)
	if a := testing.AllocsPerRun(20, func() {
		GEMMQS8VNNI(dst, n, src, k, px, k, n, w, bias, rq, 0, -128, 127)
		GEMMQS8VNNI(dst, n, src, k, 1, k, n, w, bias, rq, 0, -128, 127)
		GEMMQS8F32VNNI(f32, src, k, 1, k, n, w, bias, scale)
	}); a != 0 {
		t.Fatalf("%v allocs per run", a)
	}
}

func FuzzVNNIGEMM(f *testing.F) {
	f.Add(uint64(1), false)
	f.Add(uint64(2), true)
	f.Fuzz(func(t *testing.T, seed uint64, edge bool) {
		needVNNI(t)
		rng := rand.New(rand.NewPCG(seed, 97))
		runGEMMVNNI(t, rng, randGEMMCaseAVX2(rng), edge)
	})
}

func BenchmarkVNNIGEMM(b *testing.B) {
	needVNNI(b)
	for _, g := range gemmBenchShapes {
		px := g.hw * g.hw
		src := benchInt8s(px * g.k)
		dst := make([]int8, px*g.n)
		w := benchInt8s(g.n * g.k)
		pa, pv := PackGEMMAVX2(w, g.k, g.n), PackGEMMVNNI(w, g.k, g.n)
		bias := make([]int32, g.n)
		rq := benchMults(g.n)
		name := fmt.Sprintf("%dx%d_%dto%d", g.hw, g.hw, g.k, g.n)
		b.Run(name+"/vnni", func(b *testing.B) {
			for b.Loop() {
				GEMMQS8VNNI(dst, g.n, src, g.k, px, g.k, g.n, pv, bias, rq, 0, -128, 127)
			}
			reportGMACs(b, px*g.k*g.n)
		})
		b.Run(name+"/avx2", func(b *testing.B) {
			for b.Loop() {
				GEMMQS8AVX2(dst, g.n, src, g.k, px, g.k, g.n, pa, bias, rq, 0, -128, 127)
			}
			reportGMACs(b, px*g.k*g.n)
		})
	}
	src, w := benchInt8s(1536), benchInt8s(1536*1000)
	pa, pv := PackGEMMAVX2(w, 1536, 1000), PackGEMMVNNI(w, 1536, 1000)
	bias, scale, dst := make([]int32, 1000), make([]float32, 1000), make([]float32, 1000)
	b.Run("classifier_1536to1000_f32/vnni", func(b *testing.B) {
		for b.Loop() {
			GEMMQS8F32VNNI(dst, src, 1536, 1, 1536, 1000, pv, bias, scale)
		}
		reportGMACs(b, 1536*1000)
	})
	b.Run("classifier_1536to1000_f32/avx2", func(b *testing.B) {
		for b.Loop() {
			GEMMQS8F32AVX2(dst, src, 1536, 1, 1536, 1000, pa, bias, scale)
		}
		reportGMACs(b, 1536*1000)
	})
}

// TestVNNIPrep checks vnniPrepAVX512 against the scalar prepGo: the
// fields the kernels read, and the verdict on multipliers that do not
// fit REQH, for every channel count of a chunk.
func TestVNNIPrep(t *testing.T) {
	if !hasPrep512 {
		t.Skip("this CPU has no AVX-512F with BMI2: prep runs prepGo only")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for trial := range 4000 {
		nc := 1 + trial%vnniChunk
		bias, cs := make([]int32, nc+3), make([]int32, nc+3)
		rq := make([]quant.Multiplier, nc+3)
		for i := range bias {
			bias[i] = int32(r.Uint32())
			cs[i] = r.Int32N(1<<20) - 1<<19
			rq[i] = quant.Multiplier{M: 1<<30 + r.Int32N(1<<30), Shift: 2 + r.Int32N(20)}
		}
		zOut := r.Int32N(256) - 128
		switch trial % 7 {
		case 3: // one channel out of REQH's range
			rq[r.IntN(nc)].Shift = 40 + r.Int32N(20)
		case 5: // the largest shift that fits, and a zero point far out
			zOut = r.Int32N(1<<20) - 1<<19
		case 6:
			rq[r.IntN(nc)].Shift = 1 // Shift-2 wraps: out of range
		}
		var want, got vnniEpi
		for _, e := range []*vnniEpi{&want, &got} {
			for i := range e.m { // stale values a previous chunk left
				e.bias[i], e.m[i], e.mo[i], e.c[i], e.sh[i] = -1, -1, -1, -1, -1
			}
		}
		okWant := want.prepGo(bias, cs, rq, zOut, nc)
		okGot := got.prep(bias, cs, rq, zOut, nc)
		if okGot != okWant {
			t.Fatalf("trial %d nc %d zOut %d: prep = %v, prepGo = %v", trial, nc, zOut, okGot, okWant)
		}
		tz := 2*int64(zOut) + 1
		if tz >= -1<<30 && tz <= 1<<30 {
			at := uint64(max(tz, -tz))
			var raw vnniEpi
			smax := int32(30 - bits.Len64(at-1))
			if asm := vnniPrepAVX512(&raw.bias[0], &bias[0], &cs[0], &rq[0].M, nc, int32(tz), smax); asm != okWant {
				t.Fatalf("trial %d nc %d: vnniPrepAVX512 = %v, prepGo = %v", trial, nc, asm, okWant)
			}
		}
		if !okWant {
			continue
		}
		end := (nc + vnniNR - 1) &^ (vnniNR - 1)
		for c := range end {
			if got.bias[c] != want.bias[c] || got.m[c] != want.m[c] || got.c[c] != want.c[c] || got.sh[c] != want.sh[c] ||
				(c%2 == 0 && c+1 < end && got.mo[c] != want.mo[c]) {
				t.Fatalf("trial %d nc %d channel %d: bias %d m %d mo %d c %d sh %d, want %d %d %d %d %d", trial, nc, c,
					got.bias[c], got.m[c], got.mo[c], got.c[c], got.sh[c], want.bias[c], want.m[c], want.mo[c], want.c[c], want.sh[c])
			}
		}
		if got.mask != want.mask {
			t.Fatalf("trial %d nc %d: mask %v, want %v", trial, nc, got.mask, want.mask)
		}
	}
}
