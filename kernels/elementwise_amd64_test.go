//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

func TestAVX2ParamsLayout(t *testing.T) {
	var e ewParams
	var g gemmEpi
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"ewParams.qmin", unsafe.Offsetof(e.qmin), 32}, {"ewParams.qmax", unsafe.Offsetof(e.qmax), 64},
		{"ewParams.zX", unsafe.Offsetof(e.zX), 96}, {"ewParams.rq", unsafe.Offsetof(e.rq), 160},
		{"ewParams.mab", unsafe.Offsetof(e.mab), 448}, {"ewParams.za", unsafe.Offsetof(e.za), 480},
		{"ewParams.zb", unsafe.Offsetof(e.zb), 512}, {"ewParams.round", unsafe.Offsetof(e.round), 544},
		{"ewParams.shift", unsafe.Offsetof(e.shift), 576},
		{"gemmEpi.qmin", unsafe.Offsetof(g.qmin), 32}, {"gemmEpi.qmax", unsafe.Offsetof(g.qmax), 64},
		{"gemmEpi.tmp", unsafe.Offsetof(g.tmp), 96}, {"gemmEpi.ch", unsafe.Offsetof(g.ch), 160},
		{"rqVec size", unsafe.Sizeof(rqVec{}), 288},
	} {
		if c.got != c.want {
			t.Errorf("%s at %d, the assembly reads %d", c.name, c.got, c.want)
		}
	}
}

func randMult1(tb testing.TB, rng *rand.Rand, edge bool) quant.Multiplier {
	m := randMults(tb, rng, 1, 1)
	if edge {
		edgeMults(rng, m)
	}
	return m[0]
}

func runChannelMulAVX2(tb testing.TB, rng *rand.Rand, pixels, channels int, inPlace, edge bool) {
	tb.Helper()
	runChannelMulTier(tb, rng, pixels, channels, inPlace, edge, "ChannelMulQS8AVX2", ChannelMulQS8AVX2)
}

func runChannelMulTier(tb testing.TB, rng *rand.Rand, pixels, channels int, inPlace, edge bool, name string, cm ChannelMulFunc) {
	tb.Helper()
	stride := channels + rng.IntN(3)
	off := rng.IntN(stride - channels + 1)
	x := newBuf(rng, pixels*stride)
	if rng.IntN(3) == 0 {
		copy(x.b, randInt8s(rng, len(x.b), true))
	}
	gate := randInt8s(rng, channels, rng.IntN(3) == 0)
	zX, zG := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
	m := randMult1(tb, rng, edge)
	q := randQuantOut(rng)
	dst := newBuf(rng, pixels*stride)
	if inPlace {
		dst = x
	}
	xBefore := x.clone()
	want := dst.clone()
	n := span(pixels, stride, channels)
	ChannelMulQS8(want[guard+off:][:n], stride, xBefore[guard+off:][:n], stride, pixels, channels, gate, zX, zG, m, q.zOut, q.qmin, q.qmax)
	cm(dst.view(off, n), stride, x.view(off, n), stride, pixels, channels, gate, zX, zG, m, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, name+" dst", dst.b, want)
	if !inPlace {
		checkBuf(tb, name+" src", x.b, xBefore)
	}
}

func runAddAVX2(tb testing.TB, rng *rand.Rand, n int, inPlace int) {
	tb.Helper()
	runAddTier(tb, rng, n, inPlace, "AddQS8AVX2", AddQS8AVX2)
}

// runAddTier checks one add kernel against AddQS8 (in place: 1 = dst is
// a, 2 = dst is b), with guard bands.
func runAddTier(tb testing.TB, rng *rand.Rand, n int, inPlace int, name string, add AddFunc) {
	tb.Helper()
	p, err := quant.NewAdd(randParams(rng), randParams(rng), randParams(rng))
	if err != nil {
		tb.Fatal(err)
	}
	if rng.IntN(4) == 0 { // extremes the constructor rarely makes
		p.MA, p.MB, p.Shift = rng.Int32N(32768), rng.Int32N(32768), 1+rng.Int32N(31)
	}
	q := randQuantOut(rng)
	a, b, dst := newBuf(rng, n), newBuf(rng, n), newBuf(rng, n)
	ext := rng.IntN(3) == 0
	copy(a.b, randInt8s(rng, len(a.b), ext))
	copy(b.b, randInt8s(rng, len(b.b), ext))
	aBefore, bBefore := a.clone(), b.clone()
	out := dst
	switch inPlace {
	case 1:
		out = a
	case 2:
		out = b
	}
	want := out.clone()
	AddQS8(want[guard:guard+n], aBefore[guard:guard+n], bBefore[guard:guard+n], p, q.qmin, q.qmax)
	add(out.view(0, n), a.view(0, n), b.view(0, n), p, q.qmin, q.qmax)
	checkBuf(tb, name+" dst", out.b, want)
	if inPlace != 1 {
		checkBuf(tb, name+" a", a.b, aBefore)
	}
	if inPlace != 2 {
		checkBuf(tb, name+" b", b.b, bBefore)
	}
}

