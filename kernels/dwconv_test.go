package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

var dwKernels = []int{3, 5, 7, 9, 11}

type dwCase struct {
	h, w, c, k, stride int
	same               bool
	inOff, inExtra     int // the group's first channel and the channels after it in the wider tensor
	outOff, outExtra   int
	extreme, largeBias bool
	split              bool // run the output rows in several calls
}

func (tc dwCase) String() string {
	pad := "sym"
	if tc.same {
		pad = "same"
	}
	return fmt.Sprintf("dw %dx%dx%d k%d s%d %s in[%d+%d+%d] out[%d+%d+%d] ext=%v big=%v split=%v",
		tc.h, tc.w, tc.c, tc.k, tc.stride, pad, tc.inOff, tc.c, tc.inExtra, tc.outOff, tc.c, tc.outExtra,
		tc.extreme, tc.largeBias, tc.split)
}

func padding(in, k, stride int, same bool) (out, before int) {
	if same {
		return SamePad(in, k, stride)
	}
	return SymmetricPad(in, k, stride)
}

// refDW is the depthwise convolution straight from its definition: raw
// bias plus (x - zIn)*w over the taps that land inside the image.
func refDW(tb testing.TB, dst, src []int8, s *DWConvShape, w []int8, raw []int32, rq []quant.Multiplier, q quantOut) {
	for oy := range s.OH {
		for ox := range s.OW {
			for c := range s.C {
				acc := int64(raw[c])
				for ky := range s.K {
					for kx := range s.K {
						iy, ix := oy*s.Stride-s.PadTop+ky, ox*s.Stride-s.PadLeft+kx
						if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
							x := int64(src[(iy*s.W+ix)*s.InStride+c]) - int64(q.zIn)
							acc += x * int64(w[(ky*s.K+kx)*s.C+c])
						}
					}
				}
				dst[(oy*s.OW+ox)*s.OutStride+c] = refRequant(tb, acc, rq[c], q.zOut, q.qmin, q.qmax)
			}
		}
	}
}

func runDW(tb testing.TB, rng *rand.Rand, tc dwCase) {
	tb.Helper()
	oh, pt := padding(tc.h, tc.k, tc.stride, tc.same)
	ow, pl := padding(tc.w, tc.k, tc.stride, tc.same)
	s := DWConvShape{H: tc.h, W: tc.w, C: tc.c, InStride: tc.inOff + tc.c + tc.inExtra,
		OutStride: tc.outOff + tc.c + tc.outExtra, K: tc.k, Stride: tc.stride, PadTop: pt, PadLeft: pl, OH: oh, OW: ow}
	src := newBuf(rng, tc.h*tc.w*s.InStride)
	if tc.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, tc.k*tc.k*tc.c, tc.extreme)
	raw := randBias(rng, tc.c, tc.largeBias)
	q := randQuantOut(rng)
	rq := randMults(tb, rng, tc.c, tc.k*tc.k)
	bias := fold(tb, raw, w, tc.c, 1, q.zIn)
	dst := newBuf(rng, oh*ow*s.OutStride)

	want := dst.clone()
	srcBefore, wBefore, biasBefore := src.clone(), slices.Clone(w), slices.Clone(bias)
	ranges := [][2]int{{0, oh}}
	if tc.split {
		ranges = splitRows(rng, oh)
	}
	srcView := src.view(tc.inOff, span(tc.h*tc.w, s.InStride, tc.c))
	dstView := dst.view(tc.outOff, span(oh*ow, s.OutStride, tc.c))
	for _, r := range ranges {
		DWConvQS8(dstView, srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
	}
	refDW(tb, want[guard+tc.outOff:], src.b[guard+tc.inOff:], &s, w, raw, rq, q)
	checkBuf(tb, tc.String()+": dst", dst.b, want)
	checkBuf(tb, tc.String()+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) || !slices.Equal(bias, biasBefore) {
		tb.Fatalf("%v: weights or bias modified", tc)
	}
}

var dwChannels = []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 24, 31, 33, 48}

func randDWCase(rng *rand.Rand, k, stride int, same bool) dwCase {
	tc := dwCase{k: k, stride: stride, same: same,
		h: 1 + rng.IntN(k+6), w: 1 + rng.IntN(k+6), c: dwChannels[rng.IntN(len(dwChannels))],
		extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, split: rng.IntN(2) == 0}
	if rng.IntN(10) == 0 {
		tc.c = dwTile + 1 + rng.IntN(3) // crosses the stack tile
		tc.h, tc.w = 1+rng.IntN(4), 1+rng.IntN(4)
	}
	if rng.IntN(2) == 0 {
		tc.inOff, tc.inExtra = rng.IntN(5), rng.IntN(5)
		tc.outOff, tc.outExtra = rng.IntN(5), rng.IntN(5)
	}
	return tc
}

func TestDWConvQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	trials := 20
	if testing.Short() {
		trials = 4
	}
	for _, k := range dwKernels {
		for _, stride := range []int{1, 2} {
			for _, same := range []bool{false, true} {
				for range trials {
					runDW(t, rng, randDWCase(rng, k, stride, same))
				}
			}
		}
	}
}

