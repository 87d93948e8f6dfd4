package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

func randParams(rng *rand.Rand) quant.Params {
	return quant.Params{Scale: float32(math.Exp2(-10 + rng.Float64()*9)), Zero: int32(rng.IntN(256) - 128)}
}

// runAdd checks AddQS8 against the add formula written with floor
// division, and (when unclamped) against float arithmetic.
func runAdd(tb testing.TB, rng *rand.Rand, n int, inPlace int) {
	tb.Helper()
	pa, pb, po := randParams(rng), randParams(rng), randParams(rng)
	p, err := quant.NewAdd(pa, pb, po)
	if err != nil {
		tb.Fatal(err) // randParams keeps ratios far below NewAdd's 2^14 limit
	}
	q := randQuantOut(rng)
	a, b := newBuf(rng, n), newBuf(rng, n)
	dst := newBuf(rng, n)
	ext := rng.IntN(3) == 0
	copy(a.b[guard:guard+n], randInt8s(rng, n, ext))
	copy(b.b[guard:guard+n], randInt8s(rng, n, ext))
	aBefore, bBefore := a.clone(), b.clone()
	want := dst.clone()
	out := dst
	switch inPlace {
	case 1:
		out, want = a, a.clone()
	case 2:
		out, want = b, b.clone()
	}
	for i := range n {
		x, y := int64(aBefore[guard+i]), int64(bBefore[guard+i])
		acc := (x-int64(p.ZA))*int64(p.MA) + (y-int64(p.ZB))*int64(p.MB)
		d := int64(1) << p.Shift
		num := acc + d/2
		r := num / d
		if num%d != 0 && num < 0 {
			r--
		}
		want[guard+i] = int8(min(max(r+int64(p.ZOut), int64(q.qmin)), int64(q.qmax)))
		// Float cross-check within the 1-step bound of quant's doc.
		if max(pa.Scale, pb.Scale)/po.Scale < 31 {
			real := float64(pa.Dequantize(int8(x))) + float64(pb.Dequantize(int8(y)))
			exact := math.Max(float64(q.qmin), math.Min(float64(q.qmax), real/float64(po.Scale)+float64(po.Zero)))
			if math.Abs(float64(want[guard+i])-exact) >= 1 {
				tb.Fatalf("add %d+%d: integer rule %d, float %g", x, y, want[guard+i], exact)
			}
		}
	}
	AddQS8(out.view(0, n), a.view(0, n), b.view(0, n), p, q.qmin, q.qmax)
	checkBuf(tb, "AddQS8 dst", out.b, want)
	if inPlace != 1 {
		checkBuf(tb, "AddQS8 a", a.b, aBefore)
	}
	if inPlace != 2 {
		checkBuf(tb, "AddQS8 b", b.b, bBefore)
	}
}

func TestAddQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for i := range 60 {
		runAdd(t, rng, []int{1, 2, 3, 15, 16, 17, 31, 33, 64, 1000}[i%10], i%3)
	}
}

func TestChannelMulQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for i := range 80 {
		runChannelMul(t, rng, 1+rng.IntN(20), 1+rng.IntN(70), i%2 == 0)
	}
}

func runChannelMul(tb testing.TB, rng *rand.Rand, pixels, channels int, inPlace bool) {
	tb.Helper()
	stride := channels + rng.IntN(3)
	off := rng.IntN(stride - channels + 1)
	x := newBuf(rng, pixels*stride)
	gate := randInt8s(rng, channels, rng.IntN(3) == 0)
	px, po := randParams(rng), randParams(rng)
	m, err := quant.MulMultiplier(px, quant.SigmoidParams, po)
	if err != nil {
		tb.Fatal(err)
	}
	q := randQuantOut(rng)
	zG := int32(rng.IntN(256) - 128)
	dst := newBuf(rng, pixels*stride)
	if inPlace {
		dst = x
	}
	xBefore := x.clone()
	want := dst.clone()
	for p := range pixels {
		for c := range channels {
			i := guard + off + p*stride + c
			prod := (int64(xBefore[i]) - int64(px.Zero)) * (int64(gate[c]) - int64(zG))
			want[i] = refRequant(tb, prod, m, q.zOut, q.qmin, q.qmax)
		}
	}
	n := span(pixels, stride, channels)
	ChannelMulQS8(dst.view(off, n), stride, x.view(off, n), stride, pixels, channels, gate, px.Zero, zG, m, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, "ChannelMulQS8 dst", dst.b, want)
	if !inPlace {
		checkBuf(tb, "ChannelMulQS8 src", x.b, xBefore)
	}
}

