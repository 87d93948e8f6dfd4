//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// needAVXVNNI skips tests of the avxvnni tier on CPUs without AVX-VNNI.
func needAVXVNNI(tb testing.TB) {
	tb.Helper()
	if !hasAVXVNNI() {
		tb.Skip("CPU has no AVX2 + AVX-VNNI (VEX): the avxvnni tier is not tested here")
	}
}

func runGEMMAVXVNNI(tb testing.TB, rng *rand.Rand, tc gemmCase, edge bool) {
	tb.Helper()
	runGEMMTier(tb, rng, tc, edge, nil, "avxvnni", PackGEMMVNNI, PackGEMMVNNI, GEMMQS8AVXVNNI)
}

func TestAVXVNNIGEMM(t *testing.T) {
	needAVXVNNI(t)
	rng := rand.New(rand.NewPCG(71, 72))
	for _, tc := range []gemmCase{
		{pixels: 1, groups: 1, k: 1, n: 1},
		{pixels: 6, groups: 1, k: 4, n: 16},
		{pixels: 6, groups: 1, k: 4, n: 8},
		{pixels: 7, groups: 1, k: 5, n: 17},
		{pixels: 12, groups: 1, k: 8, n: 64},
		{pixels: 13, groups: 2, k: 12, n: 48, inOff: 1, outOff: 2, outExtra: 1},
		{pixels: 13, groups: 2, k: 24, n: 36, inOff: 1, outOff: 2, outExtra: 1}, // grouped, 4-channel tails
		{pixels: 49, groups: 1, k: 200, n: 120, inOff: 1, inExtra: 2, outOff: 3, outExtra: 1},
		{pixels: 25, groups: 1, k: 7, n: 70},
		{pixels: 150, groups: 1, k: 16, n: 12}, // tail scratch over several 64-pixel rounds
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
		runGEMMAVXVNNI(t, rng, tc, false)
		runGEMMAVXVNNI(t, rng, tc, true)
	}
	for i := range trials(1500) {
		runGEMMAVXVNNI(t, rng, randGEMMCaseAVX2(rng), i%2 == 0)
	}
}

// TestAVXVNNIGEMMTails runs every pixel rest (pixels % 6) with every
// channel tail of a 16-channel chunk (8 and 16: whole stores; others: the
// scratch), in a first and later chunks, REQH (clamp and no clamp) and
// raw-mode multipliers.
func TestAVXVNNIGEMMTails(t *testing.T) {
	needAVXVNNI(t)
	rng := rand.New(rand.NewPCG(73, 74))
	for pixels := 1; pixels <= 13; pixels++ {
		for n := 1; n <= 50; n++ {
			tc := gemmCase{pixels: pixels, groups: 1, k: 1 + rng.IntN(40), n: n,
				outOff: rng.IntN(3), outExtra: rng.IntN(3), inOff: rng.IntN(3)}
			runGEMMAVXVNNI(t, rng, tc, pixels%2 == 0)
		}
	}
}

// TestAVXVNNIGEMMExtremes is TestVNNIGEMMExtremes for the 256-bit kernel:
// the worst VPDPBUSD operands at MixNet-L's largest k (1584) and past
// VNNIKMax, where the unsigned sums wrap and the result must stay exact.
func TestAVXVNNIGEMMExtremes(t *testing.T) {
	needAVXVNNI(t)
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
				rq[c] = quant.Multiplier{M: 1 << 30, Shift: 22 + int32(c%4)}
				bias[c] = int32(c * 1000)
			}
			want := make([]int8, pixels*n)
			got := make([]int8, pixels*n)
			GEMMQS8(want, n, src, k, pixels, k, n, w, bias, rq, 3, -128, 127)
			GEMMQS8AVXVNNI(got, n, src, k, pixels, k, n, PackGEMMVNNI(w, k, n), bias, rq, 3, -128, 127)
			if !slices.Equal(got, want) {
				t.Fatalf("k=%d x=%d: got %v, want %v", k, xv, got[:n], want[:n])
			}
		}
	}
}

