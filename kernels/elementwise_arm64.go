//go:build !purego

package kernels

import "github.com/mixedge/mixedge/quant"

//go:noescape
func lookupNeon(dst, src *int8, blocks int, table *[256]int8)

//go:noescape
func addNeon(dst, a, b *int8, blocks int, za, zb, ma, mb, negShift, zOut, qmin, qmax int32)

//go:noescape
func channelMulNeon(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gate *int8,
	zX, zG, m, l, r, zOut, qmin, qmax int32)

//go:noescape
func poolNeon(dst, src *int8, pixels, channels, srcStride int, bias, m, l, r, zOut, qmin, qmax int32)

// neonShifts splits a Multiplier into the NEON sequence SQSHL by l,
// SQDMULH by M, SRSHL by r (see package quant): l = max(1-Shift, 0),
// r = -max(Shift, 1).
func neonShifts(m quant.Multiplier) (l, r int32) {
	if m.Shift < quant.MinShift || m.Shift > quant.MaxShift {
		panic("kernels: multiplier shift out of range")
	}
	return max(1-m.Shift, 0), -max(m.Shift, 1)
}

// lookupQS8Neon is LookupQS8: 16 bytes per TBL/TBX pass, the tail in Go.
func lookupQS8Neon(dst, src []int8, table *[256]int8) {
	n := len(dst)
	need("LookupQS8 neon", "src", len(src), n)
	src = src[:n]
	if b := n / 16; b > 0 {
		lookupNeon(&dst[0], &src[0], b, table)
	}
	for i := n &^ 15; i < n; i++ {
		dst[i] = table[uint8(src[i])]
	}
}

// addQS8Neon is AddQS8: 16 elements per iteration, the tail in Go.
func addQS8Neon(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8 neon", "a", len(a), n)
	need("AddQS8 neon", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8 neon: shift outside [1, 31]")
	}
	a, b = a[:n], b[:n]
	if bl := n / 16; bl > 0 {
		addNeon(&dst[0], &a[0], &b[0], bl, p.ZA, p.ZB, p.MA, p.MB, -p.Shift, p.ZOut, qmin, qmax)
	}
	for i := n &^ 15; i < n; i++ {
		dst[i] = quant.Add(a[i], b[i], p, qmin, qmax)
	}
}

// channelMulQS8Neon is ChannelMulQS8: channels in blocks of 16 and 8, the
// last channels%8 of each pixel in Go.
func channelMulQS8Neon(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
	gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	checkStride("ChannelMulQS8 neon", "src", srcStride, channels)
	checkStride("ChannelMulQS8 neon", "dst", dstStride, channels)
	need("ChannelMulQS8 neon", "src", len(src), span(pixels, srcStride, channels))
	need("ChannelMulQS8 neon", "dst", len(dst), span(pixels, dstStride, channels))
	need("ChannelMulQS8 neon", "gate", len(gate), channels)
	l, r := neonShifts(m)
	c8 := channels &^ 7
	if c8 > 0 {
		channelMulNeon(&dst[0], dstStride, &src[0], srcStride, pixels, c8, &gate[0], zX, zG, m.M, l, r, zOut, qmin, qmax)
	}
	if c8 == channels {
		return
	}
	g := gate[c8:channels]
	for p := range pixels {
		in := src[p*srcStride+c8:][:len(g)]
		out := dst[p*dstStride+c8:][:len(g)]
		for c, gv := range g {
			out[c] = quant.Requantize((int32(in[c])-zX)*(int32(gv)-zG), m, zOut, qmin, qmax)
		}
	}
}

// globalAvgPoolQS8Neon is GlobalAvgPoolQS8 for channels >= 16 (fewer take
// the generic kernel).
func globalAvgPoolQS8Neon(dst []int8, src []int8, pixels, channels, srcStride int,
	zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if channels < 16 {
		GlobalAvgPoolQS8(dst, src, pixels, channels, srcStride, zIn, m, zOut, qmin, qmax)
		return
	}
	if pixels <= 0 || int64(pixels)*255 > 1<<31-1 {
		panic("kernels: GlobalAvgPoolQS8 neon: pixel count must be in [1, 2^31/255)")
	}
	checkStride("GlobalAvgPoolQS8 neon", "src", srcStride, channels)
	need("GlobalAvgPoolQS8 neon", "src", len(src), span(pixels, srcStride, channels))
	need("GlobalAvgPoolQS8 neon", "dst", len(dst), channels)
	l, r := neonShifts(m)
	poolNeon(&dst[0], &src[0], pixels, channels, srcStride, -int32(pixels)*zIn, m.M, l, r, zOut, qmin, qmax)
}
