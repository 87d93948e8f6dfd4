//go:build !purego

package kernels

import (
	"github.com/mixedge/mixedge/quant"
)

// The vnni and avxvnni stems: im2col into the tier's VPDPBUSD GEMM, as the
// arm64 stems do with theirs (stem_arm64.go). The weights ([Cout][K][K][Cin]
// = the GEMM's [n][k]) are packed on the stack once per call; the receptive
// fields of up to stemVNNIChunk consecutive output pixels (across rows: the
// output pixels are consecutive in dst) are gathered into rows of k
// rounded up to whole k-quads (GatherPatches: gather3x9 for MixNet's
// interior pixels, zIn in the padding), and gemmQS8VNNI computes and
// requantizes them. The GEMM reads 4*ceil(k/4) bytes of a row; the byte
// past k meets a zero weight.
const (
	stemVNNIPack  = 4096 // packed weights on the stack (3x3x3 -> 64 channels: 2048)
	stemVNNIChunk = 256  // output pixels per GEMM call
	stemVNNIPatch = 8192 // gathered rows on the stack
)

// StemConvQS8VNNI is StemConvQS8 on the vnni tier (plain weights, as
// every StemFunc takes).
func StemConvQS8VNNI(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	stemVNNI(isaAVX512, "StemConvQS8VNNI", dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

// StemConvQS8AVXVNNI is StemConvQS8 on the avxvnni tier.
func StemConvQS8AVXVNNI(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	stemVNNI(isaAVXVNNI, "StemConvQS8AVXVNNI", dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

func stemVNNI(isa vnniISA, name string, dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	kk := s.K * s.K * s.Cin
	kp := (kk + 3) &^ 3
	if vnniPackedLen(kk, s.Cout) > stemVNNIPack || kp > stemVNNIPatch {
		StemConvQS8AVX2(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	if !stemArgs(name, dst, src, weights, bias, rq, s, oy0, oy1) {
		return
	}
	n := s.Cout
	var wbuf [stemVNNIPack]int8
	packed := wbuf[:vnniPackedLen(kk, n)]
	packGEMMVNNIInto(packed, weights, kk, n)
	var pbuf [stemVNNIPatch]int8
	chunk := min(stemVNNIChunk, stemVNNIPatch/kp)
	zb := int8(zIn)
	first, end := oy0*s.OW, oy1*s.OW
	for q0 := first; q0 < end; q0 += chunk {
		rows := min(chunk, end-q0)
		gatherRun(pbuf[:], kp, src, s, zb, q0, rows)
		gemmQS8VNNI(isa, name, dst[q0*s.OutStride:], s.OutStride, pbuf[:rows*kp], kp, rows, kk, n,
			packed, bias, rq, zOut, qmin, qmax)
	}
}
