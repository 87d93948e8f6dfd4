package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

type stemCase struct {
	h, w, cin, cout, k, stride int
	same                       bool
	inExtra, outOff, outExtra  int
	extreme, split             bool
}

func (tc stemCase) String() string {
	return fmt.Sprintf("stem %dx%dx%d->%d k%d s%d same=%v in+%d out[%d+%d] ext=%v split=%v",
		tc.h, tc.w, tc.cin, tc.cout, tc.k, tc.stride, tc.same, tc.inExtra, tc.outOff, tc.outExtra, tc.extreme, tc.split)
}

func refStem(tb testing.TB, dst, src []int8, s *ConvShape, w []int8, raw []int32, rq []quant.Multiplier, q quantOut) {
	for oy := range s.OH {
		for ox := range s.OW {
			for co := range s.Cout {
				acc := int64(raw[co])
				for ky := range s.K {
					for kx := range s.K {
						iy, ix := oy*s.Stride-s.PadTop+ky, ox*s.Stride-s.PadLeft+kx
						if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
							continue
						}
						for ci := range s.Cin {
							x := int64(src[(iy*s.W+ix)*s.InStride+ci]) - int64(q.zIn)
							acc += x * int64(w[((co*s.K+ky)*s.K+kx)*s.Cin+ci])
						}
					}
				}
				dst[(oy*s.OW+ox)*s.OutStride+co] = refRequant(tb, acc, rq[co], q.zOut, q.qmin, q.qmax)
			}
		}
	}
}

func runStem(tb testing.TB, rng *rand.Rand, tc stemCase) {
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
	rq := randMults(tb, rng, tc.cout, kk)
	bias := fold(tb, raw, w, tc.cout, kk, q.zIn)
	dst := newBuf(rng, oh*ow*s.OutStride)
	want, srcBefore, wBefore := dst.clone(), src.clone(), slices.Clone(w)
	ranges := [][2]int{{0, oh}}
	if tc.split {
		ranges = splitRows(rng, oh)
	}
	srcView := src.view(0, span(tc.h*tc.w, s.InStride, tc.cin))
	dstView := dst.view(tc.outOff, span(oh*ow, s.OutStride, tc.cout))
	for _, r := range ranges {
		StemConvQS8(dstView, srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
	}
	refStem(tb, want[guard+tc.outOff:], src.b[guard:], &s, w, raw, rq, q)
	checkBuf(tb, tc.String()+": dst", dst.b, want)
	checkBuf(tb, tc.String()+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) {
		tb.Fatalf("%v: weights modified", tc)
	}
}

func randStemCase(rng *rand.Rand) stemCase {
	k := []int{1, 3, 3, 3, 5, 7}[rng.IntN(6)]
	return stemCase{h: 1 + rng.IntN(14), w: 1 + rng.IntN(14), cin: []int{1, 3, 3, 4}[rng.IntN(4)],
		cout: 1 + rng.IntN(33), k: k, stride: 1 + rng.IntN(2), same: rng.IntN(2) == 0,
		inExtra: rng.IntN(2), outOff: rng.IntN(3), outExtra: rng.IntN(3),
		extreme: rng.IntN(4) == 0, split: rng.IntN(2) == 0}
}

func TestStemConvQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	trials := 200
	if testing.Short() {
		trials = 40
	}
	for range trials {
		runStem(t, rng, randStemCase(rng))
	}
	// The MixNet stem, scaled down: 3x3 s2, RGB -> 16, both paddings, odd
	// and even sizes, 1-pixel images.
	for _, same := range []bool{false, true} {
		for _, hw := range []int{1, 2, 3, 8, 9} {
			runStem(t, rng, stemCase{h: hw, w: hw + 1, cin: 3, cout: 16, k: 3, stride: 2, same: same})
		}
	}
}

