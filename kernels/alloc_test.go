package kernels

import (
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// TestKernelsDoNotAllocate runs every kernel under AllocsPerRun.
func TestKernelsDoNotAllocate(t *testing.T) {
	const h, w, c = 9, 9, 40
	src := make([]int8, h*w*c)
	dst := make([]int8, h*w*c)
	wts := make([]int8, 11*11*c)
	bias := make([]int32, c)
	rq := make([]quant.Multiplier, c)
	for i := range rq {
		rq[i] = quant.Multiplier{M: 1 << 30, Shift: 8}
	}
	dw := DWConvShape{H: h, W: w, C: c, InStride: c, OutStride: c, K: 11, Stride: 1, PadTop: 5, PadLeft: 5, OH: h, OW: w}
	stem := ConvShape{H: h, W: w, Cin: 3, InStride: 3, Cout: c, OutStride: c, K: 3, Stride: 2, PadTop: 1, PadLeft: 1, OH: 5, OW: 5}
	acc := make([]int32, h*w*c)
	logits := make([]float32, c)
	scale := make([]float32, c)
	add := quant.AddParams{MA: 1 << 14, MB: 1 << 14, Shift: 15}
	var table [256]int8
	cfg := seConfigForAllocs()
	se, err := quant.NewSE(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scratch := make([]int8, SEScratch(se))

	kernels := map[string]func(){
		"DWConvQS8": func() { DWConvQS8(dst, src, wts, bias, rq, &dw, 3, -2, -128, 127, 0, h) },
		"GEMMQS8":   func() { GEMMQS8(dst, c, src, 20, h*w, 20, c, wts, bias, rq, 0, -128, 127) },
		"GroupedGEMMQS8": func() {
			GroupedGEMMQS8(dst, c, src, c, h*w, 2, 20, 20, wts, bias, rq, 0, -128, 127)
		},
		"GEMMQS8F32":    func() { GEMMQS8F32(logits, src, c, 1, c, c, wts, bias, scale) },
		"StemConvQS8":   func() { StemConvQS8(dst, src, wts, bias, rq, &stem, 0, 0, -128, 127, 0, 5) },
		"RequantizeQS8": func() { RequantizeQS8(dst, c, acc, h*w, c, rq, 1, -128, 127) },
		"GlobalAvgPoolQS8": func() {
			GlobalAvgPoolQS8(dst, src, h*w, c, c, 4, rq[0], 0, -128, 127)
		},
		"AddQS8":        func() { AddQS8(dst, src, src, add, -128, 127) },
		"ChannelMulQS8": func() { ChannelMulQS8(dst, c, src, c, h*w, c, src, 0, -128, rq[0], 0, -128, 127) },
		"LookupQS8":     func() { LookupQS8(dst, dst, &table) },
		"SqueezeExciteQS8": func() {
			SqueezeExciteQS8(dst, c, src, c, se, scratch)
		},
	}
	for name, run := range kernels {
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

func seConfigForAllocs() *quant.SEConfig {
	const c, r = 40, 10
	p := quant.Params{Scale: 0.05, Zero: -3}
	return &quant.SEConfig{
		Channels: c, Reduced: r, Pixels: 81,
		ReduceW: make([]float32, r*c), ReduceB: make([]float32, r),
		ExpandW: make([]float32, c*r), ExpandB: make([]float32, c),
		X: p, Mean: p, ReducePre: p, Act: p, ExpandPre: p, Gate: quant.SigmoidParams, Out: p,
	}
}
