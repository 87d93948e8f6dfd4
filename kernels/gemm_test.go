package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

type gemmCase struct {
	pixels, groups, k, n int
	inOff, inExtra       int
	outOff, outExtra     int
	extreme, largeBias   bool
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("gemm %dpx %dx(%d->%d) in[%d+%d] out[%d+%d] ext=%v big=%v",
		tc.pixels, tc.groups, tc.k, tc.n, tc.inOff, tc.inExtra, tc.outOff, tc.outExtra, tc.extreme, tc.largeBias)
}

// refGEMM is the grouped 1x1 convolution from its definition: raw bias
// plus (x - zIn)*w in int64.
func refGEMM(tb testing.TB, dst []int8, dstStride int, src []int8, srcStride int, tc gemmCase,
	w []int8, raw []int32, rq []quant.Multiplier, q quantOut) {
	for p := range tc.pixels {
		for g := range tc.groups {
			for co := range tc.n {
				oc := g*tc.n + co
				acc := int64(raw[oc])
				for ci := range tc.k {
					x := int64(src[p*srcStride+g*tc.k+ci]) - int64(q.zIn)
					acc += x * int64(w[oc*tc.k+ci])
				}
				dst[p*dstStride+oc] = refRequant(tb, acc, rq[oc], q.zOut, q.qmin, q.qmax)
			}
		}
	}
}

func runGEMM(tb testing.TB, rng *rand.Rand, tc gemmCase) {
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
	bias := fold(tb, raw, w, gn, tc.k, q.zIn)
	dst := newBuf(rng, tc.pixels*dstStride)
	want := dst.clone()
	srcBefore := src.clone()

	srcView := src.view(tc.inOff, span(tc.pixels, srcStride, tc.groups*tc.k))
	dstView := dst.view(tc.outOff, span(tc.pixels, dstStride, gn))
	if tc.groups == 1 {
		GEMMQS8(dstView, dstStride, srcView, srcStride, tc.pixels, tc.k, tc.n, w, bias, rq, q.zOut, q.qmin, q.qmax)
	} else {
		GroupedGEMMQS8(dstView, dstStride, srcView, srcStride, tc.pixels, tc.groups, tc.k, tc.n, w, bias, rq, q.zOut, q.qmin, q.qmax)
	}
	refGEMM(tb, want[guard+tc.outOff:], dstStride, src.b[guard+tc.inOff:], srcStride, tc, w, raw, rq, q)
	checkBuf(tb, tc.String()+": dst", dst.b, want)
	checkBuf(tb, tc.String()+": src", src.b, srcBefore)
}

func randGEMMCase(rng *rand.Rand) gemmCase {
	tc := gemmCase{pixels: 1 + rng.IntN(12), groups: 1 + rng.IntN(3), k: 1 + rng.IntN(70), n: 1 + rng.IntN(37),
		extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0}
	if rng.IntN(2) == 0 {
		tc.inOff, tc.inExtra, tc.outOff, tc.outExtra = rng.IntN(4), rng.IntN(4), rng.IntN(4), rng.IntN(4)
	}
	return tc
}

func TestGEMMQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	trials := 300
	if testing.Short() {
		trials = 60
	}
	for range trials {
		runGEMM(t, rng, randGEMMCase(rng))
	}
	// Odd sizes around the 4-channel block, one pixel (SE, classifier).
	for n := 1; n <= 9; n++ {
		for _, k := range []int{1, 2, 3, 5, 17} {
			runGEMM(t, rng, gemmCase{pixels: 1, groups: 1, k: k, n: n, outOff: 1, outExtra: 2})
		}
	}
	// The largest MixNet-S reduction depth at extreme values.
	runGEMM(t, rng, gemmCase{pixels: 2, groups: 1, k: 1536, n: 5, extreme: true, largeBias: true})
}

func TestGEMMQS8F32(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for range 50 {
		pixels, k, n, srcStride := 1+rng.IntN(3), 1+rng.IntN(300), 1+rng.IntN(30), 0
		srcStride = k + rng.IntN(3)
		src := randInt8s(rng, span(pixels, srcStride, k), rng.IntN(3) == 0)
		w := randWeights(rng, n*k, rng.IntN(3) == 0)
		zIn := int32(rng.IntN(256) - 128)
		raw := randBias(rng, n, rng.IntN(3) == 0)
		bias := fold(t, raw, w, n, k, zIn)
		scale := make([]float32, n)
		for i := range scale {
			scale[i] = float32(rng.Float64() * 1e-3)
		}
		dst := make([]float32, pixels*n+1)
		dst[pixels*n] = 42
		GEMMQS8F32(dst[:pixels*n], src, srcStride, pixels, k, n, w, bias, scale)
		for p := range pixels {
			for co := range n {
				acc := int64(raw[co])
				for ci := range k {
					acc += (int64(src[p*srcStride+ci]) - int64(zIn)) * int64(w[co*k+ci])
				}
				want := float32(acc) * scale[co]
				if dst[p*n+co] != want {
					t.Fatalf("logit %d,%d = %g, want float32(%d)*%g = %g", p, co, dst[p*n+co], acc, scale[co], want)
				}
			}
		}
		if dst[pixels*n] != 42 {
			t.Fatal("GEMMQS8F32 wrote past its output")
		}
	}
}

func TestGEMMQS8Contract(t *testing.T) {
	w := make([]int8, 12)
	bias := make([]int32, 4)
	rq := make([]quant.Multiplier, 4)
	src := make([]int8, 6)
	dst := make([]int8, 8)
	mustPanic(t, "short dst", func() { GEMMQS8(dst[:7], 4, src, 3, 2, 3, 4, w, bias, rq, 0, -128, 127) })
	mustPanic(t, "short src", func() { GEMMQS8(dst, 4, src[:5], 3, 2, 3, 4, w, bias, rq, 0, -128, 127) })
	mustPanic(t, "dst stride < n", func() { GEMMQS8(dst, 3, src, 3, 2, 3, 4, w, bias, rq, 0, -128, 127) })
	mustPanic(t, "short weights", func() { GEMMQS8(dst, 4, src, 3, 2, 3, 4, w[:11], bias, rq, 0, -128, 127) })
	before := slices.Clone(dst)
	GEMMQS8(dst, 4, src, 3, 0, 3, 4, w, bias, rq, 0, -128, 127)
	if !slices.Equal(dst, before) {
		t.Error("zero pixels wrote output")
	}
}

func FuzzGEMMQS8(f *testing.F) {
	f.Add(uint64(1), uint8(1), uint8(1), uint8(1), uint8(1))
	f.Add(uint64(2), uint8(3), uint8(2), uint8(33), uint8(9))
	f.Fuzz(func(t *testing.T, seed uint64, pixels, groups, k, n uint8) {
		rng := rand.New(rand.NewPCG(seed, 98))
		tc := randGEMMCase(rng)
		tc.pixels, tc.groups, tc.k, tc.n = 1+int(pixels)%16, 1+int(groups)%3, 1+int(k)%200, 1+int(n)%40
		runGEMM(t, rng, tc)
	})
}
