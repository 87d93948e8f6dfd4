package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

func reportGMACs(b *testing.B, macs int) {
	b.ReportMetric(float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func benchMults(n int) []quant.Multiplier {
	rq := make([]quant.Multiplier, n)
	for i := range rq {
		rq[i] = quant.Multiplier{M: 1<<30 + int32(i)*7919, Shift: 9}
	}
	return rq
}

func benchInt8s(n int) []int8 {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	return randInt8s(rng, n, false)
}

// MixNet-S depthwise layers (spec §4.2), one per kernel size and stride;
// the 11x11 stride-1 shape does not occur in S and reuses the 11x11 input.
var dwBenches = []struct{ k, s, h, c int }{
	{3, 1, 56, 72}, {3, 2, 112, 96},
	{5, 1, 28, 120}, {5, 2, 56, 48},
	{7, 1, 14, 160}, {7, 2, 56, 48},
	{9, 1, 14, 90}, {9, 2, 14, 144},
	{11, 1, 14, 144}, {11, 2, 14, 144},
}

func BenchmarkDWConvQS8(b *testing.B) {
	for _, d := range dwBenches {
		oh, pad := SymmetricPad(d.h, d.k, d.s)
		s := DWConvShape{H: d.h, W: d.h, C: d.c, InStride: d.c, OutStride: d.c, K: d.k, Stride: d.s,
			PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
		src := benchInt8s(d.h * d.h * d.c)
		dst := make([]int8, oh*oh*d.c)
		w := benchInt8s(d.k * d.k * d.c)
		bias := make([]int32, d.c)
		rq := benchMults(d.c)
		b.Run(fmt.Sprintf("k%ds%d_%dx%dx%d", d.k, d.s, d.h, d.h, d.c), func(b *testing.B) {
			for b.Loop() {
				DWConvQS8(dst, src, w, bias, rq, &s, -5, 3, -128, 127, 0, oh)
			}
			reportGMACs(b, oh*oh*d.c*d.k*d.k)
		})
	}
}

func BenchmarkGEMMQS8(b *testing.B) {
	for _, g := range []struct{ hw, groups, k, n int }{
		{56, 1, 24, 144},  // blocks.2.0.conv_pw
		{7, 1, 200, 1200}, // blocks.5.x expansion size
		{112, 2, 8, 48},   // blocks.1.0.conv_pw, 2 groups
		{14, 2, 240, 40},  // blocks.3.1.conv_pwl, 2 groups
		{7, 1, 200, 1536}, // conv_head
	} {
		px := g.hw * g.hw
		src := benchInt8s(px * g.groups * g.k)
		dst := make([]int8, px*g.groups*g.n)
		w := benchInt8s(g.groups * g.n * g.k)
		bias := make([]int32, g.groups*g.n)
		rq := benchMults(g.groups * g.n)
		b.Run(fmt.Sprintf("%dx%d_g%d_%dto%d", g.hw, g.hw, g.groups, g.k, g.n), func(b *testing.B) {
			for b.Loop() {
				GroupedGEMMQS8(dst, g.groups*g.n, src, g.groups*g.k, px, g.groups, g.k, g.n, w, bias, rq, 0, -128, 127)
			}
			reportGMACs(b, px*g.groups*g.k*g.n)
		})
	}
	b.Run("classifier_1536to1000_f32", func(b *testing.B) {
		src, w := benchInt8s(1536), benchInt8s(1536*1000)
		bias, scale, dst := make([]int32, 1000), make([]float32, 1000), make([]float32, 1000)
		for b.Loop() {
			GEMMQS8F32(dst, src, 1536, 1, 1536, 1000, w, bias, scale)
		}
		reportGMACs(b, 1536*1000)
	})
}

func BenchmarkStemConvQS8(b *testing.B) {
	for _, hw := range []int{224} {
		oh, pad := SymmetricPad(hw, 3, 2)
		s := ConvShape{H: hw, W: hw, Cin: 3, InStride: 3, Cout: 16, OutStride: 16, K: 3, Stride: 2, PadTop: pad, PadLeft: pad, OH: oh, OW: oh}
		src, dst, w := benchInt8s(hw*hw*3), make([]int8, oh*oh*16), benchInt8s(16*27)
		bias, rq := make([]int32, 16), benchMults(16)
		b.Run(fmt.Sprintf("%dx%dx3to16", hw, hw), func(b *testing.B) {
			for b.Loop() {
				StemConvQS8(dst, src, w, bias, rq, &s, 0, 0, 0, 127, 0, oh)
			}
			reportGMACs(b, oh*oh*16*27)
		})
	}
}

func BenchmarkElementwise(b *testing.B) {
	const n = 28 * 28 * 240
	x, y, dst := benchInt8s(n), benchInt8s(n + 1)[1:], make([]int8, n)
	add, err := quant.NewAdd(quant.Params{Scale: 0.05, Zero: 3}, quant.Params{Scale: 0.07, Zero: -9}, quant.Params{Scale: 0.08})
	if err != nil {
		b.Fatal(err)
	}
	var table [256]int8
	m := benchMults(1)[0]
	b.Run("AddQS8", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			AddQS8(dst, x, y, add, -128, 127)
		}
	})
	b.Run("ChannelMulQS8", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			ChannelMulQS8(dst, 240, x, 240, 28*28, 240, y, 0, -128, m, 0, -128, 127)
		}
	})
	b.Run("LookupQS8", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			LookupQS8(dst, x, &table)
		}
	})
	b.Run("GlobalAvgPoolQS8", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			GlobalAvgPoolQS8(dst, x, 28*28, 240, 240, 0, m, 0, -128, 127)
		}
	})
}
