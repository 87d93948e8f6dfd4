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
	checkPoolPixels("GlobalAvgPoolQS8", pixels)
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

// PoolSumsQS8 is the first half of GlobalAvgPoolQS8, for a pool split over
// threads by pixels (each thread sums the rows it wrote, where its core
// has them):
//
//	acc[c] = Σ_p src[p*srcStride+c]    for c < channels
//
// pixels*255 must stay below 2^31, so every partial sum, and their total
// over the whole map, is exact in int32. Allocation-free.
func PoolSumsQS8(acc []int32, src []int8, pixels, channels, srcStride int) {
	if channels <= 0 {
		return
	}
	checkPoolPixels("PoolSumsQS8", pixels)
	checkStride("PoolSumsQS8", "src", srcStride, channels)
	need("PoolSumsQS8", "src", len(src), span(pixels, srcStride, channels))
	need("PoolSumsQS8", "acc", len(acc), channels)
	acc = acc[:channels]
	clear(acc)
	for p := range pixels {
		in := src[p*srcStride:][:channels]
		for i, v := range in {
			acc[i] += int32(v)
		}
	}
}

// PoolFinishQS8 is the second half: acc holds the sums over all pixels of
// the map (the partial PoolSumsQS8 sums added up), and
//
//	dst[c] = quant.Requantize(acc[c] - pixels*zIn, m, zOut, qmin, qmax)
//
// which is GlobalAvgPoolQS8's result, bit for bit. Allocation-free.
func PoolFinishQS8(dst []int8, acc []int32, pixels int, zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	checkPoolPixels("PoolFinishQS8", pixels)
	need("PoolFinishQS8", "acc", len(acc), len(dst))
	bias := -int32(pixels) * zIn
	for c := range dst {
		dst[c] = quant.Requantize(acc[c]+bias, m, zOut, qmin, qmax)
	}
}

// checkPoolPixels panics (a programmer bug) unless every int32 pool sum
// of pixels int8 values is exact.
func checkPoolPixels(fn string, pixels int) {
	if pixels <= 0 || int64(pixels)*255 > 1<<31-1 {
		panic("kernels: " + fn + ": pixel count must be in [1, 2^31/255)")
	}
}