func runPoolAVX2(tb testing.TB, rng *rand.Rand, pixels, channels int, edge bool) {
	tb.Helper()
	stride := channels + rng.IntN(4)
	off := rng.IntN(stride - channels + 1)
	src := newBuf(rng, pixels*stride)
	if rng.IntN(3) == 0 {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	m := randMult1(tb, rng, edge)
	q := randQuantOut(rng)
	dst := newBuf(rng, channels)
	want := dst.clone()
	srcBefore := src.clone()
	n := span(pixels, stride, channels)
	GlobalAvgPoolQS8(want[guard:][:channels], srcBefore[guard+off:][:n], pixels, channels, stride, q.zIn, m, q.zOut, q.qmin, q.qmax)
	GlobalAvgPoolQS8AVX2(dst.view(0, channels), src.view(off, n), pixels, channels, stride, q.zIn, m, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, "GlobalAvgPoolQS8AVX2 dst", dst.b, want)
	checkBuf(tb, "GlobalAvgPoolQS8AVX2 src", src.b, srcBefore)
}

func runLookupAVX2(tb testing.TB, rng *rand.Rand, n int, inPlace bool) {
	tb.Helper()
	runLookupTier(tb, rng, n, inPlace, "LookupQS8AVX2", LookupQS8AVX2)
}

func runLookupTier(tb testing.TB, rng *rand.Rand, n int, inPlace bool, name string, lk LookupFunc) {
	tb.Helper()
	var table [256]int8
	for i := range table {
		table[i] = int8(rng.Uint32())
	}
	tableBefore := table
	src, dst := newBuf(rng, n), newBuf(rng, n)
	if inPlace {
		dst = src
	}
	srcBefore := src.clone()
	want := dst.clone()
	LookupQS8(want[guard:guard+n], srcBefore[guard:guard+n], &table)
	lk(dst.view(0, n), src.view(0, n), &table)
	checkBuf(tb, name+" dst", dst.b, want)
	if !inPlace {
		checkBuf(tb, name+" src", src.b, srcBefore)
	}
	if table != tableBefore {
		tb.Fatal(name + " changed the table")
	}
}

func TestAVX2Lookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	// Every byte value at every position of a 32-byte step.
	all := make([]int8, 256*33)
	for i := range all {
		all[i] = int8(i)
	}
	var table [256]int8
	for i := range table {
		table[i] = int8(rng.Uint32())
	}
	got, want := make([]int8, len(all)), make([]int8, len(all))
	LookupQS8(want, all, &table)
	LookupQS8AVX2(got, all, &table)
	checkBuf(t, "LookupQS8AVX2 all bytes", got, want)
	for i := range trials(500) {
		runLookupAVX2(t, rng, rng.IntN(300), i%2 == 0)
	}
	// Around whole 32-byte steps, and a MixNet-S sized in-place run.
	for _, n := range []int{31, 32, 33, 63, 64, 65, 12544, 100352 + 7} {
		runLookupAVX2(t, rng, n, n%2 == 0)
		runLookupAVX2(t, rng, n, n%2 != 0)
	}
}

// BenchmarkAVX2Lookup is the SiLU table lookup in place (as the int8 model
// applies it) at small and MixNet-S sizes, AVX2 beside the generic code.
func BenchmarkAVX2Lookup(b *testing.B) {
	var table [256]int8
	for i := range table {
		table[i] = int8(i*37 + 11)
	}
	for _, n := range []int{256, 12544, 100352, 301056, 1204224} {
		x := benchInt8s(n)
		for _, impl := range []struct {
			name string
			lk   LookupFunc
		}{{"avx2", LookupQS8AVX2}, {"generic", LookupQS8}} {
			b.Run(fmt.Sprintf("%s/%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					impl.lk(x, x, &table)
				}
			})
		}
	}
}

