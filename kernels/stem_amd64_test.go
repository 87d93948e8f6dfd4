//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// stemAMD64 is one amd64 stem under test: avx2, vnni or avxvnni.
type stemAMD64 struct {
	name string
	f    StemFunc
}

var stemAVX2 = stemAMD64{"avx2", StemConvQS8AVX2}

// runStemAMD64 checks impl against StemConvQS8 byte for byte, guard bands
// included, rows split over several calls when tc.split.
func runStemAMD64(tb testing.TB, impl stemAMD64, rng *rand.Rand, tc stemCase, edge bool) {
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
	if edge {
		edgeMults(rng, rq)
	}
	bias := fold(tb, raw, w, tc.cout, kk, q.zIn)
	dst := newBuf(rng, oh*ow*s.OutStride)
	want, srcBefore, wBefore := dst.clone(), src.clone(), slices.Clone(w)
	ranges := [][2]int{{0, oh}}
	if tc.split {
		ranges = splitRows(rng, oh)
	}
	srcView := src.view(0, span(tc.h*tc.w, s.InStride, tc.cin))
	dstView := dst.view(tc.outOff, span(oh*ow, s.OutStride, tc.cout))
	StemConvQS8(want[guard+tc.outOff:][:len(dstView)], srcBefore[guard:][:len(srcView)], w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, 0, oh)
	for _, r := range ranges {
		impl.f(dstView, srcView, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, r[0], r[1])
	}
	checkBuf(tb, impl.name+" "+tc.String()+": dst", dst.b, want)
	checkBuf(tb, impl.name+" "+tc.String()+": src", src.b, srcBefore)
	if !slices.Equal(w, wBefore) {
		tb.Fatalf("%s %v: weights modified", impl.name, tc)
	}
}

func TestAVX2Stem(t *testing.T) { testStemAMD64(t, stemAVX2) }

// testStemAMD64 runs impl on random shapes and every path of the AVX2
// stem (which the VNNI stems fall back to beyond their stack buffers).
func testStemAMD64(t *testing.T, impl stemAMD64) {
	rng := rand.New(rand.NewPCG(71, 72))
	for i := range trials(400) {
		tc := randStemCase(rng)
		if i%5 == 0 {
			tc.h, tc.w, tc.cout = 1+rng.IntN(30), 1+rng.IntN(30), 1+rng.IntN(70)
		}
		runStemAMD64(t, impl, rng, tc, i%2 == 0)
	}
	for _, same := range []bool{false, true} {
		for _, hw := range []int{1, 2, 3, 8, 9, 33} {
			runStemAMD64(t, impl, rng, stemCase{h: hw, w: hw + 1, cin: 3, cout: 16, k: 3, stride: 2, same: same}, false)
		}
	}
	// The 3x3 RGB path (stem3x3AVX2): rows longer than its 256-pixel batch,
	// more than one 64-channel chunk, strides 1 to 3, 1-3 pixel images,
	// every padding, narrow clamps.
	for i, tc := range []stemCase{
		{h: 4, w: 530, cin: 3, cout: 20, k: 3, stride: 1, same: true, outOff: 1, outExtra: 2},
		{h: 7, w: 9, cin: 3, cout: 70, k: 3, stride: 2, outOff: 2},
		{h: 9, w: 11, cin: 3, cout: 130, k: 3, stride: 2, same: true, extreme: true},
		{h: 10, w: 13, cin: 3, cout: 16, k: 3, stride: 3},
		{h: 10, w: 13, cin: 3, cout: 16, k: 3, stride: 3, same: true, split: true},
		{h: 3, w: 1, cin: 3, cout: 5, k: 3, stride: 1},
		{h: 2, w: 3, cin: 3, cout: 16, k: 3, stride: 2, same: true},
		{h: 1, w: 2, cin: 3, cout: 9, k: 3, stride: 1, same: true},
	} {
		runStemAMD64(t, impl, rng, tc, i%2 == 0)
	}
	// Every channel tail after 0-3 full blocks in the 6-pixel kernel (rows
	// of 13 pixels: two 6-pixel tiles and a 1-pixel rest).
	for cout := 1; cout < 4*gemmNR; cout++ {
		if cout%gemmNR == 0 {
			continue
		}
		tc := stemCase{h: 3, w: 13, cin: 3, cout: cout, k: 3, stride: 1, same: true, outExtra: cout % 2}
		runStemAMD64(t, impl, rng, tc, cout%3 == 0)
	}
	for i := range trials(200) {
		tc := randStemCase(rng)
		tc.k, tc.cin, tc.inExtra = 3, 3, 0
		runStemAMD64(t, impl, rng, tc, i%2 == 0)
	}
	// The largest patch, and a row longer than one patch batch.
	runStemAMD64(t, impl, rng, stemCase{h: 9, w: 40, cin: 10, cout: 20, k: 7, stride: 1, same: true}, true)
	// Packed weights too large for the stack: generic fallback.
	runStemAMD64(t, impl, rng, stemCase{h: 5, w: 5, cin: 10, cout: 80, k: 7, stride: 2}, false)
}

