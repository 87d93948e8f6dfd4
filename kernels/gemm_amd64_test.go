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

// edgeMults adds the multipliers the AVX2 epilogue treats specially:
// Shift <= 0 (pre-shift with clamp, down to MinShift), Shift = MaxShift with
// small M, M = 0, and the largest mantissa.
func edgeMults(rng *rand.Rand, v []quant.Multiplier) {
	for i := range v {
		switch rng.IntN(8) {
		case 0:
			v[i] = quant.Multiplier{M: 1<<30 + rng.Int32N(1<<30), Shift: quant.MinShift + rng.Int32N(31)}
		case 1:
			v[i] = quant.Multiplier{M: rng.Int32N(1 << 30), Shift: quant.MaxShift}
		case 2:
			v[i] = quant.Multiplier{M: 0, Shift: rng.Int32N(61) + quant.MinShift}
		case 3:
			v[i] = quant.Multiplier{M: 1<<31 - 1, Shift: rng.Int32N(61) + quant.MinShift}
		case 4:
			v[i] = quant.Multiplier{M: 1 << 30, Shift: 1 + rng.Int32N(31)}
		}
	}
}

// runGEMMAVX2 checks GEMMQS8AVX2 (one call per group, strided channel
// slices) against GEMMQS8, byte for byte including guard bands, and that
// src and weights are unchanged.
func runGEMMAVX2(tb testing.TB, rng *rand.Rand, tc gemmCase, edge bool) {
	tb.Helper()
	runGEMMAVX2Fix(tb, rng, tc, edge, nil)
}

// runGEMMAVX2Fix is runGEMMAVX2 with a hook that may change the output
// quantization and the multipliers before the calls.
func runGEMMAVX2Fix(tb testing.TB, rng *rand.Rand, tc gemmCase, edge bool, fix func(q *quantOut, rq []quant.Multiplier)) {
	tb.Helper()
	runGEMMTier(tb, rng, tc, edge, fix, "avx2", PackGEMMAVX2, PackGEMVAVX2, GEMMQS8AVX2)
}

// runGEMMTier is runGEMMAVX2Fix for a tier's pack and GEMM functions
// (packGEMV: the 1-pixel layout used for half the 1-pixel cases).
func runGEMMTier(tb testing.TB, rng *rand.Rand, tc gemmCase, edge bool, fix func(q *quantOut, rq []quant.Multiplier),
	name string, packGEMM, packGEMV func(w []int8, k, n int) []int8, gemm GEMMFunc) {
	tb.Helper()
	srcStride := tc.inOff + tc.groups*tc.k + tc.inExtra
	dstStride := tc.outOff + tc.groups*tc.n + tc.outExtra
	gn := tc.groups * tc.n
	src := newBuf(rng, tc.pixels*srcStride)
	if tc.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, gn*tc.k, tc.extreme)
	raw := randBias(rng, gn, tc.largeBias)
	q := randQuantOut(rng)
	rq := randMults(tb, rng, gn, tc.k)
	if edge {
		edgeMults(rng, rq)
	}
	if fix != nil {
		fix(&q, rq)
	}
	bias := fold(tb, raw, w, gn, tc.k, q.zIn)
	packed := make([][]int8, tc.groups)
	pack := packGEMM
	if tc.pixels == 1 && (tc.k+tc.n)%2 == 0 { // half the 1-pixel cases: the GEMV-only layout
		pack = packGEMV
	}
	for g := range packed {
		packed[g] = pack(w[g*tc.n*tc.k:(g+1)*tc.n*tc.k], tc.k, tc.n)
	}
	wBefore := slices.Clone(w)
	dst := newBuf(rng, tc.pixels*dstStride)
	want := dst.clone()
	srcBefore := src.clone()
	srcView := src.view(tc.inOff, span(tc.pixels, srcStride, tc.groups*tc.k))
	dstView := dst.view(tc.outOff, span(tc.pixels, dstStride, gn))
	wantView := want[guard+tc.outOff:][:len(dstView)]
	for g := range tc.groups {
		GEMMQS8(wantView[g*tc.n:], dstStride, srcView[g*tc.k:], srcStride, tc.pixels, tc.k, tc.n,
			w[g*tc.n*tc.k:], bias[g*tc.n:], rq[g*tc.n:], q.zOut, q.qmin, q.qmax)
		gemm(dstView[g*tc.n:], dstStride, srcView[g*tc.k:], srcStride, tc.pixels, tc.k, tc.n,
			packed[g], bias[g*tc.n:], rq[g*tc.n:], q.zOut, q.qmin, q.qmax)
	}
	checkBuf(tb, name+" "+tc.String()+": dst", dst.b, want)
	checkBuf(tb, name+" "+tc.String()+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) {
		tb.Fatalf("%s %v: weights changed", name, tc)
	}
}

