package kernels

import "github.com/mixedge/mixedge/quant"

// RequantizeQS8 narrows a dense [pixels][channels] block of int32
// accumulators to int8 with per-channel multipliers:
//
//	dst[p*dstStride+c] = quant.Requantize(src[p*channels+c], rq[c], zOut, qmin, qmax)
//
// It is the epilogue of every convolution, exposed so that split or threaded
// kernels can accumulate first and narrow later.
func RequantizeQS8(dst []int8, dstStride int, src []int32, pixels, channels int,
	rq []quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	checkStride("RequantizeQS8", "dst", dstStride, channels)
	need("RequantizeQS8", "src", len(src), pixels*channels)
	need("RequantizeQS8", "dst", len(dst), span(pixels, dstStride, channels))
	need("RequantizeQS8", "rq", len(rq), channels)
	rq = rq[:channels]
	for p := range pixels {
		in := src[p*channels:][:channels]
		out := dst[p*dstStride:][:channels]
		for c, m := range rq {
			out[c] = quant.Requantize(in[c], m, zOut, qmin, qmax)
		}
	}
}