func TestAVX2StemAllocs(t *testing.T) { testStemAllocs(t, StemConvQS8AVX2) }

func testStemAllocs(t *testing.T, f StemFunc) {
	const hw = 32
	oh, pad := SymmetricPad(hw, 3, 2)
	s := ConvShape{H: hw, W: hw, Cin: 3, InStride: 3, Cout: 16, OutStride: 16, K: 3, Stride: 2, PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
	src, dst, w := make([]int8, hw*hw*3), make([]int8, oh*oh*16), make([]int8, 16*27)
	bias, rq := make([]int32, 16), benchMults(16)
	if a := testing.AllocsPerRun(20, func() { f(dst, src, w, bias, rq, &s, 0, 0, -128, 127, 0, oh) }); a != 0 {
		t.Fatalf("%v allocs per run", a)
	}
}

func FuzzAVX2Stem(f *testing.F) { fuzzStemAMD64(f, stemAVX2, nil) }

func fuzzStemAMD64(f *testing.F, impl stemAMD64, need func(testing.TB)) {
	f.Add(uint64(1), uint8(5), uint8(5), uint8(16), false)
	f.Fuzz(func(t *testing.T, seed uint64, h, w, cout uint8, edge bool) {
		if need != nil {
			need(t)
		}
		rng := rand.New(rand.NewPCG(seed, 96))
		tc := randStemCase(rng)
		tc.h, tc.w, tc.cout = 1+int(h)%40, 1+int(w)%40, 1+int(cout)%70
		if seed%3 == 0 { // the 3x3 RGB path
			tc.k, tc.cin, tc.inExtra = 3, 3, 0
		}
		runStemAMD64(t, impl, rng, tc, edge)
	})
}

func BenchmarkAVX2Stem(b *testing.B) {
	const hw = 224
	oh, pad := SymmetricPad(hw, 3, 2)
	s := ConvShape{H: hw, W: hw, Cin: 3, InStride: 3, Cout: 16, OutStride: 16, K: 3, Stride: 2, PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
	src, dst, w := benchInt8s(hw*hw*3), make([]int8, oh*oh*16), benchInt8s(16*27)
	bias, rq := make([]int32, 16), benchMults(16)
	for _, impl := range []struct {
		name string
		f    StemFunc
	}{{"avx2", StemConvQS8AVX2}, {"vnni", StemConvQS8VNNI}, {"avxvnni", StemConvQS8AVXVNNI}, {"generic", StemConvQS8}} {
		if impl.name == "vnni" && !hasVNNI() || impl.name == "avxvnni" && !hasAVXVNNI() {
			continue
		}
		b.Run(fmt.Sprintf("%dx%dx3to16/%s", hw, hw, impl.name), func(b *testing.B) {
			for b.Loop() {
				impl.f(dst, src, w, bias, rq, &s, 0, 0, 0, 127, 0, oh)
			}
			reportGMACs(b, oh*oh*16*27)
		})
	}
}
