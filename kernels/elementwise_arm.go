//go:build !purego

package kernels

import "github.com/mixedge/mixedge/quant"

// The 32-bit ARM elementwise kernels (elementwise_neon_arm.s). Their
// arithmetic is the arm64 neon tier's; the exactness arguments are at
// chanMulNeon, addNeon and poolNeon in elementwise_arm64.go and in
// NEON.md ("Arithmetic").

//go:noescape
func chanMul32N8(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gs *int16,
	zX, m, zOut, qmin, qmax int32)

//go:noescape
func chanMul32N16(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gs *int16,
	zX, m, zOut, qmin, qmax int32)

//go:noescape
func pool32(dst, src *int8, pixels, channels, srcStride int, bias, m, l, r, zOut, qmin, qmax int32)

//go:noescape
func lookup32(dst, src *int8, blocks int, table *[256]int8)

//go:noescape
func add32(dst, a, b *int8, blocks int, za, zb, ma, mb, negShift, zOut, qmin, qmax int32)

// lookupQS8Neon32 is LookupQS8: 32 bytes per pass, the tail in Go.
func lookupQS8Neon32(dst, src []int8, table *[256]int8) {
	n := len(dst)
	need("LookupQS8 neon", "src", len(src), n)
	src = src[:n]
	if b := n / 32; b > 0 {
		lookup32(&dst[0], &src[0], b, table)
	}
	for i := n &^ 31; i < n; i++ {
		dst[i] = table[uint8(src[i])]
	}
}

// addQS8Neon32 is AddQS8: 16 elements per iteration (MA and MB must be
// int16, as quant.NewAddParams makes them; others take the generic
// kernel), the tail in Go.
func addQS8Neon32(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8 neon", "a", len(a), n)
	need("AddQS8 neon", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8 neon: shift outside [1, 31]")
	}
	if p.MA < -1<<15 || p.MA >= 1<<15 || p.MB < -1<<15 || p.MB >= 1<<15 ||
		p.ZA < quant.QMin || p.ZA > quant.QMax || p.ZB < quant.QMin || p.ZB > quant.QMax || p.ZOut < -128 || p.ZOut > 128 {
		AddQS8(dst, a, b, p, qmin, qmax)
		return
	}
	a, b = a[:n], b[:n]
	if bl := n / 16; bl > 0 {
		add32(&dst[0], &a[0], &b[0], bl, p.ZA, p.ZB, p.MA, p.MB, -p.Shift, p.ZOut, qmin, qmax)
	}
	for i := n &^ 15; i < n; i++ {
		dst[i] = quant.Add(a[i], b[i], p, qmin, qmax)
	}
}

// cmMaxC32 is how many channels' gates one chanMul32 call gets (a stack
// array of int16).
const cmMaxC32 = 2048

// channelMulQS8Neon32 is ChannelMulQS8: for 1 <= Shift <= 16 (the SE
// gate's range) chanMul32N8/N16 over the first channels&^7 of each pixel,
// the rest in Go; other Shifts take the generic kernel.
func channelMulQS8Neon32(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
	gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	c8 := channels &^ 7
	if c8 == 0 || m.Shift < 1 || m.Shift > 16 || m.M < 0 || zX < quant.QMin || zX > quant.QMax ||
		zG < quant.QMin || zG > quant.QMax || zOut < -128 || zOut > 128 {
		ChannelMulQS8(dst, dstStride, src, srcStride, pixels, channels, gate, zX, zG, m, zOut, qmin, qmax)
		return
	}
	checkStride("ChannelMulQS8 neon", "src", srcStride, channels)
	checkStride("ChannelMulQS8 neon", "dst", dstStride, channels)
	need("ChannelMulQS8 neon", "src", len(src), span(pixels, srcStride, channels))
	need("ChannelMulQS8 neon", "dst", len(dst), span(pixels, dstStride, channels))
	need("ChannelMulQS8 neon", "gate", len(gate), channels)
	n := int32(8)
	if m.Shift > 8 {
		n = 16
	}
	sh := uint(n - m.Shift)
	var gs [cmMaxC32]int16
	for c0 := 0; c0 < c8; c0 += cmMaxC32 {
		w := min(cmMaxC32, c8-c0)
		for i, g := range gate[c0 : c0+w] {
			gs[i] = int16((int32(g) - zG) << sh)
		}
		if n == 8 {
			chanMul32N8(&dst[c0], dstStride, &src[c0], srcStride, pixels, w, &gs[0], zX, m.M, zOut, qmin, qmax)
		} else {
			chanMul32N16(&dst[c0], dstStride, &src[c0], srcStride, pixels, w, &gs[0], zX, m.M, zOut, qmin, qmax)
		}
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

// globalAvgPoolQS8Neon32 is GlobalAvgPoolQS8 for channels >= 16 (fewer
// take the generic kernel).
func globalAvgPoolQS8Neon32(dst []int8, src []int8, pixels, channels, srcStride int,
	zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if channels < 16 || zOut < -128 || zOut > 128 {
		GlobalAvgPoolQS8(dst, src, pixels, channels, srcStride, zIn, m, zOut, qmin, qmax)
		return
	}
	checkPoolPixels("GlobalAvgPoolQS8 neon", pixels)
	if m.Shift < quant.MinShift || m.Shift > quant.MaxShift {
		panic("kernels: GlobalAvgPoolQS8 neon: multiplier shift out of range")
	}
	checkStride("GlobalAvgPoolQS8 neon", "src", srcStride, channels)
	need("GlobalAvgPoolQS8 neon", "src", len(src), span(pixels, srcStride, channels))
	need("GlobalAvgPoolQS8 neon", "dst", len(dst), channels)
	l, r := max(1-m.Shift, 0), -max(m.Shift, 1)
	pool32(&dst[0], &src[0], pixels, channels, srcStride, -int32(pixels)*zIn, m.M, l, r, zOut, qmin, qmax)
}