// TestDWConvQS8Borders walks the small images where every output touches
// padding: 1x1 images, and every width from 1 to k+2 at heights 1 to 3.
func TestDWConvQS8Borders(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, k := range dwKernels {
		for _, stride := range []int{1, 2} {
			for _, same := range []bool{false, true} {
				runDW(t, rng, dwCase{h: 1, w: 1, c: 3, k: k, stride: stride, same: same, extreme: true})
				for w := 1; w <= k+2; w++ {
					runDW(t, rng, dwCase{h: 1 + w%3, w: w, c: 1 + 2*(w%4), k: k, stride: stride, same: same,
						inOff: w % 2, inExtra: 1, outOff: 1, outExtra: w % 3})
				}
			}
		}
	}
}

func TestDWConvQS8Extremes(t *testing.T) {
	// All inputs -128 or 127, all weights ±127, zIn at either end: the
	// largest accumulators an 11x11 can reach.
	rng := rand.New(rand.NewPCG(25, 26))
	for _, zIn := range []int32{-128, 127} {
		tc := dwCase{h: 13, w: 13, c: 7, k: 11, stride: 1, extreme: true, largeBias: true}
		oh, pt := SymmetricPad(tc.h, tc.k, 1)
		s := DWConvShape{H: 13, W: 13, C: 7, InStride: 7, OutStride: 7, K: 11, Stride: 1, PadTop: pt, PadLeft: pt, OH: oh, OW: oh}
		src := randInt8s(rng, 13*13*7, true)
		w := randWeights(rng, 121*7, true)
		raw := randBias(rng, 7, true)
		q := quantOut{zIn: zIn, zOut: -3, qmin: -128, qmax: 127}
		rq := randMults(t, rng, 7, 121)
		dst := make([]int8, oh*oh*7)
		want := make([]int8, len(dst))
		DWConvQS8(dst, src, w, fold(t, raw, w, 7, 1, zIn), rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, 0, oh)
		refDW(t, want, src, &s, w, raw, rq, q)
		if !slices.Equal(dst, want) {
			t.Fatalf("zIn=%d: extreme 11x11 differs from the reference", zIn)
		}
	}
}

func TestPaddingRules(t *testing.T) {
	for in := 1; in <= 40; in++ {
		for _, k := range dwKernels {
			for _, s := range []int{1, 2} {
				out, before := SymmetricPad(in, k, s)
				// timm's static padding: ((s-1) + (k-1)) // 2, which is k/2 for odd k.
				if before != ((s-1)+(k-1))/2 || out != (in+2*before-k)/s+1 {
					t.Errorf("SymmetricPad(%d, %d, %d) = %d, %d", in, k, s, out, before)
				}
				out, before = SamePad(in, k, s)
				total := max((out-1)*s+k-in, 0)
				if out*s < in || (out-1)*s >= in || before != total/2 || total-before < before {
					t.Errorf("SamePad(%d, %d, %d) = %d, %d", in, k, s, out, before)
				}
			}
		}
	}
	// The spec's worked example: a 224 input, 3x3 stride 2 pads 0 before and 1 after.
	if out, before := SamePad(224, 3, 2); out != 112 || before != 0 {
		t.Errorf("SamePad(224, 3, 2) = %d, %d; want 112, 0", out, before)
	}
	if out, before := SamePad(56, 7, 2); out != 28 || before != 2 {
		t.Errorf("SamePad(56, 7, 2) = %d, %d; want 28, 2", out, before)
	}
}

func TestDWConvQS8Contract(t *testing.T) {
	s := DWConvShape{H: 4, W: 4, C: 8, InStride: 8, OutStride: 8, K: 3, Stride: 1, PadTop: 1, PadLeft: 1, OH: 4, OW: 4}
	w := make([]int8, 72)
	bias := make([]int32, 8)
	rq := make([]quant.Multiplier, 8)
	src := make([]int8, 128)
	dst := make([]int8, 128)
	mustPanic(t, "short dst", func() { DWConvQS8(dst[:127], src, w, bias, rq, &s, 0, 0, -128, 127, 0, 4) })
	mustPanic(t, "short src", func() { DWConvQS8(dst, src[:100], w, bias, rq, &s, 0, 0, -128, 127, 0, 4) })
	mustPanic(t, "rows past OH", func() { DWConvQS8(dst, src, w, bias, rq, &s, 0, 0, -128, 127, 0, 5) })
	narrow := s
	narrow.InStride = 7
	mustPanic(t, "stride < C", func() { DWConvQS8(dst, src, w, bias, rq, &narrow, 0, 0, -128, 127, 0, 4) })
	if err := narrow.Validate(); err == nil {
		t.Error("Validate accepted an input stride narrower than C")
	}
	// A row range of 0 rows writes nothing, even with a short dst.
	DWConvQS8(dst[:0], src, w, bias, rq, &s, 0, 0, -128, 127, 2, 2)
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

func FuzzDWConvQS8(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(1), uint8(5), uint8(5), uint8(3))
	f.Add(uint64(2), uint8(4), uint8(3), uint8(1), uint8(1), uint8(17))
	f.Add(uint64(3), uint8(2), uint8(2), uint8(14), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, kSel, mode, h, w, c uint8) {
		rng := rand.New(rand.NewPCG(seed, 99))
		tc := randDWCase(rng, dwKernels[int(kSel)%len(dwKernels)], 1+int(mode&1), mode&2 != 0)
		tc.h, tc.w, tc.c = 1+int(h)%24, 1+int(w)%24, 1+int(c)%40
		runDW(t, rng, tc)
	})
}
