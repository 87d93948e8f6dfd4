//go:build !purego

package kernels

import "github.com/mixedge/mixedge/quant"

//go:noescape
func lookupNeon(dst, src *int8, blocks int, table *[256]int8)

//go:noescape
func addNeon(dst, a, b *int8, blocks int, za, zb, ma, mb, negShift, zOut, qmin, qmax int32)

//go:noescape
func addNeonK(dst, a, b *int8, blocks int, ma, mb, cst, qmin, qmax int32, k, clamp int)

//go:noescape
func channelMulNeon(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gate *int8,
	zX, zG, m, l, r, zOut, qmin, qmax int32)

//go:noescape
func chanMulNeon(dst *int8, dstStride int, src *int8, srcStride int, pixels, channels int, gs *int16,
	zX, m, zOut, qmin, qmax int32, mode int)

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

// addNeonK's arithmetic (9 <= Shift <= 16). With k = 16 - Shift in
// [0, 7] and C = zOut*2^16 - (ZA*MA + ZB*MB)*2^k (|C| < 2^31), per lane
//
//	T = a*2^k*MA + b*2^k*MB + C + 2^15      SSHLL #k, SMULL, SMLAL, RADDHN
//	  = (acc + 2^(Shift-1)) * 2^k + zOut*2^16,   acc = (a-ZA)*MA + (b-ZB)*MB
//
// (|a*2^k| <= 2^14 and MA, MB < 2^15 are int16, so the products are
// exact). |acc| <= 2*255*32767, so |T| <= 16711170*2^7 + 128*2^16 + 2^15
// < 2^31: T is exact in int32 even though the kernel's sums wrap on the
// way (RADDHN adds modulo 2^32). RADDHN keeps the high half,
// floor(T / 2^16) = floor((acc + 2^(Shift-1)) / 2^Shift) + zOut, the
// generic value before the clamp, exactly (|.| < 2^15), and SQXTN
// saturates it to int8, which is the clamp to [-128, 127]; SMAX/SMIN
// apply narrower bounds. 42 instructions per 32 elements (was 31 per 16).

// addQS8Neon is AddQS8: 32 and 16 elements per iteration (addNeonK for
// 9 <= Shift <= 16, else addNeon), the tail in Go.
func addQS8Neon(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8 neon", "a", len(a), n)
	need("AddQS8 neon", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8 neon: shift outside [1, 31]")
	}
	a, b = a[:n], b[:n]
	if bl := n / 16; bl > 0 {
		if p.Shift >= 9 && p.Shift <= 16 {
			k := 16 - p.Shift
			cst := p.ZOut<<16 - (p.ZA*p.MA+p.ZB*p.MB)<<k
			clamp := 0
			if qmin > quant.QMin || qmax < quant.QMax {
				clamp = 1
			}
			addNeonK(&dst[0], &a[0], &b[0], bl, p.MA, p.MB, cst, qmin, qmax, int(k), clamp)
		} else {
			addNeon(&dst[0], &a[0], &b[0], bl, p.ZA, p.ZB, p.MA, p.MB, -p.Shift, p.ZOut, qmin, qmax)
		}
	}
	for i := n &^ 15; i < n; i++ {
		dst[i] = quant.Add(a[i], b[i], p, qmin, qmax)
	}
}

// cmMaxCNeon is how many channels' gates chanMulNeon gets per call (a
// stack array of int16).
const cmMaxCNeon = 2048

// chanMulNeon's arithmetic (1 <= Shift <= 16). With u = x - zX and
// G = gate - zG, both in [-255, 255], s = 31+Shift, the generic result is
//
//	y = floor((u*G*M + 2^(s-1)) / 2^s),   q = clamp(y + zOut, qmin, qmax).
//
// Let n = 8 if Shift <= 8, else 16, and c = n - Shift in [0, 7]. The Go
// side stores gs = G*2^c once per call (|gs| <= 255*2^7 < 2^15: int16).
// Per lane the kernel computes
//
//	P = u*gs                  SMULL, exact: |P| <= 255*32640 < 2^23
//	V = floor(2*P*M / 2^32)   SQDMULH = floor(P*M / 2^31), exact (M >= 0
//	                          never saturates)
//	r = sat16(floor((V + 2^(n-1)) / 2^n))   SQRSHRN #n
//
// Nested floors with integer addends are one floor (floor(floor(a)/k) =
// floor(a/k) for integer k, and adding an integer commutes with floor), so
// r = sat16(floor((P*M + 2^(n+30)) / 2^(n+31))). P*M = u*G*M*2^c and
// n+31 = c+s, so dividing numerator and denominator by 2^c gives
// r = sat16(y). SQADD zOut (int16) and SQXTN (to int8) then give
// sat8(sat16(sat16(y) + zOut)) = sat8(y + zOut) for |zOut| <= 128 (if a
// saturation happens, y + zOut is beyond int8 on the same side), the
// clamp to [-128, 127]; SMAX/SMIN apply narrower bounds. n is an
// immediate of SQRSHRN, so the kernel has one loop per n (and per clamp).
// 41 instructions per 32 channels, 16 of them multiplies (was 31 per 16
// with 8 multiplies: the gate was re-read, widened and offset for every
// pixel, and SRSHL + SQXTN narrowed in two steps).

// channelMulQS8Neon is ChannelMulQS8: for 1 <= Shift <= 16 chanMulNeon
// (above) in blocks of 32, 16 and 8 channels, other Shifts the int32
// kernel channelMulNeon (16 and 8); the last channels%8 of each pixel in
// Go.
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
	if c8 > 0 && m.Shift >= 1 && m.Shift <= 16 {
		n, mode := int32(8), 0
		if m.Shift > 8 {
			n, mode = 16, 1
		}
		if qmin > quant.QMin || qmax < quant.QMax {
			mode |= 2
		}
		sh := uint(n - m.Shift)
		var gs [cmMaxCNeon]int16
		for c0 := 0; c0 < c8; c0 += cmMaxCNeon {
			w := min(cmMaxCNeon, c8-c0)
			for i, g := range gate[c0 : c0+w] {
				gs[i] = int16((int32(g) - zG) << sh)
			}
			chanMulNeon(&dst[c0], dstStride, &src[c0], srcStride, pixels, w, &gs[0], zX, m.M, zOut, qmin, qmax, mode)
		}
	} else if c8 > 0 {
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
	checkPoolPixels("GlobalAvgPoolQS8 neon", pixels)
	checkStride("GlobalAvgPoolQS8 neon", "src", srcStride, channels)
	need("GlobalAvgPoolQS8 neon", "src", len(src), span(pixels, srcStride, channels))
	need("GlobalAvgPoolQS8 neon", "dst", len(dst), channels)
	l, r := neonShifts(m)
	poolNeon(&dst[0], &src[0], pixels, channels, srcStride, -int32(pixels)*zIn, m.M, l, r, zOut, qmin, qmax)
}