func randGEMMCaseAVX2(rng *rand.Rand) gemmCase {
	tc := randGEMMCase(rng)
	switch rng.IntN(5) {
	case 0: // MixNet-like sizes
		tc.k = 1 + rng.IntN(300)
		tc.n = 1 + rng.IntN(200)
		tc.pixels = 1 + rng.IntN(20)
	case 1:
		tc.pixels = 1 + rng.IntN(4)
	case 3: // now and then a GEMV large enough for the int8 copy
		if rng.IntN(8) == 0 {
			tc.pixels, tc.groups = 1+rng.IntN(2), 1
			tc.k, tc.n = 600+rng.IntN(1449), 900+rng.IntN(200)
		}
	case 2: // the 6-pixel kernel: full blocks, with or without a tail
		tc.pixels = 6 + rng.IntN(25)
		tc.n = gemmNR * (1 + rng.IntN(6))
		if rng.IntN(2) == 0 {
			tc.n += rng.IntN(gemmNR)
		}
	}
	return tc
}

func TestAVX2GEMM(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, tc := range []gemmCase{
		{pixels: 1, groups: 1, k: 1, n: 1},
		{pixels: 4, groups: 1, k: 16, n: 16},
		{pixels: 5, groups: 1, k: 17, n: 17},
		{pixels: 49, groups: 1, k: 200, n: 120, inOff: 1, inExtra: 2, outOff: 3, outExtra: 1},
		{pixels: 7, groups: 2, k: 8, n: 24, inOff: 1, outOff: 2},
		{pixels: 3, groups: 1, k: 1200, n: 40},
		{pixels: 2, groups: 1, k: 2100, n: 33}, // scratch on the heap
		{pixels: 7, groups: 1, k: 2100, n: 48}, // heap scratch: 4-pixel kernel only
		{pixels: 6, groups: 1, k: 24, n: 144, extreme: true, largeBias: true},
		// Short-block stores (8+4 and 4 bytes) and the 4-byte row conversion.
		{pixels: 8, groups: 2, k: 48, n: 12, inOff: 1, outOff: 1, outExtra: 1},
		{pixels: 7, groups: 1, k: 12, n: 36, outOff: 3},
		{pixels: 5, groups: 2, k: 13, n: 20, inOff: 2},
		{pixels: 4, groups: 1, k: 5, n: 13, outExtra: 2},
		{pixels: 3, groups: 1, k: 28, n: 15, extreme: true},
		{pixels: 6, groups: 1, k: 4, n: 4},
		// The 6-pixel kernel: whole tiles plus a 4-pixel rest, full blocks,
		// a channel tail after 3 full blocks, a second chunk without full
		// blocks, the largest k whose 6 rows fit the stack scratch and one
		// past it.
		{pixels: 12, groups: 1, k: 33, n: 32},
		{pixels: 13, groups: 2, k: 8, n: 48, inOff: 1, outOff: 2, outExtra: 1},
		{pixels: 18, groups: 1, k: 120, n: 60, extreme: true},
		{pixels: 25, groups: 1, k: 7, n: 70},
		{pixels: 49, groups: 1, k: 200, n: 200, largeBias: true},
		{pixels: 7, groups: 1, k: 1300, n: 48},
		{pixels: 7, groups: 1, k: 1400, n: 48},
		// The 1-pixel (GEMV) path: odd and even k and n, chunk edges, k limit.
		{pixels: 1, groups: 1, k: 3, n: 5},
		{pixels: 1, groups: 1, k: 17, n: 31, inOff: 1, outOff: 2, outExtra: 1},
		{pixels: 1, groups: 2, k: 33, n: 9, inOff: 2, outOff: 1},
		{pixels: 1, groups: 1, k: 1584, n: 66, extreme: true},
		{pixels: 1, groups: 1, k: 65, n: 1584, largeBias: true},
		{pixels: 1, groups: 1, k: 2047, n: 257},
		{pixels: 1, groups: 1, k: 2048, n: 256, extreme: true, largeBias: true},
		{pixels: 1, groups: 1, k: 2049, n: 17}, // past the GEMV row: 4-pixel tile
		// The int8 GEMV copy (k*n >= gemv8Min): odd k, chunk edges, and a
		// multi-pixel call on a pack that carries the copy.
		{pixels: 1, groups: 1, k: 1023, n: 513, extreme: true},
		{pixels: 1, groups: 1, k: 1536, n: 1000, inOff: 1, outOff: 2, largeBias: true},
		{pixels: 7, groups: 1, k: 1024, n: 520},
	} {
		runGEMMAVX2(t, rng, tc, false)
		runGEMMAVX2(t, rng, tc, true)
	}
	for i := range trials(1500) {
		runGEMMAVX2(t, rng, randGEMMCaseAVX2(rng), i%2 == 0)
	}
}

