//go:build !purego

package kernels

import (
	"github.com/mixedge/mixedge/quant"
)

const (
	stemPackMax  = 16384 // packed weights on the stack: Cout x K*K*Cin (padded)
	stemPatchMax = 16384 // gathered receptive fields on the stack
	stemChunk    = 64    // output pixels per GEMM call
)

// stemConvArm64 is StemConvQS8 as im2col + the tier's GEMM: the weights
// ([Cout][K][K][Cin] = [n][k] with k = K*K*Cin) are packed on the stack
// once per call, the receptive fields of up to stemChunk consecutive output
// pixels are gathered (padding as zIn, as in the generic kernel) into rows
// of kpad bytes, and the GEMM computes and requantizes them. Shapes whose
// packed weights do not fit take the generic kernel.
func stemConvArm64(name string, l gemmLayout, fn gemmQ8Asm, dst, src []int8, weights []int8, bias []int32,
	rq []quant.Multiplier, s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	kk := s.K * s.K * s.Cin
	kp := l.kpad(kk)
	if l.size(kk, s.Cout) > stemPackMax || kp > stemPatchMax {
		StemConvQS8(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	if !stemArgs(name, dst, src, weights, bias, rq, s, oy0, oy1) {
		return
	}
	n := s.Cout
	for _, m := range rq[:n] {
		if m.Shift < quant.MinShift || m.Shift > quant.MaxShift {
			panic("kernels: " + name + ": multiplier shift out of range")
		}
	}

	var wbuf [stemPackMax]int8
	packed := wbuf[:l.size(kk, n)]
	l.packInto(packed, weights, kk, n)
	var pbuf [stemPatchMax]int8
	chunk := min(stemChunk, stemPatchMax/kp)
	zb := int8(zIn)
	first, end := oy0*s.OW, oy1*s.OW
	for q0 := first; q0 < end; q0 += chunk {
		rows := min(chunk, end-q0)
		gatherRun(pbuf[:], kp, src, s, zb, q0, rows)
		gemmQ8Blocks(l, fn, dst[q0*s.OutStride:], s.OutStride, &pbuf[0], kp, rows, kk, n,
			packed, bias, rq, zOut, qmin, qmax)
	}
}

func stemConvNeon(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	stemConvArm64("StemConvQS8 neon", neonLayout, q8Neon, dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

func stemConvDot(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	stemConvArm64("StemConvQS8 dotprod", dotLayout, q8Dot, dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}