func TestAVX2Elementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for i := range trials(1500) {
		px, ch := 1+rng.IntN(20), 1+rng.IntN(300)
		if i%50 == 0 {
			ch = 2040 + rng.IntN(20) // around the stack gate limit
		}
		runChannelMulAVX2(t, rng, px, ch, i%2 == 0, i%3 == 0)
		runAddAVX2(t, rng, rng.IntN(700), i%3)
		runPoolAVX2(t, rng, px, ch, i%3 == 0)
	}
	runPoolAVX2(t, rng, 12544, 40, false)
	runPoolAVX2(t, rng, 3, 600, true)
	// The int16 sums around their 256-row chunks, at the int8 extremes.
	for _, px := range []int{255, 256, 257, 511, 512, 513, 784} {
		for _, ch := range []int{8, 24, 64, 88, 240} {
			for _, v := range []int8{-128, 127} {
				src := make([]int8, px*ch)
				for i := range src {
					src[i] = v
				}
				sums := make([]int32, ch)
				poolSumAVX2(&sums[0], &src[0], px, ch, ch)
				for c, v := range sums {
					if w := int32(px) * int32(src[0]); v != w {
						t.Fatalf("poolSumAVX2 %d pixels of %d: channel %d sum %d, want %d", px, src[0], c, v, w)
					}
				}
				m := quant.Multiplier{M: 1 << 30, Shift: 9} // sum/1024
				got, want := make([]int8, ch), make([]int8, ch)
				GlobalAvgPoolQS8(want, src, px, ch, ch, 0, m, 0, quant.QMin, quant.QMax)
				GlobalAvgPoolQS8AVX2(got, src, px, ch, ch, 0, m, 0, quant.QMin, quant.QMax)
				checkBuf(t, "GlobalAvgPoolQS8AVX2 extreme", got, want)
			}
			runPoolAVX2(t, rng, px, ch, false)
		}
	}
	// ChannelMul: steps of 16, a last step of 8, the generic tail.
	for _, ch := range []int{8, 15, 16, 23, 24, 31, 32, 40, 47, 240, 2048, 2055} {
		for _, edge := range []bool{false, true} {
			runChannelMulAVX2(t, rng, 3, ch, edge, edge)
			runChannelMulAVX2(t, rng, 2, ch, !edge, edge)
		}
	}
}

// cmPairsRef is cmSetupAVX2 in Go for channel c: K = G*M split as
// K1*2^17 + K0, each as the int16 pair (K & 127, K >> 7), at the place
// chanMulKAVX2 reads it.
func cmPairsRef(k []int16, c int, g, m int64) {
	kk := g * m
	k1, k0 := kk>>17, kk&(1<<17-1)
	i := c % 16
	o := c/16*64 + (i%8)/4*32 + ((i/8)*4+i%4)*2
	k[o], k[o+1] = int16(k1&127), int16(k1>>7)
	k[o+16], k[o+17] = int16(k0&127), int16(k0>>7)
	if k1 != int64(k[o])+128*int64(k[o+1]) || k0 != int64(k[o+16])+128*int64(k[o+17]) {
		panic("cmPairsRef: K does not fit the pairs")
	}
}

func TestAVX2ChannelMulSetup(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	for i := range trials(300) {
		c8 := 8 * (1 + rng.IntN(cmMaxC/8))
		gate := randInt8s(rng, c8, i%3 == 0)
		zG := int32(rng.IntN(256) - 128)
		m := []int32{0, 1 << 30, 1<<31 - 1, rng.Int32()}[i%4]
		want := make([]int16, cmMaxC*4)
		for c, v := range gate {
			cmPairsRef(want, c, int64(v)-int64(zG), int64(m))
		}
		got := make([]int16, cmMaxC*4)
		var ep cmParams
		for j := range ep.zG {
			ep.zG[j], ep.mh[j], ep.ml[j] = zG, m>>17, m&(1<<17-1)
		}
		cmSetupAVX2(&got[0], &gate[0], c8, &ep)
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("c8=%d zG=%d M=%d: pair word %d (channel block %d) = %d, want %d", c8, zG, m, j, j/64, got[j], want[j])
			}
		}
	}
}

// TestAVX2ChannelMulAll runs every (x, gate) byte pair, 256 pixels of 256
// channels (x constant per pixel, gate = channel), for zero points and
// multipliers at and around the limits of chanMulKAVX2's proof:
// Shift -8 (older kernel) and -7 .. 31, M at both ends of its range and 0.
func TestAVX2ChannelMulAll(t *testing.T) {
	channelMulAll(t, ChannelMulQS8AVX2)
}