// TestAVX2GEMMTails runs every channel tail (n % 16 = 1..15) after 0-3
// full blocks, in the first and in a second 64-channel chunk, through the
// 6-pixel kernel (whole 6-pixel tiles, with and without a 4-pixel kernel
// rest), in each epilogue mode (REQ, REQF, REQH; with and without the
// clamp), with guard bands around and between the pixels' channels.
func TestAVX2GEMMTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	modes := []int{0, gemmReqF, gemmReqH, -1} // -1: random multipliers, edge cases
	i := 0
	for tail := 1; tail < gemmNR; tail++ {
		for blocks := range 4 {
			for _, c0 := range []int{0, gemmChunk} {
				n := c0 + blocks*gemmNR + tail
				tc := gemmCase{pixels: 6 * (1 + i%3), groups: 1, k: 1 + (7*tail+5*blocks+i)%45, n: n}
				if i%2 == 1 {
					tc.pixels += 1 + (tail+blocks)%5 // a rest of 1-5 pixels for the 4-pixel kernel
				}
				switch i % 3 {
				case 1:
					tc.outExtra = 1 + i%3
				case 2:
					tc.groups, tc.outOff, tc.outExtra, tc.inOff = 2, 1, 1, 2
				}
				tc.extreme = i%4 == 3
				mode, clamp := modes[i%len(modes)], (i/len(modes))%2 == 0
				runGEMMAVX2Fix(t, rng, tc, mode == -1, func(q *quantOut, rq []quant.Multiplier) {
					if clamp {
						q.qmin, q.qmax = -100, 90
					} else {
						q.qmin, q.qmax = quant.QMin, quant.QMax
					}
					for g := range tc.groups {
						if mode >= 0 {
							tailMults(rq[g*tc.n:][:tc.n], mode)
						}
						for c := 0; c < tc.n; c += gemmChunk {
							nc := min(gemmChunk, tc.n-c)
							r := rq[g*tc.n+c:][:nc]
							var ep gemmEpiX
							got := ep.setChannels(make([]int32, nc), r, q.zOut) & (gemmReqF | gemmReqH)
							if mode >= 0 && got != mode {
								t.Fatalf("%v: chunk %d mode %d, want %d", tc, c, got, mode)
							}
						}
					}
				})
				i++
			}
		}
	}
}

// tailMults makes every 64-channel chunk of one group's rq choose the
// epilogue mode: 0 (REQ: a Shift <= 0 per chunk), gemmReqF (every Shift
// >= 1, one 1 per chunk) or gemmReqH (every Shift in 2..20).
func tailMults(rq []quant.Multiplier, mode int) {
	for c := range rq {
		m := &rq[c]
		switch mode {
		case gemmReqH:
			m.Shift = min(max(m.Shift, 2), 20)
		case gemmReqF:
			m.Shift = max(m.Shift, 1)
			if c%gemmChunk%5 == 0 {
				m.Shift = 1
			}
		default:
			if c%gemmChunk%5 == 0 {
				m.Shift = -int32(c % 3)
			}
		}
	}
}