func TestStemConvQS8Contract(t *testing.T) {
	s := ConvShape{H: 2, W: 2, Cin: 3, InStride: 3, Cout: 2, OutStride: 2, K: 15, Stride: 1, PadTop: 7, PadLeft: 7, OH: 2, OW: 2}
	if err := s.Validate(); err == nil {
		t.Error("a 15x15x3 patch (over MaxStemPatch) validated")
	}
	mustPanic(t, "patch too large", func() {
		StemConvQS8(make([]int8, 8), make([]int8, 12), make([]int8, 2*675), make([]int32, 2), make([]quant.Multiplier, 2), &s, 0, 0, -128, 127, 0, 2)
	})
}

func FuzzStemConvQS8(f *testing.F) {
	f.Add(uint64(1), uint8(5), uint8(5), uint8(16))
	f.Add(uint64(2), uint8(1), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, h, w, cout uint8) {
		rng := rand.New(rand.NewPCG(seed, 97))
		tc := randStemCase(rng)
		tc.h, tc.w, tc.cout = 1+int(h)%20, 1+int(w)%20, 1+int(cout)%40
		runStem(t, rng, tc)
	})
}

// TestGatherPatches checks the row gather against GatherPatch pixel by
// pixel: random geometries (interior runs, both borders, strided input
// pixels, rows in the padding), partial runs, and bytes around every patch
// left untouched.
func TestGatherPatches(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const guard = int8(0x5a)
	for it := range 3000 {
		k := 1 + r.IntN(5)
		stride := 1 + r.IntN(3)
		cin := 1 + r.IntN(4)
		if it%3 == 0 {
			k, stride, cin = 3, 2, 3 // the MixNet stem's 9-byte rows
		}
		h, w := k+r.IntN(9), k+r.IntN(14)
		pad := r.IntN(k)
		s := ConvShape{H: h, W: w, Cin: cin, InStride: cin + r.IntN(2)*r.IntN(3), Cout: 1, OutStride: 1,
			K: k, Stride: stride, PadTop: pad, PadLeft: r.IntN(k)}
		s.OH = (h+2*pad-k)/stride + 1
		s.OW = (w+2*s.PadLeft-k)/stride + 1
		if s.OH <= 0 || s.OW <= 0 {
			continue
		}
		src := make([]int8, h*w*s.InStride)
		for i := range src {
			src[i] = int8(r.IntN(256) - 128)
		}
		srcCopy := slices.Clone(src)
		kk := k * k * cin
		ds := kk + r.IntN(3)
		oy := r.IntN(s.OH)
		ox0 := r.IntN(s.OW)
		n := 1 + r.IntN(s.OW-ox0)
		z := int8(r.IntN(256) - 128)
		got := make([]int8, n*ds+2)
		want := make([]int8, n*ds+2)
		for i := range got {
			got[i], want[i] = guard, guard
		}
		GatherPatches(got[1:], ds, src, &s, z, oy, ox0, n)
		for i := range n {
			GatherPatch(want[1+i*ds:][:kk], src, &s, z, oy*stride-pad, (ox0+i)*stride-s.PadLeft)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v oy=%d ox0=%d n=%d dstStride=%d:\n got %v\nwant %v", s, oy, ox0, n, ds, got, want)
		}
		if !slices.Equal(src, srcCopy) {
			t.Fatal("src modified")
		}
	}
}

// BenchmarkGatherPatches compares the row gather with a GatherPatch call
// per pixel on MixNet's stem rows (224x224x3, 3x3 stride 2).
func BenchmarkGatherPatches(b *testing.B) {
	s := ConvShape{H: 224, W: 224, Cin: 3, InStride: 3, Cout: 16, OutStride: 16, K: 3, Stride: 2, PadTop: 1, PadLeft: 1, OH: 112, OW: 112}
	src := make([]int8, 224*224*3)
	dst := make([]int8, 112*27)
	b.Run("row", func(b *testing.B) {
		b.SetBytes(int64(len(dst)) * 112)
		for b.Loop() {
			for oy := range 112 {
				GatherPatches(dst, 27, src, &s, 3, oy, 0, 112)
			}
		}
	})
	b.Run("pixel", func(b *testing.B) {
		b.SetBytes(int64(len(dst)) * 112)
		for b.Loop() {
			for oy := range 112 {
				for ox := range 112 {
					GatherPatch(dst[ox*27:][:27], src, &s, 3, oy*2-1, ox*2-1)
				}
			}
		}
	})
}
