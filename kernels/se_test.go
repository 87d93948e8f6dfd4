package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// seFixture is a random float SE block, calibrated on its own input the way
// a post-training quantizer would be.
type seFixture struct {
	cfg    quant.SEConfig
	xq     []int8    // quantized input [pixels][channels]
	outF   []float64 // float SE applied to the dequantized input
	stride int
}

func rangeOf(v []float64) (float32, float32) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return float32(lo), float32(hi)
}

func mustParams(tb testing.TB, v []float64) quant.Params {
	tb.Helper()
	p, err := quant.ChooseParams(rangeOf(v))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func fc(w, b []float32, in []float64, n int) []float64 {
	k := len(in)
	out := make([]float64, n)
	for o := range n {
		s := float64(b[o])
		for i, x := range in {
			s += float64(w[o*k+i]) * x
		}
		out[o] = s
	}
	return out
}

func newSEFixture(tb testing.TB, rng *rand.Rand, channels, reduced, pixels int) *seFixture {
	tb.Helper()
	f := &seFixture{stride: channels + rng.IntN(3)}
	c := &f.cfg
	c.Channels, c.Reduced, c.Pixels = channels, reduced, pixels
	randF := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * s)
		}
		return v
	}
	c.ReduceW, c.ReduceB = randF(reduced*channels, 1/math.Sqrt(float64(channels))), randF(reduced, 0.1)
	c.ExpandW, c.ExpandB = randF(channels*reduced, 2/math.Sqrt(float64(reduced))), randF(channels, 0.5)

	// A SiLU-shaped input: mostly positive, a small negative tail.
	xf := make([]float64, pixels*channels)
	for i := range xf {
		xf[i] = quant.SiLU(rng.NormFloat64()*1.5 + 0.3)
	}
	c.X = mustParams(tb, xf)
	f.xq = make([]int8, span(pixels, f.stride, channels))
	xd := make([]float64, len(xf)) // what the int8 engine actually sees
	for p := range pixels {
		for ch := range channels {
			q := c.X.Quantize(float32(xf[p*channels+ch]))
			f.xq[p*f.stride+ch] = q
			xd[p*channels+ch] = float64(c.X.Dequantize(q))
		}
	}
	mean := make([]float64, channels)
	for i, x := range xd {
		mean[i%channels] += x / float64(pixels)
	}
	c.Mean = mustParams(tb, mean)
	pre1 := fc(c.ReduceW, c.ReduceB, mean, reduced)
	c.ReducePre = mustParams(tb, pre1)
	act := make([]float64, reduced)
	for i, x := range pre1 {
		act[i] = quant.SiLU(x)
	}
	c.Act = mustParams(tb, act)
	pre2 := fc(c.ExpandW, c.ExpandB, act, channels)
	c.ExpandPre = mustParams(tb, pre2)
	c.Gate = quant.SigmoidParams
	f.outF = make([]float64, len(xd))
	for i, x := range xd {
		f.outF[i] = x * quant.Sigmoid(pre2[i%channels])
	}
	c.Out = c.X // SE gates in [0, 1] keep the input's range
	return f
}

// refSE runs the int8 SE from quant's definitions, loop by loop.
func refSE(tb testing.TB, se *quant.SE, x []int8, stride int) []int8 {
	c, r := se.Channels, se.Reduced
	full := quantOut{qmin: quant.QMin, qmax: quant.QMax}
	mean := make([]int8, c)
	for ch := range c {
		acc := int64(0)
		for p := range se.Pixels {
			acc += int64(x[p*stride+ch]) - int64(se.XZero)
		}
		mean[ch] = refRequant(tb, acc, se.Pool, se.MeanZero, full.qmin, full.qmax)
	}
	fcRef := func(in []int8, w []int8, bias []int32, m []quant.Multiplier, z int32, table *[256]int8, n int) []int8 {
		out := make([]int8, n)
		for o := range n {
			acc := int64(bias[o])
			for i, v := range in {
				acc += int64(v) * int64(w[o*len(in)+i])
			}
			out[o] = table[uint8(refRequant(tb, acc, m[o], z, full.qmin, full.qmax))]
		}
		return out
	}
	hidden := fcRef(mean, se.ReduceW, se.ReduceBias, se.ReduceM, se.ReduceZero, &se.SiLU, r)
	gate := fcRef(hidden, se.ExpandW, se.ExpandBias, se.ExpandM, se.ExpandZero, &se.Sigmoid, c)
	out := make([]int8, len(x))
	copy(out, x)
	for p := range se.Pixels {
		for ch := range c {
			prod := (int64(x[p*stride+ch]) - int64(se.XZero)) * (int64(gate[ch]) - int64(se.GateZero))
			out[p*stride+ch] = refRequant(tb, prod, se.Gate, se.OutZero, full.qmin, full.qmax)
		}
	}
	return out
}

func TestSqueezeExciteQS8(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	var worst, sumErr float64
	var count int
	for _, shape := range [][3]int{{144, 12, 49}, {240, 20, 28}, {37, 5, 9}, {1, 1, 1}, {1200, 100, 49}} {
		for range 3 {
			f := newSEFixture(t, rng, shape[0], shape[1], shape[2])
			se, err := quant.NewSE(&f.cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := refSE(t, se, f.xq, f.stride)
			dst := make([]int8, len(f.xq))
			scratch := make([]int8, SEScratch(se))
			SqueezeExciteQS8(dst, f.stride, f.xq, f.stride, se, scratch)
			for p := range se.Pixels {
				for c := range se.Channels {
					i := p*f.stride + c
					if dst[i] != want[i] {
						t.Fatalf("SE %v: output %d,%d = %d, reference %d", shape, p, c, dst[i], want[i])
					}
					exact := f.outF[p*se.Channels+c]/float64(f.cfg.Out.Scale) + float64(f.cfg.Out.Zero)
					e := math.Abs(float64(dst[i]) - math.Max(quant.QMin, math.Min(quant.QMax, exact)))
					worst, sumErr, count = math.Max(worst, e), sumErr+e, count+1
				}
			}
			// In place gives the same bits.
			x := append([]int8(nil), f.xq...)
			SqueezeExciteQS8(x, f.stride, x, f.stride, se, scratch)
			if !slices.Equal(x, want) {
				t.Fatalf("SE %v in place differs from the reference", shape)
			}
		}
	}
	// The output rounds by half a step, and a gate off by e (in 1/255
	// steps) moves an input |x-zX| <= 255 by up to e steps; the mean,
	// hidden and pre-sigmoid roundings upstream make e about 1 at worst.
	if mean := sumErr / float64(count); worst > 2.5 || mean > 0.5 {
		t.Errorf("int8 SE vs float: worst %.3g steps, mean %.3g (want <= 2.5 and <= 0.5)", worst, mean)
	}
	t.Logf("int8 SE vs float: worst %.3g output steps, mean %.3g", worst, sumErr/float64(count))
}