// TestAVX2GEMMReqH runs every channel of a call at one Shift, so the chunk
// takes REQH whenever it is allowed, around the limits of its constant
// c = 2^(Shift-2) + zOut*2^(Shift-1) (|c| <= 2^30), with the largest
// accumulators and multipliers, and checks the mode choice itself.
func TestAVX2GEMMReqH(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, shift := range []int32{1, 2, 3, 9, 22, 23, 24, 25, 26, quant.MaxShift} {
		for _, zOut := range []int32{-128, -1, 0, 127} {
			for trial := range 6 {
				pixels, k, n := 1+rng.IntN(9), 1+rng.IntN(70), 1+rng.IntN(40)
				if trial == 0 {
					pixels = 4 + rng.IntN(5)
				}
				src := newBuf(rng, pixels*k)
				copy(src.b, randInt8s(rng, len(src.b), trial%2 == 0))
				w := randWeights(rng, n*k, trial%2 == 0)
				bias := randBias(rng, n, trial%3 != 2)
				rq := make([]quant.Multiplier, n)
				for c := range rq {
					rq[c] = quant.Multiplier{M: 1<<31 - 1 - rng.Int32N(1<<30), Shift: shift}
				}
				qmin, qmax := int32(quant.QMin), int32(quant.QMax)
				if trial == 5 {
					qmin, qmax = -100, 90
				}
				var ep gemmEpiX
				cst := int64(1)<<max(shift-2, 0) + int64(zOut)<<(shift-1)
				wantH := shift >= 2 && cst >= -1<<30 && cst <= 1<<30
				if got := ep.setChannels(bias, rq, zOut)&gemmReqH != 0; got != wantH {
					t.Fatalf("Shift %d zOut %d: REQH chosen %v, want %v", shift, zOut, got, wantH)
				}
				dst := newBuf(rng, pixels*n)
				want := dst.clone()
				srcBefore := src.clone()
				GEMMQS8(want[guard:][:pixels*n], n, src.view(0, pixels*k), k, pixels, k, n, w, bias, rq, zOut, qmin, qmax)
				GEMMQS8AVX2(dst.view(0, pixels*n), n, src.view(0, pixels*k), k, pixels, k, n,
					PackGEMMAVX2(w, k, n), bias, rq, zOut, qmin, qmax)
				what := fmt.Sprintf("Shift %d zOut %d %dpx k=%d n=%d", shift, zOut, pixels, k, n)
				checkBuf(t, what+": dst", dst.b, want)
				checkBuf(t, what+": src", src.b, srcBefore)
			}
		}
	}
}

// TestGEMMSetReqH checks setChannels' REQH choice and parameters against
// the definition (Shift >= 2, |c| <= 2^30, c = 2^(Shift-2) +
// zOut*2^(Shift-1)) for every Shift the quant package allows and beyond,
// zero points inside and far outside int8, and chunk lengths: the
// lanes REQH reads (bias, M in dwords 0, 2, 4, 6 of mE and mO, c, sh).
func TestGEMMSetReqH(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	zs := []int32{math.MinInt32, -1 << 29, -1<<29 - 1, -65536, -129, 128, 65535, 1<<29 - 1, 1 << 29, math.MaxInt32}
	for z := int32(-128); z <= 127; z++ {
		zs = append(zs, z)
	}
	def := func(m quant.Multiplier, z int32) (int64, bool) {
		if m.Shift < 2 || m.Shift > 40 {
			return 0, false
		}
		c := int64(1)<<(m.Shift-2) + int64(z)<<(m.Shift-1)
		return c, c >= -1<<30 && c <= 1<<30
	}
	for _, z := range zs {
		for sh := int32(quant.MinShift); sh <= 40; sh++ {
			for _, nc := range []int{1 + rng.IntN(gemmChunk), gemmChunk} {
				rq := make([]quant.Multiplier, nc)
				bias := make([]int32, nc)
				for c := range rq {
					rq[c] = quant.Multiplier{M: int32(rng.Uint32()), Shift: sh}
					bias[c] = int32(rng.Uint32())
				}
				// One channel at another Shift now and then: the choice is
				// the chunk's.
				odd := rng.IntN(nc)
				if rng.IntN(3) == 0 {
					rq[odd].Shift = int32(rng.IntN(50)) - 5
				}
				want := true
				for _, m := range rq {
					_, ok := def(m, z)
					want = want && ok
				}
				var ep gemmEpiX
				got := ep.setChannels(bias, rq, z)&gemmReqH != 0
				if got != want {
					t.Fatalf("zOut %d Shift %d (channel %d: %d) nc %d: REQH %v, want %v", z, sh, odd, rq[odd].Shift, nc, got, want)
				}
				if !got {
					continue
				}
				for c, m := range rq {
					g, i := c/8, c%8
					h := &ep.hv[g]
					cst, _ := def(m, z)
					mv := h.mE[i&^1]
					if i%2 == 1 {
						mv = h.mO[i&^1]
					}
					if ep.ch[g].bias[i] != bias[c] || mv != m.M || int64(h.c[i]) != cst || h.sh[i] != m.Shift-1 {
						t.Fatalf("zOut %d Shift %d nc %d channel %d: bias %d M %d c %d sh %d, want %d %d %d %d",
							z, m.Shift, nc, c, ep.ch[g].bias[i], mv, h.c[i], h.sh[i], bias[c], m.M, cst, m.Shift-1)
					}
				}
			}
		}
	}
}