// TestAVXVNNIGEMMShortSrc: src ends right after the last pixel's k bytes,
// so the last rows' k-quad reads go through the row copy.
func TestAVXVNNIGEMMShortSrc(t *testing.T) {
	needAVXVNNI(t)
	rng := rand.New(rand.NewPCG(75, 76))
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
			GEMMQS8AVXVNNI(got, n, src, stride, pixels, k, n, PackGEMMVNNI(w, k, n), bias, rq, -5, -100, 120)
			if !slices.Equal(got, want) {
				t.Fatalf("k=%d pixels=%d n=%d: differs", k, pixels, n)
			}
			scale := make([]float32, n)
			for c := range scale {
				scale[c] = float32(rng.NormFloat64() * 1e-3)
			}
			fw, fg := make([]float32, pixels*n), make([]float32, pixels*n)
			GEMMQS8F32(fw, src, stride, pixels, k, n, w, bias, scale)
			GEMMQS8F32AVXVNNI(fg, src, stride, pixels, k, n, PackGEMMVNNI(w, k, n), bias, scale)
			if !slices.Equal(fg, fw) {
				t.Fatalf("f32 k=%d pixels=%d n=%d: differs", k, pixels, n)
			}
		}
	}
}

func TestAVXVNNIGEMMF32(t *testing.T) {
	needAVXVNNI(t)
	rng := rand.New(rand.NewPCG(77, 78))
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
		GEMMQS8F32AVXVNNI(got, src, srcStride, pixels, k, n, PackGEMMVNNI(w, k, n), bias, scale)
		for j := range want {
			if got[j] != want[j] && !(got[j] != got[j] && want[j] != want[j]) {
				t.Fatalf("case %d (%d px, %d->%d): [%d] = %v, want %v", i, pixels, k, n, j, got[j], want[j])
			}
		}
	}
}

func TestAVXVNNIGEMMAllocs(t *testing.T) {
	needAVXVNNI(t)
	const px, k, n = 49, 200, 204 // 204: a 12-channel tail chunk
	src, dst := make([]int8, px*k), make([]int8, px*n)
	w := PackGEMMVNNI(make([]int8, k*n), k, n)
	bias, rq := make([]int32, n), benchMults(n)
	f32, scale := make([]float32, n), make([]float32, n)
	const k2 = k - 1 // rows whose k-quad reads pass the clipped src: row copies
	w2 := PackGEMMVNNI(make([]int8, k2*n), k2, n)
	src2 := src[: px*k2 : px*k2]
	if a := testing.AllocsPerRun(20, func() {
		GEMMQS8AVXVNNI(dst, n, src, k, px, k, n, w, bias, rq, 0, -128, 127)
		GEMMQS8AVXVNNI(dst, n, src, k, 1, k, n, w, bias, rq, 0, -128, 127)
		GEMMQS8AVXVNNI(dst, n, src2, k2, px, k2, n, w2, bias, rq, 0, -100, 100)
		GEMMQS8F32AVXVNNI(f32, src, k, 1, k, n, w, bias, scale)
	}); a != 0 {
		t.Fatalf("%v allocs per run", a)
	}
}

func FuzzAVXVNNIGEMM(f *testing.F) {
	f.Add(uint64(1), false)
	f.Add(uint64(2), true)
	f.Fuzz(func(t *testing.T, seed uint64, edge bool) {
		needAVXVNNI(t)
		rng := rand.New(rand.NewPCG(seed, 98))
		runGEMMAVXVNNI(t, rng, randGEMMCaseAVX2(rng), edge)
	})
}

func BenchmarkAVXVNNIGEMM(b *testing.B) {
	needAVXVNNI(b)
	for _, g := range gemmBenchShapes {
		px := g.hw * g.hw
		src := benchInt8s(px * g.k)
		dst := make([]int8, px*g.n)
		w := benchInt8s(g.n * g.k)
		pa, pv := PackGEMMAVX2(w, g.k, g.n), PackGEMMVNNI(w, g.k, g.n)
		bias := make([]int32, g.n)
		rq := benchMults(g.n)
		name := fmt.Sprintf("%dx%d_%dto%d", g.hw, g.hw, g.k, g.n)
		b.Run(name+"/avxvnni", func(b *testing.B) {
			for b.Loop() {
				GEMMQS8AVXVNNI(dst, g.n, src, g.k, px, g.k, g.n, pv, bias, rq, 0, -128, 127)
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
	b.Run("classifier_1536to1000_f32/avxvnni", func(b *testing.B) {
		for b.Loop() {
			GEMMQS8F32AVXVNNI(dst, src, 1536, 1, 1536, 1000, pv, bias, scale)
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
