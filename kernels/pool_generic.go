package kernels

import "github.com/mixedge/mixedge/quant"

// poolTile is how many channel sums one pass keeps on the stack.
const poolTile = 256

// GlobalAvgPoolQS8 is the global average pool over a [pixels][channels]
// tensor with pixel stride srcStride. For c < channels:
//
//	acc = Σ_p src[p*srcStride+c] - pixels*zIn
//	dst[c] = quant.Requantize(acc, m, zOut, qmin, qmax)
//
// with m = quant.PoolMultiplier(in, out, pixels). pixels*255 must stay
// below 2^31. Allocation-free.
func GlobalAvgPoolQS8(dst []int8, src []int8, pixels, channels, srcStride int,
	zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if channels <= 0 {
		return
	}
	if pixels <= 0 || int64(pixels)*255 > 1<<31-1 {
		panic("kernels: GlobalAvgPoolQS8: pixel count must be in [1, 2^31/255)")
	}
	checkStride("GlobalAvgPoolQS8", "src", srcStride, channels)
	need("GlobalAvgPoolQS8", "src", len(src), span(pixels, srcStride, channels))
	need("GlobalAvgPoolQS8", "dst", len(dst), channels)
	bias := -int32(pixels) * zIn
	var accBuf [poolTile]int32
	for c0 := 0; c0 < channels; c0 += poolTile {
		acc := accBuf[:min(poolTile, channels-c0)]
		for i := range acc {
			acc[i] = bias
		}
		for p := range pixels {
			in := src[p*srcStride+c0:][:len(acc)]
			for i, v := range in {
				acc[i] += int32(v)
			}
		}
		out := dst[c0:][:len(acc)]
		for i, a := range acc {
			out[i] = quant.Requantize(a, m, zOut, qmin, qmax)
		}
	}
}