func TestAVX2GEMMF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for i := range trials(500) {
		pixels, k, n := 1+rng.IntN(9), 1+rng.IntN(300), 1+rng.IntN(150)
		switch i {
		case 0:
			pixels, k, n = 1, 1536, 1000
		case 1:
			pixels, k, n = 1, 2047, 257
		case 2:
			pixels, k, n = 1, 1, 1
		case 3:
			pixels, k, n = 1, 2049, 33
		}
		if i >= 4 && i%4 == 0 {
			pixels = 1
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
		pack := PackGEMMAVX2
		if pixels == 1 && i%8 == 4 {
			pack = PackGEMVAVX2
		}
		GEMMQS8F32AVX2(got, src, srcStride, pixels, k, n, pack(w, k, n), bias, scale)
		for j := range want {
			if got[j] != want[j] && !(got[j] != got[j] && want[j] != want[j]) {
				t.Fatalf("case %d (%d px, %d->%d): [%d] = %v, want %v", i, pixels, k, n, j, got[j], want[j])
			}
		}
	}
}

func TestAVX2GEMMPackPadding(t *testing.T) {
	for _, kn := range [][2]int{{1, 1}, {3, 17}, {8, 48}, {15, 31}} {
		k, n := kn[0], kn[1]
		w := make([]int8, k*n)
		for i := range w {
			w[i] = 127
		}
		p := PackGEMMAVX2(w, k, n)
		if len(p) != gemmPackedLen(k, n) {
			t.Fatalf("len %d", len(p))
		}
		var sum int
		for i := 0; i < len(p); i += 2 {
			v := int16(uint16(uint8(p[i])) | uint16(uint8(p[i+1]))<<8)
			if v != 0 && v != 127 {
				t.Fatalf("k=%d n=%d: packed value %d", k, n, v)
			}
			sum += int(v)
		}
		if sum != 127*k*n {
			t.Fatalf("k=%d n=%d: padding not zero", k, n)
		}
	}
}

// TestAVX2GEMVPack pins PackGEMVAVX2: int8 only up to k = gemvKMax (half
// the int16 length), PackGEMMAVX2's layout beyond, and GEMM refuses the
// int8-only layout for more than one pixel.
func TestAVX2GEMVPack(t *testing.T) {
	for _, kn := range [][2]int{{1, 1}, {1200, 100}, {100, 1200}, {2048, 3}, {2049, 3}} {
		k, n := kn[0], kn[1]
		p := PackGEMVAVX2(make([]int8, k*n), k, n)
		want := gemmPackedLen(k, n) / 2
		if k > gemvKMax {
			want = len(PackGEMMAVX2(make([]int8, k*n), k, n))
		}
		if len(p) != want {
			t.Errorf("k=%d n=%d: %d bytes, want %d", k, n, len(p), want)
		}
	}
	const k, n = 40, 24
	w := PackGEMVAVX2(make([]int8, k*n), k, n)
	defer func() {
		if recover() == nil {
			t.Fatal("GEMMQS8AVX2 took GEMV-only weights for 2 pixels")
		}
	}()
	GEMMQS8AVX2(make([]int8, 2*n), n, make([]int8, 2*k), k, 2, k, n, w, make([]int32, n), benchMults(n), 0, -128, 127)
}