func runPool(tb testing.TB, rng *rand.Rand, pixels, channels int) {
	tb.Helper()
	stride := channels + rng.IntN(4)
	off := rng.IntN(stride - channels + 1)
	src := newBuf(rng, pixels*stride)
	if rng.IntN(3) == 0 {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	pin, pout := randParams(rng), randParams(rng)
	m, err := quant.PoolMultiplier(pin, pout, pixels)
	if err != nil {
		tb.Fatal(err)
	}
	q := randQuantOut(rng)
	dst := newBuf(rng, channels)
	want, srcBefore := dst.clone(), src.clone()
	for c := range channels {
		acc := int64(0)
		for p := range pixels {
			acc += int64(srcBefore[guard+off+p*stride+c]) - int64(pin.Zero)
		}
		want[guard+c] = refRequant(tb, acc, m, q.zOut, q.qmin, q.qmax)
	}
	GlobalAvgPoolQS8(dst.view(0, channels), src.view(off, span(pixels, stride, channels)), pixels, channels, stride,
		pin.Zero, m, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, "GlobalAvgPoolQS8 dst", dst.b, want)
	checkBuf(tb, "GlobalAvgPoolQS8 src", src.b, srcBefore)
}

func TestGlobalAvgPoolQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 56))
	for range 40 {
		runPool(t, rng, 1+rng.IntN(60), 1+rng.IntN(40))
	}
	runPool(t, rng, 49, 1536)    // MixNet-S head: 7x7x1536, crosses the stack tile
	runPool(t, rng, 784, 3)      // 28x28
	runPool(t, rng, 1, poolTile) // exactly one tile
}

func TestLookupQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	var table [256]int8
	for i := range table {
		table[i] = int8(rng.Uint32())
	}
	for _, n := range []int{0, 1, 7, 64, 257} {
		src, dst := newBuf(rng, n), newBuf(rng, n)
		want, srcBefore := dst.clone(), src.clone()
		for i := range n {
			want[guard+i] = table[uint8(srcBefore[guard+i])]
		}
		LookupQS8(dst.view(0, n), src.view(0, n), &table)
		checkBuf(t, "LookupQS8 dst", dst.b, want)
		checkBuf(t, "LookupQS8 src", src.b, srcBefore)
		wantInPlace := slices.Clone(srcBefore)
		copy(wantInPlace[guard:guard+n], want[guard:guard+n])
		LookupQS8(src.view(0, n), src.view(0, n), &table) // in place
		checkBuf(t, "LookupQS8 in place", src.b, wantInPlace)
	}
}

func TestRequantizeQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(59, 60))
	for range 50 {
		pixels, channels := 1+rng.IntN(9), 1+rng.IntN(40)
		stride := channels + rng.IntN(3)
		src := make([]int32, pixels*channels)
		for i := range src {
			src[i] = int32(rng.Uint32()) >> rng.IntN(32)
		}
		rq := randMults(t, rng, channels, 1)
		q := randQuantOut(rng)
		dst := newBuf(rng, pixels*stride)
		want := dst.clone()
		for p := range pixels {
			for c := range channels {
				want[guard+p*stride+c] = refRequant(t, int64(src[p*channels+c]), rq[c], q.zOut, q.qmin, q.qmax)
			}
		}
		srcBefore := slices.Clone(src)
		RequantizeQS8(dst.view(0, span(pixels, stride, channels)), stride, src, pixels, channels, rq, q.zOut, q.qmin, q.qmax)
		checkBuf(t, "RequantizeQS8", dst.b, want)
		if !slices.Equal(src, srcBefore) {
			t.Fatal("RequantizeQS8 modified its input")
		}
	}
}