func channelMulAll(t *testing.T, cm ChannelMulFunc) {
	rng := rand.New(rand.NewPCG(65, 66))
	const px, ch = 256, 256
	x := make([]int8, px*ch)
	for p := range px {
		for c := range ch {
			x[p*ch+c] = int8(p)
		}
	}
	gate := make([]int8, ch)
	for c := range gate {
		gate[c] = int8(c)
	}
	got, want := make([]int8, len(x)), make([]int8, len(x))
	zs := []int32{-128, 127, 0, -127, 1}
	for sh := int32(-8); sh <= quant.MaxShift; sh++ {
		for _, mm := range []int32{1 << 30, 1<<31 - 1, 1<<30 + rng.Int32N(1<<30), 0} {
			if mm == 0 && sh != quant.MaxShift {
				continue
			}
			m := quant.Multiplier{M: mm, Shift: sh}
			if sh == quant.MaxShift && mm != 0 {
				m.M = rng.Int32N(1 << 30) // small multipliers keep MaxShift and a smaller M
			}
			for i := range trials(6) {
				zX, zG, zOut := zs[i%len(zs)], zs[(i+2)%len(zs)], zs[(i+4)%len(zs)]
				if i >= len(zs) {
					zX, zG, zOut = int32(rng.IntN(256)-128), int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
				}
				qmin, qmax := int32(quant.QMin), int32(quant.QMax)
				if i%3 == 2 {
					qmin, qmax = zOut, max(zOut, int32(rng.IntN(256)-128))
				}
				ChannelMulQS8(want, ch, x, ch, px, ch, gate, zX, zG, m, zOut, qmin, qmax)
				cm(got, ch, x, ch, px, ch, gate, zX, zG, m, zOut, qmin, qmax)
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("m=%+v zX=%d zG=%d zOut=%d [%d,%d] x=%d g=%d: got %d, want %d",
							m, zX, zG, zOut, qmin, qmax, x[j], gate[j%ch], got[j], want[j])
					}
				}
			}
		}
	}
}

func TestAVX2ElementwiseAllocs(t *testing.T) {
	const px, c = 49, 240
	x, dst, gate := make([]int8, px*c), make([]int8, px*c), make([]int8, c)
	m := benchMults(1)[0]
	p := quant.AddParams{MA: 1 << 14, MB: 1 << 13, Shift: 15}
	var table [256]int8
	if a := testing.AllocsPerRun(20, func() {
		ChannelMulQS8AVX2(dst, c, x, c, px, c, gate, 1, -128, m, 0, -128, 127)
		AddQS8AVX2(dst, x, dst, p, -128, 127)
		LookupQS8AVX2(dst, x, &table)
		GlobalAvgPoolQS8AVX2(dst, x, px, c, c, 0, m, 0, -128, 127)
	}); a != 0 {
		t.Fatalf("%v allocs per run", a)
	}
}

func FuzzAVX2Elementwise(f *testing.F) {
	f.Add(uint64(1), uint16(5), uint16(17), uint8(0))
	f.Fuzz(func(t *testing.T, seed uint64, px, ch uint16, mode uint8) {
		rng := rand.New(rand.NewPCG(seed, 97))
		pixels, channels := 1+int(px%64), 1+int(ch%700)
		runChannelMulAVX2(t, rng, pixels, channels, mode&1 != 0, mode&2 != 0)
		runAddAVX2(t, rng, int(ch%2000), int(mode%3))
		runPoolAVX2(t, rng, pixels, channels, mode&2 != 0)
		runLookupAVX2(t, rng, int(ch%2000), mode&1 != 0)
	})
}

func BenchmarkAVX2Elementwise(b *testing.B) {
	const n = 28 * 28 * 240
	x, y, dst := benchInt8s(n), benchInt8s(n + 1)[1:], make([]int8, n)
	add, err := quant.NewAdd(quant.Params{Scale: 0.05, Zero: 3}, quant.Params{Scale: 0.07, Zero: -9}, quant.Params{Scale: 0.08})
	if err != nil {
		b.Fatal(err)
	}
	m := benchMults(1)[0]
	for _, impl := range []struct {
		name string
		add  AddFunc
		cm   ChannelMulFunc
		pool PoolFunc
		lk   LookupFunc
	}{{"avx2", AddQS8AVX2, ChannelMulQS8AVX2, GlobalAvgPoolQS8AVX2, LookupQS8AVX2},
		{"generic", AddQS8, ChannelMulQS8, GlobalAvgPoolQS8, LookupQS8}} {
		b.Run("Add/"+impl.name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				impl.add(dst, x, y, add, -128, 127)
			}
		})
		b.Run("ChannelMul/"+impl.name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				impl.cm(dst, 240, x, 240, 28*28, 240, y, 0, -128, m, 0, -128, 127)
			}
		})
		b.Run("ChannelMul7x7x1200/"+impl.name, func(b *testing.B) { // blocks.5.x.se
			const c = 1200
			b.SetBytes(49 * c)
			for b.Loop() {
				impl.cm(dst, c, x, c, 49, c, y, -128, -128, m, -128, -128, 127)
			}
		})
		b.Run("Pool7x7x1200/"+impl.name, func(b *testing.B) {
			b.SetBytes(49 * 1200)
			for b.Loop() {
				impl.pool(dst, x, 49, 1200, 1200, -128, m, -128, -128, 127)
			}
		})
		b.Run("Lookup/"+impl.name, func(b *testing.B) {
			var table [256]int8
			b.SetBytes(n)
			for b.Loop() {
				impl.lk(dst, x, &table)
			}
		})
		b.Run("Pool/"+impl.name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				impl.pool(dst, x, 28*28, 240, 240, 0, m, 0, -128, 127)
			}
		})
	}
}
