package kernels

import "github.com/mixedge/mixedge/quant"

// GEMMQS8 is the 1x1 convolution / fully connected layer, the specification
// of every GEMM twin. For p < pixels and co < n:
//
//	acc = bias[co] + Σ_{ci<k} src[p*srcStride+ci] * w[co*k+ci]
//	dst[p*dstStride+co] = quant.Requantize(acc, rq[co], zOut, qmin, qmax)
//
// w is [n][k] (PyTorch's [out][in]). bias must be folded: quant.FoldZeroPoint
// with channels = n, inner = k. The sum wraps in int32. Only the n channels
// of each output pixel are written. Callers split pixels across threads by
// slicing src and dst. Allocation-free.
func GEMMQS8(dst []int8, dstStride int, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || n <= 0 {
		return
	}
	checkGEMM("GEMMQS8", len(src), srcStride, pixels, k, n, len(w), len(bias))
	checkStride("GEMMQS8", "dst", dstStride, n)
	need("GEMMQS8", "dst", len(dst), span(pixels, dstStride, n))
	need("GEMMQS8", "rq", len(rq), n)
	for p := range pixels {
		x := src[p*srcStride:][:k]
		out := dst[p*dstStride:][:n]
		co := 0
		for ; co+4 <= n; co += 4 {
			a0, a1, a2, a3 := dot4(x, w[co*k:], k, bias[co:co+4])
			out[co] = quant.Requantize(a0, rq[co], zOut, qmin, qmax)
			out[co+1] = quant.Requantize(a1, rq[co+1], zOut, qmin, qmax)
			out[co+2] = quant.Requantize(a2, rq[co+2], zOut, qmin, qmax)
			out[co+3] = quant.Requantize(a3, rq[co+3], zOut, qmin, qmax)
		}
		for ; co < n; co++ {
			out[co] = quant.Requantize(bias[co]+dot(x, w[co*k:][:k]), rq[co], zOut, qmin, qmax)
		}
	}
}

// GroupedGEMMQS8 is a grouped 1x1 convolution with equal groups: group g
// reads input channels [g*k, g*k+k), writes output channels [g*n, g*n+n),
// and uses weights w[g*n*k:], bias[g*n:] and rq[g*n:]. It equals one
// GEMMQS8 call per group.
func GroupedGEMMQS8(dst []int8, dstStride int, src []int8, srcStride int, pixels, groups, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || groups <= 0 || n <= 0 {
		return
	}
	checkStride("GroupedGEMMQS8", "src", srcStride, groups*k)
	checkStride("GroupedGEMMQS8", "dst", dstStride, groups*n)
	need("GroupedGEMMQS8", "w", len(w), groups*n*k)
	need("GroupedGEMMQS8", "bias", len(bias), groups*n)
	need("GroupedGEMMQS8", "rq", len(rq), groups*n)
	for g := range groups {
		GEMMQS8(dst[g*n:], dstStride, src[g*k:], srcStride, pixels, k, n,
			w[g*n*k:], bias[g*n:], rq[g*n:], zOut, qmin, qmax)
	}
}

// GEMMQS8F32 is the classifier: the same sum as GEMMQS8, dequantized instead
// of requantized. dst[p*n+co] = float32(acc) * scale[co], with scale[co] =
// float32(s_in*s_w[co]): one rounding int32->float32 (to nearest even), one
// float32 multiply, no fused multiply-add.
func GEMMQS8F32(dst []float32, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, scale []float32) {
	if pixels <= 0 || n <= 0 {
		return
	}
	checkGEMM("GEMMQS8F32", len(src), srcStride, pixels, k, n, len(w), len(bias))
	need("GEMMQS8F32", "dst", len(dst), pixels*n)
	need("GEMMQS8F32", "scale", len(scale), n)
	for p := range pixels {
		x := src[p*srcStride:][:k]
		out := dst[p*n:][:n]
		co := 0
		for ; co+4 <= n; co += 4 {
			a0, a1, a2, a3 := dot4(x, w[co*k:], k, bias[co:co+4])
			out[co] = float32(a0) * scale[co]
			out[co+1] = float32(a1) * scale[co+1]
			out[co+2] = float32(a2) * scale[co+2]
			out[co+3] = float32(a3) * scale[co+3]
		}
		for ; co < n; co++ {
			out[co] = float32(bias[co]+dot(x, w[co*k:][:k])) * scale[co]
		}
	}
}

func checkGEMM(kernel string, srcLen, srcStride, pixels, k, n, wLen, biasLen int) {
	if k <= 0 {
		panic("kernels: " + kernel + ": k must be positive")
	}
	checkStride(kernel, "src", srcStride, k)
	need(kernel, "src", srcLen, span(pixels, srcStride, k))
	need(kernel, "w", wLen, n*k)
	need(kernel, "bias", biasLen, n)
}

// dot4 returns bias + x·w[r*k:] for the four rows r < 4 of w.
func dot4(x, w []int8, k int, bias []int32) (a0, a1, a2, a3 int32) {
	a0, a1, a2, a3 = bias[0], bias[1], bias[2], bias[3]
	w0 := w[:k]
	w1 := w[k : 2*k]
	w2 := w[2*k : 3*k]
	w3 := w[3*k : 4*k]
	x = x[:k]
	for i, xv := range x {
		xi := int32(xv)
		a0 += xi * int32(w0[i])
		a1 += xi * int32(w1[i])
		a2 += xi * int32(w2[i])
		a3 += xi * int32(w3[i])
	}
	return
}

func dot(x, w []int8) int32 {
	w = w[:len(x)]
	var a int32
	for i, xv := range x {
		a += int32(xv) * int32(w[i])
	}
	return a
}