func FuzzElementwise(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(10), uint8(3))
	f.Add(uint64(2), uint8(1), uint8(1), uint8(1))
	f.Add(uint64(3), uint8(2), uint8(49), uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, op, a, b uint8) {
		rng := rand.New(rand.NewPCG(seed, 96))
		switch op % 3 {
		case 0:
			runAdd(t, rng, 1+int(a)+int(b), int(b)%3)
		case 1:
			runChannelMul(t, rng, 1+int(a)%40, 1+int(b), a&1 == 0)
		case 2:
			runPool(t, rng, 1+int(a), 1+int(b))
		}
	})
}

// TestPoolSplitOverPixels: on every tier, PoolSums over any split of the
// pixels, added up, then PoolFinish, is the tier's Pool (and the generic
// one) bit for bit: what a model running the squeeze-excite pool on
// several threads relies on. Guard bands check that neither half writes
// past its output or touches its input.
func TestPoolSplitOverPixels(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	for _, tier := range Tiers() {
		t.Run(tier.Name, func(t *testing.T) {
			shapes := [][2]int{{49, 1536}, {196, 480}, {784, 240}, {1, 7}, {3, 8}, {5, 9}, {2, 300}}
			for range 30 {
				shapes = append(shapes, [2]int{1 + rng.IntN(80), 1 + rng.IntN(70)})
			}
			for _, s := range shapes {
				pixels, channels := s[0], s[1]
				stride := channels + rng.IntN(4)
				src := newBuf(rng, pixels*stride)
				srcBefore := src.clone()
				n := span(pixels, stride, channels)
				m := randMults(t, rng, 1, 1)[0]
				q := randQuantOut(rng)
				want := make([]int8, channels)
				Generic.Pool(want, srcBefore[guard:][:n], pixels, channels, stride, q.zIn, m, q.zOut, q.qmin, q.qmax)
				tierOut := make([]int8, channels)
				tier.Pool(tierOut, src.view(0, n), pixels, channels, stride, q.zIn, m, q.zOut, q.qmin, q.qmax)
				if !slices.Equal(tierOut, want) {
					t.Fatalf("%dx%d: %s Pool differs from generic", pixels, channels, tier.Name)
				}
				total := make([]int32, channels)
				for p0 := 0; p0 < pixels; {
					p1 := min(pixels, p0+1+rng.IntN(pixels))
					part := make([]int32, channels+2)
					part[channels], part[channels+1] = 0x5a5a5a5a, -7 // guard
					np := span(p1-p0, stride, channels)
					tier.PoolSums(part[:channels], src.view(p0*stride, np), p1-p0, channels, stride)
					if part[channels] != 0x5a5a5a5a || part[channels+1] != -7 {
						t.Fatalf("%dx%d: %s PoolSums wrote past acc", pixels, channels, tier.Name)
					}
					for c := range channels {
						total[c] += part[c]
					}
					p0 = p1
				}
				checkBuf(t, tier.Name+" PoolSums src", src.b, srcBefore)
				dst := newBuf(rng, channels)
				wantBuf := dst.clone()
				copy(wantBuf[guard:], want)
				tier.PoolFinish(dst.view(0, channels), total, pixels, q.zIn, m, q.zOut, q.qmin, q.qmax)
				checkBuf(t, fmt.Sprintf("%dx%d %s PoolSums+PoolFinish", pixels, channels, tier.Name), dst.b, wantBuf)
			}
		})
	}
}
