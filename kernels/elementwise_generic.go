package kernels

import "github.com/mixedge/mixedge/quant"

// AddQS8 is the residual add of two int8 tensors with different parameters:
// dst[i] = quant.Add(a[i], b[i], p, qmin, qmax) for i < len(dst). a and b
// need at least len(dst) elements; dst may be a or b (in place).
// Allocation-free.
func AddQS8(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8", "a", len(a), n)
	need("AddQS8", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8: shift outside [1, 31]")
	}
	a, b = a[:n], b[:n]
	sh := uint(p.Shift)
	round := int32(1) << (sh - 1)
	for i := range dst {
		acc := (int32(a[i])-p.ZA)*p.MA + (int32(b[i])-p.ZB)*p.MB
		v := (acc+round)>>sh + p.ZOut
		dst[i] = int8(min(max(v, qmin), qmax))
	}
}

// ChannelMulQS8 multiplies every pixel of a [pixels][channels] tensor by a
// per-channel gate (the squeeze-excite scaling). For p < pixels, c < channels:
//
//	dst[p*dstStride+c] = quant.Requantize((src[p*srcStride+c]-zX)*(gate[c]-zG), m, zOut, qmin, qmax)
//
// with m = quant.MulMultiplier(x, gate, out). dst may equal src (in place).
// Allocation-free.
func ChannelMulQS8(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
	gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	checkStride("ChannelMulQS8", "src", srcStride, channels)
	checkStride("ChannelMulQS8", "dst", dstStride, channels)
	need("ChannelMulQS8", "src", len(src), span(pixels, srcStride, channels))
	need("ChannelMulQS8", "dst", len(dst), span(pixels, dstStride, channels))
	need("ChannelMulQS8", "gate", len(gate), channels)
	gate = gate[:channels]
	for p := range pixels {
		in := src[p*srcStride:][:channels]
		out := dst[p*dstStride:][:channels]
		for c, g := range gate {
			prod := (int32(in[c]) - zX) * (int32(g) - zG)
			out[c] = quant.Requantize(prod, m, zOut, qmin, qmax)
		}
	}
}

// LookupQS8 applies a 256-entry table: dst[i] = table[uint8(src[i])] for
// i < len(dst). dst may equal src (in place). Allocation-free.
func LookupQS8(dst, src []int8, table *[256]int8) {
	need("LookupQS8", "src", len(src), len(dst))
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = table[uint8(v)]
	}
}
