//go:build !purego

package kernels

import (
	"github.com/mixedge/mixedge/quant"
)

const (
	stem32PackMax  = 16384 // packed weights on the stack: Cout x K*K*Cin (padded)
	stem32PatchMax = 16384 // gathered receptive fields on the stack
	stem32Chunk    = 64    // output pixels per GEMM call
)

// stemConvNeon32 is StemConvQS8 as im2col + the 32-bit GEMM: the weights
// ([Cout][K][K][Cin] = [n][k], k = K*K*Cin) are packed on the stack once
// per call, the receptive fields of up to stem32Chunk output pixels are
// gathered (padding as zIn) into rows of kpad bytes, and the GEMM computes
// and requantizes them. Shapes whose packed weights do not fit take the
// generic kernel.
func stemConvNeon32(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	const name = "StemConvQS8 neon"
	if err := s.Validate(); err != nil {
		panic(err)
	}
	kk := s.K * s.K * s.Cin
	kp := n32Kpad(kk)
	if n32Size(kk, s.Cout) > stem32PackMax || kp > stem32PatchMax {
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
	var wbuf [stem32PackMax]int8
	packed := wbuf[:n32Size(kk, n)]
	for co := range n {
		for k0 := 0; k0 < kk; k0 += 16 {
			copy(packed[n32Index(co, k0, kp):], weights[co*kk+k0:co*kk+min(k0+16, kk)])
		}
	}
	var pbuf [stem32PatchMax]int8
	chunk := min(stem32Chunk, stem32PatchMax/kp)
	zb := int8(zIn)
	first, end := oy0*s.OW, oy1*s.OW
	for q0 := first; q0 < end; q0 += chunk {
		rows := min(chunk, end-q0)
		gatherRun(pbuf[:], kp, src, s, zb, q0, rows)
		gemmQ8Neon32Blocks(dst[q0*s.OutStride:], s.OutStride, &pbuf[0], kp, rows, kp, n,
			packed, bias, rq, zOut, qmin, qmax)
	}
}
