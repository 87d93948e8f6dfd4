//go:build !purego

package kernels

import "github.com/mixedge/mixedge/quant"

// ewParams is what the elementwise AVX2 kernels read; the offsets are fixed
// in elementwise_amd64.s (checked by TestAVX2ParamsLayout).
type ewParams struct {
	zOut       [8]int32 // 0
	qmin, qmax [32]int8 // 32, 64
	zX         [8]int32 // 96
	_          [32]byte // 128
	rq         rqVec    // 160
	mab        [8]int32 // 448: MA | MB<<16
	za, zb     [16]int16
	round      [8]int32 // 544
	shift      [2]int64 // 576
}

func (e *ewParams) setOut(zOut, qmin, qmax int32) {
	for i := range e.zOut {
		e.zOut[i] = zOut
	}
	for i := range e.qmin {
		e.qmin[i], e.qmax[i] = int8(qmin), int8(qmax)
	}
}

//go:noescape
func chanMulAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c8 int, gate *int32, ep *ewParams, fast int)

//go:noescape
func addAVX2(dst, a, b *int8, n16 int, ep *ewParams)

//go:noescape
func poolSumAVX2(acc *int32, src *int8, pixels int, c8 int, srcStride int)

const cmMaxC = 2048 // channels whose gates fit on the stack

// ChannelMulQS8AVX2 is ChannelMulQS8 in AVX2 (8 channels per step; the
// last channels%8 and gates wider than 2048 channels use the generic code).
func ChannelMulQS8AVX2(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
	gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	checkStride("ChannelMulQS8AVX2", "src", srcStride, channels)
	checkStride("ChannelMulQS8AVX2", "dst", dstStride, channels)
	need("ChannelMulQS8AVX2", "src", len(src), span(pixels, srcStride, channels))
	need("ChannelMulQS8AVX2", "dst", len(dst), span(pixels, dstStride, channels))
	need("ChannelMulQS8AVX2", "gate", len(gate), channels)
	c8 := min(channels, cmMaxC) &^ 7
	if c8 > 0 {
		var g [cmMaxC]int32
		for i, v := range gate[:c8] {
			g[i] = int32(v) - zG
		}
		var ep ewParams
		ep.setOut(zOut, qmin, qmax)
		for i := range ep.zX {
			ep.zX[i] = zX
			ep.rq.set(i, 0, m)
		}
		fast := 0 // Shift >= 1: REQF in the 16-channel steps
		if m.Shift >= 1 {
			fast = 1
		}
		chanMulAVX2(&dst[0], dstStride, &src[0], srcStride, pixels, c8, &g[0], &ep, fast)
	}
	if c8 < channels {
		ChannelMulQS8(dst[c8:], dstStride, src[c8:], srcStride, pixels, channels-c8,
			gate[c8:], zX, zG, m, zOut, qmin, qmax)
	}
}

// AddQS8AVX2 is AddQS8 in AVX2 (16 elements per step, VPMADDWD on
// (a-ZA, b-ZB) pairs; the last len%16 use the generic code).
func AddQS8AVX2(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8AVX2", "a", len(a), n)
	need("AddQS8AVX2", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8AVX2: shift outside [1, 31]")
	}
	n16 := n &^ 15
	if n16 > 0 {
		var ep ewParams
		ep.setOut(p.ZOut, qmin, qmax)
		for i := range ep.mab {
			ep.mab[i] = p.MA&0xffff | p.MB<<16
			ep.round[i] = 1 << (p.Shift - 1)
		}
		for i := range ep.za {
			ep.za[i], ep.zb[i] = int16(p.ZA), int16(p.ZB)
		}
		ep.shift[0] = int64(p.Shift)
		addAVX2(&dst[0], &a[0], &b[0], n16, &ep)
	}
	if n16 < n {
		AddQS8(dst[n16:], a[n16:n], b[n16:n], p, qmin, qmax)
	}
}

// GlobalAvgPoolQS8AVX2 is GlobalAvgPoolQS8 with the channel sums in AVX2;
// the per-channel requantization is quant.Requantize.
func GlobalAvgPoolQS8AVX2(dst []int8, src []int8, pixels, channels, srcStride int,
	zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if channels <= 0 {
		return
	}
	if pixels <= 0 || int64(pixels)*255 > 1<<31-1 {
		panic("kernels: GlobalAvgPoolQS8AVX2: pixel count must be in [1, 2^31/255)")
	}
	checkStride("GlobalAvgPoolQS8AVX2", "src", srcStride, channels)
	need("GlobalAvgPoolQS8AVX2", "src", len(src), span(pixels, srcStride, channels))
	need("GlobalAvgPoolQS8AVX2", "dst", len(dst), channels)
	bias := -int32(pixels) * zIn
	var sums [poolTile]int32
	for c0 := 0; c0 < channels; c0 += poolTile {
		w := min(poolTile, channels-c0)
		c8 := w &^ 7
		if c8 > 0 {
			poolSumAVX2(&sums[0], &src[c0], pixels, c8, srcStride)
		}
		for c := c8; c < w; c++ {
			var s int32
			for p := range pixels {
				s += int32(src[p*srcStride+c0+c])
			}
			sums[c] = s
		}
		out := dst[c0:][:w]
		for i, s := range sums[:w] {
			out[i] = quant.Requantize(bias+s, m, zOut, qmin, qmax)
		}
	}
}

//go:noescape
func lookupAVX2(dst, src *int8, n32 int, table *[256]int8)

// LookupQS8AVX2 is LookupQS8 in AVX2: 16 VPSHUFB lookups per 32 bytes, one
// per 16-entry row of the table, merged by VPOR on bit 7 and a VPBLENDVB
// tree on bits 4..6 (the last len%32 use the generic code).
func LookupQS8AVX2(dst, src []int8, table *[256]int8) {
	need("LookupQS8AVX2", "src", len(src), len(dst))
	n32 := len(dst) &^ 31
	if n32 > 0 {
		lookupAVX2(&dst[0], &src[0], n32, table)
	}
	if n32 < len(dst) {
		LookupQS8(dst[n32:], src[n32:len(dst)], table)
	}
}