func TestAVX2GEMMAllocs(t *testing.T) {
	const px, k, n = 49, 200, 200
	src, dst := make([]int8, px*k), make([]int8, px*n)
	w := PackGEMMAVX2(make([]int8, k*n), k, n)
	bias, rq := make([]int32, n), benchMults(n)
	f32, scale := make([]float32, n), make([]float32, n)
	wv := PackGEMVAVX2(make([]int8, k*n), k, n)
	if a := testing.AllocsPerRun(20, func() {
		GEMMQS8AVX2(dst, n, src, k, px, k, n, w, bias, rq, 0, -128, 127)
		GEMMQS8AVX2(dst, n, src, k, 1, k, n, w, bias, rq, 0, -128, 127)
		GEMMQS8AVX2(dst, n, src, k, 1, k, n, wv, bias, rq, 0, -128, 127)
		GEMMQS8F32AVX2(f32, src, k, 1, k, n, w, bias, scale)
	}); a != 0 {
		t.Fatalf("%v allocs per run", a)
	}
}

func FuzzAVX2GEMM(f *testing.F) {
	f.Add(uint64(1), false)
	f.Add(uint64(2), true)
	f.Fuzz(func(t *testing.T, seed uint64, edge bool) {
		rng := rand.New(rand.NewPCG(seed, 99))
		runGEMMAVX2(t, rng, randGEMMCaseAVX2(rng), edge)
	})
}

var gemmBenchShapes = []struct{ hw, k, n int }{
	{112, 8, 48}, {56, 24, 144}, {28, 144, 40}, {14, 240, 40}, {7, 200, 1200}, {7, 200, 1536},
}

func BenchmarkAVX2GEMM(b *testing.B) {
	for _, g := range gemmBenchShapes {
		px := g.hw * g.hw
		src := benchInt8s(px * g.k)
		dst := make([]int8, px*g.n)
		w := benchInt8s(g.n * g.k)
		pw := PackGEMMAVX2(w, g.k, g.n)
		bias := make([]int32, g.n)
		rq := benchMults(g.n)
		name := fmt.Sprintf("%dx%d_%dto%d", g.hw, g.hw, g.k, g.n)
		b.Run(name+"/avx2", func(b *testing.B) {
			for b.Loop() {
				GEMMQS8AVX2(dst, g.n, src, g.k, px, g.k, g.n, pw, bias, rq, 0, -128, 127)
			}
			reportGMACs(b, px*g.k*g.n)
		})
		b.Run(name+"/generic", func(b *testing.B) {
			for b.Loop() {
				GEMMQS8(dst, g.n, src, g.k, px, g.k, g.n, w, bias, rq, 0, -128, 127)
			}
			reportGMACs(b, px*g.k*g.n)
		})
	}
	src, w := benchInt8s(1536), benchInt8s(1536*1000)
	pw := PackGEMMAVX2(w, 1536, 1000)
	bias, scale, dst := make([]int32, 1000), make([]float32, 1000), make([]float32, 1000)
	b.Run("classifier_1536to1000_f32/avx2", func(b *testing.B) {
		for b.Loop() {
			GEMMQS8F32AVX2(dst, src, 1536, 1, 1536, 1000, pw, bias, scale)
		}
		reportGMACs(b, 1536*1000)
	})
	b.Run("classifier_1536to1000_f32/generic", func(b *testing.B) {
		for b.Loop() {
			GEMMQS8F32(dst, src, 1536, 1, 1536, 1000, w, bias, scale)
		}
		reportGMACs(b, 1536*1000)
	})
}

// trials scales a parity loop down under -race and -short.
func trials(n int) int {
	if raceEnabled || testing.Short() {
		return max(1, n/10)
	}
	return n
}
